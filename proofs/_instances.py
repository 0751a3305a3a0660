"""Shared by the proof checks: random small problem specifications with dyadic
entries (multiples of 1/8 in [-1.5, 1.5]), and exact-rational -> mpmath
conversion (one rounding at the working precision; mpmath < 1.4 does not
accept ``Fraction``)."""

from __future__ import annotations

import random
from fractions import Fraction

import mpmath


def mpf_q(x) -> mpmath.mpf:
    """``x`` (int, Fraction, float or mpf) as an mpf, rounded once to nearest."""
    if isinstance(x, mpmath.mpf):
        return x
    if isinstance(x, (Fraction, int)):
        x = Fraction(x)
        return mpmath.mpf(x.numerator) / x.denominator
    return mpmath.mpf(x)


def mp_mat(A) -> mpmath.matrix:
    """A nested list / array of exact numbers as an mpmath matrix (each entry by :func:`mpf_q`)."""
    return mpmath.matrix([[mpf_q(x) for x in row] for row in A])


def mp_spec(M) -> mpmath.mpf:
    """``||M||_2`` at the working precision (largest eigenvalue of ``M^T M``; 0 for an empty matrix)."""
    if M.rows == 0 or M.cols == 0:
        return mpmath.mpf(0)
    ev = mpmath.eigsy(M.T * M, eigvals_only=True)
    return mpmath.sqrt(max(max(ev), 0))


def dyadic_spec(rng: random.Random, d: list, square: bool = False, m=2) -> dict:
    """A problem with widths ``d``: the weights first, then the target (whitened)
    or ``X``, ``Y`` with ``m`` samples (square loss), all drawn from ``rng``;
    ``m`` may be a callable, drawn after the weights."""
    q = lambda: rng.randint(-12, 12) / 8
    N = len(d) - 1
    ws = [[[q() for _ in range(d[j])] for _ in range(d[j + 1])] for j in range(N)]
    if square:
        m = m() if callable(m) else m
        loss = {"kind": "square", "X": [[q() for _ in range(m)] for _ in range(d[0])],
                "Y": [[q() for _ in range(m)] for _ in range(d[-1])]}
    else:
        loss = {"kind": "whitened", "target": [[q() for _ in range(d[0])] for _ in range(d[-1])]}
    return {"dims": d, "loss": loss, "init": {"weights": ws}}
