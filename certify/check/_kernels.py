"""The checker's own transcendental kernels for the kernel losses (gap-v2.md section 8):
a rigorous ``exp`` on float64 arrays, the softmax of logit balls, and enclosures of the
softmax cross-entropy and logistic gradients.  Independent of :mod:`certify.losses`:
written from the contract, on the checker's own arithmetic (:mod:`._arith`).

Model: IEEE binary64, round to nearest (never switched), ``u = 2^-53``, ``TINY = 2^-1074``.
Every numpy ufunc call (``+ - * /``, ``abs``, ``rint``) is one IEEE operation (one rounding at
most); for ``fl(a op b)``: ``|fl - exact| <= u |fl| + TINY`` (the ``TINY`` only for products
and quotients in the subnormal range; sums and differences are exact there).
numpy's ``exp``/``log`` appear only in estimates (:func:`ce_grad_float` and the loss value),
never in a radius.

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

Computed radii are evaluated in RN from nonnegative floats and then inflated with
:func:`certify.check._arith.infl` for the number of roundings on any path.
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


# ---------------------------------------------------------------------------
# elementwise balls (mid, rad); rad None means 0
# ---------------------------------------------------------------------------


def ball_mul(am, ar, bm, br):
    """``{a b}`` for ``a`` in ``(am, ar)``, ``b`` in ``(bm, br)``: ``|ab - am bm| <= |am| br + ar (|bm| + br)``."""
    c = am * bm
    R = U * np.abs(c) + TINY
    if br is not None:
        R = R + np.abs(am) * br
    if ar is not None:
        R = R + ar * (np.abs(bm) if br is None else np.abs(bm) + br)
    return c, infl(R, 6)


def mm_exact(Am, Ar, B, aB):
    """``(fl(Am B), R)`` enclosing ``A' B`` for every ``A'`` in the ball ``(Am, Ar)`` and the exact
    float matrix ``B`` (``aB = |B|``): Higham's ``|fl(A B) - A B| <= gamma_k |A||B| + k 2^-1073``
    (any summation order, FMA or not, underflow included), so ``R = (gamma_k |Am| + TINY + Ar) |B|
    + k 2^-1073`` (the ``TINY`` covers ``gamma_k |a|`` underflowing), inflated for its own ``2k + 8``
    roundings.  One product for the radius (:func:`certify.check._arith.mm` takes two)."""
    k = Am.shape[-1]
    C = Am @ B
    F = A.gamma(k) * np.abs(Am) + TINY
    if Ar is not None:
        F = F + Ar
    return C, infl(F @ aB + k * A.UF, 2 * k + 8)


def conv_ball(am, aa, ar, bm, ab, br, spec: str):
    """``sum_j a_j b_j`` (``np.einsum`` subscripts ``spec``, ``j`` the summed first axis) for balls
    ``a`` = ``(am, ar)``, ``b`` = ``(bm, br)`` (``aa = |am|``, ``ab = |bm|``): the float sum of
    ``k`` products errs by ``gamma_k sum |a_j||b_j| + k TINY`` in any order; the balls add
    ``sum |a_j| br_j + ar_j (|b_j| + br_j)``; the radius is inflated for its ``2k + 8`` roundings."""
    k = am.shape[0]
    c = np.einsum(spec, am, bm)
    R = A.gamma(k) * np.einsum(spec, aa, ab) + np.einsum(spec, aa, br) + np.einsum(spec, ar, ab + br) + k * TINY
    return c, infl(R, 2 * k + 8)


def ball_sum(m, r, axis, keepdims=False):
    """Sum along ``axis``: ``|fl(sum) - sum| <= gamma_n sum |x_i|`` (any order)."""
    n = m.shape[axis]
    s = m.sum(axis=axis, keepdims=keepdims)
    R = A.gamma(n) * np.abs(m).sum(axis=axis, keepdims=keepdims)
    if r is not None:
        R = R + r.sum(axis=axis, keepdims=keepdims)
    return s, infl(R, n + 4)


def ball_div_pos(nm, nr, sm, sr):
    """``{n / s}`` for ``n`` in ``(nm, nr)`` and ``s`` in ``(sm, sr)`` with ``sm - sr > 0``:
    ``|n/s - nm/sm| <= (nr + |nm/sm| sr) / (sm - sr)``; ``|nm/sm| <= |q| (1 + u) + TINY``."""
    slo = dn(sm - (0.0 if sr is None else sr))  # <= the exact difference when it is >= 0 (else < 0)
    if not np.all(slo > 0):
        raise CertificateError("softmax enclosure: a column sum is not bounded away from 0")
    q = nm / sm
    aq = np.abs(q)
    num = U * aq * slo  # the quotient's own rounding, scaled back below
    if nr is not None:
        num = num + nr
    if sr is not None:
        num = num + (aq * (1.0 + 2.0 * U) + TINY) * sr
    return q, infl(num / slo + TINY, 8)


def _nd(a):
    """A lower bound of the nonnegative exact ``x`` whose RN rounding is ``a`` (:func:`dn`)."""
    return dn(a)


def _nu(a):
    """An upper bound of the nonnegative exact ``x`` whose RN rounding is ``a`` (:func:`up`)."""
    return up(a)


def _sum_down(a, axis):
    """A lower bound of the exact sum of the nonnegative floats ``a`` along ``axis``: the RN sum
    is at most ``(1 + u)^(n-1)`` times it, so ``fl(sum) (1 - (n + 1) u)`` (itself rounded: one more)
    is below it; underflow only rounds sums of multiples of 2^-1074 exactly."""
    n = a.shape[axis]
    return np.maximum(_nd(a.sum(axis=axis, keepdims=True) * (1.0 - (n + 1) * U)), 0.0)


def two_diff(a, b):
    """``(d, err)`` with ``d = fl(a - b)`` and ``a - b = d + err`` exactly (Knuth's TwoSum on
    ``a + (-b)``: six RN operations, error-free for binary floating point without overflow;
    additions are exact in the subnormal range)."""
    nb = -b
    d = a + nb
    bb = d - a
    err = (a - (d - bb)) + (nb - bb)
    return d, err


def shifted(Zm, Zr, f):
    """``Z - f`` for the ball ``(Zm, Zr)`` and exact doubles ``f``: ``(fl(Zm - f), Zr + |err|)``."""
    Dm, err = two_diff(Zm, f)
    Dr = np.abs(err) if Zr is None else infl(Zr + np.abs(err), 1)
    return Dm, Dr


def softmax_ball(Zm, Zr=None, axis: int = -2):
    """Columnwise softmax (classes along ``axis``) of every logit array in the ball ``(Zm, Zr)``:
    ``(pm, pr)``.  The shift by the midpoints' column maximum ``f`` (an exact double per column;
    softmax is invariant under any common shift) gives ``D = fl(Zm - f) <= 0`` with radius
    ``Zr + |err|`` (:func:`two_diff`: the subtraction's exact error); ``e = exp(D)`` in balls, ``[el, eh]`` its interval; and since
    ``p_c = e_c / (e_c + rest_c)`` increases with ``e_c`` and decreases with ``rest_c = sum of the
    others``: ``el_c / (el_c + rest_hi) <= p_c <= eh_c / (eh_c + rest_lo)`` (every operation
    rounded outward by one float: :func:`_nd`, :func:`_nu`).  Tight for wide balls too."""
    Dm, Dr = shifted(Zm, Zr, Zm.max(axis=axis, keepdims=True))
    em, er = exp_ball(Dm, Dr)
    return _softmax_interval(em, er, axis)


def _softmax_interval(em, er, axis):
    el = np.maximum(_nd(em - er), 0.0)
    eh = _nu(em + er)
    n = em.shape[axis]
    s_lo = _sum_down(el, axis)
    s_hi = _nu(infl(eh.sum(axis=axis, keepdims=True), n + 2))
    rest_lo = np.maximum(_nd(s_lo - el), 0.0)
    rest_hi = _nu(s_hi - eh)
    den = _nu(el + rest_hi)
    with np.errstate(invalid="ignore", divide="ignore"):
        lo = np.where(den > 0, np.maximum(_nd(el / np.where(den > 0, den, 1.0)), 0.0), 0.0)
        den2 = _nd(eh + rest_lo)  # > 0: eh >= 2^-1074 and the sum of two nonnegative floats
        hi = np.minimum(_nu(eh / den2), 1.0)
    pm = 0.5 * (lo + hi)
    pr = _nu(np.maximum(hi - pm, pm - lo))
    return pm, pr


# ---------------------------------------------------------------------------
# the gradients (entrywise enclosures)
# ---------------------------------------------------------------------------


def _times_XT_over_m(Qm, Qr, X, aXT=None):
    """``(Q X^T) / m`` for the ball ``Q`` and the exact data ``X`` (``d_0 x m``; ``aXT = |X^T|``)."""
    m = X.shape[1]
    Cm, Cr = mm_exact(Qm, Qr, X.T, np.abs(X.T) if aXT is None else aXT)
    Gm = Cm / m
    return Gm, infl(Cr / m + U * np.abs(Gm) + TINY, 3)


def column_sums(Y) -> tuple[np.ndarray, np.ndarray | None, Fraction]:
    """``s_i = sum_c Y_ci`` exactly (rationals of the doubles): ``(nearest doubles, radii or None
    when all exact, max_i s_i)``."""
    Y = np.asarray(Y, dtype=np.float64)
    ex = [sum((Fraction(float(v)) for v in Y[:, i]), Fraction(0)) for i in range(Y.shape[1])]
    sm = np.array([float(s) for s in ex])
    sr = np.array([A.frac_up(abs(Fraction(f) - s)) if Fraction(f) != s else 0.0 for f, s in zip(sm, ex)])
    return sm, (sr if np.any(sr) else None), max(ex) if ex else Fraction(0)


def ce_gradient_ball(Pm, Pr, X, Y, s=None, aX=None, aXT=None):
    """Enclosure ``(Gm, Gr)`` of ``grad l(P') = (1/m)(softmax(P' X) diag(s) - Y) X^T`` for every
    ``P'`` with ``|P' - Pm| <= Pr`` (``Pr`` None: the point ``Pm``).  ``Pm`` may be stacked
    ``(..., d_N, d_0)``.  ``s = (sm, sr)`` the column sums (:func:`column_sums`; computed when
    None, ``sr`` None when exact)."""
    X = np.asarray(X, dtype=np.float64)
    Y = np.asarray(Y, dtype=np.float64)
    if s is None:
        sm_, sr_, _ = column_sums(Y)
        s = (sm_, sr_)
    sm, sr = s
    Zm, Zr = mm_exact(Pm, Pr, X, np.abs(X) if aX is None else aX)
    pm, pr = softmax_ball(Zm, Zr)
    if sr is None and np.all(sm == 1.0):
        qm, qr = pm, pr
    else:
        qm, qr = ball_mul(pm, pr, sm, sr)
    Qm, Qr = A.addsub(qm, qr, Y, None, -1)
    return _times_XT_over_m(Qm, Qr, X, aXT)


def logistic_rows(zm, zr, y):
    """The two-class logits ``(0, -y z)`` of the logistic loss (exact: a sign flip), stacked on
    the class axis ``-2``, from ``z`` of shape ``(..., 1, m)``."""
    t = -y * zm[..., 0, :]
    Lm = np.stack([np.zeros_like(t), t], axis=-2)
    if zr is None:
        return Lm, None
    tr = zr[..., 0, :]
    return Lm, np.stack([np.zeros_like(tr), tr], axis=-2)


def logistic_gradient_ball(Pm, Pr, X, y, aX=None, aXT=None):
    """Enclosure of ``grad l(P') = (1/m)(-y * sigma(-y z)) X^T``, ``z = P' X`` (``d_N = 1``, ``y``
    in ``{-1, +1}``) for every ``P'`` in the ball: ``sigma(t) = softmax((0, t))_2``."""
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    Zm, Zr = mm_exact(Pm, Pr, X, np.abs(X) if aX is None else aX)
    Lm, Lr = logistic_rows(Zm, Zr, y)
    pm, pr = softmax_ball(Lm, Lr)
    qm = (-y * pm[..., 1, :])[..., None, :]
    qr = pr[..., 1, :][..., None, :]
    return _times_XT_over_m(qm, qr, X, aXT)


# ---------------------------------------------------------------------------
# float evaluations (estimates; section 8's G^ and loss)
# ---------------------------------------------------------------------------


def ce_grad_float(P, X, XT, Y, s, one: bool):
    """``G^``: a float64 evaluation of the cross-entropy gradient, the stable softmax
    (logits shifted by their column maximum), numpy's ``exp``."""
    Z = P @ X
    E = np.exp(Z - Z.max(axis=-2, keepdims=True))
    p = E / E.sum(axis=-2, keepdims=True)
    Q = (p if one else p * s) - Y
    return (Q @ XT) / X.shape[1]


def logistic_grad_float(P, X, XT, y):
    t = -y * (P @ X)[..., 0, :]
    e = np.exp(-np.abs(t))
    sig = np.where(t >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
    return ((-y * sig)[..., None, :] @ XT) / X.shape[1]


def ce_loss_float(P, X, Y) -> float:
    """``-(1/m) sum_i sum_c Y_ci log softmax(P x_i)_c`` in float64 (log-sum-exp)."""
    Z = P @ X
    D = Z - Z.max(axis=0, keepdims=True)
    lse = np.log(np.exp(D).sum(axis=0, keepdims=True))
    return float(np.sum(Y * (lse - D)) / X.shape[1])


def logistic_loss_float(P, X, y) -> float:
    t = -y * (P @ X)[0]
    return float(np.sum(np.maximum(t, 0.0) + np.log1p(np.exp(-np.abs(t)))) / X.shape[1])


# ---------------------------------------------------------------------------
# the constants of section 8
# ---------------------------------------------------------------------------


def loss_constants(X, c: Fraction, d_N: int) -> tuple[float, float]:
    """``(s_G, s_F)`` upper floats: ``s_G = c ||X||_2 min(||X||_F, sqrt(min(d_0, d_N)) ||X||_2) / m``,
    ``s_F = c ||X||_2^2 / m`` (gap-v2.md section 8), with the checker's own spectral bound."""
    from flint import arb

    X = np.asarray(X, dtype=np.float64)
    d0, m = X.shape
    x2, xf = arb(A.spec2_up(X)), arb(A.fro_up(X))
    C = A.qarb(Fraction(c))
    alt = arb(min(d0, d_N)).sqrt() * x2
    second = xf if A.hi(xf) <= A.hi(alt) else alt
    return A.hi(C * x2 * second / m), A.hi(C * x2 * x2 / m)
