"""Certified distance between two step sizes' exact GD runs (SPEC S4.7) and
the ``certify/distance-v1`` certificate.

The paper (PAPER.md section 5) plots, for the run with step ``eta0`` and the
runs with ``eta0 / r`` (``10^4 r`` steps each, the same continuous time), the
distance ``||theta_k(eta0) - theta_{rk}(eta0/r)||`` at common times, beside
the distance of the ``eta0`` run from its initialisation.  Exact GD with each
step lies in certified balls ``B(theta^_k, r_k)`` around its float iterates
(S4.5, computed by :func:`certify._gap.gd_balls`), so

``| ||theta_k - theta'_{rk}|| - ||theta^_k - theta~_{rk}|| | <= r_k + r~_{rk}``

brackets the plotted quantity, and ``||theta_k - theta_0||`` lies within
``r_k`` of ``||theta^_k - theta_0||``.  The steps are the binary64 values
``eta0`` and ``fl(eta0 / r)``; the iterates compared are iteration ``k`` and
``r k`` (time-aligned up to the rounding of ``eta0 / r``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np

from .._sealed import Sealed
from .._claims import claim_down, claim_up, float_distance, frac_str, hi, lo
from ..certificates.provenance import provenance
from .._errors import UsageError
from .run import gd_balls
from .._lossdata import split_to_json
from .._gd import check_eta, check_steps
from .._problem import Problem, ProblemLike, load_problem
from .._progress import Progress, RelabelledProgress

SCHEMA = "certify/distance-v1"
STATEMENT = (
    "for each run i and checkpoint k of run 0: from_init_lower <= ||theta^(i)_{r_i k} - theta_0||_2 <= "
    "from_init_upper and (i > 0) dist_lower <= ||theta^(0)_k - theta^(i)_{r_i k}||_2 <= dist_upper, where "
    "theta^(i) is exact-arithmetic gradient descent with step runs[i].eta from the problem's initial point "
    "(flattened per S1) and r_i = runs[i].steps / runs[0].steps"
)


@dataclass
class DistancePoint(Sealed):
    k: int  # iteration of the base run (the other run's iteration is ratio * k)
    t: Fraction  # k * eta0
    from_init: tuple  # (lower, upper) of ||theta_{ratio k} - theta_0|| for this run
    dist: tuple | None  # (lower, upper) of ||theta^(0)_k - theta^(i)_{ratio k}|| (None for run 0)


@dataclass
class DistanceCertificate(Sealed):
    problem: Problem
    ratios: list  # 1 first (the base run), then the r's
    runs: list = field(default_factory=list)  # GapCertificate without flow, per run
    points: list = field(default_factory=list)  # per run: list of DistancePoint

    @property
    def max_dist_upper(self) -> float:
        return max((p.dist[1] for pts in self.points[1:] for p in pts), default=0.0)

    def to_json(self) -> dict:
        runs = []
        for cert, pts in zip(self.runs, self.points):
            runs.append({
                "eta": cert.eta, "eta_hex": float(cert.eta).hex(), "steps": cert.steps, "every": cert.every,
                "refresh": cert.refresh, "refs": [r.to_json() for r in cert.refs], "segments": cert.segments,
                "s42_end": cert.s42_end,
                "checkpoints": [{"k": c.k, "theta_hex": [float(x).hex() for x in c.theta], "r": c.r}
                                for c in cert.checkpoints],
            })
        claims = []
        for i, pts in enumerate(self.points):
            claims.append({
                "run": i, "ratio": self.ratios[i],
                "points": [{"k": p.k, "t_exact": frac_str(p.t), "from_init_lower": p.from_init[0],
                            "from_init_upper": p.from_init[1],
                            **({"dist_lower": p.dist[0], "dist_upper": p.dist[1]} if p.dist else {})}
                           for p in pts],
            })
        base = self.runs[0]
        return {
            "schema": SCHEMA,
            "problem": self.problem.to_json(),
            "runs": runs,
            "claims": {"statement": STATEMENT, "lemmas": ["S3.1", "S4.5", "S4.6", "S4.7"], "runs": claims,
                       "max_dist_upper": self.max_dist_upper},
            "sxx": None if base.sxx_norm2 is None else {"norm2": base.sxx_norm2},
            **({} if base.loss_bounds is None else {"loss_bounds": base.loss_bounds}),
            **({} if base.data_split is None else {"data_split": split_to_json(base.data_split)}),
            "provenance": provenance(),
        }


def certify_distance(problem: ProblemLike, eta: float, steps: int, ratios=(2, 5, 10, 20), *,
                     every: int | None = None, refresh: int = 100,
                     progress: Progress | None = None) -> DistanceCertificate:
    """Certified distances between exact GD with ``eta`` (``steps`` steps) and
    exact GD with ``fl(eta / r)`` (``r * steps`` steps) at the base run's
    checkpoints, and of every run from the initial point (S4.7).  ``progress``
    (a :class:`certify.Progress`) follows one task per run, "GD eta" and
    "GD eta/r", in steps."""
    problem = load_problem(problem)  # problem-like: Problem, builtin:NAME, path or dict
    problem.loss.require_certified("distance between GD runs")
    eta = check_eta(eta)
    steps = check_steps(steps)
    every = every or max(1, steps // 20)
    rs = []
    for r in ratios:
        if isinstance(r, bool) or not isinstance(r, (int, np.integer)) or r < 2:
            raise UsageError(f"ratios must be integers >= 2, got {r!r}")
        if int(r) not in rs:
            rs.append(int(r))
    ks = sorted(set(range(0, steps + 1, every)) | {steps})
    out = DistanceCertificate(problem, [1] + rs)
    theta0 = problem.theta0
    for i, r in enumerate([1] + rs):
        prog = RelabelledProgress(progress, lambda _task, r=r: f"GD eta/{r}" if r > 1 else "GD eta")
        cert = gd_balls(problem, eta / r if r > 1 else eta, steps * r, [r * k for k in ks], refresh, prog,
                        s42=False)
        out.runs.append(cert)
        pts = []
        for k, c in zip(ks, cert.checkpoints):
            d_lo, d_hi = float_distance(c.theta, theta0)
            fi = (claim_down(lo_diff(d_lo, c.r)), claim_up(hi_sum(d_hi, c.r)))
            dist = None
            if r > 1:
                b = out.runs[0].checkpoints[ks.index(k)]
                e_lo, e_hi = float_distance(b.theta, c.theta)
                rad = hi_sum(b.r, c.r)
                dist = (claim_down(lo_diff(e_lo, rad)), claim_up(hi_sum(e_hi, rad)))
            pts.append(DistancePoint(k, Fraction(eta) * k, fi, dist))
        out.points.append(pts)
    return out.seal()


def hi_sum(a: float, b: float) -> float:
    from flint import arb

    return hi(arb(a) + arb(b))


def lo_diff(a: float, b: float) -> float:
    """``max(0, a - b)`` rounded down."""
    from flint import arb

    return max(0.0, lo(arb(a) - arb(b)))


__all__ = ["DistanceCertificate", "certify_distance"]
