"""Outward rounding of claimed constants and cheap rigorous float norms (S4.6, S6).

Certificates state every constant rounded outward to 12 significant digits,
so that an independent re-derivation whose BLAS differs in the last bits
still confirms it (SPEC S6).
"""

from __future__ import annotations

import math
from fractions import Fraction
from decimal import ROUND_CEILING, ROUND_FLOOR, Context, Decimal

import numpy as np

U = 2.0**-53
TINY = 2.0**-1060
CLAIM_DIGITS = 12
# every claim carries this relative margin before the 12-digit outward rounding,
# so that a re-derivation whose last bits differ (another BLAS, Arb instead of
# float mid-rad) still confirms it (schemas/gap-v2.md, section 0)
CLAIM_MARGIN = Decimal("1e-10")
_F_UP, _F_DOWN = 1 + CLAIM_MARGIN, 1 - CLAIM_MARGIN
_UP = Context(prec=CLAIM_DIGITS, rounding=ROUND_CEILING)
_DOWN = Context(prec=CLAIM_DIGITS, rounding=ROUND_FLOOR)


def claim_up(x: float) -> float:
    """The smallest 12-significant-digit decimal >= ``x (1 + 1e-10)`` (``x >= 0``),
    as a float >= it."""
    if not math.isfinite(x):
        return x
    d = _UP.plus(Decimal(x) * (_F_UP if x >= 0 else _F_DOWN))
    f = float(d)
    if Decimal(f) < d:
        f = float(np.nextafter(f, math.inf))
    return f


def claim_down(x: float) -> float:
    """The largest 12-significant-digit decimal <= ``x (1 - 1e-10)`` (``x >= 0``),
    as a float <= it."""
    if not math.isfinite(x):
        return x
    d = _DOWN.plus(Decimal(x) * (_F_DOWN if x >= 0 else _F_UP))
    f = float(d)
    if Decimal(f) > d:
        f = float(np.nextafter(f, -math.inf))
    return f


def up(x: float, n: int) -> float:
    """Upper bound of the exact value of a nonnegative expression whose
    round-to-nearest evaluation with at most ``n`` roundings gave ``x``
    (proofs/s4_6_rounding.py): ``x (1 + 2(n+2)u) + 2(n+2) 2^-1060``."""
    return x * (1.0 + 2.0 * (n + 2) * U) + 2.0 * (n + 2) * TINY


def fro_up(X: np.ndarray) -> float:
    """Upper bound of the Frobenius norm of the float array ``X`` (exactly as stored).
    ``dot`` has ``n`` products and ``n - 1`` additions in some order (any BLAS):
    at most ``n + 1`` roundings on any path; sqrt is correctly rounded."""
    v = X.ravel()
    s = up(float(v @ v), v.size + 1)
    return math.nextafter(math.sqrt(s), math.inf)


class FroNorms:
    """:func:`fro_up` of a fixed list of array shapes with three numpy calls
    (each sum of squares has ``size`` products: ``size + 1`` roundings on any
    path; the inflation of :func:`up` is applied elementwise)."""

    def __init__(self, mats):
        sizes = np.array([m.size for m in mats])
        self.starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        self.factor = 1.0 + 2.0 * (sizes + 3) * U
        self.add = 2.0 * (sizes + 3) * TINY

    def __call__(self, mats) -> list:
        flat = np.concatenate([m.ravel() for m in mats])
        ss = np.add.reduceat(flat * flat, self.starts)
        out = np.sqrt(ss * self.factor + self.add)
        return np.nextafter(out, np.inf).tolist()


def hi(a) -> float:
    """A float >= every point of the python-flint ``arb`` ball ``a``
    (``float(arb)`` rounds to nearest, so take the endpoint and step outward)."""
    v = float(a.upper())
    return math.nextafter(v, math.inf) if math.isfinite(v) else math.inf


def lo(a) -> float:
    """A float <= every point of the ``arb`` ball ``a``."""
    v = float(a.lower())
    return math.nextafter(v, -math.inf) if math.isfinite(v) else -math.inf


def frac_str(q: Fraction) -> str:
    """An exact rational as ``"p/q"`` (``"p"`` for integers): certificate times (S6)."""
    return str(q.numerator) if q.denominator == 1 else f"{q.numerator}/{q.denominator}"


def float_distance(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """``(lo, hi)`` with ``lo <= ||a - b||_2 <= hi`` for float vectors taken as
    exact: the float differences ``fl(d_i) = d_i (1 + e_i)``, ``|e_i| <= u``;
    their sum of squares within ``gamma_{n+1}`` plus the squares' underflow
    (S4.6); both ends rounded outward, no square root of a negative ball."""
    from flint import arb

    diff = a - b
    n = diff.size
    s = float(np.dot(diff, diff))
    g = (n + 1) * U / (1 - (n + 1) * U) * (1 + 4 * U)
    S = arb(s) * arb(1, g) + arb(0, n * 2.0**-1070)
    d_hi = hi(arb(hi(S)).sqrt() / (1 - arb(U)))
    d_lo = max(0.0, lo(arb(max(0.0, lo(S))).sqrt() / (1 + arb(U))))
    return d_lo, d_hi


def provenance() -> dict:
    """The provenance block of every certificate (tool and library versions)."""
    import platform

    import flint
    import mpmath

    from . import __version__

    return {"certify": __version__, "numpy": np.__version__, "python-flint": flint.__version__,
            "mpmath": mpmath.__version__, "python": platform.python_version()}
