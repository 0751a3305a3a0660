"""``smoothness`` [derived] (SPEC S4.5 (a)): margin ``2 - eta beta_D`` with
``beta_D >= sup_D ||Hf||_2`` on the tube ``D`` (all points within ``eps`` of the
certified GF trajectory on ``[0, T]``); the upper end uses certified lower bounds
of ``lambda_max(Hf)`` at points of ``D``."""

from __future__ import annotations

import math

from .._claims import claim_down, hi, lo
from .._problem import Problem
from ._hessian import _lambda_max_lower
from .base import Hypothesis, Status, _set_margin


def _sample_points(traj, k: int = 5):
    pts = traj.points
    idx = sorted({0, len(pts) - 1} | {round(i * (len(pts) - 1) / (k - 1)) for i in range(k)})
    return [pts[i] for i in idx]


def check_smoothness(problem: Problem, traj, traj_reason, eps, eta) -> Hypothesis:
    from flint import arb

    h = Hypothesis("smoothness", "[derived]", Status.UNDETERMINED,
                   "margin 2 - eta beta_D, beta_D = sup ||Hf||_2 over the tube D (eps around the GF on [0,T]); "
                   "certified upper bound beta from S4.5 (a) on the tube, lower bound from certified "
                   "lambda_max(Hf) at points of D")
    if traj is None:
        h.reason = traj_reason
        return h
    beta = max(seg.at(eps, traj.s_G)["beta"] for seg in traj.segments)
    lmax_lo, est = -math.inf, -math.inf
    for (t, x, r, _, _) in _sample_points(traj):
        l_lo, l_est = _lambda_max_lower(problem, x, r)
        lmax_lo, est = max(lmax_lo, l_lo), max(est, l_est)
    h.quantities = {"region": f"all points within eps = {eps:g} of the GF trajectory on [0, {float(traj.T):g}]",
                    "eps": eps, "beta_upper": beta, "lambda_max_lower": lmax_lo,
                    "lambda_max_estimate_on_trajectory": est, "two_over_beta": claim_down(lo(2 / arb(beta)))}
    if eta is None:
        h.reason = "no eta given: beta and 2/beta (the largest descent-lemma step on D) are reported"
        return h
    E = arb(eta)
    _set_margin(h, lower=lo(2 - E * arb(beta)), upper=hi(2 - E * arb(lmax_lo)) if math.isfinite(lmax_lo) else None)
    return h
