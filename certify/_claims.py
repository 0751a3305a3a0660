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


def claim_up_array(x: np.ndarray) -> np.ndarray:
    """:func:`claim_up` for arrays without Decimal (hot paths): a float >= the
    12-significant-digit decimal ceiling of ``x (1 + 1e-10)`` computed in
    binary64, possibly one unit of the 12th digit above :func:`claim_up`'s
    value (so still within the checker's consistency band, gap-v2.md
    section 0).  Non-positive or non-finite entries go through :func:`claim_up`."""
    x = np.asarray(x, dtype=np.float64)
    out = np.empty_like(x)
    good = np.isfinite(x) & (x > 0) & (x < 1e300) & (x > 1e-300)
    if np.any(~good):
        out[~good] = [claim_up(float(v)) for v in x[~good]]
    v = np.nextafter(x[good] * _ONE_UP, np.inf)  # >= x (1 + 1e-10)
    e = np.floor(np.log10(v))
    for _ in range(2):  # make ceil(v scale) a 12-digit integer
        scale = 10.0 ** (11 - e)
        n = np.ceil(v * scale)
        e = np.where(n < 1e11, e - 1, np.where(n >= 1e12, e + 1, e))
    scale = 10.0 ** (11 - e)
    c = np.ceil(v * scale) / scale
    for _ in range(4):
        c = np.where(c < v, np.nextafter(c, np.inf), c)
    out[good] = c
    return out


def claim_up_fast(x: float) -> float:
    """:func:`claim_up_array` for one float (the same operations, in ``math``)."""
    if not (1e-300 < x < 1e300):
        return claim_up(x)
    v = math.nextafter(x * _ONE_UP, math.inf)
    e = math.floor(math.log10(v))
    for _ in range(2):
        n = math.ceil(v * 10.0 ** (11 - e))
        e = e - 1 if n < 1e11 else (e + 1 if n >= 1e12 else e)
    scale = 10.0 ** (11 - e)
    c = math.ceil(v * scale) / scale
    for _ in range(4):
        if c < v:
            c = math.nextafter(c, math.inf)
    return c


_ONE_UP = float(np.nextafter(1.0 + 1e-10, np.inf))


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


#: the producer's default working precision (bits) for Arb and iv computations: the S3.1 tube constants,
#: the conditions, the S3.2 enclosures, the arb backend of the flow (the checker has its own)
ARB_PREC = 128


def as_arb(x):
    """``x`` as a python-flint ``arb``, exactly: a :class:`fractions.Fraction` through ``fmpq``; an
    ``arb`` unchanged; ints (numpy's too), floats and ``fmpq`` by ``arb(x)`` (exact for them).  The one converter
    the producer's rigorous code uses."""
    from flint import arb, fmpq

    if isinstance(x, arb):
        return x
    if isinstance(x, Fraction):
        return arb(fmpq(x.numerator, x.denominator))
    if isinstance(x, np.integer):
        x = int(x)
    return arb(x)


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
