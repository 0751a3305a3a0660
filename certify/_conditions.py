"""Hypotheses of the paper's theorems with certified verdicts (``certify conditions``;
PAPER.md sections 1, 3, 4; schema ``certify/conditions-v1``).

Every hypothesis gets a *margin*, a real number whose sign decides it, and a
rigorous enclosure ``[margin_lower, margin_upper]`` of it (python-flint ``arb``
balls and exact rationals; conversions to floats are rounded outward with
:func:`certify._claims.hi`/``lo`` and then :func:`claim_down`/``claim_up``):

- ``holds`` only if ``margin_lower > 0``; ``fails`` only if ``margin_upper < 0``;
  anything else is ``undetermined``.  Two hypotheses are *equalities*
  (exact balancedness, an initialisation exactly on the bad ray): their margin is
  computed in exact rational arithmetic, and the equality is reported only when
  the exact value is ``0`` (``"exact": true``).
- ``margin`` is the certified bound on the side of the verdict: ``margin_upper``
  when the status is ``fails``, ``margin_lower`` otherwise.
- ``[EC21-informal]`` statements are never "holds": their quantities are
  reported (``"reported": true``) with status ``undetermined``.

Source tags (PAPER.md): ``[ACGH19]`` published theorem and constants,
``[derived]`` proved in ``proofs/``, ``[EC21-informal]`` the paper's informal claim.

The hypotheses (name: margin):

- ``balancedness`` [ACGH19]: ``-delta``, ``delta = max_j ||W_{j+1}^T W_{j+1} - W_j W_j^T||_F``
  (exact rationals); holds iff ``delta = 0`` exactly.
- ``deficiency_margin`` [ACGH19]: ``c = sigma_min(Phi) - ||W_{N:1}(0) - Phi||_F``;
  ``sigma_min(Phi)^2 = lambda_min(Gram)`` enclosed by a verified positive
  definiteness test of ``Gram - s I`` (LDL^T in Arb: every pivot certainly
  positive) from below and an exact Rayleigh quotient from above.  For the data
  loss, ``Phi = Syx`` when ``Sxx = I`` exactly, else undetermined.
- ``acgh19_balancedness`` [ACGH19]: ``min(c, delta_max - delta)``, ``delta_max =
  c^2 / (256 N^3 ||Phi||_F^(2(N-1)/N))`` (the theorem needs ``c > 0`` and ``delta <= delta_max``).
- ``acgh19_step_size`` [ACGH19]: ``min(c, eta_max - eta)``, ``eta_max = c^((4N-2)/N) /
  (6144 N^3 ||Phi||_F^((6N-4)/N))``; with the guaranteed iteration count
  ``log(l(0)/eps) / (eta c^(2(N-1)/N))`` (``eps`` a loss level here; the
  excess loss for whitened data).  Thresholds use ``c_+ = max(c, 0)``.
- ``smoothness`` [derived] (S4.5 (a)): ``2 - eta beta_D`` with ``beta_D >= sup_D ||Hf||_2``
  on the tube ``D`` (all points within ``eps`` of the GF trajectory on ``[0, T]``);
  the upper end uses certified lower bounds of ``lambda_max(Hf)`` at points of ``D``.
- ``curvature`` [EC21-informal] (PAPER.md 3): reported ``m(t)`` (S3.1 on the
  certified GF tube), ``int_0^T m``, and the section-3 [derived] bound
  ``(N-1) rho^(N-2) ||grad l||_F`` integrated (proofs/s3_homogeneous.py).
- ``edge_of_stability`` [derived]: ``2 - eta max_k lambda_max(Hf(theta_k))`` along exact GD:
  lower end from the gap certificate's per-step smoothness bounds (S4.5),
  upper end from certified Rayleigh quotients at GD checkpoints.
- ``ec21_gap_theorem`` [derived] (PAPER.md 1, proofs/ec21_gap_theorem.py): ``eta_max - eta``
  with ``eta_max = eps / (beta (G + beta eps) int_0^T exp(int_s^T (m + gamma eps/2)) ds)``;
  ``gamma`` from proofs/s2_2_hessian_lipschitz.py.  Its a-priori bound is set
  against the certified gap (``certify_gap``).
- ``scalar_output_bad_set`` [derived] (PAPER.md 4): the angle between ``W_{N:1}(0)``
  and ``-Phi`` (``d_N = 1``).

Trajectory-based quantities use a partition ``0 = t_0 < ... < t_M = T``, the
validated GF enclosure ``theta(t_i) in B(c_i, r_i)`` (S4.3) and the motion bound
``||theta(t) - theta(t_i)|| <= sqrt((t_{i+1} - t_i)(f_up(t_i) - f_lo(t_{i+1})))``
on ``[t_i, t_{i+1}]`` (Cauchy-Schwarz and ``int ||theta'||^2 = f(t_i) - f(t)``,
``f`` non-increasing along GF; ``f_up``/``f_lo`` interval evaluations of the
loss on the enclosing boxes).  On segment ``i`` every trajectory point lies within
``rho_i = r_i + motion_i`` of ``c_i``, so S3.1 / S4.5 / the Lipschitz lemma with
per-layer radius ``rho_i (+ eps)`` give ``m``, ``G``, ``beta``, ``gamma``.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np

from ._claims import claim_down, claim_up, hi, lo
from ._errors import BlowUpError, EnclosureError, TooLargeError, UsageError
from ._problem import Problem, SquareLoss, fmpq_to_fractions, load_problem, unflatten

SCHEMA = "certify/conditions-v1"
STATUSES = ("holds", "fails", "undetermined")
SOURCES = ("[ACGH19]", "[derived]", "[EC21-informal]")
NAMES = (
    "balancedness", "deficiency_margin", "acgh19_balancedness", "acgh19_step_size", "smoothness",
    "curvature", "edge_of_stability", "ec21_gap_theorem", "scalar_output_bad_set",
)
PREC = 128
SEGMENTS = 32  # uniform partition of [0, T] for the trajectory bounds (plus the gap checkpoints)
MAX_GAP_STEPS = 100_000
MAX_EXACT_FLOPS = 5e7  # exact rational products up to this many multiplications, Arb balls beyond
MAX_LDL = 400  # verified positive-definiteness test up to this size
EPS_GRID = [10.0 ** (-5 + k / 4) for k in range(21)]  # 1e-5 .. 1, when eps is not given
DEFAULT_T = 1.0


# ---------------------------------------------------------------------------
# results
# ---------------------------------------------------------------------------


@dataclass
class Hypothesis:
    """One verdict.  ``margin_lower``/``margin_upper`` enclose the margin (certified;
    ``None`` when unknown); ``status`` follows from them (module docstring)."""

    name: str
    source: str
    status: str
    meaning: str
    margin: float | None = None
    margin_lower: float | None = None
    margin_upper: float | None = None
    exact: bool = False
    reported: bool = False
    reason: str | None = None
    warning: str | None = None
    quantities: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        return {
            "name": self.name, "source": self.source, "status": self.status,
            "margin": _num(self.margin), "margin_lower": _num(self.margin_lower),
            "margin_upper": _num(self.margin_upper), "exact": self.exact, "reported": self.reported,
            "meaning": self.meaning, "reason": self.reason, "warning": self.warning,
            "quantities": _clean(self.quantities),
        }


@dataclass
class ConditionsReport:
    problem: Problem
    eta: float | None
    eps: float | None
    t_end: float | None
    horizon: float
    hypotheses: list = field(default_factory=list)
    seconds: float = 0.0
    notes: list = field(default_factory=list)

    def __getitem__(self, name: str) -> Hypothesis:
        for h in self.hypotheses:
            if h.name == name:
                return h
        raise KeyError(name)

    def to_json(self) -> dict:
        from ._claims import provenance

        return {
            "schema": SCHEMA,
            "problem": self.problem.to_json(),
            "inputs": {"eta": self.eta, "eps": self.eps, "t_end": self.t_end},
            "horizon": self.horizon,
            "conventions": {
                "status": "holds only if margin_lower > 0; fails only if margin_upper < 0 (exact equalities: "
                          "exact rational arithmetic, 'exact': true); else undetermined",
                "margin": "certified bound on the verdict's side: margin_upper if fails, else margin_lower",
                "sources": {"[ACGH19]": "published theorem, published constants",
                            "[derived]": "proved in proofs/ (explicit constants)",
                            "[EC21-informal]": "the paper's informal claim: quantities reported, never 'holds'"},
            },
            "hypotheses": [h.to_json() for h in self.hypotheses],
            "notes": self.notes,
            "seconds": self.seconds,
            "provenance": provenance(),
        }


def _num(x):
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def _clean(v):
    if isinstance(v, dict):
        return {k: _clean(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_clean(x) for x in v]
    if isinstance(v, Fraction):
        return float(v)
    if isinstance(v, (float, np.floating)):
        return _num(v)
    if isinstance(v, np.integer):
        return int(v)
    return v


def _set_min_margin(h: Hypothesis, c_ball, m_ball):
    """Margin ``min(c, m)`` for a hypothesis that needs ``c > 0`` and ``m > 0``."""
    _set_margin(h, lower=min(lo(c_ball), lo(m_ball)), upper=min(hi(c_ball), hi(m_ball)))


def _verdict(mlo, mhi) -> str:
    if mlo is not None and mlo > 0:
        return "holds"
    if mhi is not None and mhi < 0:
        return "fails"
    return "undetermined"


def _set_margin(h: Hypothesis, ball=None, *, lower=None, upper=None, precondition: bool = True):
    """Fill the margin fields from an arb ball (or explicit float bounds) and the status.
    ``precondition`` False forbids 'holds' (e.g. no certified c > 0)."""
    if ball is not None:
        lower, upper = lo(ball), hi(ball)
    h.margin_lower = None if lower is None or not math.isfinite(lower) else claim_down(lower)
    h.margin_upper = None if upper is None or not math.isfinite(upper) else claim_up(upper)
    st = _verdict(h.margin_lower, h.margin_upper)
    if st == "holds" and not precondition:
        st = "undetermined"
    h.status = st
    h.margin = h.margin_upper if st == "fails" else h.margin_lower


# ---------------------------------------------------------------------------
# rigorous scalar / matrix helpers
# ---------------------------------------------------------------------------


def _prec(bits: int):
    """A python-flint precision scope (the arb backend's context)."""
    from .arith import get_context

    return get_context("arb", prec=bits)


def _q(x):
    from flint import fmpq

    if isinstance(x, Fraction):
        return fmpq(x.numerator, x.denominator)
    n, d = float(x).as_integer_ratio()
    return fmpq(n, d)


def _qmat(a: np.ndarray):
    """A float (or Fraction) matrix as an exact ``fmpq_mat``."""
    from flint import fmpq_mat

    a = np.asarray(a)
    rows, cols = a.shape
    return fmpq_mat(rows, cols, [_q(x) for x in a.reshape(-1)])


def _amat(a: np.ndarray, rad: float = 0.0):
    """A float matrix as an ``arb_mat``, every entry widened by ``rad`` (a box)."""
    from flint import arb, arb_mat

    a = np.asarray(a, dtype=np.float64)
    rows, cols = a.shape
    if rad > 0:
        vals = [arb(float(x), rad) for x in a.reshape(-1)]
    else:
        vals = [arb(float(x)) for x in a.reshape(-1)]
    return arb_mat(rows, cols, vals)


def _arb(x):
    from flint import arb, fmpq

    if isinstance(x, Fraction):
        return arb(fmpq(x.numerator, x.denominator))
    if isinstance(x, fmpq):
        return arb(x)
    return arb(x)


def _sumsq(M):
    """Sum of squares of the entries (``fmpq`` exactly or ``arb``)."""
    s = 0
    for e in M.entries():
        s += e * e
    return s


def _nonneg(a):
    """The part of the ball ``a`` that is >= 0 (``a`` is known to enclose a nonnegative number)."""
    from flint import arb

    if a.lower() >= 0:
        return a
    u = a.upper()
    return arb(u / 2, u / 2) if u >= 0 else arb(0)


def _sqrt(a):
    from flint import arb, fmpq

    if isinstance(a, fmpq):
        if a == 0:
            return arb(0)
        a = arb(a)
    elif isinstance(a, int):
        a = arb(a)
    return _nonneg(a).sqrt()


def _hull(a_lo, a_hi):
    """Smallest ball containing both balls."""
    return a_lo.union(a_hi)


def _pos_power(a, p):
    """``a^p`` for a ball ``a >= 0`` and rational ``p > 0`` (the lower end clamped at 0)."""
    from flint import arb

    a = _nonneg(a)
    if a.upper() <= 0:
        return arb(0)
    pe = _arb(p)
    if a.lower() > 0:
        return a ** pe
    return _hull(arb(0), arb(a.upper()) ** pe)


def _products_cost(dims) -> float:
    N = len(dims) - 1
    cost = sum(dims[j + 1] ** 2 * dims[j] + dims[j] ** 2 * dims[j + 1] for j in range(N))
    cost += sum(dims[j + 1] * dims[j] * dims[0] for j in range(1, N))
    return float(cost)


def _exact_ok(problem: Problem) -> bool:
    return _products_cost(problem.dims) <= MAX_EXACT_FLOPS


def _layer_mats(problem: Problem, exact: bool):
    return [_qmat(w) if exact else _amat(w) for w in problem.weights]


def _end_to_end(mats):
    P = mats[0]
    for M in mats[1:]:
        P = M * P
    return P


# ---------------------------------------------------------------------------
# the target Phi (whitened loss, or whitened data)
# ---------------------------------------------------------------------------


def _target(problem: Problem):
    """``(Phi as fmpq_mat, None)`` or ``(None, reason)``."""
    from flint import fmpq_mat

    loss = problem.loss
    if not isinstance(loss, SquareLoss):
        return _qmat(loss.target), None
    Sxx, Syx, _ = loss.exact_stats
    d0 = Sxx.nrows()
    eye = fmpq_mat(d0, d0)
    for i in range(d0):
        eye[i, i] = 1
    if Sxx == eye:
        return Syx, None
    return None, ("data loss with non-whitened inputs (X X^T/m != I exactly): no induced target Phi, "
                  "ACGH19's whitened theorem does not apply")


def _pd_certified(G, s) -> bool:
    """True only if ``G - s I`` is certainly positive definite (``G`` an ``fmpq_mat``,
    ``s`` an ``fmpq``): LDL^T elimination in Arb balls, which enclose the exact
    pivots; all pivots certainly > 0 iff PD (Sylvester)."""
    from flint import arb

    n = G.nrows()
    A = [[arb(G[i, j] - (s if i == j else 0)) for j in range(i + 1)] for i in range(n)]
    for k in range(n):
        dk = A[k][k]
        if not (dk > 0):
            return False
        for i in range(k + 1, n):
            lik = A[i][k] / dk
            row_i = A[i]
            for j in range(k + 1, i + 1):
                row_i[j] = row_i[j] - lik * A[j][k]
    return True


def _sigma_min_enclosure(Phi):
    """Arb ball containing ``sigma_min(Phi)`` (the ``min(d_N, d_0)``-th singular
    value), or ``(None, reason)``."""
    from flint import fmpq

    r, c = Phi.nrows(), Phi.ncols()
    Gram = Phi * Phi.transpose() if r <= c else Phi.transpose() * Phi
    n = Gram.nrows()
    if n > MAX_LDL:
        return None, f"Gram matrix of size {n} exceeds the verified eigenvalue bound's limit ({MAX_LDL})"
    Gf = np.array([[float(Gram[i, j]) for j in range(n)] for i in range(n)])
    w, V = np.linalg.eigh(Gf)
    lam = float(w[0])
    # upper bound: exact Rayleigh quotient of the float eigenvector
    x = [_q(v) for v in V[:, 0]]
    num, den = fmpq(0), fmpq(0)
    for i in range(n):
        den += x[i] * x[i]
        acc = fmpq(0)
        for j in range(n):
            acc += Gram[i, j] * x[j]
        num += x[i] * acc
    upper = num / den
    # lower bound: largest certified shift
    lower = fmpq(0)
    scale = max(abs(float(w[-1])), 1e-300)
    if lam > 0:
        for k in range(10):
            cand = lam - scale * 1e-13 * 8.0**k
            if cand <= 0:
                break
            cq = _q(cand)
            if _pd_certified(Gram, cq):
                lower = cq
                break
    if upper < lower:  # impossible mathematically; defensive
        upper = lower
    return _hull(_sqrt(lower), _sqrt(upper)), None


# ---------------------------------------------------------------------------
# Hessian quadratic form on a box (certified lower bounds of lambda_max)
# ---------------------------------------------------------------------------


def _loss_and_hess_form_box(problem: Problem, x: np.ndarray, rad: float, v: np.ndarray | None):
    """Arb enclosures, valid for every point ``z`` of the box ``|z_i - x_i| <= rad``, of
    ``f(z)`` and (if ``v`` is given) ``Hf(z)[v, v] / |v|^2`` (S2.2 via the order-2
    coefficient of ``f(z + s v)``: ``Hf[v,v] = Hl[P_1,P_1] + 2 <G, P_2>``)."""
    from flint import arb, arb_mat

    dims = problem.dims
    Ws = [_amat(w, rad) for w in unflatten(np.asarray(x, dtype=np.float64), dims)]
    loss = problem.loss
    square = isinstance(loss, SquareLoss)
    if square:
        Sxx, Syx, cc = loss.exact_stats
        Sxx_a, Syx_a, c_a = arb_mat(Sxx), arb_mat(Syx), arb(cc)
    else:
        Phi_a = _amat(loss.target)
    if v is None:
        P0 = _end_to_end(Ws)
        if square:
            val = (P0 * Sxx_a * P0.transpose()).trace() / 2 - (P0 * Syx_a.transpose()).trace() + c_a
        else:
            val = _sumsq(P0 - Phi_a) / 2
        return val, None
    Vs = [_amat(w) for w in unflatten(np.asarray(v, dtype=np.float64), dims)]
    P0, P1, P2 = Ws[0], Vs[0], None
    for W, V in zip(Ws[1:], Vs[1:]):
        n2 = W * P2 + V * P1 if P2 is not None else V * P1
        P0, P1, P2 = W * P0, W * P1 + V * P0, n2
    if square:
        G = P0 * Sxx_a - Syx_a
        hl = _inner(P1 * Sxx_a, P1)
        val = (P0 * Sxx_a * P0.transpose()).trace() / 2 - (P0 * Syx_a.transpose()).trace() + c_a
    else:
        G = P0 - Phi_a
        hl = _sumsq(P1)
        val = _sumsq(G) / 2
    form = hl + (2 * _inner(G, P2) if P2 is not None else 0)
    vv = sum(arb(float(t)) ** 2 for t in np.asarray(v, dtype=np.float64))
    return val, form / vv


def _inner(A, B):
    s = 0
    for a, b in zip(A.entries(), B.entries()):
        s += a * b
    return s


def _top_eigvec(problem: Problem, x: np.ndarray):
    """Float estimate of the top Hessian eigenpair (used only as a test vector)."""
    from ._derivatives import Objective

    obj = Objective(problem)
    n = problem.n_params
    if n <= 1500:
        H = obj.hessian(x)
        H = 0.5 * (H + H.T)
        w, V = np.linalg.eigh(H)
        return float(w[-1]), V[:, -1]
    from scipy.sparse.linalg import LinearOperator, eigsh

    op = LinearOperator((n, n), matvec=lambda u: obj.hvp(x, np.asarray(u).reshape(-1)), dtype=np.float64)
    w, V = eigsh(op, k=1, which="LA", tol=1e-8, maxiter=2000)
    return float(w[0]), V[:, 0]


def _lambda_max_lower(problem: Problem, x: np.ndarray, rad: float):
    """Certified lower bound of ``lambda_max(Hf(z))`` for every ``z`` in the box
    around ``x`` (Rayleigh quotient of a float eigenvector, evaluated in Arb), and the
    float estimate of ``lambda_max(Hf(x))``."""
    est, v = _top_eigvec(problem, x)
    if not np.all(np.isfinite(v)) or not np.any(v):
        return -math.inf, est
    _, rq = _loss_and_hess_form_box(problem, x, rad, v)
    return lo(rq), est


# ---------------------------------------------------------------------------
# tube constants: S3.1 (m), S4.5 (a) (beta), gradient norm (G), Lipschitz (gamma)
# ---------------------------------------------------------------------------


def tube_constants(ref, d, s_G: float, gF: float) -> dict:
    """Rigorous bounds over the set where every layer ``Z_l`` is within ``d[l]``
    (Frobenius) of the reference point ``ref`` (a :class:`certify._gap._Ref`:
    spectral bounds ``n_l``, ``pi_{b:a}``, ``g = ||G||_2``), ``gF >= ||G(ref)||_F``,
    ``s_G >= ||Hl||_2`` (1 whitened, ``||Sxx||_2`` data):

    - ``mu >= max(0, -lambda_min(Hf))`` and ``beta >= ||Hf||_2`` (S3.1, S4.5 (a):
      :func:`certify._gap.tube_bounds`);
    - ``grad >= ||grad f||``: ``||grad_j f|| <= ||Z_{N:j+1}||_2 ||G||_F ||Z_{j-1:1}||_2``,
      so ``||grad f|| <= ||G||_F sqrt(sum_j a_j^2)``;
    - ``gamma``: a Lipschitz constant of ``Hf`` on any convex subset
      (proofs/s2_2_hessian_lipschitz.py): ``3 s_G A lambda(C) + g sqrt(6 sum_{a<b<c} K_abc^2)``;
    - ``s3``: the PAPER.md section-3 bound ``(N-1) rho^(N-2) ||G||_F`` (proofs/s3_homogeneous.py).

    Perturbations: ``||Z_{b:a}||_2 <= pi_{b:a} + prod(n+d) - prod n`` and
    ``||G(z) - G(ref)|| <= s_G (prod(n+d) - prod n)`` in both the 2- and the
    Frobenius norm (proofs/s3_1_tube.py (i); one factor of each expanded term is a
    perturbation, bounded in Frobenius norm)."""
    from flint import arb

    from ._s31 import Tube, arb_prec

    N = len(d)
    with arb_prec():
        return _tube_constants(Tube(ref.base, d), ref, s_G, gF, N)


def _tube_constants(tp, ref, s_G, gF, N) -> dict:
    from flint import arb

    mu_b = tp.mu(ref.g, s_G)
    beta_b = tp.beta(mu_b, s_G)
    mu, beta = hi(mu_b), hi(beta_b)
    n, D, pn, dE, lamC = tp.nu, tp.X, tp.pn, tp.dE, tp.lamC
    sG = arb(s_G)
    g2 = arb(ref.g) + sG * dE
    gf = arb(gF) + sG * dE
    A = tp.a2.sqrt()
    k2 = arb(0)
    for a in range(1, N + 1):
        for b in range(a + 1, N + 1):
            for c in range(b + 1, N + 1):
                K = pn(N, c + 1) * pn(c - 1, b + 1) * pn(b - 1, a + 1) * pn(a - 1, 1)
                k2 += K * K
    gamma = 3 * sG * A * lamC + g2 * (6 * k2).sqrt()
    rho = max((n[l] + D[l] for l in range(N)), key=hi)
    s3 = (N - 1) * rho ** (N - 2) * gf if N >= 2 else arb(0)
    return {"mu": mu, "beta": beta, "grad": hi(gf * A), "gamma": hi(gamma), "s3": hi(s3)}


# ---------------------------------------------------------------------------
# the trajectory: GF enclosure on a partition, tube data per segment
# ---------------------------------------------------------------------------


@dataclass
class _Segment:
    t0: Fraction
    t1: Fraction
    center: np.ndarray
    r: float  # enclosure radius at t0
    motion: float  # bound on ||theta(t) - theta(t0)|| on the segment
    rho: float  # r + motion: the trajectory on the segment lies in B(center, rho)
    ref: object
    gF: float
    base: dict = field(default_factory=dict)  # tube constants at radius rho (eps = 0)
    cache: dict = field(default_factory=dict)

    def at(self, eps: float, s_G: float) -> dict:
        if eps not in self.cache:
            N = len(self.ref.n)
            self.cache[eps] = tube_constants(self.ref, [claim_up(self.rho + eps)] * N, s_G, self.gF)
        return self.cache[eps]


@dataclass
class _Trajectory:
    T: Fraction
    segments: list
    points: list  # (t, center, radius, f_lo, f_hi)
    s_G: float


def _s_G(problem: Problem) -> float:
    from ._lossdata import data_bounds

    return data_bounds(problem)[0]


def _g_frobenius(problem: Problem, Ws, ctx) -> float:
    with ctx:
        B = [ctx.matrix(np.ascontiguousarray(W)) for W in Ws]
        P = B[0]
        for b in B[1:]:
            P = b @ P
        if isinstance(problem.loss, SquareLoss):
            eSxx, eSyx, _ = problem.loss.exact_stats
            G = P @ ctx.matrix(fmpq_to_fractions(eSxx)) - ctx.matrix(fmpq_to_fractions(eSyx))
        else:
            G = P - ctx.matrix(np.asarray(problem.loss.target, dtype=np.float64))
        return claim_up(G.norm_f_upper())


def _trajectory(problem: Problem, T: Fraction, times: list) -> _Trajectory:
    from flint import arb

    from ._flow import enclose_flow
    from ._gap import _make_ref
    from .arith import get_context

    enc = enclose_flow(problem, T, checkpoints=times)
    s_G = _s_G(problem)
    ctx = get_context("float64")
    pts = []
    for cp in enc.checkpoints:
        x = np.asarray(cp.center, dtype=np.float64)
        val, _ = _loss_and_hess_form_box(problem, x, float(cp.radius), None)
        pts.append((cp.t, x, float(cp.radius), lo(val), hi(val)))
    segs = []
    for i in range(len(pts) - 1):
        t0, x, r, _, f_hi = pts[i]
        t1, _, _, f_lo_next, _ = pts[i + 1]
        dt = _arb(Fraction(t1) - Fraction(t0))
        drop = arb(f_hi) - arb(f_lo_next)
        motion = hi(_sqrt(dt * _nonneg(drop))) if drop.upper() > 0 else 0.0
        rho = claim_up(hi(arb(r) + arb(motion)))
        Ws = [np.array(w) for w in unflatten(x, problem.dims)]
        ref = _make_ref(0, Ws, problem, ctx)
        seg = _Segment(Fraction(t0), Fraction(t1), x, r, motion, rho, ref, _g_frobenius(problem, Ws, ctx))
        seg.base = tube_constants(ref, [rho] * problem.depth, s_G, seg.gF)
        segs.append(seg)
    return _Trajectory(T, segs, pts, s_G)


def gronwall_J(rates, dts) -> list:
    """``J(t_i) = int_0^{t_i} exp(int_s^{t_i} a) ds`` for the piecewise-constant rate
    ``a = rates[i] >= 0`` on ``[t_i, t_{i+1}]`` (``t_0 = 0``, lengths ``dts``), as Arb balls:
    ``J_{i+1} = exp(a_i dt_i) J_i + (exp(a_i dt_i) - 1)/a_i`` (``dt_i`` when ``a_i = 0``)."""
    from flint import arb

    J = arb(0)
    out = [J]
    for a, dt in zip(rates, dts):
        a = _arb(a) if not isinstance(a, arb) else a
        dt = _arb(Fraction(dt)) if not isinstance(dt, arb) else dt
        if a.upper() <= 0:
            J = J + dt
        else:
            J = (a * dt).exp() * J + (a * dt).expm1() / a
        out.append(J)
    return out


def ec21_bound(traj: _Trajectory, eps: float, eta: float | None = None) -> dict:
    """PAPER.md section 1 [derived] (proofs/ec21_gap_theorem.py) on the certified
    trajectory: constants ``beta`` (sup over the eps-tube), ``G``, per-segment
    ``m_i`` and ``gamma_i``, ``J(t) = int_0^t exp(int_s^t (m + gamma eps/2)) ds``
    (closed form per segment), ``eta_max = eps / (beta (G + beta eps) J(T))`` and,
    for ``eta``, the bound ``beta (G + beta eps) eta J(t_i)`` at the partition times."""
    from flint import arb

    segs = traj.segments
    beta = max(seg.at(eps, traj.s_G)["beta"] for seg in segs)
    G = max(seg.base["grad"] for seg in segs)
    gam = [seg.at(eps, traj.s_G)["gamma"] for seg in segs]
    E = arb(eps)
    B = arb(beta)
    c = B * (arb(G) + B * E)
    rates = [arb(seg.base["mu"]) + arb(g) * E / 2 for seg, g in zip(segs, gam)]
    Jvals = gronwall_J(rates, [seg.t1 - seg.t0 for seg in segs])
    Js = [(segs[0].t0, Jvals[0])] + [(seg.t1, j) for seg, j in zip(segs, Jvals[1:])]
    J = Jvals[-1]
    eta_max = E / (c * J) if J.lower() > 0 else arb(math.inf)
    out = {
        "eps": eps, "beta": beta, "G": G, "gamma_max": max(gam),
        "m_max": max(seg.base["mu"] for seg in segs), "c": hi(c), "J_T": hi(J),
        "eta_max": eta_max, "eta_max_lower": lo(eta_max),
    }
    if eta is not None:
        H = arb(eta)
        out["bounds"] = [(t, hi(c * H * j)) for t, j in Js]
        out["applies"] = hi(c * H * J) <= eps and lo(eta_max) >= eta
    return out


# ---------------------------------------------------------------------------
# the hypotheses
# ---------------------------------------------------------------------------


def _balancedness(problem: Problem, exact: bool):
    """``delta`` as an Arb ball (exactly 0 when exact arithmetic finds 0) and the per-pair balls."""
    from flint import arb

    mats = _layer_mats(problem, exact)
    per = []
    for j in range(problem.depth - 1):
        Wj, Wn = mats[j], mats[j + 1]
        per.append(_sqrt(_sumsq(Wn.transpose() * Wn - Wj * Wj.transpose())))
    if not per or all(d.is_zero() for d in per):
        return arb(0), per
    mlo = max(0.0, max(lo(d) for d in per))  # max of balls: [max of lower ends, max of upper ends]
    mhi = max(hi(d) for d in per)
    return _hull(arb(mlo), arb(mhi)), per


def check_conditions(problem, eta=None, eps=None, t_end=None, *, trajectory: bool = True,
                     segments: int = SEGMENTS) -> "ConditionsReport":
    """Certified verdicts on the paper's hypotheses for ``problem`` (module docstring).

    ``eta``: GD step size (optional); ``eps``: a loss level for ACGH19's iteration
    count and the radius of the GD-GF distance for the EC21 theorem (optional: the
    theorem then uses the best ``eps`` on a grid); ``t_end``: horizon ``T`` of the
    trajectory-based quantities (default 1; with ``eta``, ``floor(T/eta)`` GD steps).
    ``trajectory=False`` skips everything that needs the GF enclosure or GD."""
    t_start = time.perf_counter()
    problem = load_problem(problem)
    eta = _check_pos(eta, "eta")
    eps = _check_pos(eps, "eps")
    t_end = _check_pos(t_end, "t_end")
    if not isinstance(segments, int) or segments < 1:
        raise UsageError(f"segments must be an integer >= 1, got {segments!r}")
    with _prec(PREC):
        rep = _run(problem, eta, eps, t_end, trajectory, segments)
    rep.seconds = time.perf_counter() - t_start
    return rep


def _check_pos(x, name):
    from ._gd import check_positive

    return None if x is None else check_positive(x, name)


def _run(problem: Problem, eta, eps, t_end, want_traj, nseg) -> ConditionsReport:
    from flint import arb, fmpq

    N = problem.depth
    exact = _exact_ok(problem)
    notes = []
    if not exact:
        notes.append("problem too large for exact rational products: Arb balls at 128 bits instead "
                     "(exact equalities cannot be confirmed)")
    # ---- horizon and GD steps ------------------------------------------------
    T_user = Fraction(t_end if t_end is not None else DEFAULT_T)
    steps = None
    if eta is not None:
        ratio = float(T_user) / eta
        steps = max(1, int(round(ratio)) if abs(ratio - round(ratio)) <= 1e-9 * max(1.0, ratio) else int(ratio))
    eta_q = Fraction(eta) if eta is not None else None
    run_gap = want_traj and steps is not None and steps <= MAX_GAP_STEPS
    T = eta_q * steps if run_gap else T_user
    rep = ConditionsReport(problem, eta, eps, t_end, float(T), notes=notes)
    H = {}

    # ---- balancedness ----------------------------------------------------------
    delta, per = _balancedness(problem, exact)
    h = Hypothesis("balancedness", "[ACGH19]", "undetermined",
                   "margin -delta, delta = max_j ||W_{j+1}^T W_{j+1} - W_j W_j^T||_F (the delta of ACGH19); "
                   "holds iff the network is exactly balanced (delta = 0 in exact arithmetic)")
    h.quantities = {"delta_upper": claim_up(hi(delta)), "delta_lower": claim_down(max(0.0, lo(delta))),
                    "per_layer_pair_upper": [claim_up(hi(d)) for d in per]}
    if exact and delta.is_zero():
        h.status, h.margin, h.margin_lower, h.margin_upper, h.exact = "holds", 0.0, 0.0, 0.0, True
    else:
        _set_margin(h, -delta, precondition=False)
    H[h.name] = h

    # ---- deficiency margin --------------------------------------------------------
    Phi, why = _target(problem)
    c_ball = sig = R = phiF = None
    h = Hypothesis("deficiency_margin", "[ACGH19]", "undetermined",
                   "margin c = sigma_min(Phi) - ||W_{N:1}(0) - Phi||_F; ACGH19 needs c > 0")
    if Phi is None:
        h.reason = why
    else:
        sig, why2 = _sigma_min_enclosure(Phi)
        if sig is None:
            h.reason = why2
        else:
            mats = _layer_mats(problem, exact)
            E2E = _end_to_end(mats)
            Phi_m = Phi if exact else _phi_arb(Phi)
            R2 = _sumsq(E2E - Phi_m)
            R = _sqrt(R2)
            phiF = _sqrt(_sumsq(Phi))
            c_ball = sig - R
            _set_margin(h, c_ball)
            h.exact = False
            h.quantities = {
                "sigma_min_Phi": [claim_down(lo(sig)), claim_up(hi(sig))],
                "distance_W0_Phi": [claim_down(lo(R)), claim_up(hi(R))],
                "Phi_frobenius": [claim_down(lo(phiF)), claim_up(hi(phiF))],
                "target": "Phi" if not isinstance(problem.loss, SquareLoss) else "Syx (whitened data)",
            }
            l0 = _arb(R2) / 2 if isinstance(R2, fmpq) else _nonneg(R2) / 2
    H[h.name] = h

    # ---- ACGH19 Theorem 1 ------------------------------------------------------------
    hb = Hypothesis("acgh19_balancedness", "[ACGH19]", "undetermined",
                    "margin min(c, delta_max - delta), delta_max = c^2 / (256 N^3 ||Phi||_F^(2(N-1)/N)), c the "
                    "deficiency margin (ACGH19 Theorem 1 needs c > 0 and delta <= delta_max)")
    hs = Hypothesis("acgh19_step_size", "[ACGH19]", "undetermined",
                    "margin min(c, eta_max - eta), eta_max = c^((4N-2)/N) / (6144 N^3 ||Phi||_F^((6N-4)/N)); then "
                    "l(t) <= eps for t >= log(l(0)/eps) / (eta c^(2(N-1)/N)) iterations (ACGH19 Theorem 1)")
    if c_ball is None:
        hb.reason = hs.reason = "needs the deficiency margin (undetermined: see deficiency_margin)"
    elif phiF.is_zero():
        hb.reason = hs.reason = "Phi = 0: sigma_min(Phi) = 0, no deficiency margin c > 0"
        hb.status = hs.status = "fails"
    else:
        c_pos_known = c_ball.lower() > 0
        cp = _nonneg(c_ball) if c_ball.upper() > 0 else arb(0)  # c_+ = max(c, 0)
        NN = arb(N) ** 3
        dmax = cp * cp / (256 * NN * _pos_power(phiF, Fraction(2 * (N - 1), N)))
        emax = _pos_power(cp, Fraction(4 * N - 2, N)) / (6144 * NN * _pos_power(phiF, Fraction(6 * N - 4, N)))
        # margin min(c, threshold - value): the theorem needs c > 0 AND the inequality
        _set_min_margin(hb, c_ball, dmax - delta)
        hb.quantities = {"delta_max": [claim_down(max(0.0, lo(dmax))), claim_up(hi(dmax))],
                         "delta": [claim_down(max(0.0, lo(delta))), claim_up(hi(delta))],
                         "c": [claim_down(lo(c_ball)), claim_up(hi(c_ball))]}
        hs.quantities = {"eta_max": [claim_down(max(0.0, lo(emax))), claim_up(hi(emax))],
                         "largest_admissible_eta": claim_down(lo(emax)) if c_pos_known else None,
                         "c": [claim_down(lo(c_ball)), claim_up(hi(c_ball))]}
        if eta is not None:
            _set_min_margin(hs, c_ball, emax - arb(eta))
        else:
            _set_margin(hs, lower=None, upper=hi(c_ball))  # only c is known: fails iff c < 0
            hs.reason = "no eta given: the largest admissible eta is reported"
        if c_ball.upper() < 0:
            for hh in (hb, hs):
                hh.reason = "no deficiency margin c > 0 (certified c < 0)"
        # iteration counts (valid when both conditions hold)
        if c_pos_known:
            rate_base = _pos_power(c_ball, Fraction(2 * (N - 1), N))
            iters = {}
            for label, e in (("at_eta", eta if hs.status == "holds" else None), ("at_largest_eta", lo(emax))):
                if e is None or e <= 0 or eps is None:
                    iters[label] = None
                    continue
                ratio = l0 / arb(eps)
                if ratio.upper() <= 1:
                    iters[label] = 0
                else:
                    k = hi(_nonneg(ratio.log()) / (arb(e) * rate_base))
                    iters[label] = int(math.ceil(k)) if math.isfinite(k) else None
            hs.quantities["eps_loss"] = eps
            hs.quantities["guarantee_applies"] = hb.status == "holds" and (eta is None or hs.status == "holds")
            hs.quantities["iterations_for_eps"] = iters
            hs.quantities["l0"] = [claim_down(lo(l0)), claim_up(hi(l0))]
            if eps is None:
                hs.quantities["iterations_note"] = "give eps (a loss level) for the iteration count"
    H[hb.name] = hb
    H[hs.name] = hs

    # ---- scalar output -----------------------------------------------------------------
    H["scalar_output_bad_set"] = _scalar_output(problem, Phi, why, exact, H["balancedness"])

    # ---- trajectory-based ----------------------------------------------------------------
    traj = gap = None
    traj_reason = gap_reason = None
    if not want_traj:
        traj_reason = gap_reason = "skipped (trajectory=False)"
    else:
        times = sorted({T * Fraction(k, nseg) for k in range(1, nseg + 1)})
        if run_gap:
            every = max(1, steps // 20)
            ks = sorted(set(list(range(0, steps + 1, every)) + [steps]))
            times = sorted(set(times) | {eta_q * k for k in ks if k > 0})
            try:
                from ._gap import certify_gap

                gap = certify_gap(problem, eta, steps, every=every)
            except (BlowUpError, EnclosureError) as e:
                gap_reason = f"gap certificate failed: {e}"
        elif steps is not None:
            gap_reason = f"{steps} GD steps exceed {MAX_GAP_STEPS}: give a shorter --t-end"
        else:
            gap_reason = "no eta given"
        try:
            traj = _trajectory(problem, T, times)
        except (BlowUpError, EnclosureError, TooLargeError) as e:
            traj_reason = f"GF enclosure failed: {e}"
    ec = _ec21_hypothesis(traj, traj_reason, eps, eta, gap, gap_reason)
    eps_used = ec.quantities.get("eps")
    H["smoothness"] = _smoothness(problem, traj, traj_reason, eps_used, eta)
    H["curvature"] = _curvature(problem, traj, traj_reason)
    H["edge_of_stability"] = _edge_of_stability(problem, eta, gap, gap_reason)
    H["ec21_gap_theorem"] = ec
    rep.hypotheses = [H[n] for n in NAMES]
    return rep


def _scalar_output(problem: Problem, Phi, why, exact: bool, bal: Hypothesis) -> Hypothesis:
    from flint import arb, fmpq

    h = Hypothesis("scalar_output_bad_set", "[derived]", "undetermined",
                   "margin: angle (radians) between W_{N:1}(0) and -Phi; the ray W = -x Phi, x > 0, flows into "
                   "the saddle at 0 (balanced, whitened, d_N = 1); holds iff the angle is certainly > 0, "
                   "fails iff W_{N:1}(0) lies exactly on the ray (or is 0)")
    dims = problem.dims
    if dims[-1] != 1:
        h.reason = f"not applicable: d_N = {dims[-1]} (scalar output needs d_N = 1)"
        return h
    if problem.depth == 1:
        h.reason = "not applicable: N = 1 (convex in W_1; no saddle, no bad set)"
        return h
    if Phi is None:
        h.reason = why
        return h
    mats = _layer_mats(problem, exact)
    w = _end_to_end(mats)
    Phi_m = Phi if exact else _phi_arb(Phi)
    wl, pl = list(w.entries()), list(Phi_m.entries())
    dot = sum((a * b for a, b in zip(wl, pl)), fmpq(0) if exact else arb(0))
    ww = _sumsq(w)
    pp = _sumsq(Phi_m)
    cross = ww * pp - dot * dot  # Lagrange identity: sum_{i<j} (w_i Phi_j - w_j Phi_i)^2 >= 0
    if exact and pp == 0:
        h.reason = "Phi = 0: no bad ray"
        return h
    if exact and ww == 0:
        h.status, h.margin, h.margin_lower, h.margin_upper, h.exact = "fails", 0.0, 0.0, 0.0, True
        h.reason = "W_{N:1}(0) = 0: the initialisation is the saddle itself"
        return h
    s = _sqrt(cross)
    ang = arb.atan2(s, -_arb(dot) if exact else -dot)
    if exact and cross == 0 and dot < 0:
        h.status, h.margin, h.margin_lower, h.margin_upper, h.exact = "fails", 0.0, 0.0, 0.0, True
        h.reason = "W_{N:1}(0) lies exactly on the bad ray -x Phi, x > 0"
    else:
        _set_margin(h, _nonneg(ang))
        if h.status == "undetermined" and h.margin_upper is not None and h.margin_upper <= 0:
            h.margin_upper = 0.0
    nPhi = _sqrt(pp)
    nW = _sqrt(ww)
    # distance from W_{N:1}(0) to the closed ray {-x Phi : x >= 0}
    if dot < 0:
        dist = s / nPhi
    elif dot >= 0:
        dist = nW
    else:
        dist = _hull(s / nPhi, nW)
    h.quantities = {
        "angle": [claim_down(max(0.0, lo(ang))), claim_up(hi(ang))],
        "angle_degrees_estimate": float(ang.mid()) * 180 / math.pi,
        "distance_to_ray": [claim_down(max(0.0, lo(dist))), claim_up(hi(dist))],
        "norm_W0": claim_up(hi(nW)),
        "exactly_balanced": bal.status == "holds",
        "d0": dims[0],
    }
    notes = []
    if bal.status != "holds":
        notes.append("the initialisation is not exactly balanced: the ray statement is proved for exactly "
                     "balanced initialisations only")
    if dims[0] == 1:
        notes.append("d_0 = 1: the bad set is a half-line of R^1, not a null set")
    if notes:
        h.reason = "; ".join(notes)
    return h


def _phi_arb(Phi):
    from flint import arb_mat

    return arb_mat(Phi)


def _ec21_hypothesis(traj, traj_reason, eps, eta, gap, gap_reason) -> Hypothesis:
    from flint import arb

    h = Hypothesis("ec21_gap_theorem", "[derived]", "undetermined",
                   "margin eta_max - eta: PAPER.md section 1's explicit theorem (proofs/ec21_gap_theorem.py) "
                   "with certified beta, gamma, G, m on the eps-tube of the certified GF; then "
                   "||theta_k - theta(k eta)|| <= beta (G + beta eps) eta J(k eta) <= eps")
    if traj is None:
        h.reason = traj_reason
        return h
    grid = [eps] if eps is not None else EPS_GRID
    results = [ec21_bound(traj, e, eta) for e in grid]
    if eps is not None:
        best = results[0]
    elif eta is not None and any(r["applies"] for r in results):
        best = next(r for r in results if r["applies"])  # smallest eps admitting eta: tightest bound
    else:
        best = max(results, key=lambda r: r["eta_max_lower"])
    q = {
        "eps": best["eps"], "eps_given": eps is not None,
        "beta": best["beta"], "G": best["G"], "gamma_max": best["gamma_max"], "m_max": best["m_max"],
        "c": best["c"], "J_T": best["J_T"], "horizon": float(traj.T),
        "largest_eta": claim_down(best["eta_max_lower"]),
    }
    if eps is None:
        q["eps_grid"] = [[r["eps"], claim_down(r["eta_max_lower"])] for r in results]
    h.quantities = q
    if eta is None:
        h.reason = "no eta given: the largest eta the theorem admits for eps is reported"
        return h
    _set_margin(h, best["eta_max"] - arb(eta), upper=None)
    h.margin_upper = None
    if h.status == "fails":  # cannot happen (upper unknown); kept for clarity
        h.status = "undetermined"
    if not best["applies"]:
        h.status = "undetermined"
        h.margin = h.margin_lower
        h.reason = ("eta exceeds the largest eta the theorem admits with these certified constants "
                    "(sharper constants might admit it): no a-priori bound")
        return h
    bounds = dict(best["bounds"])
    q["bound_T"] = bounds[traj.T]
    if gap is None:
        h.reason = f"no certified gap to compare with ({gap_reason})"
        return h
    rows = []
    for c in gap.checkpoints:
        b = bounds.get(c.t)
        rows.append({"k": c.k, "t": float(c.t), "bound": b, "gap_lower": c.gap_lower, "gap_upper": c.gap_upper})
    q["checkpoints"] = rows
    last = gap.checkpoints[-1]
    q["gap_upper_T"] = last.gap_upper
    q["gap_lower_T"] = last.gap_lower
    q["slack_T"] = bounds[traj.T] / last.gap_upper if last.gap_upper > 0 else None
    q["slack_note"] = "bound(T) / certified gap upper bound at T (>= 1 when the a-priori bound is sound)"
    return h


def _sample_points(traj, k: int = 5):
    pts = traj.points
    idx = sorted({0, len(pts) - 1} | {round(i * (len(pts) - 1) / (k - 1)) for i in range(k)})
    return [pts[i] for i in idx]


def _smoothness(problem: Problem, traj, traj_reason, eps, eta) -> Hypothesis:
    from flint import arb

    h = Hypothesis("smoothness", "[derived]", "undetermined",
                   "margin 2 - eta beta_D, beta_D = sup ||Hf||_2 over the tube D (eps around the GF on [0,T]); "
                   "certified upper bound beta from S4.5 (a) on the tube, lower bound from certified "
                   "lambda_max(Hf) at points of D")
    if traj is None:
        h.reason = traj_reason
        return h
    beta = max(seg.at(eps, traj.s_G)["beta"] for seg in traj.segments)
    lmax_lo, est = -math.inf, -math.inf
    for (t, x, r, _, _) in _sample_points(traj):
        l_lo, l_est = _lambda_max_lower(problem, x, r)
        lmax_lo, est = max(lmax_lo, l_lo), max(est, l_est)
    h.quantities = {"region": f"all points within eps = {eps:g} of the GF trajectory on [0, {float(traj.T):g}]",
                    "eps": eps, "beta_upper": beta, "lambda_max_lower": lmax_lo,
                    "lambda_max_estimate_on_trajectory": est, "two_over_beta": claim_down(lo(2 / arb(beta)))}
    if eta is None:
        h.reason = "no eta given: beta and 2/beta (the largest descent-lemma step on D) are reported"
        return h
    E = arb(eta)
    _set_margin(h, lower=lo(2 - E * arb(beta)), upper=hi(2 - E * arb(lmax_lo)) if math.isfinite(lmax_lo) else None)
    return h


def _curvature(problem: Problem, traj, traj_reason) -> Hypothesis:
    from flint import arb

    h = Hypothesis("curvature", "[EC21-informal]", "undetermined",
                   "reported, not a verdict: m(t) = max(0, -lambda_min(Hf(theta(t)))) along the certified GF "
                   "(S3.1 on the tube), int_0^T m, and the section-3 [derived] bound (N-1) rho^(N-2) ||grad l||_F; "
                   "EC21: along GF from near-zero init the curvature is almost non-negative")
    h.reported = True
    if traj is None:
        h.reason = traj_reason
        return h
    int_m = arb(0)
    int_s3 = arb(0)
    seg_list = []
    for seg in traj.segments:
        dt = _arb(seg.t1 - seg.t0)
        int_m += arb(seg.base["mu"]) * dt
        int_s3 += arb(seg.base["s3"]) * dt
        seg_list.append([float(seg.t0), float(seg.t1), seg.base["mu"]])
    th0 = problem.theta0
    h.quantities = {
        "m_max_upper": max(seg.base["mu"] for seg in traj.segments),
        "int_m_upper": claim_up(hi(int_m)),
        "int_s3_bound_upper": claim_up(hi(int_s3)),
        "m_segments": seg_list,
        "init_scale_theta0_norm": float(np.linalg.norm(th0)),
        "init_scale_max_layer_norm2_estimate": max(float(np.linalg.norm(w, 2)) for w in problem.weights),
        "horizon": float(traj.T),
    }
    h.reason = "[EC21-informal]: quantities reported only (the informal claim has no verdict)"
    return h


def _edge_of_stability(problem: Problem, eta, gap, gap_reason) -> Hypothesis:
    from flint import arb

    h = Hypothesis("edge_of_stability", "[derived]", "undetermined",
                   "margin 2 - eta max_{k<K} lambda_max(Hf(theta_k)) along exact GD (K = T/eta steps): below 0 "
                   "GD is in the edge-of-stability regime where GF does not describe it")
    x0 = problem.theta0
    l0_lo, l0_est = _lambda_max_lower(problem, x0, 0.0)
    q = {"lambda_max_theta0_lower": l0_lo, "lambda_max_theta0_estimate": l0_est,
         "two_over_lambda_max_theta0_estimate": (2 / l0_est) if l0_est > 0 else None}
    h.quantities = q
    if eta is None:
        h.reason = "no eta given"
        return h
    E = arb(eta)
    lam_lo, lam_est, where = l0_lo, l0_est, 0
    upper_beta = None
    if gap is not None:
        upper_beta = max(s["beta_r"] for s in gap.segments)
        cps = [c for c in gap.checkpoints if c.k < gap.steps]  # the iterates GD steps from
        idx = sorted({round(i * (len(cps) - 1) / 5) for i in range(6)})
        for i in idx:
            c = cps[i]
            l_lo, l_est = _lambda_max_lower(problem, np.asarray(c.theta), c.r)
            if l_lo > lam_lo:
                lam_lo, where = l_lo, c.k
            lam_est = max(lam_est, l_est)
        q["beta_along_gd_upper"] = upper_beta
    else:
        h.reason = f"upper bound along GD unavailable ({gap_reason}); only theta_0 is checked"
    q["lambda_max_lower_along_gd"] = lam_lo
    q["eta_lambda_max_estimate"] = eta * lam_est
    lower = lo(2 - E * arb(upper_beta)) if upper_beta is not None else None
    upper = hi(2 - E * arb(lam_lo)) if math.isfinite(lam_lo) else None
    _set_margin(h, lower=lower, upper=upper)
    if h.status == "fails":
        h.warning = (f"EDGE OF STABILITY: eta * lambda_max(Hf(theta_k)) > 2 (certified, k = {where}): GD is not "
                     "a discretisation of GF here; GD-GF gap bounds say nothing useful")
    elif eta * lam_est > 2:
        h.warning = (f"EDGE OF STABILITY (estimate): eta * lambda_max ~ {eta * lam_est:.3g} > 2 along GD "
                     "(not certified)")
    return h


SHORT = {
    "balancedness": "-delta, delta = max_j ||W_{j+1}^T W_{j+1} - W_j W_j^T||_F; holds iff exactly balanced",
    "deficiency_margin": "c = sigma_min(Phi) - ||W_{N:1}(0) - Phi||_F > 0",
    "acgh19_balancedness": "min(c, delta_max(c) - delta): ACGH19 Thm 1 balancedness condition",
    "acgh19_step_size": "min(c, eta_max(c) - eta): ACGH19 Thm 1 step-size condition",
    "smoothness": "2 - eta beta_D, beta_D = sup ||Hf|| on the eps-tube D around GF",
    "curvature": "m(t), int_0^T m along GF (reported only)",
    "edge_of_stability": "2 - eta max_k lambda_max(Hf(theta_k)) along GD (< 0: edge of stability)",
    "ec21_gap_theorem": "eta_max(eps) - eta: the explicit GD-GF gap theorem applies",
    "scalar_output_bad_set": "angle between W_{N:1}(0) and -Phi (d_N = 1): distance from the bad ray",
}


def format_hypotheses(rep: ConditionsReport) -> list:
    """Rows (name, source, status, margin, what) for the CLI table."""
    rows = []
    for h in rep.hypotheses:
        m = "-" if h.margin is None else f"{h.margin:.6g}"
        if h.exact and h.margin is not None:
            m += " (exact)"
        rows.append((h.name, h.source, h.status.upper() if h.status == "fails" else h.status, m,
                     SHORT.get(h.name, h.meaning)))
    return rows
