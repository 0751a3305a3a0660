"""S3.1: the deep-linear curvature bound lambda_min(Hf) >= -||G||_2 lambda_max(C)."""

from __future__ import annotations

import random

from . import ProofFailure
from ._instances import mp_mat, mp_spec

LEMMA = "S3.1"
TITLE = "Deep-linear curvature bound: lambda_min(Hf) >= -||G||_2 lambda_max(C)"
STATEMENT = (
    "For the losses of S1 (Hl >= 0), every theta: lambda_min(Hf(theta)) >= -||G||_2 lambda_max(C), where "
    "G = grad l(W_{N:1}) and C is the symmetric N x N matrix with zero diagonal and "
    "C_ij = C_ji = ||W_{N:j+1}||_2 ||W_{j-1:i+1}||_2 ||W_{i-1:1}||_2 for i < j (spectral norms; empty "
    "products are identities, norm 1).  Any upper bounds of the norms may be used (C is entrywise "
    "nonnegative, so lambda_max(C) is monotone in its entries).  The bound is attained (N = 2, W = 0)."
)
HYPOTHESES = "Hl[E,E] >= 0 (true for both square losses of S1); S2.2."
PROOF = """\
Let D = (D_1..D_N) with ||D||^2 = sum_j ||D_j||_F^2 and x_j = ||D_j||_F.  By S2.2,
Hf[D,D] = Hl[E,E] + 2 sum_{i<j} <G, A_j D_j B_ij D_i C_i> with A_j = W_{N:j+1}, B_ij = W_{j-1:i+1},
C_i = W_{i-1:1}.  Hl[E,E] = ||E||_F^2 or ||E X||_F^2 / m is >= 0.  For each cross term, trace duality
(Hoelder for Schatten norms, p = infinity and 1) gives |<G, M>| <= ||G||_2 ||M||_*, and
||A D_j B D_i C||_* <= ||A||_2 ||D_j B D_i||_* ||C||_2 <= ||A||_2 ||D_j||_F ||B D_i||_F ||C||_2
<= ||A||_2 ||B||_2 ||C||_2 x_j x_i = C_ij x_i x_j   (||XY||_* <= ||X||_F ||Y||_F by Cauchy-Schwarz for
singular values, and ||P X Q||_S <= ||P||_2 ||X||_S ||Q||_2 for any unitarily invariant norm).
Hence 2 sum_{i<j} |<G, ...>| <= ||G||_2 sum_{i != j} C_ij x_i x_j = ||G||_2 x^T C x
<= ||G||_2 lambda_max(C) ||x||^2 = ||G||_2 lambda_max(C) ||D||^2 (Rayleigh), so
Hf[D,D] >= -||G||_2 lambda_max(C) ||D||^2 for all D, i.e. lambda_min(Hf) >= -||G||_2 lambda_max(C).
Replacing the norms by upper bounds can only increase the nonnegative C entrywise, and lambda_max of a
nonnegative symmetric matrix is its Perron root, monotone in the entries.
Tightness: N = 2, W_1 = W_2 = 0: Hf[D,D] = 2 <G, D_2 D_1>; with D_2 = u e^T, D_1 = e v^T (u, v top
singular vectors of G, ||e|| = 1) and D scaled by 1/sqrt 2 this is -||G||_2 for the sign flipped, while
C = [[0,1],[1,0]] gives bound ||G||_2.
Check: on random small rational/dyadic instances (depth 2..4, widths <= 3, both losses) the exact
Hessian is the Hessian of sympy's scalar loss (certify.symbolic, exact rationals), its eigenvalues and
the spectral norms are computed at 50 digits (mpmath), and -lambda_min <= bound is confirmed.  Not
vacuous: at the tight instances the ratio -lambda_min / bound is 1 (to 40 digits), and most random
instances have negative curvature.
"""


def _c_entry_default(nrm, N, i, j):
    return nrm(N, j + 1) * nrm(j - 1, i + 1) * nrm(i - 1, 1)


def check(*, bound_scale=1, c_entry=None, instances: int = 30, seed: int = 31) -> str:
    """``bound_scale`` multiplies the bound; ``c_entry(nrm, N, i, j)`` replaces ``C_ij`` (``nrm(b, a)``
    is ``||W_{b:a}||_2``)."""
    import mpmath

    from certify.symbolic import entrywise_reference, random_rational_instance

    centry = c_entry or _c_entry_default
    rng = random.Random(seed)
    cases = []
    for k in range(instances):  # random instances
        while True:
            N = rng.randint(2, 4)
            dims = tuple(rng.randint(1, 3) for _ in range(N + 1))
            if sum(dims[j] * dims[j + 1] for j in range(N)) <= 14:
                break
        kind = ("whitened", "square")[k % 2]
        dens = (1, 2, 4, 8) if k % 3 else (1, 2, 3, 5, 7)  # dyadic or not
        cases.append(("random", dims, kind) + random_rational_instance(rng, dims, kind, denominators=dens,
                                                                         max_abs=2))
    for kind in ("whitened", "square"):  # tight: N = 2 at W = 0
        dims = (rng.randint(1, 3), rng.randint(1, 3), rng.randint(1, 3))
        Ws, data = random_rational_instance(rng, dims, kind, denominators=(1, 2, 3), samples=3)
        Ws = [[[0 * x for x in row] for row in W] for W in Ws]
        cases.append(("tight", dims, kind, Ws, data))

    worst_ratio = mpmath.mpf(0)
    tight_ratio = mpmath.mpf(1)
    negative = 0
    with mpmath.workdps(50):
        eps = mpmath.mpf(10) ** -40
        mat, spec = mp_mat, mp_spec

        for label, dims, kind, Ws, data in cases:
            N = len(dims) - 1
            _, _, H = entrywise_reference(dims, kind).evaluate(Ws, data)
            ev = mpmath.eigsy(mat(H.tolist()), eigvals_only=True)
            lam_min = min(ev)
            Wm = [mat(W) for W in Ws]

            def prod(b, a):
                M = Wm[a - 1]
                for l in range(a + 1, b + 1):
                    M = Wm[l - 1] * M
                return M

            def nrm(b, a):
                return mpmath.mpf(1) if b < a else spec(prod(b, a))

            E2E = prod(N, 1)
            if kind == "whitened":
                G = E2E - mat(data)
            else:
                X, Y = mat(data[0]), mat(data[1])
                G = (E2E * X - Y) * X.T / X.cols
            C = mpmath.zeros(N, N)
            for i in range(1, N + 1):
                for j in range(i + 1, N + 1):
                    C[i - 1, j - 1] = C[j - 1, i - 1] = centry(nrm, N, i, j)
            bound = spec(G) * max(mpmath.eigsy(C, eigvals_only=True)) * bound_scale
            if -lam_min > bound + eps * (1 + bound):
                raise ProofFailure(
                    f"{label} instance dims={dims}, {kind}: -lambda_min(Hf) = {mpmath.nstr(-lam_min, 12)} "
                    f"exceeds the S3.1 bound {mpmath.nstr(bound, 12)}"
                )
            ratio = -lam_min / bound if bound > 0 else mpmath.mpf(0)
            if label == "tight":
                tight_ratio = min(tight_ratio, ratio)
            else:
                worst_ratio = max(worst_ratio, ratio)
                negative += lam_min < -eps
    if abs(tight_ratio - 1) > mpmath.mpf(10) ** -30:
        raise ProofFailure(f"the bound is not attained at the tight instances (ratio {mpmath.nstr(tight_ratio, 12)})")
    if negative < instances // 4:
        raise ProofFailure(f"vacuous test: only {negative}/{instances} random instances have negative curvature")
    return (f"{instances} instances ({negative} with lambda_min < 0), -lambda_min/bound <= "
            f"{mpmath.nstr(worst_ratio, 4)}; attained at W=0")
