"""``balancedness`` [ACGH19]: margin ``-delta``,
``delta = max_j ||W_{j+1}^T W_{j+1} - W_j W_j^T||_F`` in exact rationals (Arb
balls for large problems); holds iff ``delta = 0`` exactly."""

from __future__ import annotations

from .._claims import hi, lo
from .._problem import Problem
from ._numeric import _hull, _layer_mats, _pair, _sqrt, _sumsq, _up
from .base import Hypothesis, Status, _set_exact, _set_margin

MEANING = ("margin -delta, delta = max_j ||W_{j+1}^T W_{j+1} - W_j W_j^T||_F (the delta of ACGH19); "
           "holds iff the network is exactly balanced (delta = 0 in exact arithmetic)")


def _balancedness(problem: Problem, exact: bool):
    """``delta`` as an Arb ball (exactly 0 when exact arithmetic finds 0) and the per-pair balls."""
    from flint import arb

    mats = _layer_mats(problem, exact)
    per = []
    for j in range(problem.depth - 1):
        Wj, Wn = mats[j], mats[j + 1]
        per.append(_sqrt(_sumsq(Wn.transpose() * Wn - Wj * Wj.transpose())))
    if not per or all(d.is_zero() for d in per):
        return arb(0), per
    mlo = max(0.0, max(lo(d) for d in per))  # max of balls: [max of lower ends, max of upper ends]
    mhi = max(hi(d) for d in per)
    return _hull(arb(mlo), arb(mhi)), per


def check_balancedness(problem: Problem, exact: bool):
    """The ``balancedness`` hypothesis and the ball ``delta`` (used by ACGH19 Theorem 1)."""
    delta, per = _balancedness(problem, exact)
    h = Hypothesis("balancedness", "[ACGH19]", Status.UNDETERMINED, MEANING)
    h.quantities = {"delta_upper": _up(delta), "delta_lower": _pair(delta)[0],
                    "per_layer_pair_upper": [_up(d) for d in per]}
    if exact and delta.is_zero():
        _set_exact(h, Status.HOLDS)
    else:
        _set_margin(h, -delta, precondition=False)
    return h, delta
