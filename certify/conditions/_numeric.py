"""Rigorous scalar and matrix helpers of the conditions family: exact rationals
(``fmpq``, ``fmpq_mat``) where the problem is small enough, python-flint ``arb``
balls otherwise, and explicit *certainly* predicates on them.

A predicate ``certainly_*`` is True only if the statement holds for every point
of the ball (exact rationals and ints: for the number itself); it compares the
ball's exact endpoints, never two balls with ``<`` (whose meaning differs
between mpmath and python-flint, STYLE.md).

>>> from flint import arb
>>> certainly_positive(arb(1, 0.5)), certainly_positive(arb(1, 2)), possibly_positive(arb(1, 2))
(True, False, True)
>>> certainly_nonnegative(arb(0)), certainly_negative(arb(-1, 0.25)), certainly_positive(Fraction(1, 3))
(True, True, True)
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from .._claims import as_arb
from .._problem import Problem

MAX_EXACT_FLOPS = 5e7  # exact rational products up to this many multiplications, Arb balls beyond


# ---------------------------------------------------------------------------
# certainly / possibly predicates
# ---------------------------------------------------------------------------


def _ends(a):
    """``(lower, upper)`` endpoints: exact ``arb`` balls of radius 0 for a ball, the number itself otherwise."""
    from flint import arb

    if isinstance(a, arb):
        return a.lower(), a.upper()
    return a, a


def certainly_positive(a) -> bool:
    """Every point of ``a`` is > 0."""
    return bool(_ends(a)[0] > 0)


def certainly_nonnegative(a) -> bool:
    """Every point of ``a`` is >= 0."""
    return bool(_ends(a)[0] >= 0)


def certainly_negative(a) -> bool:
    """Every point of ``a`` is < 0."""
    return bool(_ends(a)[1] < 0)


def certainly_nonpositive(a) -> bool:
    """Every point of ``a`` is <= 0."""
    return bool(_ends(a)[1] <= 0)


def possibly_positive(a) -> bool:
    """Some point of ``a`` is > 0 (the upper end is)."""
    return bool(_ends(a)[1] > 0)


def certainly_at_most(a, b) -> bool:
    """Every point of the ball ``a`` is <= the number ``b`` (a float or an exact rational)."""
    return bool(_ends(a)[1] <= b)


# ---------------------------------------------------------------------------
# conversions and arithmetic
# ---------------------------------------------------------------------------


def _prec(bits: int):
    """A python-flint precision scope (the arb backend's context)."""
    from ..arith import get_context

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


def _phi_arb(Phi):
    from flint import arb_mat

    return arb_mat(Phi)


def _sumsq(M):
    """Sum of squares of the entries (``fmpq`` exactly or ``arb``)."""
    s = 0
    for e in M.entries():
        s += e * e
    return s


def _inner(A, B):
    s = 0
    for a, b in zip(A.entries(), B.entries()):
        s += a * b
    return s


def _nonneg(a):
    """The part of the ball ``a`` that is >= 0 (``a`` is known to enclose a nonnegative number)."""
    from flint import arb

    if certainly_nonnegative(a):
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
    if certainly_nonpositive(a):
        return arb(0)
    pe = as_arb(p)
    if certainly_positive(a):
        return a ** pe
    return _hull(arb(0), arb(a.upper()) ** pe)


def _pair(ball) -> list:
    """``[lower, upper]`` of a ball known to enclose a nonnegative number, as claimed floats
    (outward; the lower end clamped at 0).  The exact ball 0 gives the exact ``[0.0, 0.0]``
    (``hi`` steps one float outward from every endpoint, which would claim ``1e-323``)."""
    from .._claims import claim_down, claim_up, hi, lo

    if ball.is_zero():
        return [0.0, 0.0]
    return [claim_down(max(0.0, lo(ball))), claim_up(hi(ball))]


def _up(ball) -> float:
    """A claimed float >= every point of the ball; exactly ``0.0`` for the exact ball 0."""
    from .._claims import claim_up, hi

    return 0.0 if ball.is_zero() else claim_up(hi(ball))


# ---------------------------------------------------------------------------
# the network's matrices
# ---------------------------------------------------------------------------


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
