"""Gradient descent in float64 (SPEC S1): ``theta_{k+1} = theta_k - eta grad f(theta_k)``.

The float iterates are defined by exactly this code (the order of operations
matters for bit-reproducibility): per layer, ``W_j - eta * grad_j`` with the
gradient of :meth:`certify.Objective.grad_weights`.  Certificates speak of
the exact-arithmetic iterates; these floats are only centers (S4.5).

For the cross-entropy and logistic losses (SPEC S1) the gradient of the loss is the float64
estimate of :mod:`certify.losses` (batched over the samples, one softmax per step): these runs
are estimates, nothing about them is certified yet (issue 12).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ._sealed import Sealed
from ._derivatives import Objective
from ._errors import BlowUpError, UsageError
from ._problem import Problem, flatten, ProblemLike, load_problem
from ._progress import Progress, as_progress

BLOWUP_LOSS = 1e150


def check_positive(x, name: str) -> float:
    """``x`` as a finite float > 0, else :class:`UsageError` naming ``name``."""
    if isinstance(x, bool):
        raise UsageError(f"{name} must be a number, got {x!r}")
    try:
        v = float(x)
    except (TypeError, ValueError) as e:
        raise UsageError(f"{name} must be a number, got {x!r}") from e
    if not math.isfinite(v) or v <= 0:
        raise UsageError(f"{name} must be a finite number > 0, got {x!r}")
    return v


# the validated flow enclosure cannot end a step sooner than 2^-60 time units after it
# starts (certify._flow); GD iterate k is compared with GF at k eta
MIN_ETA = 2.0**-60


def check_eta(eta) -> float:
    """``eta`` as a float in ``[2^-60, inf)``: a smaller step (5e-324 ...) is below
    the flow enclosure's time resolution (and ``eta * grad`` underflows)."""
    v = check_positive(eta, "eta")
    if v < MIN_ETA:
        raise UsageError(
            f"eta = {v:.3g} is below the smallest supported step size 2^-60 = {MIN_ETA:.3g}: the flow "
            "enclosure compared with GD at times k eta cannot resolve steps that short; use eta >= 2^-60")
    return v


def check_steps(steps) -> int:
    """``steps`` as an int in ``[1, limit]`` (resource limit 'steps', certify/_limits.py)."""
    from . import _limits

    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 1:
        raise UsageError(f"steps must be an integer >= 1, got {steps!r}")
    _limits.check("steps", int(steps), "steps")
    return int(steps)


@dataclass
class GDRun(Sealed):
    """Float GD iterates at checkpoints ``ks`` (always including 0 and ``steps``)."""

    eta: float
    steps: int
    ks: list[int] = field(default_factory=list)
    thetas: list[np.ndarray] = field(default_factory=list)
    losses: list[float] = field(default_factory=list)


def gd_step(obj: Objective, Ws: list) -> tuple[float, list]:
    """One float64 GD step on weight lists; returns (loss at Ws, new Ws)."""
    P = obj.prefix_products(Ws)
    S = obj.suffix_products(Ws)
    loss, G = obj.loss_and_grad_l(P[-1])  # the same arithmetic as grad_l and loss_of_end_to_end
    new = [Ws[j] - obj._eta * (S[j + 1].T @ G @ P[j].T) for j in range(obj.N)]
    return loss, new


def run_gd(problem: ProblemLike, eta: float, steps: int, *, every: int = 1, progress: Progress | None = None) -> GDRun:
    """Run ``steps`` GD steps from the problem's initial point; keep every
    ``every``-th iterate (and the last).  Raises :class:`BlowUpError` when
    the iteration diverges.  ``progress`` (a :class:`certify.Progress`) follows
    the task "GD" in steps."""
    problem = load_problem(problem)  # problem-like: Problem, builtin:NAME, path or dict
    eta = check_eta(eta)
    steps = check_steps(steps)
    if every < 1:
        raise UsageError(f"every must be >= 1, got {every}")
    obj = Objective(problem)
    obj._eta = eta
    Ws = [w.copy() for w in problem.weights]
    run = GDRun(eta, steps)
    progress = as_progress(progress)
    progress.start("GD", steps)
    with np.errstate(over="ignore", invalid="ignore"):
        _iterate(obj, Ws, run, steps, every, eta, progress)
    return run.seal()


def _iterate(obj, Ws, run, steps, every, eta, progress):
    for k in range(steps + 1):
        if k < steps:
            loss, new = gd_step(obj, Ws)
        else:
            loss = obj.loss_of_end_to_end(obj.prefix_products(Ws)[-1])
        if not math.isfinite(loss) or loss > BLOWUP_LOSS:
            raise BlowUpError(
                f"gradient descent diverged at step {k} (loss {loss:.3g}) with eta={eta:g}; try a smaller eta"
            )
        if k % every == 0 or k == steps:
            run.ks.append(k)
            run.thetas.append(flatten(Ws))
            run.losses.append(float(loss))
        progress.update("GD", k)
        if k < steps:
            Ws = new
