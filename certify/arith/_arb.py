"""Arb ball matrices (python-flint ``arb_mat``) at any precision.

Arb's operations are rigorous by construction: every result ball contains
the exact result for all points of the operand balls (Johansson, "Arb: a C
library for ball arithmetic").  This wrapper only adapts the API (``@`` for
products, ``.T``) and converts to floats with outward rounding.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np

from .._claims import ARB_PREC
from .._claims import hi
from .._errors import BlowUpError
from ._base import Context


def _arb_scalar(s):
    from flint import arb, fmpq

    if isinstance(s, Fraction):
        return arb(fmpq(s.numerator, s.denominator))
    if isinstance(s, (int, np.integer)):
        return arb(int(s))
    return arb(float(s))


def exact_decimal(x) -> str:
    """The exact decimal expansion of a finite ``arb`` midpoint (or any dyadic
    ``m 2^e``): ``m 2^-k = m 5^k / 10^k`` has exactly ``k`` digits after the point."""
    from flint import arb

    if isinstance(x, arb):
        if not x.mid().is_finite():
            raise BlowUpError("non-finite midpoint in Arb arithmetic")
        m, e = x.mid().man_exp()
        m, e = int(m), int(e)
    else:
        q = Fraction(x)
        if q.denominator & (q.denominator - 1):
            raise ValueError(f"not a dyadic rational: {x!r}")
        m, e = q.numerator, -(q.denominator.bit_length() - 1)
    if m == 0:
        return "0"
    if e >= 0:
        return str(m << e)
    k = -e
    while m % 2 == 0 and k > 0:  # normalise (Arb's mantissa is odd already)
        m //= 2
        k -= 1
    if k == 0:
        return str(m)
    sign = "-" if m < 0 else ""
    digits = str(abs(m) * 5**k)
    if k - len(digits) > 20:  # tiny: integer significand and exponent, no run of leading zeros
        return f"{sign}{digits}e-{k}"
    digits = digits.rjust(k + 1, "0")
    return f"{sign}{digits[:-k]}.{digits[-k:]}"


class ArbMat:
    __slots__ = ("a",)

    def __init__(self, a):
        self.a = a

    @property
    def shape(self):
        return (self.a.nrows(), self.a.ncols())

    @property
    def T(self):
        return ArbMat(self.a.transpose())

    def __neg__(self):
        return ArbMat(-self.a)

    def __matmul__(self, other):
        return ArbMat(self.a * other.a)

    @staticmethod
    def cauchy_sum(xs, ys) -> "ArbMat":
        """``sum_l xs[l] @ ys[l]`` (one Arb ball sum; the series recursion's inner loop)."""
        acc = xs[0].a * ys[0].a
        for x, y in zip(xs[1:], ys[1:]):
            acc += x.a * y.a
        return ArbMat(acc)

    def __add__(self, other):
        return ArbMat(self.a + other.a)

    def __sub__(self, other):
        return ArbMat(self.a - other.a)

    def __mul__(self, s):
        if isinstance(s, ArbMat):
            raise TypeError("use @ for matrix products")
        return ArbMat(self.a * _arb_scalar(s))

    __rmul__ = __mul__

    def _entries(self):
        return self.a.entries()

    def mid(self) -> np.ndarray:
        r, c = self.shape
        return np.array([float(x.mid()) for x in self._entries()]).reshape(r, c)

    def center(self):
        return ArbMat(self.a.mid())

    def rad_max(self) -> float:
        v = max((hi(x.rad()) for x in self._entries()), default=0.0)
        if not math.isfinite(v):
            raise BlowUpError("a radius exceeds the float64 range in Arb arithmetic")
        return v

    def abs_upper(self) -> np.ndarray:
        r, c = self.shape
        a = np.array([hi(abs(x)) for x in self._entries()]).reshape(r, c)
        if not np.all(np.isfinite(a)):
            raise BlowUpError("an entry exceeds the float64 range in Arb arithmetic")
        return a

    def norm_f_upper(self) -> float:
        from flint import arb

        s = arb(0)
        for x in self._entries():
            u = abs(x).upper()  # exact upper endpoint of |x| (a ball around 0 squares to a ball around 0)
            s += u * u
        v = hi(s.sqrt())
        if not math.isfinite(v):
            raise BlowUpError("overflow or non-finite ball in Arb arithmetic")
        return v

    def norm_2_upper(self) -> float:
        return self.norm_f_upper()

    def contains(self, q) -> bool:
        """Whether every ball contains the exact rational ``q_ij`` (tests): exact
        ``|q - mid| <= rad`` in rationals.  (``arb.contains(fmpq)`` first rounds
        ``q`` to a ball at the working precision and then needs that whole ball
        inside: it can say False for a point of the ball.)"""
        q = np.asarray(q, dtype=object).reshape(-1)
        for x, v in zip(self._entries(), q):
            if not x.is_finite():
                return False
            (mm, me), (rm, re) = x.mid().man_exp(), x.rad().man_exp()
            mid = Fraction(int(mm)) * Fraction(2) ** int(me)
            rad = Fraction(int(rm)) * Fraction(2) ** int(re)
            if abs(Fraction(v) - mid) > rad:
                return False
        return True

    def mid_exact_strings(self) -> list:
        """Each ball's midpoint (a dyadic rational) as its *exact* decimal
        expansion: reading the string back (``Fraction``, ``mpmath.mpf`` at
        enough digits, ``decimal``) gives exactly the center the radius is
        about, so no printing error has to be added to the radius."""
        r, c = self.shape
        flat = [exact_decimal(x.mid()) for x in self._entries()]
        return [flat[i * c : (i + 1) * c] for i in range(r)]

    def mid_strings(self, digits: int = 0) -> list:
        from flint import ctx

        n = digits or int(ctx.prec * math.log10(2)) + 3
        r, c = self.shape
        flat = [x.mid().str(n, radius=False) for x in self._entries()]
        return [flat[i * c : (i + 1) * c] for i in range(r)]


class ArbContext(Context):
    name = "arb"

    def __init__(self, prec: int = ARB_PREC):
        from .._errors import UsageError

        if prec < 53:
            raise UsageError(f"arb precision must be >= 53 bits, got {prec}")
        self.prec = prec
        self._saved = []

    def __enter__(self):
        from flint import ctx

        self._saved.append(ctx.prec)
        ctx.prec = self.prec
        return self

    def __exit__(self, *exc):
        from flint import ctx

        ctx.prec = self._saved.pop()
        return False

    def matrix(self, a, rad=None) -> ArbMat:
        from flint import arb, arb_mat

        from .._errors import UsageError

        a = np.asarray(a)
        r, c = a.shape
        M = arb_mat(r, c)
        rr = None if rad is None else np.broadcast_to(np.asarray(rad, dtype=np.float64), a.shape)
        if a.dtype != object and not np.all(np.isfinite(a.astype(np.float64))):
            # the same refusal as the float64 and iv backends (an Arb ball [+-inf] would
            # silently make every later bound infinite or NaN)
            raise BlowUpError("non-finite entry in an arb matrix")
        if rr is not None and not np.all(np.isfinite(rr)):
            raise BlowUpError("non-finite radius in an arb matrix")
        if rr is not None and np.any(rr < 0):
            raise UsageError("radii must be nonnegative")
        for i in range(r):
            for j in range(c):
                x = _arb_scalar(Fraction(a[i, j]) if a.dtype == object else float(a[i, j]))
                if rr is not None and rr[i, j]:
                    x = x + arb(0, float(rr[i, j]))
                M[i, j] = x
        return ArbMat(M)

    def matrix_from_strings(self, rows, rad=None) -> ArbMat:
        return self.matrix(np.array([[Fraction(s) for s in row] for row in rows], dtype=object), rad)
