"""The S3.1 curvature-bound family (SPEC S3.1, S3.3): one implementation for
the flow, the gap, the conditions and the curvature commands.

S3.1: ``lambda_min(Hf(z)) >= -||G(z)||_2 lambda_max(C(z))`` with
``C_ij = ||Z_{N:j+1}||_2 ||Z_{j-1:i+1}||_2 ||Z_{i-1:1}||_2`` (i < j); and
``||Hf(z)||_2 <= s_G sum_j (||Z_{N:j+1}||_2 ||Z_{j-1:1}||_2)^2 + ||G||_2 lambda_max(C)``
(S2.2; ``s_G >= ||Hl||_2``).  Everything is a rigorous upper bound in Arb.

The family has three layers, each a small object:

- :class:`BaseNorms` — spectral-norm bounds ``sigma[(b, a)] >= sup ||Y_{b:a}||_2``
  (``1 <= a <= b <= N``, 1-based, inclusive) over a *base set* of parameter
  points: a single point (a GD iterate, a reference point), or a moving one
  (the flow candidate ``y([0, h])``, a GD block around its reference).
  :func:`base_at_point` computes them at a point from ball matrices;
  :meth:`BaseNorms.moved` widens them by motions: per layer
  ``m_l >= sup ||Y_l(s) - Y_l(0)||_F`` and optionally per product
  ``m_ba >= sup ||Y_{b:a}(s) - Y_{b:a}(0)||_F`` (from the step's own Taylor
  models, S3.3); a product without its own motion uses the expansion
  ``prod(n_l + m_l) - prod n_l``.
- :class:`Tube` — the set of points within ``x_l`` (per layer, Frobenius) of
  the base set: ``pn(b, a) = sigma_ba + prod(nu_l + x_l) - prod nu_l``
  (``nu_l = sigma_ll``), ``dE = prod_all(nu + x) - prod nu`` (so
  ``||G(z) - G(y)||_2 <= s_G dE``), ``lamC >= lambda_max(C)`` (the smaller of
  the largest row sum and Collatz-Wielandt with the midpoint's Perron vector)
  and ``a2 = sum_j (pn(N, j+1) pn(j-1, 1))^2``.
- :meth:`Tube.mu` / :meth:`Tube.beta` — ``mu = (g + s_G dE) lamC`` (0 when
  ``N = 1``: f is convex) from a bound ``g >= sup ||G||_2`` on the base set,
  ``beta = s_G a2 + mu``, or with a :class:`DataSplit` (square loss) the
  data-weighted form ``beta = sum_j pn(N, j+1)^2 d_j + mu`` with ``d_1 = s_G``
  and ``d_j = min(s_G pn(j-1, 1)^2, c v_j^2 + s_r pn(j-1, 1)^2)``, ``v_j >=
  ||Z_{j-1:1} u||`` on the tube (proofs/s3_4_data_weighted.py): a layer
  behind the first one sees the data only through ``Z_{j-1:1} Sxx Z_{j-1:1}^T``,
  whose top eigenvalue is far below ``s_G ||Z_{j-1:1}||^2`` when ``Sxx`` has
  one dominant direction ``u`` (image data: the mean image) that the first
  layers do not align with.

The point of the split (S3.3): the motion of the base set enters only the
norms ``sigma`` (which move little) and ``g`` (which the caller bounds from
what the step computes anyway: ``G`` at every GD iterate, or ``G``'s own
Taylor model on a flow step), never ``s_G (prod(n + motion) - prod n)``.
"""

from __future__ import annotations

import math
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from typing import Sequence

from .._claims import ARB_PREC
from .._claims import as_arb, hi
from .spectral import spectral_upper

#: working precision (bits) of every derived tube constant; the checker uses the same
PREC = ARB_PREC


@contextmanager
def arb_prec(bits: int = PREC):
    """python-flint's precision for a block of Arb scalar work, restored afterwards."""
    from flint import ctx

    old = ctx.prec
    ctx.prec = bits
    try:
        yield
    finally:
        ctx.prec = old


@dataclass(frozen=True)
class DataSplit:
    """A rank-one split of the square loss's data matrix (S3.4-data):
    ``Sxx = c u u^T + R`` with ``c >= 0`` and ``s_r >= ||R||_2`` (claimed
    floats; ``u`` a float vector, any: the split is exact for every ``u``)."""

    c: float
    s_r: float
    u: object  # np.ndarray (d_0,)


@dataclass(frozen=True)
class BaseNorms:
    """``sigma[(b, a)]`` (arb upper bounds) for every ``1 <= a <= b <= N``
    except ``(N, 1)`` unless given; see the module docstring.  ``uvec[b]``
    (optional, ``1 <= b < N``): ``>= ||Y_{b:1} u||`` for a :class:`DataSplit`'s
    ``u``, widened by :meth:`moved` exactly as ``sigma[(b, 1)]``.

    G-weighted products (S3.1-G, optional, from :meth:`with_g_weights`):
    ``gw[(i, j)] >= ||Y_{N:j+1}^T G Y_{i-1:1}^T||_2`` at the base set's
    *origin* ``y_0`` (the point before any motion), ``g0 >= ||G(y_0)||_2``
    and ``sigma0`` the origin's own ``sigma``; :meth:`moved` keeps them."""

    N: int
    sigma: dict
    uvec: dict | None = None
    gw: dict | None = None
    g0: object = None
    sigma0: dict | None = None

    def origin_sigma(self) -> dict:
        """The norms at the origin (``sigma`` itself unless the base has moved)."""
        return self.sigma if self.sigma0 is None else self.sigma0

    def with_g_weights(self, balls, G, spectral) -> "BaseNorms":
        """The same base with S3.1-G's weighted products at the origin: ``balls``
        the origin's layer ball matrices (0-based), ``G`` a ball of ``G(y_0)``,
        ``spectral(M)`` a rigorous upper bound of ``sup ||X||_2`` over a ball.
        Every pair ``1 <= i < j <= N`` except ``(1, N)`` (whose weighted product
        is ``G`` itself, no sharper than ``g0``)."""
        from flint import arb

        N = self.N
        gw = {}
        for (i, j), M in weighted_products(balls, G).items():
            gw[(i, j)] = arb(spectral(M))
        return BaseNorms(N, self.sigma, self.uvec, gw, arb(spectral(G)) if self.g0 is None else self.g0,
                         self.origin_sigma())

    def moved(self, layer_motion, product_motion: dict | None = None) -> "BaseNorms":
        """The bounds over the set swept by motions from the base: layer ``l``
        (0-based in ``layer_motion``) moves by at most ``m_l`` (Frobenius),
        product ``(b, a)`` by at most ``product_motion[(b, a)]`` if given (the
        smaller of that and the product expansion is used)."""
        from flint import arb

        N = self.N
        m = [as_arb(x) for x in layer_motion]
        out = {}
        for (b, a), s in self.sigma.items():
            hp, lp = arb(1), arb(1)
            for l in range(a - 1, b):
                hp *= self.sigma[(l + 1, l + 1)] + m[l]
                lp *= self.sigma[(l + 1, l + 1)]
            mot = hp - lp
            if product_motion is not None and (b, a) in product_motion and a < b:
                own = as_arb(product_motion[(b, a)])
                if hi(own) < hi(mot):
                    mot = own
            out[(b, a)] = s + mot
        uvec = None
        if self.uvec is not None:  # ||Y(s) u|| <= ||Y(0) u|| + ||Y(s) - Y(0)||_2 (||u|| <= 1)
            uvec = {b: v + (out[(b, 1)] - self.sigma[(b, 1)]) for b, v in self.uvec.items()}
        return BaseNorms(N, out, uvec, self.gw, self.g0, self.origin_sigma() if self.gw is not None else None)


def weighted_products(balls, G) -> dict:
    """S3.1-G's matrices ``P_ij = Y_{N:j+1}^T G Y_{i-1:1}^T`` (1-based, ``i < j``,
    empty products identities) for every pair but ``(1, N)``, from the layer
    balls (0-based) and a ball of ``G``: the suffix ``Y_{N:j+1}^T G`` is built
    once per ``j`` and multiplied by the prefix products ``Y_{i-1:1}^T``."""
    N = len(balls)
    pre = [None]  # pre[i-1] = Y_{i-1:1} (None: identity)
    for l in range(N - 1):
        pre.append(balls[l] if pre[-1] is None else balls[l] @ pre[-1])
    out = {}
    left = G  # Y_{N:j+1}^T G for j = N
    for j in range(N, 1, -1):
        if j < N:
            left = balls[j].T @ left
        for i in range(1, j):
            if (i, j) == (1, N):
                continue
            out[(i, j)] = left if pre[i - 1] is None else left @ pre[i - 1].T
    return out


def base_at_point(balls, spectral) -> tuple[BaseNorms, object]:
    """Spectral bounds of all partial products of the ball matrices ``balls``
    (per layer, 0-based) with ``spectral(M) -> float`` a rigorous upper bound of
    ``sup ||X||_2`` over the ball ``M``; returns the norms and the end-to-end
    product ball ``W_{N:1}`` (for ``G``)."""
    from flint import arb

    N = len(balls)
    sigma = {}
    E2E = None
    for a in range(1, N + 1):
        M = balls[a - 1]
        sigma[(a, a)] = arb(spectral(M))
        for b in range(a + 1, N + 1):
            M = balls[b - 1] @ M
            if (b, a) != (N, 1):
                sigma[(b, a)] = arb(spectral(M))
        if a == 1:
            E2E = M
    return BaseNorms(N, sigma), E2E


def lambda_max_upper(C) -> object:
    """``>= lambda_max(C)`` for a symmetric nonnegative matrix of arb balls: the
    smaller of the largest row sum and the Collatz-Wielandt bound
    ``max_i (C x)_i / x_i`` with ``x`` the (positive part of the) Perron vector
    of the midpoint matrix (any ``x > 0`` is valid)."""
    from flint import arb

    N = len(C)
    rows = [sum(C[i], arb(0)) for i in range(N)]
    best = max(rows, key=hi)
    Cmid = np.array([[float(c.mid()) for c in row] for row in C])
    if N > 1 and np.all(np.isfinite(Cmid)):
        try:
            _, V = np.linalg.eigh(Cmid)
        except np.linalg.LinAlgError:
            return best
        v = np.abs(V[:, -1])
        # the Perron vector itself (sharpest), and a strictly positive perturbation of it
        # (for a reducible C whose Perron vector has zeros)
        for x in (v, v + 1e-3 * max(float(v.max()), 1e-300)):
            if not (np.all(np.isfinite(x)) and np.all(x > 0)):
                continue
            cw = arb(0)
            for i in range(N):
                s = arb(0)
                for k in range(N):
                    s += C[i][k] * arb(float(x[k]))
                cw = max(cw, s / arb(float(x[i])), key=hi)
            if hi(cw) < hi(best):
                best = cw
    return best


class Tube:
    """S3.1 pieces on the set of points within ``x_l`` (per layer) of a base set."""

    def __init__(self, base: BaseNorms, x):
        from flint import arb

        self.N = N = base.N
        self.base = base
        self.X = [as_arb(v) for v in x]
        self.nu = [base.sigma[(l, l)] for l in range(1, N + 1)]
        self._memo = {}
        hp, lp = arb(1), arb(1)
        for l in range(N):
            hp *= self.nu[l] + self.X[l]
            lp *= self.nu[l]
        self.dE = hp - lp
        self.C = self.D = None
        if N > 1:
            C = [[arb(0)] * N for _ in range(N)]
            for i in range(1, N + 1):
                for j in range(i + 1, N + 1):
                    C[i - 1][j - 1] = C[j - 1][i - 1] = self.pn(N, j + 1) * self.pn(j - 1, i + 1) * self.pn(i - 1, 1)
            self.C = C
            self.lamC = lambda_max_upper(C)
            if base.gw is not None:
                self.D = self._weight_gain()
        else:
            self.lamC = arb(0)
        self.a2 = arb(0)
        for j in range(1, N + 1):
            aj = self.pn(N, j + 1) * self.pn(j - 1, 1)
            self.a2 += aj * aj

    def gauss_newton(self, s_G, split: DataSplit | None = None):
        """``>= ||J^T Hl J||_2`` on the tube: ``s_G a2`` (S3.1), or with a split the
        data-weighted form of the module docstring (S3.4-data), never larger."""
        from flint import arb

        sG = as_arb(s_G)
        if split is None or self.base.uvec is None:
            return sG * self.a2
        c, s_r = as_arb(split.c), as_arb(split.s_r)
        tot = arb(0)
        for j in range(1, self.N + 1):
            a = self.pn(self.N, j + 1)
            if j == 1:
                d = sG
            else:
                b2 = self.pn(j - 1, 1) ** 2
                v = self.u_norm(j - 1)
                plain, weighted = sG * b2, c * v * v + s_r * b2
                d = weighted if hi(weighted) < hi(plain) else plain
            tot += a * a * d
        return tot

    def pn(self, b: int, a: int):
        """``>= ||Z_{b:a}||_2`` on the tube (1-based, inclusive; 1 when ``b < a``)."""
        from flint import arb

        if b < a:
            return arb(1)
        if (b, a) not in self._memo:
            hp, lp = arb(1), arb(1)
            for l in range(a - 1, b):
                hp *= self.nu[l] + self.X[l]
                lp *= self.nu[l]
            self._memo[(b, a)] = self.base.sigma[(b, a)] + (hp - lp)
        return self._memo[(b, a)]

    def g_tube(self, g, s_G):
        """``>= ||G(z)||_2`` on the tube from ``g >= sup ||G||_2`` on the base set."""
        return as_arb(g) + as_arb(s_G) * self.dE

    def _weight_gain(self):
        """S3.1-G (proofs/s3_1_g_weighted.py): ``D_ij = min(0, gw_ij - s0_ij) pn(j-1, i+1)``
        with ``s0_ij = sigma0(N, j+1) g0 sigma0(i-1, 1)``, so that on the tube
        ``||Z_{N:j+1}^T G Z_{i-1:1}^T||_2 pn(j-1, i+1) <= g_t C_ij + D_ij`` for every
        ``g_t >= g0 + sup ||G(z) - G(y_0)||_2`` (expand ``A^T G B^T`` around the
        origin: ``gw_ij + (pn(N, j+1) g_t pn(i-1, 1) - s0_ij)``)."""
        from flint import arb

        N, base = self.N, self.base
        s0 = base.origin_sigma()
        nrm0 = lambda b, a: arb(1) if b < a else s0[(b, a)]
        D = [[arb(0)] * N for _ in range(N)]
        for (i, j), w in base.gw.items():
            d = w - nrm0(N, j + 1) * base.g0 * nrm0(i - 1, 1)
            if hi(d) < 0:
                D[i - 1][j - 1] = D[j - 1][i - 1] = d * self.pn(j - 1, i + 1)
        return D

    def mu(self, g, s_G):
        """``>= max(0, -lambda_min(Hf))`` on the tube (arb).  With G-weighted
        products in the base (S3.1-G), ``g - base.g0`` must also bound how far
        ``G`` moves from the origin over the base set (true of the flow's
        ``g_c + g_motion`` and of GD's ``g_ref + gdiff``)."""
        return self.mu_affine(g, s_G)[0]

    def mu_affine(self, g, s_G):
        """``(m0, lamC)`` with ``mu(g + t) <= m0 + t lamC`` for every ``t >= 0``
        (arb; ``m0 = mu(g)``): S3.1 is linear in ``g``; S3.1-G's matrix is
        ``g_t C + D``, and ``lambda_max`` of a sum of symmetric matrices is at
        most the sum of their ``lambda_max``'s."""
        from flint import arb

        if self.N == 1:
            return arb(0), arb(0)
        g_t = self.g_tube(g, s_G)
        plain = g_t * self.lamC
        if self.D is None:
            return plain, self.lamC
        N = self.N
        M = [[g_t * self.C[a][b] + self.D[a][b] for b in range(N)] for a in range(N)]
        w = lambda_max_upper(M)
        return (w if hi(w) < hi(plain) else plain), self.lamC

    def u_norm(self, b: int):
        """``>= ||Z_{b:1} u||`` on the tube (``1 <= b < N``; needs ``base.uvec``):
        the base set's bound plus what the product ``(b, 1)`` may move."""
        return self.base.uvec[b] + (self.pn(b, 1) - self.base.sigma[(b, 1)])

    def beta(self, mu, s_G, split: DataSplit | None = None):
        """``>= ||Hf||_2`` on the tube (arb), from its ``mu``."""
        return self.gauss_newton(s_G, split) + as_arb(mu)


def mu_upper(tube: Tube, g, s_G) -> float:
    """:meth:`Tube.mu` as an upper float."""
    v = hi(tube.mu(g, s_G))
    return v if math.isfinite(v) else math.inf


def center_norms(model, W0_balls, weighted: bool = True):
    """``(BaseNorms, ||G(c)||_2 upper)`` at the center balls (S3.1 at the point; ``model`` a
    :class:`certify._lossdata.BackendLoss`);
    ``weighted``: with S3.1-G's weighted products ``||Z^T G Z^T||_2`` at the center."""
    from flint import arb

    base, E2E = base_at_point(W0_balls, spectral_upper)
    G = model.g0(E2E)
    g_c = arb(spectral_upper(G))
    if weighted and model.N > 1:
        base = BaseNorms(base.N, base.sigma, base.uvec, None, g_c).with_g_weights(W0_balls, G, spectral_upper)
    return base, g_c


def s31_on_tube(model, W0, r: Sequence[float]) -> float:
    """Rigorous upper bound of ``-lambda_min(Hf)`` over the set where every layer
    lies within ``r_j`` (Frobenius) of the ball matrices ``W0`` (S3.1; ``model`` a
    :class:`certify._lossdata.BackendLoss`)."""
    with arb_prec():
        base, g_c = center_norms(model, W0, weighted=False)  # S3.1 itself (s31_vs_s32 compares it)
        return mu_upper(Tube(base, r), g_c, model.s_G)
