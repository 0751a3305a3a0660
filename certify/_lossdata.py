"""The loss data's certified statistics, computed once per problem: the
distance of the nearest-double statistics from the exact ones and ball
enclosures of the exact ``Sxx``, ``Syx`` with ``||Sxx||_2`` (SPEC S1, S4.6).
The flow, the gap and the conditions all ask here."""

from __future__ import annotations

import functools
from fractions import Fraction

import numpy as np

from ._claims import claim_up, fro_up, hi
from ._problem import Problem
from ._losskinds import fmpq_to_fractions
from .bounds.spectral import spectral_upper


@functools.lru_cache(maxsize=16)
def stat_errors(problem) -> tuple[float, float]:
    """``(||Sxx_f - Sxx||_F, ||Syx_f - Syx||_F)`` upper bounds: the nearest-double
    statistics against the exact ones (once per problem; problems are immutable)."""
    problem.loss.require_certified("data statistics")
    Sxx_f, Syx_f, _ = problem.loss.float_stats
    eSxx, eSyx, _ = problem.loss.exact_stats
    return (exact_diff_norm_up(Sxx_f, fmpq_to_fractions(eSxx)), exact_diff_norm_up(Syx_f, fmpq_to_fractions(eSyx)))


def exact_diff_norm_up(F: np.ndarray, Q: np.ndarray) -> float:
    """Upper bound of ``||F - Q||_F`` for a float matrix and exact rationals."""
    s = Fraction(0)
    for f, q in zip(F.reshape(-1), Q.reshape(-1)):
        d = Fraction(float(f)) - q
        s += d * d
    from flint import arb, fmpq

    return hi(arb(fmpq(s.numerator, s.denominator)).sqrt())


@functools.lru_cache(maxsize=16)
def data_bounds(problem) -> tuple:
    """``(s_G, stats)`` once per problem: ``s_G >= ||Sxx||_2`` (1 for the whitened
    loss; claimed, outward) and float64 ball enclosures ``(Sxx, Syx)`` of the exact
    statistics (``None`` for the whitened loss).  Problems are immutable.  A kernel
    loss (cross-entropy, logistic) has no statistics: ``(s_G, None)`` with its spectral
    Lipschitz constant of ``grad l`` (gap-v2.md section 8, claimed).  A loss the
    certified machinery does not handle raises :class:`certify.UsageError`."""
    from .arith import get_context

    problem.loss.require_certified("data bounds")
    if problem.loss.is_kernel:
        return claim_up(problem.loss.constants[0]), None
    if not problem.loss.has_stats:
        return 1.0, None
    eSxx, eSyx, _ = problem.loss.exact_stats
    ctx = get_context("float64")
    with ctx:
        stats = ctx.matrix(fmpq_to_fractions(eSxx)), ctx.matrix(fmpq_to_fractions(eSyx))
        return claim_up(spectral_upper(stats[0])), stats


#: the rank-one split is used when it can pay: the data's top eigenvalue at
#: least this many times the rest (``s_r``); otherwise the S3.1 form alone
SPLIT_MIN_GAIN = 2.0


@functools.lru_cache(maxsize=16)
def data_split(problem):
    """The rank-one split ``Sxx = c u u^T + R`` of S3.4-data (proofs/s3_4_data_weighted.py)
    for the square loss at depth >= 2, or ``None`` (whitened loss, depth 1, or
    no dominant direction).  ``u`` is the float top eigenvector of the nearest-
    double ``Sxx`` (sign fixed: largest entry positive), scaled until
    ``||u||_2 <= 1`` holds exactly; ``c`` its float eigenvalue; ``s_r >= ||R||_2``
    for the exact ``Sxx`` (claimed, outward, from the ball enclosure of
    :func:`data_bounds`).  Any ``u`` and ``c >= 0`` make the split exact; these
    make ``s_r`` small."""
    from .bounds.s31 import DataSplit
    from .arith import get_context

    if not problem.loss.has_stats or problem.depth < 2:
        return None  # whitened, kernel losses (no statistics), depth 1
    problem.loss.require_certified("data split")
    s_G, (Sxx_b, _) = data_bounds(problem)
    Sxx_f = problem.loss.float_stats[0]
    ev, V = np.linalg.eigh(Sxx_f)
    c = float(ev[-1])
    if not (c > 0.0):
        return None
    u = np.ascontiguousarray(V[:, -1], dtype=np.float64)
    u = u if u[int(np.argmax(np.abs(u)))] > 0 else -u
    while sum(Fraction(float(x)) ** 2 for x in u) > 1:
        u = u * (1.0 - 2.0**-40)
    ctx = get_context("float64")
    with ctx:
        U = ctx.matrix(u.reshape(-1, 1))
        R = Sxx_b - (U @ U.T) * c
        # slack (free: any larger number bounds ||R|| too) so that another
        # implementation's rounding allowances, a few ulps of s_G, stay below the claim
        s_r = claim_up(spectral_upper(R) * (1.0 + 2.0**-20) + 2.0**-30 * s_G)
    if not (SPLIT_MIN_GAIN * s_r <= s_G):
        return None
    return DataSplit(c, s_r, u)


def split_to_json(split) -> dict | None:
    """The certificate's ``data_split`` block (gap-v2.md section 3)."""
    if split is None:
        return None
    return {"lemma": "S3.4-data", "c": split.c, "s_r": split.s_r, "u_hex": [float(x).hex() for x in split.u]}


class BackendLoss:
    """The problem's loss data in one backend (balls) and in approximate form."""

    def __init__(self, problem: Problem, ctx, slack: float = 2.0):
        self.ctx = ctx
        self.slack = float(slack)  # factor on the rounding-dominated claims (enclose_flow)
        self.N = problem.depth
        loss = problem.loss
        self.square = loss.has_stats
        self.kernel = loss.kernel if loss.is_kernel else None  # cross-entropy, logistic (section 8)
        self.kernel_h = None  # float path, kernel losses: where the next step starts (FloatStep._kernel_step)
        self.arb = getattr(ctx, "name", "") == "arb"
        if self.kernel is not None:
            self.s_G = data_bounds(problem)[0]  # spectral Lipschitz constant of grad l, claimed
            self.s_F = loss.constants[1]  # >= sup ||Hl||_2: Frobenius Lipschitz constant of grad l
        elif self.square:
            Sxx, Syx, _ = loss.exact_stats
            self.Sxx = ctx.matrix(fmpq_to_fractions(Sxx))
            self.Syx = ctx.matrix(fmpq_to_fractions(Syx))
            self.sxx_f = self.Sxx.norm_f_upper()
            self.sxx_2 = data_bounds(problem)[0]  # claimed >= ||Sxx||_2, once per problem
            fs = loss.float_stats
            self.Sxx_approx, self.Syx_approx = fs[0], fs[1]
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
