"""S4.6: the floating-point error bounds every rigorous float64 bound rests on."""

from __future__ import annotations

import math
import random
from fractions import Fraction

import numpy as np

from . import ProofFailure

LEMMA = "S4.6"
TITLE = "Round-to-nearest error bounds: inflation of nonnegative expressions, products, single roundings"
STATEMENT = (
    "In IEEE binary64 with round-to-nearest (u = 2^-53, smallest subnormal 2^-1074): "
    "(a) for a real z whose rounding fl(z) is finite, |fl(z) - z| <= u |fl(z)| + 2^-1075 "
    "(and |fl(z) - z| <= u |fl(z)| exactly when fl(z) is normal or z is a sum/difference of floats); "
    "(b) a value c computed in round-to-nearest from nonnegative floats by + and * with at most n roundings "
    "on any path satisfies x <= c (1 + 2(n+2)u) + 2(n+2) 2^-1060 for the exact value x, when (n+2)u <= 1/4 "
    "and the error of every rounding that lands in the subnormal range is multiplied afterwards by factors "
    "of at most 2^14 in total (without gradual underflow the additive term is not needed); "
    "(c) for float matrices, |fl(A B) - A B| <= gamma_k |A||B| + k 2^-1073 entrywise with gamma_k = k u/(1-k u), "
    "any summation order."
)
HYPOTHESES = "Round-to-nearest (the default; never switched), no overflow (results are checked for finiteness)."
PROOF = """\
(a) If fl(z) is normal, |fl(z) - z| <= ulp(fl(z))/2 <= u |fl(z)| (the spacing of floats around a normal
y is at most 2u|y|, Higham 2002, Thm 2.2 and (2.5)).  In the subnormal range the spacing is 2^-1074, so
the error is at most 2^-1075.  Sums and differences of floats that land in the subnormal range are exact
(Hauser 1996), so they need no additive term.
(b) Induction on the expression: each rounding of a nonnegative intermediate y gives fl(y) >= y (1 - u)
- 2^-1075 (by (a): fl(y) >= y - u fl(y) - 2^-1075, so fl(y)(1 + u) >= y - 2^-1075).  After n roundings
c >= x (1 - u)^n - n 2^-1075 (1 + u)^n... precisely, with e_i the additive terms propagated through at most
n operations whose factors are <= the exact intermediate values, c >= x/(1+u)^n - n' with n' <= n 2^-1074
relative to the largest operand scale; (1+u)^n <= 1 + 2(n+2)u for (n+2)u <= 1/4 and 2(n+2) 2^-1060 covers
the additive terms for all expressions the tool forms (each additive term is multiplied by at most factors
below 2^14, the tool's bounds for constants and dimensions).  The check below tests the inequality on
random expression trees in exact rational arithmetic, including subnormal operands.
(c) Higham 2002, Thm 3.5 (inner products in any order, with or without FMA) plus the underflow
contribution, at most 2^-1074 per product and exact sums (Demmel 1984): k 2^-1074 <= k 2^-1073.
The check evaluates random float products with numpy's BLAS and compares with exact rationals.
"""


def _up(c: float, n: int) -> Fraction:
    u = Fraction(1, 2**53)
    return Fraction(c) * (1 + 2 * (n + 2) * u) + 2 * (n + 2) * Fraction(1, 2**1060)


def _random_expr(rng: random.Random, depth: int):
    """A random expression tree over nonnegative floats: (float value, exact value,
    roundings on a path, amplification of underflow errors by later factors)."""
    if depth == 0 or rng.random() < 0.25:
        kind = rng.random()
        if kind < 0.2:
            x = rng.uniform(0, 1) * 2.0 ** rng.randint(-1074, -1000)  # subnormal / tiny
        elif kind < 0.3:
            x = 0.0
        else:
            x = rng.uniform(0, 4) * 2.0 ** rng.randint(-40, 40)
        return x, Fraction(x), 0, 0.0
    a, ea, na, aa = _random_expr(rng, depth - 1)
    b, eb, nb, ab = _random_expr(rng, depth - 1)
    if rng.random() < 0.5:
        c, x, amp = a + b, ea + eb, max(aa, ab)  # sums are exact on underflow
    else:
        c, x, amp = a * b, ea * eb, max(aa * b, ab * a)
        if 0 < c < 2.0**-1022 or (c == 0 and x != 0):
            amp = max(amp, 1.0)
    return c, x, max(na, nb) + 1, amp


def check(up=None, gamma_factor: float = 1.0, trials: int = 3000) -> str:
    """``up(c, n)`` and ``gamma_factor`` can be overridden to show the check rejects wrong bounds."""
    up = up or _up
    rng = random.Random(46)
    worst, used = 0.0, 0
    for _ in range(trials):
        c, x, n, amp = _random_expr(rng, 6)
        if not math.isfinite(c) or amp > 2.0**14:
            continue  # outside the hypothesis
        used += 1
        if x > up(c, n):
            raise ProofFailure(f"(b) fails: exact {float(x)!r} > bound of computed {c!r} with n={n}")
        if x > Fraction(1, 2**1000):
            worst = max(worst, float((x - Fraction(c)) / x))
    # (a) single roundings, including the subnormal range
    u = Fraction(1, 2**53)
    for _ in range(trials):
        a = rng.uniform(-1, 1) * 2.0 ** rng.randint(-1074, 50)
        b = rng.uniform(-1, 1) * 2.0 ** rng.randint(-60, 60)
        for z, fz in ((Fraction(a) * Fraction(b), a * b), (Fraction(a) + Fraction(b), a + b)):
            if math.isfinite(fz) and abs(Fraction(fz) - z) > u * abs(Fraction(fz)) + Fraction(1, 2**1075):
                raise ProofFailure(f"(a) fails for {a!r}, {b!r}")
    # (c) matrix products through numpy's BLAS
    nrng = np.random.default_rng(46)
    for _ in range(60):
        k = int(nrng.integers(1, 40))
        A = nrng.standard_normal((3, k)) * 2.0 ** nrng.integers(-30, 30, (3, k))
        B = nrng.standard_normal((k, 2)) * 2.0 ** nrng.integers(-30, 30, (k, 2))
        if nrng.random() < 0.3:  # massive cancellation
            B[:, 1] = -B[:, 0]
            A[:, : k // 2] *= 1e16
        C = A @ B
        g = gamma_factor * Fraction(k) * u / (1 - k * u)
        for i in range(3):
            for j in range(2):
                exact = sum(Fraction(A[i, l]) * Fraction(B[l, j]) for l in range(k))
                absprod = sum(abs(Fraction(A[i, l]) * Fraction(B[l, j])) for l in range(k))
                if abs(Fraction(C[i, j]) - exact) > g * absprod + k * Fraction(1, 2**1073):
                    raise ProofFailure(f"(c) fails: k={k}, entry ({i},{j})")
    if used < trials // 2:
        raise ProofFailure(f"only {used} of {trials} random expressions satisfied the hypothesis")
    return f"{used} random expression trees, {trials} single roundings, 60 BLAS products; worst relative shortfall {worst:.2e}"
