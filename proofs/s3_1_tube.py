"""S3.1 on a tube: the norm bounds that turn S3.1 at one point into a bound over a neighbourhood."""

from __future__ import annotations

import random

import mpmath
import numpy as np

from . import ProofFailure

LEMMA = "S3.1-tube"
TITLE = "S3.1 over a tube: product perturbation, power spectral bound, Collatz-Wielandt"
STATEMENT = (
    "(i) If ||E_l||_2 <= ||E_l||_F <= d_l and ||W_l||_2 <= n_l then "
    "||prod_l (W_l + E_l)||_2 <= ||prod_l W_l||_2 + prod_l (n_l + d_l) - prod_l n_l; "
    "(ii) for any matrix M, B = M^T M, c >= ||B||_F > 0 and k = 2^s: ||M||_2 <= sqrt(c) ||(B/c)^k||_F^(1/(2k)), "
    "and the overestimate is at most rank(M)^(1/(4k)); "
    "(iii) for C >= 0 entrywise and any x > 0: lambda_max(C) <= rho(C) <= max_i (C x)_i / x_i."
)
HYPOTHESES = "Real matrices of compatible shapes; in (iii) C symmetric for lambda_max = rho(C)."
PROOF = """\
(i) Expand prod (W_l + E_l) = prod W_l + sum over the non-empty sets S of layers taking E_l for l in S.
Each such term has spectral norm <= prod_{l not in S} n_l prod_{l in S} d_l, and the sum of these over all
non-empty S is prod (n_l + d_l) - prod n_l.
(ii) B is symmetric PSD with lambda_max(B) = ||M||_2^2; (B/c)^k is PSD with largest eigenvalue
(||M||_2^2 / c)^k <= ||(B/c)^k||_F.  Taking the (1/k)-th power and multiplying by c gives ||M||_2^2 <=
c ||(B/c)^k||_F^(1/k).  ||X||_F <= sqrt(rank) ||X||_2 gives the overestimate.
(iii) Collatz-Wielandt: for C >= 0 and x > 0, C x <= (max_i (Cx)_i/x_i) x, so rho(C) <= that maximum
(Perron-Frobenius); for symmetric C, lambda_max(C) <= rho(C).
The check compares each inequality with exact or 50-digit values on random instances, including
near-tight ones (aligned singular vectors).
"""


def _svd_norm(M):
    with mpmath.workdps(50):
        A = mpmath.matrix(M.tolist())
        return float(mpmath.sqrt(max(mpmath.eigsy(A.T * A, eigvals_only=True))))


def check(*, drop_perturbation: bool = False, squarings: int = 5, exponent_scale: float = 1.0,
          instances: int = 40) -> str:
    rng = random.Random(31)
    nprng = np.random.default_rng(31)
    worst = 1.0
    for _ in range(instances):
        L, d = rng.randint(1, 4), rng.randint(1, 4)
        Ws = [nprng.standard_normal((d, d)) for _ in range(L)]
        if rng.random() < 0.3:  # aligned: the perturbation bound is nearly tight
            u = nprng.standard_normal((d, 1))
            u /= np.linalg.norm(u)
            Ws = [np.eye(d) + 2 * (u @ u.T) for _ in range(L)]
            Es = [0.1 * (u @ u.T) for _ in range(L)]
        else:
            Es = [0.1 * nprng.standard_normal((d, d)) for _ in range(L)]
        n = [_svd_norm(W) * (1 + 1e-12) for W in Ws]
        dd = [float(np.linalg.norm(E)) * (1 + 1e-12) for E in Es]
        P = Ws[0]
        PE = Ws[0] + Es[0]
        for W, E in zip(Ws[1:], Es[1:]):
            P, PE = W @ P, (W + E) @ PE
        pert = 0.0 if drop_perturbation else float(np.prod([a + b for a, b in zip(n, dd)]) - np.prod(n))
        if _svd_norm(PE) > _svd_norm(P) + pert + 1e-9:
            raise ProofFailure(f"(i) product perturbation bound fails (L={L}, d={d})")
        # (ii) the power bound, computed at 50 digits
        M = nprng.standard_normal((d + 1, d))
        with mpmath.workdps(50):
            A = mpmath.matrix(M.tolist())
            B = A.T * A
            c = mpmath.mnorm(B, "F")
            X = B / c
            for _ in range(squarings):
                X = X * X
            bound = mpmath.sqrt(c) * mpmath.mnorm(X, "F") ** (mpmath.mpf(1) / (exponent_scale * 2 * 2**squarings))
        true = _svd_norm(M)
        if true > float(bound) * (1 + 1e-12):
            raise ProofFailure("(ii) power bound below the spectral norm")
        if float(bound) > true * d ** (1 / (4 * 2**squarings)) * (1 + 1e-9):
            raise ProofFailure(f"(ii) overestimate beyond rank^(1/4k): {float(bound) / true}")
        worst = max(worst, float(bound) / true)
        # (iii)
        C = np.abs(nprng.standard_normal((d, d)))
        C = C + C.T
        x = np.abs(nprng.standard_normal(d)) + 0.1
        cw = float(np.max(C @ x / x))
        if float(np.linalg.eigvalsh(C)[-1]) > cw * (1 + 1e-12):
            raise ProofFailure("(iii) Collatz-Wielandt bound fails")
    return f"{instances} random instances; worst power-bound overestimate {worst:.4f}"
