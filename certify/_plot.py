"""Plots: ``matplotlib.figure.Figure`` objects drawn on the Agg canvas and
written atomically as PNG.

Headless-safe without touching the caller's matplotlib: pyplot is never
imported and the backend is never set (a ``Figure`` with a
``FigureCanvasAgg`` renders on its own), so a notebook or GUI session keeps
its backend and its figure list.  matplotlib is imported only when a plot is
drawn.  One style everywhere (:func:`save_png` applies it to every axes):
certified quantities in solid lines and shaded bands, estimates dashed or
dotted and labelled *estimate*, labelled axes, light grid.
"""

from __future__ import annotations

import io
import math
from pathlib import Path

import numpy as np

from .certificates.writing import write_bytes_atomic

#: one palette: what a colour means is the same in every figure
CERTIFIED = "tab:blue"
ONE_SIDED = "tab:orange"
ESTIMATE = "tab:green"
AUXILIARY = "dimgray"
STATUS_COLORS = {"holds": "tab:green", "fails": "tab:red", "undetermined": "tab:gray"}
DPI = 110
FONT = 9  # axis labels; titles FONT + 1, legends and ticks FONT - 1


def new_figure(figsize=(7.5, 4.2), nrows: int = 1, ncols: int = 1, **subplot_kw):
    """``(fig, axes)``: a ``Figure`` on its own Agg canvas (no pyplot state);
    ``nrows=0``: no axes yet (``axes`` is None; the caller adds its own)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize)
    FigureCanvasAgg(fig)
    axes = fig.subplots(nrows, ncols, squeeze=True, **subplot_kw) if nrows and ncols else None
    return fig, axes


def apply_style(fig) -> None:
    """The house style on every axes of ``fig`` (grid, tick and label sizes)."""
    for ax in fig.axes:
        ax.grid(True, which="major", alpha=0.3, lw=0.6)
        ax.tick_params(labelsize=FONT - 1)
        ax.xaxis.label.set_fontsize(FONT)
        ax.yaxis.label.set_fontsize(FONT)
        leg = ax.get_legend()
        if leg is not None:
            leg.get_frame().set_alpha(0.85)


def save_png(fig, path, dpi: int = DPI, tight: bool = True) -> Path:
    """Render ``fig`` to PNG in memory, then write it atomically (a temporary
    file in the target folder, then ``os.replace``): ``path`` is either left
    as it was or holds the whole image.  :class:`certify.UsageError` naming
    the path when it cannot be written."""
    apply_style(fig)
    if tight:
        fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": None})
    path = Path(path)
    write_bytes_atomic(path, buf.getvalue())
    return path


def _legend(ax, **kw):
    kw.setdefault("fontsize", FONT - 1)
    ax.legend(**kw)


def _title(ax, text):
    ax.set_title(text, fontsize=FONT + 1)


def _positive(a):
    """``a`` with non-positive and non-finite entries masked (log axes)."""
    a = np.asarray(a, dtype=float)
    return np.where(np.isfinite(a) & (a > 0), a, np.nan)


# ---------------------------------------------------------------------------
# certify gap --plot
# ---------------------------------------------------------------------------


def plot_gap(cert, path) -> Path:
    """A :class:`certify.GapCertificate` against ``t = k eta``.  Top: the
    certified band ``[gap_lower, gap_upper]`` of ``||theta_k - theta(k eta)||``
    (S4.4), the one-sided S4.2 upper bound while it lasts (its end marked),
    the radii of the GF enclosure and of the exact GD ball (certified).
    Bottom: the loss at the float iterates (estimate).  Log scales."""
    cps = [c for c in cert.checkpoints if c.k > 0]
    if not cps:
        raise ValueError("the certificate has no checkpoint after k = 0 to plot")
    t = np.array([float(c.t) for c in cps])
    lo = np.array([c.gap_lower for c in cps], dtype=float)
    hi = np.array([c.gap_upper for c in cps], dtype=float)
    s42 = np.array([c.gap_upper_s42 for c in cps], dtype=float)
    fig, (ax, axl) = new_figure((7.8, 6.0), 2, 1, sharex=True, gridspec_kw={"height_ratios": [2.2, 1]})
    floor = np.where(lo > 0, lo, np.nan)
    ax.fill_between(t, np.where(np.isfinite(floor), floor, hi), hi, color=CERTIFIED, alpha=0.35, lw=0)
    ax.plot(t, hi, color=CERTIFIED, lw=1.6, label="GD-GF gap, certified band [lower, upper] (S4.4)")
    if (lo <= 0).any():
        ax.plot(t[lo <= 0], hi[lo <= 0], "v", color=CERTIFIED, ms=4, label="lower bound 0 (vacuous) here")
    finite = np.isfinite(s42)
    if finite.any():
        ax.plot(t[finite], s42[finite], "--", color=ONE_SIDED, lw=1.4,
                label="one-sided upper bound (S4.2), certified")
    if cert.s42_end < cert.steps:
        t_end = cert.s42_end * float(cert.eta)
        ax.axvline(t_end, color=ONE_SIDED, lw=0.8, ls=":")
        ax.annotate(f"S4.2 bound ends (step {cert.s42_end})", (t_end, 0.02), xycoords=("data", "axes fraction"),
                    fontsize=FONT - 2, color=ONE_SIDED, rotation=90, ha="right", va="bottom")
    ax.plot(t, _positive([c.gf_radius for c in cps]), ":", color=AUXILIARY, lw=1.2,
            label="GF enclosure radius, certified")
    ax.plot(t, _positive([c.r for c in cps]), "-.", color=AUXILIARY, lw=1.0,
            label="exact-GD ball radius r_k (S4.5), certified")
    ax.set_yscale("log")
    ax.set_ylabel("||theta_k - theta(k eta)||_2")
    both = (lo > 0) & (hi > 0)
    width = float(np.max((hi[both] - lo[both]) / hi[both])) if both.any() else float("nan")
    name = cert.problem.name or "problem"
    _title(ax, f"GD (eta = {cert.eta:g}, {cert.steps} steps) vs GF on {name}"
           + (f"; band relative width <= {width:.1e}" if math.isfinite(width) else ""))
    _legend(ax, loc="best")
    axl.plot(t, _positive([c.loss for c in cps]), color=ESTIMATE, lw=1.3, ls="--", label="loss at the float iterate")
    axl.set_yscale("log")
    axl.set_xlabel("t = k eta")
    axl.set_ylabel("loss (estimate)")
    _legend(axl, loc="best")
    return save_png(fig, path)


# ---------------------------------------------------------------------------
# certify flow --plot
# ---------------------------------------------------------------------------


def plot_flow(enc, path) -> Path:
    """A flow enclosure (:func:`certify.enclose_flow`) against ``t``.  Top: the
    certified radius of the ball that contains ``theta(t)``, at every
    integrator step and at the checkpoints.  Bottom: the loss at the
    checkpoint centers (estimate)."""
    cps = list(enc.checkpoints)
    steps = list(enc.steps)
    fig, (ax, axl) = new_figure((7.8, 5.6), 2, 1, sharex=True, gridspec_kw={"height_ratios": [1.4, 1]})
    if steps:
        ts = [float(s.t0) for s in steps] + [float(steps[-1].t0 + steps[-1].h)]
        rs = [s.e0 for s in steps] + [cps[-1].radius]
        ax.plot(ts, _positive(rs), "-", color=CERTIFIED, lw=1.3, label=f"radius at each of {len(steps)} integrator steps")
    tc = np.array([float(c.t) for c in cps])
    ax.plot(tc, _positive([c.radius for c in cps]), "o", color=CERTIFIED, ms=3.5, label="radius at the checkpoints")
    ax.set_yscale("log")
    ax.set_ylabel("enclosure radius (certified)")
    name = enc.problem.name or "problem"
    _title(ax, f"validated GF enclosure of {name} on [0, {float(enc.t_end):g}] ({enc.backend}, {enc.prec} bits)")
    _legend(ax, loc="best")
    axl.plot(tc, _positive([c.loss for c in cps]), "--", color=ESTIMATE, marker=".", ms=4, lw=1.3,
             label="loss at the enclosure centers")
    axl.set_yscale("log")
    axl.set_xlabel("t")
    axl.set_ylabel("loss (estimate)")
    _legend(axl, loc="best")
    return save_png(fig, path)


# ---------------------------------------------------------------------------
# certify conditions --plot
# ---------------------------------------------------------------------------


def _symlog_threshold(values) -> float:
    nz = [abs(v) for v in values if v is not None and math.isfinite(v) and v != 0]
    if not nz:
        return 1.0
    return max(min(nz) / 2, max(nz) * 1e-16)


def _symlog_ticks(ax, lin: float, reach: float, axis: str = "x") -> None:
    """At most about 4 decades labelled on each side of 0 (symlog's own ticks crowd)."""
    lo_d, hi_d = math.floor(math.log10(lin)), math.ceil(math.log10(max(reach, lin)))
    stride = max(1, math.ceil((hi_d - lo_d) / 4))
    decades = list(range(hi_d, lo_d - 1, -stride))
    pos = [10.0 ** d for d in decades]
    ticks = sorted([-v for v in pos] + [0.0] + pos)
    labels = ["0" if v == 0 else f"{'-' if v < 0 else ''}1e{round(math.log10(abs(v)))}" for v in ticks]
    (ax.set_xticks if axis == "x" else ax.set_yticks)(ticks)
    (ax.set_xticklabels if axis == "x" else ax.set_yticklabels)(labels)


def plot_conditions(report, path) -> Path:
    """A :class:`certify.ConditionsReport`: one row per hypothesis, a bar from
    0 to its margin coloured by the verdict ('holds' needs the whole certified
    interval above 0, 'fails' below) and the certified interval
    ``[margin_lower, margin_upper]`` as a whisker (an arrow where a side is
    unbounded), on a symmetric log axis.  Hypotheses without a margin, or
    reported only (no verdict), say so."""
    hyps = list(report.hypotheses)
    if not hyps:
        raise ValueError("the report has no hypotheses to plot")
    fig, ax = new_figure((9.0, 0.48 * len(hyps) + 1.7))
    vals = []
    for h in hyps:
        vals += [h.margin_lower, h.margin_upper, h.margin]
    lin = _symlog_threshold(vals)
    fin = [abs(v) for v in vals if v is not None and math.isfinite(v)]
    reach = 2 * max(fin) if fin else 1.0
    y = np.arange(len(hyps))[::-1]

    def fmt(v, side):
        if v is None or not math.isfinite(v):
            return "-inf" if side < 0 else "inf"
        return f"{v:.3g}"

    for yi, h in zip(y, hyps):
        color = STATUS_COLORS.get(h.status, AUXILIARY)
        note = h.status + (" (reported, no verdict)" if h.reported else "")
        lo, hi, m = h.margin_lower, h.margin_upper, h.margin
        if m is None and lo is None and hi is None:
            ax.annotate(f"no certified margin: {note}", (1.0, yi), xycoords=("axes fraction", "data"),
                        xytext=(4, 0), textcoords="offset points", va="center", fontsize=FONT - 2, color=color,
                        annotation_clip=False)
            continue
        if m is None:
            m = lo if lo is not None else hi
        ax.barh([yi], [m], left=0.0, height=0.5, color=color, alpha=0.75, lw=0)
        a = lo if lo is not None and math.isfinite(lo) else -reach
        b = hi if hi is not None and math.isfinite(hi) else reach
        ax.plot([a, b], [yi, yi], color="black", lw=1.1)
        for end, bounded, mk in ((a, lo is not None and math.isfinite(lo), "<"),
                                 (b, hi is not None and math.isfinite(hi), ">")):
            ax.plot([end], [yi], "|" if bounded else mk, color="black", ms=8 if bounded else 5)
        ax.annotate(f"[{fmt(lo, -1)}, {fmt(hi, 1)}]  {note}", (1.0, yi), xycoords=("axes fraction", "data"),
                    xytext=(4, 0), textcoords="offset points", va="center", fontsize=FONT - 2, color=color,
                    annotation_clip=False)
    ax.axvline(0.0, color="black", lw=0.9)
    ax.set_xscale("symlog", linthresh=lin)
    ax.set_xlim(-reach, reach)
    _symlog_ticks(ax, lin, reach)
    ax.set_yticks(y)
    ax.set_yticklabels([f"{h.name} {h.source}" for h in hyps], fontsize=FONT - 1)
    ax.set_ylim(-0.7, len(hyps) - 0.3)
    ax.set_xlabel(f"certified margin: > 0 holds, < 0 fails\n(bar: the margin; whisker: its certified interval; "
                  f"symmetric log axis, linear within +-{lin:.2g})")
    name = report.problem.name or "problem"
    given = ", ".join(f"{k} = {v:g}" for k, v in (("eta", report.eta), ("eps", report.eps), ("T", report.t_end))
                      if v is not None)
    _title(ax, f"hypotheses of {name}" + (f" ({given})" if given else "") + ": certified margins")
    apply_style(fig)
    fig.tight_layout()
    fig.subplots_adjust(right=0.66)
    return save_png(fig, path, tight=False)


# ---------------------------------------------------------------------------
# certify curvature --plot
# ---------------------------------------------------------------------------


def plot_curvature(profile, path, title: str = "") -> Path:
    """A :func:`certify.curvature_profile`: the certified upper bound of m(t)
    (a step function over the integrator's steps) against the
    dense-eigenvalue estimate and the [derived] bound at the checkpoints
    (estimates).  Symmetric log axis when a value is 0."""
    fig, ax = new_figure((7.8, 4.4))
    xs, ys = [], []
    for a, b, m in profile["steps"]:
        xs += [a, b]
        ys += [m, m]
    ax.plot(xs, ys, color=CERTIFIED, lw=1.6, label="m(t) upper bound, certified (S3.1 on the GF tube)")
    rows = profile["rows"]
    t = [r["t"] for r in rows]
    ax.plot(t, [r["bound_est"] for r in rows], "s--", color=ONE_SIDED, ms=4, lw=1.1,
            label="(N-1) rho^(N-2) ||grad l||_F at the centers (estimate)")
    m_est = np.array([r["m_est"] for r in rows], dtype=float)
    if np.isfinite(m_est).any():
        ax.plot(t, m_est, "o:", color=ESTIMATE, ms=4, lw=1.1, label="max(0, -lambda_min(Hf)) at the centers (estimate)")
    values = [v for v in ys + [r["bound_est"] for r in rows] + list(m_est) if math.isfinite(v)]
    if values and min(values) <= 0:
        ax.set_yscale("symlog", linthresh=_symlog_threshold(values))
    elif values:
        ax.set_yscale("log")
    ax.set_xlabel("t")
    ax.set_ylabel("negative curvature m(t) = max(0, -lambda_min(Hf))")
    _title(ax, title or f"negative curvature along GF; int_0^T m <= {profile['int_m_upper']:.4g} (certified)")
    _legend(ax, loc="best")
    return save_png(fig, path)


# ---------------------------------------------------------------------------
# certify smallstep --plot
# ---------------------------------------------------------------------------


def plot_smallstep(req_rows, gap_rows, path) -> Path:
    """Left: the certified largest eta for gap <= eps on the concave quadratic
    against t, beside the exp(-mu t) estimate.  Right: certified gaps at a
    fixed horizon against eta on the three problems."""
    fig, (a1, a2) = new_figure((10.5, 4.2), 1, 2)
    t = [r[0] for r in req_rows]
    a1.semilogy(t, [r[1] for r in req_rows], "o-", color=CERTIFIED, label="largest eta with certified gap <= eps")
    a1.semilogy(t, [r[3] for r in req_rows], "--", color=ESTIMATE,
                label="estimate 2 eps exp(-mu t)/(theta0 mu^2 t)")
    a1.set_xlabel("horizon t")
    a1.set_ylabel("step size eta")
    _title(a1, "concave quadratic: exponentially small steps")
    _legend(a1)
    for name in dict.fromkeys(r.problem for r in gap_rows):
        rows = [r for r in gap_rows if r.problem == name]
        a2.loglog([r.eta for r in rows], [r.gap_upper for r in rows], "o-", label=name)
    a2.set_xlabel("eta")
    a2.set_ylabel(f"certified gap upper bound at t = {gap_rows[0].t:g}")
    _title(a2, "certified GD-GF gap against eta")
    _legend(a2)
    return save_png(fig, path)
