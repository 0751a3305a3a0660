"""Validated gradient-flow enclosure (SPEC S4.1 + S4.3).

Each step ``[t, t+h]`` of the integration:

1. **Candidate.**  ``y(s) = sum_{i<=p} a_i s^i``: the order-``p`` Taylor
   polynomial of the GF solution through the current center ``c`` (S2.3,
   :func:`certify._series.gf_taylor`), computed in the backend's approximate
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

from ._errors import BlowUpError, EnclosureError, NotCertified, UsageError
from ._progress import Progress, as_progress
from ._problem import Problem, SquareLoss, fmpq_to_fractions, ProblemLike, load_problem
from ._series import GradientSeries, gf_taylor

from ._claims import hi as _hi, lo as _lo
from ._claims import U, claim_up, fro_up
from ._claims import up as _up
from ._claims import frac_str as _frac_str
from ._spectral import spectral_upper


# ---------------------------------------------------------------------------
# rigorous scalar helpers (python-flint arb; conversions rounded outward)
# ---------------------------------------------------------------------------


def _arb(x):
    from flint import arb

    if isinstance(x, Fraction):
        from flint import fmpq

        return arb(fmpq(x.numerator, x.denominator))
    return arb(x)


def gronwall_update(e0: float, mu: float, delta: float, h) -> float:
    """Upper bound of ``exp(mu h) e0 + delta (exp(mu h) - 1)/mu`` (limit
    ``delta h`` at ``mu = 0``) for ``e0, delta >= 0``, any real ``mu`` (S4.2)."""
    from flint import arb

    H = _arb(h)
    M = arb(mu)
    E = (M * H).exp()
    if mu == 0:
        growth = H
    else:
        # (exp(mu h) - 1)/mu = h * expm1(mu h)/(mu h): use arb's expm1 for accuracy
        growth = (M * H).expm1() / M
    return _hi(E * arb(e0) + arb(delta) * growth)


# ---------------------------------------------------------------------------
# results
# ---------------------------------------------------------------------------


@dataclass
class FlowStep:
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
class FlowCheckpoint:
    t: Fraction
    center: list  # float64 array (float64 backend) or list of decimal strings (arb)
    radius: float
    loss: float  # float estimate of the loss at the center
    steps: int  # integrator steps taken so far


@dataclass
class FlowEnclosure:
    problem: Problem
    backend: str
    prec: int
    t_end: Fraction
    checkpoints: list[FlowCheckpoint] = field(default_factory=list)
    steps: list[FlowStep] = field(default_factory=list)



# ---------------------------------------------------------------------------
# the integrator
# ---------------------------------------------------------------------------


class _Model:
    """The problem's loss data in one backend (balls) and in approximate form."""

    def __init__(self, problem: Problem, ctx, slack: float = 2.0):
        self.ctx = ctx
        self.slack = float(slack)  # factor on the rounding-dominated claims (enclose_flow)
        self.N = problem.depth
        loss = problem.loss
        self.square = isinstance(loss, SquareLoss)
        self.kernel = loss.kernel if loss.is_kernel else None  # cross-entropy, logistic (section 8)
        self.kernel_h = None  # float path, kernel losses: where the next step starts (_FloatStep._kernel_step)
        self.arb = getattr(ctx, "name", "") == "arb"
        if self.kernel is not None:
            from ._lossdata import data_bounds

            self.s_G = data_bounds(problem)[0]  # spectral Lipschitz constant of grad l, claimed
            self.s_F = loss.constants[1]  # >= sup ||Hl||_2: Frobenius Lipschitz constant of grad l
        elif self.square:
            Sxx, Syx, _ = loss.exact_stats
            self.Sxx = ctx.matrix(fmpq_to_fractions(Sxx))
            self.Syx = ctx.matrix(fmpq_to_fractions(Syx))
            self.sxx_f = self.Sxx.norm_f_upper()
            from ._lossdata import data_bounds

            self.sxx_2 = data_bounds(problem)[0]  # claimed >= ||Sxx||_2, once per problem
            fs = loss.float_stats
            self.Sxx_approx, self.Syx_approx = fs[0], fs[1]
            from ._lossdata import stat_errors

            self.e_sxx, self.e_syx = stat_errors(problem)
            self.n_sxx = fro_up(fs[0])
            self.s_G = self.sxx_2
        else:
            self.Phi = ctx.matrix(np.asarray(loss.target, dtype=np.float64))
            self.Phi_approx = np.asarray(loss.target, dtype=np.float64)
            self.s_G = 1.0

    # ball versions (rigorous)
    def g0(self, P):
        """A ball containing ``grad l`` at every point of the ball ``P``."""
        if self.kernel is not None:
            if self.arb:
                return self.kernel.arb_gradient(P, prec=self.ctx.prec)  # Arb's own exp
            return self.kernel.enclose_gradient(P.mid(), P.r)
        return P @ self.Sxx - self.Syx if self.square else P - self.Phi

    def glin(self, P):
        return P @ self.Sxx if self.square else P


class _TM:
    """Norm data of a truncated power series: ``alpha_i >= ||c_i||_F h^i`` for
    ``i <= q`` and remainder ``r >= sup_{[0,h]} ||tail||_F``."""

    __slots__ = ("alpha", "r")

    def __init__(self, alpha: np.ndarray, r: float):
        self.alpha, self.r = alpha, r

    @property
    def sup(self) -> float:
        return _up(float(np.sum(self.alpha)) + self.r, len(self.alpha) + 2)

    def times(self, other: "_TM", alpha_c: np.ndarray) -> "_TM":
        """Remainder of the product (coefficients ``alpha_c`` already computed)."""
        q = len(self.alpha) - 1
        a, b = self.alpha, other.alpha
        # sum_{i+j>q} a_i b_j  = sum_i a_i * (sum_{j>q-i} b_j)
        tail_b = np.concatenate([np.cumsum(b[::-1])[::-1], [0.0]])  # tail_b[k] = sum_{j>=k} b_j
        high = float(np.sum(a * tail_b[np.minimum(q - np.arange(q + 1) + 1, q + 1)]))
        high = _up(high, 3 * q + 6)
        sa = float(np.sum(a))
        sb = float(np.sum(b))
        r = _up(high + self.r * (sb + other.r) + sa * other.r, 3 * q + 12)
        return _TM(alpha_c, r)


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
    from .arith import get_context

    from . import _limits

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
    res = FlowEnclosure(problem, backend, prec_bits, t_end)
    progress = as_progress(progress)
    progress.start("GF enclosure", float(t_end))
    with ctx:
        model = _Model(problem, ctx, slack)
        centers = [ctx.matrix(np.asarray(w, dtype=np.float64)) for w in problem.weights]
        t, e = Fraction(0), 0.0
        res.checkpoints.append(_checkpoint(problem, t, centers, e, 0, backend))
        ev_i = 0
        while ev_i < len(evals) and evals[ev_i] == 0:
            on_eval(Fraction(0), centers, 0.0)
            ev_i += 1
        cp_i = 0
        nsteps = 0
        h_next = None
        while cp_i < len(cps):
            if nsteps >= max_steps:
                from ._limits import ResourceLimitError, how_to_raise

                raise ResourceLimitError(
                    f"maximum number of steps ({max_steps}) reached at t={float(t):.6g} (resource limit "
                    f"'flow-steps'); {how_to_raise('flow-steps')}")
            stepper = _FloatStep(model, centers, p) if backend == "float64" else _BallStep(model, centers, p)
            h = stepper.choose_step(prec_bits, None if h_next is None else h_next * 2)
            h = min(h, cps[cp_i] - t)
            step = None
            for _attempt in range(40):
                step = stepper.validate(h, e)
                if step is not None:
                    break
                h = h / 2
            if step is None or h < Fraction(1, 2**60):
                raise NotCertified(
                    None, float(t), "step size underflow: the GF tube cannot be validated (curvature too "
                    "adverse, or the flow blows up)", "try a higher --prec or a shorter horizon")
            e1, delta, mu, rho = step
            h_next = h
            # intermediate evaluations inside this step
            while ev_i < len(evals) and evals[ev_i] <= t + h:
                s = evals[ev_i] - t
                yb = stepper.evaluate(s)
                on_eval(evals[ev_i], yb, e1)
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
                res.checkpoints.append(_checkpoint(problem, t, centers, e, nsteps, backend))
                cp_i += 1
    return res


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
    from ._derivatives import Objective

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


def _gronwall_tube(model, center, motion, delta, h, e0):
    """Tube radius, curvature on it (S3.3) and the Gronwall radius (S4.1);
    ``None`` when ``e(h) < rho`` cannot be achieved.  ``center = (base, g_c)``:
    S3.1 norms of the center's partial products and ``||G(c)||_2``;
    ``motion = (layer, products, g)``: sup-motions over the step from the
    step's own Taylor models."""
    from ._s31 import Tube, arb_prec, mu_upper

    base, g_c = center
    layer_m, prod_m, g_m = motion
    with arb_prec():
        moved = base.moved(layer_m, prod_m)
        g_sup = g_c + g_m
        rho = claim_up(max(4.0 * (e0 + delta * float(h)), 1e-300))
        for _ in range(6):
            # + 2^-500: underflow-level differences between two rigorous implementations
            # (spectral bounds of exactly zero layers ~ sqrt of an underflow allowance) never matter
            mu = claim_up(mu_upper(Tube(moved, [rho] * model.N), g_sup, model.s_G) + 2.0**-500)
            if not math.isfinite(mu):
                return None
            e1 = claim_up(gronwall_update(e0, mu, delta, h))
            if e1 < rho:
                return e1, delta, mu, rho
            if not math.isfinite(e1):
                return None
            rho = claim_up(2.0 * e1)
    return None


def center_norms(model, W0_balls, weighted: bool = True):
    """``(BaseNorms, ||G(c)||_2 upper)`` at the center balls (S3.1 at the point);
    ``weighted``: with S3.1-G's weighted products ``||Z^T G Z^T||_2`` at the center."""
    from flint import arb

    from ._s31 import base_at_point

    base, E2E = base_at_point(W0_balls, spectral_upper)
    G = model.g0(E2E)
    g_c = arb(spectral_upper(G))
    if weighted and model.N > 1:
        from ._s31 import BaseNorms

        base = BaseNorms(base.N, base.sigma, base.uvec, None, g_c).with_g_weights(W0_balls, G, spectral_upper)
    return base, g_c


def _hpow(h: Fraction, q: int) -> np.ndarray:
    h_up = _hi(_arb(h))
    return np.array([h_up**i for i in range(q + 1)]) * (1.0 + 2 * (q + 2) * U)


#: kernel losses: the G Taylor model's remainder is kept below this many units ``2^-prec (1 + ||G_0||_F)``
KERNEL_REMAINDER_UNITS = 8.0
KERNEL_MAX_HALVINGS = 6
#: float path, kernel losses: the next step starts at least this factor above the last accepted one
KERNEL_GROWTH = 1.125


class _BallStep:
    """One step with the candidate and the defect in the backend's ball
    arithmetic (any precision; used for ``arb``)."""

    def __init__(self, model: _Model, centers, p: int):
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
            from .losses.arb_series import arb_callbacks

            return arb_callbacks(self.model.kernel)
        return self.model.g0, self.model.glin

    def ball_coeffs(self):
        return self.coeffs

    def evaluate(self, s: Fraction):
        """``y(s)`` per layer as balls."""
        return _horner(self.coeffs, s)

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
        from .losses.arb_series import arb_gradient_remainder

        if getattr(self, "_rem", None) is None or self._rem[0] != h:
            self._gradient_series()
            P = self._gs.P[self.model.N - 1]
            self._rem = (h, arb_gradient_remainder(self.model.kernel, [P[i] for i in range(self.p + 1)], h, self.p))
        return self._rem[1]


class _Errs:
    """Norm bounds ``E`` of the difference between computed and exact series
    coefficients (zero for ball arithmetic, whose coefficients are enclosures)."""

    def __init__(self, W, P, S, G, Q, g):
        self.W, self.P, self.S, self.G, self.Q, self.g = W, P, S, G, Q, g


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


def _prod_err(nA, EA, nB, EB, k, q, out_size):
    """Norm-wise error of a series product computed in float (batched matmul
    plus sum: for each order one inner product of length ``(i+1) k``):
    ``E(C)_i <= sum_l [E(A)_l (n(B) + E(B))_{i-l} + n(A)_l E(B)_{i-l}]
    + gamma_{(i+1)k} sum_l n(A)_l n(B)_{i-l}`` plus an underflow allowance."""
    t = _conv(EA, nB + EB, q) + _conv(nA, EB, q) + _gammas(k, q) * _conv(nA, nB, q)
    uf = (np.arange(q + 1) + 1.0) * k * math.sqrt(out_size) * 2.0**-1073
    return _up(t + uf, 4)


class _FloatStep:
    """One step of the float64 fast path: the candidate's own float series is
    reused, with norm-wise a-priori bounds of its rounding errors (S4.6)
    instead of ball arithmetic."""

    def __init__(self, model: _Model, centers, p: int):
        self.model, self.p = model, p
        self.W0 = [c.mid() for c in centers]
        if model.kernel is not None:
            from .losses import gf_callbacks

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
        from .arith import ETA, F64Mat, nearest_double

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
            from .losses import GradientSeriesEnclosure

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
            EP.append(_prod_err(nW[j], z, nP[j - 1], EP[j - 1], A.shape[2], q, gs.P[j].a[0].size))
        ES = [None] * N
        ES[N - 1] = z
        for j in range(N - 2, -1, -1):
            k = gs.W[j].a.shape[1]
            ES[j] = _prod_err(nS[j + 1], ES[j + 1], nW[j], z, k, q, gs.S[j].a[0].size)
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
                eq = _prod_err(nG, EG, nP[j - 1], EP[j - 1], gs.P[j - 1].a.shape[2], q, gs.Q[j].a[0].size)
            EQ.append(eq)
            if j == N - 1:
                Eg.append(eq)
            else:
                Eg.append(_prod_err(nS[j + 1], ES[j + 1], nQ[j], eq, gs.S[j + 1].a.shape[1], q,
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


def _finish_step(model, coeffs, nW, nP, nS, nG, nQ, ng, E, dn, p, h, e0, center, g_rem=None):
    """Taylor-model remainders, defect bound, tube and Gronwall for one step.
    ``n*`` are norm bounds of the computed coefficients, ``E`` their errors;
    ``g_rem`` (kernel losses) the remainder of ``G``'s own Taylor model along the
    truncated product, to which ``s_F`` times the product's remainder is added."""
    N, q = model.N, p
    hp = _hpow(h, q)
    al = lambda n, e: _up((n + e) * hp, 3)
    W_tm = [_TM(al(nW[j], E.W[j]), 0.0) for j in range(N)]
    P_tm = [W_tm[0]]
    for j in range(1, N):
        P_tm.append(W_tm[j].times(P_tm[j - 1], al(nP[j], E.P[j])))
    S_tm = [None] * N
    S_tm[N - 1] = W_tm[N - 1]
    for j in range(N - 2, -1, -1):
        S_tm[j] = S_tm[j + 1].times(W_tm[j], al(nS[j], E.S[j]))
    if model.kernel is not None:
        rG = _up(g_rem + model.s_F * P_tm[N - 1].r, 2)  # mean value theorem: ||Hl||_2 <= s_F
    elif model.square:
        rG = P_tm[N - 1].r * (model.sxx_f * (1 + 4 * U))
    else:
        rG = P_tm[N - 1].r
    G_tm = _TM(al(nG, E.G), _up(rG, 2))
    delta_sq = 0.0
    for j in range(N):
        Q_tm = G_tm if j == 0 else G_tm.times(P_tm[j - 1], al(nQ[j], E.Q[j]))
        g_tm = Q_tm if j == N - 1 else S_tm[j + 1].times(Q_tm, al(ng[j], E.g[j]))
        dj = _up(float(np.sum(dn[j] * hp)) + g_tm.r, 3 * q + 8)
        delta_sq += dj * dj
    delta = float(np.nextafter(math.sqrt(_up(delta_sq, 2 * N + 2)), math.inf))
    delta = claim_up(model.slack * delta)  # slack on a rounding-dominated claim (S6)
    if not math.isfinite(delta):
        return None
    yrange = [_up(float(np.sum(nW[j][1:] * hp[1:])), 3 * q + 4) for j in range(N)]
    # S3.3: sup-motions of the prefix/suffix products and of G over the step
    # from their Taylor models (orders >= 1 plus the remainder)
    mot = lambda tm: _up(float(np.sum(tm.alpha[1:])) + tm.r, len(tm.alpha) + 2)
    prods = {}
    for b in range(2, N):
        prods[(b, 1)] = mot(P_tm[b - 1])
    for a in range(2, N + 1):
        if a < N:
            prods[(N, a)] = mot(S_tm[a - 1])
    return _gronwall_tube(model, center, (yrange, prods, mot(G_tm)), delta, h, e0)


def _horner(coeffs, s: Fraction):
    """``y(s)`` as balls, per layer."""
    out = []
    for layer in coeffs:
        acc = layer[-1]
        for c in reversed(layer[:-1]):
            acc = acc * s + c
        out.append(acc)
    return out


def _vec_norm_up(norms: Sequence[float]) -> float:
    s = _up(float(np.sum(np.square(norms))), 2 * len(norms) + 2)
    return float(np.nextafter(math.sqrt(s), math.inf))


def _s31_on_tube(model: _Model, W0, r: Sequence[float]) -> float:
    """Rigorous upper bound of ``-lambda_min(Hf)`` over the set where every layer
    lies within ``r_j`` (Frobenius) of the ball matrices ``W0`` (S3.1 via
    :mod:`certify._s31`)."""
    from ._s31 import Tube, arb_prec, mu_upper

    with arb_prec():
        base, g_c = center_norms(model, W0, weighted=False)  # S3.1 itself (s31_vs_s32 compares it)
        return mu_upper(Tube(base, r), g_c, model.s_G)


# ---------------------------------------------------------------------------
# output (certify/flow-v1)
# ---------------------------------------------------------------------------


def flow_to_json(enc: FlowEnclosure) -> dict:
    """The ``certify/flow-v1`` document (SPEC S6 conventions: floats round-trip,
    radii are rigorous upper bounds in the 2-norm of the flattened parameters)."""
    from ._claims import provenance
    from .arith._arb import exact_decimal as _exact_center_string

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
