"""The ball-arithmetic stepper (any precision; used for ``arb``): candidate and defect in the backend's
balls (SPEC S4.3)."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np

from ..bounds.s31 import center_norms
from .._lossdata import BackendLoss
from .base import Stepper, KERNEL_MAX_HALVINGS, KERNEL_REMAINDER_UNITS, _step_from_norms, horner_balls
from .series import GradientSeries, gf_taylor
from .tube import _Errs, _finish_step


class BallStep(Stepper):
    """One step with the candidate and the defect in the backend's ball
    arithmetic (any precision; used for ``arb``)."""

    def __init__(self, model: BackendLoss, centers, p: int):
        self.model, self.p = model, p
        self.centers = centers
        self.coeffs, _ = gf_taylor(centers, p, *self._callbacks(), lambda x, k: (x * Fraction(1, k)).center())
        self._series = None
        self._center = None
        self._gs = None

    def _callbacks(self):
        """``(grad_l0, grad_l_lin)``: the loss's (linear for the square losses; a fresh Arb series
        for the kernel losses, :mod:`certify.losses.arb_series`)."""
        if self.model.kernel is not None:
            from ..losses.arb_series import arb_callbacks

            return arb_callbacks(self.model.kernel)
        return self.model.g0, self.model.glin

    def ball_coeffs(self):
        return self.coeffs

    def evaluate(self, s: Fraction):
        """``y(s)`` per layer as balls."""
        return horner_balls(self.coeffs, s)

    def choose_step(self, prec_bits: int, cap: Fraction | None = None) -> Fraction:
        """The step: from the candidate's last coefficients, at most ``cap``; kernel losses: halved
        until the G Taylor model's remainder is at the working precision's level."""
        scale = 1.0 + math.sqrt(sum(c.norm_f_upper() ** 2 for c in self.centers))
        n = [math.sqrt(sum(layer[i].norm_f_upper() ** 2 for layer in self.coeffs)) for i in (self.p - 1, self.p)]
        h = _step_from_norms(n[0], n[1], self.p, prec_bits, scale)
        if cap is not None:
            h = min(h, cap)
        if self.model.kernel is not None:
            # as the float path: keep the interval-point remainder at the working precision's level
            target = KERNEL_REMAINDER_UNITS * 2.0 ** (-prec_bits) * (1.0 + self._gradient_series()[3][0])
            for _ in range(KERNEL_MAX_HALVINGS):
                if self._kernel_remainder(h) <= target:
                    break
                h = h / 2
        return h

    def _gradient_series(self):
        """The gradient along the candidate, orders ``0..p``, in balls (independent of h)."""
        if self._series is None:
            N, q = self.model.N, self.p
            gs = GradientSeries(N, *self._callbacks())
            for j in range(N):
                gs.W[j].extend(self.coeffs[j])
            for _ in range(q + 1):
                gs.advance()
            self._gs = gs
            norm = lambda xs: np.array([x.norm_f_upper() for x in xs])
            # defect coefficient norms D_i = (i+1) a_{i+1} + grad_i
            dn = []
            for j in range(N):
                row = []
                for i in range(q + 1):
                    gi = gs.grad[j][i]
                    if i + 1 <= self.p:
                        gi = gi + self.coeffs[j][i + 1] * (i + 1)
                    row.append(gi.norm_f_upper())
                dn.append(np.array(row))
            self._series = (
                [norm(gs.W[j]) for j in range(N)], [norm(gs.P[j]) for j in range(N)],
                [norm(gs.S[j]) for j in range(N)], norm(gs.G), [norm(gs.Q[j]) for j in range(N)],
                [norm(gs.grad[j]) for j in range(N)], dn,
            )
        return self._series

    def validate(self, h: Fraction, e0: float):
        nW, nP, nS, nG, nQ, ng, dn = self._gradient_series()
        zeros = [np.zeros_like(x) for x in nW]
        E = _Errs(zeros, [np.zeros_like(x) for x in nP], [np.zeros_like(x) for x in nS],
                  np.zeros_like(nG), [np.zeros_like(x) for x in nQ], [np.zeros_like(x) for x in ng])
        if self._center is None:
            self._center = center_norms(self.model, [layer[0] for layer in self.coeffs])
        g_rem = self._kernel_remainder(h) if self.model.kernel is not None else None
        return _finish_step(self.model, self.coeffs, nW, nP, nS, nG, nQ, ng, E, dn, self.p, h, e0, self._center,
                            g_rem)

    def _kernel_remainder(self, h):
        """Kernel losses: the Lagrange remainder of ``G`` along the truncated product (its ball
        coefficients enclose the exact ones: no coefficient error term), cached per ``h``."""
        from ..losses.arb_series import arb_gradient_remainder

        if getattr(self, "_rem", None) is None or self._rem[0] != h:
            self._gradient_series()
            P = self._gs.P[self.model.N - 1]
            self._rem = (h, arb_gradient_remainder(self.model.kernel, [P[i] for i in range(self.p + 1)], h, self.p))
        return self._rem[1]
