"""Plots (matplotlib, Agg backend; written atomically)."""

from __future__ import annotations

import io

import numpy as np

from ._atomic import write_bytes_atomic


def _figure():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def plot_gap(cert, path) -> None:
    """Certified band ``[gap_lower, gap_upper]`` against ``t = k eta`` (log
    scale), the one-sided S4.2 bound while it lasts, and the loss (estimate)."""
    plt = _figure()
    cps = [c for c in cert.checkpoints if c.k > 0]
    t = np.array([float(c.t) for c in cps])
    lo = np.array([c.gap_lower for c in cps])
    hi = np.array([c.gap_upper for c in cps])
    s42 = np.array([c.gap_upper_s42 for c in cps])
    fig, ax = plt.subplots(figsize=(7.5, 4.2))
    ax.fill_between(t, np.maximum(lo, 1e-300), hi, color="tab:blue", alpha=0.35, label="certified gap band (S4.4)")
    ax.plot(t, hi, color="tab:blue", lw=1.5)
    finite = np.isfinite(s42)
    if finite.any():
        ax.plot(t[finite], s42[finite], "--", color="tab:orange", label="one-sided bound (S4.2), certified")
    ax.plot(t, [c.gf_radius for c in cps], ":", color="tab:gray", label="GF enclosure radius, certified")
    ax.set_yscale("log")
    ax.set_xlabel("t = k eta")
    ax.set_ylabel("||theta_k - theta(k eta)||")
    ax2 = ax.twinx()
    ax2.plot(t, [c.loss for c in cps], color="tab:green", lw=1, label="loss (estimate)")
    ax2.set_yscale("log")
    ax2.set_ylabel("loss (estimate)", color="tab:green")
    h1, l1 = ax.get_legend_handles_labels()
    h2, l2 = ax2.get_legend_handles_labels()
    ax.legend(h1 + h2, l1 + l2, fontsize=8, loc="lower right")
    name = cert.problem.name or "problem"
    ax.set_title(f"GD (eta={cert.eta:g}) vs GF on {name}: certified gap", fontsize=10)
    _save(fig, plt, path)


def _save(fig, plt, path) -> None:
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, metadata={"Software": None})
    plt.close(fig)
    write_bytes_atomic(path, buf.getvalue())


def plot_smallstep(req_rows, gap_rows, path) -> None:
    """Left: the certified largest eta for gap <= eps on the concave quadratic
    against t, beside the exp(-mu t) estimate.  Right: certified gaps at a
    fixed horizon against eta on the three problems."""
    plt = _figure()
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 4))
    t = [r[0] for r in req_rows]
    a1.semilogy(t, [r[1] for r in req_rows], "o-", label="largest eta with certified gap <= eps")
    a1.semilogy(t, [r[3] for r in req_rows], "--", color="gray", label="estimate 2 eps exp(-mu t)/(theta0 mu^2 t)")
    a1.set_xlabel("horizon t")
    a1.set_ylabel("step size eta")
    a1.set_title("concave quadratic: exponentially small steps", fontsize=10)
    a1.legend(fontsize=8)
    for name in dict.fromkeys(r.problem for r in gap_rows):
        rows = [r for r in gap_rows if r.problem == name]
        a2.loglog([r.eta for r in rows], [r.gap_upper for r in rows], "o-", label=name)
    a2.set_xlabel("eta")
    a2.set_ylabel(f"certified gap upper bound at t = {gap_rows[0].t:g}")
    a2.set_title("certified GD-GF gap against eta", fontsize=10)
    a2.legend(fontsize=8)
    _save(fig, plt, path)


def plot_curvature(profile, path, title: str = "") -> None:
    """Certified m(t) upper bound (step function over the integrator's steps),
    the dense-eigenvalue estimate and the [derived] bound at the checkpoints."""
    plt = _figure()
    fig, ax = plt.subplots(figsize=(7.5, 4.2))
    xs, ys = [], []
    for a, b, m in profile["steps"]:
        xs += [a, b]
        ys += [m, m]
    ax.plot(xs, ys, color="tab:blue", label="m(t) upper bound, certified (S3.1 on the GF tube)")
    rows = profile["rows"]
    t = [r["t"] for r in rows]
    ax.plot(t, [r["bound_est"] for r in rows], "s--", color="tab:orange", ms=4,
            label="(N-1) rho^(N-2) ||grad l||_F at the centers (estimate)")
    ax.plot(t, [r["m_est"] for r in rows], "o:", color="tab:green", ms=4,
            label="max(0, -lambda_min(Hf)) at the centers (estimate)")
    ax.set_yscale("log")
    ax.set_xlabel("t")
    ax.set_ylabel("negative curvature m(t)")
    ax.set_title(title or f"negative curvature along GF; int m <= {profile['int_m_upper']:.4g} (certified)", fontsize=10)
    ax.legend(fontsize=8)
    _save(fig, plt, path)
