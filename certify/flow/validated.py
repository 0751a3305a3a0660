"""Validated gradient-flow enclosure (SPEC S4.1 + S4.3).

Each step ``[t, t+h]`` of the integration:

1. **Candidate.**  ``y(s) = sum_{i<=p} a_i s^i``: the order-``p`` Taylor
   polynomial of the GF solution through the current center ``c`` (S2.3,
   :func:`certify.flow.series.gf_taylor`), computed in the backend's approximate
   arithmetic.  Its coefficients are then taken as *exact* numbers (float64
   values, or Arb midpoints): ``y`` is a fixed polynomial curve.
2. **Defect (rigorous).**  ``D(s) = y'(s) + grad f(y(s))`` is a polynomial in
   ``s``.  Its coefficients up to order ``q = p`` are computed in ball
   arithmetic with the same Cauchy-product recursion; all higher-order terms
   are bounded through norms (a Taylor model: polynomial part + remainder
   bound valid for ``s`` in ``[0, h]``, with ``||AB||_F <= ||A||_F ||B||_F``).
   ``delta >= sup_{[0,h]} ||D(s)||``.
3. **Tube and curvature (S3.1).**  For every point ``z`` within ``rho`` of
   ``y([0,h])`` each layer satisfies ``||Z_j - a_{j,0}||_F <= r_j :=
   sum_{i>=1} ||a_{j,i}||_F h^i + rho``.  Then ``||Z_{b:a}||_2 <=
   ||A_{b:a}||_2 + prod (n_l + r_l) - prod n_l`` (``n_l >= ||a_{l,0}||_2``,
   expand the product), likewise ``||G(z)||_2``; S3.1 gives ``mu >=
   -lambda_min(Hf(z))`` with ``lambda_max(C)`` bounded by the Collatz-Wielandt
   inequality ``rho(C) <= max_i (Cx)_i / x_i`` (any ``x > 0``; ``C >= 0``).
4. **Gronwall (S4.1).**  ``e(h) = exp(mu h) e_0 + delta (exp(mu h) - 1)/mu``
   (outward rounded); ``mu >= 0`` so ``e`` is increasing on the step and the
   lemma applies when ``e(h) < rho``.  Otherwise ``rho`` is enlarged, then
   ``h`` halved.
5. **Re-centering.**  ``y(h)`` is evaluated in ball arithmetic; the new center
   is its midpoint ``c'`` and ``e_0' = e(h) + ||y(h) - c'||`` (upper bound).

Result: at every checkpoint a ball ``B(c, e)`` that provably contains
``theta(t)`` (2-norm of the flattened parameter vector, S1).
"""


from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Callable, Sequence

import numpy as np

from .._sealed import Sealed
from .._claims import claim_up
from .._claims import frac_str as _frac_str
from .._claims import up as _up
from .._errors import NotCertified, UsageError
from .._lossdata import BackendLoss
from .._problem import Problem, ProblemLike, load_problem
from .._progress import Progress, as_progress
from .ball_step import BallStep
from .float_step import FloatStep
from .tube import _vec_norm_up


@dataclass
class FlowStep(Sealed):
    """Per-step data that makes the step re-checkable (S4.1 / S4.3)."""

    t0: Fraction
    h: Fraction
    order: int
    e0: float  # radius at the step start
    delta: float  # defect bound on the step
    mu: float  # curvature bound on the tube (S3.1)
    rho: float  # tube radius
    e1: float  # Gronwall radius at the step end (before re-centering)
    jump: float  # re-centering error

    def to_json(self) -> dict:
        return {
            "t0": _frac_str(self.t0), "h": _frac_str(self.h), "order": self.order, "e0": self.e0,
            "delta": self.delta, "mu": self.mu, "rho": self.rho, "e1": self.e1, "jump": self.jump,
            "lemmas": ["S4.1", "S4.3", "S3.1"],
        }


@dataclass
class FlowCheckpoint(Sealed):
    t: Fraction
    center: list  # float64 array (float64 backend) or list of decimal strings (arb)
    radius: float
    loss: float  # float estimate of the loss at the center
    steps: int  # integrator steps taken so far


@dataclass
class FlowEnclosure(Sealed):
    problem: Problem
    backend: str
    prec: int
    t_end: Fraction
    checkpoints: list[FlowCheckpoint] = field(default_factory=list)
    steps: list[FlowStep] = field(default_factory=list)


def enclose_flow(
    problem: ProblemLike,
    t_end,
    *,
    checkpoints: int | Sequence = 10,
    backend: str = "float64",
    prec: int | None = None,
    order: int | None = None,
    max_steps: int | None = None,
    eval_times: Sequence | None = None,
    on_eval: Callable | None = None,
    progress: Progress | None = None,
    slack: float = 2.0,
) -> FlowEnclosure:
    """Validated enclosure of the gradient flow of ``problem`` on ``[0, t_end]``.

    ``checkpoints``: a number ``K`` (equally spaced, ``t_end`` included) or
    explicit times.  ``eval_times`` (sorted) with ``on_eval(t, center_ball,
    radius)`` reports enclosures at arbitrary times inside steps.  ``progress``
    (a :class:`certify.Progress`) follows the task "GF enclosure" in units of
    time, total ``t_end``.  Raises
    :class:`EnclosureError` when the tube cannot be validated.  ``slack``
    multiplies the rounding-dominated claims (defect, re-centering): 2 in
    certificates that another implementation re-derives (gap-v2), 1 where
    nobody re-derives them (a tighter radius).  A loss the certified machinery does
    not handle yet (cross-entropy, logistic: issue 12) is refused with a one-line
    :class:`certify.UsageError`.
    """
    problem = load_problem(problem)  # problem-like: Problem, builtin:NAME, path or dict
    run = _setup(problem, t_end, checkpoints, backend, prec, order, max_steps, eval_times)
    res = FlowEnclosure(problem, backend, run.prec_bits, run.t_end)
    progress = as_progress(progress)
    progress.start("GF enclosure", float(run.t_end))
    with run.ctx:
        _integrate(res, run, BackendLoss(problem, run.ctx, slack), on_eval, progress)
    return res.seal()


@dataclass(frozen=True)
class _Run:
    """The validated arguments of one :func:`enclose_flow` call."""

    t_end: Fraction
    cps: list  # checkpoint times (Fractions, sorted, in (0, t_end])
    evals: list  # evaluation times (Fractions, sorted)
    max_steps: int
    ctx: object  # the backend context
    prec_bits: int
    p: int  # the Taylor order
    backend: str


def _setup(problem, t_end, checkpoints, backend, prec, order, max_steps, eval_times) -> _Run:
    """Validate :func:`enclose_flow`'s arguments against the problem and the resource limits (one-line
    :class:`certify.UsageError` / ``ResourceLimitError`` otherwise), in this order."""
    from .. import _limits
    from ..arith import get_context

    problem.loss.require_certified("GF enclosure")
    if problem.loss.is_kernel and backend not in ("float64", "arb"):
        raise UsageError(f"the {backend} backend for the {problem.loss.kind} loss is not implemented "
                         "(Arb or float64: --backend arb or float64)")
    t_end = _to_fraction(t_end, "t_end")
    if t_end <= 0:
        raise UsageError(f"t_end must be > 0, got {float(t_end)}")
    _limits.check("horizon", float(t_end), "the horizon t_end")
    if max_steps is None:
        max_steps = int(_limits.get("flow-steps"))
    if isinstance(checkpoints, int):
        if checkpoints < 1:
            raise UsageError(f"checkpoints must be >= 1, got {checkpoints}")
        cps = [t_end * Fraction(k, checkpoints) for k in range(1, checkpoints + 1)]
    else:
        cps = sorted(_to_fraction(c, "checkpoint") for c in checkpoints)
        if not cps or cps[0] <= 0 or cps[-1] > t_end:
            raise UsageError("checkpoints must lie in (0, t_end]")
    _limits.check("checkpoints", len(cps) + len(eval_times or ()), "checkpoints and evaluation times")
    if prec is not None:
        _limits.check("prec", prec, "the precision in bits")
    ctx = get_context(backend, prec=prec) if prec else get_context(backend)
    prec_bits = getattr(ctx, "prec", 53)
    digits = prec_bits * math.log10(2)
    p = order or (16 if backend == "float64" else max(16, int(0.55 * digits)))
    _limits.check("order", p, "the Taylor order")
    if order is not None:
        _limits.check_min_order(p, prec_bits)
    evals = [] if eval_times is None else sorted(_to_fraction(t, "eval time") for t in eval_times)
    return _Run(t_end, cps, evals, max_steps, ctx, prec_bits, p, backend)


def _integrate(res: FlowEnclosure, run: _Run, model: BackendLoss, on_eval, progress) -> None:
    """The steps from 0 to ``run.t_end`` (module docstring 1-5), appended to ``res``: each step ends at
    a checkpoint or before it, reports the evaluation times inside it, and re-centres."""
    problem, cps, evals, p = res.problem, run.cps, run.evals, run.p
    centers = [run.ctx.matrix(np.asarray(w, dtype=np.float64)) for w in problem.weights]
    t, e = Fraction(0), 0.0
    res.checkpoints.append(_checkpoint(problem, t, centers, e, 0, run.backend))
    ev_i = 0
    while ev_i < len(evals) and evals[ev_i] == 0:
        on_eval(Fraction(0), centers, 0.0)
        ev_i += 1
    cp_i, nsteps, h_next = 0, 0, None
    while cp_i < len(cps):
        if nsteps >= run.max_steps:
            from .._limits import ResourceLimitError, how_to_raise

            raise ResourceLimitError(
                f"maximum number of steps ({run.max_steps}) reached at t={float(t):.6g} (resource limit "
                f"'flow-steps'); {how_to_raise('flow-steps')}")
        stepper = FloatStep(model, centers, p) if run.backend == "float64" else BallStep(model, centers, p)
        h, (e1, delta, mu, rho) = stepper.step(run.prec_bits, None if h_next is None else h_next * 2, t,
                                               cps[cp_i], e)
        h_next = h
        while ev_i < len(evals) and evals[ev_i] <= t + h:  # intermediate evaluations inside this step
            on_eval(evals[ev_i], stepper.evaluate(evals[ev_i] - t), e1)
            ev_i += 1
        yb = stepper.evaluate(h)
        new_centers = [b.center() for b in yb]
        jump = claim_up(model.slack * _vec_norm_up([(b - c).norm_f_upper() for b, c in zip(yb, new_centers)]))
        e_new = claim_up(_up(e1 + jump, 1))
        if not math.isfinite(e_new):
            raise NotCertified(None, float(t), "the GF enclosure radius overflowed", "try a shorter horizon")
        res.steps.append(FlowStep(t, h, p, e, delta, mu, rho, e1, jump))
        t, e, centers = t + h, e_new, new_centers
        nsteps += 1
        progress.update("GF enclosure", float(t))
        if t == cps[cp_i]:
            res.checkpoints.append(_checkpoint(problem, t, centers, e, nsteps, run.backend))
            cp_i += 1


def _to_fraction(x, name) -> Fraction:
    if isinstance(x, Fraction):
        return x
    try:
        if isinstance(x, str):
            q = Fraction(x)
        else:
            xf = float(x)
            if not math.isfinite(xf):
                raise ValueError
            q = Fraction(xf) if not isinstance(x, int) else Fraction(x)
    except (ValueError, TypeError, ZeroDivisionError) as exc:
        raise UsageError(f"{name} must be a finite number, got {x!r}") from exc
    return q


def _checkpoint(problem, t, centers, e, nsteps, backend) -> FlowCheckpoint:
    from .._derivatives import Objective

    mids = [c.mid() for c in centers]
    flat = np.concatenate([m.reshape(-1) for m in mids])
    with np.errstate(over="ignore", invalid="ignore"):
        loss = float(Objective(problem).loss(flat))
    if backend == "float64":
        center = flat
    else:
        # the exact decimal expansion of each Arb midpoint: the radius e is about this
        # very center (issue 13: digits rounded to ~prec log10(2) + 3 are off by more
        # than e when e is near the working precision's rounding level)
        center = [s for c in centers for row in c.mid_exact_strings() for s in row]
    return FlowCheckpoint(t, center, e, loss, nsteps)


def flow_to_json(enc: FlowEnclosure) -> dict:
    """The ``certify/flow-v1`` document (SPEC S6 conventions: floats round-trip,
    radii are rigorous upper bounds in the 2-norm of the flattened parameters)."""
    from ..certificates.provenance import provenance
    from ..arith._arb import exact_decimal as _exact_center_string

    high = enc.prec > 53

    def num(x: float):
        return repr(float(x)) if high else float(x)

    cps = []
    for c in enc.checkpoints:
        if high:
            # exact decimal strings (each the exact dyadic center; see _checkpoint)
            center = [v if isinstance(v, str) else _exact_center_string(v) for v in c.center]
        else:
            center = [float(v) for v in np.asarray(c.center)]  # round-trip repr: exact
        cps.append({
            "t": float(c.t), "t_exact": _frac_str(c.t), "center": center, "radius": num(c.radius),
            "loss_estimate": c.loss, "steps": c.steps,
        })
    return {
        "schema": "certify/flow-v1",
        "claim": "for every checkpoint, ||theta(t) - center||_2 <= radius, theta the exact gradient-flow "
                 "solution of the problem (flattened per S1)",
        "lemmas": ["S2.3", "S3.1", "S4.1", "S4.3", "S4.6"],
        "problem": enc.problem.to_json(),
        "backend": enc.backend,
        "prec": enc.prec,
        "t_end": float(enc.t_end),
        "t_end_exact": _frac_str(enc.t_end),
        "center_encoding": ("exact decimal strings (each is exactly the ball's center)" if high
                            else "binary64 numbers (round-trip repr: exactly the ball's center)"),
        "checkpoints": cps,
        "steps": [s.to_json() for s in enc.steps],
        "provenance": provenance(),
    }
