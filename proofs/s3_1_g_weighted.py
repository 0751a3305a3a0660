"""S3.1-G: the deep-linear curvature bound with G-weighted products, and its tube expansion."""

from __future__ import annotations

import random

from . import ProofFailure
from ._instances import mp_mat, mp_spec

LEMMA = "S3.1-G"
TITLE = "G-weighted curvature bound: lambda_min(Hf) >= -lambda_max(C^G), C^G_ij = ||A_j^T G B_i^T||_2 ||M_ij||_2"
STATEMENT = (
    "For the losses of S1 (Hl >= 0), every theta, with A_j = W_{N:j+1}, M_ij = W_{j-1:i+1}, B_i = W_{i-1:1} "
    "(empty products identities) and G = grad l(W_{N:1}): "
    "(i) lambda_min(Hf(theta)) >= -lambda_max(C^G), where C^G is symmetric N x N with zero diagonal and "
    "C^G_ij = ||A_j^T G B_i^T||_2 ||M_ij||_2 (i < j); C^G <= ||G||_2 C entrywise (C of S3.1), with equality "
    "for (i, j) = (1, N); any upper bounds of the norms may be used.  "
    "(ii) (tube expansion) for matrices A = A_0 + dA, G = G_0 + dG, B = B_0 + dB and numbers a_0 >= ||A_0||_2, "
    "g_0 >= ||G_0||_2, b_0 >= ||B_0||_2, a >= a_0 + ||dA||_2, g >= g_0 + ||dG||_2, b >= b_0 + ||dB||_2: "
    "||A^T G B^T||_2 <= ||A_0^T G_0 B_0^T||_2 + a g b - a_0 g_0 b_0.  "
    "(iii) lambda_max(g C + D) <= lambda_max(g' C + D) + (g - g') lambda_max(C) for g >= g' and symmetric C, D."
)
HYPOTHESES = "Hl[E,E] >= 0 (both square losses of S1); S2.2; spectral norms."
PROOF = """\
(i) As in S3.1, Hf[D,D] = Hl[E,E] + 2 sum_{i<j} <G, A_j D_j M_ij D_i B_i> with Hl[E,E] >= 0.  The trace is
cyclic: <G, A D_j M D_i B> = tr(G^T A D_j M D_i B) = tr((A^T G B^T)^T D_j M D_i) = <A^T G B^T, D_j M D_i>, and
trace duality gives |<P, X>| <= ||P||_2 ||X||_* with ||D_j M D_i||_* <= ||D_j||_F ||M||_2 ||D_i||_F.  With
x_j = ||D_j||_F the cross part is >= -x^T C^G x >= -lambda_max(C^G) ||x||^2 = -lambda_max(C^G) ||D||^2
(Rayleigh; C^G is symmetric and nonnegative, so larger entries only increase its Perron root).  Since
||A^T G B^T||_2 <= ||A||_2 ||G||_2 ||B||_2, C^G <= ||G||_2 C; for (1, N) both A and B are identities.
(ii) A^T G B^T - A_0^T G_0 B_0^T is the sum of the seven products with at least one factor among dA, dG, dB;
bound each by the product of the norms and add: the sum is (a_0 + da)(g_0 + dg)(b_0 + db) - a_0 g_0 b_0
(da = ||dA||_2 ...), which is increasing in every argument, so any of the upper bounds may replace them.
(iii) Weyl: lambda_max(X + Y) <= lambda_max(X) + lambda_max(Y) for symmetric X, Y; take X = g' C + D and
Y = (g - g') C.
Use in certify: on a tube around a moving base set (SPEC S3.3), A, G, B at a point z of the tube are the
origin's A_0, G_0, B_0 plus perturbations; pn(b, a) - sigma0(b, a) bounds ||dA|| (the base set's motion
plus the tube expansion) and g_t - g_0 bounds ||dG||, so the entry of C^G on the tube is at most
g_t C_ij + D_ij with D_ij = min(0, w_ij - a_0 g_0 b_0) pn(M_ij) (certify/bounds/s31.Tube, the checker's
certify/check/_verify.tube; contract gap-v2.md section 2).
Check: (i) on random small rational instances (depth 3-4, both losses: the pairs other than (1, N) exist),
the exact Hessian from sympy's scalar loss at 50 digits: -lambda_min <= lambda_max(C^G) <= ||G|| lambda_max(C).
(ii) on random instances and random perturbations of prescribed Frobenius size at 50 digits: the norm at the
perturbed point against the tube form w + pn(A) g_t pn(B) - a_0 g_0 b_0 of certify's tube (pn from the
layer expansion, g_t = g_0 + s_G (prod(n + x) - prod n)).  Not vacuous: C^G is strictly below ||G|| C on most
instances, and planted wrong formulas (no middle factor; the origin's G in place of g_t) are rejected.
"""


def check(*, middle: bool = True, g_motion: bool = True, instances: int = 24, seed: int = 37) -> str:
    """``middle=False`` drops ``||M_ij||`` from ``C^G``; ``g_motion=False`` uses ``g_0`` for ``g_t``."""
    import mpmath

    from certify.symbolic import entrywise_reference, random_rational_instance

    rng = random.Random(seed)
    with mpmath.workdps(50):
        eps = mpmath.mpf(10) ** -40
        mat, spec = mp_mat, mp_spec

        def lam_max(C):
            return max(mpmath.eigsy(C, eigvals_only=True))

        strict = worst = 0
        tube_checked = 0
        for k in range(instances):
            while True:
                N = rng.randint(3, 4)
                dims = tuple(rng.randint(1, 3) for _ in range(N + 1))
                if sum(dims[j] * dims[j + 1] for j in range(N)) <= 16:
                    break
            kind = ("whitened", "square")[k % 2]
            Ws, data = random_rational_instance(rng, dims, kind, denominators=(1, 2, 4), max_abs=2)
            Wm = [mat(W) for W in Ws]

            def prod(b, a, Wm=Wm, dims=dims):
                return _partial_product(Wm, dims, b, a)

            def grad_l(E2E, kind=kind, data=data):
                if kind == "whitened":
                    return E2E - mat(data)
                X, Y = mat(data[0]), mat(data[1])
                return (E2E * X - Y) * X.T / X.cols

            G = grad_l(prod(N, 1))
            g = spec(G)
            CG, C = mpmath.zeros(N, N), mpmath.zeros(N, N)
            for i in range(1, N + 1):
                for j in range(i + 1, N + 1):
                    Pij = prod(N, j + 1).T * G * prod(i - 1, 1).T
                    mid = spec(prod(j - 1, i + 1)) if middle else mpmath.mpf(1)
                    CG[i - 1, j - 1] = CG[j - 1, i - 1] = spec(Pij) * mid
                    C[i - 1, j - 1] = C[j - 1, i - 1] = spec(prod(N, j + 1)) * spec(prod(j - 1, i + 1)) * spec(
                        prod(i - 1, 1))
            _, _, H = entrywise_reference(dims, kind).evaluate(Ws, data)
            lam_min = min(mpmath.eigsy(mat(H.tolist()), eigvals_only=True))
            bound, plain = lam_max(CG), g * lam_max(C)
            if -lam_min > bound + eps * (1 + bound):
                raise ProofFailure(f"(i) dims={dims} {kind}: -lambda_min(Hf) = {mpmath.nstr(-lam_min, 12)} exceeds "
                                   f"lambda_max(C^G) = {mpmath.nstr(bound, 12)}")
            if middle and bound > plain + eps * (1 + plain):
                raise ProofFailure(f"(i) C^G above ||G|| C at dims={dims}")
            strict += bool(middle and bound < plain * (1 - mpmath.mpf(10) ** -6))
            if bound > 0:
                worst = max(worst, -lam_min / bound)
            tube_checked += _tube_case(rng, N, dims, Wm, prod, grad_l, kind, data, spec, mat, g_motion, eps)
    if strict < instances // 3:
        raise ProofFailure(f"vacuous: C^G below ||G|| C on only {strict}/{instances} instances")
    return (f"{instances} instances (depth 3-4): -lambda_min / lambda_max(C^G) <= {mpmath.nstr(worst, 4)}, "
            f"C^G strictly sharper than S3.1 on {strict}; tube expansion on {tube_checked} perturbed points")


def _partial_product(Ms, dims, b: int, a: int):
    """``M_b ... M_a`` (1-based, inclusive) of mpmath matrices; the identity of size ``d_{a-1}`` when ``b < a``."""
    import mpmath

    if b < a:
        return mpmath.eye(dims[a - 1])
    M = Ms[a - 1]
    for l in range(a + 1, b + 1):
        M = Ms[l - 1] * M
    return M


def _tube_case(rng, N, dims, Wm, prod, grad_l, kind, data, spec, mat, g_motion, eps) -> int:
    """(ii) on certify's tube form: perturb every layer by a random matrix of Frobenius norm ``x_l``."""
    import mpmath

    n = [spec(W) for W in Wm]
    x = [mpmath.mpf(rng.choice((1, 2, 3))) / 8 * (n[l] + 1) for l in range(N)]
    if kind == "whitened":
        s_G = mpmath.mpf(1)
    else:
        X = mat(data[0])
        s_G = spec(X * X.T / X.cols)

    def pn(b, a):  # certify's tube bound of ||Z_{b:a}|| (proofs/s3_1_tube.py (i))
        if b < a:
            return mpmath.mpf(1)
        hp = lp = mpmath.mpf(1)
        for l in range(a - 1, b):
            hp *= n[l] + x[l]
            lp *= n[l]
        return spec(prod(b, a)) + hp - lp

    G0 = grad_l(prod(N, 1))
    g0 = spec(G0)
    hp = lp = mpmath.mpf(1)
    for l in range(N):
        hp *= n[l] + x[l]
        lp *= n[l]
    g_t = g0 + s_G * (hp - lp) if g_motion else g0
    checked = 0
    for _ in range(3):
        Z = []
        for l, W in enumerate(Wm):
            E = mpmath.matrix([[rng.uniform(-1, 1) for _ in range(W.cols)] for _ in range(W.rows)])
            E *= x[l] * rng.uniform(0.5, 1) / mpmath.norm(E)  # Frobenius
            Z.append(W + E)

        def zprod(b, a, Z=Z):
            return _partial_product(Z, dims, b, a)

        Gz = grad_l(zprod(N, 1))
        for i in range(1, N + 1):
            for j in range(i + 1, N + 1):
                if (i, j) == (1, N):
                    continue
                w = spec(prod(N, j + 1).T * G0 * prod(i - 1, 1).T)
                a0, b0 = (spec(prod(N, j + 1)) if j < N else 1), (spec(prod(i - 1, 1)) if i > 1 else 1)
                bound = w + pn(N, j + 1) * g_t * pn(i - 1, 1) - a0 * g0 * b0
                true = spec(zprod(N, j + 1).T * Gz * zprod(i - 1, 1).T)
                if true > bound + eps * (1 + bound):
                    raise ProofFailure(f"(ii) dims={dims}: ||A^T G B^T|| = {mpmath.nstr(true, 12)} at a perturbed "
                                       f"point exceeds the tube form {mpmath.nstr(bound, 12)} (pair {i}, {j})")
                checked += 1
    return checked
