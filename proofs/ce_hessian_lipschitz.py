"""S2.2-ce-lip: a Lipschitz constant of W -> Hl(W) for softmax cross-entropy and the logistic loss."""

from __future__ import annotations

import random
from fractions import Fraction

import sympy as sp

from . import ProofFailure

LEMMA = "S2.2-ce-lip"
TITLE = "Hessian Lipschitz: ||Hl(W) - Hl(W')||_2 <= c K_X ||W - W'||_F, c = s_max/sqrt(2) (CE), sqrt(3)/18 (logistic)"
STATEMENT = (
    "Let K_X = min((1/m) sum_i ||x_i||^3, max_i ||x_i|| ||X||_2^2 / m). (i) Softmax cross-entropy with Y >= 0, "
    "s_i = sum_c Y_ci: D^3 l(W)[A,B,B] = (1/m) sum_i s_i sum_c p_ic (a_ic - abar_i)(b_ic - bbar_i)^2 with a_i = A x_i, "
    "b_i = B x_i, abar_i = p_i . a_i, bbar_i = p_i . b_i, and |D^3 l(W)[A,B,B]| <= (s_max/sqrt 2) K_X ||A||_F ||B||_F^2; "
    "hence ||Hl(W) - Hl(W')||_2 <= (s_max/sqrt 2) K_X ||W - W'||_F for all W, W' (operator norm of the Hessian on "
    "R^{d_N x d_0} with the Frobenius norm). (ii) Logistic loss (d_N = 1, y_i = +-1): D^3 l(W)[A,B,B] = "
    "-(1/m) sum_i y_i sigma_i (1 - sigma_i)(1 - 2 sigma_i) (A x_i)(B x_i)^2, sigma_i = sigma(-y_i W x_i), "
    "max_{[0,1]} |s (1 - s)(1 - 2 s)| = sqrt(3)/18, and the same conclusion holds with c = sqrt(3)/18."
)
HYPOTHESES = "Y >= 0; labels exactly +-1; the Hessian formulas of S2.2-ce-psd."
PROOF = """\
(i) Along z + t a, d p_c/dt = p_c (a_c - abar).  Differentiating Var_p(b) = sum_c p_c b_c^2 - bbar^2 (S2.2-ce-psd)
gives sum_c p_c (a_c - abar) b_c^2 - 2 bbar sum_c p_c (a_c - abar) b_c = sum_c p_c (a_c - abar)(b_c - bbar)^2
(using sum_c p_c (a_c - abar) = 0).  Bound: |sum_c p_c (a_c - abar)(b_c - bbar)^2| <= max_c |a_c - abar| Var_p(b);
abar lies between min a and max a, so max_c |a_c - abar| <= max a - min a = a_j - a_k <= |a_j| + |a_k| <=
sqrt 2 ||a||; and Var_p(b) <= ||b||^2 / 2 (S2.2-ce-bound).  So the per-sample term is at most
(s_i/sqrt 2) ||A x_i|| ||B x_i||^2.  Then (1/m) sum_i ||A x_i|| ||B x_i||^2 <= ||A||_2 ||B||_2^2 (1/m) sum ||x_i||^3
and <= ||A||_2 max_i ||x_i|| ||B X||_F^2 / m <= ||A||_2 max_i ||x_i|| ||B||_F^2 ||X||_2^2 / m; ||.||_2 <= ||.||_F.
For symmetric Hessians ||H||_2 = sup_{||B||_F = 1} |H[B,B]| and Hl(W)[B,B] - Hl(W')[B,B] = int_0^1 D^3 l(W' + tau (W - W'))
[W - W', B, B] dtau, which gives the Lipschitz bound.  (ii) With t = -y z: d/dz = -y sigma(t), d^2/dz^2 = y^2 sigma
(1 - sigma), d^3/dz^3 = -y^3 sigma (1 - sigma)(1 - 2 sigma); f(s) = s(1-s)(1-2s) has f'(s) = 6s^2 - 6s + 1 = 0 at
s = (3 +- sqrt 3)/6, where |f| = sqrt(3)/18, and f(0) = f(1) = 0; |y|^3 = 1; the rest as in (i).
Check: (a) sympy: the third derivative d/ds d^2/dt^2 l(W + sA + tB) of the per-sample losses from S1's definitions
equals the formulas (rational functions after exp -> symbol; (d_N, d_0) in {(2,1), (3,1)} (d_0 enters only
through a = A x, b = B x, so d_0 = 1 with symbolic x covers the identity in z) and logistic
d_0 = 1, 2); (b) sympy: the critical points of f and max |f| = sqrt(3)/18 exactly; the shipped floats
INV_SQRT2_UP and SQRT3_18_UP satisfy INV_SQRT2_UP^2 >= 1/2 and SQRT3_18_UP^2 >= 3/324 exactly; (c) exact
rationals: (sum_c p_c (a_c - abar)(b_c - bbar)^2)^2 <= c^2 ||a||^2 ||b||^4 with c^2 = 1/2 at 200 random points and
at a near-extremal one (a = b = (1, -1), p_1 ~ (3 - sqrt 3)/6, ratio ~0.272: a constant below that fails), and
|f(s)| <= sqrt(3)/18 at a rational s next to the maximiser (so 0.0962 would fail); (d) the implementation:
hessian_lipschitz() >= c K_X (K_X at 50 digits), and on random pairs W, W' the largest eigenvalue (in absolute
value) of the difference of the full Hessians (sympy, 30 digits) is at most hessian_lipschitz() ||W - W'||_F.
"""


def _ce_third(s, p, a, b):
    ab = sum(pk * ak for pk, ak in zip(p, a))
    bb = sum(pk * bk for pk, bk in zip(p, b))
    return s * sum(pk * (ak - ab) * (bk - bb) ** 2 for pk, ak, bk in zip(p, a, b))


def check(*, ce_constant_sq=Fraction(1, 2), logistic_constant=None, third_formula=None,
          dims=((2, 1), (3, 1)), points: int = 200, implementation: bool = True, seed: int = 223) -> str:
    """``ce_constant_sq`` replaces c^2 = 1/2; ``logistic_constant`` replaces sqrt(3)/18 (a sympy number);
    ``third_formula(s, p, a, b)`` replaces the CE third derivative."""
    from certify.losses.cross_entropy import INV_SQRT2_UP
    from certify.losses.logistic import SQRT3_18_UP

    from .ce_common import matrix_symbols, sample_ce, sample_logistic

    third = third_formula or _ce_third
    cl = sp.sqrt(3) / 18 if logistic_constant is None else sp.nsimplify(logistic_constant)
    # (a) sympy third derivatives
    for dN, d0 in dims:
        sc = sample_ce(dN, d0)
        A, B = matrix_symbols("A", dN, d0), matrix_symbols("B", dN, d0)
        diff = sp.cancel(sp.together(sc.mixed3(A, B) - third(sc.s, sc.p, list(A * sc.x), list(B * sc.x))))
        if diff != 0:
            raise ProofFailure(f"(a) d_N={dN}, d_0={d0}: D^3 l[A,B,B] - formula = {diff} != 0")
    for d0 in (1, 2):
        sl = sample_logistic(d0)
        A, B = matrix_symbols("A", 1, d0), matrix_symbols("B", 1, d0)
        a, b = (A * sl.x)[0], (B * sl.x)[0]
        sg = sl.sigma
        if sp.cancel(sp.together(sl.mixed3(A, B) - (-sl.y**3) * sg * (1 - sg) * (1 - 2 * sg) * a * b**2)) != 0:
            raise ProofFailure(f"(a) logistic d_0={d0}: third derivative formula fails")
    # (b) the logistic constant and the shipped floats
    s = sp.Symbol("s", real=True)
    f = s * (1 - s) * (1 - 2 * s)
    crit = sp.solve(sp.diff(f, s), s)
    fmax = max([sp.Abs(f.subs(s, c0)) for c0 in crit] + [sp.Integer(0)], key=lambda v: float(v))
    if sp.simplify(fmax - sp.sqrt(3) / 18) != 0:
        raise ProofFailure(f"(b) max |s(1-s)(1-2s)| = {fmax}, not sqrt(3)/18")
    gap = sp.simplify(fmax - cl)
    if gap != 0 and sp.N(gap, 50) > 0:
        raise ProofFailure(f"(b) max |s(1-s)(1-2s)| = {fmax} exceeds the constant {cl}")
    if Fraction(INV_SQRT2_UP) ** 2 < Fraction(1, 2):
        raise ProofFailure("(b) INV_SQRT2_UP < 1/sqrt(2)")
    if Fraction(SQRT3_18_UP) ** 2 < Fraction(3, 324):
        raise ProofFailure("(b) SQRT3_18_UP < sqrt(3)/18")
    # (c) exact rational instances, including a near-extremal one
    rng = random.Random(seed)
    worst = Fraction(0)
    inst = [([Fraction(211, 1000), Fraction(789, 1000)], [Fraction(1), Fraction(-1)], [Fraction(1), Fraction(-1)])]
    for _ in range(points):
        d = rng.randint(2, 5)
        w = [rng.randint(0, 6) for _ in range(d)]
        if not any(w):
            w[0] = 1
        p = [Fraction(x, sum(w)) for x in w]
        inst.append((p, [Fraction(rng.randint(-6, 6), 4) for _ in range(d)], [Fraction(rng.randint(-6, 6), 4) for _ in range(d)]))
    for p, a, b in inst:
        t = third(1, p, a, b)
        na, nb = sum(x * x for x in a), sum(x * x for x in b)
        if na and nb:
            worst = max(worst, t * t / (na * nb * nb))
        if t * t > Fraction(ce_constant_sq) * na * nb * nb:
            raise ProofFailure(f"(c) |D^3| = {float(t)} > c ||a|| ||b||^2 with c^2 = {ce_constant_sq} at p = {p}, a = {a}, b = {b}")
    s_near = Fraction(211, 1000)  # (3 - sqrt 3)/6 = 0.2113...
    fn = abs(s_near * (1 - s_near) * (1 - 2 * s_near))
    gap = sp.simplify(sp.Rational(fn.numerator, fn.denominator) - cl)
    if gap != 0 and sp.N(gap, 50) > 0:
        raise ProofFailure(f"(c) |f({s_near})| = {float(fn)} exceeds the logistic constant {cl}")
    detail = (f"(a) dims {list(dims)} + logistic: differences cancel to 0; (b) max|s(1-s)(1-2s)| = sqrt(3)/18; "
              f"(c) {len(inst)} exact instances, worst ratio {float(worst) ** 0.5:.4f} <= 1/sqrt 2")
    if implementation:
        detail += "; (d) " + _check_implementation(random.Random(seed + 1))
    return detail


def _kx(Xm, d0, m):
    import mpmath

    norms = [mpmath.sqrt(sum(Xm[b][i] ** 2 for b in range(d0))) for i in range(m)]
    M = mpmath.matrix([[Xm[b][i] for i in range(m)] for b in range(d0)])
    s2 = max(mpmath.eigsy(M * M.T, eigvals_only=True))
    return min(sum(v**3 for v in norms) / m, max(norms) * s2 / m)


def _check_implementation(rng: random.Random, pairs: int = 2) -> str:
    import mpmath
    import numpy as np

    from certify.losses import CrossEntropy, Logistic

    from .ce_common import ce_functions, hessian_matrix, logistic_functions
    from .ce_hessian_psd import _mp_rows, _random_instance

    worst = 0.0
    for k in range(pairs + 2):
        logistic = k >= pairs
        dN, d0, m = (1 if logistic else rng.randint(2, 3)), rng.randint(1, 2), rng.randint(1, 3)
        W, X, Y, _ = _random_instance(rng, dN, d0, m, soft=(k == 1))
        W2 = W + np.array([[rng.randint(-4, 4) / 8 for _ in range(d0)] for _ in range(dN)])
        if logistic:
            y = [rng.choice((-1, 1)) for _ in range(m)]
            loss, f, c = Logistic(X, y), logistic_functions(d0), mpmath.sqrt(3) / 18
        else:
            loss, f = CrossEntropy(X, Y), ce_functions(dN, d0)
            c = mpmath.mpf(float(loss.s.max())) / mpmath.sqrt(2)
        with mpmath.workdps(50):
            Xm = _mp_rows(X)
            kx = _kx(Xm, d0, m)
            L = loss.hessian_lipschitz()
            if mpmath.mpf(L) < c * kx * (1 - mpmath.mpf(10) ** -13):
                raise ProofFailure(f"(d) hessian_lipschitz() = {L} < c K_X = {c * kx}")
        with mpmath.workdps(30):
            Xm = _mp_rows(X)
            if logistic:
                cols = [([Xm[b][i] for b in range(d0)], y[i]) for i in range(m)]
            else:
                Ym = _mp_rows(Y)
                cols = [([Xm[b][i] for b in range(d0)], [Ym[a][i] for a in range(dN)]) for i in range(m)]
            H1 = hessian_matrix(f, _mp_rows(W), cols, dN, d0)
            H2 = hessian_matrix(f, _mp_rows(W2), cols, dN, d0)
            ev = mpmath.eigsy(H1 - H2, eigvals_only=True)
            nrm = max(abs(v) for v in ev)
            dist = mpmath.sqrt(sum(mpmath.mpf(float(v)) ** 2 for v in (W - W2).ravel()))
            if dist and nrm > L * dist:
                raise ProofFailure(f"(d) ||Hl(W) - Hl(W')|| = {nrm} > L ||W - W'|| = {L * dist}")
            if dist:
                worst = max(worst, float(nrm / (L * dist)))
    return f"{pairs + 2} pairs, worst ||dHl|| / (L ||dW||) = {worst:.3f}"
