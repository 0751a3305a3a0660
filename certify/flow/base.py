"""The stepper protocol of the validated flow and what every stepper shares: the step size from the
candidate's last coefficients, the kernel losses' remainder target, Horner on ball coefficients.

A stepper (:class:`certify.flow.float_step.FloatStep`, :class:`certify.flow.ball_step.BallStep`) is built
at the step's center and provides ``choose_step(prec_bits, cap)``, ``validate(h, e0)`` (``None`` when
the tube cannot be validated at ``h``), ``evaluate(s)`` and ``ball_coeffs()``; :meth:`Stepper.step` is
the bookkeeping (clip to the next checkpoint, halve until validated) that
:func:`certify.flow.enclose_flow` calls."""

from __future__ import annotations

import math
from fractions import Fraction

from .._errors import EnclosureError, NotCertified

#: kernel losses: the G Taylor model's remainder is kept below this many units ``2^-prec (1 + ||G_0||_F)``
KERNEL_REMAINDER_UNITS = 8.0
#: kernel losses: at most this many shrinkings of h for the remainder before the step is validated as is
KERNEL_MAX_HALVINGS = 6
#: float path, kernel losses: the next step starts at least this factor above the last accepted one
KERNEL_GROWTH = 1.125


class Stepper:
    """Base class of the steppers (module docstring)."""

    #: halvings of h before a step is given up
    MAX_HALVINGS = 40

    def choose_step(self, prec_bits: int, cap: Fraction | None = None) -> Fraction:  # pragma: no cover
        raise NotImplementedError

    def validate(self, h: Fraction, e0: float):  # pragma: no cover
        raise NotImplementedError

    def step(self, prec_bits: int, cap: Fraction | None, t: Fraction, t_next: Fraction, e0: float):
        """``(h, (e1, delta, mu, rho))``: the chosen step (at most ``cap`` and ``t_next - t``), halved
        until :meth:`validate` succeeds; :class:`certify.NotCertified` when it never does."""
        h = min(self.choose_step(prec_bits, cap), t_next - t)
        res = None
        for _attempt in range(self.MAX_HALVINGS):
            res = self.validate(h, e0)
            if res is not None:
                break
            h = h / 2
        if res is None or h < Fraction(1, 2**60):
            raise NotCertified(
                None, float(t), "step size underflow: the GF tube cannot be validated (curvature too "
                "adverse, or the flow blows up)", "try a higher --prec or a shorter horizon")
        return h, res


def _step_from_norms(norms_p1: float, norms_p: float, p: int, prec_bits: int, scale: float) -> Fraction:
    """Step from the last coefficients: ``||a_i|| h^i <= tol`` for ``i = p-1, p``,
    rounded down to a dyadic with a 4-bit mantissa (cheap powers ``h^i``)."""
    tol = scale * 2.0 ** (-prec_bits) if prec_bits <= 1000 else 0.0
    hs = [(tol / n) ** (1.0 / i) for n, i in ((norms_p1, p - 1), (norms_p, p)) if n > 0 and tol > 0]
    h = min(hs + [1.0])
    if not (h > 0) or not math.isfinite(h):
        raise EnclosureError("cannot choose a step (non-finite Taylor coefficients)")
    return _dyadic_down(h)


def _dyadic_down(h: float) -> Fraction:
    """The largest dyadic ``<= h`` with a 4-bit mantissa (``h > 0`` finite)."""
    k = math.floor(math.log2(h))
    return Fraction(math.floor(h / 2.0**k * 16), 16) * Fraction(2) ** k


def horner_balls(coeffs, s: Fraction):
    """``y(s)`` as balls, per layer."""
    out = []
    for layer in coeffs:
        acc = layer[-1]
        for c in reversed(layer[:-1]):
            acc = acc * s + c
        out.append(acc)
    return out
