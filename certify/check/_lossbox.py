"""The checker's upper bound of the loss over a ball (converge-v1's loss
claims), in its own float mid-rad arithmetic (:mod:`._arith`)."""

from __future__ import annotations

import math

import numpy as np

from . import _arith as A
from . import _verify as V


def loss_box_upper(problem, center: np.ndarray, radius: float) -> float:
    """Upper bound of the loss over the ball ``||theta - center|| <= radius``:
    the smaller of the box evaluation (the box ``|theta_i - c_i| <= radius``
    contains the ball) and the centred form ``f(c) + ||grad f(c)|| rho + beta
    rho^2 / 2`` with the S4.5 (a) bound ``beta`` on the ball (layers within
    ``rho`` of ``c``)."""
    from flint import arb

    from .._losskinds import SquareLoss

    i, Ws = 0, []
    for j in range(problem.depth):
        r, c = problem.dims[j + 1], problem.dims[j]
        Ws.append(center[i:i + r * c].reshape(r, c))
        i += r * c
    rad = float(radius)
    loss = V.Loss(problem)
    if loss.kernel is not None:
        return _kernel_box_upper(loss, Ws, rad)
    square = isinstance(problem.loss, SquareLoss)
    Rm, Rr, div, _ = _residual(problem, square, Ws, [np.full(w.shape, rad) for w in Ws])
    box = math.nextafter(float(A.infl(_sq_up(Rm, Rr) / div, 1)), math.inf)
    # centred form
    N = problem.depth
    Rm, Rr, div, Ps = _residual(problem, square, Ws, [None] * N)
    f0 = math.nextafter(float(A.infl(_sq_up(Rm, Rr) / div, 1)), math.inf)
    gnorm, s_G = _grad_norm_up(problem, square, loss, Ws, Ps, Rm, Rr)
    beta = _beta_on_ball(Ws, Ps, loss, s_G, rad)
    Rb = arb(rad)
    centred = A.hi(arb(f0) + arb(gnorm) * Rb + beta * Rb * Rb / 2)
    return min(box, centred)


def _residual(problem, square: bool, Wm, Wr):
    """The residual (``P X - Y`` or ``P - Phi``) enclosed, its divisor and the prefix products ``[(P_j, rad)]``."""
    P, Pr = Wm[0], Wr[0]
    Ps = [(P, Pr)]
    for W, R in zip(Wm[1:], Wr[1:]):
        P, Pr = A.mm(W, R, P, Pr)
        Ps.append((P, Pr))
    if square:
        X = np.asarray(problem.loss.X, dtype=np.float64)
        Y = np.asarray(problem.loss.Y, dtype=np.float64)
        Rm, Rr = A.mm(P, Pr, X, None)
        Rm, Rr = A.addsub(Rm, Rr, Y, None, -1)
        return Rm, Rr, 2.0 * problem.loss.m, Ps
    Rm, Rr = A.addsub(P, Pr, np.asarray(problem.loss.target, dtype=np.float64), None, -1)
    return Rm, Rr, 2.0, Ps


def _sq_up(m, r) -> float:
    a = A.abs_up(m, r).ravel()
    return float(A.infl(float(a @ a), a.size + 2))


def _grad_norm_up(problem, square: bool, loss, Ws, Ps, Rm, Rr):
    """``(>= ||grad f(c)||, s_G)`` from the residual at the center."""
    if square:
        X = np.asarray(problem.loss.X, dtype=np.float64)
        Gm, Gr = A.mm(Rm, Rr, X.T, None)
        m = float(problem.loss.m)
        Gm, Gr = Gm / m, A.infl(Gr / m + A.U * np.abs(Gm / m) + A.TINY, 3)
        s_G = loss.sxx_norm2
    else:
        Gm, Gr = Rm, Rr
        s_G = 1.0
    return _layer_grad_norm(Ws, Ps, Gm, Gr), s_G


def _kernel_box_upper(loss, Ws, rad: float) -> float:
    """Kernel losses (gap-v2.md section 8): the box (the loss over the ball product of the box
    layers, :meth:`certify.check._kloss.KernelLoss.loss_upper`) and the centred form with ``G``'s
    ball at the center and ``beta`` with the checker's own ``s_G``; the smaller."""
    from flint import arb

    kl = loss.kernel
    N = len(Ws)

    def chain(R):
        P, Pr = Ws[0], R[0]
        Ps = [(P, Pr)]
        for W, Wr in zip(Ws[1:], R[1:]):
            P, Pr = A.mm(W, Wr, P, Pr)
            Ps.append((P, Pr))
        return Ps

    box = kl.loss_upper(*chain([np.full(w.shape, rad) for w in Ws])[-1])
    Ps = chain([None] * N)
    f0 = kl.loss_upper(*Ps[-1])
    Gm, Gr = kl.G_ball(*Ps[-1])
    gnorm = _layer_grad_norm(Ws, Ps, Gm, Gr)
    beta = _beta_on_ball(Ws, Ps, loss, kl.s_G, rad)
    Rb = arb(rad)
    return min(box, A.hi(arb(f0) + arb(gnorm) * Rb + beta * Rb * Rb / 2))


def _layer_grad_norm(Ws, Ps, Gm, Gr) -> float:
    """``>= ||grad f||`` from the ball of ``G`` (S2.1 layer products in ball arithmetic)."""
    N = len(Ws)
    g2 = 0.0
    for j in range(N):
        L, Lr = Gm, Gr
        for k in range(N - 1, j, -1):
            L, Lr = A.mm(Ws[k].T, None, L, Lr)
        if j > 0:
            P, Pr = Ps[j - 1]
            L, Lr = A.mm(L, Lr, P.T, None if Pr is None else Pr.T)
        g2 += _sq_up(L, Lr)
    return math.nextafter(math.sqrt(float(A.infl(g2, 2 * N + 2))), math.inf)


def _beta_on_ball(Ws, Ps, loss, s_G: float, rad: float):
    """The S4.5 (a) smoothness bound ``beta`` (upper float) on the layers within ``rad`` of the center."""
    from flint import arb

    N = len(Ws)
    n = [A.spec2_up(w) for w in Ws]
    pi = {}
    for a in range(1, N + 1):
        M, Mr = Ws[a - 1], None
        for b in range(a + 1, N + 1):
            M, Mr = A.mm(Ws[b - 1], None, M, Mr)
            if (b, a) != (N, 1):
                pi[(b, a)] = A.spec2_up(M, Mr)
    P, Pr = Ps[-1]
    GGm, GGr = loss.G_ball(P, Pr)
    g = A.spec2_up(GGm, GGr)
    sig = {(l + 1, l + 1): arb(n[l]) for l in range(N)}
    sig.update({ba: arb(v) for ba, v in pi.items()})
    gw = (V.weighted_norms(Ws, (GGm, GGr), N), g, sig)  # S3.1-G at the center (gap-v2.md section 2)
    _, beta = V.mu_beta(V.tube(sig, [arb(rad)] * N, N, gw=gw), g, s_G, N)
    return beta
