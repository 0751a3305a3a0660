"""S2.2: the Hessian quadratic form of f(theta) = l(W_N ... W_1), derived with sympy from the loss."""

from __future__ import annotations

import random
from fractions import Fraction

from . import ProofFailure

LEMMA = "S2.2"
TITLE = "Hessian form: Hf[D,D] = Hl[E,E] + 2 sum_{i<j} <G, W_{N:j+1} D_j W_{j-1:i+1} D_i W_{i-1:1}>"
STATEMENT = (
    "For every depth N >= 1, all widths and both losses of S1, and every direction D = (D_1..D_N): "
    "d^2/ds^2 f(W + sD) at s = 0 equals Hl[E,E] + 2 sum_{i<j} <G, W_{N:j+1} D_j W_{j-1:i+1} D_i W_{i-1:1}> "
    "with E = sum_j W_{N:j+1} D_j W_{j-1:1}, G = grad l(W_{N:1}), and Hl[E,E] = ||E||_F^2 (whitened) or "
    "||E X||_F^2 / m (square)."
)
HYPOTHESES = "Losses of S1; real matrices of compatible shapes; W_{b:a} = I for b < a."
PROOF = """\
Let P(s) = prod_{j=N..1} (W_j + s D_j) = P_0 + s P_1 + s^2 P_2 + O(s^3).  Expanding the product,
P_1 = sum_j W_{N:j+1} D_j W_{j-1:1} = E (one factor replaced by D_j) and
P_2 = sum_{i<j} W_{N:j+1} D_j W_{j-1:i+1} D_i W_{i-1:1} (two factors replaced, D_j to the left of D_i).
For the whitened loss f(s) = 1/2 ||P(s) - Phi||^2, so f''(0) = ||P_1||^2 + 2 <P_0 - Phi, P_2> =
||E||^2 + 2 sum_{i<j} <G, ...>.  For the square loss f(s) = 1/(2m) ||P(s) X - Y||^2, so
f''(0) = ||P_1 X||^2 / m + 2 <P_0 X - Y, P_2 X> / m = ||E X||^2 / m + 2 <(P_0 X - Y) X^T / m, P_2>,
and (P_0 X - Y) X^T / m = G.  In both cases the first term is Hl[E,E] (l is quadratic in W).
Check (sympy): (a) matrix level, depths 1..4, both losses: f(W + sD) with noncommutative W_j, D_j is
differentiated twice in s by sympy.diff; the difference to the formula, in canonical traces, is 0.
(b) entrywise: at random rational points the exact Hessian matrix H of the scalar loss (sympy
derivatives) satisfies e^T H e = formula for e = e_a and e = e_a + e_b, all a <= b (which determines
the symmetric H completely), and for random rational directions D.
"""


def check(*, hess_formula=None, cross_factor=2, depths=(1, 2, 3, 4), points: int = 8,
          random_directions: int = 2, seed: int = 22) -> str:
    """``hess_formula(ctx)`` replaces S2.2 (``ctx.Ds`` holds the direction); ``cross_factor``
    replaces the 2 in front of the cross terms."""
    from certify.symbolic import (
        derive_matrix_level, entrywise_reference, random_rational_instance, random_rational_matrix,
        rational_context, s22_hessian_form,
    )

    formula = hess_formula or (lambda ctx: s22_hessian_form(ctx, cross_factor=cross_factor))
    for N in depths:
        for loss in ("whitened", "square"):
            d = derive_matrix_level(N, loss, hess_formula=formula)
            if not d.second_ok:
                raise ProofFailure(f"(a) N={N}, {loss}: d^2/ds^2 f(W+sD) - Hf[D,D] = {d.second_difference} != 0")
    rng = random.Random(seed)
    evaluations = 0
    for k in range(points):
        N = rng.randint(1, 3)
        dims = tuple(rng.randint(1, 3) for _ in range(N + 1))
        while sum(dims[j] * dims[j + 1] for j in range(N)) > 12:
            dims = tuple(rng.randint(1, 3) for _ in range(N + 1))
        kind = ("whitened", "square")[k % 2]
        Ws, data = random_rational_instance(rng, dims, kind)
        _, _, H = entrywise_reference(dims, kind).evaluate(Ws, data)
        n = H.shape[0]
        shapes = [(dims[j + 1], dims[j]) for j in range(N)]

        def direction(vec):
            out, pos = [], 0
            for r, c in shapes:
                out.append([list(vec[pos + i * c: pos + (i + 1) * c]) for i in range(r)])
                pos += r * c
            return out

        vecs = []
        for a in range(n):
            for b in range(a, n):
                v = [Fraction(0)] * n
                v[a] += 1
                if b != a:
                    v[b] += 1
                vecs.append(v)
        for _ in range(random_directions):
            vecs.append([x for r, c in shapes for row in random_rational_matrix(rng, r, c) for x in row])
        for v in vecs:
            ctx = rational_context(dims, kind, Ws, data, direction(v))
            val = formula(ctx)
            ref = sum(v[a] * H[a, b] * v[b] for a in range(n) for b in range(n) if v[a] and v[b])
            evaluations += 1
            if val != ref:
                raise ProofFailure(f"(b) dims={dims}, {kind}: Hf[D,D] = {val} but D^T H D = {ref} (sympy)")
    return (f"N={','.join(map(str, depths))} matrix level: difference = 0; "
            f"{points} points x {evaluations} directions: exact equality")
