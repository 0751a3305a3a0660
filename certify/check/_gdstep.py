"""The checker's float GD step and its own rounding bounds (certify/schemas/gap-v2.md,
sections 1 and 2): :class:`Loss` (the problem's float data and enclosures of
the exact statistics), :func:`gd_block` (a block of float GD steps exactly as
the contract prescribes, with a-priori bounds batched over the steps) and
:func:`strict_rounds` (``--strict``: the exact step enclosed in Arb)."""

from __future__ import annotations

import math

import numpy as np

from .._errors import CertificateError
from . import _arith as A


# ---------------------------------------------------------------------------
# the float GD step and its rounding bound (sections 1, 2)
# ---------------------------------------------------------------------------


class Loss:
    """The problem's loss for the checker: float data (as the contract says)
    and entrywise enclosures of the exact statistics."""

    def __init__(self, problem):
        from .._losskinds import SquareLoss
        from ._kloss import KernelLoss, is_kernel

        self.square = isinstance(problem.loss, SquareLoss)
        #: cross-entropy / logistic (gap-v2.md section 8): the checker's own kernels, else None
        self.kernel = KernelLoss(problem.loss, problem.dims[-1]) if is_kernel(problem.loss) else None
        if self.kernel is not None:
            self.own_s_G = self.kernel.s_G
        elif self.square:
            Sxx_f, Syx_f, _ = problem.loss.float_stats
            eSxx, eSyx, _ = problem.loss.exact_stats
            self.Sxx_f, self.Syx_f = Sxx_f, Syx_f
            m, self.Esxx = A.exact_enclosure(eSxx)
            m2, self.Esyx = A.exact_enclosure(eSyx)
            if not (np.array_equal(m, Sxx_f) and np.array_equal(m2, Syx_f)):
                raise CertificateError("problem: inconsistent data statistics")
            self.sxx_norm2 = A.spec2_up(Sxx_f, self.Esxx)
            # ||Sxx_f||_F and ||Sxx_f - Sxx||_F, ||Syx_f - Syx||_F (entrywise radii) upper
            self.n_sxx = A.fro_up(Sxx_f)
            self.e_sxx = 0.0 if self.Esxx is None else A.fro_up(self.Esxx)
            self.e_syx = 0.0 if self.Esyx is None else A.fro_up(self.Esyx)
            self.own_s_G = self.sxx_norm2
        else:
            self.Phi = np.asarray(problem.loss.target, dtype=np.float64)
            self.own_s_G = 1.0

    def G_ball(self, P, Pr):
        """Enclosure of the exact ``grad l`` at the exact product ``P`` (in the ball)."""
        if self.kernel is not None:
            return self.kernel.G_ball(P, Pr)
        if self.square:
            Am, Ar = A.mm(P, Pr, self.Sxx_f, self.Esxx)
            return A.addsub(Am, Ar, self.Syx_f, self.Esyx, -1)
        return A.addsub(P, Pr, self.Phi, None, -1)


def gd_block(Ws, eta, loss, N: int, nsteps: int):
    """``nsteps`` float GD steps exactly as section 1 prescribes, then the
    checker's own bounds for all of them at once (batched over the steps).

    Returns ``(iterates, new, rounds, steps, drifts, gdiffs)``: the iterates at
    the start of each step, the iterate after the last, per step an upper bound
    of ``||theta^_{k+1} - (theta^_k - eta grad f(theta^_k))||`` (exact gradient,
    exact eta; the checker's own norm-wise a-priori bounds of section 2, batched
    over the steps), per step and
    layer upper bounds of ``||W^_l(k+1) - W^_l(k)||`` and of the drift
    ``||W^_l(k) - W^_l(block start)||``, and per step an upper bound of
    ``||G(theta^_k) - G(theta^_start)||_F`` (exact G at both float iterates)."""
    # long: one batched kernel whose error terms follow the float ops line by line (split, it would hide that)
    shapes = [w.shape for w in Ws]
    d0, dN = shapes[0][1], shapes[-1][0]
    # per-step records, preallocated (index t = step); P[j] is W_j..W_1, S[j] is W_N..W_j
    W = [np.empty((nsteps,) + sh) for sh in shapes]
    P = [W[0]] + [np.empty((nsteps, shapes[j][0], d0)) for j in range(1, N)]
    S = [np.empty((nsteps, dN, shapes[j][1])) for j in range(N - 1)] + [W[N - 1]]
    G = np.empty((nsteps, dN, d0))
    Q = [np.empty((nsteps, shapes[j + 1][1], d0)) for j in range(N - 1)] + [G]
    sg = [np.empty((nsteps,) + sh) for sh in shapes]
    new = [np.empty((nsteps,) + sh) for sh in shapes]
    its = []
    for t in range(nsteps):
        its.append(Ws)
        for j in range(N):
            W[j][t] = Ws[j]
        Pt = [Ws[0]]
        for j in range(1, N):
            Pt.append(Ws[j] @ Pt[-1])
            P[j][t] = Pt[-1]
        St = [None] * N
        St[N - 1] = Ws[N - 1]
        for j in range(N - 2, -1, -1):
            St[j] = St[j + 1] @ Ws[j]
            S[j][t] = St[j]
        if loss.kernel is not None:
            Gt = loss.kernel.grad_float(Pt[-1])
        elif loss.square:
            Gt = (Pt[-1] @ loss.Sxx_f) - loss.Syx_f
        else:
            Gt = Pt[-1] - loss.Phi
        G[t] = Gt
        Qt = [St[j + 1].T @ Gt if j < N - 1 else Gt for j in range(N)]
        for j in range(N - 1):
            Q[j][t] = Qt[j]
        gt = [Qt[j] @ Pt[j - 1].T if j > 0 else Qt[j] for j in range(N)]
        sgt = [eta * x for x in gt]
        nw = [w_ - x for w_, x in zip(Ws, sgt)]
        for j in range(N):
            sg[j][t] = sgt[j]
            new[j][t] = nw[j]
        Ws = nw
    # ---- own norm-wise a-priori bounds (section 2, S4.6; exact W, exact eta), batched ----
    # E(X) >= ||X^ - X||_F per step (vectors over the steps), from the Frobenius
    # norms of the computed arrays: for C^ = fl(A^ B^), inner dimension k,
    # E(C) <= E(A)(||B^|| + E(B)) + ||A^|| E(B) + gamma_k ||A^|| ||B^|| + uf;
    # each expression has at most 8 roundings on any path (infl(., 10)).
    infl, gam, U = A.infl, A.gamma, A.U
    nrm = _fro_rows  # >= ||X_t||_F per slice (scale-aware)
    nW = [nrm(w) for w in W]
    nP = [nW[0]] + [nrm(P[j]) for j in range(1, N)]
    nS = [nrm(S[j]) for j in range(N - 1)] + [nW[N - 1]]
    nG = nrm(G)
    zero = np.zeros(nsteps)

    def prod_err(eA, nA, eB, nB, k, size):
        return infl(eA * (nB + eB) + nA * eB + gam(k) * nA * nB + _uf(k, size), 10)

    EP = [zero]
    for j in range(1, N):
        EP.append(prod_err(zero, nW[j], EP[-1], nP[j - 1], W[j].shape[2], P[j][0].size))
    ES = [None] * N
    ES[N - 1] = zero
    for j in range(N - 2, -1, -1):
        ES[j] = prod_err(ES[j + 1], nS[j + 1], zero, nW[j], W[j].shape[1], S[j][0].size)
    if loss.kernel is not None:
        # section 8: E(G) = ||G^ - Gm||_F + ||Gr||_F + s_F E(P_N), the balls at all the block's
        # float products at once
        EG = loss.kernel.float_errors(G, P[N - 1], EP[-1])
    elif loss.square:
        k = loss.Sxx_f.shape[0]
        EA = prod_err(EP[-1], nP[-1], loss.e_sxx, loss.n_sxx, k, G[0].size)
        EG = infl(EA + loss.e_syx + U * nG, 4)
    else:
        EG = infl(EP[-1] + U * nG, 3)
    # ||G(k) - G(start)||_F <= ||fl(G^_k - G^_0)|| (1 + 2u) + E(G)_k + E(G)_0
    gdiffs = infl(_fro_rows(G - G[0]) + EG + EG[0], 3)
    ss = np.zeros(nsteps)
    for j in range(N):
        if j < N - 1:
            EQ = prod_err(ES[j + 1], nS[j + 1], EG, nG, G.shape[1], Q[j][0].size)
        else:
            EQ = EG
        if j > 0:
            nQ = nG if j == N - 1 else nrm(Q[j])
            Eg = prod_err(EQ, nQ, EP[j - 1], nP[j - 1], Q[j].shape[2], sg[j][0].size)
        else:
            Eg = EQ
        # ||W'^ - (W - eta g)|| <= u ||W'^|| + eta E(g) + u ||fl(eta g^)|| + sqrt(mn) 2^-1073
        rj = infl(U * nrm(new[j]) + eta * Eg + U * nrm(sg[j]) + _uf(1, sg[j][0].size), 6)
        ss = ss + rj * rj
    rounds = np.nextafter(np.sqrt(infl(ss, 2 * N + 2)), np.inf)
    steps = np.stack([_fro_rows(new[j] - W[j]) for j in range(N)], axis=1)
    drifts = np.stack([_fro_rows(W[j] - W[j][0]) for j in range(N)], axis=1)
    return its, Ws, rounds, steps, drifts, gdiffs


def _uf(k: int, size: int) -> float:
    """``>= k sqrt(size) 2^-1073`` (the underflow allowance of a product with
    inner dimension ``k``), exact: an integer times 2^-1073 is a double."""
    return math.ldexp(float(math.ceil(k * math.sqrt(size) * (1.0 + 1e-12))), -1073)


def _fro_rows(D) -> np.ndarray:
    """Per-slice upper bounds of ``||a - b||_F`` given ``D = fl(a - b)``
    (scale-aware: :func:`certify.check._arith.fro_diff_rows_up`)."""
    return A.fro_diff_rows_up(D)


def strict_rounds(its, news, eta, loss, problem, N: int, prec: int = 256) -> np.ndarray:
    """``--strict``: the exact GD step at each float iterate enclosed in Arb
    balls at the current precision (python-flint ``arb_mat``; inputs are exact
    doubles and exact rational statistics), and ``round`` bounded by
    ``||W'^ - enclosure||`` taken entrywise at the ball's far end (``prec`` bits)."""
    from flint import ctx

    old = ctx.prec
    ctx.prec = max(prec, old)
    try:
        return _strict_rounds(its, news, eta, loss, problem, N)
    finally:
        ctx.prec = old


def _strict_rounds(its, news, eta, loss, problem, N: int) -> np.ndarray:
    from flint import arb, arb_mat

    if loss.kernel is not None:
        pass  # G from the checker's rigorous float ball (below), converted to Arb balls
    elif loss.square:
        eSxx, eSyx, _ = problem.loss.exact_stats
        Sxx, Syx = arb_mat(eSxx), arb_mat(eSyx)
    else:
        Phi = arb_mat(loss.Phi.tolist())
    E = arb(eta)
    out = np.empty(len(its))
    for t, (Ws, new) in enumerate(zip(its, news)):
        B = [arb_mat(w.tolist()) for w in Ws]
        P = [B[0]]
        for j in range(1, N):
            P.append(B[j] * P[-1])
        S = [None] * N
        S[N - 1] = B[N - 1]
        for j in range(N - 2, -1, -1):
            S[j] = S[j + 1] * B[j]
        if loss.kernel is not None:
            G = _kernel_G_arb(P[-1], loss.kernel)
        else:
            G = P[-1] * Sxx - Syx if loss.square else P[-1] - Phi
        s = arb(0)
        for j in range(N):
            Q = S[j + 1].transpose() * G if j < N - 1 else G
            g = Q * P[j - 1].transpose() if j > 0 else Q
            D = arb_mat(new[j].tolist()) - (B[j] - g * E)
            for x in D.entries():
                a = abs(x).upper()
                s += a * a
        out[t] = A.hi(s.sqrt())
    return out


def _kernel_G_arb(P, kernel):
    """``--strict``, kernel losses: ``grad l`` on the Arb ball ``P`` of the exact product, as Arb
    balls: the checker's float gradient ball at the float box ``(mid, rad)`` of ``P`` (outward)."""
    from flint import arb, arb_mat

    rows, cols = P.nrows(), P.ncols()
    Pm, Pr = np.empty((rows, cols)), np.empty((rows, cols))
    for i in range(rows):
        for j in range(cols):
            x = P[i, j]
            Pm[i, j] = float(x.mid())
            Pr[i, j] = A.hi(abs(x - arb(Pm[i, j])))
    Gm, Gr = kernel.grad_ball(Pm, Pr)
    G = arb_mat(Gm.shape[0], Gm.shape[1])
    for i in range(Gm.shape[0]):
        for j in range(Gm.shape[1]):
            G[i, j] = arb(float(Gm[i, j]), float(Gr[i, j]))
    return G
