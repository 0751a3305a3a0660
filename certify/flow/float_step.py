"""The float64 stepper: the candidate's own float series with norm-wise a-priori bounds of its
rounding errors (SPEC S4.3, S4.6) instead of ball arithmetic."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np

from .._claims import U
from .._claims import up as _up
from .._errors import BlowUpError
from ..bounds.s31 import center_norms
from .._lossdata import BackendLoss
from .base import Stepper, KERNEL_GROWTH, KERNEL_MAX_HALVINGS, KERNEL_REMAINDER_UNITS, _dyadic_down, _step_from_norms
from .series import gf_taylor
from .tube import _Errs, _finish_step, _hpow


def _norms_stack(a: np.ndarray) -> np.ndarray:
    """Upper bounds of the Frobenius norms of the float matrices ``a[i]``."""
    m = a[0].size
    ss = np.einsum("ijk,ijk->i", a, a)
    return np.nextafter(np.sqrt(_up(ss, m + 1)), np.inf)


def _gammas(k: int, q: int) -> np.ndarray:
    """``gamma_{(i+1) k}`` for ``i = 0..q`` (rounded up)."""
    n = (np.arange(q + 1) + 1.0) * k
    return n * U / (1.0 - n * U) * (1.0 + 4 * U)


def _conv(x: np.ndarray, y: np.ndarray, q: int) -> np.ndarray:
    """Upper bound of ``sum_l x_l y_{i-l}`` for nonnegative vectors, ``i <= q``."""
    return _up(np.convolve(x, y)[: q + 1], 2 * q + 4)


def product_error(nA, EA, nB, EB, k, q, out_size):
    """Norm-wise error of a series product computed in float (batched matmul
    plus sum: for each order one inner product of length ``(i+1) k``):
    ``E(C)_i <= sum_l [E(A)_l (n(B) + E(B))_{i-l} + n(A)_l E(B)_{i-l}]
    + gamma_{(i+1)k} sum_l n(A)_l n(B)_{i-l}`` plus an underflow allowance."""
    t = _conv(EA, nB + EB, q) + _conv(nA, EB, q) + _gammas(k, q) * _conv(nA, nB, q)
    uf = (np.arange(q + 1) + 1.0) * k * math.sqrt(out_size) * 2.0**-1073
    return _up(t + uf, 4)


class FloatStep(Stepper):
    """One step of the float64 fast path: the candidate's own float series is
    reused, with norm-wise a-priori bounds of its rounding errors (S4.6)
    instead of ball arithmetic."""

    def __init__(self, model: BackendLoss, centers, p: int):
        self.model, self.p = model, p
        self.W0 = [c.mid() for c in centers]
        if model.kernel is not None:
            from ..losses import gf_callbacks

            g0, glin = gf_callbacks(model.kernel)  # the loss's gradient series (S4.3-ce-series)
        elif model.square:
            Sxx, Syx = model.Sxx_approx, model.Syx_approx
            g0, glin = (lambda P: P @ Sxx - Syx), (lambda P: P @ Sxx)
        else:
            Phi = model.Phi_approx
            g0, glin = (lambda P: P - Phi), (lambda P: P)
        with np.errstate(over="ignore", invalid="ignore"):
            W, gs = gf_taylor(self.W0, p, g0, glin, lambda x, k: x / k, stack=True)
            gs.advance()  # order p of the gradient along the candidate
        for j in range(model.N):
            if not np.all(np.isfinite(gs.W[j].a[: p + 1])) or not np.all(np.isfinite(gs.grad[j].a[: p + 1])):
                raise BlowUpError("the Taylor coefficients overflowed: the flow blows up")
        self.gs = gs
        self._balls = None
        self._norms = None
        self._center = None
        self._tm = None
        self._tm_source = None

    def evaluate(self, s: Fraction):
        """``y(s)`` per layer as float64 balls: Horner in binary64 (midpoints
        ``fl(fl(acc * s_f) + a_i)``, ``s_f`` the nearest double to ``s``, as the
        ball backend computes them) with the radius propagated entrywise
        (each rounding ``u |result|`` plus the underflow unit, ``|s - s_f|``
        times the accumulator), rounded up."""
        from ..arith import ETA, F64Mat, nearest_double

        sf, es = nearest_double(s)
        out = []
        with np.errstate(over="ignore", invalid="ignore"):
            for j in range(self.model.N):
                a = self.gs.W[j].a
                m = a[self.p].copy()
                r = np.zeros_like(m)
                for i in range(self.p - 1, -1, -1):
                    t = m * sf
                    rt = _up(U * np.abs(t) + ETA + abs(sf) * r + es * (np.abs(m) + r), 6)
                    m = t + a[i]
                    r = _up(U * np.abs(m) + rt, 3)
                if not (np.all(np.isfinite(m)) and np.all(np.isfinite(r))):
                    raise BlowUpError("overflow evaluating the Taylor candidate: the flow blows up")
                out.append(F64Mat(m, r))
        return out

    def ball_coeffs(self):
        if self._balls is None:
            ctx = self.model.ctx
            self._balls = [[ctx.matrix(np.ascontiguousarray(c)) for c in self.gs.W[j].a[: self.p + 1]]
                           for j in range(self.model.N)]
        return self._balls

    def choose_step(self, prec_bits: int, cap: Fraction | None = None) -> Fraction:
        """The step: from the candidate's last coefficients, at most ``cap``; kernel losses: also
        :meth:`_kernel_step`."""
        nW = self._all_norms()[0]
        scale = 1.0 + math.sqrt(sum(float(n[0]) ** 2 for n in nW))
        n1 = math.sqrt(sum(float(n[self.p - 1]) ** 2 for n in nW))
        n2 = math.sqrt(sum(float(n[self.p]) ** 2 for n in nW))
        h = _step_from_norms(n1, n2, self.p, prec_bits, scale)
        if cap is not None:
            h = min(h, cap)
        if self.model.kernel is not None:
            h = self._kernel_step(h)
        return h

    def _kernel_step(self, h: Fraction) -> Fraction:
        """The G Taylor model's Lagrange remainder (an interval evaluation at ``[0, h]``) must stay
        at the rounding level, or it dominates the defect.  Start from the last accepted step times
        ``KERNEL_GROWTH`` (the model remembers it); while the remainder ``r`` exceeds the target,
        shrink ``h`` by the factor ``0.95 (target / r)^(1/n)`` (``r`` falls at least like ``h^n``,
        ``n`` the remainder's order, empirically faster), at least halving after the first miss.
        Only the choice of ``h`` is heuristic: the remainder used is the one computed at it."""
        model = self.model
        target = KERNEL_REMAINDER_UNITS * U * (1.0 + self._g0_norm())
        if model.kernel_h is not None:
            h = min(h, _dyadic_down(model.kernel_h))
        src = self._kernel_tm_source()
        n = src.order + src.extra + 1
        for attempt in range(KERNEL_MAX_HALVINGS):
            r = self._kernel_tm(h).r_poly
            f = 0.95 * (target / r) ** (1.0 / n) if 0 < r < math.inf else (2.0 if r == 0 else 0.5)
            if r <= target:
                break
            h = min(_dyadic_down(float(h) * f), h / 2 if attempt else h)
        # the next step starts from this one grown by the same prediction, between 1 and 2
        model.kernel_h = float(h) * min(2.0, max(KERNEL_GROWTH, f))
        return h

    def _g0_norm(self) -> float:
        return float(_norms_stack(self.gs.G.a[:1])[0])

    def _kernel_tm_source(self):
        """The h-independent part of the G Taylor model along the float product polynomial."""
        if self._tm_source is None:
            from ..losses import GradientSeriesEnclosure

            Pc = self.gs.P[self.model.N - 1].a[: self.p + 1]
            self._tm_source = GradientSeriesEnclosure(self.model.kernel, Pc, order=self.p)
        return self._tm_source

    def _kernel_tm(self, h):
        """The G Taylor model along the float product polynomial on ``[0, h]`` (cached per ``h``)."""
        if self._tm is None or self._tm[0] != h:
            self._tm = (h, self._kernel_tm_source().taylor_model(h))
        return self._tm[1]

    def _all_norms(self):
        if self._norms is None:
            gs, N, q = self.gs, self.model.N, self.p
            nb = lambda st: _norms_stack(st.a[: q + 1])
            nW = [nb(gs.W[j]) for j in range(N)]
            nP = [nb(gs.P[j]) for j in range(N)]
            nS = [nb(gs.S[j]) for j in range(N)]
            nG = nb(gs.G)
            nQ = [nb(gs.Q[j]) for j in range(N)]
            ng = [nb(gs.grad[j]) for j in range(N)]
            self._norms = (nW, nP, nS, nG, nQ, ng)
        return self._norms

    def validate(self, h: Fraction, e0: float):
        model, gs, N, q, p = self.model, self.gs, self.model.N, self.p, self.p
        nW, nP, nS, nG, nQ, ng = self._all_norms()
        z = np.zeros(q + 1)
        EW = [z] * N
        EP = [z]
        for j in range(1, N):
            A = gs.W[j].a
            EP.append(product_error(nW[j], z, nP[j - 1], EP[j - 1], A.shape[2], q, gs.P[j].a[0].size))
        ES = [None] * N
        ES[N - 1] = z
        for j in range(N - 2, -1, -1):
            k = gs.W[j].a.shape[1]
            ES[j] = product_error(nS[j + 1], ES[j + 1], nW[j], z, k, q, gs.S[j].a[0].size)
        g_rem = None
        if model.kernel is not None:
            EG, g_rem = self._kernel_G(EP[N - 1], h)
        elif model.square:
            k = model.Sxx_approx.shape[0]
            nsx = np.full(q + 1, model.n_sxx)
            EG = _up(EP[N - 1] * (model.n_sxx + model.e_sxx) + nP[N - 1] * model.e_sxx
                     + _gammas(k, 0)[0] * nP[N - 1] * nsx, 6)
            EG[0] = _up(EG[0] + model.e_syx + U * nG[0], 3)
        else:
            EG = EP[N - 1].copy()
            EG[0] = _up(EG[0] + U * nG[0], 2)
        EQ, Eg = [], []
        for j in range(N):
            if j == 0:
                eq = EG
            else:
                eq = product_error(nG, EG, nP[j - 1], EP[j - 1], gs.P[j - 1].a.shape[2], q, gs.Q[j].a[0].size)
            EQ.append(eq)
            if j == N - 1:
                Eg.append(eq)
            else:
                Eg.append(product_error(nS[j + 1], ES[j + 1], nQ[j], eq, gs.S[j + 1].a.shape[1], q,
                                    gs.grad[j].a[0].size))
        # defect coefficients D_i = (i+1) a_{i+1} + grad_i: computed in float, then bounded
        dn = []
        for j in range(N):
            a = gs.W[j].a
            g = gs.grad[j].a[: q + 1]
            scaled = a[1 : p + 1] * np.arange(1, p + 1)[:, None, None]
            Dhat = g.copy()
            Dhat[:p] = scaled + g[:p]
            nD = _norms_stack(Dhat)
            nsc = np.concatenate([_norms_stack(scaled), [0.0]])
            tiny = math.sqrt(a[0].size) * 2.0**-1073
            dn.append(_up(nD * (1 + U) + U * nsc + Eg[j] + tiny, 6))
        E = _Errs(EW, EP, ES, EG, EQ, Eg)
        if self._center is None:
            self._center = center_norms(model, [model.ctx.matrix(w) for w in self.W0])
        return _finish_step(model, None, nW, nP, nS, nG, nQ, ng, E, dn, p, h, e0, self._center, g_rem)

    def _kernel_G(self, EP_N, h):
        """Kernel losses (gap-v2.md section 8): ``(EG, r)``.  The Taylor model of ``G`` is taken
        along the *float* product polynomial ``P^(s) = sum_{k<=q} P^_k s^k`` (the computed
        coefficients, exact doubles): ``G(P^(s)) = sum_k g_k s^k + R(s)`` with ``g_k`` in the
        balls of :func:`certify.losses.enclose_gradient_series` (S4.3-ce-series) and ``||R||_F <=
        r_poly``.  The exact product differs from ``P^(s)`` by at most ``sum_k EP_k h^k`` plus its
        own remainder, so (mean value theorem, ``||Hl||_2 <= s_F``) ``r = r_poly + s_F sum_k EP_k
        h^k`` and :func:`_finish_step` adds ``s_F r_P``.  ``EG_k >= ||G^_k - g_k||_F`` for the
        float coefficients ``G^_k`` of the candidate's gradient series.  (Entrywise radii from
        the Frobenius ``EP_k`` instead would cost a factor ``~sum |x|`` per logit: 1e-10 relative
        on builtin:paper-ce.)"""
        gs, q = self.gs, self.p
        tm = self._kernel_tm(h)
        # |G^ - g| <= |fl(G^ - mid)| (1 + 2u) + rad entrywise, then Frobenius norms (upward)
        T = _up(np.abs(gs.G.a[: q + 1] - tm.mid) * (1.0 + 2.0 * U) + tm.rad, 2)
        move = _up(float(np.sum(np.asarray(EP_N) * _hpow(h, q))), q + 3)
        return _norms_stack(T), _up(tm.r_poly + self.model.s_F * move, 2)
