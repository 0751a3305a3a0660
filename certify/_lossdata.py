"""The loss data's certified statistics, computed once per problem: the
distance of the nearest-double statistics from the exact ones and ball
enclosures of the exact ``Sxx``, ``Syx`` with ``||Sxx||_2`` (SPEC S1, S4.6).
The flow, the gap and the conditions all ask here."""

from __future__ import annotations

import functools
from fractions import Fraction

import numpy as np

from ._claims import claim_up, hi
from ._problem import SquareLoss, fmpq_to_fractions
from ._spectral import spectral_upper


@functools.lru_cache(maxsize=16)
def stat_errors(problem) -> tuple[float, float]:
    """``(||Sxx_f - Sxx||_F, ||Syx_f - Syx||_F)`` upper bounds: the nearest-double
    statistics against the exact ones (once per problem; problems are immutable)."""
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
    statistics (``None`` for the whitened loss).  Problems are immutable."""
    from .arith import get_context

    if not isinstance(problem.loss, SquareLoss):
        return 1.0, None
    eSxx, eSyx, _ = problem.loss.exact_stats
    ctx = get_context("float64")
    with ctx:
        stats = ctx.matrix(fmpq_to_fractions(eSxx)), ctx.matrix(fmpq_to_fractions(eSyx))
        return claim_up(spectral_upper(stats[0])), stats
