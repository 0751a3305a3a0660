"""S2.2-ce-psd: gradient and Hessian of softmax cross-entropy and logistic loss (sympy), and Hl >= 0."""

from __future__ import annotations

import random

import sympy as sp

from . import ProofFailure

LEMMA = "S2.2-ce-psd"
TITLE = "Cross-entropy / logistic: grad l = (P diag(s) - Y) X^T / m, Hl[E,E] = (1/m) sum_i s_i v_i^T (diag p_i - p_i p_i^T) v_i >= 0"
STATEMENT = (
    "Let l(W) = -(1/m) sum_i sum_c Y_ci log softmax(W x_i)_c with Y >= 0, s_i = sum_c Y_ci, p_i = softmax(W x_i), "
    "P = (p_1..p_m). Then grad l(W) = (1/m)(P diag(s) - Y) X^T (= (softmax(WX) - Y) X^T / m for probability "
    "columns) and, for every direction E (d_N x d_0), Hl(W)[E,E] = (1/m) sum_i s_i v_i^T (diag(p_i) - p_i p_i^T) v_i "
    "with v_i = E x_i; for p in the simplex v^T (diag p - p p^T) v = sum_c p_c (v_c - p.v)^2 >= 0, so Hl(W) is "
    "positive semidefinite for every W (S3.1 applies unchanged). For the logistic loss (d_N = 1, y_i = +-1) "
    "grad l = -(1/m) sum_i y_i sigma(t_i) x_i^T and Hl[E,E] = (1/m) sum_i sigma(t_i)(1 - sigma(t_i)) (E x_i)^2 >= 0, "
    "t_i = -y_i W x_i."
)
HYPOTHESES = "Y >= 0 entrywise (probability columns in S1); real W, E, X; labels exactly +-1 for the logistic loss."
PROOF = """\
Per sample, with z = W x and S = sum_k e^{z_k}, the loss is sum_c y_c (log S - z_c), so d/dz = s p - y and
d^2/dz^2 = s (diag p - p p^T) (d p_c / d z_k = p_c (delta_ck - p_k)).  With z(t) = (W + tE) x the chain rule gives
d/dt = <s p - y, E x> = <(s p - y) x^T, E> and d^2/dt^2 = s v^T (diag p - p p^T) v with v = E x; averaging over the
samples gives the statement.  The identity v^T (diag p - p p^T) v = sum_c p_c v_c^2 - (p.v)^2 = sum_c p_c
(v_c - p.v)^2 uses sum_c p_c = 1; it is a p-weighted variance, >= 0.  Logistic: d/dz log(1 + e^{-yz}) =
-y sigma(-yz), d^2/dz^2 = y^2 sigma (1 - sigma) with y^2 = 1.
Check (sympy): (a) for (d_N, d_0) in {(2,1), (2,2), (3,1)} the per-sample loss written from S1's definition is
differentiated by sympy.diff (entrywise gradient; d^2/dt^2 along W + tE with symbolic E), every exp(z_k) is
replaced by a positive symbol e_k (the derivatives are then rational functions; see proofs/ce_common.py) and
the difference to the formulas cancels to 0; the same for the logistic loss.  (b) The variance identity,
symbolically, with p_d = 1 - sum_{c<d} p_c, d = 1..5.  (c) diag(p) - p p^T is positive semidefinite, exactly
(sympy, rationals), at 40 random rational points of the simplex.  (d) The implementation
(certify.losses.CrossEntropy / Logistic): the float64 estimates gradient() and hessian_form() agree with the
sympy expressions at random points to 1e-9 (relative), and the rigorous gradient enclosures (float64 and Arb)
contain the sympy gradient evaluated at 50 digits.
"""


def _default_hl(s, p, v):
    vb = sum(pk * vk for pk, vk in zip(p, v))
    return s * (sum(pk * vk**2 for pk, vk in zip(p, v)) - vb**2)


def _random_instance(rng: random.Random, dN: int, d0: int, m: int, soft: bool):
    import numpy as np

    W = np.array([[rng.randint(-12, 12) / 8 for _ in range(d0)] for _ in range(dN)])
    X = np.array([[rng.randint(-8, 8) / 4 for _ in range(m)] for _ in range(d0)])
    if soft:
        Y = np.array([[rng.randint(0, 4) + 1 for _ in range(m)] for _ in range(dN)], dtype=float)
        Y = Y / Y.sum(axis=0)
    else:
        Y = np.zeros((dN, m))
        Y[[rng.randrange(dN) for _ in range(m)], range(m)] = 1.0
    E = np.array([[rng.randint(-8, 8) / 4 for _ in range(d0)] for _ in range(dN)])
    return W, X, Y, E


def arb_bounds(ball):
    """``(mid - rad, mid + rad)`` of a python-flint ball as mpf, from its exact midpoint and radius."""
    import mpmath

    (mm, me), (rm, re) = ball.mid().man_exp(), ball.rad().man_exp()
    mid, rad = mpmath.mpf((int(mm), int(me))), mpmath.mpf((int(rm), int(re)))
    return mid - rad, mid + rad


def _mp_rows(A):
    import mpmath

    return [[mpmath.mpf(float(v)) for v in row] for row in A]


def check_implementation(rng: random.Random, points: int = 4) -> str:
    """(d): the implementation against the sympy-derived expressions (lambdified to mpmath, 50 digits)."""
    import mpmath
    import numpy as np

    from certify.losses import CrossEntropy, Logistic

    from .ce_common import ce_functions, logistic_functions

    checked = 0
    tol = mpmath.mpf(10) ** -45
    for k in range(points):
        dN, d0, m = rng.randint(1, 3), rng.randint(1, 2), rng.randint(1, 3)
        W, X, Y, E = _random_instance(rng, dN, d0, m, soft=bool(k % 2))
        f = ce_functions(dN, d0)
        with mpmath.workdps(50):
            Wm, Xm, Ym, Em = _mp_rows(W), _mp_rows(X), _mp_rows(Y), _mp_rows(E)
            grad_ref = [[mpmath.mpf(0)] * d0 for _ in range(dN)]
            h_ref = mpmath.mpf(0)
            for i in range(m):
                x = [Xm[b][i] for b in range(d0)]
                y = [Ym[c][i] for c in range(dN)]
                g = f.grad(Wm, x, y)
                for a in range(dN):
                    for b in range(d0):
                        grad_ref[a][b] += g[a][b] / m
                h_ref += f.hess(Wm, x, y, Em) / m
            loss = CrossEntropy(X, Y)
            scale = 1 + max(abs(v) for row in grad_ref for v in row)
            est = loss.gradient(W)
            if max(abs(est[a, b] - float(grad_ref[a][b])) for a in range(dN) for b in range(d0)) > 1e-9 * float(scale):
                raise ProofFailure(f"(d) CrossEntropy.gradient differs from sympy's at dims {(dN, d0, m)}")
            if abs(loss.hessian_form(W, E) - float(h_ref)) > 1e-9 * (1 + abs(float(h_ref))):
                raise ProofFailure(f"(d) CrossEntropy.hessian_form = {loss.hessian_form(W, E)} but sympy gives {h_ref}")
            G = loss.enclose_gradient(W)
            Ga = loss.arb_gradient(W)
            for a in range(dN):
                for b in range(d0):
                    t = grad_ref[a][b]
                    if abs(t - mpmath.mpf(float(G.m[a, b]))) > mpmath.mpf(float(G.r[a, b])) + tol * scale:
                        raise ProofFailure(f"(d) float64 gradient enclosure misses sympy's value {t} at ({a},{b})")
                    blo, bhi = arb_bounds(Ga.a[a, b])
                    if not (blo - tol * scale <= t <= bhi + tol * scale):
                        raise ProofFailure(f"(d) Arb gradient enclosure misses sympy's value {t} at ({a},{b})")
        checked += 1
    for k in range(max(2, points // 2)):
        d0, m = rng.randint(1, 2), rng.randint(1, 3)
        W, X, _, E = _random_instance(rng, 1, d0, m, soft=False)
        y = [rng.choice((-1, 1)) for _ in range(m)]
        f = logistic_functions(d0)
        with mpmath.workdps(50):
            Wm, Xm, Em = _mp_rows(W), _mp_rows(X), _mp_rows(E)
            g_ref = [mpmath.mpf(0)] * d0
            h_ref = mpmath.mpf(0)
            for i in range(m):
                x = [Xm[b][i] for b in range(d0)]
                g = f.grad(Wm, x, y[i])
                for b in range(d0):
                    g_ref[b] += g[0][b] / m
                h_ref += f.hess(Wm, x, y[i], Em) / m
            loss = Logistic(X, y)
            est = loss.gradient(W)[0]
            if max(abs(est[b] - float(g_ref[b])) for b in range(d0)) > 1e-9 * (1 + max(abs(float(v)) for v in g_ref)):
                raise ProofFailure("(d) Logistic.gradient differs from sympy's")
            if abs(loss.hessian_form(W, E) - float(h_ref)) > 1e-9 * (1 + abs(float(h_ref))):
                raise ProofFailure("(d) Logistic.hessian_form differs from sympy's")
            G = loss.enclose_gradient(W)
            for b in range(d0):
                if abs(g_ref[b] - mpmath.mpf(float(G.m[0, b]))) > mpmath.mpf(float(G.r[0, b])) + tol:
                    raise ProofFailure("(d) the logistic gradient enclosure misses sympy's value")
        checked += 1
    return f"{checked} implementation instances"


def check(*, hl_formula=None, grad_formula=None, dims=((2, 1), (2, 2), (3, 1)),
          simplex_points: int = 40, implementation: bool = True, seed: int = 221) -> str:
    """``hl_formula(s, p, v)`` replaces ``s (sum p v^2 - (p.v)^2)``; ``grad_formula(s, p, y, c)`` replaces the
    per-sample ``d loss / d z_c = s p_c - y_c``."""
    from .ce_common import matrix_symbols, sample_ce, sample_logistic

    hl = hl_formula or _default_hl
    gz = grad_formula or (lambda s, p, y, c: s * p[c] - y[c])
    # (a) cross-entropy
    for dN, d0 in dims:
        sc = sample_ce(dN, d0)
        for a in range(dN):
            for b in range(d0):
                diff = sp.cancel(sc.rational(sc.grad[a, b]) - gz(sc.s, sc.p, sc.y, a) * sc.x[b])
                if diff != 0:
                    raise ProofFailure(f"(a) d_N={dN}, d_0={d0}: d l/d W[{a},{b}] - formula = {diff} != 0")
        E = matrix_symbols("E", dN, d0)
        v = list(E * sc.x)
        diff = sp.cancel(sc.directional(E, 2) - hl(sc.s, sc.p, v))
        if diff != 0:
            raise ProofFailure(f"(a) d_N={dN}, d_0={d0}: d^2/dt^2 l(W + tE) - Hl formula = {diff} != 0")
    # (a) logistic
    for d0 in (1, 2):
        sl = sample_logistic(d0)
        sig = sl.sigma
        for b in range(d0):
            if sp.cancel(sl.rational(sl.grad[0, b]) - (-sl.y * sig * sl.x[b])) != 0:
                raise ProofFailure(f"(a) logistic d_0={d0}: gradient formula fails")
        E = matrix_symbols("E", 1, d0)
        v = (E * sl.x)[0]
        if sp.cancel(sl.directional(E, 2) - sl.y**2 * sig * (1 - sig) * v**2) != 0:
            raise ProofFailure(f"(a) logistic d_0={d0}: Hessian formula fails")
    # (b) the variance identity on the simplex
    for d in range(1, 6):
        p = list(sp.symbols(f"p0:{d - 1}", real=True)) if d > 1 else []
        p.append(1 - sum(p))
        v = sp.symbols(f"v0:{d}", real=True)
        vb = sum(pk * vk for pk, vk in zip(p, v))
        ident = sp.expand(hl(1, p, v) - sum(pk * (vk - vb) ** 2 for pk, vk in zip(p, v)))
        if ident != 0:
            raise ProofFailure(f"(b) d={d}: v^T (diag p - p p^T) v != sum_c p_c (v_c - p.v)^2 on the simplex")
    # (c) exact PSD at random rational simplex points
    rng = random.Random(seed)
    for _ in range(simplex_points):
        d = rng.randint(2, 5)
        w = [rng.randint(0, 6) for _ in range(d)]
        if not any(w):
            w[0] = 1
        p = [sp.Rational(x, sum(w)) for x in w]
        A = sp.diag(*p) - sp.Matrix(p) * sp.Matrix(p).T
        if not A.is_positive_semidefinite:
            raise ProofFailure(f"(c) diag(p) - p p^T is not PSD at p = {p}")
    detail = f"(a) dims {list(dims)} + logistic: differences cancel to 0; (b) d=1..5; (c) {simplex_points} exact PSD"
    if implementation:
        detail += "; (d) " + check_implementation(random.Random(seed + 1))
    return detail

