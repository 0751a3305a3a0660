"""EC21's translation on an instance: certified GF convergence carried over to GD
(PAPER.md section 4 (b), [derived]; SPEC S4), and the ``certify/converge-v1``
certificate.

1. **GF reaches ``eps/2``.**  The validated GF enclosure (S4.1, S4.3) gives
   balls ``B(c(t), rho(t))`` containing ``theta(t)``; the loss over a ball is
   bounded above rigorously (:func:`loss_upper_on_ball`: interval evaluation
   of the polynomial loss on the box ``|theta_i - c_i| <= rho``, which
   contains the ball).  ``T`` is the first checkpoint time where this bound is
   ``<= eps/2``; the loss is nonincreasing along GF (``d/dt f(theta(t)) =
   -||grad f||^2``), so it stays below for all ``t >= T``.
2. **GD stays close.**  With ``K = ceil(T / eta)`` the gap certificate
   (``certify/gap-v2``, S4.4/S4.5) bounds ``||theta_K - theta(K eta)|| <=
   gap_upper`` and encloses ``theta(K eta)`` in ``B(c, rho)``; hence
   ``theta_K`` lies in ``B(c, rho + gap_upper)`` and ``f(theta_K)`` is at most
   the loss bound over that ball, which must be ``<= eps``.

The verdict "GD with step ``eta`` reaches loss ``<= eps`` within ``K`` steps"
is then a certified statement about exact-arithmetic GD.  With ``eta``
omitted, :func:`largest_eta` searches (each trial certified) for the largest
``eta`` whose translation succeeds; the result is a certified lower bound of
the true threshold (the search itself is a heuristic).
"""

from __future__ import annotations


import enum
import math
from dataclasses import dataclass, field, replace
from fractions import Fraction

import numpy as np

from ._sealed import Sealed
from ._claims import ARB_PREC
from ._claims import as_arb, claim_up, hi
from ._errors import BlowUpError, EnclosureError, UsageError
from ._problem import Problem, ProblemLike, load_problem
from ._progress import Progress, as_progress

SCHEMA = "certify/converge-v1"
SOURCE = "[derived] EC21 translation (PAPER.md section 4(b)): certified GF convergence + certified GD-GF gap"


def _max_steps() -> int:
    """The GD step budget of one translation (resource limit 'steps', certify._limits)."""
    from . import _limits

    return int(_limits.get("steps"))


def loss_upper_on_ball(problem: Problem, center: np.ndarray, radius: float) -> float:
    """Rigorous upper bound of ``f`` over the 2-norm ball ``B(center, radius)``
    (flattened per S1): the smaller of (i) Arb interval evaluation on the
    enclosing box and (ii) the centred form ``f(c) + ||grad f(c)|| rho +
    beta rho^2 / 2`` with ``beta >= sup ||Hf||_2`` on the ball (S4.5 (a), layers
    within ``rho`` of ``c``; schemas/gap-v2.md section 2)."""
    from flint import arb, arb_mat

    problem.loss.require_certified("loss bound on a ball")

    from .gap.blocks import make_ref, tube_bounds
    from ._lossdata import data_bounds
    from .arith import get_context

    with get_context("arb", prec=ARB_PREC):
        dims = problem.dims
        rad = arb(0, radius) if radius > 0 else arb(0)
        i = 0
        Ws, Cs = [], []
        for j in range(problem.depth):
            r, c = dims[j + 1], dims[j]
            vals = np.asarray(center[i:i + r * c], dtype=np.float64).reshape(r, c)
            i += r * c
            Cs.append(vals)
            M = arb_mat(vals.tolist())
            Ws.append(M + arb_mat([[rad] * c for _ in range(r)]))
        box = _arb_loss(problem, Ws)[0]
        # centred form
        f0, grad_sq = _arb_loss(problem, [arb_mat(w.tolist()) for w in Cs], with_grad=True)
        ref = make_ref(0, Cs, problem, get_context("float64"))
        _, beta = tube_bounds(ref, [float(radius)] * problem.depth, data_bounds(problem)[0])
        R = arb(radius)
        centred = f0 + grad_sq.sqrt() * R + arb(beta) * R * R / 2
        return min(hi(box), hi(centred))


def _arb_loss(problem: Problem, Ws, with_grad: bool = False):
    """Loss (and ``||grad f||^2``, S2.1) of Arb matrices."""
    from flint import arb, arb_mat

    N = len(Ws)
    P = [Ws[0]]
    for W in Ws[1:]:
        P.append(W * P[-1])
    loss = problem.loss
    s = arb(0)
    if loss.is_kernel:
        # cross-entropy / logistic: Arb's own exp/log on the (ball) end-to-end product
        s = loss.kernel.arb_value(P[-1])
        G = loss.kernel.arb_gradient(P[-1]).a if with_grad else None
    elif loss.has_stats:
        X = arb_mat(loss.X.tolist())
        Y = arb_mat(loss.Y.tolist())
        R = P[-1] * X - Y
        for x in R.entries():
            s += x * x
        s = s / (2 * loss.m)
        G = R * X.transpose() / loss.m if with_grad else None
    else:
        D = P[-1] - arb_mat(np.asarray(loss.target, dtype=np.float64).tolist())
        for x in D.entries():
            s += x * x
        s = s / 2
        G = D
    if not with_grad:
        return s, None
    g2 = arb(0)
    for j in range(N):
        L = G
        for i in range(N - 1, j, -1):
            L = Ws[i].transpose() * L
        if j > 0:
            L = L * P[j - 1].transpose()
        for x in L.entries():
            g2 += x * x
    return s, g2


class Outcome(str, enum.Enum):
    """How one translation attempt ended; the values are the user-facing words."""

    CERTIFIED = "certified"
    TOO_MANY_STEPS = "needs more GD steps than the resource limit"
    GAP_NOT_CERTIFIED = "gap not certified"
    GF_LOSS_TOO_HIGH = "GF loss bound above eps/2"
    GD_LOSS_TOO_HIGH = "GD loss bound above eps"


@dataclass(frozen=True)
class Translation:
    """The result of :func:`translate`: ``outcome``, the certificate ``result``
    (a :class:`ConvergeResult`, ``None`` unless certified) and the one-line ``reason``."""

    outcome: Outcome
    result: "ConvergeResult | None"
    reason: str

    @property
    def certified(self) -> bool:
        return self.outcome is Outcome.CERTIFIED


@dataclass
class ConvergeResult(Sealed):
    problem: Problem
    eps: float
    eta: float
    K: int
    t_gf: Fraction  # first certified time with GF loss <= eps/2
    gf_loss_upper: float  # at K eta
    gd_loss_upper: float  # at step K
    ball_radius: float  # gf radius + gap upper at K
    gap: object  # GapCertificate
    trials: list = field(default_factory=list)  # (eta, ok, reason) of the search
    acgh19: "Acgh19Step | None" = None  # ACGH19 Theorem 1's step size on the instance (largest_eta)

    def to_json(self) -> dict:
        """The ``certify/converge-v1`` certificate: only fields the checker
        re-derives (schema ``certify/schemas/converge-v1.json``).  The search
        record (``trials``), ACGH19's bound and ``t_gf`` are reported by the
        CLI, not certified, and so not written."""
        from .certificates.provenance import provenance

        schema = _contract()
        return {
            "schema": SCHEMA,
            "source": schema["properties"]["source"]["const"],
            "eps": self.eps,
            "eta": self.eta,
            "K": self.K,
            "claims": {
                "statement": schema["properties"]["claims"]["properties"]["statement"]["const"],
                "gf_loss_upper": self.gf_loss_upper,
                "gd_loss_upper": self.gd_loss_upper,
                "ball_radius": self.ball_radius,
            },
            "gap": self.gap.to_json(),
            "provenance": provenance(),
        }


def _contract() -> dict:
    """The converge-v1 JSON Schema (the statement and source are its constants)."""
    import json
    from importlib import resources

    return json.loads(resources.files("certify").joinpath("schemas", "converge-v1.json").read_text("utf-8"))


@dataclass(frozen=True)
class GFTime:
    """:func:`gf_time_to_eps`'s result: the first grid time ``t`` (exact) at which the certified
    GF loss bound ``loss_upper`` is ``<= eps/2`` (it stays below afterwards: the loss is
    nonincreasing along GF)."""

    t: Fraction
    loss_upper: float

    def to_json(self) -> dict:
        return {"t": float(self.t), "t_exact": f"{self.t.numerator}/{self.t.denominator}",
                "loss_upper": self.loss_upper}


@dataclass(frozen=True)
class Acgh19Step:
    """:func:`acgh19_eta`'s result: ACGH19 Theorem 1's largest admissible step size on the
    instance (``eta_max``, a certified upper end of the interval), or ``None`` with the
    ``reason`` the theorem does not apply."""

    eta_max: float | None
    reason: str

    @property
    def applies(self) -> bool:
        return self.eta_max is not None

    def to_json(self) -> dict:
        return {"eta_max": self.eta_max, "reason": self.reason}


def gf_time_to_eps(problem: ProblemLike, eps: float, *, t_max: float = 200.0,
                   progress: Progress | None = None) -> GFTime:
    """First time ``T`` on a grid where the certified GF loss bound is ``<= eps/2``,
    and that bound, as a :class:`GFTime`.  ``problem`` is problem-like (a
    :class:`certify.Problem`, ``builtin:NAME``, path or dict).  Raises
    :class:`UsageError` when not reached by ``t_max``.
    ``progress`` (a :class:`certify.Progress`) follows the task "GF time to
    eps/2": the horizon tried next, total ``t_max``."""
    from . import _limits
    from .flow import enclose_flow

    problem = load_problem(problem)

    problem.loss.require_certified("loss <= eps translation (converge)")

    if not (eps > 0) or not math.isfinite(eps):
        raise UsageError(f"eps must be a finite number > 0, got {eps!r}")
    if not (t_max > 0):
        raise UsageError(f"t_max must be > 0, got {t_max!r}")
    _limits.check("horizon", t_max, "t_max")
    progress = as_progress(progress)
    progress.start("GF time to eps/2", float(t_max))
    t_end = Fraction(1)
    done = Fraction(0)  # checkpoints up to here already failed in the previous, shorter enclosure
    ub = math.inf
    while True:
        # grid spacing 1/8 up to t = 16, then at most 128 new checkpoints per round
        n = max(8, min(int(8 * t_end), int(128 * t_end / max(t_end - done, Fraction(1)))))
        enc = enclose_flow(problem, t_end, checkpoints=n, max_steps=int(_limits.get("flow-steps")))
        for cp in enc.checkpoints[1:]:
            if cp.t <= done:
                continue
            ub = loss_upper_on_ball(problem, np.asarray(cp.center, dtype=np.float64), cp.radius)
            if ub <= eps / 2:
                return GFTime(cp.t, ub)
        done = t_end
        if t_end >= t_max:
            raise UsageError(
                f"gradient flow does not certifiably reach loss <= eps/2 = {eps / 2:g} by t = {t_max:g} "
                f"(certified loss bound {ub:.3g} there); use a larger eps or --t-max")
        t_end = min(t_end * 4, Fraction(t_max))
        progress.update("GF time to eps/2", float(t_end))


def translate(problem: ProblemLike, eps: float, eta: float, t_gf: Fraction | None = None,
              progress: Progress | None = None):
    """One certified translation attempt; returns a :class:`Translation` (its
    ``outcome`` an :class:`Outcome`, ``result`` the :class:`ConvergeResult` when
    certified, ``reason`` one line).  ``progress`` (a :class:`certify.Progress`)
    follows the gap's tasks."""
    problem = load_problem(problem)  # problem-like: Problem, builtin:NAME, path or dict
    from .gap.run import certify_gap

    problem.loss.require_certified("loss <= eps translation (converge)")

    if not (eps > 0) or not math.isfinite(eps):
        raise UsageError(f"eps must be a finite number > 0, got {eps!r}")
    if t_gf is None:
        t_gf = gf_time_to_eps(problem, eps).t
    from . import _limits
    from ._gd import check_eta

    eta = check_eta(eta)
    K = max(1, math.ceil(t_gf / Fraction(eta)))
    _limits.check("horizon", float(K * Fraction(eta)), "the gap's horizon K eta")
    if K > _max_steps():
        return Translation(Outcome.TOO_MANY_STEPS, None, (
            f"needs K = {K} > {_max_steps()} steps (resource limit 'steps'; raise it with --max-steps "
            "or CERTIFY_MAX_STEPS=N)"))
    try:
        cert = certify_gap(problem, eta, K, every=K, progress=progress)
    except (BlowUpError, EnclosureError) as e:
        return Translation(Outcome.GAP_NOT_CERTIFIED, None, f"gap not certified: {e}")
    last = cert.checkpoints[-1]
    gf_up = loss_upper_on_ball(problem, last.gf_center, last.gf_radius)
    R = claim_up(hi(as_arb(last.gf_radius) + as_arb(last.gap_upper)))
    gd_up = loss_upper_on_ball(problem, last.gf_center, R)
    res = ConvergeResult(problem, eps, eta, K, t_gf, claim_up(gf_up), claim_up(gd_up), R, cert)
    if gf_up > eps / 2:
        return Translation(Outcome.GF_LOSS_TOO_HIGH, None, f"GF loss bound {gf_up:.3g} at K eta exceeds eps/2")
    if gd_up > eps:
        return Translation(Outcome.GD_LOSS_TOO_HIGH, None,
                           f"GD loss bound {gd_up:.3g} exceeds eps (gap {last.gap_upper:.3g})")
    return Translation(Outcome.CERTIFIED, res.seal(), "ok")


def acgh19_eta(problem: ProblemLike) -> Acgh19Step:
    """ACGH19 Theorem 1's largest admissible step size on the instance (a certified
    upper end of the interval; ``eta_max`` ``None`` with the reason when the theorem does
    not apply), as an :class:`Acgh19Step`.  ``problem`` is problem-like."""
    from .conditions import check_conditions

    problem = load_problem(problem)
    if problem.loss.is_kernel:
        return Acgh19Step(None, "ACGH19 Theorem 1 does not apply: it assumes the whitened loss")
    problem.loss.require_certified("ACGH19 step size (converge)")

    rep = check_conditions(problem, trajectory=False)
    h = next(x for x in rep.hypotheses if x.name == "acgh19_step_size")
    emax = (h.quantities or {}).get("eta_max")
    c = (h.quantities or {}).get("c")
    if c is not None and c[0] > 0 and emax:
        return Acgh19Step(float(emax[1]), "ACGH19 Theorem 1 step-size condition")
    why = h.reason or (f"deficiency margin c in [{c[0]:.6g}, {c[1]:.6g}] is not positive" if c else "not applicable")
    return Acgh19Step(None, f"ACGH19 Theorem 1 does not apply: {why}")


def largest_eta(problem: ProblemLike, eps: float, *, eta0: float = 1e-2, rounds: int = 6,
                progress: Progress | None = None):
    """Search for the largest ``eta`` whose translation is certified: doubling/halving
    from ``eta0`` to a bracket, then ``rounds`` bisections on a log scale.
    Returns the ConvergeResult of the largest certified ``eta`` (with the trials).
    ``progress`` (a :class:`certify.Progress`) follows one task per trial,
    "trial eta = E", total 1."""
    problem = load_problem(problem)  # problem-like: Problem, builtin:NAME, path or dict
    problem.loss.require_certified("loss <= eps translation (converge)")
    t_gf = gf_time_to_eps(problem, eps).t
    trials = []

    progress = as_progress(progress)

    def attempt(e):
        progress.start(f"trial eta = {e:.4g}", 1)
        tr = translate(problem, eps, e, t_gf)
        res = tr.result
        trials.append((e, tr.certified, tr.reason))
        progress.update(f"trial eta = {e:.4g}", 1)
        return res

    best, lo, hi_eta = None, None, None
    e = eta0
    r = attempt(e)
    if r is not None:
        best, lo = r, e
        for _ in range(12):
            e *= 2
            r = attempt(e)
            if r is None:
                hi_eta = e
                break
            best, lo = r, e
    else:
        hi_eta = e
        for _ in range(12):
            e /= 4
            if math.ceil(t_gf / Fraction(e)) > _max_steps():
                break
            r = attempt(e)
            if r is not None:
                best, lo = r, e
                break
            hi_eta = e
    if best is None:
        raise UsageError(f"no step size certified the translation (tried {', '.join(f'{t[0]:.3g}' for t in trials)}); "
                         f"last reason: {trials[-1][2]}")
    if hi_eta is not None:
        for _ in range(rounds):
            mid = math.sqrt(lo * hi_eta)
            r = attempt(mid)
            if r is not None:
                best, lo = r, mid
            else:
                hi_eta = mid
    return replace(best, trials=trials, acgh19=acgh19_eta(problem)).seal()
