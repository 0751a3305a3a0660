"""S4.3-ce-series: the Taylor series of the cross-entropy / logistic gradient along a polynomial curve, with a
rigorous remainder (certify/losses/series.py, series_enclosure.py)."""

from __future__ import annotations

import random

import sympy as sp

from . import ProofFailure

LEMMA = "S4.3-ce-series"
TITLE = "Cross-entropy gradient along a polynomial: exp/softmax series recursion and Lagrange remainder on [0, h]"
STATEMENT = (
    "(i) Let Z(s) = sum_k z_k s^k (real d x m), M any real row vector, E = exp(Z - M) entrywise, sigma = 1^T E, "
    "P = E / sigma (columnwise softmax). Their Taylor coefficients at 0 satisfy e_0 = exp(z_0 - M), "
    "k e_k = sum_{j=1..k} j z_j e_{k-j} (k >= 1), sigma_k = sum_c e_k[c], p_0 = e_0 / sigma_0, "
    "p_k = (e_k - sum_{j=1..k} sigma_j p_{k-j}) / sigma_0; softmax(Z(s) - 1 r(s)^T) = softmax(Z(s)) for every row series r, "
    "so any per-column reference class may be subtracted from all orders. For W(s) = sum_i w_i s^i and z_i = w_i X, the "
    "cross-entropy gradient grad l(W(s)) = sum_k g_k s^k with g_k = (1/m)(p_k diag(s_Y) - Y [k = 0]) X^T (s_Y the column "
    "sums of Y); the logistic gradient is the case d = 2, logits (0, -y_i z_i), q_i = -y_i p_{2,i}; g_k depends on "
    "w_0..w_k only. (ii) The coefficients of Z at xi are z_k(xi) = sum_{i >= k} C(i,k) z_i xi^(i-k), and for every "
    "entry and s in [0, h]: G(s) - sum_{k <= q} g_k s^k = sum_{k=q+1..q+e} g_k s^k + g_{q+e+1}(xi) s^(q+e+1) for some "
    "xi in [0, s] (Lagrange), g_{q+e+1}(xi) the coefficient of order q+e+1 of the expansion at xi; so if a box contains "
    "g_{q+e+1}(xi) for all xi in [0, h] (the recursion of (i) in ball arithmetic at the interval point, inclusion "
    "isotone), |G(s) - sum_{k<=q} g_k s^k| <= sum_{k=q+1..q+e} |g_k| h^k + sup|box| h^(q+e+1) entrywise. (iii) If "
    "||W(s) - W~(s)||_F <= r_W then ||grad l(W(s)) - grad l(W~(s))||_F <= L r_W with L = c ||X||_2^2 / m "
    "(c = s_max/2 cross-entropy, 1/4 logistic). Hence certify.losses.enclose_gradient_series's balls contain the "
    "exact g_k (k <= q) and its remainder bounds the rest on [0, h]."
)
HYPOTHESES = (
    "s in [0, h]; the doubles in W's coefficients exact (or within the given ball radii); Hl PSD with "
    "Hl[E,E] <= c ||E X||_F^2 / m (S2.2-ce-psd, S2.2-ce-bound); the float64 ball operations of S4.6 and the exp "
    "kernel of S4.6-exp (proofs/ce_exp_kernel.py)."
)
PROOF = """\
(i) E is analytic with E' = Z' E entrywise; comparing the coefficients of s^(k-1): k e_k = sum_{j=1..k} j z_j e_{k-j}.
sigma is linear in E.  P sigma = E gives sum_{j=0..k} sigma_j p_{k-j} = e_k, solved for p_k (sigma_0 > 0).  Adding a
row series r(s) to every class multiplies E's column by exp(r(s)), which cancels in P.  The gradient formula is
S2.2-ce-psd's grad l = (1/m)(P diag(s_Y) - Y) X^T, linear in P, with Y constant (order 0 only).  Logistic:
sigma(t) = e^t / (1 + e^t) = softmax((0, t))_2 and grad l = -(1/m) sum_i y_i sigma(t_i) x_i^T, t_i = -y_i z_i.
(ii) Z(xi + t) = sum_i z_i (xi + t)^i = sum_k t^k sum_{i>=k} C(i,k) z_i xi^(i-k) (binomial theorem).  Each entry of
G is a real analytic function of s, so Taylor's theorem with the Lagrange remainder applies entrywise at order
q+e; the coefficient of order q+e+1 at xi is what (i) computes from the z_k(xi).  Ball arithmetic encloses every
operation for all inputs in the balls, and xi^j lies in [0, h^j]; so the balls computed at the interval point
contain g_{q+e+1}(xi) for every xi in [0, h] at once.
(iii) Mean value theorem: grad l(W + D) - grad l(W) = int_0^1 Hl(W + tD)[D] dt, and for PSD Hl with
Hl[E,E] <= c ||E X||_F^2 / m <= c ||X||_2^2 ||E||_F^2 / m the operator norm is <= c ||X||_2^2 / m.
Check: (a) sympy: to order 4 the exp recursion (with the weight j) equals the series of exp(z_1 s + z_2 s^2 + ...)
and, for d = 2, 3, the division recursion equals the Taylor coefficients of the softmax (its k-th derivative at 0
by sympy.diff, exp(z_c0) kept as positive symbols; orders <= 3 for d = 2, <= 2 for d = 3), also after the
reference shift (class 0's series subtracted from every class); the shifted coefficients z_k(xi) reproduce
Z(xi + t) exactly.  (b) 50 digits: on random small instances
(cross-entropy one-hot and soft labels, logistic, logits of size ~300, ties) the float64 coefficients of
certify.losses.gradient_series agree with mpmath.taylor of the 50-digit gradient to 1e-10 (relative), and
certify.losses.enclose_gradient_series contains mpmath's coefficients and the 50-digit gradient at 12 points of
[0, h] (with a perturbed curve W(s) + D(s), ||D||_F <= r_W, when r_W > 0).
"""


# ---- the independent 50-digit reference (mpmath only; nothing from certify) ----


def _mpf(v):
    import mpmath

    return v if isinstance(v, mpmath.mpf) else mpmath.mpf(float(v))


def mp_gradient(Wc, X, labels, s, kind: str = "ce"):
    """``grad l(W(s))`` at the mpmath working precision, ``W(s) = sum_i Wc[i] s^i`` (lists or float arrays of the
    exact doubles), directly from S1's formulas (softmax with the max subtracted).  ``labels``: ``Y`` (``d_N x m``)
    for ``kind = "ce"``, the ``+-1`` vector ``y`` for ``"logistic"``.  ``Wc`` entries may be callables
    ``s -> mpf`` (an arbitrary curve)."""
    import mpmath

    s = mpmath.mpf(s) if not isinstance(s, mpmath.mpf) else s
    dN, d0 = len(Wc[0]), len(Wc[0][0])
    m = len(X[0])
    W = [[sum(_mpf(Wc[i][a][b]) * s**i for i in range(len(Wc))) for b in range(d0)] for a in range(dN)]
    Xm = [[mpmath.mpf(float(v)) for v in row] for row in X]
    G = [[mpmath.mpf(0) for _ in range(d0)] for _ in range(dN)]
    for i in range(m):
        z = [sum(W[a][b] * Xm[b][i] for b in range(d0)) for a in range(dN)]
        if kind == "ce":
            mx = max(z)
            e = [mpmath.exp(v - mx) for v in z]
            S = sum(e)
            sy = sum(mpmath.mpf(float(labels[c][i])) for c in range(dN))
            q = [sy * e[a] / S - mpmath.mpf(float(labels[a][i])) for a in range(dN)]
        else:
            y = int(labels[i])
            t = -y * z[0]
            q = [-y / (1 + mpmath.exp(-t))]
        for a in range(dN):
            for b in range(d0):
                G[a][b] += q[a] * Xm[b][i] / m
    return G


def mp_taylor_gradient(Wc, X, labels, order: int, kind: str = "ce"):
    """``coef[k][a][b]``: the Taylor coefficients of ``grad l(W(s))`` at 0 by ``mpmath.taylor`` (at the working
    precision, which mpmath raises internally for the differences)."""
    import mpmath

    dN, d0 = len(Wc[0]), len(Wc[0][0])
    out = [[[None] * d0 for _ in range(dN)] for _ in range(order + 1)]
    for a in range(dN):
        for b in range(d0):
            cs = mpmath.taylor(lambda s: mp_gradient(Wc, X, labels, s, kind)[a][b], 0, order)
            for k in range(order + 1):
                out[k][a][b] = cs[k]
    return out


# ---- (a) symbolic ----


def _exp_recursion(zs, K, weight):
    """``e_k`` for ``E = exp(sum_{k>=1} z_k s^k)`` (``e_0 = 1``) by the recursion with ``weight(j)``."""
    e = [sp.Integer(1)]
    for k in range(1, K + 1):
        e.append(sp.expand(sum(weight(j) * zs[j] * e[k - j] for j in range(1, k + 1)) / k))
    return e


def _check_symbolic(weight, K: int = 4) -> str:
    s = sp.Symbol("s")
    # exp series, one entry
    zs = [None] + list(sp.symbols(f"z1:{K + 1}", real=True))
    e = _exp_recursion(zs, K, weight)
    ser = sp.expand(sp.series(sp.exp(sum(zs[j] * s**j for j in range(1, K + 1))), s, 0, K + 1).removeO())
    for k in range(K + 1):
        if sp.expand(ser.coeff(s, k) - e[k]) != 0:
            raise ProofFailure(f"(a) exp recursion: order {k} differs from sympy's series by {sp.expand(ser.coeff(s, k) - e[k])}")
    # softmax series for d = 2, 3 classes (orders <= 3), exp(z_c0) kept as positive symbols a_c
    for d, Kp in ((2, 3), (3, 2)):
        a = sp.symbols(f"a0:{d}", positive=True)
        z = [[None] + list(sp.symbols(f"z{c}_1:{Kp + 1}", real=True)) for c in range(d)]
        E = [[sp.expand(a[c] * t) for t in _exp_recursion(z[c], Kp, weight)] for c in range(d)]
        sig = [sum(E[c][k] for c in range(d)) for k in range(Kp + 1)]
        P = [[None] * (Kp + 1) for _ in range(d)]
        for c in range(d):
            P[c][0] = E[c][0] / sig[0]
            for k in range(1, Kp + 1):
                P[c][k] = (E[c][k] - sum(sig[j] * P[c][k - j] for j in range(1, k + 1))) / sig[0]
        Zs = [sum(z[c][j] * s**j for j in range(1, Kp + 1)) for c in range(d)]
        for shift in (False, True):
            # the reference shift: subtracting class 0's series from every class (and a_0 from the constants)
            Es = [a[c] / (a[0] if shift else 1) * sp.exp(Zs[c] - (Zs[0] if shift else 0)) for c in range(d)]
            for c in (0, d - 1):
                f = Es[c] / sum(Es)
                for k in range(Kp + 1):
                    ck = sp.diff(f, s, k).subs(s, 0) / sp.factorial(k)  # sympy's k-th Taylor coefficient
                    if sp.cancel(sp.together(ck - P[c][k])) != 0:
                        raise ProofFailure(f"(a) softmax recursion: d={d}, class {c}, order {k}{' (shifted)' if shift else ''}"
                                           " differs from sympy's Taylor coefficient")
    # shifted coefficients
    n = 4
    xi, t = sp.symbols("xi t", real=True)
    zz = sp.symbols(f"w0:{n + 1}", real=True)
    lhs = sp.expand(sum(zz[i] * (xi + t) ** i for i in range(n + 1)))
    rhs = sp.expand(sum(t**k * sum(sp.binomial(i, k) * zz[i] * xi ** (i - k) for i in range(k, n + 1)) for k in range(n + 1)))
    if sp.expand(lhs - rhs) != 0:
        raise ProofFailure("(a) z_k(xi) does not reproduce Z(xi + t)")
    return f"(a) exp series to order {K}, softmax d=2 (order 3) and d=3 (order 2), reference shift, shifted coefficients"


# ---- (b) the implementation at 50 digits ----


def _instances(rng: random.Random):
    """(kind, dN, d0, m, q, h, scale, tie, soft) for the 50-digit check."""
    yield ("ce", 3, 2, 3, 4, 0.25, 1.0, False, False)
    yield ("ce", 2, 2, 4, 5, 0.2, 1.0, True, False)  # ties at s = 0
    yield ("ce", 3, 1, 2, 3, 0.01, 300.0, False, False)  # logits ~ +-300
    yield ("ce", 3, 2, 3, 4, 0.2, 1.0, False, True)  # soft labels
    yield ("logistic", 1, 2, 4, 4, 0.25, 1.0, False, False)
    yield ("logistic", 1, 1, 3, 3, 0.01, 200.0, False, False)
    for _ in range(2):
        yield ("ce", rng.randint(2, 3), rng.randint(1, 3), rng.randint(2, 4), rng.randint(1, 5), 0.15, 1.0, False,
               rng.random() < 0.5)


def make_instance(rng: random.Random, kind, dN, d0, m, q, scale, tie, soft):
    """Dyadic data, coefficients decaying like 2^-i (the exact doubles are the instance)."""
    import numpy as np

    X = np.array([[rng.randint(-8, 8) / 4 for _ in range(m)] for _ in range(d0)])
    W = np.array([[[rng.randint(-16, 16) / 16 * scale / 2**i for _ in range(d0)] for _ in range(dN)]
                  for i in range(q + 1)])
    if tie:
        W[0] = 0.0  # every logit equal at s = 0
    if kind == "logistic":
        labels = np.array([rng.choice((-1.0, 1.0)) for _ in range(m)])
    elif soft:
        Y = np.array([[rng.randint(1, 4) for _ in range(m)] for _ in range(dN)], dtype=float)
        labels = Y / Y.sum(axis=0)
    else:
        labels = np.zeros((dN, m))
        labels[[rng.randrange(dN) for _ in range(m)], range(m)] = 1.0
    return X, W, labels


def make_loss(kind, X, labels):
    from certify.losses import CrossEntropy, Logistic

    return CrossEntropy(X, labels) if kind == "ce" else Logistic(X, labels)


def containment_violation(tm, Wc, X, labels, kind, h, points: int = 12, remainder=None, curve=None):
    """The largest ``||G(s) - sum_k mid_k s^k||_F - (||sum_k rad_k s^k||_F + remainder)`` over ``points`` values
    of ``s`` in ``[0, h]`` (mpmath at the working precision; ``> 0`` means the Taylor model misses the truth).
    ``curve(s)``: an optional perturbation ``D(s)`` added to ``W(s)`` (a list of mpf matrices)."""
    import mpmath

    rem = mpmath.mpf(float(tm.remainder if remainder is None else remainder))
    worst = mpmath.mpf("-inf")
    q = tm.order
    dN, d0 = tm.mid.shape[1], tm.mid.shape[2]
    for n in range(points):
        s = mpmath.mpf(h) * n / (points - 1)
        if curve is None:
            G = mp_gradient(Wc, X, labels, s, kind)
        else:
            G = _mp_gradient_curve(Wc, curve, X, labels, s, kind)
        dev2 = mpmath.mpf(0)
        rad2 = mpmath.mpf(0)
        for a in range(dN):
            for b in range(d0):
                poly = sum(mpmath.mpf(float(tm.mid[k, a, b])) * s**k for k in range(q + 1))
                rad = sum(mpmath.mpf(float(tm.rad[k, a, b])) * s**k for k in range(q + 1))
                dev2 += (G[a][b] - poly) ** 2
                rad2 += rad**2
        worst = max(worst, mpmath.sqrt(dev2) - mpmath.sqrt(rad2) - rem)
    return worst


def _mp_gradient_curve(Wc, curve, X, labels, s, kind):
    """``grad l(W(s) + D(s))`` with ``D = curve(s)`` (mpf matrix), by the same formulas as :func:`mp_gradient`."""
    import mpmath

    dN, d0 = len(Wc[0]), len(Wc[0][0])
    W = [[sum(mpmath.mpf(float(Wc[i][a][b])) * s**i for i in range(len(Wc))) for b in range(d0)] for a in range(dN)]
    D = curve(s)
    Wd = [[[W[a][b] + D[a][b] for b in range(d0)] for a in range(dN)]]
    return mp_gradient(Wd, X, labels, 0, kind)


def coefficient_misses(tm, ref, tol):
    """Entries where mpmath's coefficient lies outside ``mid +- (rad + tol)``."""
    import mpmath

    bad = []
    for k in range(tm.order + 1):
        for a in range(tm.mid.shape[1]):
            for b in range(tm.mid.shape[2]):
                if abs(ref[k][a][b] - mpmath.mpf(float(tm.mid[k, a, b]))) > mpmath.mpf(float(tm.rad[k, a, b])) + tol:
                    bad.append((k, a, b))
    return bad


def check_implementation(rng: random.Random, *, drop_remainder: bool = False, drop_input_remainder: bool = False,
                         exp_weight=None) -> str:
    import mpmath
    import numpy as np

    from certify.losses import series as S
    from certify.losses import series_enclosure as SE

    saved = S._exp_weight
    if exp_weight is not None:
        S._exp_weight = exp_weight
    try:
        n = 0
        with mpmath.workdps(50):
            tol = mpmath.mpf(10) ** -40
            for kind, dN, d0, m, q, h, scale, tie, soft in _instances(rng):
                X, W, labels = make_instance(rng, kind, dN, d0, m, q, scale, tie, soft)
                loss = make_loss(kind, X, labels)
                ref = mp_taylor_gradient(W.tolist(), X.tolist(), labels.tolist(), q, kind)
                g = S.gradient_series(loss, W)
                big = 1 + max(abs(ref[k][a][b]) for k in range(q + 1) for a in range(dN) for b in range(d0))
                err = max(abs(mpmath.mpf(float(g[k, a, b])) - ref[k][a][b]) for k in range(q + 1) for a in range(dN)
                          for b in range(d0))
                if err > 1e-10 * big:
                    raise ProofFailure(f"(b) {kind} dims {(dN, d0, m)} q={q}: float coefficients off by {float(err):.3e}")
                tm = SE.enclose_gradient_series(loss, W, h)
                bad = coefficient_misses(tm, ref, tol * big)
                if bad:
                    raise ProofFailure(f"(b) {kind} dims {(dN, d0, m)} q={q}: the coefficient balls miss mpmath's at {bad[:3]}")
                v = containment_violation(tm, W.tolist(), X.tolist(), labels.tolist(), kind, h,
                                          remainder=0.0 if drop_remainder else None)
                if v > tol:
                    raise ProofFailure(f"(b) {kind} dims {(dN, d0, m)} q={q}, h={h}: the Taylor model misses the 50-digit "
                                       f"gradient by {float(v):.3e}")
                n += 1
            # a curve that is a polynomial only up to D(s), ||D(s)||_F <= r_W
            kind, dN, d0, m, q, h = "ce", 3, 2, 3, 3, 0.2
            X, W, labels = make_instance(rng, kind, dN, d0, m, q, 1.0, False, False)
            loss = make_loss(kind, X, labels)
            amp = mpmath.mpf(1) / 64
            dirs = [[mpmath.mpf(rng.randint(-4, 4)) for _ in range(d0)] for _ in range(dN)]
            nd = mpmath.sqrt(sum(x * x for row in dirs for x in row)) or mpmath.mpf(1)

            def curve(s):
                f = amp * mpmath.sin(40 * s + 1)  # |f| <= amp
                return [[f * x / nd for x in row] for row in dirs]

            tm = SE.enclose_gradient_series(loss, W, h, W_remainder=float(amp))
            rem = tm.r_poly if drop_input_remainder else None
            v = containment_violation(tm, W.tolist(), X.tolist(), labels.tolist(), kind, h, remainder=rem, curve=curve)
            if v > tol:
                raise ProofFailure(f"(b) the Taylor model misses the gradient along W(s) + D(s) by {float(v):.3e}")
            n += 1
    finally:
        S._exp_weight = saved
    return f"(b) {n} instances at 50 digits (coefficients and 12 points of [0, h] each)"


def check(*, exp_weight=None, drop_remainder: bool = False, drop_input_remainder: bool = False,
          symbolic: bool = True, implementation: bool = True, seed: int = 431) -> str:
    """``exp_weight(j)`` replaces the weight ``j`` of ``z_j e_{k-j}`` (in the symbolic check and in the
    implementation); ``drop_remainder`` / ``drop_input_remainder`` check the Taylor model without its truncation /
    input remainder (both must fail)."""
    parts = []
    if symbolic:
        parts.append(_check_symbolic(exp_weight or (lambda j: j)))
    if implementation:
        parts.append(check_implementation(random.Random(seed), drop_remainder=drop_remainder,
                                          drop_input_remainder=drop_input_remainder, exp_weight=exp_weight))
    return "; ".join(parts)
