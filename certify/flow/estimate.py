"""High-precision gradient-flow integrator: an ESTIMATE, not a certificate.

:func:`integrate_gf` integrates ``theta' = -grad f(theta)`` (SPEC S1) with the
Taylor method: ``f`` is a polynomial (S2.3), so the Taylor coefficients of the
solution through the current point follow exactly from the Cauchy-product
recursion of :class:`certify.flow.series.GradientSeries` (``W_j[i+1] =
-grad_j[i] / (i+1)``), here in Arb arithmetic (:mod:`certify.arith`, ``arb``
backend) at ``prec`` bits.  Nothing about the result is rigorous: truncation
errors are *estimated* from the last coefficients, and although Arb tracks
rounding errors we drop its radii (every coefficient is re-centred).  For a
rigorous enclosure use :func:`certify.enclose_flow` (S4.1 + S4.3).  Every
result says so: ``FlowEstimate.kind == "estimate"``.

Step and order control (after Jorba & Zou, *Experimental Mathematics* 14,
2005).  With ``eps`` the tolerance per step, relative to ``max(1, ||theta||)``:

- order ``p = ceil(-ln(eps)/2) + 1``, which minimises the ``O(p^2)`` cost per
  unit time when the step is ``rho / e^2`` (``rho`` the radius of convergence);
- step ``h = safety * min_{j in (p-1, p)} (eps max(1, ||theta||) / ||a_j||)^{1/j}``
  (``||a_j||`` the Frobenius norm of the order-``j`` coefficient of all layers),
  i.e. the last two terms of the series are below the tolerance; this is JZ's
  ``rho / e^2`` with the radius estimated from the same two coefficients;
- adaptive order: coefficients are computed one order at a time, and the
  order stops growing as soon as the tolerance is met with a step that
  reaches ``t_end`` (the last, short step uses a low order);
- output at the requested times by evaluating the step's polynomial inside the
  step (dense output: no step is shortened to hit a checkpoint, except the last
  one, which ends at ``t_end``).

The working precision is ``prec = ceil(dps log2(10)) + 32`` bits unless given,
and ``eps = 10^-dps`` unless ``tol`` is given.

Blow-up: the solution norm exceeding ``max_norm`` (default ``1e30 (1 +
||theta_0|| + ||target||)``), a step shorter than ``t_end 2^-prec`` (the time
would not advance at working precision: the flow is too violent or explodes)
or more than ``max_steps`` steps raise :class:`certify.BlowUpError` with a
one-line message.  Gradient flow of a deep linear network on these losses
does not blow up in finite time, but huge initialisations make it violent
enough for the step to collapse.

Cost: ``about 2 N p^2`` small Arb matrix products per step (``N`` the depth).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Sequence

import mpmath
import numpy as np

from .._sealed import Sealed
from .._errors import BlowUpError, UsageError
from .._problem import Problem
from .._losskinds import fmpq_to_fractions
from .base import horner_balls
from .series import GradientSeries
from .._claims import frac_str as _frac_str

__all__ = ["FlowEstimate", "TaylorStep", "integrate_gf"]

LN2 = math.log(2.0)
SAFETY = 1.0
GUARD_BITS = 32
MAX_DPS = 5000
MIN_ORDER = 4
MAX_ORDER = 400


@dataclass(frozen=True)
class TaylorStep:
    """One step ``[t0, t0 + h]`` of order ``order``; ``log10_err`` is the
    estimated log10 of the local truncation error (``-inf`` when the last
    coefficients vanish): an estimate."""

    t0: Fraction
    h: Fraction
    order: int
    log10_err: float

    def to_json(self) -> dict:
        return {"t0": _frac_str(self.t0), "h": _frac_str(self.h), "order": self.order,
                "log10_err_estimate": self.log10_err if math.isfinite(self.log10_err) else None}


@dataclass
class FlowEstimate(Sealed):
    """High-precision *estimate* of the gradient flow at the output times.

    ``times[i]`` (exact Fractions; ``times[0] = 0``) with ``thetas[i]`` (list
    of ``mpmath.mpf`` at ``prec`` bits, flattened per S1), ``thetas_f64[i]``
    (nearest float64 array), ``losses[i]`` (mpf).  ``steps``: the integrator's
    steps.  ``error_estimate``: the sum of the estimated local errors (absolute,
    Euclidean norm), ignoring their propagation: an estimate only.
    """

    problem: Problem
    dps: int
    prec: int
    tol: float
    times: list = field(default_factory=list)
    thetas: list = field(default_factory=list)
    thetas_f64: list = field(default_factory=list)
    losses: list = field(default_factory=list)
    steps: list = field(default_factory=list)
    error_estimate: float = 0.0
    seconds: float = 0.0
    kind: str = "estimate"

    @property
    def orders(self) -> list:
        return [s.order for s in self.steps]

    @property
    def n_steps(self) -> int:
        return len(self.steps)

    def theta_strings(self, i: int = -1, digits: int | None = None) -> list:
        """``thetas[i]`` as decimal strings with ``digits`` (default ``dps``) significant digits."""
        n = digits or self.dps
        return [mpmath.nstr(x, n, strip_zeros=False, min_fixed=1, max_fixed=0) for x in self.thetas[i]]

    def to_json(self) -> dict:
        """A JSON-ready summary; every number here is an estimate (``kind``)."""
        return {
            "kind": "estimate",
            "method": "taylor (Jorba-Zou order and step control), Arb arithmetic, radii dropped",
            "dps": self.dps, "prec": self.prec, "tol": self.tol,
            "times": [_frac_str(t) for t in self.times],
            "thetas": [self.theta_strings(i) for i in range(len(self.times))],
            "losses": [mpmath.nstr(l, self.dps) for l in self.losses],
            "error_estimate": self.error_estimate,
            "steps": [s.to_json() for s in self.steps],
        }



def _time(x, name: str) -> Fraction:
    if isinstance(x, bool):
        raise UsageError(f"{name} must be a finite number, got {x!r}")
    try:
        if isinstance(x, Fraction):
            q = x
        elif isinstance(x, (int, np.integer)):
            q = Fraction(int(x))
        elif isinstance(x, str):
            q = Fraction(x)
        elif isinstance(x, mpmath.mpf):
            if not mpmath.isfinite(x):
                raise ValueError
            man, exp = x.man_exp
            q = Fraction(int(man)) * Fraction(2) ** int(exp)
        else:
            xf = float(x)
            if not math.isfinite(xf):
                raise ValueError
            q = Fraction(xf)
    except (ValueError, TypeError, ZeroDivisionError, OverflowError) as exc:
        raise UsageError(f"{name} must be a finite number, got {x!r}") from exc
    return q


def _log_norm(mats) -> float:
    """Natural log of the Frobenius norm of a list of Arb matrices (``-inf`` for 0);
    computed in Arb so that huge exponents do not overflow."""
    from flint import arb

    s = arb(0)
    for M in mats:
        for x in M.a.entries():
            m = x.mid()
            s += m * m
    if s.is_zero():
        return -math.inf
    v = float(s.log().mid()) / 2
    if not math.isfinite(v):
        raise BlowUpError("non-finite values in the Taylor coefficients: the flow blows up")
    return v


def _log_norm_target(problem: Problem) -> float:
    loss = problem.loss
    a = loss.target if not loss.has_stats else loss.float_stats[1]
    return float(np.linalg.norm(np.asarray(a, dtype=np.float64)))


def integrate_gf(
    problem: Problem,
    t_end,
    *,
    dps: int = 50,
    prec: int | None = None,
    checkpoints: Sequence | None = None,
    tol: float | None = None,
    order: int | None = None,
    max_steps: int = 20_000,
    max_norm: float | None = None,
) -> FlowEstimate:
    """Estimate the gradient flow of ``problem`` on ``[0, t_end]`` at high
    precision (an ESTIMATE: see the module docstring; not certified).

    ``checkpoints``: output times in ``(0, t_end]`` (``t_end`` is always an
    output; ``0`` is always the first).  ``dps``: decimal digits wanted (the
    working precision is ``prec`` bits, default ``dps log2(10) + 32``).
    ``tol``: local error tolerance per step, relative to ``max(1, ||theta||)``
    (default ``10^-dps``).  ``order``: fix the Taylor order (default: Jorba &
    Zou's choice, adapted per step).

    Raises :class:`UsageError` for bad arguments and :class:`BlowUpError` when
    the flow explodes or the step collapses (see the module docstring).

    >>> from certify import load_problem
    >>> est = integrate_gf(load_problem("builtin:demo"), 1, dps=30)
    >>> est.kind, float(est.times[-1])
    ('estimate', 1.0)
    """
    from ..arith import get_context

    a = _arguments(problem, t_end, dps, prec, checkpoints, tol, order, max_steps, max_norm)
    ctx = get_context("arb", prec=a.prec)
    res = FlowEstimate(problem, a.dps, a.prec, math.exp(a.log_eps) if a.log_eps > -700 else 0.0)
    started = time.perf_counter()
    with ctx:
        _march(res, a, *_loss_callbacks(problem, ctx), [ctx.matrix(np.asarray(w, dtype=np.float64))
                                                         for w in problem.weights])
    res.seconds = time.perf_counter() - started
    return res.seal()


def _taylor_step(N, W, g0, glin, p_max, log_tol, log_remaining):
    """Taylor coefficients through ``W`` up to an adaptive order ``p <= p_max``
    (the recursion of :class:`GradientSeries`); returns ``(coeffs, p, log h,
    log of the estimated local error)`` with ``h`` from the last two orders."""
    gs = GradientSeries(N, g0, glin)
    for j in range(N):
        gs.W[j].append(W[j])
    log_norms = [_log_norm(W)]
    best = None
    for i in range(p_max):
        g = gs.advance()
        k = Fraction(-1, i + 1)
        for j in range(N):
            gs.W[j].append((g[j] * k).center())
        log_norms.append(_log_norm([gs.W[j][i + 1] for j in range(N)]))
        p = i + 1
        if p < 2:
            continue
        # step from the last two coefficients: ||a_j|| h^j <= tol, j = p-1, p
        cand = [(log_tol - log_norms[jj]) / jj for jj in (p - 1, p) if log_norms[jj] > -math.inf]
        log_h = math.log(SAFETY) + (min(cand) if cand else 0.0)
        if not cand:  # the series terminates (e.g. a stationary point)
            log_h = log_remaining if math.isfinite(log_remaining) else 0.0
        best = (p, log_h)
        if p >= MIN_ORDER and log_h >= log_remaining:
            break
    p, log_h = best
    coeffs = [gs.W[j][: p + 1] for j in range(N)]
    # the error estimate uses the step actually possible (<= log_h); at most log_remaining
    lh = min(log_h, log_remaining)
    log_err = max(log_norms[p - 1] + (p - 1) * lh, log_norms[p] + p * lh)
    return coeffs, p, log_h, log_err


def _dyadic_below_exp(log_h: float) -> Fraction:
    """``exp(log_h)`` rounded down to a dyadic with a 6-bit mantissa (exact times)."""
    e = math.floor(log_h / LN2)
    mant = math.exp(log_h - e * LN2)  # in [1, 2)
    return Fraction(max(32, min(63, math.floor(mant * 32))), 32) * Fraction(2) ** e


@dataclass(frozen=True)
class _Args:
    """:func:`integrate_gf`'s validated arguments."""

    t_end: Fraction
    dps: int
    prec: int
    log_eps: float
    order: int | None
    max_steps: int
    outs: list  # output times, t_end included
    p_jz: int  # Jorba & Zou's order for the tolerance
    max_norm: float
    log_max_norm: float
    log_h_min: float  # a step below t_end * 2^-prec would not move the time at working precision


def _arguments(problem, t_end, dps, prec, checkpoints, tol, order, max_steps, max_norm) -> _Args:
    """Validate :func:`integrate_gf`'s arguments (one-line :class:`UsageError` otherwise)."""
    # the Taylor recursion here is for polynomial losses; softmax's exp series is issue 12's
    problem.loss.require_certified("the high-precision Taylor GF estimate", prefix="")
    t_end = _time(t_end, "t_end")
    if t_end <= 0:
        raise UsageError(f"t_end must be > 0, got {float(t_end)!r}")
    if isinstance(dps, bool) or not isinstance(dps, (int, np.integer)) or not 5 <= dps <= MAX_DPS:
        raise UsageError(f"dps must be an integer in [5, {MAX_DPS}], got {dps!r}")
    dps = int(dps)
    if prec is None:
        prec = math.ceil(dps * math.log2(10)) + GUARD_BITS
    elif isinstance(prec, bool) or not isinstance(prec, (int, np.integer)) or prec < 53:
        raise UsageError(f"prec must be an integer >= 53, got {prec!r}")
    prec = int(prec)
    if tol is None:
        log_eps = -dps * math.log(10)
    else:
        try:
            tf = float(tol)
        except (TypeError, ValueError) as exc:
            raise UsageError(f"tol must be a number in (0, 1), got {tol!r}") from exc
        if not (0 < tf < 1):
            raise UsageError(f"tol must be a number in (0, 1), got {tol!r}")
        log_eps = math.log(tf)
    if order is not None and (isinstance(order, bool) or not isinstance(order, (int, np.integer))
                              or not 2 <= order <= MAX_ORDER):
        raise UsageError(f"order must be an integer in [2, {MAX_ORDER}], got {order!r}")
    if isinstance(max_steps, bool) or not isinstance(max_steps, (int, np.integer)) or max_steps < 1:
        raise UsageError(f"max_steps must be a positive integer, got {max_steps!r}")
    outs = sorted({_time(c, "checkpoint") for c in (checkpoints or [])} | {t_end})
    if outs[0] <= 0 or outs[-1] > t_end:
        raise UsageError(f"checkpoints must lie in (0, t_end] = (0, {float(t_end)!r}]")
    p_jz = order or min(MAX_ORDER, max(MIN_ORDER, math.ceil(-log_eps / 2) + 1))
    if max_norm is None:
        max_norm = 1e30 * (1.0 + float(np.linalg.norm(problem.theta0)) + _log_norm_target(problem))
    elif not (float(max_norm) > 0):
        raise UsageError(f"max_norm must be > 0, got {max_norm!r}")
    return _Args(t_end, dps, prec, log_eps, order, max_steps, outs, p_jz, float(max_norm),
                 math.log(float(max_norm)), math.log(float(t_end)) - prec * LN2)


def _loss_callbacks(problem, ctx):
    """``(g0, glin)`` of the recursion (:class:`certify.flow.series.GradientSeries`) in Arb."""
    loss = problem.loss
    if loss.has_stats:
        Sxx_f, Syx_f, _ = loss.exact_stats
        Sxx, Syx = ctx.matrix(fmpq_to_fractions(Sxx_f)), ctx.matrix(fmpq_to_fractions(Syx_f))
        return (lambda P: (P @ Sxx - Syx).center()), (lambda P: (P @ Sxx).center())
    Phi = ctx.matrix(np.asarray(loss.target, dtype=np.float64))
    return (lambda P: P - Phi), (lambda P: P)


def _march(res: FlowEstimate, a: _Args, g0, glin, W) -> None:
    """The adaptive Taylor steps from 0 to ``a.t_end``, with dense output at ``a.outs`` (module
    docstring); :class:`BlowUpError` on too many steps, a norm above ``max_norm`` or a collapsed step."""
    problem, N, t_end = res.problem, res.problem.depth, a.t_end
    outs = a.outs
    t = Fraction(0)
    _record(res, problem, t, W)
    out_i = 0
    while t < t_end:
        if len(res.steps) >= a.max_steps:
            raise BlowUpError(
                f"maximum number of steps ({a.max_steps}) reached at t={float(t):.6g} of {float(t_end):.6g}: "
                "the flow is too violent or blows up; increase max_steps or shorten t_end")
        log_x = _log_norm(W)
        if log_x > a.log_max_norm:
            raise BlowUpError(
                f"solution norm {math.exp(min(log_x, 700)):.3g} exceeds max_norm={a.max_norm:.3g} "
                f"at t={float(t):.6g}: the flow blows up")
        log_tol = a.log_eps + max(0.0, log_x)
        coeffs, p, log_h, log_err = _taylor_step(N, W, g0, glin, a.p_jz, log_tol,
                                                 math.log(float(t_end - t)) if a.order is None else math.inf)
        if log_h < a.log_h_min:
            raise BlowUpError(
                f"step size collapsed to {math.exp(max(log_h, -700)):.3g} at t={float(t):.6g}: "
                "the flow is too violent or blows up; try a shorter t_end")
        h = _dyadic_below_exp(log_h)
        last = False
        if t + h >= t_end:
            h, last = t_end - t, True
        while out_i < len(outs) and outs[out_i] < t + h:  # dense output at the checkpoints inside this step
            _record(res, problem, outs[out_i], [y.center() for y in horner_balls(coeffs, outs[out_i] - t)])
            out_i += 1
        W = [y.center() for y in horner_balls(coeffs, h)]
        res.steps.append(TaylorStep(t, h, p, log_err / math.log(10)))
        res.error_estimate += math.exp(log_err) if log_err > -700 else 0.0
        t = t + h
        if last or (out_i < len(outs) and outs[out_i] == t):
            _record(res, problem, t, W)
            out_i += 1


def _record(res: FlowEstimate, problem: Problem, t: Fraction, W) -> None:
    from .._derivatives import Objective

    with mpmath.workprec(res.prec):
        theta = [mpmath.mpf(x.mid()) for M in W for x in M.a.entries()]
    res.times.append(t)
    res.thetas.append(theta)
    res.thetas_f64.append(np.array([float(x) for x in theta]))
    obj = Objective(problem, "mpf", dps=res.dps + 10)
    res.losses.append(obj.loss(np.array(theta, dtype=object)))
