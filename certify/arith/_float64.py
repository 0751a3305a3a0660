"""float64 midpoint-radius ball matrices with a-priori rounding bounds (SPEC S4.6).

All bounds assume IEEE binary64 round-to-nearest (the default; the rounding
mode is never switched) and use ``u = 2^-53``, ``eta = 2^-1074``.  Radii are
computed in floating point and then inflated with :func:`certify._claims.up`
(proofs/s4_6_rounding.py): an expression of ``n`` roundings on nonnegative
floats is at most ``x (1 + 2(n+2)u) + 2(n+2) 2^-1060`` where ``x`` is its
computed value.

Operation bounds (``|.|`` entrywise, ``C`` the computed midpoint):

- ``A @ B`` (inner dimension ``k``): for all ``a in A``, ``b in B``:
  ``|ab - C| <= gamma_k |Am||Bm| + |Am| Br + Ar (|Bm| + Br) + k eta``
  (Higham Thm 3.5 with underflow, any summation order, FMA or not).
- ``A +- B``: ``|a +- b - C| <= Ar + Br + u |C|`` (addition is exact on underflow).
- ``A * s``, ``s`` a double: ``|a s - C| <= |s| Ar + u |C| + eta``; ``s`` a
  rational is first enclosed as ``s_f +- e_s``.
"""

from __future__ import annotations

import functools
import math
from fractions import Fraction

import numpy as np

from .._claims import U, up
from .._errors import BlowUpError
from ._base import Context

ETA = 2.0**-1074


def gamma(k: int) -> float:
    """``>= gamma_k = k u / (1 - k u)`` (Higham), rounded up."""
    return k * U / (1.0 - k * U) * (1.0 + 4.0 * U)


def require_finite(*arrs):
    """Raise :class:`BlowUpError` unless every entry of every array is finite."""
    for a in arrs:
        # a finite sum proves every entry finite; otherwise look entrywise (a sum of
        # large finite entries may overflow)
        if a is not None and not math.isfinite(float(np.sum(a))) and not np.all(np.isfinite(a)):
            raise BlowUpError("overflow in float64 ball arithmetic: values too large for binary64")


@functools.lru_cache(maxsize=256)
def nearest_double(s) -> tuple[float, float]:
    """``(sf, es)``: the nearest double to the rational ``s`` and an upper bound
    of ``|sf - s|`` (cached: a Horner evaluation multiplies by one ``s`` many times)."""
    q = Fraction(s)
    try:
        sf = float(q)  # correctly rounded
    except OverflowError as e:
        raise BlowUpError("overflow in float64 ball arithmetic: scalar beyond binary64") from e
    d = abs(Fraction(sf) - q)
    return sf, (math.nextafter(float(d), math.inf) if d else 0.0)


class F64Mat:
    """A ball ``{x : |x - mid| <= rad}`` (entrywise); ``rad`` None means 0."""

    __slots__ = ("m", "r")

    def __init__(self, m: np.ndarray, r: np.ndarray | None = None):
        self.m = m
        self.r = r

    # ---- structure ----
    @property
    def shape(self):
        return self.m.shape

    @property
    def T(self):
        return F64Mat(self.m.T, None if self.r is None else self.r.T)

    def __neg__(self):
        return F64Mat(-self.m, self.r)

    # ---- arithmetic ----
    def __matmul__(self, other: "F64Mat") -> "F64Mat":
        Am, Bm, Ar, Br = self.m, other.m, self.r, other.r
        k = Am.shape[1]
        with np.errstate(over="ignore", invalid="ignore"):
            C = Am @ Bm
            aA, aB = np.abs(Am), np.abs(Bm)
            R = gamma(k) * (aA @ aB)
            if Br is not None:
                R = R + aA @ Br
            if Ar is not None:
                R = R + Ar @ (aB if Br is None else aB + Br)
            R = up(R + k * ETA, k + 8)
        require_finite(C, R)
        return F64Mat(C, R)

    def _addsub(self, other: "F64Mat", sign: int) -> "F64Mat":
        with np.errstate(over="ignore", invalid="ignore"):
            C = self.m + other.m if sign > 0 else self.m - other.m
            R = U * np.abs(C)
            if self.r is not None:
                R = R + self.r
            if other.r is not None:
                R = R + other.r
            R = up(R, 3)
        require_finite(C, R)
        return F64Mat(C, R)

    def __add__(self, other):
        return self._addsub(other, 1)

    def __sub__(self, other):
        return self._addsub(other, -1)

    def __mul__(self, s):
        if isinstance(s, F64Mat):
            raise TypeError("use @ for matrix products")
        if isinstance(s, (int, np.integer)) and abs(int(s)) <= 2**53:
            sf, es = float(s), 0.0
        elif isinstance(s, Fraction) or isinstance(s, (int, np.integer)):
            sf, es = nearest_double(s)
        else:
            sf, es = float(s), 0.0
        with np.errstate(over="ignore", invalid="ignore"):
            C = self.m * sf
            R = U * np.abs(C) + ETA
            if self.r is not None:
                R = R + abs(sf) * self.r
            if es:
                R = R + es * (np.abs(self.m) if self.r is None else np.abs(self.m) + self.r)
            R = up(R, 6)
        require_finite(C, R)
        return F64Mat(C, R)

    __rmul__ = __mul__

    # ---- queries ----
    def mid(self) -> np.ndarray:
        return self.m

    def center(self) -> "F64Mat":
        return F64Mat(self.m, None)

    def rad_max(self) -> float:
        return 0.0 if self.r is None else float(np.max(self.r))

    def abs_upper(self) -> np.ndarray:
        a = np.abs(self.m)
        return a if self.r is None else up(a + self.r, 1)

    def norm_f_upper(self) -> float:
        a = self.abs_upper().ravel()
        with np.errstate(over="ignore"):  # an overflow gives inf, refused below
            s = up(float(a @ a), a.size + 1)
        v = math.nextafter(math.sqrt(s), math.inf)
        if not math.isfinite(v):
            raise BlowUpError("overflow in a norm bound")
        return v

    def norm_2_upper(self) -> float:
        """``min(||.||_F, sqrt(||.||_1 ||.||_inf))`` over the ball (see also
        :func:`certify.bounds.spectral.spectral_upper` for a tight bound)."""
        a = self.abs_upper()
        n1 = up(float(a.sum(axis=0).max()), a.shape[0] + 1)
        ni = up(float(a.sum(axis=1).max()), a.shape[1] + 1)
        return min(self.norm_f_upper(), math.nextafter(math.sqrt(up(n1 * ni, 1)), math.inf))

    def contains(self, q) -> bool:
        """Certainly contains the exact rational matrix ``q`` (tests)."""
        q = np.asarray(q, dtype=object)
        r = np.zeros(self.m.shape) if self.r is None else self.r
        for x, m, rr in zip(q.reshape(-1), self.m.reshape(-1), r.reshape(-1)):
            if abs(Fraction(x) - Fraction(float(m))) > Fraction(float(rr)):
                return False
        return True

    def mid_strings(self, digits: int = 0) -> list:
        return [[repr(float(x)) for x in row] for row in self.m]


class Float64Context(Context):
    name = "float64"
    prec = 53

    def matrix(self, a, rad=None) -> F64Mat:
        a = np.asarray(a)
        if a.dtype == object:
            m = np.empty(a.shape)
            r = np.empty(a.shape)
            for idx, x in np.ndenumerate(a):
                q = Fraction(x)
                try:
                    f = float(q)
                except OverflowError as e:
                    raise BlowUpError("overflow in float64 ball arithmetic: value beyond binary64") from e
                m[idx] = f
                d = abs(Fraction(f) - q)
                r[idx] = math.nextafter(float(d), math.inf) if d else 0.0
            R = r if np.any(r) else None
        else:
            m = np.array(a, dtype=np.float64)
            R = None
        if rad is not None:
            extra = np.broadcast_to(np.asarray(rad, dtype=np.float64), m.shape)
            R = extra.copy() if R is None else up(R + extra, 1)
        require_finite(m, R)
        return F64Mat(m, R)

    def matrix_from_strings(self, rows, rad=None) -> F64Mat:
        return self.matrix(np.array([[Fraction(s) for s in row] for row in rows], dtype=object), rad)
