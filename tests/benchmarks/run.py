"""Benchmarks (not part of the default test run):  python tests/benchmarks/run.py

Every timing is reported as a ratio against a baseline measured in the same
run on the same machine; nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time

# BLAS on one thread for both sides of every ratio (set before numpy loads; an
# explicit environment wins): on this shared 2-core machine a multi-threaded
# BLAS under load made the same GD steps 15-35x slower (tests/benchmarks/README.md)
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402

import certify  # noqa: E402
from certify import Objective, problem_from_dict
from certify.certificates.writing import dumps_json
from certify.flow import enclose_flow


def timeit(fn, repeat=3):
    best = float("inf")
    out = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def large_problem(width=64):
    """>= 10^4 parameters, whitened, balanced near-zero init (benign curvature)."""
    rng = np.random.default_rng(0)
    target = (0.25 * rng.standard_normal((32, width))).tolist()
    return problem_from_dict({
        "dims": [width, width, width, 32], "loss": {"kind": "whitened", "target": target},
        "init": {"scheme": "balanced", "scale": 0.1, "seed": 0}, "name": "bench-10k",
    })


def near_target_problem():
    """Balanced depth-3 network whose end-to-end matrix starts near the target
    (positive deficiency margin): the curvature along GF is benign."""
    rng = np.random.default_rng(1)
    N, d = 3, 3
    Phi = np.eye(d) + 0.2 * rng.standard_normal((d, d))
    U, S, Vt = np.linalg.svd(Phi + 0.05 * rng.standard_normal((d, d)))
    r = S ** (1 / N)
    Ws = [np.diag(r) @ Vt, np.diag(r), U @ np.diag(r)]
    return problem_from_dict({"dims": [d] * 4, "loss": {"kind": "whitened", "target": Phi.tolist()},
                              "init": {"weights": [W.tolist() for W in Ws]}})


def bench_flow_large(T=10.0):
    prob = large_problem()
    obj = Objective(prob)
    theta = prob.theta0
    tg, _ = timeit(lambda: [obj.grad(theta) for _ in range(100)])
    t_grad = tg / 100
    t_gd, _ = timeit(lambda: certify.run_gd(prob, 1e-3, 10_000, every=10_000), repeat=1)
    t0 = time.perf_counter()
    enc = enclose_flow(prob, T, checkpoints=10, backend="float64")
    t_enc = time.perf_counter() - t0
    n = len(enc.steps)
    return [
        ("flow float64, %d params, T=%g" % (prob.n_params, T), f"{t_enc:.1f} s", f"{n} steps"),
        ("  enclosure time / 10^4 GD steps (eta=1e-3) time", f"{t_enc / t_gd:.2f}", f"GD {t_gd:.2f} s"),
        ("  one validated step / one float64 gradient", f"{t_enc / n / t_grad:.0f}", f"grad {t_grad * 1e3:.2f} ms"),
        ("  radius at T (certified)", f"{enc.checkpoints[-1].radius:.2e}", ""),
    ]


def bench_radius_vs_floor():
    """Certified radius at T against the actual float64 error of the centers,
    measured with the 50-digit Taylor integrator (the rounding floor)."""
    rows = []
    try:
        from certify.flow.estimate import integrate_gf
    except ImportError:
        return [("radius vs floor", "skipped", "certify.flow.estimate missing")]
    prob = certify.load_problem("builtin:demo")
    for name, pr in (("demo", prob), ("near-target (benign curvature)", near_target_problem())):
        for T in (1.0, 3.0):
            enc = enclose_flow(pr, T, checkpoints=1, backend="float64", slack=1.0)  # as `certify flow`
            ref = integrate_gf(pr, T, dps=40)
            truth = np.array([float(x) for x in ref.thetas[-1]])
            err = np.linalg.norm(np.asarray(enc.checkpoints[-1].center) - truth)
            rad = enc.checkpoints[-1].radius
            rows.append((f"{name} T={T:g}: radius / actual float64 error", f"{rad / max(err, 1e-300):.0f}",
                         f"radius {rad:.2e}, error {err:.2e}, int mu {sum(s.mu * float(s.h) for s in enc.steps):.2f}"))
    for prec in (128, 256):
        T = 1.0
        t0 = time.perf_counter()
        enc = enclose_flow(prob, T, checkpoints=1, backend="arb", prec=prec)
        rows.append((f"demo T={T:g} arb {prec} bits: radius", f"{enc.checkpoints[-1].radius:.2e}",
                     f"{len(enc.steps)} steps, {time.perf_counter() - t0:.1f} s"))
    return rows


def bench_gap(name, eta, K):
    """Certified gap vs plain GD (same K) and vs GD with eta/20 (the paper's
    uncertified proxy for GF); tightness; S4.2 looseness; checker cost."""
    prob = certify.load_problem(name)
    t_gd, _ = timeit(lambda: certify.run_gd(prob, eta, K, every=K), repeat=2)
    t_gd20, _ = timeit(lambda: certify.run_gd(prob, eta / 20, 20 * K, every=20 * K), repeat=1)
    t_cert, cert = timeit(lambda: certify.certify_gap(prob, eta, K), repeat=2)  # best of 2, as for GD
    tight = max(c.gap_upper / c.gap_lower for c in cert.checkpoints if c.k > 0 and c.gap_lower > 0)
    s42 = [c.gap_upper_s42 / c.gap_upper for c in cert.checkpoints if c.k > 0 and np.isfinite(c.gap_upper_s42)]
    rows = [
        (f"gap {name}, {prob.n_params} params, eta={eta:g}, K={K}", f"{t_cert:.2f} s", f"GD {t_gd:.3f} s"),
        ("  certified gap time / plain GD time", f"{t_cert / t_gd:.2f}", "target <= 5"),
        ("  certified gap time / GD(eta/20) time", f"{t_cert / t_gd20:.2f}", f"GD(eta/20) {t_gd20:.2f} s; target <= 0.3"),
        ("  max gap_upper / gap_lower (S4.4)", f"{tight:.9f}", "target <= 1.001"),
        ("  S4.2 one-sided / two-sided upper", f"{min(s42):.3g}..{max(s42):.3g}" if s42 else "-",
         f"S4.2 valid for {cert.s42_end} of {K} steps"),
    ]
    try:
        from certify.check import check_certificate
    except ImportError:
        return rows
    doc = json.loads(dumps_json(cert.to_json()))
    t0 = time.perf_counter()
    rep = check_certificate(doc)
    t_chk = time.perf_counter() - t0
    rows.append(("  check time / produce time", f"{t_chk / t_cert:.2f}", f"valid={rep.valid}; target <= 3"))
    return rows


def _step_centers(prob, T):
    """The flow enclosure's steps and the float centers at their starts."""
    enc = enclose_flow(prob, T, checkpoints=1)
    cs = []
    enclose_flow(prob, T, checkpoints=1, eval_times=[st.t0 for st in enc.steps],
                 on_eval=lambda t, yb, e1: cs.append(np.concatenate([b.mid().reshape(-1) for b in yb])))
    return enc, cs


def _lanczos_m(prob, theta) -> float:
    """Estimate (not certified) of m = max(0, -lambda_min(Hf)) by Lanczos on
    Hessian-vector products (scipy)."""
    from scipy.sparse.linalg import LinearOperator, eigsh

    obj = Objective(prob)
    n = prob.n_params
    op = LinearOperator((n, n), matvec=lambda v: obj.hvp(theta, np.asarray(v).reshape(-1)), dtype=np.float64)
    lam = eigsh(op, k=1, which="SA", tol=1e-6, maxiter=5000, return_eigenvectors=False)[0]
    return max(0.0, -float(lam))


def curvature_integrals(prob, T, lanczos_every=4):
    """Per flow step: claimed mu (S3.3), certified S3.1 at the step's center, and
    a Lanczos estimate of the true m at the center (every few steps, trapezoid)."""
    from certify._lossdata import BackendLoss
    from certify.bounds.s31 import s31_on_tube
    from certify.arith import get_context

    enc, cs = _step_centers(prob, T)
    ctx = get_context("float64")
    i_mu = sum(st.mu * float(st.h) for st in enc.steps)
    i_s31 = 0.0
    with ctx:
        model = BackendLoss(prob, ctx)
        for st, c in zip(enc.steps, cs):
            Ws = [ctx.matrix(np.ascontiguousarray(w)) for w in prob.unflatten(c)]
            i_s31 += s31_on_tube(model, Ws, [0.0] * prob.depth) * float(st.h)
    ts = [float(st.t0) for st in enc.steps][::lanczos_every] + [float(T)]
    pts = cs[::lanczos_every]
    ms = [_lanczos_m(prob, c) for c in pts]
    ms.append(ms[-1])
    i_true = float(np.trapezoid(ms, ts))
    return enc, i_mu, i_s31, i_true


def bench_paper(name="builtin:paper", eta=1e-3, K=10_000, lanczos=True, ratio_target="1.0001", cert_target="3"):
    """The paper's setup (PAPER.md section 5) at its horizon: certified gap vs
    plain float64 GD with sufficient statistics (same K, same run), tightness,
    checker cost, and the curvature the certificate charges."""
    from certify.check import check_certificate

    prob = certify.load_problem(name)
    if prob.loss.has_stats:
        prob.loss.float_stats  # data statistics once (both sides use them)
    else:
        prob.loss.kernel  # the kernel loss's data once (cross-entropy: no statistics)
    t_gd, _ = timeit(lambda: certify.run_gd(prob, eta, K, every=K), repeat=2)
    t_cert, cert = timeit(lambda: certify.certify_gap(prob, eta, K, every=max(1, K // 20)), repeat=1)
    tight = max(c.gap_upper / c.gap_lower for c in cert.checkpoints if c.k > 0 and c.gap_lower > 0)
    doc = json.loads(dumps_json(cert.to_json()))
    t0 = time.perf_counter()
    rep = check_certificate(doc)
    t_chk = time.perf_counter() - t0
    last = cert.checkpoints[-1]
    gd_int = sum(s["mu_r"] for s in cert.segments) * eta
    rows = [
        (f"{name} ({prob.n_params} params), eta={eta:g}, K={K} (T={eta * K:g})", f"{t_cert:.2f} s",
         f"plain GD {t_gd:.2f} s"),
        ("  certificate time / plain GD time", f"{t_cert / t_gd:.2f}", f"target <= {cert_target}"),
        ("  max gap_upper / gap_lower", f"{tight:.7f}", f"target <= {ratio_target}"),
        ("  check time / produce time", f"{t_chk / t_cert:.2f}", f"valid={rep.valid}; target <= 2"),
        ("  radii at T: GD ball r_K, GF ball", f"{last.r:.2e}, {last.gf_radius:.2e}", f"gap {last.gap_lower:.4e}"),
        ("  GD side: int eta mu_r (S4.5 growth exponent)", f"{gd_int:.2f}", ""),
    ]
    if lanczos:
        enc, i_mu, i_s31, i_true = curvature_integrals(prob, eta * K)
        rows += [
            ("  flow: claimed int mu / int S3.1 at the centers", f"{i_mu / i_s31:.3f}",
             f"int mu {i_mu:.2f}, int S3.1 {i_s31:.2f}; goal <= 1.3"),
            ("  flow: claimed int mu / Lanczos int m (estimate)", f"{i_mu / i_true:.2f}" if i_true > 0 else "-",
             f"int m ~ {i_true:.2f} (estimate)"),
            ("  flow steps, radius at T", f"{len(enc.steps)}", f"{enc.checkpoints[-1].radius:.2e}"),
        ]
    return rows


def bench_paper_distance(name="builtin:paper", eta=1e-3, K=10_000, ratios=(2, 5, 10, 20)):
    """The eta0/r runs of the paper's figure, certified, with the certified
    distance from the eta0 run at every checkpoint."""
    from certify.check import check_certificate

    prob = certify.load_problem(name)
    t_gd, _ = timeit(lambda: [certify.run_gd(prob, eta / r, K * r, every=K * r) for r in (1, *ratios)], repeat=1)
    t0 = time.perf_counter()
    cert = certify.certify_distance(prob, eta, K, ratios, every=max(1, K // 20))
    t_cert = time.perf_counter() - t0
    doc = json.loads(dumps_json(cert.to_json()))
    t0 = time.perf_counter()
    rep = check_certificate(doc)
    t_chk = time.perf_counter() - t0
    widths = [(p.dist[1] - p.dist[0]) / p.dist[1] for pts in cert.points[1:] for p in pts if p.k > 0]
    return [
        (f"{name} distance eta vs eta/r, r in {list(ratios)} ({sum(r * K for r in (1, *ratios))} GD steps)",
         f"{t_cert:.1f} s", f"plain GD (all runs) {t_gd:.1f} s"),
        ("  certificate time / plain GD time", f"{t_cert / t_gd:.2f}", ""),
        ("  max certified distance to an eta/r run", f"{cert.max_dist_upper:.4e}", "paper's plot: < 0.1"),
        ("  largest relative bracket width", f"{max(widths):.2e}", ""),
        ("  check time / produce time", f"{t_chk / t_cert:.2f}", f"valid={rep.valid}"),
    ]


def bench_closed_forms(T=3.0):
    """Flow radius at T on diagonal closed-form instances of depth 2..5
    (whitened, mixed spectra, started away from the target)."""
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
    from fractions import Fraction

    from helpers.closed_forms import make_diagonal_instance

    rows = []
    for N in (2, 3, 4, 5):
        inst = make_diagonal_instance([4] * (N + 1), [Fraction(k, 16) for k in (4, 7, 12, 18)],
                                      [Fraction(k, 16) for k in (24, 16, 10, 8)], seed=N)
        prob = problem_from_dict(inst.spec)
        enc = enclose_flow(prob, T, checkpoints=1)
        rows.append((f"closed form depth {N} (4x4 layers): flow radius at T={T:g}", f"{enc.checkpoints[-1].radius:.2e}",
                     f"int mu {sum(s.mu * float(s.h) for s in enc.steps):.2f}; target <= 1e-10"))
    return rows


def bench_s31_looseness(n_inst=40):
    """How loose S3.1 is against the S3.2 enclosure of m = max(0, -lambda_min(Hf))
    (certified both), on random whitened instances at their initial points."""
    from certify.curvature.s32 import s31_vs_s32

    rows = []
    for scheme, scale in (("balanced", 0.1), ("balanced", 1.0), ("gaussian", 0.5), ("xavier", 1.0)):
        ratios = []
        for seed in range(n_inst // 4):
            rng = np.random.default_rng(seed)
            depth = 2 + seed % 3
            dims = [int(d) for d in rng.integers(2, 6, depth + 1)]
            prob = problem_from_dict({"dims": dims, "loss": {"kind": "whitened",
                                                             "target": rng.standard_normal((dims[-1], dims[0])).tolist()},
                                      "init": {"scheme": scheme, "scale": scale, "seed": seed}})
            r = s31_vs_s32(prob, prob.theta0)
            if r["m"][1] > 0:
                ratios.append(r["ratio"])
        q = np.percentile(ratios, [0, 50, 100]) if ratios else [float("nan")] * 3
        rows.append((f"S3.1 / S3.2 (m), {scheme} scale {scale:g}, depth 2-4", f"{q[1]:.2f}",
                     f"min {q[0]:.2f}, max {q[2]:.2f}, {len(ratios)} instances with m > 0"))
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="shorter runs for a smoke test")
    ap.add_argument("--paper-only", action="store_true", help="only the paper's setup (builtin:paper, T = 10)")
    ap.add_argument("--distance", action="store_true",
                    help="also the eta0/r runs of the paper's figure (r = 2, 5, 10, 20: 3.8e5 GD steps, minutes)")
    ap.add_argument("--ce", action="store_true",
                    help="also builtin:paper-ce (the paper's loss, softmax cross-entropy; K = 10^4)")
    ap.add_argument("--784", dest="p784", action="store_true",
                    help="also builtin:paper-784 (42,200 parameters, K = 10^4: long)")
    args = ap.parse_args()
    rows = []
    K = 1000 if args.quick else 10_000
    rows += bench_paper("builtin:paper", 1e-3, K, lanczos=not args.quick)
    if args.distance:
        rows += bench_paper_distance("builtin:paper", 1e-3, K)
    if args.ce:
        rows += bench_paper("builtin:paper-ce", 1e-3, K, lanczos=False, ratio_target="1.001", cert_target="5")
    if args.p784:
        rows += bench_paper("builtin:paper-784", 1e-3, K, lanczos=False, ratio_target="1.001")
    rows += bench_closed_forms()
    if args.paper_only:
        return _print(rows)
    rows += bench_flow_large(T=1.0 if args.quick else 10.0)
    rows += bench_radius_vs_floor()
    rows += bench_s31_looseness()
    rows += bench_gap("builtin:demo", 1e-3, 2000 if args.quick else 10_000)
    rows += bench_gap("builtin:digits", 1e-3, 500 if args.quick else 3000)
    return _print(rows)


def _print(rows):
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"python {platform.python_version()}, numpy {np.__version__}, BLAS threads "
          f"{os.environ.get('OPENBLAS_NUM_THREADS')}, load average {os.getloadavg()[0]:.1f}")
    w = max(len(r[0]) for r in rows)
    for r in rows:
        print(f"{r[0]:<{w}}  {r[1]:>14}  {r[2]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
