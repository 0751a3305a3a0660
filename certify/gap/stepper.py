"""The float GD step with its norm-wise a-priori rounding bound (gap-v2.md sections 1-2, SPEC S4.6): the
iterates every gap certificate is about, and ``round >= ||fl-step - exact step||`` at the float point."""

from __future__ import annotations

import math

import numpy as np

from .._claims import TINY, U, fro_up, up
from .._lossdata import stat_errors
from .._problem import Problem
from ..arith import gamma
from ..losses.fast import gradient_with_error


class GDStepper:
    def __init__(self, problem: Problem, eta: float):
        self.N = problem.depth
        self.eta = eta
        self.square = problem.loss.has_stats
        self.kernel = problem.loss.kernel if problem.loss.is_kernel else None
        if self.kernel is not None:
            self.s_F = problem.loss.constants[1]  # >= sup ||Hl||_2 (section 8)
        elif self.square:
            Sxx_f, Syx_f, _ = problem.loss.float_stats
            self.Sxx, self.Syx = Sxx_f, Syx_f
            self.e_sxx, self.e_syx = stat_errors(problem)
            self.n_sxx = fro_up(Sxx_f)
            self.c = problem.loss.float_stats[2]
        else:
            self.Phi = np.asarray(problem.loss.target, dtype=np.float64)
        self._norms = None
        self.dl = None
        self.G = None  # float G^ at the iterate of the last step, and eG >= ||G^ - G||_F
        self.eG = 0.0

    def _setup(self, Ws, P, S, Q, g, A, mats):
        """Per-shape constants, once (the shapes never change): the norms'
        rounding factors and, per product, ``gamma_k`` and the underflow term."""
        N = self.N
        self._norms = (np.array([1.0 + 2.0 * (m.size + 3) * U for m in mats]),
                       np.array([2.0 * (m.size + 3) * TINY for m in mats]))
        self._cP = [None] + [(gamma(Ws[j].shape[1]), _uf(Ws[j].shape[1], P[j])) for j in range(1, N)]
        self._cS = [(gamma(Ws[j].shape[0]), _uf(Ws[j].shape[0], S[j])) for j in range(N - 1)] + [None]
        self._cQ = [(gamma(Q[N - 1].shape[0]), _uf(Q[N - 1].shape[0], Q[j])) for j in range(N - 1)] + [None]
        self._cg = [None] + [(gamma(Q[j].shape[1]), _uf(Q[j].shape[1], g[j])) for j in range(1, N)]
        if self.square and A is not None:
            k = self.Sxx.shape[0]
            self._cA = (gamma(k), _uf(k, A))
        self._tiny = [math.sqrt(g[j].size) * 2.0**-1073 for j in range(N)]

    def step(self, Ws):
        """One float GD step (section 1); returns ``(loss estimate, new Ws, round)``
        with ``round`` the norm-wise bound of section 2 (before claim slack)."""
        # long: the float step and its error propagation follow gap-v2.md sections 1-2 operation by
        # operation; split, each bound would sit apart from the product it bounds
        N, eta = self.N, self.eta
        # ---- the float step (this defines the iterates) ----
        P = [Ws[0]]
        for j in range(1, N):
            P.append(Ws[j] @ P[-1])
        S = [None] * N
        S[N - 1] = Ws[N - 1]
        for j in range(N - 2, -1, -1):
            S[j] = S[j + 1] @ Ws[j]
        if self.kernel is not None:
            # section 8: G^ = the float gradient at P^_N with the proven exp kernel and an
            # a-priori bound of its rounding (certify.losses.fast)
            A = None
            fg = gradient_with_error(self.kernel, P[-1])
            G = fg.G
        elif self.square:
            A = P[-1] @ self.Sxx
            G = A - self.Syx
        else:
            A = None
            G = P[-1] - self.Phi
        Q = [S[j + 1].T @ G if j < N - 1 else G for j in range(N)]
        g = [Q[j] @ P[j - 1].T if j > 0 else Q[j] for j in range(N)]
        sg = [eta * x for x in g]
        new = [W - x for W, x in zip(Ws, sg)]
        delta = [x - W for x, W in zip(new, Ws)]
        # ---- norms, all at once (g^_j and A^ need none) ----
        mats = list(Ws) + P[1:] + S[:-1] + [G] + Q[:-1] + sg + new + delta
        if self._norms is None:
            self._setup(Ws, P, S, Q, g, A, mats)
        f, a = self._norms
        # fro_up of each matrix (one vdot each: size + 1 roundings on any path, S4.6),
        # vectorised: sqrt is correctly rounded in numpy too, then one step up
        nv = np.nextafter(np.sqrt(np.array([np.vdot(m, m) for m in mats]) * f + a), np.inf).tolist()
        nW = nv[:N]
        nP = [nW[0]] + nv[N:2 * N - 1]
        nS = nv[2 * N - 1:3 * N - 2] + [nW[N - 1]]
        nG = nv[3 * N - 2]
        nQ = nv[3 * N - 1:4 * N - 2] + [nG]
        nsg = nv[4 * N - 2:5 * N - 2]
        nnew = nv[5 * N - 2:6 * N - 2]
        # ||new - W|| from the float difference: |a - b| <= |fl(a - b)| / (1 - u)
        self.dl = [up(x, 2) for x in nv[6 * N - 2:7 * N - 2]]
        # ---- error propagation (section 2; constants gamma_k and underflow per product precomputed) ----
        cP, cS, cQ, cg = self._cP, self._cS, self._cQ, self._cg
        eP = [0.0]
        for j in range(1, N):
            gk, uf = cP[j]
            eP.append(up(nW[j] * eP[-1] + gk * nW[j] * nP[j - 1] + uf, 8))
        eS = [0.0] * N
        for j in range(N - 2, -1, -1):
            gk, uf = cS[j]
            eS[j] = up(eS[j + 1] * nW[j] + gk * nS[j + 1] * nW[j] + uf, 8)
        if self.kernel is not None:
            # E(G) = (a-priori bound of G^ at the float P^_N) + s_F E(P_N) (section 8)
            eG = up(fg.err + self.s_F * eP[-1], 2)
            loss = fg.value  # an estimate
        elif self.square:
            gk, uf = self._cA
            eA = up(eP[-1] * (self.n_sxx + self.e_sxx) + nP[-1] * self.e_sxx
                    + gk * nP[-1] * self.n_sxx + uf, 10)
            eG = up(eA + self.e_syx + U * nG, 4)
            loss = 0.5 * float(np.vdot(A, P[-1])) - float(np.vdot(P[-1], self.Syx)) + self.c
        else:
            eG = up(eP[-1] + U * nG, 3)
            loss = 0.5 * nG * nG  # an estimate (slightly above the float loss)
        self.G, self.eG = G, eG
        rsq = 0.0
        for j in range(N):
            if j < N - 1:
                gk, uf = cQ[j]
                eQ = up(eS[j + 1] * (nG + eG) + nS[j + 1] * eG + gk * nS[j + 1] * nG + uf, 8)
            else:
                eQ = eG
            if j > 0:
                gk, uf = cg[j]
                eg = up(eQ * (nP[j - 1] + eP[j - 1]) + nQ[j] * eP[j - 1] + gk * nQ[j] * nP[j - 1] + uf, 8)
            else:
                eg = eQ
            rj = up(U * nnew[j] + eta * eg + U * nsg[j] + self._tiny[j], 6)
            rsq += rj * rj
        rnd = math.nextafter(math.sqrt(up(rsq, 2 * N + 2)), math.inf)
        if not math.isfinite(rnd):
            loss = math.inf
        return loss, new, rnd


def _uf(k: int, C: np.ndarray) -> float:
    """Underflow allowance of a product with inner dimension ``k`` (section 2)."""
    return k * math.sqrt(C.size) * 2.0**-1073
