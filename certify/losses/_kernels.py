"""Rigorous float64 kernels for exp, expm1, log, log1p (SPEC S4.6), elementwise on arrays.

Every function returns ``(lo, hi)`` float64 arrays with ``lo <= f(x) <= hi`` for the exact real
function ``f`` at the exact binary64 input ``x`` (or at every point of a ball, where the function
takes a radius).  Nothing here relies on numpy's ``exp``/``log`` being accurate: numpy's ``log``
and ``log1p`` only propose candidates, which are then *verified* with the proven exp kernel.

Assumptions: IEEE binary64, round to nearest (the default; the rounding mode is never switched),
``u = 2^-53``, smallest subnormal ``2^-1074``; each numpy ufunc call rounds once (``+ - * /`` and
``ldexp`` are IEEE operations; numpy does not contract separate ufunc calls into FMAs, and an FMA
would only remove roundings).  Constants are checked in exact rationals by
``proofs/ce_exp_kernel.py`` (lemma ``S4.6-exp``).

The exp kernel, for a double ``x`` with ``|x| <= 746``
------------------------------------------------------

1. *Range reduction* (Cody and Waite).  ``k = rint(fl(x * INV_LN2))`` (any integer is sound; this
   one gives ``|x/ln2 - k| <= 1/2 + 2e-13``, so ``|k| <= 1077``).  ``ln2 = C1 + C2 + C3`` where
   ``C1 = floor(ln2 2^41) / 2^41`` has 41 significant bits, ``C2 = fl(ln2 - C1)`` and
   ``|C3| < 2e-31``.  Then ``k*C1`` is exact (``|k| 2^41 < 2^53``) and ``t = x - k*C1`` is exact:
   ``|t| <= ln2/2 + 1e-9 < 0.35``; if ``k != 0`` then ``|x| > 1/4``; if ``|x| >= 1/2``, ``x`` and
   ``k*C1`` are multiples of ``2^-53`` and ``|t| < 1 = 2^53 2^-53``; if ``1/4 <= |x| < 1/2`` they are
   multiples of ``2^-54`` and ``|t| < 1/2``; if ``|x| < 1/4`` then ``k = 0`` and ``t = x``.  In
   every case ``t`` is representable, so its subtraction is exact.
   ``r^ = fl(t - fl(k*C2))`` differs from ``r = x - k ln2`` by
   ``D <= u|r^| + |k| (u |C2| + |C3|) <= u rho + delta0``, ``delta0 = 1100 (u|C2| + |C3|) < 4e-26``,
   and ``|r^| <= rho = 45/128`` (checked at run time as well).
2. *Polynomial.*  ``exp(r) = 1 + r q(r)``, ``q(r) = sum_{j>=1} r^(j-1)/j!``, truncated at degree
   ``n = 14`` of ``exp``: ``|q(r) - Q(r)| <= e^rho rho^14 / 15! < 0.005 u`` (Lagrange remainder),
   ``Q`` with the double coefficients ``c_j = fl(1/j!)``, ``|c_j - 1/j!| <= u/j!``.
3. *Horner* with Higham's model (``fl(a op b) = (a op b)(1 + d)``, ``|d| <= u``, plus ``2^-1075``
   for a product in the subnormal range; sums of floats are exact there):
   ``y_{13} = c_14``, ``y_i = fl(fl(y_{i+1} r) + c_{i+1})``.  With ``e_i`` the error at level ``i``
   and ``B_i = sum_{l >= i} c_{l+1} rho^(l-i)`` (so ``|y_i| <= B_i + e_i``):
   ``e_i <= rho e_{i+1} + u (2 + u) rho (B_{i+1} + e_{i+1}) + u c_{i+1} + 2.01 2^-1075``.
   This is Higham's running-error recursion (Accuracy and Stability, 2nd ed., section 5.1) with
   the a-priori level bounds ``B_i``; solved exactly it gives ``|q^ - Q(r)| <= 1.65 u`` uniformly
   for ``|r| <= rho``, hence ``E_q := |q^ - q(r)| <= 1.66 u`` (proof module: exact rationals; the
   classical bound ``gamma_{2n} sum |c_j| |r|^j`` would give ``28 u``).
4. ``y = fl(fl(q^ r^) + 1)``: ``|y - e^{r^}| <= A + u y`` with ``A = rho E_q + u rho max|q^| +
   2^-1075 <= 1.005 u``, and ``y >= y_min = (e^-rho - A)/(1 + u) > 0.70``.  Hence
   ``e^x = 2^k e^{r^} e^{r - r^}`` lies in ``2^k y [F_dn, F_up]`` with
   ``F_up = (1 + u + A/y_min)(1 + D + D^2)`` and ``F_dn = (1 - u - A/y_min)(1 - D)``.
5. ``hi = fl(y F_UP)``, ``lo = fl(y F_DN)`` with doubles ``F_UP >= F_up/(1 - u)`` and
   ``F_DN <= F_dn/(1 + u)`` (so the rounding of this product is paid for): ``F_UP = 1 + 4u``,
   ``F_DN = 1 - 4u``.  Scaling by ``2^k`` (``ldexp``) is exact unless the result is subnormal
   (then it is faithfully rounded and moved one subnormal step outward) or overflows (``hi = inf``,
   ``lo = DBL_MAX``: honest, since then ``e^x > DBL_MAX``).

**Proven bound:** ``lo <= exp(x) <= hi`` and, for results in the normal range,
``(1 - 5u) y 2^k <= lo <= hi <= (1 + 5u) y 2^k``, so ``hi - lo <= 10.1 u exp(x) <= 10.1 ulp(exp(x))``:
each endpoint is within 10 ulps of the truth, and typically 4-5.
``x > 746``: ``[DBL_MAX, inf]``; ``x < -746``: ``[0, 2^-1074]`` (``e^-746 < 2^-1076``); ``x = 0``:
``[1, 1]``.  NaN or infinite input: :class:`certify.BlowUpError`.

expm1 for ``2^-54 <= |r| <= rho`` uses the same ``q^``: ``m = fl(r q^)`` and
``expm1(r) / m`` lies in ``[1/((1 + theta)(1 + u)), 1/((1 - theta)(1 - u))]``,
``theta = E_q / q(-rho) <= 1.97 u``; folded into ``G_UP = 1 + 4u``, ``G_DN = 1 - 4u`` as for exp.
For ``|r| < 2^-54``: ``r <= expm1(r) <= r + r^2 <= nextafter(r, inf)``.  Larger ``|x|``:
``exp(x) - 1`` from the exp enclosure, rounded outward.

log and log1p by verification
-----------------------------
``exp`` and ``expm1`` are increasing, so ``exp_hi(a) <= S`` proves ``a <= log S`` and
``exp_lo(b) >= S`` proves ``log S <= b``.  Candidates are numpy's ``log``/``log1p`` moved
outward by ``(6 + 3|log S|) u`` (``8 u |log1p T|``), doubled where the verification fails; after
8 widenings the elementary bounds ``(e - 1) ln2 <= log S < e ln2`` for ``S = f 2^e`` are used (only
subnormal ``S`` need them).  ``log1p(T)`` for ``-0.29 < T < 0.42`` (``|log1p T| < 45/128``) is
verified with the expm1 kernel (relative accuracy, no cancellation), elsewhere as ``log`` of
``1 + T`` rounded outward; ``|T| < 2^-54``: ``T - T^2 <= log1p(T) <= T``.
"""

from __future__ import annotations

import math

import numpy as np

from .._errors import BlowUpError

U = 2.0**-53
DBL_MAX = float(np.finfo(np.float64).max)
TINY = 2.0**-1074  # smallest subnormal
NORMAL_MIN = 2.0**-1022

# ---- range reduction (proofs/ce_exp_kernel.py checks every claim about these) ----
INV_LN2 = float.fromhex("0x1.71547652b82fep+0")  # fl(1/ln2)
LN2_C1 = float.fromhex("0x1.62e42fefa3000p-1")  # floor(ln2 2^41) / 2^41 (41 significant bits)
LN2_C2 = float.fromhex("0x1.3de6af278ece6p-42")  # fl(ln2 - C1)
X_MAX = 746.0  # |x| <= X_MAX goes through the kernel (|k| <= 1077 < 1100)
K_MAX = 1100
RHO = 45 / 128  # |r^| <= RHO (exact dyadic)
DEGREE = 14
# c_j = fl(1/j!), j = 1..DEGREE (Python's int -> float conversion of j! is exact up to 22!)
COEFFS = tuple(1.0 / math.factorial(j) for j in range(1, DEGREE + 1))
F_UP = float.fromhex("0x1.0000000000002p+0")  # 1 + 4u  >= F_up / (1 - u)
F_DN = float.fromhex("0x1.ffffffffffffcp-1")  # 1 - 4u  <= F_dn / (1 + u)
G_UP = float.fromhex("0x1.0000000000002p+0")  # expm1: 1 + 4u >= G_up / (1 - u)
G_DN = float.fromhex("0x1.ffffffffffffcp-1")  # expm1: 1 - 4u <= G_dn / (1 + u)
EXPM1_TINY = 2.0**-54
# the bound every test may assume: hi - lo <= EXP_REL_WIDTH * exp(x) for normal-range results
EXP_REL_WIDTH = 10.1 * U


def nd(a):
    """One step towards -inf (a lower bound of the exact result of one rounded operation)."""
    return np.nextafter(a, -np.inf)


def nu(a):
    """One step towards +inf."""
    return np.nextafter(a, np.inf)


def _as_float_array(x, what: str) -> np.ndarray:
    a = np.asarray(x, dtype=np.float64)
    if not np.all(np.isfinite(a)):
        raise BlowUpError(f"non-finite input to the rigorous {what} kernel (NaN or inf): refuse to enclose it")
    return a


def _horner_q(r: np.ndarray) -> np.ndarray:
    """``q^ ~ sum_{j=1..14} c_j r^(j-1)``, one rounding per ufunc call (the analysed Horner loop)."""
    q = np.full_like(r, COEFFS[-1])
    for c in COEFFS[-2::-1]:
        np.multiply(q, r, out=q)
        np.add(q, c, out=q)
    return q


def ldexp_fast(y: np.ndarray, k: np.ndarray) -> np.ndarray:
    """``np.ldexp(y, k)`` bit for bit for ``y`` in ``[0.5, 2)`` (the kernel's ``y``: ``e^r`` with
    ``|r| <= 45/128``, times ``1 +- 4u``) and integer ``k`` (int64): when every ``k`` lies in
    ``[-1021, 1022]`` the product ``y * 2^k`` (``2^k`` built from its exponent bits) has a normal
    result, so it is exact, as ldexp's; otherwise ``np.ldexp`` itself (about 5 times slower)."""
    if k.size and int(k.min()) >= -1021 and int(k.max()) <= 1022:
        return y * ((k + 1023) << 52).view(np.float64)
    return np.ldexp(y, k)


def _exp_core(x: np.ndarray):
    """:func:`exp_enclosure` for finite float64 arrays (steps 1-5 of the module docstring)."""
    if x.size == 0:
        return x.copy(), x.copy()
    amax = float(np.max(np.abs(x)))
    xc = np.clip(x, -X_MAX, X_MAX) if amax > X_MAX else x
    k = np.rint(xc * INV_LN2)
    r = xc - k * LN2_C1  # exact
    r -= k * LN2_C2
    if not float(np.max(np.abs(r))) <= RHO:  # pragma: no cover - excluded by the proof; defence in depth
        raise AssertionError("exp kernel: range reduction left |r| > rho")
    y = _horner_q(r)
    np.multiply(y, r, out=y)
    np.add(y, 1.0, out=y)
    ki = k.astype(np.int64)
    with np.errstate(over="ignore", under="ignore"):
        hi = ldexp_fast(y * F_UP, ki)
        lo = ldexp_fast(y * F_DN, ki)
    if float(lo.min()) <= NORMAL_MIN:
        # ldexp is exact for normal results; near or in the subnormal range it rounds
        # (faithfully): one subnormal step outward (also when it rounded to exactly 2^-1022)
        sub = lo <= NORMAL_MIN
        lo = np.where(sub, np.maximum(nd(lo), 0.0), lo)
        sub = hi <= NORMAL_MIN
        hi = np.where(sub, nu(hi), hi)
    if amax > 709.0:
        lo = np.where(np.isinf(lo), DBL_MAX, lo)  # exp(x) >= lo_pre 2^k > DBL_MAX
        if amax > X_MAX:
            lo = np.where(x > X_MAX, DBL_MAX, np.where(x < -X_MAX, 0.0, lo))
            hi = np.where(x > X_MAX, np.inf, np.where(x < -X_MAX, TINY, hi))
    zero = x == 0.0
    if zero.any():
        lo[zero] = 1.0
        hi[zero] = 1.0
    return lo, hi


#: :func:`exp_mid`'s relative error bound: ``5u / (1 - 5u) <= 6u`` (step 5's two-sided bound)
EXP_MID_REL = 6.0 * U


def exp_mid(x: np.ndarray) -> np.ndarray:
    """The kernel's own approximation ``y 2^k`` of ``exp(x)`` (steps 1-4, no enclosure): for
    finite doubles ``x <= 709``, ``|exp_mid(x) - exp(x)| <= EXP_MID_REL exp(x) + 2^-1074``.
    Proof: step 5 gives ``(1 - 5u) y 2^k <= exp(x) <= (1 + 5u) y 2^k`` as real numbers, so
    ``|y 2^k - exp(x)| <= 5u/(1 - 5u) exp(x)``; ``ldexp`` (:func:`ldexp_fast`) is exact for normal
    results and faithful (error ``< 2^-1074``) for subnormal ones; below ``-746`` the input is clipped to
    ``-746`` and both values are below ``2^-1074``.  About 30 elementwise passes, no branches:
    the fast path of :mod:`certify.losses.fast` (a few times numpy's ``exp``, whose error has no
    documented bound)."""
    xc = np.maximum(x, -X_MAX)
    k = np.rint(xc * INV_LN2)
    r = xc - k * LN2_C1  # exact
    r -= k * LN2_C2
    y = _horner_q(r)
    np.multiply(y, r, out=y)
    np.add(y, 1.0, out=y)
    with np.errstate(over="ignore", under="ignore"):
        return ldexp_fast(y, k.astype(np.int64))


def exp_enclosure(x):
    """``(lo, hi)`` with ``lo <= exp(x) <= hi`` elementwise for the exact doubles ``x``
    (module docstring: ``hi - lo <= 10.1 u exp(x)`` in the normal range).

    >>> lo, hi = exp_enclosure([0.0, 1.0, -800.0])
    >>> bool(lo[1] <= 2.718281828459045 <= hi[1]), float(lo[2]), float(hi[2])
    (True, 0.0, 5e-324)
    """
    return _exp_core(_as_float_array(x, "exp"))


def _expm1_small(r: np.ndarray):
    """expm1 enclosure for ``|r| <= RHO`` (relative accuracy 10 u, no cancellation)."""
    q = _horner_q(r)
    m = q * r
    pos = r > 0
    lo = np.where(pos, m * G_DN, m * G_UP)
    hi = np.where(pos, m * G_UP, m * G_DN)
    tiny = np.abs(r) < EXPM1_TINY
    if tiny.any():
        lo = np.where(tiny, r, lo)
        hi = np.where(tiny, np.where(r == 0.0, 0.0, nu(r)), hi)
    return lo, hi


def expm1_enclosure(x):
    """``(lo, hi)`` with ``lo <= exp(x) - 1 <= hi``: the expm1 kernel for ``|x| <= 45/128``
    (relative width ~10 u, no cancellation), ``exp(x) - 1`` rounded outward elsewhere (where
    ``|exp(x) - 1| > 0.29``, so that is relative accuracy too)."""
    x = _as_float_array(x, "expm1")
    small = np.abs(x) <= RHO
    lo_s, hi_s = _expm1_small(np.where(small, x, 0.0))
    if np.all(small):
        return lo_s, hi_s
    lo_e, hi_e = _exp_core(np.where(small, 0.0, x))
    with np.errstate(over="ignore"):
        lo = np.where(small, lo_s, np.maximum(nd(lo_e - 1.0), -1.0))
        hi = np.where(small, hi_s, nu(hi_e - 1.0))
    return lo, hi


def exp_ball(mid, rad):
    """``(lo, hi)`` enclosing ``exp(v)`` for every ``v`` with ``|v - mid| <= rad`` (elementwise):
    ``exp(mid) [e^-rad, e^rad]``, with ``1 - rad <= e^-rad`` and ``e^rad <= 1 + rad + rad^2
    <= 1 + rad (1 + 2^-20)`` for ``rad <= 2^-20`` (else the kernel at ``+-rad``), every product
    rounded outward.
    Entries with ``rad == 0`` are exactly :func:`exp_enclosure`."""
    mid = _as_float_array(mid, "exp")
    rad = _as_float_array(rad, "exp")
    lo, hi = _exp_core(mid)
    rmax = float(rad.max()) if rad.size else 0.0
    if rmax == 0.0:
        return lo, hi
    # rad <= 2^-20: fl(rad (1 + 2^-19)) >= rad (1 + 2^-20) >= rad + rad^2 >= e^rad - 1 (or >= rad when
    # rad is subnormal, and then one step above 1 + rad covers rad^2); one step up covers 1 + t
    f_hi = nu(1.0 + rad * (1.0 + 2.0**-19))
    f_lo = nd(1.0 - rad)
    if rmax > 2.0**-20:
        small = rad <= 2.0**-20
        big_lo, _ = _exp_core(np.where(small, 0.0, -rad))
        _, big_hi = _exp_core(np.where(small, 0.0, rad))
        f_hi = np.where(small, f_hi, big_hi)
        f_lo = np.where(small, f_lo, big_lo)
    with np.errstate(over="ignore", under="ignore"):
        lo2 = np.maximum(nd(lo * f_lo), 0.0)
        hi2 = nu(hi * f_hi)  # hi >= 2^-1074 > 0 and f_hi >= 1: no 0 * inf
    z = rad == 0.0
    if z.any():
        lo2 = np.where(z, lo, lo2)
        hi2 = np.where(z, hi, hi2)
    return lo2, hi2


# ---------------------------------------------------------------------------
# log, log1p: numpy proposes, the exp kernel verifies
# ---------------------------------------------------------------------------

_WIDEN = 8
LN2_LO = float.fromhex("0x1.62e42fefa39efp-1")  # fl(ln2) < ln2
LN2_HI = float.fromhex("0x1.62e42fefa39f0p-1")  # > ln2


def _log_fallback(S: np.ndarray):
    """Coarse bounds where verification did not succeed (subnormal ``S``, where the exp kernel's
    absolute resolution is one subnormal step): ``S = f 2^e``, ``1/2 <= f < 1``, so
    ``(e - 1) ln2 <= log S < e ln2``."""
    _, e = np.frexp(S)
    e = e.astype(np.float64)
    lo = nd(np.where(e - 1 < 0, (e - 1) * LN2_HI, (e - 1) * LN2_LO))
    hi = nu(np.where(e < 0, e * LN2_LO, e * LN2_HI))
    return lo, hi


def _verified(target, lower, a0, slack, kernel):
    """Candidates ``a0 -+ slack`` (``lower``: a lower bound is wanted) checked with the increasing
    enclosed ``kernel``: ``kernel_hi(a) <= target`` proves ``a <= f^-1(target)``, and
    ``kernel_lo(b) >= target`` proves ``f^-1(target) <= b``.  Returns the bounds and the mask of
    entries that still fail after the widenings (the caller substitutes elementary bounds)."""
    def cand(sl):
        return np.where(lower, nd(a0 - sl), nu(a0 + sl))

    a = cand(slack)
    for _ in range(_WIDEN + 1):
        lo, hi = kernel(a)
        bad = np.where(lower, hi > target, lo < target)
        if not bad.any():
            return a, None
        slack = np.where(bad, 2.0 * slack, slack)
        a = np.where(bad, cand(slack), a)
    lo, hi = kernel(a)
    return a, np.where(lower, hi > target, lo < target)


def _log_verify(S, lower):
    a0 = np.log(S)
    a, bad = _verified(S, lower, a0, (6.0 + 3.0 * np.abs(a0)) * U, _exp_core)
    if bad is not None and bad.any():
        flo, fhi = _log_fallback(S)
        a = np.where(bad, np.where(lower, flo, fhi), a)
    return a


def _log1p_mid_verify(T, lower):
    a0 = np.log1p(T)

    def kernel(a):  # clipping is sound: expm1(-RHO) <= T proves -RHO <= log1p(T), etc.
        return _expm1_small(np.clip(a, -RHO, RHO))

    a, bad = _verified(T, lower, a0, 8.0 * U * np.abs(a0), kernel)
    if bad is not None and bad.any():
        # elementary: T/(1+T) <= log1p(T) <= T
        den = np.where(T >= 0, nu(1.0 + T), nd(1.0 + T))
        a = np.where(bad, np.where(lower, nd(T / den), T), a)
    return a


def _log1p_bounds(T_lo: np.ndarray, T_hi: np.ndarray):
    """``(lower bound of log1p(T_lo), upper bound of log1p(T_hi))`` for finite doubles ``> -1``,
    with one kernel call per branch for both ends together."""
    n = T_lo.size
    T = np.concatenate([T_lo.ravel(), T_hi.ravel()])
    lower = np.zeros(T.size, dtype=bool)
    lower[:n] = True
    out = np.empty_like(T)
    aT = np.abs(T)
    tiny = aT < EXPM1_TINY
    mid = ~tiny & (T > -0.29) & (T < 0.42)
    far = ~(tiny | mid)
    if tiny.any():  # T - T^2 <= log1p(T) <= T
        t = T[tiny]
        out[tiny] = np.where(lower[tiny], np.where(t == 0.0, 0.0, nd(t)), t)
    if mid.any():
        out[mid] = _log1p_mid_verify(T[mid], lower[mid])
    if far.any():
        t, lw = T[far], lower[far]
        out[far] = _log_verify(np.where(lw, nd(1.0 + t), nu(1.0 + t)), lw)
    return out[:n].reshape(T_lo.shape), out[n:].reshape(T_hi.shape)


def _log_bounds(S_lo: np.ndarray, S_hi: np.ndarray):
    """``(lower bound of log(S_lo), upper bound of log(S_hi))`` for positive finite doubles."""
    n = S_lo.size
    S = np.concatenate([S_lo.ravel(), S_hi.ravel()])
    lower = np.zeros(S.size, dtype=bool)
    lower[:n] = True
    out = _log_verify(S, lower)
    return out[:n].reshape(S_lo.shape), out[n:].reshape(S_hi.shape)


def log_enclosure(S):
    """``(lo, hi)`` with ``lo <= log(S) <= hi`` for exact positive finite doubles ``S``
    (verified with :func:`exp_enclosure`; absolute accuracy a few ``u (1 + |log S|)``)."""
    S = _as_float_array(S, "log")
    if np.any(S <= 0):
        raise BlowUpError("log of a non-positive number in a rigorous kernel")
    return _log_bounds(S, S)


def log1p_enclosure(T):
    """``(lo, hi)`` with ``lo <= log(1 + T) <= hi`` for exact finite doubles ``T > -1``
    (relative accuracy ~20 u where ``|T| < 0.4``)."""
    T = _as_float_array(T, "log1p")
    if np.any(T <= -1.0):
        raise BlowUpError("log1p of a number <= -1 in a rigorous kernel")
    return _log1p_bounds(T, T)


# ---------------------------------------------------------------------------
# sums of many terms (S4.6: a k-term sum is widened by the proven factor, not one ulp)
# ---------------------------------------------------------------------------


def sum_nonneg(lo: np.ndarray, hi: np.ndarray, axis: int = 0):
    """Enclosure of ``sum`` of nonnegative terms known to lie in ``[lo, hi]``.  With ``n`` terms,
    any summation order: every term passes through at most ``n - 1`` roundings
    ``(1 + d)``, ``|d| <= u`` (sums are exact in the subnormal range), so the exact sum lies in
    ``[s (1 - n 2^-52), s (1 + n 2^-52)]`` for the computed ``s`` (``(1+u)^(n-1) <= 1 + 2 n u``);
    the factors are exact doubles and the final product is rounded outward."""
    n = lo.shape[axis]
    s_lo = lo.sum(axis=axis)
    s_hi = hi.sum(axis=axis)
    g = n * 2.0**-52
    with np.errstate(over="ignore"):
        hi_ = nu(s_hi * (1.0 + g))
    # a computed sum of nonnegative doubles is 0 only if every term is 0 (then it is exact)
    return np.maximum(nd(s_lo * (1.0 - g)), 0.0), np.where(s_hi == 0.0, 0.0, hi_)


def sum_signed(lo: np.ndarray, hi: np.ndarray, axis: int = 0):
    """Enclosure of the sum of terms in ``[lo, hi]`` of any sign: ``|fl(sum a) - sum a| <=
    gamma_{n-1} sum |a|`` (Higham 2002, (4.4), any order), ``gamma_{n-1} <= n 2^-52``."""
    n = lo.shape[axis]
    g = n * 2.0**-52
    with np.errstate(over="ignore"):
        e_lo = nu(nu(np.abs(lo).sum(axis=axis) * (1.0 + g)) * g)
        e_hi = nu(nu(np.abs(hi).sum(axis=axis) * (1.0 + g)) * g)
        return nd(nd(lo.sum(axis=axis)) - e_lo), nu(nu(hi.sum(axis=axis)) + e_hi)
