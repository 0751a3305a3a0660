"""The paper's experiment (PAPER.md section 5), certified: ``certify experiment paper``.

Elkabetz & Cohen train the same initial network with gradient descent at
``eta0 = 1e-3`` for ``10^4`` iterations and at ``eta0 / r``, ``r`` in
2, 5, 10, 20, for ``10^4 r`` iterations (the same continuous time ``T = 10``),
and plot (a) the training loss against ``eta0``-iterations for every run and
(b) the distance of the ``eta0`` run from its initialisation beside its
distance from each ``eta0 / r`` run at common times.

Here every distance is a certified bracket about *exact-arithmetic* GD:

* ``certify.certify_gap`` per run: ``[gap_lower, gap_upper]`` of
  ``||theta_k - theta(k eta)||`` (exact GD against exact gradient flow, S4.4);
* ``certify.certify_distance``: ``||theta_k(eta0) - theta_{rk}(eta0/r)||`` and
  ``||theta_k(eta0) - theta_0||`` (S4.7).

The loss curves are float64 *estimates* at the float iterates; the exact GD
iterate lies within the certified radius ``r_k`` of each (reported).

Where the setup differs from the paper: the data are the first 1000 of
scikit-learn's bundled 8x8 digits (pixels / 16, one-hot targets), not 1000
MNIST images; the loss is the square loss on one-hot targets, not
cross-entropy; only the linear fully connected network is run (64-50-50-10 by
default, ``arch="784"`` for the paper's 784-50-50-10 on the digits upsampled
to 28x28).  Xavier-uniform initialisation (seed 0) and full-batch GD as in the
paper.

Outputs (one folder, every file written atomically): ``gap-r1.json``,
``gap-r2.json``, ... (``certify/gap-v2``, one per run), ``distance.json``
(``certify/distance-v1``), ``paper.csv`` (every plotted number with its
certified bounds), ``paper.png`` (the figure) and ``report.txt``.
"""

from __future__ import annotations

import math
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import certify

from . import _io

ARCHS = {"64": "builtin:paper", "784": "builtin:paper-784"}
#: the paper's own loss (issue 12): softmax cross-entropy on the same one-hot digits
ARCHS_CE = {"64": "builtin:paper-ce", "784": "builtin:paper-784-ce"}
LOSSES = ("square", "cross_entropy")
DIFFERENCES = (
    "dataset: scikit-learn's bundled 8x8 digits (first 1000 images, pixels / 16), not MNIST",
    "loss: square loss on one-hot targets, not cross-entropy",
)
DIFFERENCES_CE = DIFFERENCES[:1]  # the paper's loss: only the data differ
CSV_HEADER = ["quantity", "ratio", "eta", "k_eta0", "t", "k_run", "estimate", "certified_lower",
              "certified_upper", "certificate"]


@dataclass(frozen=True)
class PaperRun:
    """One run (step ``eta0 / ratio``, ``steps`` iterations) and its certified gap to GF."""

    ratio: int
    eta: float
    steps: int
    certificate: Path
    seconds: float
    gap_at_T: tuple  # certified (lower, upper) of ||theta_K - theta(T)||
    max_gap_upper: float  # certified
    loss_at_T: float  # estimate (float64 loss at the float iterate)
    max_radius: float  # certified: the exact GD iterate is within this of every plotted float iterate


@dataclass(frozen=True)
class PaperResult:
    out_dir: Path
    problem: str
    arch: str
    eta0: float
    steps: int
    every: int
    ratios: tuple
    runs: tuple  # PaperRun, ratio 1 first
    distance_certificate: Path | None  # None without ratios
    distance_seconds: float
    from_init_at_T: tuple  # certified (lower, upper) of ||theta_K(eta0) - theta_0||
    dist_at_T: tuple  # ((r, (lower, upper)), ...) certified, ||theta_K(eta0) - theta_{rK}(eta0/r)||
    max_dist_upper: float  # certified, over all checkpoints and r
    figure: Path
    table: Path
    report: Path
    seconds: float
    checks: tuple = ()  # ((certificate name, valid, seconds), ...) when run with check=True
    differences: tuple = DIFFERENCES  # where the setup differs from the paper's (one line each)

    @property
    def certificates(self) -> tuple:
        return tuple(r.certificate for r in self.runs) + ((self.distance_certificate,) if self.distance_certificate else ())


def _label(r: int) -> str:
    return "eta0" if r == 1 else f"eta0/{r}"


def _float_dist(a, b) -> float:
    return float(np.linalg.norm(np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)))


def run_paper_experiment(out_dir, *, arch: str = "64", loss: str = "square", ratios=(2, 5, 10, 20), steps: int = 10_000,
                         every: int | None = None, eta0: float = 1e-3, problem=None, check: bool = False,
                         progress: certify.Progress | None = None) -> PaperResult:
    """Run the paper's experiment with certified bands and write its outputs into ``out_dir``.

    ``steps`` iterations at ``eta0`` (``ratio * steps`` at ``eta0 / ratio``),
    checkpoints every ``every`` ``eta0``-iterations (default ``steps // 40``).
    ``loss``: ``"square"`` (``builtin:paper``, ``builtin:paper-784``) or ``"cross_entropy"``, the
    paper's own loss (``builtin:paper-ce``, ``builtin:paper-784-ce``; gap-v2.md section 8).
    ``problem`` (a ``builtin:NAME``, path, dict or :class:`certify.Problem`)
    replaces the architecture's problem (e.g. a small one for a quick look).
    ``check`` re-verifies every certificate with the independent checker.
    ``progress`` (a :class:`certify.Progress`, silent when None) follows
    the long runs, each task under its run's label ("gap eta0/2 GF
    enclosure", "distance GD eta/2").  Raises :class:`certify.NotCertified`
    when a bracket is vacuous or a run cannot be certified,
    :class:`certify.UsageError` on bad input."""
    t_start = time.perf_counter()
    arch = str(arch)
    source, steps, every, rs, eta0 = _arguments(arch, loss, ratios, steps, every, eta0, problem)
    prob = certify.load_problem(problem if problem is not None else source)
    prob.loss.require_certified("paper experiment")  # before any output is written
    out = _io.prepare_dir(out_dir)
    name = prob.name or str(source)
    differences = _differences(problem, loss, arch, name)

    def prog(label):  # the tasks of one run under its label: "gap eta0/2 GF enclosure"
        return certify.RelabelledProgress(progress, lambda task: f"{label} {task}")

    runs, certs = _gap_runs(prob, rs, eta0, steps, every, out, prog)  # 1. the GD-GF gap of every run
    t0 = time.perf_counter()  # 2. the certified distance between runs (S4.7)
    dist = certify.certify_distance(prob, eta0, steps, tuple(rs), every=every,
                                    progress=prog("distance")) if rs else None
    dsecs = time.perf_counter() - t0
    dpath = out / "distance.json"
    if dist is not None:
        _require_non_vacuous(dist, prob)
        certify.write_json_atomic(dpath, dist.to_json())
    # 3. table, figure, report
    rows = _rows(prob, runs, certs, dist, every, eta0)
    table = _io.write_csv(out / "paper.csv", CSV_HEADER, rows)
    figure = _plot(out / "paper.png", name, runs, certs, dist, eta0, differences)
    checks = _check_all([r.certificate for r in runs] + ([dpath] if dist is not None else [])) if check else []
    last = dist.points if dist is not None else None
    from_init = last[0][-1].from_init if last else (math.nan, math.nan)
    dist_at_T = tuple((dist.ratios[i], last[i][-1].dist) for i in range(1, len(last))) if last else ()
    res = PaperResult(
        out_dir=out, problem=name, arch=arch if problem is None else "custom", eta0=eta0, steps=steps, every=every,
        ratios=tuple(rs), runs=tuple(runs), distance_certificate=dpath if dist is not None else None, distance_seconds=dsecs,
        from_init_at_T=from_init, dist_at_T=dist_at_T,
        max_dist_upper=dist.max_dist_upper if dist is not None else 0.0, figure=figure, table=table,
        report=out / "report.txt", seconds=time.perf_counter() - t_start, checks=tuple(checks),
        differences=differences,
    )
    _io.write_text(res.report, format_report(res))
    return res


def _arguments(arch, loss, ratios, steps, every, eta0, problem):
    """``(source, steps, every, ratios, eta0)`` validated (:class:`certify.UsageError` otherwise)."""
    if problem is None:
        if arch not in ARCHS:
            raise certify.UsageError(f"arch must be one of {', '.join(ARCHS)}, got {arch!r}")
        if loss not in LOSSES:
            raise certify.UsageError(f"loss must be one of {', '.join(LOSSES)}, got {loss!r}")
        source = (ARCHS if loss == "square" else ARCHS_CE)[arch]
    else:
        source = problem if isinstance(problem, str) else getattr(problem, "name", "") or "problem"
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 1:
        raise certify.UsageError(f"steps must be an integer >= 1, got {steps!r}")
    steps = int(steps)
    every = max(1, steps // 40) if every is None else every
    if isinstance(every, bool) or not isinstance(every, (int, np.integer)) or not 1 <= every <= steps:
        raise certify.UsageError(f"every must be an integer in [1, steps={steps}], got {every!r}")
    rs = []
    for r in ratios:
        if isinstance(r, bool) or not isinstance(r, (int, np.integer)) or r < 2:
            raise certify.UsageError(f"ratios must be integers >= 2, got {r!r}")
        if int(r) not in rs:
            rs.append(int(r))
    if not (isinstance(eta0, (int, float)) and math.isfinite(eta0) and eta0 > 0):
        raise certify.UsageError(f"eta0 must be a finite number > 0, got {eta0!r}")
    return source, steps, int(every), rs, float(eta0)


def _differences(problem, loss, arch, name) -> tuple:
    """How this run differs from the paper's experiment (the report and the figure say it)."""
    if problem is not None:
        return (f"problem: {name} instead of the paper's 784-50-50-10 linear network on 1000 MNIST images "
                "with cross-entropy",)
    return (DIFFERENCES if loss == "square" else DIFFERENCES_CE) + (
        ("network: 64-50-50-10 on 8x8 inputs instead of 784-50-50-10 (--arch 784 runs the "
         "paper's size on the digits upsampled to 28x28)",) if arch == "64" else
        ("inputs: those 8x8 images upsampled to 28x28 by linear interpolation with "
         "dyadic weights (MNIST's input size), not MNIST's own 28x28 images",))


def _gap_runs(prob, rs, eta0, steps, every, out, prog):
    """The certified GD-GF gap at ``eta0`` and at ``eta0 / r``, each written to ``gap-r{r}.json``."""
    runs, certs = [], []
    for r in [1] + rs:
        eta = eta0 if r == 1 else eta0 / r
        t0 = time.perf_counter()
        try:
            cert = certify.certify_gap(prob, eta, steps * r, every=every * r, stop_when_vacuous=True,
                                       progress=prog(f"gap {_label(r)}"))
        except certify.NotCertified as e:
            raise certify.NotCertified(e.k, e.t, f"the {_label(r)} run's GD-GF gap: {e.reason}",
                                       "use fewer steps (--steps) or a smaller eta0 (--eta0)") from e
        secs = time.perf_counter() - t0
        path = out / f"gap-r{r}.json"
        certify.write_json_atomic(path, cert.to_json())
        last = cert.checkpoints[-1]
        runs.append(PaperRun(r, eta, steps * r, path, secs, (last.gap_lower, last.gap_upper), cert.max_gap_upper,
                             float(last.loss), max(c.r for c in cert.checkpoints)))
        certs.append(cert)
    return runs, certs


def _require_non_vacuous(dist, prob) -> None:
    """Every certified distance bracket (from the initialisation, between runs) is informative."""
    for i, pts in enumerate(dist.points):
        for p in pts:
            if p.k == 0:
                continue
            checks = [("distance from the initialisation", p.from_init,
                       _float_dist(dist.runs[i].checkpoints[pts.index(p)].theta, prob.theta0))]
            if p.dist is not None:
                checks.append((f"distance between the eta0 and {_label(dist.ratios[i])} runs", p.dist,
                               _float_dist(dist.runs[0].checkpoints[pts.index(p)].theta,
                                           dist.runs[i].checkpoints[pts.index(p)].theta)))
            for what, (lo, hi), est in checks:
                if not (lo > 0 or est == 0) or not math.isfinite(hi):
                    raise certify.NotCertified(
                        p.k, float(p.t), f"the certified bracket of the {what} is vacuous ([{lo:.3g}, {hi:.3g}] "
                        f"around {est:.3g})", "use fewer steps or a smaller problem")


def _check_all(paths) -> list:
    """Re-verify each certificate with the independent checker: ``(name, valid, seconds)``."""
    checks = []
    for p in paths:
        t0 = time.perf_counter()
        rep = certify.check_file(p)
        checks.append((p.name, bool(rep.valid), time.perf_counter() - t0))
        if not rep.valid:
            raise certify.NotCertified(None, 0.0, f"the independent checker rejected {p}: "
                                       f"{rep.failures[0] if rep.failures else 'invalid'}", "report this as a bug")
    return checks


def _rows(prob, runs, certs, dist, every, eta0):
    rows = []
    for run, cert in zip(runs, certs):
        for c in cert.checkpoints:
            k0 = c.k // run.ratio
            rows.append(["loss", run.ratio, run.eta, k0, float(c.t), c.k, float(c.loss), None, None, ""])
            rows.append(["gd_gf_gap", run.ratio, run.eta, k0, float(c.t), c.k,
                         _float_dist(c.theta, c.gf_center), c.gap_lower, c.gap_upper, run.certificate.name])
            rows.append(["gd_radius", run.ratio, run.eta, k0, float(c.t), c.k, None, 0.0, c.r,
                         run.certificate.name])
    if dist is not None:
        theta0 = prob.theta0
        for i, pts in enumerate(dist.points):
            r = dist.ratios[i]
            for j, p in enumerate(pts):
                th = dist.runs[i].checkpoints[j].theta
                rows.append(["distance_from_init", r, dist.runs[i].eta, p.k, float(p.t), r * p.k,
                             _float_dist(th, theta0), p.from_init[0], p.from_init[1], "distance.json"])
                if p.dist is not None:
                    rows.append(["distance_to_eta0_run", r, dist.runs[i].eta, p.k, float(p.t), r * p.k,
                                 _float_dist(dist.runs[0].checkpoints[j].theta, th), p.dist[0], p.dist[1],
                                 "distance.json"])
    return rows


def _plot(path, name, runs, certs, dist, eta0, differences):
    fig = _io.new_figure((15, 4.8))
    ax_loss, ax_dist, ax_rel = fig.subplots(1, 3, gridspec_kw={"width_ratios": [1, 1.25, 0.9]})
    colors = ["black", "tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown", "tab:pink"]
    col = {run.ratio: colors[i % len(colors)] for i, run in enumerate(runs)}
    # (a) the loss, as the paper plots it
    for run, cert in zip(runs, certs):
        k0 = [c.k / run.ratio for c in cert.checkpoints]
        ax_loss.plot(k0, [c.loss for c in cert.checkpoints], color=col[run.ratio], lw=1.4 if run.ratio == 1 else 1,
                     ls="-" if run.ratio == 1 else "--", label=f"{_label(run.ratio)} ({run.steps} steps)")
    ax_loss.set_yscale("log")
    ax_loss.set_xlabel("eta0-iterations (t / eta0)")
    ax_loss.set_ylabel("training loss (float64 estimate)")
    ax_loss.set_title("(a) training loss of every run", fontsize=10)
    ax_loss.legend(fontsize=8)
    # (b) distances with certified bands, and every run's certified GD-GF gap
    rel = []
    if dist is not None:
        pts = [p for p in dist.points[0] if p.k > 0]
        k = np.array([p.k for p in pts], dtype=float)
        lo, hi = np.array([p.from_init[0] for p in pts]), np.array([p.from_init[1] for p in pts])
        ax_dist.fill_between(k, lo, hi, color="black", alpha=0.3, lw=0)
        ax_dist.plot(k, hi, color="black", lw=1.6, label="eta0 run from its initialisation")
        rel.append(("from init", k, (hi - lo) / hi, "black", "-"))
        for i in range(1, len(dist.points)):
            r = dist.ratios[i]
            pts = [p for p in dist.points[i] if p.k > 0]
            k = np.array([p.k for p in pts], dtype=float)
            lo, hi = np.array([p.dist[0] for p in pts]), np.array([p.dist[1] for p in pts])
            ax_dist.fill_between(k, lo, hi, color=col.get(r, "gray"), alpha=0.3, lw=0)
            ax_dist.plot(k, hi, color=col.get(r, "gray"), lw=1.3, label=f"eta0 run from the {_label(r)} run")
            rel.append((f"eta0 vs {_label(r)}", k, (hi - lo) / hi, col.get(r, "gray"), "-"))
    for run, cert in zip(runs, certs):
        cps = [c for c in cert.checkpoints if c.k > 0]
        k = np.array([c.k / run.ratio for c in cps])
        lo, hi = np.array([c.gap_lower for c in cps]), np.array([c.gap_upper for c in cps])
        ax_dist.fill_between(k, np.maximum(lo, 1e-300), hi, color=col[run.ratio], alpha=0.15, lw=0)
        ax_dist.plot(k, hi, color=col[run.ratio], lw=0.9, ls=":", label=f"{_label(run.ratio)} run from GF (GD-GF gap)")
        rel.append((f"gap {_label(run.ratio)}", k, (hi - lo) / hi, col[run.ratio], ":"))
    ax_dist.set_yscale("log")
    ax_dist.set_xlabel("eta0-iterations (t / eta0)")
    ax_dist.set_ylabel("distance ||.||_2 (certified [lower, upper])")
    ax_dist.set_title("(b) distances, certified bands (exact-arithmetic GD and GF)", fontsize=10)
    ax_dist.legend(fontsize=7, loc="best", ncol=2)
    # (c) the bands' relative widths: the bands of (b) are thinner than the lines
    for lab, k, w, c, ls in rel:
        ax_rel.plot(k, np.maximum(w, 1e-17), color=c, ls=ls, lw=1, label=lab)
    ax_rel.set_yscale("log")
    ax_rel.set_xlabel("eta0-iterations (t / eta0)")
    ax_rel.set_ylabel("(upper - lower) / upper")
    ax_rel.set_title("(c) relative width of each certified band in (b)", fontsize=10)
    ax_rel.legend(fontsize=6, ncol=2)
    fig.suptitle(f"Elkabetz & Cohen (2021), section 5, certified: GD at eta0 = {eta0:g} and eta0/r on {name}",
                 fontsize=11)
    note = textwrap.fill("Differs from the paper: " + "; ".join(differences) + ".  Lines in (b) are the certified "
                         "upper bounds; shaded: [lower, upper].", width=190)
    lines = note.count("\n") + 1
    fig.text(0.5, 0.01, note, ha="center", va="bottom", fontsize=8, color="dimgray")
    fig.tight_layout(rect=(0, 0.015 + 0.035 * lines, 1, 0.95))
    return _io.save_png(fig, path)


def format_report(res: PaperResult) -> str:
    T = res.eta0 * res.steps
    L = [f"certify experiment paper: {res.problem}, eta0 = {res.eta0:g}, {res.steps} steps (T = {T:g}), "
         f"ratios {', '.join(map(str, res.ratios)) or '-'}, checkpoints every {res.every} eta0-iterations",
         "",
         "How this setup differs from the paper (PAPER.md section 5):"]
    L += [f"  - {d}" for d in res.differences]
    L += ["  - only the linear fully connected network is run (the paper also trains ReLU and CNN variants)",
          "",
          "Certified (rigorous bounds about exact-arithmetic GD and the exact gradient flow):"]
    for run in res.runs:
        lo, hi = run.gap_at_T
        L.append(f"  {_label(run.ratio):>8} ({run.steps:>7} steps, eta = {run.eta:.6g}): GD-GF gap at T in "
                 f"[{lo:.7g}, {hi:.7g}], max over checkpoints {run.max_gap_upper:.4g}; loss at T "
                 f"{run.loss_at_T:.6g} (estimate; exact GD within {run.max_radius:.2g} of every plotted iterate); "
                 f"{run.seconds:.1f}s")
    if res.ratios:
        lo, hi = res.from_init_at_T
        L.append(f"  distance of the eta0 run from its initialisation at T in [{lo:.7g}, {hi:.7g}]")
        for r, (lo, hi) in res.dist_at_T:
            L.append(f"  distance between the eta0 and eta0/{r} runs at T in [{lo:.4g}, {hi:.4g}]")
        L.append(f"  max distance between runs over all checkpoints <= {res.max_dist_upper:.4g} "
                 f"(distance certificate: {res.distance_seconds:.1f}s)")
    L += ["", "Paper's reading: distance from init about 2.6-2.9 by t = 10, distance to the smaller-step runs "
          "below about 0.1, loss curves coincide (MNIST, cross-entropy).",
          "", "Files: " + ", ".join(p.name for p in res.certificates)
          + f", {res.table.name}, {res.figure.name}, {res.report.name}",
          "Re-check any certificate independently: certify check " + str(res.runs[0].certificate)]
    for nm, ok, s in res.checks:
        L.append(f"  certify check {nm}: {'VALID' if ok else 'INVALID'} ({s:.1f}s)")
    L.append(f"Total time {res.seconds:.1f}s")
    return "\n".join(L) + "\n"
