"""PAPER.md section 3 [derived, deep linear]: the curvature of a deep linear network is bounded by
the gradient of the loss, lambda_min(Hf) >= -(N-1) rho^(N-2) ||grad l(W)||_F, and along exactly
balanced points by the gradient of f."""

from __future__ import annotations

import random
from fractions import Fraction

import mpmath
import numpy as np

from . import ProofFailure

LEMMA = "P3-homogeneous"
TITLE = "Deep linear curvature: lambda_min(Hf) >= -(N-1) rho^(N-2) ||grad l(W)||_F"
STATEMENT = (
    "(a) For f = l(W_{N:1}) with a square loss of S1 (Hl >= 0), N >= 2, rho = max_j ||W_j||_2 and "
    "G = grad l(W_{N:1}): lambda_min(Hf(theta)) >= -(N-1) rho^(N-2) ||G||_F, i.e. m(theta) <= "
    "(N-1) rho^(N-2) ||G||_F. (b) If theta is exactly balanced (W_{j+1}^T W_{j+1} = W_j W_j^T for all j) and "
    "W = W_{N:1} has sigma_min(W) > 0 (its min(d_0, d_N)-th singular value), then rho = ||W||_2^(1/N), "
    "||grad f(theta)||^2 >= sigma_min(W)^(2(N-1)/N) ||G||_F^2, and hence "
    "m(theta) <= (N-1) ||W||_2^((N-2)/N) ||grad f(theta)|| / sigma_min(W)^((N-1)/N)."
)
HYPOTHESES = (
    "S1 losses (Hl positive semidefinite); (b) exact balancedness and, for the gradient bound, all hidden "
    "widths >= min(d_0, d_N) (implied by sigma_min(W) > 0)."
)
PROOF = """\
(a) By S2.2, Hf[D,D] = Hl[E,E] + 2 sum_{i<j} <G, W_{N:j+1} D_j W_{j-1:i+1} D_i W_{i-1:1}> and Hl[E,E] >= 0.
Each cross term: |<G, M>| <= ||G||_F ||M||_F and ||X D_j Y D_i Z||_F <= ||X||_2 ||D_j||_F ||Y||_2 ||D_i||_2 ||Z||_2
<= rho^(N-2) d_j d_i (d_l = ||D_l||_F; X, Y, Z together are products of the N - 2 other layers, each of
spectral norm <= rho).  So Hf[D,D] >= -2 ||G||_F rho^(N-2) sum_{i<j} d_i d_j = -||G||_F rho^(N-2) ((sum d)^2 -
sum d^2) >= -||G||_F rho^(N-2) (N - 1) sum d^2 (Cauchy-Schwarz: (sum d)^2 <= N sum d^2), and sum d^2 = ||D||^2.
(b) Balancedness gives W_j W_j^T = W_{j+1}^T W_{j+1}, so by induction (ACH18) the nonzero singular values of
every W_j are sigma_i(W)^(1/N); hence ||W_j||_2 = ||W||_2^(1/N) = rho.  The gradient (S2.1) has
||grad f||^2 = sum_j ||W_{N:j+1}^T G W_{j-1:1}^T||_F^2 = vec(G)^T P(W) vec(G) with P(W) = sum_j
(W^T W)^((j-1)/N) (x) (W W^T)^((N-j)/N) (S2.5), a sum of PSD terms.  If d_N <= d_0, the j = 1 term
I (x) (W W^T)^((N-1)/N) has smallest eigenvalue sigma_min(W)^(2(N-1)/N) (W W^T is d_N x d_N and PD); if
d_0 < d_N, the j = N term does the same with W^T W.  So ||grad f||^2 >= sigma_min^(2(N-1)/N) ||G||_F^2, and
(a) with rho^(N-2) = ||W||_2^((N-2)/N) gives the bound on m.
The check: (a) exact rational Hessians of random instances (depth 2..4, widths 1..3, both losses) and of
near-tight scalar instances (all layers equal to a small a, target above a^N: lambda_min = -(N-1) a^(N-2) |G|
+ O(a^(2N-2))), eigenvalues at 50 digits; a wrong constant ((N-1)/2) or exponent (rho^(N-1)) fails.
(b) exactly balanced instances W_j = Q_j S Q_{j-1}^T with rational orthogonal Q_j (Cayley transforms of
rational skew matrices) and rational diagonal S: exact gradients, singular values known exactly.
"""


def _mp(x):
    if isinstance(x, Fraction):
        return mpmath.mpf(x.numerator) / x.denominator
    return mpmath.mpf(x)


def _mpmat(M):
    return mpmath.matrix([[_mp(x) for x in row] for row in np.asarray(M, dtype=object)])


def _norm2(M):
    A = _mpmat(M)
    return mpmath.sqrt(max(max(mpmath.eigsy(A.T * A, eigvals_only=True)), 0))


def _fro(M):
    return mpmath.sqrt(sum(_mp(x) ** 2 for x in np.asarray(M, dtype=object).reshape(-1)))


def _lambda_min(p):
    from certify._derivatives import Objective

    ex = Objective(p, "exact")
    H = ex.hessian(p.theta0)
    ev = mpmath.eigsy(_mpmat(H), eigvals_only=True)
    return min(ev), ex


def _random_specs(rng: random.Random, count: int):
    from ._instances import dyadic_spec

    out = []
    for k in range(count):
        N = 2 + k % 3
        d = [rng.randint(1, 3) for _ in range(N + 1)]
        while sum(d[j] * d[j + 1] for j in range(N)) > 14:
            d = [rng.randint(1, 2) for _ in range(N + 1)]
        out.append(dyadic_spec(rng, d, square=k % 3 == 2, m=lambda: rng.randint(1, 3)))
    return out


def _tight_specs():
    out = []
    for N, a in ((2, 0.5), (3, 0.125), (4, 0.25)):
        out.append({"dims": [1] * (N + 1), "loss": {"kind": "whitened", "target": [[1.0]]},
                    "init": {"weights": [[[a]] for _ in range(N)]}})
    return out


def _inverse(M):
    """Exact inverse of a nonsingular Fraction matrix (Gauss-Jordan)."""
    n = len(M)
    A = [list(M[i]) + [Fraction(int(i == j)) for j in range(n)] for i in range(n)]
    for k in range(n):
        piv = next(i for i in range(k, n) if A[i][k] != 0)
        A[k], A[piv] = A[piv], A[k]
        pk = A[k][k]
        A[k] = [x / pk for x in A[k]]
        for i in range(n):
            if i != k and A[i][k] != 0:
                f = A[i][k]
                A[i] = [x - f * y for x, y in zip(A[i], A[k])]
    return [row[n:] for row in A]


def _cayley(rng: random.Random, d: int):
    """A rational orthogonal matrix (I - A)(I + A)^{-1}, A rational skew-symmetric (I + A is invertible)."""
    A = [[Fraction(0)] * d for _ in range(d)]
    for i in range(d):
        for j in range(i + 1, d):
            v = Fraction(rng.randint(-4, 4), rng.randint(1, 4))
            A[i][j], A[j][i] = v, -v
    I_minus = np.array([[Fraction(int(i == j)) - A[i][j] for j in range(d)] for i in range(d)], dtype=object)
    I_plus_inv = np.array(_inverse([[Fraction(int(i == j)) + A[i][j] for j in range(d)] for i in range(d)]),
                          dtype=object)
    Q = I_minus.dot(I_plus_inv)
    if any(x != (1 if i == j else 0) for i, row in enumerate(Q.T.dot(Q)) for j, x in enumerate(row)):
        raise ProofFailure("Cayley transform is not orthogonal")
    return Q


def _balanced_instance(rng: random.Random, N: int, d: int):
    """Exactly balanced rational weights W_j = Q_j S Q_{j-1}^T and a rational target."""
    Qs = [_cayley(rng, d) for _ in range(N + 1)]
    S = np.zeros((d, d), dtype=object)
    S[...] = Fraction(0)
    svals = [Fraction(rng.randint(2, 9), 8) for _ in range(d)]
    for i in range(d):
        S[i, i] = svals[i]
    Ws = [Qs[j + 1].dot(S).dot(Qs[j].T) for j in range(N)]
    Phi = np.array([[Fraction(rng.randint(-12, 12), 8) for _ in range(d)] for _ in range(d)], dtype=object)
    return Ws, Phi, svals


def check(*, constant=None, rho_power_offset: int = 0, instances: int = 12, seed: int = 3) -> str:
    """``constant(N)`` replaces N - 1; ``rho_power_offset`` is added to the exponent N - 2."""
    from certify._problem import problem_from_dict

    const = constant or (lambda N: N - 1)
    rng = random.Random(seed)
    worst = 0.0
    with mpmath.workdps(50):
        specs = _tight_specs() + _random_specs(rng, instances)
        for spec in specs:
            p = problem_from_dict(spec)
            N = p.depth
            lam, ex = _lambda_min(p)
            Ws = [np.array([[Fraction(float(x)) for x in row] for row in w], dtype=object) for w in p.weights]
            rho = max(_norm2(W) for W in Ws)
            G = ex.grad_l(ex.prefix_products(Ws)[-1])
            bound = -const(N) * rho ** (N - 2 + rho_power_offset) * _fro(G)
            if lam < bound - mpmath.mpf(10) ** -35:
                raise ProofFailure(f"(a) lambda_min = {mpmath.nstr(lam, 12)} < bound {mpmath.nstr(bound, 12)} "
                                   f"(dims {list(p.dims)}, {p.loss.kind})")
            if bound < 0 and lam < 0:
                worst = max(worst, float(lam / bound))
        # (b) exactly balanced instances
        from certify._derivatives import Objective

        nb = 0
        for N, d in ((2, 2), (3, 2), (3, 3), (4, 2)):
            Ws, Phi, svals = _balanced_instance(rng, N, d)
            for j in range(N - 1):
                D = Ws[j + 1].T.dot(Ws[j + 1]) - Ws[j].dot(Ws[j].T)
                if any(x != 0 for x in D.reshape(-1)):
                    raise ProofFailure("(b) construction is not exactly balanced")
            spec = {"dims": [d] * (N + 1), "loss": {"kind": "whitened", "target": [[0.0] * d] * d},
                    "init": {"weights": [[[0.0] * d] * d] * N}}
            p = problem_from_dict(spec)
            ex = Objective(p, "exact")
            ex.Phi = Phi
            W = ex.prefix_products(Ws)[-1]
            G = ex.grad_l(W)
            grads = ex.grad_weights(Ws)
            gf2 = sum(_mp(x) ** 2 for g in grads for x in g.reshape(-1))
            smax, smin = _mp(max(svals)) ** N, _mp(min(svals)) ** N  # singular values of W are s_i^N
            rho = max(_norm2(Wj) for Wj in Ws)
            if abs(rho - smax ** (mpmath.mpf(1) / N)) > mpmath.mpf(10) ** -40:
                raise ProofFailure("(b) rho != ||W||_2^(1/N) on a balanced instance")
            if abs(_norm2(W) - smax) > mpmath.mpf(10) ** -40:
                raise ProofFailure("(b) ||W||_2 is not the product of the layer norms")
            lhs = gf2
            rhs = smin ** (mpmath.mpf(2 * (N - 1)) / N) * _fro(G) ** 2
            if lhs < rhs * (1 - mpmath.mpf(10) ** -40):
                raise ProofFailure("(b) ||grad f||^2 < sigma_min^(2(N-1)/N) ||G||_F^2")
            # the resulting bound on m against the exact Hessian
            H = np.empty((N * d * d, N * d * d), dtype=object)
            theta = np.concatenate([w.reshape(-1) for w in Ws])
            n = len(theta)
            for i in range(n):
                e = np.array([Fraction(0)] * n, dtype=object)
                e[i] = Fraction(1)
                H[:, i] = ex.hvp(theta, e)
            lam = min(mpmath.eigsy(_mpmat(H), eigvals_only=True))
            mb = const(N) * smax ** (mpmath.mpf(N - 2 + rho_power_offset) / N) * mpmath.sqrt(gf2) / \
                smin ** (mpmath.mpf(N - 1) / N)
            if -lam > mb + mpmath.mpf(10) ** -35:
                raise ProofFailure(f"(b) m = {mpmath.nstr(-lam, 12)} exceeds the balanced bound {mpmath.nstr(mb, 12)}")
            nb += 1
    return (f"(a) {len(specs)} exact Hessians, tightest lambda_min/bound = {worst:.4f}; "
            f"(b) {nb} exactly balanced instances")
