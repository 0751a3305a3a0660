"""Step sizes below and near the edge of stability of a problem
(:func:`step_sizes`), from a rigorous upper bound of ``lambda_max(Hf(theta_0))``
(:func:`lambda_max_upper`) or a dense-eigenvalue estimate
(:func:`lambda_max_estimate`)."""

from __future__ import annotations

import math
from fractions import Fraction

from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from .._problem import Problem
from ._checks import _check_fraction, _check_int

LAMBDA_FLOOR = 2.0**-10  # step_sizes treats lambda_max as at least this (steps <= 2^11)


def lambda_max_upper(problem: Problem) -> float:
    """A rigorous upper bound of ``lambda_max(Hf(theta_0))`` (and of
    ``||Hf(theta_0)||_2``), in Arb from the exact stored doubles.

    From S2.2 with ``n_l >= ||W_l||_2`` (Frobenius norms):
    ``|Hf[D,D]| <= s ||E||^2 + ||G||_2 lambda_max(C) ||D||^2`` and
    ``||E|| <= sqrt(sum_j a_j^2) ||D||`` with ``a_j = prod_{l != j} n_l``
    (Cauchy-Schwarz), ``s = ||Sxx||_2 <= ||Sxx||_F`` (1 for the whitened loss),
    ``lambda_max(C) <= max_i sum_k C_ik`` (``C >= 0``, S3.1)."""
    from flint import arb, fmpq

    problem.loss.require_certified("lambda_max bound")

    def q(x):
        f = Fraction(float(x))
        return arb(fmpq(f.numerator, f.denominator))

    def fro(M):
        s = arb(0)
        for row in M:
            for x in row:
                s += x * x
        return s.sqrt()

    def mat(a):
        return [[q(x) for x in row] for row in a.tolist()]

    def mmul(A, B):
        return [[sum((A[i][k] * B[k][j] for k in range(len(B))), arb(0)) for j in range(len(B[0]))]
                for i in range(len(A))]

    Ws = [mat(w) for w in problem.weights]
    N = problem.depth
    n = [fro(W) for W in Ws]
    P = Ws[0]
    for W in Ws[1:]:
        P = mmul(W, P)
    if problem.loss.has_stats:
        Sxx, Syx, _ = problem.loss.exact_stats
        S = [[arb(Sxx[i, j]) for j in range(Sxx.ncols())] for i in range(Sxx.nrows())]
        B = [[arb(Syx[i, j]) for j in range(Syx.ncols())] for i in range(Syx.nrows())]
        PS = mmul(P, S)
        G = [[PS[i][j] - B[i][j] for j in range(len(B[0]))] for i in range(len(B))]
        s = fro(S)
    else:
        T = mat(problem.loss.target)
        G = [[P[i][j] - T[i][j] for j in range(len(T[0]))] for i in range(len(T))]
        s = arb(1)
    a2 = arb(0)
    for j in range(N):
        a = arb(1)
        for l in range(N):
            if l != j:
                a *= n[l]
        a2 += a * a
    # C_ij <= prod_{l not in {i, j}} n_l (submultiplicativity); row sums bound lambda_max(C)
    lam_C = arb(0)
    for i in range(N):
        row = arb(0)
        for j in range(N):
            if j != i:
                p = arb(1)
                for l in range(N):
                    if l not in (i, j):
                        p *= n[l]
                row += p
        lam_C = max(lam_C, row, key=lambda x: float(x.upper()))
    bound = s * a2 + fro(G) * lam_C
    v = float(bound.upper())
    return math.nextafter(v, math.inf)


def lambda_max_estimate(problem: Problem) -> float:
    """An ESTIMATE (float64 dense eigen-solve, no rounding control) of
    ``lambda_max(Hf(theta_0))``; at most 2000 parameters."""
    import numpy as np

    from .._derivatives import Objective

    H = Objective(problem).hessian(problem.theta0)
    return float(np.linalg.eigvalsh(H)[-1])


def _pow2_floor(x: Fraction) -> Fraction:
    """The largest power of two ``<= x`` (``x > 0``), exactly."""
    e = x.numerator.bit_length() - x.denominator.bit_length()
    p = Fraction(2) ** e
    while p > x:
        p /= 2
    while p * 2 <= x:
        p *= 2
    return p


def step_sizes(problem: Problem, *, min_ratio=Fraction(1, 64), max_ratio=1, lambda_max: str = "upper",
               resolution_exp: int = 6):
    """Dyadic step sizes ``eta = k 2^-e`` with ``eta lambda / 2`` in
    ``[min_ratio, max_ratio]``, ``lambda`` the largest Hessian eigenvalue at
    ``theta_0``: ``max_ratio = 1`` is the edge of stability ``eta = 2 /
    lambda``, ``max_ratio < 1`` is below it.  ``2^-e`` is the largest power of
    two ``<= (2/lambda) 2^-resolution_exp``; shrinking goes to the smallest step.
``lambda`` is taken as at least ``LAMBDA_FLOOR = 2^-10`` (so ``eta <= 2^11``
even where the Hessian vanishes).

    ``lambda_max="upper"`` (default) uses the rigorous bound
    :func:`lambda_max_upper`, so ``eta lambda_max(Hf(theta_0)) <= 2 max_ratio``
    is *certain*; ``"estimate"`` uses the float dense-eigenvalue ESTIMATE
    :func:`lambda_max_estimate` (tighter: "near the edge" means near the
    estimated edge, which may lie slightly on either side of the true one).

    >>> step_sizes(certify.load_problem("builtin:saddle"), max_ratio=0.5).example()  # doctest: +SKIP
    0.0234375
    """
    if not isinstance(problem, Problem):
        raise InvalidArgument(f"problem={problem!r} must be a certify.Problem")
    lo_r, hi_r = _check_fraction("min_ratio", min_ratio), _check_fraction("max_ratio", max_ratio)
    if lo_r <= 0:
        raise InvalidArgument(f"min_ratio={min_ratio} must be > 0")
    if lo_r > hi_r:
        raise InvalidArgument(f"min_ratio={min_ratio} is larger than max_ratio={max_ratio}")
    if lambda_max not in ("upper", "estimate"):
        raise InvalidArgument(f"lambda_max={lambda_max!r} must be 'upper' or 'estimate'")
    _check_int("resolution_exp", resolution_exp, 0)
    if resolution_exp > 40:
        raise InvalidArgument(f"resolution_exp={resolution_exp} must be <= 40")
    if lambda_max == "estimate" and problem.n_params > 2000:
        raise InvalidArgument(f"lambda_max='estimate' needs a dense Hessian: {problem.n_params} > 2000 parameters")
    lam = lambda_max_upper(problem) if lambda_max == "upper" else lambda_max_estimate(problem)
    if not math.isfinite(lam):
        raise InvalidArgument(f"lambda_max of the problem is not finite ({lam}): the problem is too large")
    # a (near-)zero lambda puts the edge at (near) infinity: cap the steps at 2 / LAMBDA_FLOOR
    # (a larger lambda only makes the steps smaller, so "below the edge" stays certain)
    lam = max(lam, LAMBDA_FLOOR)
    edge = Fraction(2) / Fraction(lam)  # exact rational 2/lambda of the double lambda
    unit = _pow2_floor(edge / 2**resolution_exp)
    k_lo = math.ceil(lo_r * edge / unit)
    k_hi = math.floor(hi_r * edge / unit)
    if k_hi < max(k_lo, 1):
        raise InvalidArgument(
            f"no dyadic step with resolution {float(unit):g} in [min_ratio={min_ratio}, max_ratio={max_ratio}] "
            f"of 2/lambda = {float(edge):.6g}; increase resolution_exp or widen the ratio range")
    return st.integers(max(k_lo, 1), k_hi).map(lambda k: float(k * unit))
