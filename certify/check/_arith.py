"""The checker's own rigorous arithmetic (independent of certify.arith).

Float64 midpoint-radius matrices, entrywise, as pairs ``(m, r)`` of numpy
arrays (``r`` None means radius 0), with a-posteriori bounds for round-to-nearest
IEEE binary64 (the rounding mode is never switched).  ``u = 2^-53``.

- Rounding of nonnegative expressions: a value computed in round-to-nearest
  from nonnegative floats with at most ``n`` roundings on any path is at least
  ``x / (1 + u)^n`` of the exact value ``x``; :func:`infl` returns
  ``c (1 + 2(n+2)u) + 2(n+2) 2^-1060`` >= the exact value for the computed
  ``c`` (proofs/s4_6_rounding.py; the additive term covers underflow).
- Products ``fl(A B)`` with inner dimension ``k`` (any BLAS, any summation
  order, FMA or not; Higham, *Accuracy and Stability*, Thm 3.5 with underflow):
  ``|fl(A B) - A B| <= gamma_k |A| |B| + k 2^-1073``,
  ``gamma_k = k u / (1 - k u)``.
- A single rounding: ``|fl(z) - z| <= u |fl(z)|`` (plus ``2^-1074`` for a
  product that may underflow; sums and differences are exact on underflow).

Scalars are bounded with python-flint's ``arb`` balls (outward conversion to
floats through the exact endpoints).
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np

U = 2.0**-53
UF = 2.0**-1073  # per-term underflow allowance of a dot product
TINY = 2.0**-1074


def gamma(k: int) -> float:
    """``gamma_k`` rounded up (the factor covers the rounding of the formula)."""
    return k * U / (1.0 - k * U) * (1.0 + 4.0 * U)


def infl(c, n: int):
    """Upper bound of a nonnegative exact value whose RN evaluation (``n``
    roundings on any path) gave ``c`` (array or float)."""
    return c * (1.0 + 2.0 * (n + 2) * U) + 2.0 * (n + 2) * 2.0**-1060


def nonfinite(*arrs) -> bool:
    return any(a is not None and not np.all(np.isfinite(a)) for a in arrs)


# ---------------------------------------------------------------------------
# matrices
# ---------------------------------------------------------------------------


def mm(A, Ar, B, Br):
    """Enclosure of ``{a b : |a - A| <= Ar, |b - B| <= Br}``: ``(fl(A B), R)``."""
    k = A.shape[-1]
    C = A @ B
    aA, aB = np.abs(A), np.abs(B)
    # + TINY: gamma |b| may round to 0 for a subnormal b; the loss is at most 2^-1075
    # per entry, which a large |a| would otherwise amplify
    inner = gamma(k) * aB + TINY if Br is None else gamma(k) * aB + TINY + Br
    R = aA @ inner
    if Ar is not None:
        R = R + Ar @ (aB if Br is None else aB + Br)
    return C, infl(R + k * UF, 2 * k + 8)


def addsub(A, Ar, B, Br, sign: int):
    C = A + B if sign > 0 else A - B
    R = U * np.abs(C)
    if Ar is not None:
        R = R + Ar
    if Br is not None:
        R = R + Br
    return C, infl(R, 4)


def abs_up(m, r):
    return np.abs(m) if r is None else infl(np.abs(m) + r, 1)


def _ldexp_up(b: float, e: int) -> float:
    """An upper bound of ``b 2^e`` (``b >= 0``): ldexp rounds to nearest (half an
    ulp at most, on underflow too), one nextafter covers it; inf on overflow."""
    try:
        return math.nextafter(math.ldexp(b, e), math.inf)
    except OverflowError:
        return math.inf


def _norm2_up(a: np.ndarray, n: int) -> float:
    """Upper bound of ``sqrt(sum a_i^2)`` for the nonnegative float vector ``a``
    whose sum of squares, evaluated in RN, has at most ``n`` roundings per path.
    Scale-aware: outside ``[2^-400, 2^400]`` the entries are first scaled by a
    power of two (exact when scaling up; scaling down may underflow an entry by
    at most 2^-1075, hence ``+ TINY``), so squares neither overflow nor underflow
    into the additive term of :func:`infl`."""
    if a.size == 0:
        return 0.0
    top = float(np.max(a))
    if top == 0.0:
        return 0.0
    if not math.isfinite(top):
        return math.inf
    e = math.frexp(top)[1]
    if -400 <= e <= 400:
        s = float(infl(float(a @ a), n))
        return math.nextafter(math.sqrt(s), math.inf)
    sa = np.ldexp(a, -e)
    if e > 0:
        sa = sa + TINY
    s = float(infl(float(sa @ sa), n))
    return _ldexp_up(math.nextafter(math.sqrt(s), math.inf), e)


def fro_up(m, r=None) -> float:
    """Upper bound of ``sup ||X||_F`` over the ball ``(m, r)``."""
    a = np.asarray(abs_up(m, r), dtype=np.float64).ravel()
    return _norm2_up(a, a.size + 2)


def fro_diff_up(a: np.ndarray, b: np.ndarray) -> float:
    """Upper bound of ``||a - b||_F`` for float arrays (exact values):
    ``|a - b| = |fl(a - b)| / |1 + e|``, ``|e| <= u``."""
    d = (a - b).ravel()
    if not np.any(d):
        return 0.0
    v = _norm2_up(np.abs(d), d.size + 4)
    return math.nextafter(v * (1.0 + 2.0 * U), math.inf) if math.isfinite(v) else math.inf


def fro_diff_rows_up(D: np.ndarray) -> np.ndarray:
    """Per-slice (first axis) upper bounds of ``||a_t - b_t||_F`` given
    ``D = fl(a - b)`` (exact ``|a - b| <= |fl(a - b)| (1 + 2u)``), scale-aware
    like :func:`fro_up`: slices whose largest entry is outside ``[2^-400,
    2^400]`` are scaled by a power of two first, so tiny differences get a
    bound of their own size (not ``sqrt`` of the underflow allowance, ~1e-159)
    and huge ones no overflow.  Exactly zero slices give 0."""
    D = np.asarray(D, dtype=np.float64)
    t = D.shape[0]
    flat = D.reshape(t, -1)
    n = flat.shape[1]
    if n:
        top = np.maximum(flat.max(axis=1), -flat.min(axis=1))  # max |D| per slice, without |D|
        zero = top == 0.0
        if np.all((top >= 2.0**-401) & (top < 2.0**400) | zero):
            # common case, no scaling (frexp exponents in [-400, 400]): one pass
            ss = np.einsum("ti,ti->t", flat, flat)
            b = np.nextafter(np.sqrt(infl(ss, n + 4)), np.inf)
            out = np.nextafter(b * (1.0 + 2.0 * U), np.inf)
            out[zero] = 0.0
            return out
    flat = np.abs(flat)
    top = flat.max(axis=1) if n else np.zeros(t)
    e = np.frexp(top)[1].astype(np.int64)
    e[(e >= -400) & (e <= 400) | (top == 0) | ~np.isfinite(top)] = 0
    sc = np.ldexp(flat, -e[:, None])
    sc = np.where((e > 0)[:, None], sc + TINY, sc)
    ss = np.einsum("ti,ti->t", sc, sc)
    b = np.nextafter(np.sqrt(infl(ss, n + 4)), np.inf)
    with np.errstate(over="ignore"):
        out = np.nextafter(np.ldexp(b, e), np.inf)
        out = np.nextafter(out * (1.0 + 2.0 * U), np.inf)
    out[~np.isfinite(top)] = np.inf
    out[top == 0] = 0.0
    return out


def vec_norm_up(parts) -> float:
    """Upper bound of ``sqrt(sum x_i^2)`` for nonnegative floats ``x_i``."""
    a = np.asarray([float(x) for x in parts], dtype=np.float64)
    return _norm2_up(a, 2 * len(a) + 2)


def exact_enclosure(Q) -> tuple:
    """Float mid-rad enclosure of an exact rational matrix (python-flint ``fmpq_mat``)."""
    rows, cols = Q.nrows(), Q.ncols()
    m = np.empty((rows, cols))
    r = np.zeros((rows, cols))
    for i in range(rows):
        for j in range(cols):
            q = Q[i, j]
            fr = Fraction(int(q.p), int(q.q))
            f = float(fr)
            m[i, j] = f
            d = abs(Fraction(f) - fr)
            r[i, j] = math.nextafter(float(d), math.inf) if d else 0.0
    return m, (r if np.any(r) else None)


SQUARINGS = 6


def spec2_up(m, r=None) -> float:
    """Upper bound of ``sup ||X||_2`` over the ball ``(m, r)``: the minimum of
    ``||X||_F``, ``sqrt(||X||_1 ||X||_inf)`` and the renormalised power bound
    ``lambda_max(B) <= (||(B s_0)^2 ...||_F ...)`` with ``B = X^T X`` (or
    ``X X^T``), ``SQUARINGS`` squarings, each of ``B_i s_i`` with a float scale
    ``s_i`` against under/overflow: ``L_i <= sqrt(L_{i+1}) / s_i``."""
    from flint import arb

    top = float(np.max(np.abs(m))) + (0.0 if r is None else float(np.max(r)))
    if top == 0.0:
        return 0.0
    if not math.isfinite(top):
        return math.inf
    e = math.frexp(top)[1]
    if abs(e) > 200:
        # power-of-two scaling to top ~ 1 with np.ldexp (no 2^-e as a float: that
        # overflows for top < 2^-1024).  Scaling up is exact; scaling down may make an
        # entry underflow, by at most 2^-1075 (covered by the TINY radius).  Rounding
        # the scaled-back bound (ldexp, nearest) errs by at most half an ulp: nextafter.
        ms = np.ldexp(np.asarray(m, dtype=np.float64), -e)
        if e > 0:
            rs = np.full(m.shape, TINY) if r is None else np.ldexp(r, -e) + TINY
        else:
            rs = None if r is None else np.ldexp(r, -e)
        b = spec2_up(ms, rs)
        return _ldexp_up(b, e) if math.isfinite(b) else math.inf
    a = abs_up(m, r)
    fro = fro_up(m, r)
    n1 = float(infl(float(a.sum(axis=0).max()), a.shape[0] + 2))
    ni = float(infl(float(a.sum(axis=1).max()), a.shape[1] + 2))
    best = min(fro, math.nextafter(math.sqrt(float(infl(n1 * ni, 1))), math.inf))
    if min(m.shape) == 1 or best == 0.0:
        return best
    mT = m.T
    rT = None if r is None else r.T
    if m.shape[1] <= m.shape[0]:
        B, Br = mm(mT, rT, m, r)
    else:
        B, Br = mm(m, r, mT, rT)
    logs = []
    for _ in range(SQUARINGS):
        c = fro_up(B, Br)
        if c == 0.0:
            return 0.0
        if not math.isfinite(c):
            return best
        s = 1.0 / c  # any positive float: the scale is exact as stored
        Bm = B * s
        R = U * np.abs(Bm) + TINY
        if Br is not None:
            R = R + Br * s * (1.0 + 2.0 * U)
        Br = infl(R, 4)
        B = Bm
        logs.append(s)
        B, Br = mm(B, Br, B, Br)
    last = fro_up(B, Br)
    if last == 0.0:
        return 0.0
    L = arb(last).log()
    for s in reversed(logs):
        L = L / 2 - arb(s).log()
    bound = (L / 2).exp()  # ||X||_2 = sqrt(lambda_max(B_0))
    return min(best, hi(bound))


# ---------------------------------------------------------------------------
# scalars (arb)
# ---------------------------------------------------------------------------


def hi(a) -> float:
    v = float(a.upper())
    return math.nextafter(v, math.inf) if math.isfinite(v) else math.inf


def lo(a) -> float:
    v = float(a.lower())
    return math.nextafter(v, -math.inf) if math.isfinite(v) else -math.inf


def qarb(q: Fraction):
    from flint import arb, fmpq

    return arb(fmpq(q.numerator, q.denominator))


def frac_up(q: Fraction) -> float:
    """The smallest float >= the rational ``q``."""
    f = float(q)
    return math.nextafter(f, math.inf) if Fraction(f) < q else f
