"""A Lipschitz constant of the Hessian of a deep linear network (from S2.2), used as ``gamma`` by
the explicit GD-GF theorem (PAPER.md section 1, proofs/ec21_gap_theorem.py)."""

from __future__ import annotations

import itertools
import random
from fractions import Fraction

import mpmath
import numpy as np

from . import ProofFailure
from ._instances import mpf_q

LEMMA = "S2.2-lip"
TITLE = "Hessian Lipschitz constant: gamma = 3 s_H A lambda(C) + g sqrt(6 sum_{a<b<c} K_abc^2)"
STATEMENT = (
    "Let f = l(W_{N:1}) with a square loss of S1, s_H >= ||Hl||_2 (1 whitened, ||Sxx||_2 data). Let K be a "
    "convex set of parameters on which ||Z_{b:a}||_2 <= pi_{b:a} for 1 <= a <= b <= N, (b,a) != (N,1) "
    "(pi = 1 for empty products) and ||grad l(Z_{N:1})||_2 <= g. Put a_j = pi_{N:j+1} pi_{j-1:1}, A = "
    "sqrt(sum_j a_j^2), C the S3.1 matrix (C_ij = pi_{N:j+1} pi_{j-1:i+1} pi_{i-1:1}, i < j, zero diagonal), "
    "lambda >= lambda_max(C), and K_abc = pi_{N:c+1} pi_{c-1:b+1} pi_{b-1:a+1} pi_{a-1:1} for a < b < c. Then "
    "(i) |D^3 f(z)[w,u,u]| <= gamma ||w|| ||u||^2 for z in K, and (ii) ||Hf(x) - Hf(y)||_2 <= gamma ||x - y|| "
    "for x, y in K, with gamma = 3 s_H A lambda + g sqrt(6 sum_{a<b<c} K_abc^2)."
)
HYPOTHESES = "S1 square losses (Hl >= 0, constant); K convex; norms of parameter tuples are Frobenius (S1)."
PROOF = """\
Write u = (U_1..U_N), w = (V_1..V_N), u_j = ||U_j||_F, w_j = ||V_j||_F (so |u| = ||u||, |w| = ||w||).
By S2.2, Q(z) := Hf(z)[u,u] = Hl[E_u, E_u] + 2 <G, P_2(u)>, with E_u = sum_j Z_{N:j+1} U_j Z_{j-1:1} and
P_2(u) = sum_{i<j} Z_{N:j+1} U_j Z_{j-1:i+1} U_i Z_{i-1:1}.  Differentiate along w (D^3 f(z)[w,u,u] =
d/ds Q(z + s w) at s = 0): Hl is constant, G' = Hl[E_w] (as a matrix: E_w or E_w Sxx), and
  D^3 f[w,u,u] = 2 Hl[E_u, E'_u] + 2 Hl[E_w, P_2(u)] + 2 <G, P'_2(u)>,
where E'_u replaces, in every term of E_u, one further factor Z_i (i != j) by V_i, and P'_2(u) replaces
one factor Z_k (k not in {i, j}) of P_2(u)'s terms by V_k.
Norms: ||X D Y||_F <= ||X||_2 ||D||_F ||Y||_2, ||D||_2 <= ||D||_F, and the blocks between direction factors
are products Z_{b:a} with ||Z_{b:a}||_2 <= pi_{b:a}.  Hence ||E_u||_F <= sum_j a_j u_j <= A|u|,
||E_w||_F <= A|w|, ||P_2(u)||_F <= sum_{i<j} C_ij u_i u_j = u^T C u / 2 <= lambda |u|^2 / 2 and
||E'_u||_F <= sum_{i != j} C_ij u_j w_i = u^T C w <= lambda |u||w| (C >= 0 symmetric: its spectral norm is
its Perron root lambda_max(C)).  With |Hl[X, Y]| <= s_H ||X||_F ||Y||_F the first two terms are at most
2 s_H A lambda |u|^2 |w| + s_H A lambda |u|^2 |w| = 3 s_H A lambda |u|^2 |w|.
Third term: |<G, M>| <= ||G||_2 ||M||_* and for a product with three direction factors
||X_0 D_1 X_1 D_2 X_2 D_3 X_3||_* <= ||X_0 D_1 X_1||_F ||D_2 X_2 D_3 X_3||_F (Hoelder for Schatten norms)
<= K d_1 d_2 d_3 with K the product of the block bounds.  Summing, 2 sum_{i<j} sum_{k not in {i,j}}
K_{sort(i,j,k)} u_i u_j w_k = sum over ordered distinct (a,b,c) of Ks[a,b,c] u_a u_b w_c, where Ks is the
symmetric extension of K (zero on repeated indices); by Cauchy-Schwarz in R^{N^3} this is at most
||Ks||_F |u|^2 |w| = sqrt(6 sum_{a<b<c} K_abc^2) |u|^2 |w|.  This proves (i).
(ii) For symmetric S, ||S||_2 = sup_{|u|=1} |u^T S u|; and u^T (Hf(x) - Hf(y)) u = int_0^1 D^3 f(y + s(x-y))
[x - y, u, u] ds, whose integrand is bounded by gamma ||x - y|| on the segment (inside K by convexity).
The check: exact rational third derivatives (Lagrange differentiation of the exact polynomial
s -> Hf(theta + s w)[u,u], degree <= 2N-2) against the bound at 50 digits, with the worst direction w
(the exact gradient of theta -> Hf(theta)[u,u]) and u maximised numerically; near-tight instances
(N = 2 at a global minimum: ratio ~ 1) make a wrong constant fail.  It also checks that
certify.conditions.tube_constants returns at least the 50-digit value of gamma.
"""


def _instance(spec):
    from certify._problem import problem_from_dict

    return problem_from_dict(spec)


def _specs(rng: random.Random):
    out = [
        # N = 2 scalar at a global minimum (G = 0): the first term is tight
        {"dims": [1, 1, 1], "loss": {"kind": "whitened", "target": [[0.75]]},
         "init": {"weights": [[[1.5]], [[0.5]]]}},
        # N = 3 scalar far from the target: the third-order term dominates
        {"dims": [1, 1, 1, 1], "loss": {"kind": "whitened", "target": [[3.0]]},
         "init": {"weights": [[[0.5]], [[-0.75]], [[0.5]]]}},
    ]
    from ._instances import dyadic_spec

    for k in range(6):
        N = 2 + k % 3
        out.append(dyadic_spec(rng, [rng.randint(1, 2) for _ in range(N + 1)], square=bool(k % 2)))
    return out


def _mp_norm2(M):
    M = np.asarray(M, dtype=object)
    A = mpmath.matrix([[mpf_q(x)
                        for x in row] for row in M])
    B = A.T * A
    return mpmath.sqrt(max(max(mpmath.eigsy(B, eigvals_only=True)), 0))


def _exact_mats(p):
    return [np.array([[Fraction(float(x)) for x in row] for row in w], dtype=object) for w in p.weights]


def gamma_formula(p, *, lip_factor=3, drop_third=False):
    """gamma of the statement at the problem's initial point (K = {theta_0}), at 50 digits."""
    N = p.depth
    Ws = _exact_mats(p)

    def prod(b, a):
        M = Ws[a - 1]
        for l in range(a, b):
            M = Ws[l].dot(M)
        return M

    pi = {}
    for a in range(1, N + 1):
        for b in range(a, N + 1):
            if (b, a) != (N, 1):
                pi[(b, a)] = _mp_norm2(prod(b, a))

    def pn(b, a):
        return mpmath.mpf(1) if b < a else pi[(b, a)]

    A = mpmath.sqrt(sum((pn(N, j + 1) * pn(j - 1, 1)) ** 2 for j in range(1, N + 1)))
    C = mpmath.zeros(N, N)
    for i in range(1, N + 1):
        for j in range(i + 1, N + 1):
            C[i - 1, j - 1] = C[j - 1, i - 1] = pn(N, j + 1) * pn(j - 1, i + 1) * pn(i - 1, 1)
    lam = max(mpmath.eigsy(C, eigvals_only=True)) if N > 1 else mpmath.mpf(0)
    k2 = sum((pn(N, c + 1) * pn(c - 1, b + 1) * pn(b - 1, a + 1) * pn(a - 1, 1)) ** 2
             for a, b, c in itertools.combinations(range(1, N + 1), 3))
    from certify._derivatives import Objective

    ex = Objective(p, "exact")
    P = ex.prefix_products(Ws)[-1]
    G = ex.grad_l(P)
    g = _mp_norm2(G)
    if p.loss.kind == "square":
        s = _mp_norm2(ex.Sxx)
    else:
        s = mpmath.mpf(1)
    third = 0 if drop_third else g * mpmath.sqrt(6 * k2)
    return lip_factor * s * A * lam + third


def _lagrange_d0(n: int):
    """Weights c_k with q'(0) = sum_k c_k q(k) for polynomials q of degree < n (nodes 0..n-1)."""
    xs = [Fraction(k) for k in range(n)]
    cs = []
    for k in range(n):
        tot = Fraction(0)
        for m in range(n):
            if m == k:
                continue
            term = Fraction(1) / (xs[k] - xs[m])
            for j in range(n):
                if j not in (k, m):
                    term *= (0 - xs[j]) / (xs[k] - xs[j])
            tot += term
        cs.append(tot)
    return cs


def _q(ex, theta, u):
    """Hf(theta)[u,u] exactly."""
    hv = ex.hvp(theta, np.array(u, dtype=object))
    return sum(a * b for a, b in zip(u, hv))


def grad_of_Q(p, theta, u):
    """The exact vector (D^3 f(theta)[e_i, u, u])_i."""
    from certify._derivatives import Objective

    ex = Objective(p, "exact")
    n = len(theta)
    deg = 2 * p.depth - 2
    cs = _lagrange_d0(deg + 1)
    out = []
    for i in range(n):
        vals = []
        for k in range(deg + 1):
            th = list(theta)
            th[i] = th[i] + k
            vals.append(_q(ex, np.array(th, dtype=object), u))
        out.append(sum(c * v for c, v in zip(cs, vals)))
    return out


def _best_u(p, rng: np.random.Generator, restarts: int = 8):
    """Float search for a direction u maximising max_{|w|=1} D^3 f[w,u,u] / |u|^2: the third-derivative
    tensor by central differences of float Hessians, then alternating maximisation (w = T[.,u,u]
    normalised; u = the eigenvector of T[w,.,.] of largest modulus), several random starts."""
    from certify._derivatives import Objective

    obj = Objective(p)
    th = p.theta0
    n = len(th)
    h = 1e-4
    T = np.array([(obj.hessian(th + h * e) - obj.hessian(th - h * e)) / (2 * h) for e in np.eye(n)])
    T = (T + T.transpose(1, 0, 2) + T.transpose(2, 1, 0) + T.transpose(0, 2, 1) + T.transpose(1, 2, 0)
         + T.transpose(2, 0, 1)) / 6
    best, bu = -1.0, None
    for _ in range(restarts):
        u = rng.standard_normal(n)
        u /= np.linalg.norm(u)
        for _ in range(60):
            g = np.einsum("ijk,j,k->i", T, u, u)
            if not np.any(g):
                break
            w = g / np.linalg.norm(g)
            ev, V = np.linalg.eigh(np.einsum("i,ijk->jk", w, T))
            u = V[:, int(np.argmax(np.abs(ev)))]
        val = float(np.linalg.norm(np.einsum("ijk,j,k->i", T, u, u)))
        if val > best:
            best, bu = val, u
    return bu


def check(*, lip_factor: float = 3, drop_third: bool = False, seed: int = 7) -> str:
    from certify.conditions import tube_constants
    from certify.conditions.trajectory import _s_G
    from certify.gap.blocks import make_ref
    from certify.arith import get_context

    rng = random.Random(seed)
    nrng = np.random.default_rng(seed)
    worst = 0.0
    count = 0
    with mpmath.workdps(50):
        for spec in _specs(rng):
            p = _instance(spec)
            gam = gamma_formula(p, lip_factor=lip_factor, drop_third=drop_third)
            theta = [Fraction(float(x)) for x in p.theta0]
            u = _best_u(p, nrng)
            uq = [Fraction(float(x)) for x in u]
            gq = grad_of_Q(p, theta, uq)
            # |D^3 f[w,u,u]| is maximal over unit w at w = gq/|gq|: the value is |gq|
            lhs = mpmath.sqrt(mpmath.mpf(sum(x * x for x in gq).numerator) / sum(x * x for x in gq).denominator)
            uu = sum(x * x for x in uq)
            rhs = gam * mpmath.mpf(uu.numerator) / uu.denominator
            ratio = float(lhs / rhs) if rhs > 0 else (0.0 if lhs == 0 else float("inf"))
            worst = max(worst, ratio)
            count += 1
            if lhs > rhs * (1 + mpmath.mpf(10) ** -30):
                raise ProofFailure(
                    f"(i) |D^3 f[w,u,u]| = {mpmath.nstr(lhs, 12)} > gamma |u|^2 = {mpmath.nstr(rhs, 12)} "
                    f"(dims {list(p.dims)}, {p.loss.kind})")
            # the implementation (rigorous, float mid-rad + Arb) is at least the 50-digit value
            if lip_factor == 3 and not drop_third:
                ref = make_ref(0, [np.array(w) for w in p.weights], p, get_context("float64"))
                from certify.conditions.trajectory import _g_frobenius

                tc = tube_constants(ref, [0.0] * p.depth, _s_G(p),
                                    _g_frobenius(p, list(p.weights), get_context("float64")))
                if tc["gamma"] < float(gam) * (1 - 1e-12):
                    raise ProofFailure(f"tube_constants gamma {tc['gamma']} below the formula {float(gam)}")
    return f"(i) exact third derivatives on {count} instances, worst |D^3 f|/(gamma |u|^2 |w|) = {worst:.4f}"
