"""S2.1: the gradient of f(theta) = l(W_N ... W_1), derived with sympy from the loss itself."""

from __future__ import annotations

import random

from . import ProofFailure

LEMMA = "S2.1"
TITLE = "Gradient: grad_{W_j} f = W_{N:j+1}^T G W_{j-1:1}^T"
STATEMENT = (
    "For every depth N >= 1, all widths d_0..d_N and both losses of S1: "
    "grad_{W_j} f = W_{N:j+1}^T G W_{j-1:1}^T (j = 1..N), where G = grad l(W_{N:1}) = W_{N:1} - Phi (whitened) "
    "or (W_{N:1} X - Y) X^T / m (square)."
)
HYPOTHESES = (
    "l(W) = 1/2 ||W - Phi||_F^2 or 1/(2m) ||W X - Y||_F^2 (S1); real matrices of compatible shapes; "
    "W_{b:a} = I for b < a."
)
PROOF = """\
Fix theta and a direction D = (D_1..D_N) and put W_j(s) = W_j + s D_j.  By the product rule
d/ds W_{N:1}(s) at s = 0 is E = sum_j W_{N:j+1} D_j W_{j-1:1}.  With R(s) the residual
(W_{N:1}(s) - Phi, or W_{N:1}(s) X - Y), d/ds 1/2 ||R||^2 = <R, R'>: for the whitened loss this is
<W - Phi, E> = <G, E>; for the square loss (1/m) <R, E X> = <R X^T / m, E> = <G, E>.  For each term,
with A = W_{N:j+1}, B = W_{j-1:1}:  <G, A D_j B> = tr(G^T A D_j B) = tr(B G^T A D_j) = <A^T G B^T, D_j>.
So the directional derivative is sum_j <A_j^T G B_j^T, D_j> for every D, and since <grad f, D> =
sum_j <grad_{W_j} f, D_j> with the Frobenius inner product on the flattened theta (S1), the partial
gradients are A_j^T G B_j^T.
Check (sympy): (a) matrix level, depths 1..4, both losses, any widths: the W_j are noncommutative
symbols, f(W + sD) = c tr(R(s)^T R(s)) is differentiated in s by sympy.diff at s = 0 and the
difference to sum_j <grad_j, D_j> is brought to canonical traces (tr(AB) = tr(BA), tr(A^T) = tr(A)),
where it vanishes identically.  (b) entrywise: for random small widths the scalar loss in the weight
entries is differentiated symbolically and evaluated exactly at random rational points (non-dyadic
denominators); it equals the S2.1 matrices, flattened per S1, exactly.
"""


def check(*, grad_formula=None, depths=(1, 2, 3, 4), points: int = 12, seed: int = 21) -> str:
    """``grad_formula(ctx, j)`` replaces S2.1 (see :class:`certify.symbolic.MatrixContext`)."""
    from certify.symbolic import (
        derive_matrix_level, entrywise_reference, random_rational_instance, rational_context, s21_gradient,
    )

    formula = grad_formula or s21_gradient
    # (a) matrix level
    for N in depths:
        for loss in ("whitened", "square"):
            d = derive_matrix_level(N, loss, grad_formula=formula)
            if not d.first_ok:
                raise ProofFailure(
                    f"(a) N={N}, {loss}: d/ds f(W+sD) - sum_j <grad_j, D_j> = {d.first_difference} != 0"
                )
    # (b) entrywise, exact
    rng = random.Random(seed)
    for k in range(points):
        N = rng.randint(1, 3)
        dims = tuple(rng.randint(1, 3) for _ in range(N + 1))
        kind = ("whitened", "square")[k % 2]
        Ws, data = random_rational_instance(rng, dims, kind)
        _, g_ref, _ = entrywise_reference(dims, kind).evaluate(Ws, data)
        ctx = rational_context(dims, kind, Ws, data)
        g = [x for j in range(1, N + 1) for x in formula(ctx, j)]  # sympy Matrix: row-major (S1)
        if len(g) != len(g_ref) or any(a != b for a, b in zip(g, g_ref)):
            bad = next((i for i, (a, b) in enumerate(zip(g, g_ref)) if a != b), None)
            raise ProofFailure(
                f"(b) dims={dims}, {kind}: S2.1 gradient differs from sympy's partial derivatives"
                + (f" at entry {bad}: {g[bad]} vs {g_ref[bad]}" if bad is not None else " (length)")
            )
    return (f"N={','.join(map(str, depths))} matrix level: difference = 0; "
            f"{points} rational points: exact equality")
