"""S2.4: balancedness W_{j+1}^T W_{j+1} - W_j W_j^T is invariant along GF; GD drifts by eta^2 per step."""

from __future__ import annotations

from . import ProofFailure

LEMMA = "S2.4"
TITLE = "Balancedness invariance along GF (Arora, Cohen, Hazan 2018); O(eta^2) drift along GD"
STATEMENT = (
    "Along GF theta' = -grad f(theta), d/dt (W_{j+1}^T W_{j+1} - W_j W_j^T) = 0 for j = 1..N-1, for any "
    "loss of the end-to-end matrix.  One GD step W_j -> W_j - eta g_j (g_j = grad_{W_j} f) changes "
    "W_{j+1}^T W_{j+1} - W_j W_j^T by exactly eta^2 (g_{j+1}^T g_{j+1} - g_j g_j^T)."
)
HYPOTHESES = "f(theta) = l(W_{N:1}) with l differentiable (G = grad l arbitrary); S2.1 for the gradient."
PROOF = """\
By S2.1, W_j' = -A_j^T G B_j^T with A_j = W_{N:j+1}, B_j = W_{j-1:1}.  Then
W_j W_j'^T = -W_j B_j G^T A_j = -B_{j+1} G^T A_j   (W_j B_j = W_{j:1} = B_{j+1})
W_{j+1}'^T W_{j+1} = -B_{j+1} G^T A_{j+1} W_{j+1} = -B_{j+1} G^T A_j   (A_{j+1} W_{j+1} = A_j).
Hence d/dt W_j W_j^T = W_j' W_j^T + W_j W_j'^T = -(A_j^T G B_{j+1}^T + B_{j+1} G^T A_j) and
d/dt W_{j+1}^T W_{j+1} = W_{j+1}'^T W_{j+1} + W_{j+1}^T W_{j+1}' is the same expression, so the
difference has zero derivative.  For GD, Q(W) = W_{j+1}^T W_{j+1} - W_j W_j^T is a quadratic form, so
Q(W - eta g) = Q(W) - eta DQ(W)[g] + eta^2 Q(g); DQ(W)[g] = -(d/dt Q along GF) = 0.
Check (sympy): (a) matrix level, N = 2..4, G an opaque noncommutative symbol: substitute
W_k -> W_k + s V_k, V_k = -grad_k, differentiate in s at 0 and expand: the result is the zero
noncommutative polynomial; (b) likewise Q(W + sV) - Q(W) - s^2 Q(V) expands to 0; (c) entrywise, for
small widths and symbolic target/data, with the gradient from sympy.diff of the scalar loss (not
S2.1): sum_a dQ/dtheta_a (-df/dtheta_a) expands to the zero matrix.
"""

_ENTRYWISE_CASES = [((2, 2, 2), "whitened"), ((2, 1, 2), "square"), ((1, 2, 2, 1), "whitened"),
                    ((1, 1, 2, 1), "square")]


def _default_invariant(Wj, Wj1, T):
    return T(Wj1) * Wj1 - Wj * T(Wj)


def check(*, invariant=None, grad_formula=None, depths=(2, 3, 4), entrywise: bool = True) -> str:
    """``invariant(W_j, W_{j+1}, T)`` replaces ``W_{j+1}^T W_{j+1} - W_j W_j^T``;
    ``grad_formula(ctx, j)`` replaces S2.1 in (a), (b)."""
    import sympy as sp

    from certify.symbolic import Letters, MatrixContext, entrywise_reference, s21_gradient

    Q = invariant or _default_invariant
    gradf = grad_formula or s21_gradient
    s = sp.Symbol("s")
    for N in depths:
        L = Letters()
        Ws = [L.pair(f"W_{j}")[0] for j in range(1, N + 1)]
        G = L.pair("G")[0]
        ctx = MatrixContext(N=N, Ws=Ws, Ds=[], G=G, T=L.T, inner=None, hl=None, identity=lambda k: sp.S.One)
        V = [-gradf(ctx, j) for j in range(1, N + 1)]
        rep = {}
        for W, v in zip(Ws, V):
            rep[W] = W + s * v
            rep[L.T(W)] = L.T(W) + s * L.T(v)
        for j in range(1, N):
            q = Q(Ws[j - 1], Ws[j], L.T)
            q_s = q.xreplace(rep)
            d = sp.expand(sp.diff(q_s, s).subs(s, 0))
            if d != 0:
                raise ProofFailure(f"(a) N={N}, j={j}: d/dt Q_j = {d} != 0 along GF")
            drift = sp.expand(q_s - q - s**2 * Q(V[j - 1], V[j], L.T))
            if drift != 0:
                raise ProofFailure(f"(b) N={N}, j={j}: GD drift is not eta^2 Q(grad): remainder {drift}")
    cases = _ENTRYWISE_CASES if entrywise else []
    for dims, kind in cases:
        ref = entrywise_reference(dims, kind)
        grads = ref.gradient_exprs(m=2)
        Wm = [sp.Matrix(W) for W in ref.weight_matrices()]
        for j in range(1, len(dims) - 1):
            q = Q(Wm[j - 1], Wm[j], lambda A: A.T)
            dq = sp.zeros(*q.shape)
            for w, g in zip(ref.symbols, grads):
                dq -= q.diff(w) * g
            dq = dq.applyfunc(sp.expand)
            if not dq.is_zero_matrix:
                raise ProofFailure(f"(c) dims={dims}, {kind}, j={j}: d/dt Q_j = {dq} != 0 (sympy gradient)")
    return (f"dQ/dt = 0, GD drift = eta^2 Q(grad) (N={','.join(map(str, depths))}); "
            f"entrywise, sympy gradient: {len(cases)} cases")
