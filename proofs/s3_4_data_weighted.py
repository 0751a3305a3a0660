"""The data-weighted Gauss-Newton bound: ||Hf||_2 without charging every layer the data's top eigenvalue."""

from __future__ import annotations

import random

import mpmath
import numpy as np

from . import ProofFailure

LEMMA = "S3.4-data"
TITLE = "Data-weighted Gauss-Newton part of ||Hf||_2 (square loss), with a rank-one split of Sxx"
STATEMENT = (
    "Square loss l(W) = ||W X - Y||_F^2 / (2m), Sxx = X X^T / m, f(theta) = l(W_N ... W_1), "
    "A_j = W_N ... W_{j+1}, B_j = W_{j-1} ... W_1 (identity when empty), G = grad l.  "
    "(i) ||Hf(theta)||_2 <= sum_j ||A_j||_2^2 lambda_max(B_j Sxx B_j^T) + ||G||_2 lambda_max(C) "
    "(C as in S3.1); "
    "(ii) for every vector u, every c >= 0 and s_r >= ||Sxx - c u u^T||_2: "
    "lambda_max(B Sxx B^T) <= c ||B u||_2^2 + s_r ||B||_2^2 for every B; "
    "(iii) both are at most S3.1's s_G sum_j ||A_j||^2 ||B_j||^2 form when s_G >= ||Sxx||_2 "
    "(so taking the smaller per layer is never worse)."
)
HYPOTHESES = "Real matrices of compatible shapes; Sxx symmetric positive semidefinite."
PROOF = """\
(i) Hf = J^T Hl J + T, where J dtheta = sum_j A_j dW_j B_j is the differential of the end-to-end map and T is
the second-order term <G, d^2 W_{N:1}>, whose norm S3.1 bounds by ||G||_2 lambda_max(C).  For the square loss
Hl[E, E] = ||E X||_F^2 / m = ||E Sxx^{1/2}||_F^2, so
  (J^T Hl J)[dtheta, dtheta] = ||sum_j A_j dW_j B_j Sxx^{1/2}||_F^2
                            <= (sum_j ||A_j||_2 ||dW_j||_F ||B_j Sxx^{1/2}||_2)^2
                            <= (sum_j ||A_j||_2^2 ||B_j Sxx^{1/2}||_2^2) (sum_j ||dW_j||_F^2)   (Cauchy-Schwarz),
and ||B_j Sxx^{1/2}||_2^2 = lambda_max(B_j Sxx B_j^T).  J^T Hl J is PSD, so its norm is the largest value of
this form on unit dtheta.
(ii) B Sxx B^T = c (B u)(B u)^T + B R B^T with R = Sxx - c u u^T; lambda_max of a sum is at most the sum of the
lambda_max's; lambda_max(c v v^T) = c ||v||^2 for c >= 0, and lambda_max(B R B^T) <= ||R||_2 ||B||_2^2.
(iii) lambda_max(B Sxx B^T) <= ||Sxx||_2 ||B||_2^2.
The check compares (i) with the 50-digit largest eigenvalue of the exact Gauss-Newton matrix J^T (Sxx x I) J
and (ii) with the 50-digit lambda_max(B Sxx B^T), on random instances whose Sxx has one dominant direction
(as image data has: the mean image) and on instances without one.
"""


def _lam_max(M) -> mpmath.mpf:
    with mpmath.workdps(50):
        return max(mpmath.eigsy(mpmath.matrix(M), eigvals_only=True))


def _norm2(M) -> mpmath.mpf:
    with mpmath.workdps(50):
        A = mpmath.matrix(M)
        return mpmath.sqrt(_lam_max(A.T * A))


def gauss_newton_matrix(Ws, Sxx):
    """The 50-digit Gauss-Newton matrix J^T (Sxx (x) I) J, J = d vec(W_{N:1}) / d theta (column-major vec)."""
    with mpmath.workdps(50):
        N = len(Ws)
        dN, d0 = Ws[-1].shape[0], Ws[0].shape[1]
        cols = []
        for j in range(N):
            A = np.eye(dN) if j == N - 1 else _prod(Ws[j + 1:])
            B = np.eye(d0) if j == 0 else _prod(Ws[:j])
            r, c = Ws[j].shape
            for q in range(c):
                for p in range(r):
                    E = np.zeros((r, c))
                    E[p, q] = 1.0
                    cols.append((A @ E @ B).reshape(-1, order="F"))
        J = mpmath.matrix(np.array(cols).T.tolist())
        H = mpmath.matrix(np.kron(Sxx, np.eye(dN)).tolist())
        return J.T * H * J


def _prod(Ws):
    P = Ws[0]
    for W in Ws[1:]:
        P = W @ P
    return P


def check(*, drop_rest: bool = False, one_layer_only: bool = False, instances: int = 12) -> str:
    rng = random.Random(34)
    nprng = np.random.default_rng(34)
    worst_i = worst_ii = 0.0
    for it in range(instances):
        N = rng.randint(2, 3)
        dims = [rng.randint(2, 4) for _ in range(N + 1)]
        Ws = [nprng.standard_normal((dims[j + 1], dims[j])) * 0.7 for j in range(N)]
        m = 6
        X = nprng.standard_normal((dims[0], m))
        if it % 2 == 0:  # one dominant direction (a mean image)
            X += 3.0 * nprng.standard_normal((dims[0], 1))
        Sxx = X @ X.T / m
        ev, V = np.linalg.eigh(Sxx)
        u, c = V[:, -1], float(ev[-1])
        with mpmath.workdps(50):
            s_r = _norm2(Sxx - c * np.outer(u, u))
            s_G = _norm2(Sxx)
            gn_true = _lam_max(gauss_newton_matrix(Ws, Sxx))
            bound_i = bound_ii = bound_iii = mpmath.mpf(0)
            for j in range(N):
                A = np.eye(dims[-1]) if j == N - 1 else _prod(Ws[j + 1:])
                B = np.eye(dims[0]) if j == 0 else _prod(Ws[:j])
                a2 = _norm2(A) ** 2
                lam = _lam_max(B @ Sxx @ B.T)
                split = c * mpmath.mpf(float(np.linalg.norm(B @ u))) ** 2 + (0 if drop_rest else s_r) * _norm2(B) ** 2
                if lam > split * (1 + mpmath.mpf(10) ** -12):
                    raise ProofFailure(f"(ii) rank-one split below lambda_max(B Sxx B^T): {lam} > {split}")
                worst_ii = max(worst_ii, float(split / lam) if lam > 0 else 1.0)
                if one_layer_only and j > 0:
                    continue
                bound_i += a2 * lam
                bound_ii += a2 * min(split, s_G * _norm2(B) ** 2)
                bound_iii += a2 * s_G * _norm2(B) ** 2
            if gn_true > bound_i * (1 + mpmath.mpf(10) ** -12):
                raise ProofFailure(f"(i) Gauss-Newton norm {gn_true} above the data-weighted bound {bound_i}")
            if not (bound_i <= bound_ii * (1 + mpmath.mpf(10) ** -12) <= bound_iii * (1 + mpmath.mpf(10) ** -11)):
                raise ProofFailure("(iii) ordering of the three bounds fails")
            worst_i = max(worst_i, float(bound_i / gn_true))
    return (f"{instances} random instances (depth 2-3); data-weighted bound / true Gauss-Newton norm <= "
            f"{worst_i:.3f}; split / lambda_max(B Sxx B^T) <= {worst_ii:.3f}")
