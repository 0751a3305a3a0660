"""Certified GD-vs-GF gap (SPEC S4.2, S4.4, S4.5) and the ``certify/gap-v2`` certificate.

The claims and their formulas are specified in ``certify/schemas/gap-v2.md``
(the contract with the independent checker ``certify check``); section
numbers below refer to it.

Per GD step ``k`` (float iterates are centers, S4.5):

- ``round``: norm-wise a-priori bound of the float step's deviation from the
  exact step at the float point (section 2, S4.6);
- tube curvature ``mu`` and smoothness ``beta`` from S3.1 with spectral norms
  of a reference point refreshed every ``refresh`` steps plus a perturbation
  bound for the drift since then (sections 2, 3);
- recursions ``r_{k+1} = max(1 + eta mu, eta beta - 1) r_k + round`` (exact GD
  lies within ``r_k`` of the float iterate) and
  ``e_{k+1} = exp(mu eta)(e_k + round + eta beta dnorm / 2)`` (S4.1 on the
  piecewise-linear interpolant: ``||theta^_k - theta(k eta)|| <= e_k``).

At checkpoints, the validated GF enclosure (S4.3) gives a ball around
``theta(k eta)`` and hence the two-sided bound of S4.4.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np

from .._claims import claim_up, claim_up_array, up
from .._errors import BlowUpError, NotCertified, UsageError
from .._gd import BLOWUP_LOSS, check_eta, check_steps
from .._lossdata import data_bounds, data_split
from .._problem import Problem, ProblemLike, load_problem
from .._progress import Progress, as_progress
from ..arith import get_context
from .blocks import DRIFT_FRACTION, G_DRIFT_FRACTION, certify_block, gradient_differences, make_ref
from .certificate import GapCertificate, finish_checkpoint, record_checkpoint
from .stepper import GDStepper


def certify_gap(
    problem: ProblemLike,
    eta: float,
    steps: int,
    *,
    every: int | None = None,
    refresh: int = 100,
    progress: Progress | None = None,
    stop_when_vacuous: bool = False,
    partial: bool = False,
) -> GapCertificate:
    """Certified bounds on ``||theta_k - theta(k eta)||`` for ``k <= steps``
    (exact GD vs exact GF), at every ``every``-th step (default: 20 checkpoints).

    Raises :class:`certify.NotCertified` (exit 4) where the bounds stop being
    useful: a radius cannot be bounded (GD ball, GF tube) or, with
    ``stop_when_vacuous``, a checkpoint's bracket is vacuous (lower bound 0
    although the float iterate and the GF center differ).  With ``partial``
    the certificate of the certified prefix (up to the last good checkpoint)
    is returned instead, with ``partial`` set to where and why it stopped.
    ``progress`` (a :class:`certify.Progress`) follows the tasks "GD + segment
    claims" (in steps) and "GF enclosure" (in time).
    A loss the certified machinery does not handle yet (cross-entropy, logistic:
    issue 12) is refused with a one-line :class:`certify.UsageError`."""
    problem = load_problem(problem)  # problem-like: Problem, builtin:NAME, path or dict
    problem.loss.require_certified("GD-GF gap")
    eta = check_eta(eta)
    steps = check_steps(steps)
    every = every or max(1, steps // 20)
    if every < 1:
        raise UsageError(f"every must be >= 1, got {every}")
    if refresh < 1:
        raise UsageError(f"refresh must be >= 1, got {refresh}")
    from .. import _limits

    _limits.check("checkpoints", steps // every + 2, "the number of checkpoints")
    _limits.check("horizon", eta * steps, "the horizon eta * steps")
    try:
        return _certify_gap(problem, eta, steps, every, refresh, progress, stop_when_vacuous).seal()
    except NotCertified as e:
        if e.k is None:
            e.k = int(Fraction(e.t) / Fraction(eta))
        if not partial:
            raise
        # the certified prefix ends at the last checkpoint before the failure
        k_end = ((e.k - 1) // every) * every if e.k > 0 else 0
        if k_end < 1:
            raise NotCertified(e.k, e.t, e.reason + " (no certified checkpoint before it)", e.knob) from e
        cert = _certify_gap(problem, eta, k_end, every, refresh, progress, stop_when_vacuous)
        cert.partial = {"requested_steps": steps, "stopped_at_step": e.k, "reason": str(e)}
        return cert.seal()


GD_TASK = "GD + segment claims"  # the progress task of gd_balls


def gd_balls(problem: Problem, eta: float, steps: int, ks, refresh: int = 100, progress: Progress | None = None,
             s42: bool = True):
    """Exact GD in certified balls around its float iterates (S4.5), with the
    one-sided S4.2 recursion while it lasts: returns a :class:`GapCertificate`
    without flow data (``checkpoints`` at ``ks`` hold the iterates, ``r`` and
    ``e``)."""
    problem.loss.require_certified("GD balls")
    N = problem.depth
    progress = as_progress(progress)
    progress.start(GD_TASK, steps)
    ctx = get_context("float64")
    every = ks[1] - ks[0] if len(ks) > 1 else steps
    cert = GapCertificate(problem, eta, steps, every, refresh)
    s_G = data_bounds(problem)[0]
    if problem.loss.has_stats:
        cert.sxx_norm2 = s_G
    elif problem.loss.is_kernel:
        cert.loss_bounds = {"s_G": s_G, "s_F": claim_up(problem.loss.constants[1])}
    split = cert.data_split = data_split(problem)
    ks_set = set(ks)
    eta_q = Fraction(eta)
    stepper = GDStepper(problem, eta)
    Ws = [np.array(w, dtype=np.float64) for w in problem.weights]
    state = {"e": 0.0, "r": 0.0, "s42": s42}
    cert.s42_end = steps if s42 else 0
    with np.errstate(over="ignore", invalid="ignore"):
        k0 = 0
        while k0 < steps:
            k1 = min(k0 + refresh, steps)
            try:
                ref = make_ref(k0, Ws, problem, ctx, split)
            except BlowUpError as e:
                raise BlowUpError(
                    f"gradient descent diverged by step {k0} ({e}) with eta={eta:g}; try a smaller eta") from e
            cert.refs.append(ref)
            # float steps of the block, with their rounding bounds and step norms; the
            # block ends early once a layer drifts by DRIFT_FRACTION of its norm (the
            # partial-product norms are widened by the drift: section 3)
            block, Gs, eGs = [], [], []
            drift = [0.0] * N
            for k in range(k0, k1):
                if k in ks_set:
                    record_checkpoint(cert, problem, k, eta_q, Ws)
                loss, new, rnd = stepper.step(Ws)
                if not math.isfinite(loss) or loss > BLOWUP_LOSS:
                    raise BlowUpError(
                        f"gradient descent diverged at step {k} (loss {loss:.3g}) with eta={eta:g}; try a smaller eta"
                    )
                dl = stepper.dl
                Gs.append(stepper.G)
                eGs.append(stepper.eG)
                dnorm = math.nextafter(math.sqrt(up(sum(x * x for x in dl), 2 * N + 2)), math.inf)
                block.append((k, 2.0 * rnd, dl, dnorm))
                Ws = new
                if k % 64 == 0:
                    progress.update(GD_TASK, k + 1)
                drift = [x + y for x, y in zip(drift, dl)]
                if any(d > DRIFT_FRACTION * n for d, n in zip(drift, ref.n)):
                    break
                dG = stepper.G - Gs[0]
                if float(np.vdot(dG, dG)) > (G_DRIFT_FRACTION * ref.g) ** 2:
                    break
            gdiffs = gradient_differences(Gs, eGs)
            rounds = claim_up_array([b[1] for b in block]).tolist()
            dnorms = claim_up_array([b[3] for b in block]).tolist()
            block = [(b[0], rd, b[2], dn, gd) for b, rd, dn, gd in zip(block, rounds, dnorms, gdiffs)]
            certify_block(cert, ref, block, state, eta, s_G, N, split)
            k0 = block[-1][0] + 1
        if steps in ks_set:
            record_checkpoint(cert, problem, steps, eta_q, Ws)
    for c in cert.checkpoints:
        c.e, c.r = state["e_at"][c.k], state["r_at"][c.k]
    return cert


def _certify_gap(problem, eta, steps, every, refresh, progress, stop_when_vacuous) -> GapCertificate:
    from ..flow import enclose_flow

    N = problem.depth
    ks = sorted(set(list(range(0, steps + 1, every)) + [steps]))
    eta_q = Fraction(eta)
    # ---- 1. GD with per-segment claims (S4.2, S4.5), block by block -----------
    cert = gd_balls(problem, eta, steps, ks, refresh, progress)
    # ---- 2. GF enclosure at the checkpoint times (S4.3) ------------------------
    gf = {}

    def on_eval(t, yb, e1):
        # the float midpoints of y(s) are the center; y(s) lies within dev of them
        center = np.concatenate([b.mid().reshape(-1) for b in yb])
        dev = math.sqrt(up(sum((b - b.center()).norm_f_upper() ** 2 for b in yb), 2 * N + 2))
        radius = claim_up(up(e1 + 2.0 * float(np.nextafter(dev, math.inf)), 2))
        gf[t] = (center, radius)

    T = eta_q * steps
    enc = enclose_flow(problem, T, checkpoints=1, eval_times=[eta_q * k for k in ks], on_eval=on_eval,
                       progress=progress)
    step_of, n = {}, 0  # k -> the first flow step containing t_k (ks and the steps are both sorted)
    for k in ks:
        tk = eta_q * k
        while n < len(enc.steps) and enc.steps[n].t0 + enc.steps[n].h < tk:
            n += 1
        if n < len(enc.steps) and enc.steps[n].t0 <= tk:
            step_of[k] = n
    cert.flow = {
        "order": enc.steps[0].order if enc.steps else 0,
        "steps": [s.to_json() for s in enc.steps],
        "evals": [{"k": k, "step": step_of.get(k, 0), "radius": gf[eta_q * k][1]} for k in ks],
    }
    # checkpoints: combine the recursions' values with the GF enclosure (S4.4)
    for c in cert.checkpoints:
        finish_checkpoint(c, c.e, c.r, gf[eta_q * c.k])
        if stop_when_vacuous and c.k > 0 and c.gap_lower == 0.0 and c.dist_lo > 0:
            raise NotCertified(
                c.k, float(c.t), f"the certified bracket is vacuous (lower bound 0: the radii r + gf_radius = "
                f"{c.r + c.gf_radius:.3g} exceed the distance {c.dist_lo:.3g} between the float iterate and the "
                "GF center)", "try a smaller --eta or fewer --steps, or keep vacuous checkpoints with --allow-vacuous")
    return cert
