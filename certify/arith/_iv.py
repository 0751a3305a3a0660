"""Interval matrices on mpmath's interval context ``mpmath.iv``: the slow reference backend.

Every entry is an ``iv.mpf`` interval ``[a, b]`` whose endpoints are mpmath
binary floating-point numbers (unbounded exponent, so nothing over- or
underflows inside the backend).  Only mpmath's *basic* interval arithmetic
is used (``+``, ``-``, ``*`` of two intervals: ``mpi_add``, ``mpi_sub``,
``mpi_mul``, which round the lower endpoint toward ``-inf`` and the upper one
toward ``+inf`` at ``iv.prec``; SPEC S4.6 trusts nothing else of ``iv``).
Conversions in and out of the backend, comparisons, midpoints and norms are
done here in exact rational arithmetic (:class:`fractions.Fraction`) on the
endpoints; the only rounding outside mpmath is the final conversion of an
upper bound to a float, which is rounded upward and checked exactly.

Enclosure guarantee of every operation: if ``x`` lies in the operand
intervals (entrywise), the exact result of the operation lies in the result
interval.  Working precision: ``iv.prec`` is set to the context's precision
by ``with ctx:`` and restored on exit; operations must run inside it.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np

from .._claims import ARB_PREC
from .._errors import BlowUpError
from ._base import Context

_DBL_MAX = Fraction(np.finfo(np.float64).max)


# ---------------------------------------------------------------- exact helpers
def _mpf_to_fraction(v) -> Fraction:
    """The exact rational value of a raw mpmath mpf tuple ``(sign, man, exp, bc)``;
    infinities and NaN raise :class:`BlowUpError`."""
    sign, man, exp, bc = v
    if not man:
        if exp or bc:  # +-inf, nan are encoded with man == 0 and a special exp
            raise BlowUpError("non-finite interval endpoint in iv arithmetic")
        return Fraction(0)
    q = Fraction(man << exp) if exp >= 0 else Fraction(man, 1 << -exp)
    return -q if sign else q


def _fraction_to_interval(q: Fraction, prec: int):
    """Raw mpmath interval ``(a, b)`` with ``a <= q <= b``: ``q``'s numerator over
    its denominator rounded toward ``-inf`` and ``+inf`` at ``prec`` bits (exact
    when ``q`` is a ``prec``-bit binary number, e.g. a float and ``prec >= 53``)."""
    from mpmath.libmp import from_rational, round_ceiling, round_floor

    return (
        from_rational(q.numerator, q.denominator, prec, round_floor),
        from_rational(q.numerator, q.denominator, prec, round_ceiling),
    )


def _float_up(q: Fraction) -> float:
    """The smallest float ``>= q``: ``float(q)`` (correctly rounded, so at most one
    ulp below ``q``) is stepped upward while it is below ``q`` (checked exactly).
    Raises :class:`BlowUpError` if ``q`` exceeds the largest finite float."""
    if q > _DBL_MAX:
        raise BlowUpError("an iv upper bound exceeds the float64 range")
    f = float(q)
    while Fraction(f) < q:
        f = math.nextafter(f, math.inf)
    if not math.isfinite(f):  # pragma: no cover - q <= DBL_MAX
        raise BlowUpError("an iv upper bound exceeds the float64 range")
    return f


def _sqrt_up(q: Fraction) -> float:
    """The smallest float ``>= sqrt(q)`` for a rational ``q >= 0``: an integer square
    root of a scaled ``q`` gives a rational ``s >= sqrt(q)`` (equal when ``q`` is an
    exact square at that scale), :func:`_float_up` turns it into a float, and the
    result is adjusted by exact squaring until ``f^2 >= q > prev(f)^2``."""
    if q < 0:  # pragma: no cover - callers pass sums of squares / products of norms
        raise ValueError("sqrt of a negative number")
    if q == 0:
        return 0.0
    # choose e with q * 4^e ~ 2^140, so that isqrt carries ~70 significant bits
    e = (140 - (q.numerator.bit_length() - q.denominator.bit_length())) // 2
    if e >= 0:
        num, den = q.numerator << (2 * e), q.denominator
    else:
        num, den = q.numerator, q.denominator << (-2 * e)
    n, rem = divmod(num, den)  # q 4^e = n + rem/den
    r = math.isqrt(n)
    if not (rem == 0 and r * r == n):
        r += 1  # q 4^e < n + 1 <= (isqrt(n) + 1)^2
    s = Fraction(r, 1 << e) if e >= 0 else Fraction(r << -e)
    f = _float_up(s)
    while Fraction(f) ** 2 < q:  # pragma: no cover - s >= sqrt(q) already
        f = math.nextafter(f, math.inf)
    g = math.nextafter(f, -math.inf)
    while g >= 0 and Fraction(g) ** 2 >= q:
        f, g = g, math.nextafter(g, -math.inf)
    return f


def _scalar_interval(s, prec: int):
    """Raw interval enclosing the scalar ``s`` (int, float or Fraction) at ``prec``."""
    if isinstance(s, (bool, np.bool_)):
        s = int(s)
    if isinstance(s, (int, np.integer)):
        q = Fraction(int(s))
    elif isinstance(s, Fraction):
        q = s
    elif isinstance(s, (float, np.floating)):
        f = float(s)
        if not math.isfinite(f):
            raise BlowUpError("non-finite scalar in iv arithmetic")
        q = Fraction(f)
    else:
        raise TypeError(f"cannot multiply an iv matrix by {type(s).__name__}")
    return _fraction_to_interval(q, prec)


# ---------------------------------------------------------------- matrices
class IvMat:
    """A matrix of mpmath intervals ``[a_ij, b_ij]`` (numpy object array ``x`` of ``iv.mpf``)."""

    __slots__ = ("x",)

    def __init__(self, x: np.ndarray):
        self.x = x

    # ---- structure ----
    @property
    def shape(self):
        return self.x.shape

    @property
    def T(self) -> "IvMat":
        """Transpose; exact (the same intervals)."""
        return IvMat(self.x.T)

    def __neg__(self) -> "IvMat":
        """``[-b, -a]`` entrywise (mpmath ``mpi_neg`` without rounding): exact."""
        from mpmath import iv
        from mpmath.libmp import mpi_neg

        return IvMat(_map(lambda v: iv.make_mpf(mpi_neg(v._mpi_)), self.x))

    # ---- arithmetic ----
    def __matmul__(self, other: "IvMat") -> "IvMat":
        """Product: entry ``(i, j)`` is the interval sum of the interval products
        ``A_il B_lj`` accumulated left to right (``l = 0, 1, ...``), each operation
        rounded outward at ``iv.prec``; it contains ``(a b)_ij`` for all points
        ``a in A``, ``b in B`` (interval arithmetic is inclusion-isotone).  An empty
        inner dimension gives exact zeros."""
        from mpmath import iv

        if not isinstance(other, IvMat):
            return NotImplemented
        (m, k), (k2, n) = self.shape, other.shape
        if k != k2:
            raise ValueError(f"shape mismatch for @: {self.shape} and {other.shape}")
        A, B = self.x, other.x
        C = np.empty((m, n), dtype=object)
        for i in range(m):
            for j in range(n):
                s = iv.mpf(0)
                for l in range(k):
                    s = s + A[i, l] * B[l, j]
                C[i, j] = s
        return IvMat(C)

    def _binary(self, other, op) -> "IvMat":
        if not isinstance(other, IvMat):
            return NotImplemented
        if self.shape != other.shape:
            raise ValueError(f"shape mismatch: {self.shape} and {other.shape}")
        C = np.empty(self.shape, dtype=object)
        for idx in np.ndindex(*self.shape):
            C[idx] = op(self.x[idx], other.x[idx])
        return IvMat(C)

    def __add__(self, other) -> "IvMat":
        """Entrywise ``[a + c, b + d]`` (``mpi_add``, outward at ``iv.prec``): contains
        ``x + y`` for all points ``x``, ``y`` of the operands."""
        return self._binary(other, lambda u, v: u + v)

    def __sub__(self, other) -> "IvMat":
        """Entrywise ``[a - d, b - c]`` (``mpi_sub``, outward at ``iv.prec``): contains
        ``x - y`` for all points ``x``, ``y`` of the operands."""
        return self._binary(other, lambda u, v: u - v)

    def __mul__(self, s) -> "IvMat":
        """Scalar multiple, ``s`` an int, float or Fraction: ``s`` is enclosed in an
        interval at ``iv.prec`` (exact for floats and for ints and dyadic rationals
        that fit; otherwise rounded outward), then multiplied entrywise
        (``mpi_mul``, outward): contains ``s x`` for every point ``x``."""
        from mpmath import iv

        if isinstance(s, IvMat):
            raise TypeError("use @ for matrix products")
        si = iv.make_mpf(_scalar_interval(s, iv.prec))
        return IvMat(_map(lambda v: v * si, self.x))

    __rmul__ = __mul__

    # ---- queries ----
    def bounds(self):
        """Exact endpoints: two object arrays of Fractions ``(lo, hi)``."""
        lo = np.empty(self.shape, dtype=object)
        hi = np.empty(self.shape, dtype=object)
        for idx in np.ndindex(*self.shape):
            a, b = self.x[idx]._mpi_
            lo[idx], hi[idx] = _mpf_to_fraction(a), _mpf_to_fraction(b)
        return lo, hi

    def _mid_fractions(self) -> np.ndarray:
        lo, hi = self.bounds()
        return (lo + hi) / 2

    def mid(self) -> np.ndarray:
        """Float64 midpoints (nearest float to the exact midpoint); NOT rigorous.
        Raises :class:`BlowUpError` if a midpoint is outside the float64 range."""
        out = np.empty(self.shape)
        for idx, c in np.ndenumerate(self._mid_fractions()):
            if abs(c) > _DBL_MAX:
                raise BlowUpError("an iv midpoint exceeds the float64 range")
            out[idx] = float(c)
        return out

    def center(self) -> "IvMat":
        """The zero-width intervals at the exact midpoints ``(a + b) / 2`` (mpmath
        ``mpf_add`` with ``prec=0`` is exact, the halving is a shift)."""
        from mpmath import iv
        from mpmath.libmp import mpf_add, mpf_shift

        def mid(v):
            a, b = v._mpi_
            c = mpf_shift(mpf_add(a, b, 0), -1)
            return iv.make_mpf((c, c))

        return IvMat(_map(mid, self.x))

    def rad_max(self) -> float:
        """A float ``>=`` every half-width ``(b - a) / 2`` (exact, then rounded up)."""
        lo, hi = self.bounds()
        r = max(((h - l) / 2 for l, h in zip(lo.ravel(), hi.ravel())), default=Fraction(0))
        return _float_up(r)

    def _abs_fractions(self) -> np.ndarray:
        lo, hi = self.bounds()
        out = np.empty(self.shape, dtype=object)
        for idx in np.ndindex(*self.shape):
            out[idx] = max(abs(lo[idx]), abs(hi[idx]))
        return out

    def abs_upper(self) -> np.ndarray:
        """Floats ``>= max(|a|, |b|) = max |x|`` over each interval (exact, then
        rounded up); :class:`BlowUpError` beyond the float64 range."""
        a = self._abs_fractions()
        out = np.empty(self.shape)
        for idx, v in np.ndenumerate(a):
            out[idx] = _float_up(v)
        return out

    def norm_f_upper(self) -> float:
        """A float ``>= ||x||_F`` for every point ``x``: ``sqrt(sum max(|a|,|b|)^2)``
        with the sum exact in rationals and the square root rounded up."""
        a = self._abs_fractions()
        return _sqrt_up(sum((v * v for v in a.ravel()), Fraction(0)))

    def norm_2_upper(self) -> float:
        """A float ``>= ||x||_2`` for every point ``x``: the smaller of the Frobenius
        bound and ``sqrt(||X||_1 ||X||_inf)`` of ``X = max(|a|,|b|)`` (valid since
        ``||x||_2^2 <= ||x||_1 ||x||_inf`` and ``|x| <= X`` entrywise), exact in
        rationals up to the upward square root."""
        a = self._abs_fractions()
        if a.size == 0:
            return 0.0
        n1 = max(sum(a[:, j], Fraction(0)) for j in range(a.shape[1]))
        ni = max(sum(a[i, :], Fraction(0)) for i in range(a.shape[0]))
        return min(self.norm_f_upper(), _sqrt_up(n1 * ni))

    def contains(self, q) -> bool:
        """Whether every interval contains the corresponding exact rational ``q_ij``
        (exact comparison of Fractions; no mpmath comparison semantics)."""
        q = np.asarray(q, dtype=object)
        if q.shape != self.shape:
            raise ValueError(f"shape mismatch: {q.shape} and {self.shape}")
        lo, hi = self.bounds()
        return all(
            l <= Fraction(v) <= h for l, v, h in zip(lo.ravel(), q.ravel(), hi.ravel())
        )

    def mid_strings(self, digits: int = 0) -> list:
        """Decimal strings of the exact midpoints (rounded to ``digits`` significant
        digits; default about ``iv.prec`` bits' worth); not rigorous."""
        from mpmath import iv
        from mpmath.libmp import mpf_add, mpf_shift, to_str

        n = digits or int(iv.prec * math.log10(2)) + 3
        r, c = self.shape
        out = []
        for i in range(r):
            row = []
            for j in range(c):
                a, b = self.x[i, j]._mpi_
                row.append(to_str(mpf_shift(mpf_add(a, b, 0), -1), n))
            out.append(row)
        return out


def _map(f, x: np.ndarray) -> np.ndarray:
    out = np.empty(x.shape, dtype=object)
    for idx in np.ndindex(*x.shape):
        out[idx] = f(x[idx])
    return out


class IvContext(Context):
    """mpmath ``iv`` intervals at ``prec`` bits (``prec >= 53``, so floats enter exactly)."""

    name = "iv"

    def __init__(self, prec: int = ARB_PREC):
        from .._errors import UsageError

        if prec < 53:
            raise UsageError(f"iv precision must be >= 53 bits, got {prec}")
        self.prec = int(prec)
        self._saved = []

    def __enter__(self):
        from mpmath import iv

        self._saved.append(iv.prec)
        iv.prec = self.prec
        return self

    def __exit__(self, *exc):
        from mpmath import iv

        iv.prec = self._saved.pop()
        return False

    def matrix(self, a, rad=None) -> IvMat:
        """Encloses ``a`` (float array: exactly; object array of Fraction/int: each
        entry rounded outward at ``prec``), widened by ``[-rad, rad]`` entrywise
        (``mpi_add``, outward) when ``rad`` (nonnegative floats) is given."""
        from mpmath import iv

        from .._errors import UsageError

        a = np.asarray(a)
        if a.ndim != 2:
            raise UsageError(f"a matrix must be 2-D, got shape {a.shape}")
        rr = None if rad is None else np.broadcast_to(np.asarray(rad, dtype=np.float64), a.shape)
        X = np.empty(a.shape, dtype=object)
        for idx in np.ndindex(*a.shape):
            v = a[idx]
            if a.dtype != object:
                v = float(v)
                if not math.isfinite(v):
                    raise BlowUpError("non-finite entry in an iv matrix")
            x = iv.make_mpf(_fraction_to_interval(Fraction(v), self.prec))
            if rr is not None and rr[idx]:
                r = float(rr[idx])
                if not (r >= 0 and math.isfinite(r)):
                    raise UsageError(f"radii must be finite and nonnegative, got {r}")
                lo_r = _fraction_to_interval(Fraction(-r), self.prec)[0]
                hi_r = _fraction_to_interval(Fraction(r), self.prec)[1]
                x = x + iv.make_mpf((lo_r, hi_r))
            X[idx] = x
        return IvMat(X)

    def matrix_from_strings(self, rows, rad=None) -> IvMat:
        return self.matrix(np.array([[Fraction(s) for s in row] for row in rows], dtype=object), rad)
