"""S2.5: end-to-end dynamics of W_{N:1} under GF from a balanced initialisation."""

from __future__ import annotations

import random
from fractions import Fraction

from . import ProofFailure

LEMMA = "S2.5"
TITLE = "End-to-end dynamics under balancedness: vec(W)' = -P(W) vec(grad l(W))"
STATEMENT = (
    "If W_{j+1}^T W_{j+1} = W_j W_j^T for j = 1..N-1 (balanced; preserved along GF by S2.4), then along GF "
    "d/dt vec(W_{N:1}) = -P(W) vec(grad l(W)), W = W_{N:1}, with vec stacking columns and "
    "P(W) = sum_{j=1}^N (W^T W)^{(j-1)/N} (x) (W W^T)^{(N-j)/N} (M^0 = I; fractional powers of PSD matrices)."
)
HYPOTHESES = "Balanced weights; S2.1; vec column-major, so vec(A X B) = (B^T (x) A) vec(X)."
PROOF = """\
By the product rule and S2.1 (W_j' = -A_j^T G B_j^T, A_j = W_{N:j+1}, B_j = W_{j-1:1}):
W' = sum_j A_j W_j' B_j = -sum_j (A_j A_j^T) G (B_j^T B_j).
Balancedness lets W_k W_k^T be replaced by W_{k+1}^T W_{k+1} (and back).  Moving every such pair
outwards, A_j A_j^T = W_N...W_{j+1} W_{j+1}^T...W_N^T = (W_N W_N^T)^{N-j} and W W^T = (W_N W_N^T)^N;
likewise B_j^T B_j = (W_1^T W_1)^{j-1} and W^T W = (W_1^T W_1)^N.  C = W_N W_N^T and B = W_1^T W_1
are PSD, and a PSD matrix has a unique PSD k-th root, so (W W^T)^{(N-j)/N} = C^{N-j} = A_j A_j^T and
(W^T W)^{(j-1)/N} = B^{j-1} = B_j^T B_j (with M^0 = I for j = N resp. j = 1).  Hence
W' = -sum_j (W W^T)^{(N-j)/N} G (W^T W)^{(j-1)/N}, and vec(A G B) = (B^T (x) A) vec(G) with B symmetric
gives the claim.  (N = 2: W' = -W_2 W_2^T G - G W_1^T W_1 with W_1^T W_1 = (W^T W)^{1/2},
W_2 W_2^T = (W W^T)^{1/2}.)
Check: (a) sympy: vec(A X B) = (B^T (x) A) vec(X) for generic symbolic matrices of several shapes;
(b) sympy, matrix level, N = 2, 3, 4 with noncommutative symbols: W' from S2.1 and the product rule,
rewritten with the balancedness equations as above, equals -sum_j C^{N-j} G B^{j-1} term by term, and
W W^T, W^T W rewrite to C^N, B^N; (c) exact rationals, N = 3, 4 (rectangular widths, both losses):
balanced points W_j = P_j S P_{j-1}^T with P_j rational orthonormal columns (Cayley transforms), the
GF velocity from sympy's derivatives of the scalar loss, and P(W) built as an explicit Kronecker sum;
(d) the fractional powers used in (c) agree with powers computed from W alone (50-digit eigensolver).
"""


def _default_exponents(j, N):
    return Fraction(j - 1, N), Fraction(N - j, N)


def _rewrite(word, rules):
    word = list(word)
    changed = True
    while changed:
        changed = False
        for i in range(len(word) - 1):
            r = rules.get((word[i], word[i + 1]))
            if r is not None:
                word[i], word[i + 1] = r
                changed = True
    return tuple(word)


def _cayley(rng, d):
    import sympy as sp

    S = sp.zeros(d, d)
    for i in range(d):
        for k in range(i + 1, d):
            v = sp.Rational(rng.randint(-3, 3), rng.choice((1, 2, 3)))
            S[i, k], S[k, i] = v, -v
    I = sp.eye(d)
    return (I - S) * (I + S).inv()


def check(*, exponents=None, depths_symbolic=(2, 3, 4), exact_depths=(3, 4), seed: int = 25) -> str:
    """``exponents(j, N) -> (a, b)`` replaces ``((j-1)/N, (N-j)/N)`` in P(W)."""
    import mpmath
    import sympy as sp
    from sympy import kronecker_product

    from certify.symbolic import Letters, MatrixContext, entrywise_reference, s21_gradient

    expo = exponents or _default_exponents

    def vec(M):
        return sp.Matrix([M[i, k] for k in range(M.shape[1]) for i in range(M.shape[0])])

    # (a) vec / Kronecker identity
    for p, q, r, u in ((2, 3, 2, 1), (1, 2, 3, 2), (2, 2, 2, 2)):
        A = sp.Matrix(p, q, lambda i, k: sp.Symbol(f"a{i}{k}"))
        X = sp.Matrix(q, r, lambda i, k: sp.Symbol(f"x{i}{k}"))
        B = sp.Matrix(r, u, lambda i, k: sp.Symbol(f"b{i}{k}"))
        if (vec(A * X * B) - kronecker_product(B.T, A) * vec(X)).applyfunc(sp.expand) != sp.zeros(p * u, 1):
            raise ProofFailure(f"(a) vec(AXB) != (B^T (x) A) vec(X) for shapes {p}x{q}, {q}x{r}, {r}x{u}")

    # (b) matrix level with balancedness rewriting
    s = sp.Symbol("s")
    for N in depths_symbolic:
        L = Letters()
        Ws = [L.pair(f"W_{j}")[0] for j in range(1, N + 1)]
        WT = [L.T(W) for W in Ws]
        G = L.pair("G")[0]
        up = {(Ws[k], WT[k]): (WT[k + 1], Ws[k + 1]) for k in range(N - 1)}  # W_k W_k^T -> W_{k+1}^T W_{k+1}
        down = {(WT[k + 1], Ws[k + 1]): (Ws[k], WT[k]) for k in range(N - 1)}
        ctx = MatrixContext(N=N, Ws=Ws, Ds=[], G=G, T=L.T, inner=None, hl=None, identity=lambda k: sp.S.One)
        V = [-s21_gradient(ctx, j) for j in range(1, N + 1)]
        Wt = sp.diff(sp.Mul(*[W + s * v for W, v in zip(reversed(Ws), reversed(V))]), s).subs(s, 0)
        lhs: dict = {}
        for t in sp.Add.make_args(sp.expand(Wt)):
            c, w = L.word(t)
            g = w.index(G)
            w = _rewrite(w[:g], up) + (G,) + _rewrite(w[g + 1:], down)
            lhs[w] = lhs.get(w, 0) + c
        C, B = (Ws[-1], WT[-1]), (WT[0], Ws[0])
        WWt = _rewrite(tuple(Ws[::-1]) + tuple(WT), up)
        WtW = _rewrite(tuple(WT) + tuple(Ws[::-1]), down)
        if WWt != C * N or WtW != B * N:
            raise ProofFailure(f"(b) N={N}: W W^T or W^T W does not rewrite to (W_N W_N^T)^N, (W_1^T W_1)^N")
        rhs: dict = {}
        for j in range(1, N + 1):
            a, b = expo(j, N)
            ka, kb = a * N, b * N
            if Fraction(ka).denominator != 1 or Fraction(kb).denominator != 1 or ka < 0 or kb < 0:
                raise ProofFailure(f"(b) N={N}: exponents {a}, {b} of term {j} are not multiples of 1/N")
            w = C * int(kb) + (G,) + B * int(ka)  # (W W^T)^b G (W^T W)^a
            rhs[w] = rhs.get(w, 0) - 1
        diff = {w: sp.expand(lhs.get(w, 0) - rhs.get(w, 0)) for w in set(lhs) | set(rhs)}
        bad = {w: c for w, c in diff.items() if c != 0}
        if bad:
            raise ProofFailure(f"(b) N={N}: W' - (-P(W) vec G) leaves {len(bad)} nonzero words, e.g. "
                               f"{next(iter(bad.items()))}")

    # (c) exact, balanced rational points; (d) 50-digit powers from W alone
    rng = random.Random(seed)
    worst = mpmath.mpf(0)
    cases = 0
    for N in exact_depths:
        for kind in ("whitened", "square"):
            # whitened: equal widths (full rank); square: random rectangular widths (rank-deficient W)
            dims = (3 if N <= 3 else 2,) * (N + 1) if kind == "whitened" else \
                tuple(rng.randint(1, 3) for _ in range(N + 1))
            r = min(dims)
            P = [_cayley(rng, d)[:, :r] for d in dims]
            Sig = sp.diag(*[sp.Rational(rng.randint(1, 6), rng.choice((2, 3, 4))) for _ in range(r)])
            Ws = [P[j + 1] * Sig * P[j].T for j in range(N)]
            for j in range(1, N):
                if Ws[j].T * Ws[j] != Ws[j - 1] * Ws[j - 1].T:
                    raise ProofFailure(f"(c) construction not balanced at j={j}")  # pragma: no cover
            W = Ws[0]
            for M in Ws[1:]:
                W = M * W
            if kind == "whitened":
                Phi = sp.Matrix(dims[-1], dims[0], lambda i, k: sp.Rational(rng.randint(-4, 4), 3))
                data, G = Phi, W - Phi
            else:
                m = 2
                X = sp.Matrix(dims[0], m, lambda i, k: sp.Rational(rng.randint(-4, 4), 3))
                Y = sp.Matrix(dims[-1], m, lambda i, k: sp.Rational(rng.randint(-4, 4), 3))
                data, G = (X, Y), (W * X - Y) * X.T / m
            _, grad, _ = entrywise_reference(dims, kind).evaluate([list(map(list, M.tolist())) for M in Ws],
                                                                   data if kind == "whitened" else
                                                                   (data[0].tolist(), data[1].tolist()))
            # GF velocity of each layer from sympy's gradient, then the product rule
            Vs, pos = [], 0
            for j in range(N):
                rr, cc = dims[j + 1], dims[j]
                Vs.append(-sp.Matrix(rr, cc, [sp.Rational(x.numerator, x.denominator)
                                              for x in grad[pos:pos + rr * cc]]))
                pos += rr * cc
            Wdot = sp.zeros(dims[-1], dims[0])
            for j in range(N):
                left = sp.eye(dims[-1])
                for M in reversed(Ws[j + 1:]):
                    left = left * M
                right = sp.eye(dims[0])
                for M in Ws[:j]:
                    right = M * right
                Wdot += left * Vs[j] * right

            def power(side, e):
                # (W^T W)^e = P_0 S^{2Ne} P_0^T, (W W^T)^e = P_N S^{2Ne} P_N^T, M^0 = I
                k = e * 2 * N
                if Fraction(k).denominator != 1:
                    raise ProofFailure(f"(c) exponent {e} is not a multiple of 1/N")
                Q = P[0] if side == "TW" else P[-1]
                return sp.eye(Q.shape[0]) if k == 0 else Q * Sig ** int(k) * Q.T

            Pw = sp.zeros(dims[0] * dims[-1], dims[0] * dims[-1])
            for j in range(1, N + 1):
                a, b = expo(j, N)
                Pw += kronecker_product(power("TW", a), power("WT", b))
            if vec(Wdot) != -Pw * vec(G):
                raise ProofFailure(f"(c) N={N}, dims={dims}, {kind}: vec(W') != -P(W) vec(G) at a balanced point")
            cases += 1
            with mpmath.workdps(50):
                for side, M in (("TW", W.T * W), ("WT", W * W.T)):
                    Mm = mpmath.matrix([[mpmath.mpf(x.p) / x.q for x in row] for row in M.tolist()])
                    E, Q = mpmath.eigsy(Mm)
                    for k in range(1, N + 1):
                        e = Fraction(k, N)
                        lam = [mpmath.mpf(0) if E[i] < mpmath.mpf(10) ** -25 else E[i] ** (mpmath.mpf(k) / N)
                               for i in range(len(E))]
                        Pm = Q * mpmath.diag(lam) * Q.T
                        ex = power(side, e)
                        err = max(abs(Pm[i, l] - mpmath.mpf(ex[i, l].p) / ex[i, l].q)
                                  for i in range(ex.shape[0]) for l in range(ex.shape[1]))
                        worst = max(worst, err)
                if worst > mpmath.mpf(10) ** -30:
                    raise ProofFailure(f"(d) fractional power of the construction differs from the 50-digit one "
                                       f"by {mpmath.nstr(worst, 3)}")
    return (f"vec/kron; N={','.join(map(str, depths_symbolic))} symbolic; {cases} exact balanced points; "
            f"powers to {mpmath.nstr(worst, 2)}")
