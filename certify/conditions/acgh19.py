"""ACGH19 Theorem 1's two conditions [ACGH19] (PAPER.md section 4), given the
deficiency margin ``c`` (:mod:`certify.conditions.deficiency`) and ``delta``:

- ``acgh19_balancedness``: ``min(c, delta_max - delta)``, ``delta_max =
  c^2 / (256 N^3 ||Phi||_F^(2(N-1)/N))``;
- ``acgh19_step_size``: ``min(c, eta_max - eta)``, ``eta_max = c^((4N-2)/N) /
  (6144 N^3 ||Phi||_F^((6N-4)/N))``, with the guaranteed iteration count
  ``log(l(0)/eps) / (eta c^(2(N-1)/N))`` (``eps`` a loss level; the excess loss
  for whitened data).  Thresholds use ``c_+ = max(c, 0)``."""

from __future__ import annotations

import math
from fractions import Fraction

from .._claims import claim_down, claim_up, hi, lo
from ._numeric import (_nonneg, _pair, _pos_power, certainly_at_most, certainly_negative, certainly_positive,
                       possibly_positive)
from .base import Hypothesis, Status, _set_margin, _set_min_margin
from .deficiency import Deficiency

MEANING_BALANCEDNESS = ("margin min(c, delta_max - delta), delta_max = c^2 / (256 N^3 ||Phi||_F^(2(N-1)/N)), c the "
                        "deficiency margin (ACGH19 Theorem 1 needs c > 0 and delta <= delta_max)")
MEANING_STEP = ("margin min(c, eta_max - eta), eta_max = c^((4N-2)/N) / (6144 N^3 ||Phi||_F^((6N-4)/N)); then "
                "l(t) <= eps for t >= log(l(0)/eps) / (eta c^(2(N-1)/N)) iterations (ACGH19 Theorem 1)")


def check_acgh19(N: int, d: Deficiency, delta, eta, eps):
    """The hypotheses ``acgh19_balancedness`` and ``acgh19_step_size``."""
    from flint import arb

    hb = Hypothesis("acgh19_balancedness", "[ACGH19]", Status.UNDETERMINED, MEANING_BALANCEDNESS)
    hs = Hypothesis("acgh19_step_size", "[ACGH19]", Status.UNDETERMINED, MEANING_STEP)
    c_ball, phiF = d.c, d.phiF
    if c_ball is None:
        hb.reason = hs.reason = d.loss_reason or "needs the deficiency margin (undetermined: see deficiency_margin)"
        return hb, hs
    if phiF.is_zero():
        hb.reason = hs.reason = "Phi = 0: sigma_min(Phi) = 0, no deficiency margin c > 0"
        hb.status = hs.status = Status.FAILS
        return hb, hs
    c_pos_known = certainly_positive(c_ball)
    cp = _nonneg(c_ball) if possibly_positive(c_ball) else arb(0)  # c_+ = max(c, 0)
    NN = arb(N) ** 3
    dmax = cp * cp / (256 * NN * _pos_power(phiF, Fraction(2 * (N - 1), N)))
    emax = _pos_power(cp, Fraction(4 * N - 2, N)) / (6144 * NN * _pos_power(phiF, Fraction(6 * N - 4, N)))
    # margin min(c, threshold - value): the theorem needs c > 0 AND the inequality
    _set_min_margin(hb, c_ball, dmax - delta)
    hb.quantities = {"delta_max": _pair(dmax), "delta": _pair(delta),
                     "c": [claim_down(lo(c_ball)), claim_up(hi(c_ball))]}
    hs.quantities = {"eta_max": _pair(emax),
                     "largest_admissible_eta": claim_down(lo(emax)) if c_pos_known else None,
                     "c": [claim_down(lo(c_ball)), claim_up(hi(c_ball))]}
    if eta is not None:
        _set_min_margin(hs, c_ball, emax - arb(eta))
    else:
        _set_margin(hs, lower=None, upper=hi(c_ball))  # only c is known: fails iff c < 0
        hs.reason = "no eta given: the largest admissible eta is reported"
    if certainly_negative(c_ball):
        for hh in (hb, hs):
            hh.reason = "no deficiency margin c > 0 (certified c < 0)"
    if c_pos_known:  # iteration counts (valid when both conditions hold)
        _iteration_counts(hb, hs, N, c_ball, emax, d.l0, eta, eps)
    return hb, hs


def _iteration_counts(hb: Hypothesis, hs: Hypothesis, N: int, c_ball, emax, l0, eta, eps):
    """ACGH19's ``log(l(0)/eps) / (eta c^(2(N-1)/N))`` at ``eta`` (when admissible) and at the
    largest admissible step, into ``hs.quantities``."""
    from flint import arb

    rate_base = _pos_power(c_ball, Fraction(2 * (N - 1), N))
    iters = {}
    for label, e in (("at_eta", eta if hs.status is Status.HOLDS else None), ("at_largest_eta", lo(emax))):
        if e is None or e <= 0 or eps is None:
            iters[label] = None
            continue
        ratio = l0 / arb(eps)
        if certainly_at_most(ratio, 1):
            iters[label] = 0
        else:
            k = hi(_nonneg(ratio.log()) / (arb(e) * rate_base))
            iters[label] = int(math.ceil(k)) if math.isfinite(k) else None
    hs.quantities["eps_loss"] = eps
    hs.quantities["guarantee_applies"] = hb.status is Status.HOLDS and (eta is None or hs.status is Status.HOLDS)
    hs.quantities["iterations_for_eps"] = iters
    hs.quantities["l0"] = _pair(l0)
    if eps is None:
        hs.quantities["iterations_note"] = "give eps (a loss level) for the iteration count"
