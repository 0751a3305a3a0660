"""The Gronwall step of the validated flow (SPEC S4.1, S4.2): the radius after a step of length ``h``
with curvature bound ``mu`` and defect ``delta``, in Arb, rounded outward."""

from __future__ import annotations

from .._claims import as_arb
from .._claims import hi as _hi


def gronwall_update(e0: float, mu: float, delta: float, h) -> float:
    """Upper bound of ``exp(mu h) e0 + delta (exp(mu h) - 1)/mu`` (limit
    ``delta h`` at ``mu = 0``) for ``e0, delta >= 0``, any real ``mu`` (S4.2)."""
    from flint import arb

    H = as_arb(h)
    M = arb(mu)
    E = (M * H).exp()
    if mu == 0:
        growth = H
    else:
        # (exp(mu h) - 1)/mu = h * expm1(mu h)/(mu h): use arb's expm1 for accuracy
        growth = (M * H).expm1() / M
    return _hi(E * arb(e0) + arb(delta) * growth)
