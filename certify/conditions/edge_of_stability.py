"""``edge_of_stability`` [derived]: margin ``2 - eta max_k lambda_max(Hf(theta_k))``
along exact GD (``K = T/eta`` steps): the lower end from the gap certificate's
per-step smoothness bounds (S4.5), the upper end from certified Rayleigh
quotients at GD checkpoints (:func:`certify.conditions._hessian._lambda_max_lower`)."""

from __future__ import annotations

import math

import numpy as np

from .._claims import hi, lo
from .._problem import Problem
from ._hessian import _lambda_max_lower
from .base import Hypothesis, Status, _set_margin


def check_edge_of_stability(problem: Problem, eta, gap, gap_reason) -> Hypothesis:
    from flint import arb

    h = Hypothesis("edge_of_stability", "[derived]", Status.UNDETERMINED,
                   "margin 2 - eta max_{k<K} lambda_max(Hf(theta_k)) along exact GD (K = T/eta steps): below 0 "
                   "GD is in the edge-of-stability regime where GF does not describe it")
    x0 = problem.theta0
    l0_lo, l0_est = _lambda_max_lower(problem, x0, 0.0)
    q = {"lambda_max_theta0_lower": l0_lo, "lambda_max_theta0_estimate": l0_est,
         "two_over_lambda_max_theta0_estimate": (2 / l0_est) if l0_est > 0 else None}
    h.quantities = q
    if eta is None:
        h.reason = "no eta given"
        return h
    E = arb(eta)
    lam_lo, lam_est, where = l0_lo, l0_est, 0
    upper_beta = None
    if gap is not None:
        upper_beta = max(s["beta_r"] for s in gap.segments)
        cps = [c for c in gap.checkpoints if c.k < gap.steps]  # the iterates GD steps from
        idx = sorted({round(i * (len(cps) - 1) / 5) for i in range(6)})
        for i in idx:
            c = cps[i]
            l_lo, l_est = _lambda_max_lower(problem, np.asarray(c.theta), c.r)
            if l_lo > lam_lo:
                lam_lo, where = l_lo, c.k
            lam_est = max(lam_est, l_est)
        q["beta_along_gd_upper"] = upper_beta
    else:
        h.reason = f"upper bound along GD unavailable ({gap_reason}); only theta_0 is checked"
    q["lambda_max_lower_along_gd"] = lam_lo
    q["eta_lambda_max_estimate"] = eta * lam_est
    lower = lo(2 - E * arb(upper_beta)) if upper_beta is not None else None
    upper = hi(2 - E * arb(lam_lo)) if math.isfinite(lam_lo) else None
    _set_margin(h, lower=lower, upper=upper)
    if h.status is Status.FAILS:
        h.warning = (f"EDGE OF STABILITY: eta * lambda_max(Hf(theta_k)) > 2 (certified, k = {where}): GD is not "
                     "a discretisation of GF here; GD-GF gap bounds say nothing useful")
    elif eta * lam_est > 2:
        h.warning = (f"EDGE OF STABILITY (estimate): eta * lambda_max ~ {eta * lam_est:.3g} > 2 along GD "
                     "(not certified)")
    return h
