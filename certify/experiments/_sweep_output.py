"""The outputs of ``certify sweep`` built from the task rows: ``results.csv``
(:data:`CSV_HEADER`, grid order) and ``sweep.png``."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from . import _io
from ._sweep_grid import Grid, _slug

CSV_HEADER = ["task", "problem", "seed", "eta", "steps", "T", "status", "gap_lower_T", "gap_upper_T",
              "max_gap_upper", "loss_T_estimate", "seconds", "certificate", "reason"]


def _write_table(out: Path, grid: Grid, rows: dict) -> Path:
    data = [[rows[t.id].get(h) for h in CSV_HEADER] for t in grid.tasks if t.id in rows]
    return _io.write_csv(out / "results.csv", CSV_HEADER, data)


def _plot(path, grid: Grid, rows) -> Path:
    fig = _io.new_figure((12, 4.6))
    ax, ax2 = fig.subplots(1, 2)
    ok = [r for r in rows if r["status"] == "certified"]
    groups: dict = {}

    def horizon(r):  # T = eta K differs from the grid's horizon in the last bits: group by the latter
        return float(f"{r['T']:.10g}")

    for r in ok:
        groups.setdefault((r["problem"], horizon(r)), []).append(r)
    colors = ["tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown", "tab:pink", "tab:gray"]
    for i, ((prob, T), rs) in enumerate(sorted(groups.items(), key=lambda kv: (kv[0][0], kv[0][1]))):
        c = colors[i % len(colors)]
        eta = np.array([r["eta"] for r in rs])
        hi = np.array([r["gap_upper_T"] for r in rs])
        lo = np.array([r["gap_lower_T"] for r in rs])
        ax.vlines(eta, np.where(lo > 0, lo, hi), hi, color=c, lw=2, alpha=0.6)  # (a vacuous 0: no bar)
        ax.plot(eta, hi, "o", ms=3, color=c, label=f"{prob}, T = {T:.4g}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("GD step size eta")
    ax.set_ylabel("certified ||theta_K - theta(T)||, K = T / eta")
    ax.set_title("certified GD-GF gap at T (every seed; bar = [lower, upper])", fontsize=10)
    if groups:
        ax.legend(fontsize=7)
    # distribution over seeds: one box per (problem, eta, T)
    cells: dict = {}
    for r in ok:
        cells.setdefault((r["problem"], r["eta"], horizon(r)), []).append(r["gap_upper_T"])
    keys = sorted(cells)
    if keys:
        ax2.boxplot([cells[k] for k in keys], showfliers=True)
        ax2.set_xticks(range(1, len(keys) + 1))
        ax2.set_xticklabels([f"{_slug(p)}\neta={e:.2g}\nT={T:.3g}" for p, e, T in keys], fontsize=6, rotation=0)
        ax2.set_yscale("log")
    ax2.set_ylabel("certified gap upper bound at T")
    ax2.set_title("distribution over seeds", fontsize=10)
    nf = len(rows) - len(ok)
    fig.suptitle(f"certify sweep {grid.name}: {len(ok)} of {len(rows)} tasks certified"
                 + (f", {nf} failed (results.csv gives each reason)" if nf else ""), fontsize=11)
    fig.tight_layout(rect=(0, 0, 1, 0.94))
    return _io.save_png(fig, path)
