"""Scaling benchmark (not part of the default test run):

    python tests/benchmarks/scaling.py [--quick] [--out DIR] [--blas-threads N]

Measures how the cost of certification grows and plots it (PNG files in DIR,
default ``bench-out/``), printing one table:

(a) certified gap (``certify.certify_gap``) time / plain float64 GD
    (``certify.run_gd``, same eta and K) time against the parameter count,
    up to and beyond the 42,200 parameters of ``builtin:paper-784``;
(b) the same ratio against the depth N = 1..8 at fixed width;
(c) the same ratio, and both absolute times, against the horizon K;
(d) the symbolic derivation (SPEC S2, sympy) against the depth N = 1..8;
(e) sweep throughput (``certify.experiments.sweep.run_sweep``) on a Dask
    LocalCluster of 1 and 2 single-threaded worker processes.

Every timing is the best of a few repeats and is reported as a ratio against
a baseline measured in the same run, on the same machine, interleaved with it
(absolute seconds are printed for context only); nothing here asserts a time.
BLAS runs single-threaded unless ``--blas-threads`` says otherwise: on a
loaded 2-core machine a multi-threaded OpenBLAS spins against the other jobs
and its times vary tenfold from one call to the next.
"""

from __future__ import annotations

import os
import sys


def _blas_threads() -> str:
    """Set the BLAS thread count before numpy is imported (the Dask worker
    processes inherit the environment); an explicit environment wins."""
    n = "1"
    for i, a in enumerate(sys.argv):
        if a == "--blas-threads" and i + 1 < len(sys.argv):
            n = sys.argv[i + 1]
        elif a.startswith("--blas-threads="):
            n = a.split("=", 1)[1]
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, n)
    return os.environ["OPENBLAS_NUM_THREADS"]


if __name__ == "__main__":
    _blas_threads()

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

import certify  # noqa: E402

ETA_WIDE = 1e-3  # whitened 784-h-h-10 family
ETA_P784 = 1e-3  # builtin:paper-784 at the paper's step (certifiable since the data-weighted beta, S3.4-data)
ETA_PAPER = 1e-3  # builtin:paper: the paper's step size
ETA_DEPTH = 1e-2
GD_COLOR, CERT_COLOR, RATIO_COLOR = "tab:orange", "tab:blue", "tab:blue"


# ---------------------------------------------------------------------------
# timing
# ---------------------------------------------------------------------------

def _timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def best_pair(base, work, repeat):
    """Best-of-``repeat`` seconds of ``base()`` and ``work()``, interleaved
    (base, work, base, work, ...) so that a change of load hits both."""
    tb, tw, out = float("inf"), float("inf"), None
    for _ in range(repeat):
        tb = min(tb, _timed(base)[0])
        t, out = _timed(work)
        tw = min(tw, t)
    return tb, tw, out


# ---------------------------------------------------------------------------
# problems
# ---------------------------------------------------------------------------

def wide_problem(h: int):
    """Whitened 784-h-h-10 (the paper's shape at h = 50: 42,200 parameters),
    balanced near-zero initialisation, a small random target."""
    rng = np.random.default_rng(0)
    target = (0.05 * rng.standard_normal((10, 784))).tolist()
    return certify.problem_from_dict({
        "dims": [784, h, h, 10], "loss": {"kind": "whitened", "target": target},
        "init": {"scheme": "balanced", "scale": 0.1, "seed": 0}, "name": f"whitened-784-{h}-{h}-10",
    })


def near_target_problem(N: int, d: int):
    """Depth N, width d, whitened, balanced factorisation of a matrix close to
    the target (positive deficiency margin: benign curvature along GF; a
    near-zero start would sit at the depth-N saddle and no K = 500 run of any
    depth >= 3 would certify)."""
    rng = np.random.default_rng(N)
    Phi = np.eye(d) + 0.2 * rng.standard_normal((d, d))
    U, S, Vt = np.linalg.svd(Phi + 0.05 * rng.standard_normal((d, d)))
    if N == 1:
        Ws = [U @ np.diag(S) @ Vt]
    else:
        r = np.diag(S ** (1 / N))
        Ws = [r @ Vt] + [r] * (N - 2) + [U @ r]
    return certify.problem_from_dict({
        "dims": [d] * (N + 1), "loss": {"kind": "whitened", "target": Phi.tolist()},
        "init": {"weights": [W.tolist() for W in Ws]}, "name": f"near-target-depth-{N}",
    })


def gap_vs_gd(prob, eta, K, repeat):
    """One point: (GD seconds, certificate seconds, ratio, certificate).  The
    first certification of a problem also computes its data bounds (cached on
    the problem): a warm-up with K = 1, timed and reported as setup, keeps
    that one-time cost out of the ratio."""
    setup, _ = _timed(lambda: certify.certify_gap(prob, eta, 1))
    t_gd, t_cert, cert = best_pair(lambda: certify.run_gd(prob, eta, K, every=K),
                                   lambda: certify.certify_gap(prob, eta, K), repeat)
    return {"params": prob.n_params, "K": K, "eta": eta, "gd_s": t_gd, "cert_s": t_cert,
            "ratio": t_cert / t_gd, "setup_s": setup, "gap_upper": cert.checkpoints[-1].gap_upper,
            "gap_lower": cert.checkpoints[-1].gap_lower}


# ---------------------------------------------------------------------------
# (a) - (e)
# ---------------------------------------------------------------------------

def bench_params(quick):
    hs = (10, 50, 100) if quick else (5, 10, 20, 35, 50, 70, 100)
    K, repeat = (200, 1) if quick else (300, 2)
    wide = []
    for h in hs:
        r = gap_vs_gd(wide_problem(h), ETA_WIDE, K, repeat)
        r["h"] = h
        wide.append(r)
        _log(f"(a) whitened 784-{h}-{h}-10: {r['params']} params, ratio {r['ratio']:.2f}")
    square = []
    # paper-784's first certification computes exact bounds on its 784 x 784 data statistics
    # (30 s on a loaded 2-core machine): full run only; --quick has its shape, whitened (h = 50)
    for name in ("builtin:paper",) if quick else ("builtin:paper", "builtin:paper-784"):
        prob = certify.load_problem(name)
        eta = ETA_P784 if name.endswith("784") else ETA_PAPER
        r = gap_vs_gd(prob, eta, K, repeat)
        r["name"] = name
        square.append(r)
        _log(f"(a) {name}: {r['params']} params, ratio {r['ratio']:.2f}")
    return {"K": K, "whitened": wide, "square": square}


def bench_depth(quick, d=16):
    K, repeat = (300, 2) if quick else (1000, 3)
    rows = []
    for N in range(1, 9):
        r = gap_vs_gd(near_target_problem(N, d), ETA_DEPTH, K, repeat)
        r["N"] = N
        rows.append(r)
        _log(f"(b) depth {N}: ratio {r['ratio']:.2f}")
    return {"K": K, "width": d, "rows": rows}


def bench_horizon(quick):
    Ks = (100, 300, 1000) if quick else (100, 300, 1000, 3000, 10_000)
    repeat = 1 if quick else 2
    prob = certify.load_problem("builtin:paper")
    rows = []
    for K in Ks:
        r = gap_vs_gd(prob, ETA_PAPER, K, repeat if K < 10_000 else 1)
        rows.append(r)
        _log(f"(c) K = {K}: ratio {r['ratio']:.2f}")
    return {"problem": "builtin:paper", "eta": ETA_PAPER, "rows": rows}


def bench_symbolic(quick):
    """Matrix-level derivation (``certify derive``: any widths) and the
    entrywise exact reference at widths 2 (symbolic loss polynomial,
    gradient and Hessian evaluated exactly at a rational point), each from a
    cold sympy cache; baselines: the same at N = 1, and one float64
    gradient of the width-2 problem (``certify.Objective.grad``)."""
    from fractions import Fraction

    import sympy

    from certify.symbolic import EntrywiseReference, derivation_report

    n_entry, repeat = (6, 2) if quick else (8, 3)  # entrywise; the matrix level is cheap: 2 more
    derivation_report(1, "whitened")  # untimed: one-time costs (sympy's printers, first use)
    EntrywiseReference([2, 2], "whitened").evaluate([1] * 4, [[1, 0], [0, 1]])
    rows = []
    for N in range(1, 9):
        dims = [2] * (N + 1)
        prob = certify.problem_from_dict({
            "dims": dims, "loss": {"kind": "whitened", "target": [[1.0, 0.5], [0.0, 0.75]]},
            "init": {"scheme": "balanced", "scale": 0.5, "seed": 0}})
        obj = certify.Objective(prob)
        theta = prob.theta0
        t_grad = min(_timed(lambda: [obj.grad(theta) for _ in range(200)])[0] for _ in range(3)) / 200
        t_mat, ok = float("inf"), True
        for _ in range(repeat + 2):
            sympy.core.cache.clear_cache()
            t, report = _timed(lambda: derivation_report(N, "whitened"))
            t_mat = min(t_mat, t)
            ok = ok and "S2.1 holds" in report and "S2.2 holds" in report
        t_ent = None
        if N <= n_entry:
            th = [Fraction(1, 2 + i % 5) for i in range(prob.n_params)]
            phi = [[Fraction(1), Fraction(1, 2)], [Fraction(0), Fraction(3, 4)]]
            for _ in range(repeat if N < 8 else 1):  # N = 8: 10-15 s each
                sympy.core.cache.clear_cache()
                t, _ = _timed(lambda: EntrywiseReference(dims, "whitened").evaluate(th, phi))
                t_ent = t if t_ent is None else min(t_ent, t)
        rows.append({"N": N, "params_w2": prob.n_params, "grad_f64_s": t_grad, "matrix_s": t_mat,
                     "matrix_ok": ok, "entrywise_s": t_ent})
        _log(f"(d) depth {N}: matrix level {t_mat:.2f} s, entrywise {t_ent if t_ent is None else round(t_ent, 2)} s")
    return {"rows": rows}


def _sweep_grid(n_tasks, K):
    return {"sweep": {"name": "scaling", "problems": ["builtin:paper"], "seeds": list(range(n_tasks)),
                      "etas": [ETA_PAPER], "horizons": [K * ETA_PAPER], "checkpoints": 4}}


def _warm():
    import certify as c  # noqa: F401 - imports on the worker

    return os.getpid()


def bench_sweep(quick):
    """Tasks per second of ``run_sweep`` on an already running LocalCluster
    (start-up and imports excluded: every worker imports certify and runs one
    task first).  Both clusters (1 and 2 workers) are up at once and the
    sweeps alternate between them (1, 2, 1, 2), best of the repeats for each,
    so that a change of load hits both; a fresh output folder every time, so
    no task is skipped."""
    from contextlib import ExitStack

    from dask.distributed import Client, LocalCluster

    from certify.experiments.sweep import run_sweep

    n_tasks, K, repeat = (8, 300, 2) if quick else (16, 500, 2)
    best: dict = {}
    with tempfile.TemporaryDirectory(prefix="certify-scaling-") as tmp, ExitStack() as stack:
        clients = {}
        for n in (1, 2):
            lc = stack.enter_context(LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                                                  dashboard_address=":0", silence_logs=40))
            clients[n] = stack.enter_context(Client(lc))
            clients[n].run(_warm)
            # one task per worker, untimed: the digits data and first-call caches on every worker
            run_sweep(_sweep_grid(n, 2), Path(tmp) / f"warm-{n}", client=clients[n], plot=False)
        for rep in range(repeat):
            for n in (1, 2):
                res = run_sweep(_sweep_grid(n_tasks, K), Path(tmp) / f"w{n}-{rep}", client=clients[n], plot=False)
                secs = [float(r["seconds"]) for r in res.rows if r.get("seconds") not in (None, "")]
                row = {"workers": n, "tasks": n_tasks, "certified": res.certified, "wall_s": res.seconds,
                       "tasks_per_s": n_tasks / res.seconds, "mean_task_s": sum(secs) / max(1, len(secs))}
                _log(f"(e) {n} worker(s), round {rep + 1}: {row['tasks_per_s']:.2f} tasks/s "
                     f"({res.certified} certified, {row['mean_task_s']:.2f} s per task)")
                if n not in best or row["tasks_per_s"] > best[n]["tasks_per_s"]:
                    best[n] = row
    rows = [best[1], best[2]]
    for r in rows:
        r["speedup"] = r["tasks_per_s"] / rows[0]["tasks_per_s"]
    return {"problem": "builtin:paper", "K": K, "eta": ETA_PAPER, "repeat": repeat, "rows": rows}


# ---------------------------------------------------------------------------
# plots (matplotlib Figure on its own Agg canvas; pyplot is never imported)
# ---------------------------------------------------------------------------

def _figure(ncols, width=11.0, height=4.2):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, ncols, squeeze=False)[0]
    for ax in axes:
        ax.grid(True, which="major", alpha=0.3, lw=0.6)
        ax.grid(True, which="minor", alpha=0.12, lw=0.4)
    return fig, axes


def _plain_log(ax, axis="y", subs=(1.0, 1.5, 2.0, 3.0, 5.0, 7.0)):
    """Log scale with plain tick labels (2, 5, 10, 20 rather than 2 x 10^0);
    ``subs=(1.0,)`` for a range of several decades."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    a = ax.yaxis if axis == "y" else ax.xaxis
    (ax.set_yscale if axis == "y" else ax.set_xscale)("log")
    a.set_major_locator(LogLocator(subs=subs))
    a.set_major_formatter(FuncFormatter(lambda x, _pos: f"{x:g}"))
    a.set_minor_formatter(NullFormatter())


def _save(fig, out: Path, name: str) -> Path:
    path = out / name
    fig.savefig(path, dpi=110)
    return path


def plot_params(res, out):
    fig, (a1, a2) = _figure(2)
    w, s = res["whitened"], res["square"]
    a1.plot([r["params"] for r in w], [r["ratio"] for r in w], "o-", color=RATIO_COLOR,
            label=f"whitened 784-h-h-10, eta={ETA_WIDE:g}")
    a1.plot([r["params"] for r in s], [r["ratio"] for r in s], "s", color="tab:red", ms=8,
            label="square loss, digits data (builtin)")
    for r in s:
        a1.annotate(f"{r['name'].split(':')[1]} (eta={r['eta']:g})", (r["params"], r["ratio"]),
                    textcoords="offset points", xytext=(6, 4), fontsize=8)
    a1.set_ylabel("certified gap time / plain GD time")
    a1.axvline(42_200, color="gray", ls=":", lw=1)
    a1.set_title(f"(a) cost ratio against size, K = {res['K']}", fontsize=10)
    for name, key, ls, c in (("plain GD", "gd_s", "--", GD_COLOR), ("certified gap", "cert_s", "-", CERT_COLOR)):
        a2.plot([r["params"] for r in w], [r[key] for r in w], "o" + ls, color=c, label=f"{name} (whitened)")
        a2.plot([r["params"] for r in s], [r[key] for r in s], "s", color=c, ms=8, mfc="none", mew=1.5,
                label=f"{name} (square, builtin)")
    a2.axvline(42_200, color="gray", ls=":", lw=1)
    a2.set_ylabel("seconds (best of repeats)")
    a2.set_title("absolute times (context; machine-dependent)", fontsize=10)
    _plain_log(a1)
    a2.set_yscale("log")
    for ax in (a1, a2):
        ax.set_xscale("log")
        ax.set_xlabel("parameters (dotted: 42,200 = paper-784)")
        ax.legend(fontsize=8)
    return _save(fig, out, "scaling-params.png")


def plot_depth(res, out):
    fig, (a1, a2) = _figure(2)
    rows = res["rows"]
    Ns = [r["N"] for r in rows]
    a1.plot(Ns, [r["ratio"] for r in rows], "o-", color=RATIO_COLOR)
    a1.set_ylim(bottom=0)
    a1.set_ylabel("certified gap time / plain GD time")
    a1.set_title(f"(b) cost ratio against depth (width {res['width']}, K = {res['K']}, eta = {ETA_DEPTH:g})",
                 fontsize=10)
    a2.plot(Ns, [r["gd_s"] for r in rows], "o--", color=GD_COLOR, label="plain GD")
    a2.plot(Ns, [r["cert_s"] for r in rows], "o-", color=CERT_COLOR, label="certified gap")
    a2.set_yscale("log")
    a2.set_ylabel("seconds")
    a2.set_title("absolute times (context)", fontsize=10)
    a2.legend(fontsize=8)
    for ax in (a1, a2):
        ax.set_xlabel("depth N")
        ax.set_xticks(Ns)
    return _save(fig, out, "scaling-depth.png")


def plot_horizon(res, out):
    fig, (a1, a2) = _figure(2)
    rows = res["rows"]
    Ks = [r["K"] for r in rows]
    a1.plot(Ks, [r["ratio"] for r in rows], "o-", color=RATIO_COLOR)
    _plain_log(a1)
    a1.set_ylabel("certified gap time / plain GD time")
    a1.set_title(f"(c) cost ratio against horizon ({res['problem']}, eta = {res['eta']:g})", fontsize=10)
    a2.plot(Ks, [r["gd_s"] for r in rows], "o--", color=GD_COLOR, label="plain GD")
    a2.plot(Ks, [r["cert_s"] for r in rows], "o-", color=CERT_COLOR, label="certified gap")
    a2.set_yscale("log")
    a2.set_ylabel("seconds")
    a2.set_title("absolute times (context)", fontsize=10)
    a2.legend(fontsize=8)
    for ax in (a1, a2):
        ax.set_xscale("log")
        ax.set_xlabel("GD steps K (T = K eta)")
    return _save(fig, out, "scaling-horizon.png")


def plot_symbolic(res, out):
    fig, (a1, a2) = _figure(2)
    rows = res["rows"]
    Ns = [r["N"] for r in rows]
    m1, e1 = rows[0]["matrix_s"], rows[0]["entrywise_s"]
    a1.plot(Ns, [r["matrix_s"] for r in rows], "o-", label="matrix level (certify derive, all widths)")
    ent = [(r["N"], r["entrywise_s"]) for r in rows if r["entrywise_s"] is not None]
    a1.plot([n for n, _ in ent], [t for _, t in ent], "s-", label="entrywise exact, widths 2")
    a1.plot(Ns, [r["grad_f64_s"] for r in rows], "^--", color="gray", label="one float64 gradient, widths 2")
    a1.set_ylabel("seconds")
    a1.set_title("(d) symbolic derivation time against depth", fontsize=10)
    a2.plot(Ns, [r["matrix_s"] / m1 for r in rows], "o-", label="matrix level / its N = 1")
    a2.plot([n for n, _ in ent], [t / e1 for _, t in ent], "s-", label="entrywise / its N = 1")
    a2.set_ylabel("time / time at N = 1")
    a2.set_title("ratio against the N = 1 baseline", fontsize=10)
    a1.set_yscale("log")
    _plain_log(a2, subs=(1.0,))
    for ax in (a1, a2):
        ax.set_xlabel("depth N")
        ax.set_xticks(Ns)
        ax.legend(fontsize=8)
    return _save(fig, out, "scaling-symbolic.png")


def plot_sweep(res, out):
    fig, (a1, a2) = _figure(2, width=9.0)
    rows = res["rows"]
    ws = [r["workers"] for r in rows]
    a1.bar(ws, [r["tasks_per_s"] for r in rows], width=0.5, color="tab:blue")
    a1.set_ylabel("tasks per second")
    a1.set_title(f"(e) sweep throughput ({rows[0]['tasks']} tasks, {res['problem']}, K = {res['K']})",
                 fontsize=10)
    a2.plot(ws, [r["speedup"] for r in rows], "o-", label="measured")
    a2.plot(ws, ws, ":", color="gray", label="ideal (one core per worker)")
    a2.set_ylabel("speed-up over 1 worker")
    a2.set_title("speed-up (2 cores, shared with other jobs)", fontsize=10)
    a2.legend(fontsize=8)
    for ax in (a1, a2):
        ax.set_xlabel("Dask workers (processes, 1 thread each)")
        ax.set_xticks(ws)
    return _save(fig, out, "scaling-workers.png")


# ---------------------------------------------------------------------------
# table
# ---------------------------------------------------------------------------

def table(results) -> list:
    rows = []
    if "params" in results:
        p = results["params"]
        rows.append((f"(a) size, K = {p['K']}: certified gap / plain GD", "ratio",
                     "GD s, cert s, first-call setup s"))
        for r in p["whitened"]:
            rows.append((f"  whitened 784-{r['h']}-{r['h']}-10, {r['params']} params, eta={r['eta']:g}",
                         f"{r['ratio']:.2f}", f"{r['gd_s']:.3f}, {r['cert_s']:.3f}, {r['setup_s']:.2f}"))
        for r in p["square"]:
            rows.append((f"  {r['name']} (square), {r['params']} params, eta={r['eta']:g}", f"{r['ratio']:.2f}",
                         f"{r['gd_s']:.3f}, {r['cert_s']:.3f}, {r['setup_s']:.2f} (exact data bounds)"))
    if "depth" in results:
        d = results["depth"]
        rows.append((f"(b) depth, width {d['width']}, near target, K = {d['K']}, eta={ETA_DEPTH:g}", "ratio",
                     "GD s, cert s"))
        for r in d["rows"]:
            rows.append((f"  N = {r['N']} ({r['params']} params)", f"{r['ratio']:.2f}",
                         f"{r['gd_s']:.3f}, {r['cert_s']:.3f}"))
    if "horizon" in results:
        h = results["horizon"]
        rows.append((f"(c) horizon, {h['problem']}, eta={h['eta']:g}", "ratio", "GD s, cert s"))
        for r in h["rows"]:
            rows.append((f"  K = {r['K']} (T = {r['K'] * r['eta']:g})", f"{r['ratio']:.2f}",
                         f"{r['gd_s']:.3f}, {r['cert_s']:.3f}"))
    if "symbolic" in results:
        rs = results["symbolic"]["rows"]
        m1, e1 = rs[0]["matrix_s"], rs[0]["entrywise_s"]
        rows.append(("(d) symbolic derivation by depth: matrix level / N = 1", "ratio",
                     "matrix s; entrywise (widths 2) s, / N = 1, / f64 gradient"))
        for r in rs:
            ent = "-" if r["entrywise_s"] is None else \
                f"{r['entrywise_s']:.3f}, {r['entrywise_s'] / e1:.0f}x, {r['entrywise_s'] / r['grad_f64_s']:.2g}x"
            rows.append((f"  N = {r['N']}{'' if r['matrix_ok'] else ' (S2 MISMATCH)'}",
                         f"{r['matrix_s'] / m1:.1f}",
                         f"{r['matrix_s']:.3f} ({r['matrix_s'] / r['grad_f64_s']:.2g}x f64 grad); {ent}"))
    if "sweep" in results:
        s = results["sweep"]
        rows.append((f"(e) sweep, {s['rows'][0]['tasks']} tasks {s['problem']} K = {s['K']}: speed-up",
                     "ratio", "tasks/s, wall s, s per task, certified"))
        for r in s["rows"]:
            rows.append((f"  {r['workers']} worker process(es), 1 thread each", f"{r['speedup']:.2f}",
                         f"{r['tasks_per_s']:.3f}, {r['wall_s']:.2f}, {r['mean_task_s']:.2f}, "
                         f"{r['certified']}/{r['tasks']}"))
    return rows


def machine_line(blas: str) -> str:
    try:
        from threadpoolctl import threadpool_info

        libs = ", ".join(sorted({f"{i.get('internal_api')} {i.get('num_threads')} thread(s)"
                                 for i in threadpool_info() if i.get("user_api") == "blas"}))
    except ImportError:
        libs = f"OPENBLAS_NUM_THREADS={blas}"
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "?"
    return (f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
            f"python {platform.python_version()}, numpy {np.__version__}, BLAS {libs}, "
            f"load average at start {load}")


def _log(msg):
    print(f"  [{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


PARTS = ("params", "depth", "horizon", "symbolic", "sweep")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="fewer, shorter points (a smoke test: ~3 minutes)")
    ap.add_argument("--out", default="bench-out",
                    help="folder for the PNG files and scaling.json (default: %(default)s)")
    ap.add_argument("--only", action="append", choices=PARTS, help="run only these parts (repeatable)")
    ap.add_argument("--blas-threads", default="1", help="BLAS threads (read before numpy is imported; default 1)")
    ap.add_argument("--replot", action="store_true", help="redraw the figures from OUT/scaling.json, measure nothing")
    args = ap.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    plots = {"params": plot_params, "depth": plot_depth, "horizon": plot_horizon, "symbolic": plot_symbolic,
             "sweep": plot_sweep}
    if args.replot:
        doc = json.loads((out / "scaling.json").read_text())
        for part, res in doc["results"].items():
            print(plots[part](res, out))
        return 0
    machine = machine_line(os.environ.get("OPENBLAS_NUM_THREADS", "?"))
    parts = args.only or PARTS
    benches = {"params": (bench_params, plot_params), "depth": (bench_depth, plot_depth),
               "horizon": (bench_horizon, plot_horizon), "symbolic": (bench_symbolic, plot_symbolic),
               "sweep": (bench_sweep, plot_sweep)}
    t0 = time.perf_counter()
    results, figures = {}, []
    for part in PARTS:
        if part in parts:
            bench, plot = benches[part]
            results[part] = bench(args.quick)
            figures.append(plot(results[part], out))
    total = time.perf_counter() - t0
    rows = table(results)
    (out / "scaling.json").write_text(json.dumps({"machine": machine, "quick": args.quick, "seconds": total,
                                                  "results": results}, indent=1, allow_nan=False) + "\n")
    print(machine)
    w = max(len(r[0]) for r in rows)
    for r in rows:
        print(f"{r[0]:<{w}}  {r[1]:>7}  {r[2]}")
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "?"
    print(f"({'quick' if args.quick else 'full'} run, {total:.0f} s, load average at the end {load}; figures: "
          f"{', '.join(str(p) for p in figures)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
