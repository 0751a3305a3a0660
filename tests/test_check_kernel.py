"""Soundness of the checker's own kernels against independent exact or
50-digit computations (never against the producer's code)."""

from fractions import Fraction

import mpmath
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from certify import problem_from_dict
from certify.check import _arith as A
from certify.check import _flowcheck as F
from certify.check import _verify as V


def _spec(rng, dims, square):
    w = lambda r, c: (rng.integers(-64, 65, (r, c)) / 64.0).tolist()
    if square:
        m = 5
        loss = {"kind": "square", "X": w(dims[0], m), "Y": w(dims[-1], m)}
    else:
        loss = {"kind": "whitened", "target": w(dims[-1], dims[0])}
    return {"dims": dims, "loss": loss, "init": {"weights": [w(dims[i + 1], dims[i]) for i in range(len(dims) - 1)]}}


def _fr(M):
    return [[Fraction(float(x)) for x in row] for row in M]


def _mul(A_, B_):
    return [[sum(A_[i][k] * B_[k][j] for k in range(len(B_))) for j in range(len(B_[0]))] for i in range(len(A_))]


def _T(A_):
    return [list(r) for r in zip(*A_)]


def _sub(A_, B_):
    return [[a - b for a, b in zip(ra, rb)] for ra, rb in zip(A_, B_)]


def exact_grad(Ws, prob):
    """S2.1 in exact rationals (independent of certify's kernels)."""
    N = len(Ws)
    P = [Ws[0]]
    for j in range(1, N):
        P.append(_mul(Ws[j], P[-1]))
    if prob.loss.kind == "square":
        X, Y = _fr(prob.loss.X), _fr(prob.loss.Y)
        m = len(X[0])
        R = _sub(_mul(P[-1], X), Y)
        G = [[x / m for x in row] for row in _mul(R, _T(X))]
    else:
        G = _sub(P[-1], _fr(prob.loss.target))
    out = []
    for j in range(N):
        L = G
        for i in range(N - 1, j, -1):
            L = _mul(_T(Ws[i]), L)
        if j > 0:
            L = _mul(L, _T(P[j - 1]))
        out.append(L)
    return out


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**31), depth=st.integers(1, 4), square=st.booleans(), eta=st.sampled_from([1e-3, 0.1, 0.37]))
def test_gd_rounding_bound_contains_the_exact_step(seed, depth, square, eta):
    rng = np.random.default_rng(seed)
    dims = [int(d) for d in rng.integers(1, 4, depth + 1)]
    prob = problem_from_dict(_spec(rng, dims, square))
    loss = V.Loss(prob)
    Ws = [np.array(w) for w in prob.weights]
    its, new, rounds, steps, drifts, _ = V.gd_block(Ws, eta, loss, depth, 2)
    for t in range(2):
        W = its[t]
        nxt = its[1] if t == 0 else new
        g = exact_grad([_fr(w) for w in W], prob)
        e = Fraction(eta)
        sq = sum((Fraction(float(nxt[j][a, b])) - (Fraction(float(W[j][a, b])) - e * g[j][a][b])) ** 2
                 for j in range(depth) for a in range(W[j].shape[0]) for b in range(W[j].shape[1]))
        assert sq <= Fraction(float(rounds[t])) ** 2
        for j in range(depth):
            d = sum((Fraction(float(x)) - Fraction(float(y))) ** 2 for x, y in zip(nxt[j].ravel(), W[j].ravel()))
            assert d <= Fraction(float(steps[t, j])) ** 2
    # the strict (Arb) bound is rigorous too, and not looser than a factor 2
    srounds = V.strict_rounds(its, [its[1], new], eta, loss, prob, depth)
    assert np.all(srounds <= 2 * rounds + 1e-300)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**31), r=st.integers(1, 7), c=st.integers(1, 7), rad=st.sampled_from([0.0, 1e-12, 1e-3]))
def test_spectral_upper_bound_is_sound_and_tight(seed, r, c, rad):
    rng = np.random.default_rng(seed)
    m = rng.standard_normal((r, c)) * 10.0 ** rng.integers(-100, 100)
    R = None if rad == 0 else np.full((r, c), rad * float(np.abs(m).max()))
    bound = A.spec2_up(m, R)
    with mpmath.workdps(50):
        s = max(mpmath.svd_r(mpmath.matrix(m.tolist()), compute_uv=False))
        extra = 0 if R is None else mpmath.mpf(float(R[0, 0])) * mpmath.sqrt(r * c)
        assert mpmath.mpf(bound) >= s  # the midpoint itself lies in the ball
        assert mpmath.mpf(bound) <= (s + extra) * (1 + mpmath.mpf(min(r, c)) ** (mpmath.mpf(1) / 256) - 1 + 1e-12) + extra


def _mp_defect(a, s, prob):
    """||y'(s) + grad f(y(s))|| at 50 digits (y the polynomial with float coefficients)."""
    N = len(a)
    with mpmath.workdps(50):
        s = mpmath.mpf(s.numerator) / s.denominator
        Y = [mpmath.matrix(layer[0].tolist()) * 0 for layer in a]
        Yd = [mpmath.matrix(layer[0].tolist()) * 0 for layer in a]
        for j in range(N):
            for i in range(len(a[j])):
                Y[j] += mpmath.matrix(a[j][i].tolist()) * s**i
                if i:
                    Yd[j] += mpmath.matrix(a[j][i].tolist()) * (i * s ** (i - 1))
        P = [Y[0]]
        for j in range(1, N):
            P.append(Y[j] * P[-1])
        if prob.loss.kind == "square":
            X, Yt = mpmath.matrix(prob.loss.X.tolist()), mpmath.matrix(prob.loss.Y.tolist())
            G = (P[-1] * X - Yt) * X.T / X.cols
        else:
            G = P[-1] - mpmath.matrix(prob.loss.target.tolist())
        tot = 0
        for j in range(N):
            L = G
            for i in range(N - 1, j, -1):
                L = Y[i].T * L
            if j > 0:
                L = L * P[j - 1].T
            tot += mpmath.mnorm(Yd[j] + L, "F") ** 2
        return mpmath.sqrt(tot)


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 2**31), depth=st.integers(1, 3), square=st.booleans())
def test_flow_defect_bound_dominates_the_defect(seed, depth, square):
    rng = np.random.default_rng(seed)
    dims = [int(d) for d in rng.integers(1, 4, depth + 1)]
    prob = problem_from_dict(_spec(rng, dims, square))
    loss = V.Loss(prob)
    p, h = 8, Fraction(1, 16)
    a = F.candidate([np.array(w) for w in prob.weights], p, loss)
    delta, (yrange, _, _) = F.defect_bound(a, p, h, loss)
    from flint import ctx

    old = ctx.prec
    ctx.prec = 256
    try:
        delta_strict, _ = F.defect_bound(a, p, h, loss, strict=True)  # products in Arb
    finally:
        ctx.prec = old
    worst = max(_mp_defect(a, h * Fraction(i, 8), prob) for i in range(9))
    assert mpmath.mpf(delta) >= worst
    assert mpmath.mpf(delta_strict) >= worst
    assert delta_strict <= 2 * delta  # the Arb products are at least as tight, up to noise
    # the candidate is a good one: its defect is far below its size
    assert delta < 1e-3 * (1 + sum(float(np.linalg.norm(w)) for w in prob.weights)) ** (2 * depth)


def test_horner_encloses_the_exact_polynomial_value():
    rng = np.random.default_rng(5)
    a = [rng.standard_normal((6, 2, 3))]
    s = Fraction(1, 3)  # not a float: the radius must cover s - fl(s)
    (m, r), = F.horner(a, s)
    exact = sum(np.vectorize(Fraction)(a[0][i]) * s**i for i in range(6))
    for x, mm, rr in zip(exact.ravel(), m.ravel(), r.ravel()):
        assert abs(x - Fraction(float(mm))) <= Fraction(float(rr))
