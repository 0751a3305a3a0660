"""Rigorous Taylor models of the cross-entropy / logistic gradient along a polynomial curve (issue 12 item
3; lemma ``S4.3-ce-series``, ``proofs/ce_gradient_series.py``): the recursion of
:mod:`certify.losses.series` run in float64 midpoint-radius ball arithmetic with the a-priori bounds of
S4.6 and the proven exp kernel of :mod:`certify.losses._kernels`, at ``s = 0`` (the coefficients) and at
the interval point ``[0, h]`` (the Lagrange remainder).  See :mod:`certify.losses.series` for the
recursion and the statement; :class:`GradientSeriesEnclosure` and :func:`enclose_gradient_series` are the
entry points."""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from .._claims import U, up
from .._errors import BlowUpError, UsageError
from ..arith import ETA, F64Mat, gamma
from . import series as _S
from ._kernels import exp_ball, nd, nu
from .series import _as_coeff_stack, _kind, _logit_rows


# ---------------------------------------------------------------------------
# float64 midpoint-radius balls on arrays (S4.6; the bounds of certify.arith._float64.F64Mat)
# ---------------------------------------------------------------------------
# A ball is a pair (m, r) of arrays: {x : |x - m| <= r} entrywise.  Every radius is computed in
# round-to-nearest and then inflated by certify._claims.up for its number of roundings.


def _b_conv(Am, Ar, Bm, Br):
    """Ball of ``sum_j a_j b_j`` (elementwise products, summed over axis 0; broadcasting allowed):
    ``|C - sum am bm| <= gamma_n sum |am||bm| + n eta`` (an inner product of ``n`` terms, any
    order, Higham Thm 3.5 with underflow) plus the input radii
    ``sum |am| br + ar (|bm| + br)``."""
    n = max(Am.shape[0], Bm.shape[0])
    aA, aB = np.abs(Am), np.abs(Bm)
    C = np.sum(Am * Bm, axis=0)
    R = gamma(n) * np.sum(aA * aB, axis=0) + np.sum(aA * Br + Ar * (aB + Br), axis=0) + n * ETA
    return C, up(R, 2 * n + 10)


def _b_mul(am, ar, bm, br):
    """Ball of ``a b`` (elementwise)."""
    C = am * bm
    R = np.abs(am) * br + ar * (np.abs(bm) + br) + U * np.abs(C) + ETA
    return C, up(R, 8)


def _b_sub(am, ar, bm, br):
    C = am - bm
    return C, up(ar + br + U * np.abs(C), 3)


def _b_div_int(am, ar, k: int):
    """Ball of ``a / k`` for a positive integer ``k <= 2^53`` (exact as a double)."""
    C = am / k
    return C, up(ar / k + U * np.abs(C) + ETA, 4)


def _b_from_interval(lo, hi):
    m = 0.5 * lo + 0.5 * hi
    return m, np.maximum(np.maximum(nu(hi - m), nu(m - lo)), 0.0)


def _b_colsum(Em, Er):
    """Ball of the column sums (axis 0 of a ``(d, m)`` ball): ``gamma_d sum |e|`` plus the radii."""
    d = Em.shape[0]
    C = Em.sum(axis=0)
    R = Er.sum(axis=0) + gamma(d) * np.abs(Em).sum(axis=0)
    return C, up(R, d + 4)


def _b_exp_shifted(zm, zr):
    """Ball of ``exp(z - M)``, ``M`` = the column max of the midpoints (exact doubles): the
    difference ``v = fl(zm - M)`` has ``|fl(a - b) - (a - b)| <= u |fl(a - b)|``, then
    :func:`._kernels.exp_ball` (proven, ``proofs/ce_exp_kernel.py``)."""
    M = zm.max(axis=0)
    v = zm - M
    vr = up(zr + U * np.abs(v), 2)
    lo, hi = exp_ball(v, vr)
    return _b_from_interval(lo, hi)


def _conv_k(Am, aA, Ar, Bm, GB, AB, k: int):
    """:func:`_b_conv` of ``a_1..a_k`` with ``b_{k-1}..b_0`` (stacks indexed by order, ``a`` from
    1), with ``GB = g |bm| + br`` (``g >= gamma_k``) and ``AB = |bm| + br`` precomputed:
    ``R = sum |am| GB + ar AB + k eta`` is the bound of :func:`_b_conv`.  einsum over the order
    (that bound holds for any summation order)."""
    sl = slice(1, k + 1)
    rv = slice(k - 1, None, -1) if k > 1 else slice(0, 1)
    C = np.einsum("j...,j...->...", Am[sl], Bm[rv])
    R = np.einsum("j...,j...->...", aA[sl], GB[rv]) + np.einsum("j...,j...->...", Ar[sl], AB[rv]) + k * ETA
    return C, up(R, 2 * k + 10)


def _reference_shift(Lm, Lr):
    """``V = L - L[ref]`` for every order (``ref`` the argmax class of the order-0 midpoints, per
    column) as balls, with exact zeros in the reference row: softmax is invariant under adding
    one series per column to all classes, so ``softmax(V(s)) = softmax(L(s))`` for every ``s``,
    and the common motion of the logits (which would inflate the exponentials' coefficients and
    their radii) is removed.  ``|fl(a - b) - (a - b)| <= u |fl(a - b)|``."""
    cols = np.arange(Lm.shape[2])
    ref = np.argmax(Lm[0], axis=0)
    Vm = Lm - Lm[:, ref, cols][:, None, :]
    Vr = up(Lr + Lr[:, ref, cols][:, None, :] + U * np.abs(Vm), 3)
    Vm[:, ref, cols] = 0.0
    Vr[:, ref, cols] = 0.0
    return Vm, Vr


def _softmax_balls(Zm, Zr, K: int):
    """Balls of the softmax coefficients ``0..K-1`` from the logit-row coefficient balls
    ``(Zm, Zr)`` (``(K, d, m)``): the module docstring's recursion in ball arithmetic, after
    :func:`_reference_shift`."""
    Zm, Zr = _reference_shift(Zm[:K], Zr[:K])
    d, m = Zm.shape[1], Zm.shape[2]
    g = gamma(K)  # >= gamma_k for every k < K
    Em, Er = np.empty((K, d, m)), np.empty((K, d, m))
    GE, AE = np.empty((K, d, m)), np.empty((K, d, m))

    def done_e(k):
        a = np.abs(Em[k])
        GE[k] = g * a + Er[k]
        AE[k] = a + Er[k]

    Em[0], Er[0] = _b_exp_shifted(Zm[0], Zr[0])
    done_e(0)
    # j z_j as balls (j <= K is an exact double)
    JZm, JZr = np.zeros_like(Zm), np.zeros_like(Zr)
    for j in range(1, K):
        w = _S._exp_weight(j)  # looked up at call time: one definition (the float series')
        JZm[j] = Zm[j] * w
        JZr[j] = up(Zr[j] * w + U * np.abs(JZm[j]) + ETA, 3)
    aJZ = np.abs(JZm)
    for k in range(1, K):
        Cm, Cr = _conv_k(JZm, aJZ, JZr, Em, GE, AE, k)
        Em[k], Er[k] = _b_div_int(Cm, Cr, k)
        done_e(k)
    Sm, Sr = np.empty((K, m)), np.empty((K, m))
    for k in range(K):
        Sm[k], Sr[k] = _b_colsum(Em[k], Er[k])
    lo0 = nd(Sm[0] - Sr[0])
    if not np.all(lo0 > 0.0):
        raise BlowUpError("softmax series: the column sum of the exponentials is not bounded away from 0")
    with np.errstate(under="ignore"):
        inv_m, inv_r = _b_from_interval(nd(1.0 / nu(Sm[0] + Sr[0])), nu(1.0 / lo0))
    Pm, Pr = GE, AE  # the exponentials' companions are no longer needed: reuse the memory
    GP, AP = np.empty((K, d, m)), np.empty((K, d, m))

    def done_p(k):
        a = np.abs(Pm[k])
        GP[k] = g * a + Pr[k]
        AP[k] = a + Pr[k]

    Pm[0], Pr[0] = _b_mul(Em[0], Er[0], inv_m, inv_r)
    done_p(0)
    Sm3, Sr3 = Sm[:, None, :], Sr[:, None, :]
    aS3 = np.abs(Sm3)
    for k in range(1, K):
        Tm, Tr = _conv_k(Sm3, aS3, Sr3, Pm, GP, AP, k)
        Nm, Nr = _b_sub(Em[k], Er[k], Tm, Tr)
        Pm[k], Pr[k] = _b_mul(Nm, Nr, inv_m, inv_r)
        done_p(k)
    if not (np.all(np.isfinite(Pm)) and np.all(np.isfinite(Pr))):
        raise BlowUpError("softmax series: the ball coefficients overflowed")
    return Pm, Pr


def _q_balls(loss, Pm, Pr, with_y: bool):
    """Balls of ``dl/dz`` coefficients (``(K, d_N, m)``); ``with_y``: order 0 carries ``-Y``."""
    if _kind(loss) == "logistic":
        return (-loss.y * Pm[:, 1])[:, None, :], Pr[:, 1][:, None, :].copy()
    if loss.one_hot:
        Qm, Qr = Pm.copy(), Pr.copy()
    else:
        s_m, s_r = _b_from_interval(loss.s_lo, loss.s_hi)
        Qm, Qr = _b_mul(Pm, Pr, s_m[None, None, :], s_r[None, None, :])
    if with_y:
        Qm[0], Qr[0] = _b_sub(Qm[0], Qr[0], loss.Y, np.zeros_like(loss.Y))
    return Qm, Qr


def _grad_balls(loss, Qm, Qr):
    """Balls ``(1/m) Q_k X^T`` for all ``k`` at once (one ball product, then ``1/m``)."""
    K, dN, m = Qm.shape
    _, XT, aXT = loss._abs_data()
    C, R = loss._ball_product(Qm.reshape(K * dN, m), Qr.reshape(K * dN, m), XT, aXT)
    G = F64Mat(C, R) * Fraction(1, m)
    return G.m.reshape(K, dN, loss.d_in), G.r.reshape(K, dN, loss.d_in)


def _z_balls(loss, Wm, Wr):
    """Balls of ``z_i = w_i X`` for all ``i`` (``(n+1, d_N, m)``)."""
    n1, dN, d0 = Wm.shape
    aX, _, _ = loss._abs_data()
    C, R = loss._ball_product(Wm.reshape(n1 * dN, d0), Wr.reshape(n1 * dN, d0), loss.X, aX)
    return C.reshape(n1, dN, loss.m), R.reshape(n1, dN, loss.m)


def _binom_up(i: int, k: int) -> float:
    c = math.comb(i, k)
    f = float(c)
    return f if Fraction(f) >= c else math.nextafter(f, math.inf)


def _shifted_z_balls(Zm, Zr, hp: np.ndarray, K: int):
    """Balls containing ``z_k(xi) = sum_{i>=k} C(i,k) z_i xi^(i-k)`` for every ``xi`` in
    ``[0, h]`` (``k < K``): ``xi^j`` lies in the ball ``(c_j, c_j)``, ``2 c_j >= h^j``
    (``hp[j] >= h^j``), so ``C(i,k) xi^(i-k)`` lies in the ball ``(A_ki, A_ki)`` with
    ``A_ki >= C(i,k) h^(i-k) / 2`` (``A_kk = 1`` exactly, radius 0), and the sum of products is
    the ball of :func:`_b_conv`, written as matrix products over the order index:
    ``mid = A @ zm`` (an inner product of ``n`` terms per entry, any order: ``gamma_n``) and
    ``rad = (gamma_n A + Ar) @ |zm| + (A + Ar) @ zr + n eta``."""
    n1 = Zm.shape[0]
    A = np.zeros((K, n1))
    Ar = np.zeros((K, n1))
    for k in range(min(K, n1)):
        A[k, k] = 1.0
        for i in range(k + 1, n1):
            A[k, i] = Ar[k, i] = float(nu(0.5 * up(_binom_up(i, k) * hp[i - k], 1)))
    shape = Zm.shape[1:]
    zm, zr = Zm.reshape(n1, -1), Zr.reshape(n1, -1)
    C = A @ zm
    R = up((gamma(n1) * A + Ar) @ np.abs(zm) + (A + Ar) @ zr + n1 * ETA, 2 * n1 + 12)
    return C.reshape((K,) + shape), R.reshape((K,) + shape)


def _h_up(h) -> float:
    if isinstance(h, Fraction):
        f = float(h)
        if Fraction(f) < h:
            f = math.nextafter(f, math.inf)
    else:
        f = float(h)
    if not (math.isfinite(f) and f >= 0):
        raise UsageError(f"h must be finite and >= 0, got {h!r}")
    return f


def _powers_up(h: float, n: int) -> np.ndarray:
    """``hp[j] >= h^j``, ``j = 0..n``: ``hp[j] = up(fl(hp[j-1] h), 1)`` (induction: one rounding)."""
    hp = np.empty(n + 1)
    hp[0] = 1.0
    for j in range(1, n + 1):
        hp[j] = up(hp[j - 1] * h, 1)
    return hp


@dataclass
class GradientTM:
    """A Taylor model of ``s -> grad l(W(s))`` on ``[0, h]`` (``h <= self.h``).

    ``mid[k] +- rad[k]`` (``(q+1, d_N, d_0)``, entrywise) contain the exact Taylor coefficients;
    ``rem_entry`` (``d_N x d_0``) bounds the truncation remainder entrywise on ``[0, h]``,
    ``r_poly >= ||rem_entry||_F``; ``r_input = L r_W`` is the part from the remainder of ``W``
    (Frobenius); :attr:`remainder` ``= r_poly + r_input`` (rounded up).  Coefficients of order
    ``> q`` of the *specific* ``W`` are all in the remainder."""

    mid: np.ndarray
    rad: np.ndarray
    rem_entry: np.ndarray
    r_poly: float
    r_input: float
    h: float
    order: int
    lemmas: tuple = ("S4.3-ce-series", "S2.2-ce-bound", "S4.6-exp")

    @property
    def remainder(self) -> float:
        return float(nu(up(self.r_poly + self.r_input, 1)))

    def coefficient(self, k: int) -> F64Mat:
        return F64Mat(self.mid[k], self.rad[k])

    def coefficient_norms(self) -> np.ndarray:
        """``n_k >= ||g~_k||_F`` for every ``g~_k`` in the ball ``k``."""
        return np.array([F64Mat(self.mid[k], self.rad[k]).norm_f_upper() for k in range(self.order + 1)])

    def alpha(self, h=None) -> np.ndarray:
        """``alpha_k >= ||g~_k||_F h^k`` (``h`` defaults to the model's; certify._flow's ``_TM``)."""
        hf = self.h if h is None else _h_up(h)
        return up(self.coefficient_norms() * _powers_up(hf, self.order), 3)

    def sup_norm(self) -> float:
        """``>= sup_{[0,h]} ||grad l(W(s))||_F``."""
        a = self.alpha()
        return float(nu(up(float(np.sum(a)) + self.remainder, len(a) + 2)))

    def evaluate(self, s) -> F64Mat:
        """A ball containing ``grad l(W(s))`` for ``s`` in ``[0, h]`` (Horner on the coefficient
        balls at the double ``s`` (or rational, enclosed), plus the remainders: the entrywise one and
        ``r_input``, a Frobenius bound hence an entrywise one)."""
        sf = Fraction(s)
        if sf < 0 or sf > Fraction(self.h):
            raise UsageError(f"s = {float(sf)} outside [0, h = {self.h}]")
        acc = F64Mat(self.mid[self.order], self.rad[self.order])
        for k in range(self.order - 1, -1, -1):
            acc = acc * sf + F64Mat(self.mid[k], self.rad[k])
        extra = up(self.rem_entry + self.r_input, 1)
        return F64Mat(acc.m, up((np.zeros_like(acc.m) if acc.r is None else acc.r) + extra, 1))


def enclose_gradient_series(loss, W, h, *, order: int | None = None, W_rad=None,
                            W_remainder: float = 0.0, extra: int = 3) -> GradientTM:
    """Rigorous Taylor model of ``grad l(W(s))`` on ``s in [0, h]`` (module docstring; lemma
    ``S4.3-ce-series``): ``GradientSeriesEnclosure(loss, W, ...).taylor_model(h, W_remainder)``.

    ``W``: coefficients ``(n+1, d_N, d_0)`` of the polynomial ``W(s)`` (doubles, taken exactly;
    ``W_rad`` entrywise radii: any polynomial with coefficients in those balls); ``order`` ``q``
    (default ``n``); ``h`` a float or :class:`~fractions.Fraction` ``>= 0``; ``W_remainder``
    ``r_W >= sup_{[0,h]} ||W(s) - W~(s)||_F`` for a curve that is a polynomial only up to that.
    ``extra`` ``e >= 0``: the orders ``q+1..q+e`` are enclosed at ``s = 0`` (tight) and summed into
    the remainder, and only order ``q+e+1`` is enclosed at the interval point ``[0, h]`` (whose
    ball arithmetic overestimates by a factor growing with ``h``; ``h^e`` makes it negligible).
    Raises :class:`certify.BlowUpError` when the enclosure leaves the float64 range."""
    hf = _h_up(h)  # a bad h is a usage error before any work
    return GradientSeriesEnclosure(loss, W, order=order, W_rad=W_rad, extra=extra).taylor_model(hf, W_remainder)


class GradientSeriesEnclosure:
    """The part of :func:`enclose_gradient_series` that does not depend on ``h``: the logit
    coefficient balls and the gradient coefficient balls at ``s = 0`` (orders ``0..q+e``), computed
    once; :meth:`taylor_model` adds the interval-point remainder for a given ``h`` (a step-size
    search tries several ``h`` along one curve at the cost of the remainder only)."""

    def __init__(self, loss, W, *, order: int | None = None, W_rad=None, extra: int = 3):
        if int(extra) < 0:
            raise UsageError(f"extra must be >= 0, got {extra}")
        _kind(loss)
        Wm = _as_coeff_stack(W, loss.d_out, loss.d_in)
        n1 = Wm.shape[0]
        q = n1 - 1 if order is None else int(order)
        if q < 0:
            raise UsageError(f"order must be >= 0, got {q}")
        if W_rad is None:
            Wr = np.zeros_like(Wm)
        else:
            Wr = np.array(np.broadcast_to(np.asarray(W_rad, dtype=np.float64), Wm.shape))
            if not np.all(np.isfinite(Wr)) or np.any(Wr < 0):
                raise UsageError("W_rad must be finite and nonnegative")
        self.loss, self.order, self.extra, self._n1 = loss, q, int(extra), n1
        with np.errstate(over="ignore", invalid="ignore", under="ignore"):
            Zm, Zr = _z_balls(loss, Wm, Wr)  # all n+1 orders of the logits
            self._Lm, self._Lr = _logit_rows(loss, Zm), np.abs(_logit_rows(loss, Zr))
            # the coefficients at s = 0, orders 0..q + extra (the ones beyond q go to the remainder)
            K = q + 1 + self.extra
            Lm0, Lr0 = np.zeros((K,) + self._Lm.shape[1:]), np.zeros((K,) + self._Lm.shape[1:])
            t = min(K, n1)
            Lm0[:t], Lr0[:t] = self._Lm[:t], self._Lr[:t]
            Pm, Pr = _softmax_balls(Lm0, Lr0, K)
            Qm, Qr = _q_balls(loss, Pm, Pr, True)
            self._Gm, self._Gr = _grad_balls(loss, Qm, Qr)

    def taylor_model(self, h, W_remainder: float = 0.0) -> GradientTM:
        """The :class:`GradientTM` on ``[0, h]`` (the order ``q+e+1`` coefficient at the interval
        point ``[0, h]``, the Lagrange remainder entrywise)."""
        rW = float(W_remainder)
        if not (math.isfinite(rW) and rW >= 0):
            raise UsageError(f"W_remainder must be finite and >= 0, got {W_remainder!r}")
        hf = _h_up(h)
        loss, q, e, n1 = self.loss, self.order, self.extra, self._n1
        with np.errstate(over="ignore", invalid="ignore", under="ignore"):
            t = q + e + 1
            hp = _powers_up(hf, max(n1, t + 1))
            Xm, Xr = _shifted_z_balls(self._Lm, self._Lr, hp, t + 1)
            Pm1, Pr1 = _softmax_balls(Xm, Xr, t + 1)
            Qm1, Qr1 = _q_balls(loss, Pm1[t:], Pr1[t:], False)
            Rm, Rr = _grad_balls(loss, Qm1, Qr1)
            rem_entry = _remainder_entry(self._Gm[q + 1 :], self._Gr[q + 1 :], Rm[0], Rr[0], hp, q)
        Gm, Gr = self._Gm[: q + 1], self._Gr[: q + 1]
        for a in (Gm, Gr, rem_entry):
            if not np.all(np.isfinite(a)):
                raise BlowUpError("the gradient Taylor model left the float64 range")
        r_poly = F64Mat(np.zeros_like(rem_entry), rem_entry).norm_f_upper()
        r_input = 0.0
        if rW > 0:
            r_input = float(nu(up(loss.hessian_norm_upper() * rW, 1)))
        return GradientTM(Gm.copy(), Gr.copy(), rem_entry, r_poly, r_input, hf, q)


def _remainder_entry(Tm, Tr, Rm, Rr, hp: np.ndarray, q: int) -> np.ndarray:
    """Entrywise bound of the part of order ``> q`` on ``[0, h]``:
    ``sum_{k=q+1..q+e} |G_k| h^k + sup |G_{q+e+1}([0,h])| h^(q+e+1)`` (``T``: the point balls of
    orders ``q+1..q+e``, ``R``: the interval ball of order ``q+e+1``), rounded up."""
    e = Tm.shape[0]
    acc = (np.abs(Rm) + Rr) * hp[q + e + 1]
    for i in range(e):
        acc = acc + (np.abs(Tm[i]) + Tr[i]) * hp[q + 1 + i]
    return up(acc, 3 * e + 6)


__all__ = ["GradientSeriesEnclosure", "GradientTM", "enclose_gradient_series"]
