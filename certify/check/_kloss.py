"""The checker's kernel losses (softmax cross-entropy and logistic; gap-v2.md section 8):
:class:`KernelLoss` holds the problem's data and answers what the GD replay and the flow
check ask: the float ``G^`` (section 1), its rounding bound ``E(G)`` (section 2), the ball of
``G`` at a ball product (section 3), the constants ``s_G``, ``s_F``, the float gradient series
of the flow candidate and the rigorous Taylor model of ``G`` along it (section 4).

The Taylor model (:meth:`KernelLoss.grad_tm`), for the truncated product polynomial
``P~(s) = sum_{i<=q} P_i s^i`` with coefficients in balls, on ``s`` in ``[0, h]``:

- logits ``z_i = P_i X`` (balls); logistic rows ``(0, -y z_i)``; every order shifted by the
  midpoint coefficients of the class that is largest at order 0 (a per-column polynomial
  ``f(s)`` of exact doubles: softmax is invariant under ``Z(s) - 1 f(s)^T``);
- the exp and division recursions in ball arithmetic (``e_0 = exp(D_0)``,
  ``k e_k = sum_{j=1..k} j D_j e_{k-j}``, ``sigma_k = 1^T e_k``,
  ``p_k = (e_k - sum_{j=1..k} sigma_j p_{k-j}) / sigma_0``), ``g_k = (1/m)(p_k diag(s) - Y[k=0]) X^T``
  (logistic ``q_k = -y p_k[2]``);
- the Lagrange remainder, entrywise: ``G(s) - sum_{k<=q+e} g_k s^k = g_{q+e+1}(xi) s^{q+e+1}``
  for some ``xi`` in ``[0, s]``; ``g_{q+e+1}(xi)`` is enclosed for every ``xi`` in ``[0, h]`` at
  once by the same recursion from the shifted coefficients ``D_k(xi) = sum_{i>=k} C(i,k) D_i
  xi^(i-k)`` with ``xi^j`` in the ball ``[0, h^j]`` (inclusion isotonicity); the orders
  ``q+1..q+e`` are enclosed at 0.  ``rem = sum_{k=q+1..q+e} ||g_k||_F h^k + ||g_{q+e+1}([0,h])||_F
  h^{q+e+1} + s_F r_P`` (``r_P`` the product's own remainder: ``||grad l(A) - grad l(B)||_F <=
  s_F ||A - B||_F``).
"""

from __future__ import annotations

import hashlib
import math
from fractions import Fraction

import numpy as np

from .._errors import CertificateError
from . import _arith as A
from . import _kernels as K

U, TINY, infl = A.U, A.TINY, A.infl

#: at most this many extra orders of the Lagrange remainder enclosed at 0 (then the interval point's order q + 1 + e)
EXTRA = 4
#: the batched gradient balls work on at most this many logit entries at a time
CHUNK = 1 << 20
_CONSTANTS: dict = {}  # (sha256 of X, shape, c, d_N) -> (s_G, s_F): pure functions of the exact data


def is_kernel(lossdata) -> bool:
    from .._losskinds import CrossEntropyLoss, LogisticLoss

    return isinstance(lossdata, (CrossEntropyLoss, LogisticLoss))


class KernelLoss:
    """The checker's view of a cross-entropy or logistic loss (data as exact doubles)."""

    def __init__(self, lossdata, d_N: int):
        from .._losskinds import CrossEntropyLoss

        self.ce = isinstance(lossdata, CrossEntropyLoss)
        self.kind = "cross_entropy" if self.ce else "logistic"
        self.X = np.ascontiguousarray(lossdata.X, dtype=np.float64)
        self.XT = np.ascontiguousarray(self.X.T)
        self.aX, self.aXT = np.abs(self.X), np.abs(self.XT)
        self.m = self.X.shape[1]
        if self.ce:
            self.Y = np.ascontiguousarray(lossdata.Y, dtype=np.float64)
            sm, sr, smax = K.column_sums(self.Y)
            self.s = (sm, sr)
            self.one = sr is None and bool(np.all(sm == 1.0))
            c = smax / 2
        else:
            self.y = np.ascontiguousarray(lossdata.y, dtype=np.float64).reshape(-1)
            c = Fraction(1, 4)
        key = (hashlib.sha256(self.X.tobytes()).hexdigest(), self.X.shape, c, d_N)
        if key not in _CONSTANTS:  # a spectral bound of X: seconds at d_0 = 784; once per data set
            if len(_CONSTANTS) > 8:
                _CONSTANTS.clear()
            _CONSTANTS[key] = K.loss_constants(self.X, c, d_N)
        self.s_G, self.s_F = _CONSTANTS[key]

    # ---- float (estimates) ----
    def grad_float(self, P):
        """``G^`` at the float product ``P`` (section 8: any stable float64 evaluation)."""
        if self.ce:
            return K.ce_grad_float(P, self.X, self.XT, self.Y, self.s[0], self.one)
        return K.logistic_grad_float(P, self.X, self.XT, self.y)

    def loss(self, P) -> float:
        return K.ce_loss_float(P, self.X, self.Y) if self.ce else K.logistic_loss_float(P, self.X, self.y)

    # ---- rigorous ----
    def grad_ball(self, Pm, Pr=None):
        """Entrywise enclosure of ``grad l`` on the ball ``(Pm, Pr)``; ``Pm`` may be stacked
        ``(T, d_N, d_0)``, then worked in chunks of the first axis."""
        f = (lambda a, b: K.ce_gradient_ball(a, b, self.X, self.Y, self.s, self.aX, self.aXT)) if self.ce else \
            (lambda a, b: K.logistic_gradient_ball(a, b, self.X, self.y, self.aX, self.aXT))
        if Pm.ndim == 2:
            return f(Pm, Pr)
        step = max(1, CHUNK // max(1, Pm.shape[1] * self.m))
        if Pm.shape[0] <= step:
            return f(Pm, Pr)
        Gm, Gr = np.empty(Pm.shape[:-1] + (self.X.shape[0],)), np.empty(Pm.shape[:-1] + (self.X.shape[0],))
        for a in range(0, Pm.shape[0], step):
            Gm[a:a + step], Gr[a:a + step] = f(Pm[a:a + step], None if Pr is None else Pr[a:a + step])
        return Gm, Gr

    def G_ball(self, P, Pr):
        """Section 3: an entrywise ball of ``G`` at every point of the ball product ``(P, Pr)``: the
        intersection of the direct ball evaluation and the ball at the float ``P`` widened by
        ``s_F ||Pr||_F`` (``G`` is ``s_F``-Lipschitz in the Frobenius norm); both contain it."""
        Gm, Gr = self.grad_ball(P, None)
        if Pr is None:
            return Gm, Gr
        w = float(infl(self.s_F * A.fro_up(np.zeros_like(Pr), Pr), 1))
        Bm, Br = self.grad_ball(P, Pr)
        return intersect(Gm, infl(Gr + w, 1), Bm, Br)

    def float_errors(self, G, P, EP):
        """Section 2's ``E(G) = ||G^ - Gm||_F + ||Gr||_F + s_F E(P_N)`` per step (vectors over
        the first axis): ``G`` the float ``G^``s, ``P`` the float products, ``EP`` their bounds."""
        Gm, Gr = self.grad_ball(P, None)
        return infl(A.fro_diff_rows_up(G - Gm) + A.fro_diff_rows_up(Gr) + self.s_F * EP, 4)

    def loss_upper(self, Pm, Pr=None, prec: int = 128) -> float:
        """An upper bound of ``l(P')`` over the ball ``(Pm, Pr)`` (converge-v1's loss claims): the
        logits enclosed in float (:func:`certify.check._kernels.mm_exact`), then per sample
        ``s_i log sum_c exp(z_c) - sum_c Y_c z_c`` (cross-entropy) or ``log(1 + exp(-y z))``
        (logistic) in python-flint ``arb`` balls at ``prec`` bits (inclusion isotone)."""
        from flint import arb, ctx

        Zm, Zr = K.mm_exact(Pm, Pr, self.X, self.aX)
        old = ctx.prec
        ctx.prec = max(prec, old)
        try:
            tot = arb(0)
            for i in range(self.m):
                z = [arb(float(Zm[c, i]), float(Zr[c, i])) for c in range(Zm.shape[0])]
                if self.ce:
                    lse = sum((v.exp() for v in z), arb(0)).log()
                    sr = 0.0 if self.s[1] is None else float(self.s[1][i])
                    tot += arb(float(self.s[0][i]), sr) * lse - sum((arb(float(self.Y[c, i])) * z[c]
                                                                   for c in range(len(z))), arb(0))
                else:
                    tot += (-arb(float(self.y[i])) * z[0]).exp().log1p()
            return A.hi(tot / self.m)
        finally:
            ctx.prec = old

    # ---- the flow: the candidate's gradient series and its Taylor model ----
    def float_series(self) -> "FloatSeries":
        return FloatSeries(self)

    def _rows(self, zm, zr):
        if self.ce:
            return zm, zr
        return K.logistic_rows(zm, zr, self.y)

    def _q_ball(self, pm, pr, zero_order: bool):
        """``dl/dz`` coefficients from softmax coefficient balls ``(..., C, m)``."""
        if not self.ce:
            return (-self.y * pm[..., 1, :])[..., None, :], pr[..., 1, :][..., None, :]
        qm, qr = (pm, pr) if self.one else K.ball_mul(pm, pr, self.s[0], self.s[1])
        if zero_order:
            return A.addsub(qm, qr, self.Y, None, -1)
        return qm, qr

    def _g_balls(self, pm, pr, first_is_zero: bool):
        """``g_k = (1/m) q_k X^T`` for stacked orders ``(K, C, m)`` (the first of order 0 when told)."""
        qm, qr = self._q_ball(pm, pr, False)
        if first_is_zero:
            q0m, q0r = self._q_ball(pm[:1], pr[:1], True)
            qm = np.concatenate([q0m, qm[1:]])
            qr = np.concatenate([q0r, qr[1:]])
        return K._times_XT_over_m(qm, qr, self.X, self.aXT)

    def grad_tm(self, Pm, Pr, Prem: float, h: Fraction, extra: int | None = None):
        """The Taylor model of ``G`` along the product (module docstring): ``(Gm, Gr, rem)``,
        orders ``0..q`` of the coefficient balls (``q = len(Pm) - 1``) and ``rem >=
        sup_[0,h] ||G(P_N(s)) - sum_{k<=q} g_k s^k||_F``.  Every ``e`` in ``0..extra`` gives a
        valid remainder (orders ``q+1..q+e`` at 0, order ``q+e+1`` at the interval point; the
        entrywise bound ``sum_k |g_k| h^k`` then its Frobenius norm): the smallest is taken."""
        q = Pm.shape[0] - 1
        E = EXTRA if extra is None else extra
        K0 = q + E + 1  # orders 0..q+E at 0
        hp = hpowers(h, K0)  # hp[j] >= h^j, j = 0..q+E+1
        Zm, Zr = K.mm_exact(Pm, Pr, self.X, self.aX)
        Lm, Lr = self._rows(Zm, Zr)
        Dm, Dr = _shift(Lm, Lr)
        try:
            pm, pr = _softmax_series(Dm, Dr, K0)
        except CertificateError:  # the coefficients overflow: nothing can be bounded
            G = np.zeros((q + 1,) + Pm.shape[1:-1] + (self.X.shape[0],))
            return G, np.full(G.shape, np.inf), math.inf
        Gm, Gr = _sane(*self._g_balls(pm, pr, True))
        try:
            Xm, Xr = _at_interval(Dm, Dr, hp)
            pxm, pxr = _softmax_series(Xm, Xr, K0 + 1)
        except CertificateError:  # the step is too long for the interval point: no remainder bound
            return Gm[: q + 1], Gr[: q + 1], math.inf
        gxm, gxr = _sane(*self._g_balls(pxm[q + 1:], pxr[q + 1:], False))  # orders q+1..q+E+1 at xi
        acc = np.zeros(Gm.shape[1:])
        best = math.inf
        for e in range(E + 1):
            k = q + 1 + e  # the interval point's order
            T = acc + A.abs_up(gxm[e], gxr[e]) * hp[k]
            best = min(best, A.fro_up(infl(T, 2 * e + 4)))
            acc = acc + A.abs_up(Gm[k], Gr[k]) * hp[k] if k < K0 else acc
        rem = float(infl(best + self.s_F * Prem, 2)) if math.isfinite(best) else math.inf
        return Gm[: q + 1], Gr[: q + 1], rem


def intersect(am, ar, bm, br):
    """A ball containing the intersection of two balls that both contain the same unknown
    (endpoints rounded outward by one float each)."""
    lo = np.maximum(np.nextafter(am - ar, -np.inf), np.nextafter(bm - br, -np.inf))
    hi = np.minimum(np.nextafter(am + ar, np.inf), np.nextafter(bm + br, np.inf))
    hi = np.maximum(hi, lo)  # (empty only if an enclosure were wrong)
    m = 0.5 * (lo + hi)
    return m, np.nextafter(np.maximum(hi - m, m - lo), np.inf)


def hpowers(h: Fraction, n: int) -> np.ndarray:
    """``hp_j >= h^j`` (``j = 0..n``): the exact rational powers rounded up."""
    return np.array([A.frac_up(h**j) for j in range(n + 1)])


def _sane(m, r):
    """A ball whose midpoint or radius is not finite becomes ``(0, inf)`` (valid, says nothing)."""
    bad = ~(np.isfinite(m) & np.isfinite(r))
    if np.any(bad):
        m, r = np.where(bad, 0.0, m), np.where(bad, np.inf, r)
    return m, r


# ---------------------------------------------------------------------------
# series helpers
# ---------------------------------------------------------------------------


def _shift(Lm, Lr):
    """Every order minus the midpoint coefficients of the class largest at order 0 (exact
    doubles per column): ``D = fl(L - f)``, radius ``Lr`` plus the subtraction's exact error."""
    c = np.argmax(Lm[0], axis=0)
    cols = np.arange(Lm.shape[2])
    return K.shifted(Lm, Lr, Lm[:, c, cols][:, None, :])


def _at_interval(Dm, Dr, hp):
    """``D_k(xi) = sum_{i>=k} C(i,k) D_i xi^(i-k)`` for every ``xi`` in ``[0, h]``: balls with
    ``xi^j`` in ``(hp_j/2, hp_j - hp_j/2)`` (which contains ``[0, hp_j]``, ``hp_j >= h^j``)."""
    n = Dm.shape[0]
    xm = np.array([1.0] + [x / 2 for x in hp[1:n]])
    xr = np.array([0.0] + [x - x / 2 for x in hp[1:n]])
    Om, Or = np.empty_like(Dm), np.empty_like(Dm)
    for k in range(n):
        i = np.arange(k, n)
        c = np.array([float(math.comb(int(a), k)) for a in i])[:, None, None]  # exact integers
        cm = c * Dm[k:]
        cr = infl(c * Dr[k:] + U * np.abs(cm) + TINY, 3)
        tm, tr = K.ball_mul(cm, cr, xm[i - k][:, None, None], xr[i - k][:, None, None])
        Om[k], Or[k] = K.ball_sum(tm, tr, 0)
    return Om, Or


def _softmax_series(Dm, Dr, n_out: int):
    """Softmax coefficient balls ``(p_k)_{k < n_out}`` (``(n_out, C, m)``) from the shifted logit
    coefficient balls ``D_i`` (zero beyond the given ones), by the two recursions; each order's
    sum of products is one :func:`certify.check._kernels.conv_ball`."""
    n = Dm.shape[0]
    C, m = Dm.shape[1], Dm.shape[2]
    w = np.arange(n, dtype=np.float64)[:, None, None]
    jm = w * Dm  # j D_j
    jr = infl(w * Dr + U * np.abs(jm) + TINY, 3)
    ja = np.abs(jm)
    em, er, ea = np.zeros((n_out, C, m)), np.zeros((n_out, C, m)), np.zeros((n_out, C, m))
    em[0], er[0] = K.exp_ball(Dm[0], Dr[0])
    ea[0] = np.abs(em[0])
    for k in range(1, n_out):
        top = min(k, n - 1)
        if top < 1:
            continue
        j = np.arange(1, top + 1)
        sm, sr = K.conv_ball(jm[j], ja[j], jr[j], em[k - j], ea[k - j], er[k - j], "jcm,jcm->cm")
        em[k] = sm / k
        er[k] = infl(sr / k + U * np.abs(em[k]) + TINY, 3)
        ea[k] = np.abs(em[k])
    sgm, sgr = K.ball_sum(em, er, 1)  # (n_out, m)
    sga = np.abs(sgm)
    pm, pr, pa = np.empty_like(em), np.empty_like(er), np.empty_like(em)
    pm[0], pr[0] = K.ball_div_pos(em[0], er[0], sgm[0], sgr[0])
    pa[0] = np.abs(pm[0])
    for k in range(1, n_out):
        j = np.arange(1, k + 1)
        sm, sr = K.conv_ball(sgm[j], sga[j], sgr[j], pm[k - j], pa[k - j], pr[k - j], "jm,jcm->cm")
        nm, nr = A.addsub(em[k], er[k], sm, sr, -1)
        pm[k], pr[k] = K.ball_div_pos(nm, nr, sgm[0], sgr[0])
        pa[k] = np.abs(pm[k])
    if not (np.all(np.isfinite(pm[0])) and np.all(np.isfinite(pr[0]))):
        raise CertificateError("the softmax Taylor coefficients overflow")
    return _sane(pm, pr)


class FloatSeries:
    """The candidate's gradient series in float64 (an estimate), literally the contract's
    recursion (gap-v2.md section 8, section 4): :meth:`push` takes the product's coefficient
    ``P_k`` and returns ``g_k``; logits ``z_k = P_k X`` (logistic rows ``(0, -y z_k)``),
    ``e_0 = exp(z_0 - M)`` with ``M`` the column maximum of ``z_0``, ``k e_k = sum_{j=1..k} j z_j
    e_{k-j}``, ``sigma_k`` the column sums, ``p_k = (e_k - sum_{j>=1} sigma_j p_{k-j}) / sigma_0``,
    ``g_k = (q_k X^T) / m``.  (Written in the formula's own order, so that two implementations of
    it usually agree to the last bit; they need not: section 4's rules allow for it.)"""

    def __init__(self, kl: KernelLoss):
        self.kl = kl
        self.z, self.e, self.sig, self.p = [], [], [], []

    def push(self, Pk):
        kl = self.kl
        z = Pk @ kl.X
        if not kl.ce:
            t = -kl.y * z[0]
            z = np.stack([np.zeros_like(t), t])
        k = len(self.z)
        self.z.append(z)
        with np.errstate(over="ignore", invalid="ignore", under="ignore"):
            if k == 0:
                e = np.exp(z - z.max(axis=0))
            else:
                e = sum((j * self.z[j]) * self.e[k - j] for j in range(1, k + 1)) / k
            sig = e.sum(axis=0)
            self.e.append(e)
            self.sig.append(sig)
            if k == 0:
                p = e / sig
            else:
                p = (e - sum(self.sig[j] * self.p[k - j] for j in range(1, k + 1))) / self.sig[0]
            self.p.append(p)
        if kl.ce:
            q = p if kl.one else p * kl.s[0]
            if k == 0:
                q = q - kl.Y
        else:
            q = (-kl.y * p[1])[None, :]
        return q @ kl.X.T / kl.m
