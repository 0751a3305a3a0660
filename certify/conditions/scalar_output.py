"""``scalar_output_bad_set`` [derived] (PAPER.md section 4): for scalar output
(``d_N = 1``), exact balancedness and a whitened target, the ray
``W_{N:1} = -x Phi``, ``x > 0``, flows into the saddle at 0; the margin is the
angle between ``W_{N:1}(0)`` and ``-Phi``, computed from the Lagrange identity
``||w||^2 ||Phi||^2 - <w, Phi>^2 = sum_{i<j} (w_i Phi_j - w_j Phi_i)^2 >= 0``."""

from __future__ import annotations

import math

from .._problem import Problem
from .._claims import as_arb
from ._numeric import (_end_to_end, _hull, _layer_mats, _nonneg, _pair, _phi_arb, _sqrt, _sumsq, _up,
                       certainly_negative, certainly_nonnegative)
from .base import Hypothesis, Status, _set_exact, _set_margin

MEANING = ("margin: angle (radians) between W_{N:1}(0) and -Phi; the ray W = -x Phi, x > 0, flows into "
           "the saddle at 0 (balanced, whitened, d_N = 1); holds iff the angle is certainly > 0, "
           "fails iff W_{N:1}(0) lies exactly on the ray (or is 0); both need certified exact balancedness")


def _not_applicable(problem: Problem, Phi, why) -> str | None:
    dims = problem.dims
    if dims[-1] != 1:
        return f"not applicable: d_N = {dims[-1]} (scalar output needs d_N = 1)"
    if problem.depth == 1:
        return "not applicable: N = 1 (convex in W_1; no saddle, no bad set)"
    if Phi is None:
        return why
    return None


UNBALANCED = ("precondition not certified: the initialisation is not exactly balanced (balancedness is not "
              "'holds'), and the ray statement is proved for exactly balanced initialisations only")


def check_scalar_output(problem: Problem, Phi, why, exact: bool, bal: Hypothesis) -> Hypothesis:
    """The ``scalar_output_bad_set`` hypothesis (``bal``: the balancedness verdict).  Its
    preconditions (PAPER.md 4: ``d_N = 1``, a whitened target, exact balancedness) must all be
    certified for a verdict: otherwise the angle is reported with status ``undetermined``."""
    from flint import arb, fmpq

    h = Hypothesis("scalar_output_bad_set", "[derived]", Status.UNDETERMINED, MEANING)
    na = _not_applicable(problem, Phi, why)
    if na is not None:
        h.reason = na
        return h
    balanced = bal.status is Status.HOLDS  # exact rational delta = 0 (never from balls)
    on_ray = Status.FAILS if balanced else Status.UNDETERMINED
    dims = problem.dims
    w = _end_to_end(_layer_mats(problem, exact))
    Phi_m = Phi if exact else _phi_arb(Phi)
    wl, pl = list(w.entries()), list(Phi_m.entries())
    dot = sum((a * b for a, b in zip(wl, pl)), fmpq(0) if exact else arb(0))
    ww = _sumsq(w)
    pp = _sumsq(Phi_m)
    cross = ww * pp - dot * dot  # Lagrange identity: sum_{i<j} (w_i Phi_j - w_j Phi_i)^2 >= 0
    if exact and pp == 0:
        h.reason = "Phi = 0: no bad ray"
        return h
    if exact and ww == 0:
        _set_exact(h, on_ray)
        h.reason = "W_{N:1}(0) = 0: the initialisation is the saddle itself"
        if not balanced:
            h.reason = "W_{N:1}(0) = 0, but " + UNBALANCED
        return h
    s = _sqrt(cross)
    ang = arb.atan2(s, -as_arb(dot) if exact else -dot)
    if exact and cross == 0 and dot < 0:
        _set_exact(h, on_ray)
        h.reason = "W_{N:1}(0) lies exactly on the bad ray -x Phi, x > 0"
    else:
        _set_margin(h, _nonneg(ang), precondition=balanced)
        if h.status is Status.UNDETERMINED and h.margin_upper is not None and h.margin_upper <= 0:
            h.margin_upper = 0.0
    h.quantities = _quantities(ang, s, dot, pp, ww, balanced, dims[0])
    notes = [h.reason] if h.reason else []
    if not balanced:
        notes.append(UNBALANCED)
    if dims[0] == 1:
        notes.append("d_0 = 1: the bad set is a half-line of R^1, not a null set")
    if notes:
        h.reason = "; ".join(notes)
    return h


def _quantities(ang, s, dot, pp, ww, balanced: bool, d0: int) -> dict:
    nPhi = _sqrt(pp)
    nW = _sqrt(ww)
    # distance from W_{N:1}(0) to the closed ray {-x Phi : x >= 0}
    if certainly_negative(dot):
        dist = s / nPhi
    elif certainly_nonnegative(dot):
        dist = nW
    else:
        dist = _hull(s / nPhi, nW)
    return {
        "angle": _pair(ang),
        "angle_degrees_estimate": float(ang.mid()) * 180 / math.pi,
        "distance_to_ray": _pair(dist),
        "norm_W0": _up(nW),
        "exactly_balanced": balanced,
        "d0": d0,
    }
