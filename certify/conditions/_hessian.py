"""Certified Hessian quadratic forms on a box of parameters (S2.2) and the
certified lower bounds of ``lambda_max(Hf)`` they give (Rayleigh quotients of a
float eigenvector evaluated in Arb): used by the smoothness and edge-of-stability
hypotheses and by the trajectory's loss enclosures.  Kernel losses (cross-entropy, logistic):
the loss's own Arb value and gradient over the ball product and ``Hl[P_1, P_1]`` from
:class:`certify.curvature.s32.KernelHessian` (Arb's ``exp``; S2.2-ce-psd)."""

from __future__ import annotations

import math

import numpy as np

from .._claims import lo
from .._problem import Problem, unflatten
from ._numeric import _amat, _end_to_end, _inner, _sumsq


def _loss_and_hess_form_box(problem: Problem, x: np.ndarray, rad: float, v: np.ndarray | None):
    """Arb enclosures, valid for every point ``z`` of the box ``|z_i - x_i| <= rad``, of
    ``f(z)`` and (if ``v`` is given) ``Hf(z)[v, v] / |v|^2`` (S2.2 via the order-2
    coefficient of ``f(z + s v)``: ``Hf[v,v] = Hl[P_1,P_1] + 2 <G, P_2>``)."""
    from flint import arb, arb_mat

    dims = problem.dims
    Ws = [_amat(w, rad) for w in unflatten(np.asarray(x, dtype=np.float64), dims)]
    loss = problem.loss
    if loss.is_kernel:
        return _kernel_loss_and_form(loss.kernel, Ws, v, dims)
    square = loss.has_stats
    if square:
        Sxx, Syx, cc = loss.exact_stats
        Sxx_a, Syx_a, c_a = arb_mat(Sxx), arb_mat(Syx), arb(cc)
    else:
        Phi_a = _amat(loss.target)
    if v is None:
        P0 = _end_to_end(Ws)
        if square:
            val = (P0 * Sxx_a * P0.transpose()).trace() / 2 - (P0 * Syx_a.transpose()).trace() + c_a
        else:
            val = _sumsq(P0 - Phi_a) / 2
        return val, None
    Vs = [_amat(w) for w in unflatten(np.asarray(v, dtype=np.float64), dims)]
    P0, P1, P2 = Ws[0], Vs[0], None
    for W, V in zip(Ws[1:], Vs[1:]):
        n2 = W * P2 + V * P1 if P2 is not None else V * P1
        P0, P1, P2 = W * P0, W * P1 + V * P0, n2
    if square:
        G = P0 * Sxx_a - Syx_a
        hl = _inner(P1 * Sxx_a, P1)
        val = (P0 * Sxx_a * P0.transpose()).trace() / 2 - (P0 * Syx_a.transpose()).trace() + c_a
    else:
        G = P0 - Phi_a
        hl = _sumsq(P1)
        val = _sumsq(G) / 2
    form = hl + (2 * _inner(G, P2) if P2 is not None else 0)
    vv = sum(arb(float(t)) ** 2 for t in np.asarray(v, dtype=np.float64))
    return val, form / vv


def _kernel_loss_and_form(kernel, Ws, v, dims):
    """:func:`_loss_and_hess_form_box` for a kernel loss (the ball layers ``Ws``)."""
    from flint import arb
    from flint import ctx as flint_ctx

    from ..curvature.s32 import KernelHessian

    prec = flint_ctx.prec
    if v is None:
        return kernel.arb_value(_end_to_end(Ws), prec=prec), None
    Vs = [_amat(w) for w in unflatten(np.asarray(v, dtype=np.float64), dims)]
    P0, P1, P2 = Ws[0], Vs[0], None
    for W, V in zip(Ws[1:], Vs[1:]):
        n2 = W * P2 + V * P1 if P2 is not None else V * P1
        P0, P1, P2 = W * P0, W * P1 + V * P0, n2
    val = kernel.arb_value(P0, prec=prec)
    hl = KernelHessian(kernel, P0).form(P1)
    form = hl + (2 * _inner(kernel.arb_gradient(P0, prec=prec).a, P2) if P2 is not None else 0)
    vv = sum(arb(float(t)) ** 2 for t in np.asarray(v, dtype=np.float64))
    return val, form / vv


def _top_eigvec(problem: Problem, x: np.ndarray):
    """Float estimate of the top Hessian eigenpair (used only as a test vector)."""
    from .._derivatives import Objective

    obj = Objective(problem)
    n = problem.n_params
    if n <= 1500:
        H = obj.hessian(x)
        H = 0.5 * (H + H.T)
        w, V = np.linalg.eigh(H)
        return float(w[-1]), V[:, -1]
    from scipy.sparse.linalg import LinearOperator, eigsh

    op = LinearOperator((n, n), matvec=lambda u: obj.hvp(x, np.asarray(u).reshape(-1)), dtype=np.float64)
    v0 = np.random.default_rng(0).standard_normal(n)  # ARPACK's own start is random: reports would vary by run
    w, V = eigsh(op, k=1, which="LA", tol=1e-8, maxiter=2000, v0=v0)
    return float(w[0]), V[:, 0]


def _lambda_max_lower(problem: Problem, x: np.ndarray, rad: float):
    """Certified lower bound of ``lambda_max(Hf(z))`` for every ``z`` in the box
    around ``x`` (Rayleigh quotient of a float eigenvector, evaluated in Arb), and the
    float estimate of ``lambda_max(Hf(x))``."""
    est, v = _top_eigvec(problem, x)
    if not np.all(np.isfinite(v)) or not np.any(v):
        return -math.inf, est
    _, rq = _loss_and_hess_form_box(problem, x, rad, v)
    return lo(rq), est
