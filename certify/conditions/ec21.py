"""``ec21_gap_theorem`` [derived] (PAPER.md section 1, proofs/ec21_gap_theorem.py):
the EC21 translation on the instance.  Margin ``eta_max - eta`` with
``eta_max = eps / (beta (G + beta eps) int_0^T exp(int_s^T (m + gamma eps/2)) ds)``
(:func:`certify.conditions.trajectory.ec21_bound`; ``gamma`` from
proofs/s2_2_hessian_lipschitz.py); its a-priori bound is set against the
certified gap (``certify_gap``)."""

from __future__ import annotations

from .._claims import claim_down, lo
from .base import Hypothesis, Status, _set_margin
from .trajectory import ec21_bound

EPS_GRID = [10.0 ** (-5 + k / 4) for k in range(21)]  # 1e-5 .. 1, when eps is not given


def check_ec21(traj, traj_reason, eps, eta, gap, gap_reason) -> Hypothesis:
    from flint import arb

    h = Hypothesis("ec21_gap_theorem", "[derived]", Status.UNDETERMINED,
                   "margin eta_max - eta: PAPER.md section 1's explicit theorem (proofs/ec21_gap_theorem.py) "
                   "with certified beta, gamma, G, m on the eps-tube of the certified GF; then "
                   "||theta_k - theta(k eta)|| <= beta (G + beta eps) eta J(k eta) <= eps")
    if traj is None:
        h.reason = traj_reason
        return h
    grid = [eps] if eps is not None else EPS_GRID
    results = [ec21_bound(traj, e, eta) for e in grid]
    if eps is not None:
        best = results[0]
    elif eta is not None and any(r["applies"] for r in results):
        best = next(r for r in results if r["applies"])  # smallest eps admitting eta: tightest bound
    else:
        best = max(results, key=lambda r: r["eta_max_lower"])
    q = {
        "eps": best["eps"], "eps_given": eps is not None,
        "beta": best["beta"], "G": best["G"], "gamma_max": best["gamma_max"], "m_max": best["m_max"],
        "c": best["c"], "J_T": best["J_T"], "horizon": float(traj.T),
        "largest_eta": claim_down(best["eta_max_lower"]),
    }
    if eps is None:
        q["eps_grid"] = [[r["eps"], claim_down(r["eta_max_lower"])] for r in results]
    h.quantities = q
    if eta is None:
        h.reason = "no eta given: the largest eta the theorem admits for eps is reported"
        return h
    # a sufficient condition: only the margin's lower end is meaningful (never 'fails')
    _set_margin(h, lower=lo(best["eta_max"] - arb(eta)), upper=None)
    if not best["applies"]:
        h.status = Status.UNDETERMINED
        h.margin = h.margin_lower
        h.reason = ("eta exceeds the largest eta the theorem admits with these certified constants "
                    "(sharper constants might admit it): no a-priori bound")
        return h
    bounds = dict(best["bounds"])
    q["bound_T"] = bounds[traj.T]
    if gap is None:
        h.reason = f"no certified gap to compare with ({gap_reason})"
        return h
    rows = []
    for c in gap.checkpoints:
        b = bounds.get(c.t)
        rows.append({"k": c.k, "t": float(c.t), "bound": b, "gap_lower": c.gap_lower, "gap_upper": c.gap_upper})
    q["checkpoints"] = rows
    last = gap.checkpoints[-1]
    q["gap_upper_T"] = last.gap_upper
    q["gap_lower_T"] = last.gap_lower
    q["slack_T"] = bounds[traj.T] / last.gap_upper if last.gap_upper > 0 else None
    q["slack_note"] = "bound(T) / certified gap upper bound at T (>= 1 when the a-priori bound is sound)"
    return h
