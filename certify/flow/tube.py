"""Per-step Taylor-model norms, tube and Gronwall (SPEC S3.3, S4.1, S4.3): what both steppers do once
their coefficient norms and error bounds are known (:func:`_finish_step`)."""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Sequence

import numpy as np

from .._claims import U, claim_up
from .._claims import hi as _hi
from .._claims import up as _up
from .._claims import as_arb
from ..bounds.gronwall import gronwall_update


class NormTM:
    """Norm data of a truncated power series: ``alpha_i >= ||c_i||_F h^i`` for
    ``i <= q`` and remainder ``r >= sup_{[0,h]} ||tail||_F``."""

    __slots__ = ("alpha", "r")

    def __init__(self, alpha: np.ndarray, r: float):
        self.alpha, self.r = alpha, r

    @property
    def sup(self) -> float:
        return _up(float(np.sum(self.alpha)) + self.r, len(self.alpha) + 2)

    def times(self, other: "NormTM", alpha_c: np.ndarray) -> "NormTM":
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
        return NormTM(alpha_c, r)


class _Errs:
    """Norm bounds ``E`` of the difference between computed and exact series
    coefficients (zero for ball arithmetic, whose coefficients are enclosures)."""

    def __init__(self, W, P, S, G, Q, g):
        self.W, self.P, self.S, self.G, self.Q, self.g = W, P, S, G, Q, g


def _hpow(h: Fraction, q: int) -> np.ndarray:
    h_up = _hi(as_arb(h))
    return np.array([h_up**i for i in range(q + 1)]) * (1.0 + 2 * (q + 2) * U)


def _gronwall_tube(model, center, motion, delta, h, e0):
    """Tube radius, curvature on it (S3.3) and the Gronwall radius (S4.1);
    ``None`` when ``e(h) < rho`` cannot be achieved.  ``center = (base, g_c)``:
    S3.1 norms of the center's partial products and ``||G(c)||_2``;
    ``motion = (layer, products, g)``: sup-motions over the step from the
    step's own Taylor models."""
    from ..bounds.s31 import Tube, arb_prec, mu_upper

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


def _finish_step(model, coeffs, nW, nP, nS, nG, nQ, ng, E, dn, p, h, e0, center, g_rem=None):
    """Taylor-model remainders, defect bound, tube and Gronwall for one step.
    ``n*`` are norm bounds of the computed coefficients, ``E`` their errors;
    ``g_rem`` (kernel losses) the remainder of ``G``'s own Taylor model along the
    truncated product, to which ``s_F`` times the product's remainder is added."""
    N, q = model.N, p
    hp = _hpow(h, q)
    al = lambda n, e: _up((n + e) * hp, 3)
    W_tm = [NormTM(al(nW[j], E.W[j]), 0.0) for j in range(N)]
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
    G_tm = NormTM(al(nG, E.G), _up(rG, 2))
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


def _vec_norm_up(norms: Sequence[float]) -> float:
    s = _up(float(np.sum(np.square(norms))), 2 * len(norms) + 2)
    return float(np.nextafter(math.sqrt(s), math.inf))
