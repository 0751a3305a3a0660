"""S4.3: Taylor-model arithmetic for the defect of a polynomial candidate."""

from __future__ import annotations

import random
from fractions import Fraction

import numpy as np

from . import ProofFailure

LEMMA = "S4.3"
TITLE = "Taylor-model product remainder and float series-product error"
STATEMENT = (
    "(i) If A(s) = sum_{i<=q} a_i s^i + R_A(s), B(s) = sum_{i<=q} b_i s^i + R_B(s) with ||R_A(s)||_F <= r_A, "
    "||R_B(s)||_F <= r_B on [0,h], then A(s)B(s) = sum_{i<=q} c_i s^i + R(s) with c_i = sum_{l<=i} a_l b_{i-l} and "
    "||R(s)||_F <= sum_{i+j>q} ||a_i|| ||b_j|| h^(i+j) + r_A (sum_j ||b_j|| h^j + r_B) + r_B sum_i ||a_i|| h^i on [0,h]. "
    "(ii) If c^_i is computed in binary64 as one inner product of length (i+1)k per entry (any order, FMA or "
    "not), from inputs a^, b^ with ||a^_l - a_l|| <= E_A(l), ||b^_l - b_l|| <= E_B(l), then "
    "||c^_i - c_i|| <= sum_l [E_A(l)(||b^_{i-l}|| + E_B(i-l)) + ||a^_l|| E_B(i-l)] + gamma_{(i+1)k} sum_l ||a^_l|| ||b^_{i-l}|| "
    "+ (i+1) k sqrt(mn) 2^-1073."
)
HYPOTHESES = "s in [0, h], h >= 0; Frobenius norms; round to nearest, no overflow (u = 2^-53)."
PROOF = """\
(i) The product of the polynomial parts splits into orders <= q (the c_i) and the terms a_i b_j s^(i+j)
with i + j > q, each of norm <= ||a_i|| ||b_j|| h^(i+j) since ||XY||_F <= ||X||_F ||Y||_F and 0 <= s <= h.
The remaining terms R_A B_poly + A_poly R_B + R_A R_B are bounded by r_A (sum ||b_j|| h^j) + r_B sum ||a_i|| h^i
+ r_A r_B.
(ii) c^_i - c_i = (fl(sum_l a^_l b^_{i-l}) - sum_l a^_l b^_{i-l}) + sum_l (a^_l b^_{i-l} - a_l b_{i-l}); the
first is an inner product of (i+1)k terms per entry: |.| <= gamma_{(i+1)k} sum_l |a^_l||b^_{i-l}| entrywise
(Higham, Thm 3.5, any summation order) plus the underflow allowance; in Frobenius norm
|| |X||Y| ||_F <= ||X||_F ||Y||_F.  The second: a^ b^ - a b = (a^ - a) b^ + a (b^ - b) with
||a|| <= ||a^|| + E_A.  The check computes both sides exactly (rationals) on random instances.
"""


def _fr(M):
    return np.array([[Fraction(float(x)) for x in row] for row in M], dtype=object)


def _fro2(M):
    return sum(x * x for x in M.reshape(-1))


def check(*, gamma_scale: float = 1.0, drop_tail: bool = False, instances: int = 30) -> str:
    from certify.flow.tube import NormTM
    from certify.flow.float_step import product_error
    from certify._claims import up

    rng = random.Random(43)
    nprng = np.random.default_rng(43)
    U = 2.0**-53
    worst = 0.0
    for _ in range(instances):
        q = rng.randint(1, 5)
        m, k, n = rng.randint(1, 3), rng.randint(1, 4), rng.randint(1, 3)
        a = [nprng.standard_normal((m, k)) * 0.7**i for i in range(q + 1)]
        b = [nprng.standard_normal((k, n)) * 0.7**i for i in range(q + 1)]
        h = Fraction(rng.randint(1, 8), 8)
        # (i) exact: the tail of the product at sampled s, against the TM remainder
        hp = np.array([float(h) ** i for i in range(q + 1)]) * (1 + 1e-12)
        na = np.array([np.linalg.norm(x) for x in a]) * (1 + 1e-12)
        nb = np.array([np.linalg.norm(x) for x in b]) * (1 + 1e-12)
        tmA, tmB = NormTM(na * hp, 0.0), NormTM(nb * hp, 0.0)
        r = tmA.times(tmB, np.zeros(q + 1)).r
        if drop_tail:
            r = 0.0
        A, B = [_fr(x) for x in a], [_fr(x) for x in b]
        for s in (h, h / 2, h / 3):
            tail = np.zeros((m, n), dtype=object)
            tail[...] = Fraction(0)
            for i in range(q + 1):
                for j in range(q + 1):
                    if i + j > q:
                        tail = tail + (A[i] @ B[j]) * s ** (i + j)
            if float(_fro2(tail)) > r * r * (1 + 1e-9) + 1e-300:
                raise ProofFailure(f"(i) tail {float(_fro2(tail)) ** 0.5:.3e} exceeds remainder {r:.3e}")
        # (ii) the float batched product vs exact
        for i in range(q + 1):
            ci = np.matmul(np.stack(a[: i + 1]), np.stack(b[i::-1])).sum(axis=0)
            exact = sum((A[l] @ B[i - l] for l in range(i + 1)), start=np.zeros((m, n), dtype=object) + Fraction(0))
            err = float(_fro2(_fr(ci) - exact)) ** 0.5
            bound = product_error(np.array([np.linalg.norm(x) for x in a]) * (1 + 1e-12), np.zeros(q + 1),
                              np.array([np.linalg.norm(x) for x in b]) * (1 + 1e-12), np.zeros(q + 1), k, q, m * n)[i]
            if gamma_scale != 1.0:
                bound = bound * gamma_scale
            if err > bound:
                raise ProofFailure(f"(ii) float product error {err:.3e} exceeds bound {bound:.3e} (order {i})")
            if bound > 0:
                worst = max(worst, err / bound)
    return f"{instances} random matrix polynomials; worst float error / bound = {worst:.3f}"
