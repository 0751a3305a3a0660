"""The checker's rigorous ``exp`` on float64 arrays (gap-v2.md section 8), independent of
:mod:`certify.losses`; model and notation as in :mod:`certify.check._kernels`.

exp (:func:`exp_point`), for a double ``x``
------------------------------------------

- ``x > 709``: refused (:class:`certify.CertificateError`: an overflowing exponential has no
  place in a certificate the checker can confirm).  ``x < -745``: ``exp(x) < e^-744.44 =
  2^-1074``, so ``(0, TINY)``.
- Range reduction: ``k = rint(fl(x * INV_LN2))`` (any integer is sound: the bound below is
  a-posteriori), ``|k| <= 1075``.  ``ln 2 = L1 + L2 + L3``: ``L1 = floor(2^32 ln2) / 2^32``
  (so ``k L1`` is exact: ``|k a| < 2^43`` for the integer ``a < 2^32``), ``L2`` the double
  nearest ``ln2 - L1``, ``|L3| <= L3B``, all from the bracket ``ln 2 = sum_{j>=1} 1/(j 2^j)``
  with the tail after ``J`` terms below ``2^-J/(J+1)`` (exact rationals, :func:`_ln2_bracket`).
  ``t = fl(x - k L1)``, ``q = fl(k L2)``, ``r^ = fl(t - q)``; the exact ``r = x - k ln2``
  satisfies ``|r - r^| <= rr = u(|t| + |q| + |r^|) + |k| L3B``.
- ``|r^| <= RHO = 0.36`` is checked (``|x/ln2 - k| <= 1/2`` up to the estimate's error).
  Taylor: ``|e^{r^} - sum_{j<=15} r^^j/j!| <= TRUNC = r^16/16! / (1 - RHO)`` (Lagrange with
  ``e^xi <= 1/(1 - RHO)``); the sum by Horner with the doubles ``c_j`` nearest ``1/j!``
  (``|c_j - 1/j!| <= cr_j``, exact rationals) and the running error
  ``E_j = |r^| E_{j+1} + u(|t_j| + |y_j|) + cr_j + TINY`` (``t_j = fl(y_{j+1} r^)``,
  ``y_j = fl(t_j + c_j)``): by induction ``|y_j - Y_j| <= E_j`` for the exact Horner
  values ``Y_j`` with exact coefficients at ``r^``; bounded a priori over ``|r^| <= RHO``
  (:func:`_horner_error_bound`, exact rationals at import: ``HORNER_E`` with the truncation,
  about ``2.2 u``).  Then ``|e^r - e^{r^}| <= e^{r^}
  expm1(rr)`` and ``expm1(d) <= d + d^2`` for ``0 <= d <= 1``.
- Scaling by ``2^k``: ``y 2^k1`` is exact (``k1 = max(k, -1000)``, ``y`` in ``[0.69, 1.44]``,
  no overflow since ``k <= 1023``), then one IEEE product by ``2^k2`` (``k2 = k - k1`` in
  ``[-75, 0]``) that is exact unless the result is subnormal, where it errs by at most
  ``2^-1075`` (covered by ``+ TINY``); the powers of two are built from their bit patterns
  (:func:`pow2`).  Radii: each product rounded up (:func:`up`).
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np

from .._errors import CertificateError
from . import _arith as A

U, TINY = A.U, A.TINY
infl = A.infl

# ---------------------------------------------------------------------------
# constants (exact rationals at import)
# ---------------------------------------------------------------------------


def _ln2_bracket(J: int = 130) -> tuple[Fraction, Fraction]:
    """``(lo, hi)`` with ``lo <= ln 2 <= hi``: ``ln 2 = -ln(1 - 1/2) = sum_{j>=1} 1/(j 2^j)``,
    all terms positive, the tail after ``J`` terms at most ``(1/(J+1)) sum_{j>J} 2^-j = 2^-J/(J+1)``."""
    lo = sum((Fraction(1, j * 2**j) for j in range(1, J + 1)), Fraction(0))
    return lo, lo + Fraction(1, (J + 1) * 2**J)


_LN2_LO, _LN2_HI = _ln2_bracket()
L1 = math.floor(_LN2_LO * 2**32) / 2**32  # 32 significant bits at most: k L1 exact for |k| < 2^21
assert Fraction(L1) * 2**32 == math.floor(_LN2_LO * 2**32) and math.floor(_LN2_HI * 2**32) == math.floor(_LN2_LO * 2**32)
L2 = float(_LN2_LO - Fraction(L1))
L3B = A.frac_up(max(abs(_LN2_LO - Fraction(L1) - Fraction(L2)), abs(_LN2_HI - Fraction(L1) - Fraction(L2))))
INV_LN2 = float(1 / _LN2_LO)  # only an estimate (chooses k)
X_MAX, X_MIN = 709.0, -745.0
RHO = 0.36
DEG = 15
_FACT = [math.factorial(j) for j in range(DEG + 2)]
COEF = np.array([float(Fraction(1, f)) for f in _FACT[: DEG + 1]])
COEF_R = np.array([A.frac_up(abs(Fraction(c) - Fraction(1, f))) for c, f in zip(COEF, _FACT)])
TRUNC = A.frac_up(Fraction(RHO) ** (DEG + 1) / _FACT[DEG + 1] / (1 - Fraction(RHO)))


def _horner_error_bound(rho: Fraction = Fraction(RHO), deg: int = DEG) -> float:
    """A-priori bound ``E_0`` of ``|y_0 - Y_0|`` for Horner in RN at any double ``|r| <= rho``
    (``Y_0`` the exact polynomial with coefficients ``1/j!``), in exact rationals: with
    ``|t_j| <= T_j = rho M_{j+1} (1 + u) + TINY`` and ``|y_j| <= M_j = (T_j + c_j)(1 + u)``
    (``M_deg = c_deg``), ``E_j = rho E_{j+1} + u (T_j + M_j) + cr_j + TINY``, ``E_deg = cr_deg``
    (each step: the product's and the sum's rounding, ``|fl(z) - z| <= u |fl(z)| + TINY``,
    the propagated error times ``|r|``, the coefficient's error)."""
    u, tiny = Fraction(U), Fraction(TINY)
    M = Fraction(COEF[deg])
    E = Fraction(COEF_R[deg])
    for j in range(deg - 1, -1, -1):
        T = rho * M * (1 + u) + tiny
        M = (T + Fraction(COEF[j])) * (1 + u)
        E = rho * E + u * (T + M) + Fraction(COEF_R[j]) + tiny
    return A.frac_up(E)


#: ``|y - e^{r^}| <= HORNER_E`` for every double ``|r^| <= RHO`` (Horner's error plus the truncation)
HORNER_E = A.frac_up(Fraction(_horner_error_bound()) + Fraction(TRUNC))
assert L3B < 2.0**-85 and TRUNC < 1e-20 and HORNER_E < 3 * U


# ---------------------------------------------------------------------------
# exp
# ---------------------------------------------------------------------------


def reduce_ln2(x):
    """``(k, r^, rr)`` with ``k`` integer-valued and ``|x - k ln2 - r^| <= rr`` (module docstring)."""
    k = np.rint(x * INV_LN2)
    t = x - k * L1  # k L1 exact
    q = k * L2
    r = t - q
    return k, r, infl(U * (np.abs(t) + np.abs(q) + np.abs(r)) + np.abs(k) * L3B, 6)


def exp_point(x) -> tuple[np.ndarray, np.ndarray]:
    """``(m, r)`` float arrays with ``|exp(x) - m| <= r`` for every double in ``x`` (module
    docstring).  Relative width about ``5u`` in the normal range; ``(0, TINY)`` below -745;
    :class:`certify.CertificateError` above 709 or for a non-finite input."""
    x = np.asarray(x, dtype=np.float64)
    if not np.all(np.isfinite(x)):
        raise CertificateError("exp enclosure: non-finite argument")
    if x.size and float(np.max(x)) > X_MAX:
        raise CertificateError(f"exp enclosure: argument {float(np.max(x))!r} > {X_MAX} (overflow)")
    under = x < X_MIN
    xs = np.where(under, 0.0, x)
    k, r, rr = reduce_ln2(xs)
    ar = np.abs(r)
    if ar.size and float(np.max(ar)) > RHO:  # cannot happen for |x| <= 745 (k rounds x/ln2)
        raise CertificateError("exp enclosure: range reduction failed")
    # Horner; its error bound is a-priori (HORNER_E, exact rationals at import)
    y = np.full(x.shape, COEF[DEG])
    for j in range(DEG - 1, -1, -1):  # in place: y <- fl(fl(y r) + c_j)
        y *= r
        y += COEF[j]
    R = infl(HORNER_E + (y + HORNER_E) * (rr + rr * rr), 4)  # |e^r - y| (rr ~ 1e-16 <= 1)
    k1 = np.maximum(k, -1000.0)
    k2 = k - k1
    f1, f2 = pow2(k1), pow2(k2)
    m = (y * f1) * f2
    rad = up(up(R * f1) * f2) + np.where(k2 < 0, TINY, 0.0)
    m = np.where(under, 0.0, m)
    rad = np.where(under, TINY, rad)
    return m, rad


def pow2(k) -> np.ndarray:
    """``2^k`` exactly for integer-valued float arrays ``k`` in ``[-1022, 1023]``: the IEEE bit
    pattern with biased exponent ``k + 1023`` and a zero fraction."""
    return ((k.astype(np.int64) + 1023) << 52).view(np.float64)


_UP, _DN = 1.0 + 4 * U, 1.0 - 4 * U  # exact doubles


def up(c):
    """``>= x`` for every ``x >= 0`` whose RN rounding (one operation) is ``c``:
    ``x <= c (1 + u) + TINY/2``, and ``fl(fl(c (1 + 4u)) + TINY)`` is at least that (cheaper than
    ``np.nextafter``)."""
    return c * _UP + TINY


def dn(c):
    """``<= x`` for every ``x >= 0`` whose RN rounding is ``c`` (``c (1 - 4u) - TINY``, rounded,
    is below ``c / (1 + u) - TINY/2``); possibly negative."""
    return c * _DN - TINY


def expm1_up(d) -> np.ndarray:
    """Upper bounds of ``exp(d) - 1`` for ``d >= 0``: ``d + d^2`` when ``d <= 1``
    (``sum_{j>=2} d^j/j! <= (e - 2) d^2``), else from :func:`exp_point` (inf beyond 709)."""
    d = np.asarray(d, dtype=np.float64)
    small = d <= 1.0
    out = infl(d + d * d, 2)
    if not np.all(small):
        big = np.where(small, 0.0, d)
        ok = big <= X_MAX
        m, r = exp_point(np.where(ok, big, 0.0))
        v = np.nextafter(np.nextafter(m + r, np.inf) - 1.0, np.inf)
        out = np.where(small, out, np.where(ok, v, np.inf))
    return out


def exp_ball(xm, xr=None) -> tuple[np.ndarray, np.ndarray]:
    """Enclosure ``(m, r)`` of ``exp(x)`` for every ``|x - xm| <= xr`` (entrywise):
    ``|e^x - e^xm| <= e^xm expm1(xr)``, ``e^xm <= m0 + r0``.  Overflow (an argument above
    709, or an infinite radius) raises :class:`certify.CertificateError`."""
    m, r = exp_point(xm)
    if xr is None:
        return m, r
    d = expm1_up(xr)
    with np.errstate(over="ignore"):
        rad = infl(r + (m + r) * d, 3)
    if not np.all(np.isfinite(rad)):
        raise CertificateError("exp enclosure: the argument's ball is too wide (overflow)")
    return m, rad
