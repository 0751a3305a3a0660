"""Rigorous spectral-norm upper bounds of ball matrices (SPEC S4.6): the one
place the flow, the gap, the conditions and the losses get ``||X||_2`` bounds
from (the checker has its own, ``certify/check/_arith.py``)."""

from __future__ import annotations

from .._claims import hi as _hi

SPECTRAL_POWER_SQUARINGS = 5


def spectral_upper(M) -> float:
    """Rigorous upper bound of ``sup ||X||_2`` over the ball ``M``:
    ``||X||_2^2 = lambda_max(B)``, ``B = X^T X`` (or ``X X^T``, the smaller),
    and ``lambda_max(B)^k = ||B^k||_2 <= ||B^k||_F`` for ``k = 2^s``; ``B^k``
    by ``s`` rigorous squarings of ``B / c`` (``c`` a float scale against
    overflow).  Overestimates by at most ``rank^(1/(2k))`` (1.07 for rank 64,
    ``s = 5``); never worse than the backend's own bound."""
    own = M.norm_2_upper()
    rows, cols = M.shape
    if min(rows, cols) == 1:
        return min(own, M.norm_f_upper())
    B = M.T @ M if cols <= rows else M @ M.T
    c = B.norm_f_upper()
    if not (2.0**-900 < c < 2.0**900):  # nothing to gain, and 1/c would over- or underflow
        return own
    B = B * (1.0 / c)
    # B/c is enclosed exactly as computed; the bound is rescaled by c below
    k = 1
    for _ in range(SPECTRAL_POWER_SQUARINGS):
        B = B @ B
        k *= 2
    from flint import arb

    bound = (arb(B.norm_f_upper()) ** (arb(1) / (2 * k))) * arb(c).sqrt()
    return min(own, _hi(bound))
