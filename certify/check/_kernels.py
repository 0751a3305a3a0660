"""The checker's own transcendental kernels for the kernel losses (gap-v2.md section 8):
the softmax of logit balls (on the rigorous ``exp`` of :mod:`._exp`), and enclosures of the
softmax cross-entropy and logistic gradients.  Independent of :mod:`certify.losses`:
written from the contract, on the checker's own arithmetic (:mod:`._arith`).

Model: IEEE binary64, round to nearest (never switched), ``u = 2^-53``, ``TINY = 2^-1074``.
Every numpy ufunc call (``+ - * /``, ``abs``, ``rint``) is one IEEE operation (one rounding at
most); for ``fl(a op b)``: ``|fl - exact| <= u |fl| + TINY`` (the ``TINY`` only for products
and quotients in the subnormal range; sums and differences are exact there).
numpy's ``exp``/``log`` appear only in estimates (:func:`ce_grad_float` and the loss value),
never in a radius.

Computed radii are evaluated in RN from nonnegative floats and then inflated with
:func:`certify.check._arith.infl` for the number of roundings on any path.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from .._errors import CertificateError
from . import _arith as A

U, TINY = A.U, A.TINY
infl = A.infl
from ._exp import dn, exp_ball, up


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
