"""S2.2-ce-bound: Hl[E,E] <= (1/2) ||E X||_F^2 / m for softmax cross-entropy, 1/4 for the logistic loss."""

from __future__ import annotations

import random

import sympy as sp

from . import ProofFailure

LEMMA = "S2.2-ce-bound"
TITLE = "Cross-entropy: 0 <= Hl[E,E] <= (s_max/2) ||E X||_F^2 / m (lambda_max(diag p - pp^T) <= 1/2); logistic: 1/4"
STATEMENT = (
    "For p in the probability simplex, lambda_max(diag(p) - p p^T) <= max_c 2 p_c (1 - p_c) <= 1/2, with equality "
    "at p = (1/2, 1/2, 0, ..): the constant 1/2 cannot be lowered. Hence for softmax cross-entropy with Y >= 0, "
    "s_i = sum_c Y_ci, 0 <= Hl(W)[E,E] <= (max_i s_i / 2) ||E X||_F^2 / m for all W, E (= ||E X||_F^2 / (2m) for "
    "probability columns), and sup_W ||Hl(W)||_2 <= (max_i s_i / 2) ||X||_2^2 / m. For the logistic loss "
    "sigma (1 - sigma) <= 1/4 (equality at sigma = 1/2), so 0 <= Hl(W)[E,E] <= ||E X||^2 / (4m)."
)
HYPOTHESES = "Y >= 0 (probability columns in S1); the Hessian formulas of S2.2-ce-psd (proofs/ce_hessian_psd.py)."
PROOF = """\
Gershgorin: row c of A = diag(p) - p p^T has diagonal entry p_c - p_c^2 = p_c (1 - p_c) and off-diagonal entries
-p_c p_k, k != c, whose absolute values sum to p_c (1 - p_c) (sum_k p_k = 1, p >= 0).  Every eigenvalue of A lies in
a disc centred at p_c (1 - p_c) of that radius, so lambda_max(A) <= max_c 2 p_c (1 - p_c), and
1/2 - 2 q (1 - q) = 2 (q - 1/2)^2 >= 0.  At p = (1/2, 1/2, 0..) and v = (1, -1, 0..): v^T A v = 1 = ||v||^2 / 2.
With S2.2-ce-psd, Hl[E,E] = (1/m) sum_i s_i v_i^T A_i v_i <= (1/m) sum_i s_i ||v_i||^2 / 2 <= (s_max/2) ||E X||_F^2 / m
since sum_i ||E x_i||^2 = ||E X||_F^2; and ||E X||_F <= ||E||_F ||X||_2 gives the operator-norm bound.  Logistic:
1/4 - sigma (1 - sigma) = (sigma - 1/2)^2.
Check: (a) sympy: the Gershgorin row identity for d = 2..5 (symbolic p on the simplex), the square identity, and
the maximiser of 2 q (1 - q) on [0, 1] (sympy.solve of the derivative: q = 1/2, value 1/2); (b) exact: c I - A is
positive semidefinite (sympy, rationals) with c = 1/2 at 40 random rational simplex points and at the tight point,
where A has the eigenvalue 1/2 exactly (a smaller constant fails there); (c) logistic: the square identity and
tightness at sigma = 1/2; (d) the implementation: CrossEntropy.hessian_bound() >= s_max/2 and Logistic's >= 1/4,
hessian_form_upper(E) >= Hl[E,E] (sympy's second derivative at 50 digits) on random instances including the tight
one (W = 0, two classes, where the ratio is exactly 1/2), and hessian_norm_upper() >= the largest eigenvalue of the
full Hessian (built from sympy's second derivatives at 30 digits).
"""


def check(*, constant=sp.Rational(1, 2), logistic_constant=sp.Rational(1, 4), simplex_points: int = 40,
          implementation: bool = True, seed: int = 222) -> str:
    """``constant`` / ``logistic_constant`` replace 1/2 and 1/4 (a smaller one must fail)."""
    c = sp.nsimplify(constant)
    cl = sp.nsimplify(logistic_constant)
    # (a) Gershgorin rows on the simplex
    for d in range(2, 6):
        p = list(sp.symbols(f"p0:{d - 1}", nonnegative=True))
        p.append(1 - sum(p))
        A = sp.diag(*p) - sp.Matrix(p) * sp.Matrix(p).T
        for r in range(d):
            off = sum(-A[r, k] for k in range(d) if k != r)  # entries are -p_r p_k <= 0
            if sp.expand(off - p[r] * (1 - p[r])) != 0 or sp.expand(A[r, r] - p[r] * (1 - p[r])) != 0:
                raise ProofFailure(f"(a) d={d}: Gershgorin row {r} is not centre = radius = p_r (1 - p_r)")
    q = sp.Symbol("q", real=True)
    if sp.expand(sp.Rational(1, 2) - 2 * q * (1 - q) - 2 * (q - sp.Rational(1, 2)) ** 2) != 0:
        raise ProofFailure("(a) 1/2 - 2q(1-q) != 2 (q - 1/2)^2")
    crit = sp.solve(sp.diff(2 * q * (1 - q), q), q)
    vmax = max([2 * q0 * (1 - q0) for q0 in crit] + [0])
    if vmax > c:
        raise ProofFailure(f"(a) max 2q(1-q) = {vmax} exceeds the constant {c}")
    # (b) exact PSD of c I - A, and the tight point
    rng = random.Random(seed)
    pts = [[sp.Rational(1, 2), sp.Rational(1, 2)], [sp.Rational(1, 2), sp.Rational(1, 2), 0]]
    for _ in range(simplex_points):
        d = rng.randint(2, 5)
        w = [rng.randint(0, 6) for _ in range(d)]
        if not any(w):
            w[0] = 1
        pts.append([sp.Rational(x, sum(w)) for x in w])
    for p in pts:
        A = sp.diag(*p) - sp.Matrix(p) * sp.Matrix(p).T
        if not (c * sp.eye(len(p)) - A).is_positive_semidefinite:
            raise ProofFailure(f"(b) lambda_max(diag p - pp^T) > {c} at p = {p}")
    tight = sp.diag(*pts[0]) - sp.Matrix(pts[0]) * sp.Matrix(pts[0]).T
    if sp.Rational(1, 2) not in tight.eigenvals():
        raise ProofFailure("(b) the tight point does not have eigenvalue 1/2")
    # (c) logistic
    if sp.expand(sp.Rational(1, 4) - q * (1 - q) - (q - sp.Rational(1, 2)) ** 2) != 0:
        raise ProofFailure("(c) 1/4 - s(1-s) != (s - 1/2)^2")
    if sp.Rational(1, 4) > cl:
        raise ProofFailure(f"(c) sigma(1 - sigma) = 1/4 at sigma = 1/2 exceeds the constant {cl}")
    detail = f"(a) Gershgorin d=2..5, max 2q(1-q) = {vmax}; (b) {len(pts)} exact PSD, tight eigenvalue 1/2; (c) logistic 1/4"
    if implementation:
        detail += "; (d) " + _check_implementation(random.Random(seed + 1), float(c), float(cl))
    return detail


def _check_implementation(rng: random.Random, c: float, cl: float, points: int = 3) -> str:
    import mpmath
    import numpy as np

    from certify.losses import CrossEntropy, Logistic

    from .ce_common import ce_functions, hessian_matrix, logistic_functions
    from .ce_hessian_psd import _mp_rows, _random_instance

    worst = 0.0
    cases = [("tight", 2, 1, 1)] + [("rand", rng.randint(1, 3), rng.randint(1, 2), rng.randint(1, 3)) for _ in range(points)]
    for kind, dN, d0, m in cases:
        if kind == "tight":
            W, X, Y, E = np.zeros((2, 1)), np.ones((1, 1)), np.array([[1.0], [0.0]]), np.array([[1.0], [-1.0]])
        else:
            W, X, Y, E = _random_instance(rng, dN, d0, m, soft=rng.random() < 0.5)
        loss = CrossEntropy(X, Y)
        if loss.hessian_bound() < c * float(loss.s.max()) * (1 - 1e-15):
            raise ProofFailure(f"(d) CrossEntropy.hessian_bound() = {loss.hessian_bound()} < {c} s_max")
        f = ce_functions(dN, d0)
        with mpmath.workdps(50):
            Wm, Xm, Ym, Em = _mp_rows(W), _mp_rows(X), _mp_rows(Y), _mp_rows(E)
            cols = [([Xm[b][i] for b in range(d0)], [Ym[a][i] for a in range(dN)]) for i in range(m)]
            h = sum(f.hess(Wm, x, y, Em) for x, y in cols) / m
            ex2 = sum(sum(sum(Em[a][b] * x[b] for b in range(d0)) ** 2 for a in range(dN)) for x, _ in cols) / m
            if ex2 > 0:
                worst = max(worst, float(h / ex2))
            if mpmath.mpf(loss.hessian_form_upper(E)) < h:
                raise ProofFailure(f"(d) hessian_form_upper(E) = {loss.hessian_form_upper(E)} < Hl[E,E] = {h}")
            if h > mpmath.mpf(c) * float(loss.s.max()) * ex2 * (1 + mpmath.mpf(10) ** -40):
                raise ProofFailure(f"(d) Hl[E,E] = {h} > {c} s_max ||E X||^2/m = {c * ex2}")
            # the full Hessian (basis directions, polarisation) and its largest eigenvalue
            H = hessian_matrix(f, Wm, cols, dN, d0)
            lam = max(mpmath.eigsy(H, eigvals_only=True))
            if mpmath.mpf(loss.hessian_norm_upper()) < lam:
                raise ProofFailure(f"(d) hessian_norm_upper() = {loss.hessian_norm_upper()} < lambda_max(Hl) = {lam}")
    for _ in range(2):
        d0, m = rng.randint(1, 2), rng.randint(1, 3)
        W, X, _, E = _random_instance(rng, 1, d0, m, soft=False)
        y = [rng.choice((-1, 1)) for _ in range(m)]
        loss = Logistic(X, y)
        if loss.hessian_bound() < cl:
            raise ProofFailure("(d) Logistic.hessian_bound() < 1/4")
        f = logistic_functions(d0)
        with mpmath.workdps(50):
            Wm, Xm, Em = _mp_rows(W), _mp_rows(X), _mp_rows(E)
            h = sum(f.hess(Wm, [Xm[b][i] for b in range(d0)], y[i], Em) for i in range(m)) / m
            if mpmath.mpf(loss.hessian_form_upper(E)) < h:
                raise ProofFailure("(d) Logistic.hessian_form_upper(E) < Hl[E,E]")
    if worst < 0.5 - 1e-12 and c >= 0.5:
        raise ProofFailure(f"(d) the tight instance reached only {worst} (expected 1/2)")
    return f"worst Hl[E,E] / (||E X||^2/m) = {worst:.6f} (tight: 1/2)"
