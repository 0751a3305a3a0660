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

import functools
import math
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np

from ._claims import hi, lo
from ._claims import TINY, U, claim_down, claim_up, claim_up_array, claim_up_fast, float_distance, fro_up, provenance, up
from ._errors import BlowUpError, EnclosureError, NotCertified, UsageError
from ._gd import BLOWUP_LOSS, check_eta, check_steps
from ._progress import Progress, as_progress
from ._lossdata import data_bounds, data_split, split_to_json, stat_errors
from .bounds.spectral import spectral_upper
from ._problem import Problem, SquareLoss, fmpq_to_fractions, ProblemLike, load_problem
from .arith import get_context
from ._claims import frac_str as _frac_str
from .losses.fast import gradient_with_error

SCHEMA = "certify/gap-v2"
DRIFT_FRACTION = 0.02  # a block ends once a layer moved by 2% of its spectral norm
G_DRIFT_FRACTION = 0.1  # ... or once G moved by 10% of ||G_ref||_2 (||G||_2 <= g_ref + gdiff_k)


def _gamma(k: int) -> float:
    g = k * U / (1.0 - k * U)
    return g * (1.0 + 4.0 * U)



# ---------------------------------------------------------------------------
# float GD step with norm-wise rounding bound (section 1, 2)
# ---------------------------------------------------------------------------


class _Stepper:
    def __init__(self, problem: Problem, eta: float):
        self.N = problem.depth
        self.eta = eta
        self.square = isinstance(problem.loss, SquareLoss)
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
        self._cP = [None] + [(_gamma(Ws[j].shape[1]), _uf(Ws[j].shape[1], P[j])) for j in range(1, N)]
        self._cS = [(_gamma(Ws[j].shape[0]), _uf(Ws[j].shape[0], S[j])) for j in range(N - 1)] + [None]
        self._cQ = [(_gamma(Q[N - 1].shape[0]), _uf(Q[N - 1].shape[0], Q[j])) for j in range(N - 1)] + [None]
        self._cg = [None] + [(_gamma(Q[j].shape[1]), _uf(Q[j].shape[1], g[j])) for j in range(1, N)]
        if self.square and A is not None:
            k = self.Sxx.shape[0]
            self._cA = (_gamma(k), _uf(k, A))
        self._tiny = [math.sqrt(g[j].size) * 2.0**-1073 for j in range(N)]

    def step(self, Ws):
        """One float GD step (section 1); returns ``(loss estimate, new Ws, round)``
        with ``round`` the norm-wise bound of section 2 (before claim slack)."""
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


# ---------------------------------------------------------------------------
# reference points (section 3) and tube bounds (section 2)
# ---------------------------------------------------------------------------


@dataclass
class _Ref:
    k: int
    Ws: list
    n: list  # ||W_l||_2 upper, 0-based
    pi: dict  # (b, a) 1-based -> upper of ||W_{b:a}||_2 for a < b
    g: float  # ||G||_2 upper
    base: object = None  # the same bounds as a certify.bounds.s31.BaseNorms
    # the block's tube data (section 2): largest drift from the reference and
    # largest step per layer over the block, and the radius bound of the block
    drift_max: list = field(default_factory=list)
    step_max: list = field(default_factory=list)
    r_block: float = 0.0
    u_norm2: list | None = None  # with a data split: ||W_{b:1} u||_2 upper, b = 1..N-1
    gw: dict | None = None  # S3.1-G: (i, j) 1-based -> upper of ||W_{N:j+1}^T G W_{i-1:1}^T||_2

    def to_json(self):
        return {
            "k": self.k, "layer_norm2": self.n,
            "prod_norm2": [[b, a, v] for (b, a), v in sorted(self.pi.items())], "G_norm2": self.g,
            **({} if self.u_norm2 is None else {"u_norm2": self.u_norm2}),
            **({} if self.gw is None else {"gw_norm2": [[i, j, v] for (i, j), v in sorted(self.gw.items())]}),
            "drift_max": self.drift_max, "step_max": self.step_max, "r_block": self.r_block,
        }


def _make_ref(k, Ws, problem, ctx, split=None) -> _Ref:
    """Reference bounds (section 3) at the float iterate ``Ws``: every partial
    product's spectral norm and ``||G||_2``, claimed (rounded outward); with a
    data split (S3.4-data) also ``||W_{b:1} u||_2`` for ``b < N``."""
    from flint import arb

    from .bounds.s31 import BaseNorms, base_at_point, weighted_products

    N = len(Ws)
    with ctx:
        B = [ctx.matrix(W) for W in Ws]
        base, E2E = base_at_point(B, lambda M: claim_up(spectral_upper(M)))
        if problem.loss.is_kernel:
            G = problem.loss.kernel.enclose_gradient(E2E.m, E2E.r)  # over the ball product (section 8)
        elif isinstance(problem.loss, SquareLoss):
            Sxx_b, Syx_b = data_bounds(problem)[1]
            G = E2E @ Sxx_b - Syx_b
        else:
            G = E2E - ctx.matrix(np.asarray(problem.loss.target, dtype=np.float64))
        g = claim_up(spectral_upper(G))
        gw = {ij: claim_up(spectral_upper(M)) for ij, M in weighted_products(B, G).items()}
        un = None
        if split is not None:
            M, un = ctx.matrix(split.u.reshape(-1, 1)), []
            for b in range(1, N):
                M = B[b - 1] @ M
                un.append(claim_up(spectral_upper(M)))
    n = [hi(base.sigma[(l, l)]) for l in range(1, N + 1)]
    pi = {ba: hi(v) for ba, v in base.sigma.items() if ba[0] != ba[1]}
    # the claimed floats are the bounds (exact in arb)
    base = BaseNorms(N, {ba: arb(n[ba[0] - 1]) if ba[0] == ba[1] else arb(pi[ba]) for ba in base.sigma},
                     None if un is None else {b: arb(v) for b, v in enumerate(un, start=1)},
                     {ij: arb(v) for ij, v in gw.items()} if gw else None, arb(g) if gw else None)
    return _Ref(k, [W.copy() for W in Ws], n, pi, g, base, u_norm2=un, gw=gw or None)


make_ref = _make_ref  # public name for the conditions family (certify.conditions.trajectory)


def tube_bounds(ref: _Ref, d: list, s_G: float) -> tuple[float, float]:
    """``(mu, beta)`` on the set where layer ``l`` is within ``d[l]`` of the
    reference's (S3.1 via :class:`certify.bounds.s31.Tube`), upper floats."""
    from .bounds.s31 import Tube, arb_prec

    with arb_prec():
        tube = Tube(ref.base, d)
        mu = tube.mu(ref.g, s_G)
        return hi(mu), hi(tube.beta(mu, s_G))


def _e_recursion(e, rnd, dnorm, mu, beta, eta) -> float:
    """S4.2 on one segment (section 2): ``exp(mu eta)(e + round + eta beta dnorm / 2)``, upper."""
    from flint import arb

    H = arb(eta)
    return hi((arb(mu) * H).exp() * (arb(e) + arb(rnd) + H * arb(beta) * arb(dnorm) / 2))


def _r_recursion(r, rnd, mu, beta, eta) -> float:
    """S4.5 (section 2): ``max(1 + eta mu, eta beta - 1) r + round``, upper
    (binary64 with outward rounding: each operation's error bounded by
    :func:`up`, the subtraction's by one ulp of its result)."""
    q = max(up(1.0 + eta * mu, 2), math.nextafter(up(eta * beta, 1) - 1.0, math.inf))
    return up(q * r + rnd, 2)


def _segment_tube(moved, x, g_ref: float, gdiffs: np.ndarray, s_G: float, split=None):
    """Per-segment ``(mu, beta)`` claims (section 2) on the tube of thickness
    ``x`` around the block's iterates: S3.1 with ``||G||_2 <= g_ref + gdiff_k``
    at iterate ``k`` (the G-part of the motion is the computed change of G,
    not an expansion of the drift) and the drift only in the partial-product
    norms ``moved``.  Vectorised over the block: the block constants in Arb,
    then per segment ``up((g + gdiff + s_G dE) lamC)`` in float (upward)."""
    from .bounds.s31 import Tube, arb_prec

    with arb_prec():
        tube = Tube(moved, x)
        m0, lam = (hi(v) for v in tube.mu_affine(g_ref, s_G))  # mu(g_ref + t) <= m0 + t lam (S3.1-G)
        sa2 = hi(tube.gauss_newton(s_G, split))  # s_G a2 (S3.1), data-weighted with a split (S3.4-data)
    if tube.N == 1:
        mu = np.zeros_like(gdiffs)
    else:
        mu = up(m0 + gdiffs * lam, 2)
    beta = up(sa2 + mu, 1)
    return mu, beta


# ---------------------------------------------------------------------------
# the certificate
# ---------------------------------------------------------------------------


@dataclass
class GapCheckpoint:
    k: int
    t: Fraction
    theta: np.ndarray
    loss: float
    e: float  # S4.2 bound for the float iterate
    r: float  # S4.5 radius of the exact GD iterate
    gf_center: np.ndarray
    gf_radius: float
    gap_upper: float
    gap_lower: float
    gap_upper_s42: float
    dist_lo: float = 0.0  # lower bound of ||theta^_k - gf_center|| (for the vacuity test)


@dataclass
class GapCertificate:
    problem: Problem
    eta: float
    steps: int
    every: int
    refresh: int
    checkpoints: list = field(default_factory=list)
    segments: list = field(default_factory=list)
    refs: list = field(default_factory=list)
    flow: object = None
    evals: list = field(default_factory=list)
    sxx_norm2: float | None = None
    loss_bounds: dict | None = None  # kernel losses: {"s_G", "s_F"} (gap-v2.md section 8)
    data_split: object = None  # certify.bounds.s31.DataSplit (S3.4-data) or None
    s42_end: int = 0
    drift: list = field(default_factory=list)  # balancedness drift at checkpoints (estimate)
    partial: dict | None = None  # set when the certificate covers only a prefix (certify_gap(partial=True))

    @property
    def max_gap_upper(self) -> float:
        return max(c.gap_upper for c in self.checkpoints)

    def to_json(self) -> dict:
        N = self.problem.depth
        cps = [{
            "k": c.k, "t": float(c.t), "t_exact": _frac_str(c.t), "gap_upper": c.gap_upper,
            "gap_lower": c.gap_lower, "gap_upper_s42": c.gap_upper_s42 if math.isfinite(c.gap_upper_s42) else None,
            "loss": c.loss,
            "theta_hex": [float(x).hex() for x in c.theta],
            "gf_center_hex": [float(x).hex() for x in c.gf_center], "gf_radius": c.gf_radius,
        } for c in self.checkpoints]
        return {
            "schema": SCHEMA,
            "problem": self.problem.to_json(),
            "eta": self.eta, "eta_hex": float(self.eta).hex(), "steps": self.steps, "every": self.every,
            "refresh": self.refresh,
            "claims": {
                "statement": (
                    "for each checkpoint k: gap_lower <= ||theta_k - theta(k eta)||_2 <= gap_upper, where "
                    "theta_k is exact-arithmetic gradient descent with step eta and theta(t) the exact "
                    "gradient flow, both from the problem's initial point (flattened per S1)"
                ),
                "lemmas": ["S3.1", "S4.1", "S4.2", "S4.3", "S4.4", "S4.5", "S4.6"],
                "checkpoints": cps,
                "max_gap_upper": self.max_gap_upper,
            },
            "refs": [r.to_json() for r in self.refs],
            "segments": self.segments,
            "s42_end": self.s42_end,
            "flow": self.flow,
            "sxx": None if self.sxx_norm2 is None else {"norm2": self.sxx_norm2},
            **({} if self.loss_bounds is None else {"loss_bounds": self.loss_bounds}),
            **({} if self.data_split is None else {"data_split": split_to_json(self.data_split)}),
            **({"partial": self.partial} if self.partial else {}),
            "provenance": provenance(),
        }


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
    from . import _limits

    _limits.check("checkpoints", steps // every + 2, "the number of checkpoints")
    _limits.check("horizon", eta * steps, "the horizon eta * steps")
    try:
        return _certify_gap(problem, eta, steps, every, refresh, progress, stop_when_vacuous)
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
        return cert


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
    stepper = _Stepper(problem, eta)
    Ws = [np.array(w, dtype=np.float64) for w in problem.weights]
    state = {"e": 0.0, "r": 0.0, "s42": s42}
    cert.s42_end = steps if s42 else 0
    with np.errstate(over="ignore", invalid="ignore"):
        k0 = 0
        while k0 < steps:
            k1 = min(k0 + refresh, steps)
            try:
                ref = _make_ref(k0, Ws, problem, ctx, split)
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
                    _record_checkpoint(cert, problem, k, eta_q, Ws)
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
            gdiffs = _gdiffs(Gs, eGs)
            rounds = claim_up_array([b[1] for b in block]).tolist()
            dnorms = claim_up_array([b[3] for b in block]).tolist()
            block = [(b[0], rd, b[2], dn, gd) for b, rd, dn, gd in zip(block, rounds, dnorms, gdiffs)]
            _certify_block(cert, ref, block, state, eta, s_G, N, split)
            k0 = block[-1][0] + 1
        if steps in ks_set:
            _record_checkpoint(cert, problem, steps, eta_q, Ws)
    for c in cert.checkpoints:
        c.e, c.r = state["e_at"][c.k], state["r_at"][c.k]
    return cert


def _certify_gap(problem, eta, steps, every, refresh, progress, stop_when_vacuous) -> GapCertificate:
    from .flow import enclose_flow

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
    step_of = {}
    for n, st in enumerate(enc.steps):
        for k in ks:
            tk = eta_q * k
            if st.t0 <= tk <= st.t0 + st.h and k not in step_of:
                step_of[k] = n
    cert.flow = {
        "order": enc.steps[0].order if enc.steps else 0,
        "steps": [s.to_json() for s in enc.steps],
        "evals": [{"k": k, "step": step_of.get(k, 0), "radius": gf[eta_q * k][1]} for k in ks],
    }
    # checkpoints: combine the recursions' values with the GF enclosure (S4.4)
    for c in cert.checkpoints:
        _finish_checkpoint(c, c.e, c.r, gf[eta_q * c.k])
        if stop_when_vacuous and c.k > 0 and c.gap_lower == 0.0 and c.dist_lo > 0:
            raise NotCertified(
                c.k, float(c.t), f"the certified bracket is vacuous (lower bound 0: the radii r + gf_radius = "
                f"{c.r + c.gf_radius:.3g} exceed the distance {c.dist_lo:.3g} between the float iterate and the "
                "GF center)", "try a smaller --eta or fewer --steps, or keep vacuous checkpoints with --allow-vacuous")
    return cert


def _gdiffs(Gs, eGs) -> list:
    """Per step of a block: ``gdiff_k >= ||G(theta^_k) - G(theta^_ref)||_F`` (exact
    G at both float iterates, section 2): the float difference of the computed
    ``G^``s (``|a - b| <= |fl(a - b)| (1 + 2u)``) plus both rounding bounds, with
    the factor-2 slack of a rounding-dominated claim."""
    D = np.stack(Gs) - Gs[0]
    ss = np.einsum("tij,tij->t", D, D)
    n = Gs[0].size
    d = np.nextafter(np.sqrt(up(ss, n + 1)) * (1.0 + 2.0 * U), np.inf)
    e = np.asarray(eGs) + eGs[0]
    # + 2^-520: above the square root of any underflow allowance of a sum of
    # squares (<= 2^-1040), which another implementation may add (G = 0 exactly)
    return claim_up_array(up(d + 2.0 * e, 2) + 2.0**-520).tolist()


def _certify_block(cert, ref, block, state, eta, s_G, N, split=None):
    """Claims for the segments of one block (section 2): the block constants
    (partial-product norms widened by the block's largest drift, S3.1 pieces)
    are computed once; each segment's curvature uses ``||G||_2 <= g_ref +
    gdiff_k`` at its own iterate (:func:`_segment_tube`)."""
    e_at = state.setdefault("e_at", {0: 0.0})
    r_at = state.setdefault("r_at", {0: 0.0})
    # drift before step k: cumulative step norms since the reference (triangle inequality)
    drift = [0.0] * N
    drifts = []
    for b in block:
        drifts.append(list(drift))
        drift = [up(x + y, 1) for x, y in zip(drift, b[2])]
    maxdrift = [claim_up(max(d[l] for d in drifts)) for l in range(N)]
    maxstep = [claim_up(max(b[2][l] for b in block)) for l in range(N)]
    ref.drift_max, ref.step_max = maxdrift, maxstep
    from .bounds.s31 import arb_prec

    with arb_prec():
        moved = ref.base.moved(maxdrift)
    gd = np.array([b[4] for b in block])
    # S4.5 radius: find r_max with the block's r values below it
    r0 = state["r"]
    r_guess = claim_up(max(2.0 * (r0 + sum(b[1] for b in block)), 1e-300))
    beta_first = None
    for _ in range(30):
        mus, betas = _segment_tube(moved, [r_guess] * N, ref.g, gd, s_G, split)
        mu_r = claim_up_array(mus).tolist()
        beta_r = claim_up_array(betas).tolist()
        if beta_first is None:
            beta_first = beta_r  # the smallest ball: the Hessian bound closest to the iterates' own
        rs, r = [], r0
        for b, m, bt in zip(block, mu_r, beta_r):
            r = claim_up_fast(_r_recursion(r, b[1], m, bt, eta))
            rs.append(r)
        if max(rs) <= r_guess:
            break
        if not math.isfinite(max(rs)):
            r_guess = math.inf
            break
        r_guess = claim_up(2.0 * max(rs))
    else:
        r_guess = math.inf
    if not math.isfinite(r_guess):
        k_bad = next((b[0] for b, bt in zip(block, beta_first) if not eta * bt <= 2.0), None)
        if k_bad is not None:
            raise BlowUpError(
                f"gradient descent is unstable at step {k_bad}: eta * ||Hf|| may exceed 2 (beyond the edge of "
                f"stability, GD diverged or will) with eta={eta:g}; try a smaller eta")
        raise NotCertified(block[0][0], block[0][0] * eta,
                           "the radius of the exact GD iterates cannot be bounded (S4.5: the rounding errors "
                           "grow like exp(eta * sum of the curvature bound) beyond any tube; adverse curvature, "
                           "e.g. an escape from a saddle)", "try a smaller --eta or fewer --steps (--partial keeps "
                           "the certified prefix)")
    ref.r_block = r_guess
    # S4.2 while alive
    es = None
    if state["s42"]:
        e0 = state["e"]
        rho = claim_up(max(2.0 * (e0 + sum(b[1] + eta * b[3] for b in block)), 1e-300))
        for _ in range(20):
            mus, betas = _segment_tube(moved, [up(y + rho, 1) for y in maxstep], ref.g, gd, s_G, split)
            mu = claim_up_array(mus).tolist()
            beta = claim_up_array(betas).tolist()
            es, e = [], e0
            for b, m, bt in zip(block, mu, beta):
                e = claim_up_fast(_e_recursion(e, b[1], b[3], m, bt, eta))
                es.append(e)
            if math.isfinite(es[-1]) and es[-1] < rho:  # e is increasing
                break
            last = es[-1]
            es = None
            if not math.isfinite(last):
                break
            rho = claim_up(2.0 * last)
        if es is None:
            state["s42"] = False
            cert.s42_end = block[0][0]
    for i, (k, rnd, dl, dnorm, gdiff) in enumerate(block):
        seg = {"k": k, "round": rnd, "dnorm": dnorm, "gdiff": gdiff, "mu_r": mu_r[i], "beta_r": beta_r[i],
               "r": rs[i]}
        if es is not None:
            seg.update({"rho": rho, "mu": mu[i], "beta": beta[i], "e": es[i]})
        cert.segments.append(seg)
        r_at[k + 1] = rs[i]
        e_at[k + 1] = es[i] if es is not None else math.inf
    state["r"] = rs[-1]
    state["e"] = es[-1] if es is not None else math.inf


def _record_checkpoint(cert, problem, k, eta_q, Ws):
    """The float iterate at checkpoint ``k`` (bounds are filled in later)."""
    from ._derivatives import Objective

    theta = np.concatenate([w.reshape(-1) for w in Ws])
    loss = float(Objective(problem).loss(theta))
    cert.checkpoints.append(GapCheckpoint(k, eta_q * k, theta, loss, math.inf, math.inf, None, math.inf,
                                          math.inf, 0.0, math.inf))


def _finish_checkpoint(c, e, r, gfv):
    """Two-sided bound at a checkpoint (S4.4) and the one-sided one (S4.2)."""
    from flint import arb

    center, radius = gfv
    dist_lo, dist_hi = float_distance(c.theta, center)
    c.dist_lo = dist_lo
    two_sided = hi(arb(dist_hi) + arb(radius) + arb(r))
    s42 = hi(arb(e) + arb(r)) if math.isfinite(e) else math.inf
    c.e, c.r, c.gf_center, c.gf_radius = e, r, center, radius
    c.gap_upper = claim_up(min(s42, two_sided))
    c.gap_lower = claim_down(max(0.0, lo(arb(dist_lo) - arb(radius) - arb(r))))
    c.gap_upper_s42 = claim_up(s42) if math.isfinite(s42) else math.inf
