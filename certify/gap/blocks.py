"""Reference points, tube bounds and the per-block segment claims (gap-v2.md sections 2-3, SPEC S3.1, S3.3,
S4.2, S4.5): curvature ``mu`` and smoothness ``beta`` on the set the exact GD and its float iterates can
reach within a block, and the ``r``/``e`` recursions over the block."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .._claims import hi
from .._claims import U, claim_up, claim_up_array, claim_up_fast, up
from .._errors import BlowUpError, NotCertified
from .._lossdata import data_bounds
from ..bounds.spectral import spectral_upper


DRIFT_FRACTION = 0.02  # a block ends once a layer moved by 2% of its spectral norm


G_DRIFT_FRACTION = 0.1  # ... or once G moved by 10% of ||G_ref||_2 (||G||_2 <= g_ref + gdiff_k)


@dataclass
class Reference:
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


def make_ref(k, Ws, problem, ctx, split=None) -> Reference:
    """Reference bounds (section 3) at the float iterate ``Ws``: every partial
    product's spectral norm and ``||G||_2``, claimed (rounded outward); with a
    data split (S3.4-data) also ``||W_{b:1} u||_2`` for ``b < N``."""
    from flint import arb

    from ..bounds.s31 import BaseNorms, base_at_point, weighted_products

    N = len(Ws)
    with ctx:
        B = [ctx.matrix(W) for W in Ws]
        base, E2E = base_at_point(B, lambda M: claim_up(spectral_upper(M)))
        if problem.loss.is_kernel:
            G = problem.loss.kernel.enclose_gradient(E2E.m, E2E.r)  # over the ball product (section 8)
        elif problem.loss.has_stats:
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
    return Reference(k, [W.copy() for W in Ws], n, pi, g, base, u_norm2=un, gw=gw or None)


def tube_bounds(ref: Reference, d: list, s_G: float) -> tuple[float, float]:
    """``(mu, beta)`` on the set where layer ``l`` is within ``d[l]`` of the
    reference's (S3.1 via :class:`certify.bounds.s31.Tube`), upper floats."""
    from ..bounds.s31 import Tube, arb_prec

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
    from ..bounds.s31 import Tube, arb_prec

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


def gradient_differences(Gs, eGs) -> list:
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


def certify_block(cert, ref, block, state, eta, s_G, N, split=None):
    """Claims for the segments of one block (section 2): the block constants
    (partial-product norms widened by the block's largest drift, S3.1 pieces)
    are computed once; each segment's curvature uses ``||G||_2 <= g_ref +
    gdiff_k`` at its own iterate (:func:`_segment_tube`)."""
    # long: the block constants, then the r/e recursions segment by segment in the contract's order
    # (gap-v2.md section 2); the checker replays the same sequence
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
    from ..bounds.s31 import arb_prec

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
