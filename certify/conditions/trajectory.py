"""The certified GF trajectory and the bounds along it: the validated enclosure
on a partition of ``[0, T]`` (S4.3), each segment's motion bound and tube
constants (S3.1 ``m``, S4.5 (a) ``beta``, the gradient norm ``G``, the Lipschitz
constant ``gamma`` of ``Hf``, the section-3 bound), the Gronwall integral ``J``
and PAPER.md section 1's explicit GD-GF theorem (:func:`ec21_bound`).

Partition ``0 = t_0 < ... < t_M = T``, enclosure ``theta(t_i) in B(c_i, r_i)``;
on ``[t_i, t_{i+1}]``
``||theta(t) - theta(t_i)|| <= sqrt((t_{i+1} - t_i)(f_up(t_i) - f_lo(t_{i+1})))``
(Cauchy-Schwarz and ``int ||theta'||^2 = f(t_i) - f(t)``, ``f`` non-increasing
along GF; ``f_up``/``f_lo`` interval evaluations of the loss on the enclosing
boxes), so every trajectory point of segment ``i`` lies within
``rho_i = r_i + motion_i`` of ``c_i``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np

from .._claims import claim_up, hi, lo
from .._problem import Problem, unflatten
from .._losskinds import fmpq_to_fractions
from ._hessian import _loss_and_hess_form_box
from .._claims import as_arb
from ._numeric import _nonneg, _sqrt, certainly_nonpositive, certainly_positive, possibly_positive


def tube_constants(ref, d, s_G: float, gF: float, hess_lip: float = 0.0) -> dict:
    """Rigorous bounds over the set where every layer ``Z_l`` is within ``d[l]``
    (Frobenius) of the reference point ``ref`` (a ``certify._gap._Ref``:
    spectral bounds ``n_l``, ``pi_{b:a}``, ``g = ||G||_2``), ``gF >= ||G(ref)||_F``,
    ``s_G >= ||Hl||_2`` (1 whitened, ``||Sxx||_2`` data; the kernel losses' ``s_G`` of
    gap-v2.md section 8, which is also ``>= sup ||Hl||_2``), ``hess_lip`` a Lipschitz constant
    of ``W -> Hl(W)`` (0 for the square losses, whose ``Hl`` is constant; the kernel losses'
    ``hessian_lipschitz()``, lemma S2.2-ce-lip):

    - ``mu >= max(0, -lambda_min(Hf))`` and ``beta >= ||Hf||_2`` (S3.1, S4.5 (a):
      ``certify._gap.tube_bounds``);
    - ``grad >= ||grad f||``: ``||grad_j f|| <= ||Z_{N:j+1}||_2 ||G||_F ||Z_{j-1:1}||_2``,
      so ``||grad f|| <= ||G||_F sqrt(sum_j a_j^2)``;
    - ``gamma``: a Lipschitz constant of ``Hf`` on any convex subset
      (proofs/s2_2_hessian_lipschitz.py): ``3 s_G A lambda(C) + g sqrt(6 sum_{a<b<c} K_abc^2)``,
      plus ``hess_lip A^3`` when ``Hl`` is not constant: the lemma's third derivative
      ``D^3 f[w,u,u]`` gains the term ``D^3 l[E_w, E_u, E_u]`` (differentiating ``Hl(P(z))`` along
      ``w``: ``P' = E_w``), and ``|D^3 l[A,B,B]| <= hess_lip ||A||_F ||B||_F^2`` (S2.2-ce-lip (i)) with
      ``||E_w||_F <= A |w|``, ``||E_u||_F <= A |u|``; the other terms are the lemma's, with
      ``|Hl[X,Y]| <= s_G ||X||_F ||Y||_F`` and ``G' = Hl[E_w]`` for any twice differentiable loss;
    - ``s3``: the PAPER.md section-3 bound ``(N-1) rho^(N-2) ||G||_F`` (proofs/s3_homogeneous.py).

    Perturbations: ``||Z_{b:a}||_2 <= pi_{b:a} + prod(n+d) - prod n`` and
    ``||G(z) - G(ref)|| <= s_G (prod(n+d) - prod n)`` in both the 2- and the
    Frobenius norm (proofs/s3_1_tube.py (i); one factor of each expanded term is a
    perturbation, bounded in Frobenius norm)."""
    from ..bounds.s31 import Tube, arb_prec

    N = len(d)
    with arb_prec():
        return _tube_constants(Tube(ref.base, d), ref, s_G, gF, N, hess_lip)


def _tube_constants(tp, ref, s_G, gF, N, hess_lip=0.0) -> dict:
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
    if hess_lip:  # kernel losses: D^3 l[E_w, E_u, E_u] (see tube_constants)
        gamma = gamma + arb(hess_lip) * A ** 3
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
    hess_lip: float = 0.0  # Lipschitz constant of Hl (kernel losses; 0: Hl constant)

    def at(self, eps: float, s_G: float) -> dict:
        if eps not in self.cache:
            N = len(self.ref.n)
            self.cache[eps] = tube_constants(self.ref, [claim_up(self.rho + eps)] * N, s_G, self.gF, self.hess_lip)
        return self.cache[eps]


@dataclass
class _Trajectory:
    T: Fraction
    segments: list
    points: list  # (t, center, radius, f_lo, f_hi)
    s_G: float


def _s_G(problem: Problem) -> float:
    from .._lossdata import data_bounds

    return data_bounds(problem)[0]


def _g_frobenius(problem: Problem, Ws, ctx) -> float:
    with ctx:
        B = [ctx.matrix(np.ascontiguousarray(W)) for W in Ws]
        P = B[0]
        for b in B[1:]:
            P = b @ P
        if problem.loss.is_kernel:  # the loss's rigorous ball of grad l over the ball product
            G = problem.loss.kernel.enclose_gradient(P.mid(), P.r)
        elif problem.loss.has_stats:
            eSxx, eSyx, _ = problem.loss.exact_stats
            G = P @ ctx.matrix(fmpq_to_fractions(eSxx)) - ctx.matrix(fmpq_to_fractions(eSyx))
        else:
            G = P - ctx.matrix(np.asarray(problem.loss.target, dtype=np.float64))
        return claim_up(G.norm_f_upper())


def _trajectory(problem: Problem, T: Fraction, times: list) -> _Trajectory:
    from flint import arb

    from ..flow import enclose_flow
    from ..gap.blocks import make_ref
    from ..arith import get_context

    enc = enclose_flow(problem, T, checkpoints=times)
    s_G = _s_G(problem)
    hess_lip = problem.loss.kernel.hessian_lipschitz() if problem.loss.is_kernel else 0.0
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
        dt = as_arb(Fraction(t1) - Fraction(t0))
        drop = arb(f_hi) - arb(f_lo_next)
        motion = hi(_sqrt(dt * _nonneg(drop))) if possibly_positive(drop) else 0.0
        rho = claim_up(hi(arb(r) + arb(motion)))
        Ws = [np.array(w) for w in unflatten(x, problem.dims)]
        ref = make_ref(0, Ws, problem, ctx)
        seg = _Segment(Fraction(t0), Fraction(t1), x, r, motion, rho, ref, _g_frobenius(problem, Ws, ctx),
                       hess_lip=hess_lip)
        seg.base = tube_constants(ref, [rho] * problem.depth, s_G, seg.gF, hess_lip)
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
        a = as_arb(a) if not isinstance(a, arb) else a
        dt = as_arb(Fraction(dt)) if not isinstance(dt, arb) else dt
        if certainly_nonpositive(a):
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
    eta_max = E / (c * J) if certainly_positive(J) else arb(math.inf)
    out = {
        "eps": eps, "beta": beta, "G": G, "gamma_max": max(gam),
        "m_max": max(seg.base["mu"] for seg in segs), "c": hi(c), "J_T": hi(J),
        "eta_max": eta_max, "eta_max_lower": lo(eta_max),
    }
    if eta is not None:
        H = arb(eta)
        out["bounds"] = [(t, 0.0 if j.is_zero() else hi(c * H * j)) for t, j in Js]  # J(0) = 0 exactly
        out["applies"] = hi(c * H * J) <= eps and lo(eta_max) >= eta
    return out
