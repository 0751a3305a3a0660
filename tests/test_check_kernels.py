"""The checker's own kernels for the cross-entropy and logistic losses (certify/check/_exp.py, _kernels.py,
certify/check/_kloss.py; gap-v2.md section 8) against 50-digit mpmath, never against the
producer's code (certify.losses): exp, the softmax ball, the gradient balls, the constants, the
float and rigorous gradient series, the GD rounding bound E(G), the flow defect; planted bugs
that these tests catch; and, once the producer writes kernel-loss certificates, end to end."""

import math
from fractions import Fraction

import mpmath
import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from certify import CertificateError, problem_from_dict
from certify.check import _flowcheck as F
from certify.check import _exp as E
from certify.check import _kernels as K
from certify.check import _kloss as KL
from certify.check import _verify as V

DPS = 50
U = 2.0**-53


def mpf(x):
    return mpmath.mpf(float(x))


# ---------------------------------------------------------------------------
# independent references (mpmath, 50 digits)
# ---------------------------------------------------------------------------


def mp_softmax_col(col):
    """Softmax of a list of mp numbers (real or complex), no shift needed at 50 digits."""
    mx = max(col, key=lambda v: mpmath.re(v))
    e = [mpmath.exp(v - mx) for v in col]
    s = sum(e)
    return [x / s for x in e]


def mp_logits(P, X):
    dN, d0, m = len(P), len(P[0]), X.shape[1]
    return [[mpmath.fsum(P[c][a] * mpf(X[a, i]) for a in range(d0)) for i in range(m)] for c in range(dN)]


def mp_grad(P, X, labels, kind):
    """``grad l(P)`` from S1's formula (P: lists of mp numbers)."""
    d0, m = X.shape
    Z = mp_logits(P, X)
    if kind == "cross_entropy":
        Y = labels
        dN = len(P)
        Q = [[None] * m for _ in range(dN)]
        for i in range(m):
            p = mp_softmax_col([Z[c][i] for c in range(dN)])
            s = mpmath.fsum(mpf(Y[c, i]) for c in range(dN))
            for c in range(dN):
                Q[c][i] = p[c] * s - mpf(Y[c, i])
    else:
        y = labels
        Q = [[-mpf(y[i]) / (1 + mpmath.exp(mpf(y[i]) * Z[0][i])) for i in range(m)]]
    return [[mpmath.fsum(Q[c][i] * mpf(X[a, i]) for i in range(m)) / m for a in range(d0)] for c in range(len(Q))]


def mp_loss(P, X, labels, kind):
    """S1's loss at 150 digits (``log(1 + tiny)`` and ``lse - z_c`` cancel: 50 digits are not enough
    for losses ~ e^-100)."""
    with mpmath.workdps(150):
        return +_mp_loss(P, X, labels, kind)


def _mp_loss(P, X, labels, kind):
    d0, m = X.shape
    Z = mp_logits(P, X)
    tot = mpmath.mpf(0)
    for i in range(m):
        if kind == "cross_entropy":
            col = [Z[c][i] for c in range(len(P))]
            lse = mpmath.log(mpmath.fsum(mpmath.exp(v) for v in col))
            tot += mpmath.fsum(mpf(labels[c, i]) * (lse - col[c]) for c in range(len(P)))
        else:
            tot += mpmath.log1p(mpmath.exp(-mpf(labels[i]) * Z[0][i]))
    return tot / m


def as_mp(M):
    return [[mpf(x) for x in row] for row in np.asarray(M)]


def inside(mid, rad, truth, tol=0) -> bool:
    """Every entry of the mp matrix ``truth`` within ``rad`` of ``mid`` (plus the reference's own
    absolute accuracy ``tol``)."""
    mid, rad = np.asarray(mid), np.asarray(rad)
    return all(abs(truth[i][j] - mpf(mid[i, j])) <= mpf(rad[i, j]) + tol
               for i in range(mid.shape[0]) for j in range(mid.shape[1]))


def _data(rng, d0, dN, m, kind, soft=False):
    X = rng.integers(-64, 65, (d0, m)) / 32.0
    if kind == "cross_entropy":
        if soft:
            Y = np.full((dN, m), 1.0 / dN)  # column sums 1 - tiny (exact doubles), s_i != 1 in general
            Y[:, ::2] = np.eye(dN)[:, rng.integers(0, dN, (m + 1) // 2)]
            Y[0, 1::2] += 2.0**-31  # a column sum 1 + 2^-31 (the loader allows 2^-30): s_i matters
        else:
            Y = np.eye(dN)[:, rng.integers(0, dN, m)]
        return X, Y
    return X, np.where(rng.random(m) < 0.5, -1.0, 1.0)


# ---------------------------------------------------------------------------
# exp
# ---------------------------------------------------------------------------


def exp_is_sound(xs) -> bool:
    m, r = E.exp_point(np.asarray(xs, dtype=np.float64))
    with mpmath.workdps(DPS):
        return all(abs(mpmath.exp(mpf(x)) - mpf(a)) <= mpf(b) for x, a, b in zip(np.ravel(xs), np.ravel(m), np.ravel(r)))


EDGE = [0.0, 5e-324, -5e-324, 1e-300, 0.5, -0.5, math.log(2) / 2, -math.log(2) / 2, 0.34657359028, 1.0, -1.0,
        100.3, 708.99, 709.0, -700.5, -708.4, -709.1, -720.0, -744.0, -744.44, -744.45, -744.9, -745.0, -745.1,
        -1000.0, -1e300, 2.0**-30, -2.0**-30]


def test_exp_edges_are_enclosed_and_tight():
    assert exp_is_sound(EDGE)
    x = np.array([v for v in EDGE if -700 < v <= 709])
    m, r = E.exp_point(x)
    assert np.all(r <= 5 * U * m)  # a few ulps in the normal range (measured <= 4 u)
    m, r = E.exp_point(np.array([-745.1, -1e300]))
    assert np.all(m == 0) and np.all(r == 2.0**-1074)


@settings(max_examples=300, deadline=None)
@given(x=st.floats(min_value=-760.0, max_value=709.0, allow_nan=False))
@example(x=-744.4400719213812)
@example(x=-708.3964185322641)  # the smallest normal result's neighbourhood
@example(x=709.0)
def test_exp_encloses_the_50_digit_value(x):
    assert exp_is_sound([x])
    m, r = E.exp_point(np.array([x]))
    assert r[0] <= 5 * U * m[0] + 8 * 2.0**-1074  # a few ulps; near underflow a few subnormal steps


@settings(max_examples=100, deadline=None)
@given(x=st.floats(min_value=-1e-6, max_value=1e-6, allow_nan=False, allow_subnormal=True))
def test_exp_near_zero(x):
    assert exp_is_sound([x])


def test_exp_refuses_overflow_and_nan():
    with pytest.raises(CertificateError):
        E.exp_point(np.array([709.5]))
    with pytest.raises(CertificateError):
        E.exp_point(np.array([np.nan]))
    with pytest.raises(CertificateError):
        E.exp_ball(np.array([0.0]), np.array([800.0]))


@settings(max_examples=150, deadline=None)
@given(x=st.floats(min_value=-760.0, max_value=700.0), rad=st.sampled_from([0.0, 1e-300, 1e-15, 1e-6, 0.3, 1.0, 2.5, 8.0]),
       t=st.floats(min_value=-1.0, max_value=1.0))
def test_exp_ball_contains_every_point_of_the_ball(x, rad, t):
    m, r = E.exp_ball(np.array([x]), np.array([rad]))
    with mpmath.workdps(DPS):
        for s in (-1, t, 1):
            v = mpmath.exp(mpf(x) + s * mpf(rad))
            assert abs(v - mpf(m[0])) <= mpf(r[0])


# ---------------------------------------------------------------------------
# softmax and the gradient balls
# ---------------------------------------------------------------------------

logit = st.one_of(st.floats(-750.0, 750.0), st.sampled_from([0.0, 700.0, -700.0, 745.5, -745.5, 1e-300]))


@settings(max_examples=150, deadline=None)
@given(cols=st.lists(st.lists(logit, min_size=3, max_size=3), min_size=1, max_size=4),
       rad=st.sampled_from([0.0, 1e-14, 1e-3, 0.5]), tie=st.booleans(), seed=st.integers(0, 2**32 - 1))
def test_softmax_ball_contains_the_50_digit_softmax(cols, rad, tie, seed):
    Z = np.array(cols, dtype=np.float64).T  # classes x samples
    if tie:
        Z[1] = Z[0]
    R = None if rad == 0 else np.full(Z.shape, rad)
    pm, pr = K.softmax_ball(Z, R)
    assert np.all(np.isfinite(pr)) and np.all(pr <= 1.0 + rad * 10)
    rng = np.random.default_rng(seed)
    with mpmath.workdps(DPS):
        for _ in range(2):
            T = rng.uniform(-1, 1, Z.shape) if R is not None else np.zeros(Z.shape)
            for i in range(Z.shape[1]):
                col = [mpf(Z[c, i]) + mpf(T[c, i]) * mpf(rad) for c in range(Z.shape[0])]
                p = mp_softmax_col(col)
                for c in range(Z.shape[0]):
                    assert abs(p[c] - mpf(pm[c, i])) <= mpf(pr[c, i])
    if rad == 0:  # at a point: a few dozen u (the sums' allowances) plus the shift's rounding u |z - max|
        D = np.abs(Z - Z.max(axis=0))
        assert np.all(pr <= (64 + 2 * D) * U * pm + 1e-300)


def _gradient_case(seed, kind, scale, soft, rad):
    rng = np.random.default_rng(seed)
    d0, m = int(rng.integers(1, 4)), int(rng.integers(1, 6))
    dN = 1 if kind == "logistic" else int(rng.integers(2, 5))
    X, lab = _data(rng, d0, dN, m, kind, soft)
    P = rng.standard_normal((dN, d0)) * scale
    if kind == "cross_entropy" and rng.random() < 0.3:
        P[-1] = P[0]  # ties between classes
    R = None if rad == 0 else np.abs(P) * rad + rad
    return rng, X, lab, P, R


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), kind=st.sampled_from(["cross_entropy", "logistic"]),
       scale=st.sampled_from([1e-3, 1.0, 30.0, 300.0]), soft=st.booleans(), rad=st.sampled_from([0.0, 1e-12, 1e-4]))
def test_gradient_ball_contains_the_50_digit_gradient(seed, kind, scale, soft, rad):
    rng, X, lab, P, R = _gradient_case(seed, kind, scale, soft, rad)
    if kind == "cross_entropy":
        Gm, Gr = K.ce_gradient_ball(P, R, X, lab)
    else:
        Gm, Gr = K.logistic_gradient_ball(P, R, X, lab)
    with mpmath.workdps(DPS):
        pts = [np.zeros(P.shape)] + ([rng.uniform(-1, 1, P.shape), np.sign(rng.uniform(-1, 1, P.shape))] if R is not None else [])
        for T in pts:
            Pt = [[mpf(P[i, j]) + (0 if R is None else mpf(T[i, j]) * mpf(R[i, j])) for j in range(P.shape[1])]
                  for i in range(P.shape[0])]
            assert inside(Gm, Gr, mp_grad(Pt, X, lab, kind))
    if rad == 0:
        # at a point: the float estimate agrees and the width is small
        Gf = (K.ce_grad_float(P, X, X.T.copy(), lab, K.column_sums(lab)[0], False) if kind == "cross_entropy"
              else K.logistic_grad_float(P, X, X.T.copy(), lab))
        assert np.all(np.abs(Gf - Gm) <= 1e-9 * (1 + np.abs(Gm)))
        # each entry's radius: gamma_{d0}-level rounding of the logits times their size, plus a few ulps
        zscale = float(np.max(np.abs(P))) * float(np.max(np.abs(X))) * X.shape[0] + 1
        assert np.all(Gr <= 1e-13 * zscale * (float(np.max(np.abs(X))) + 1) + 1e-300)


def test_stacked_gradient_balls_equal_the_single_ones_and_chunking(monkeypatch):
    rng = np.random.default_rng(3)
    X, Y = _data(rng, 4, 3, 7, "cross_entropy")
    spec = {"dims": [4, 3], "loss": {"kind": "cross_entropy", "X": X.tolist(), "Y": Y.tolist()},
            "init": {"weights": [rng.standard_normal((3, 4)).tolist()]}}
    kl = KL.KernelLoss(problem_from_dict(spec).loss, 3)
    Ps = rng.standard_normal((5, 3, 4)) * 10
    Gm, Gr = kl.grad_ball(Ps)
    monkeypatch.setattr(KL, "CHUNK", 30)  # 1 step per chunk
    Gm2, Gr2 = kl.grad_ball(Ps)
    for t in range(5):
        a, b = kl.grad_ball(Ps[t])
        assert np.array_equal(a, Gm[t]) and np.array_equal(b, Gr[t])
        assert np.array_equal(a, Gm2[t]) and np.array_equal(b, Gr2[t])


# ---------------------------------------------------------------------------
# the constants and the float loss
# ---------------------------------------------------------------------------


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), kind=st.sampled_from(["cross_entropy", "logistic"]), soft=st.booleans())
def test_loss_constants_and_loss_value(seed, kind, soft):
    rng = np.random.default_rng(seed)
    d0, m = int(rng.integers(1, 6)), int(rng.integers(1, 9))
    dN = 1 if kind == "logistic" else int(rng.integers(2, 5))
    X, lab = _data(rng, d0, dN, m, kind, soft)
    key = "Y" if kind == "cross_entropy" else "y"
    spec = {"dims": [d0, dN], "loss": {"kind": kind, "X": X.tolist(), key: lab.tolist()},
            "init": {"weights": [rng.standard_normal((dN, d0)).tolist()]}}
    kl = KL.KernelLoss(problem_from_dict(spec).loss, dN)
    with mpmath.workdps(DPS):
        sv = mpmath.svd_r(mpmath.matrix(X.tolist()), compute_uv=False)
        x2 = max(sv)
        xf = mpmath.sqrt(mpmath.fsum(mpf(v) ** 2 for v in X.ravel()))
        if kind == "cross_entropy":
            c = max(mpmath.fsum(mpf(v) for v in lab[:, i]) for i in range(m)) / 2
        else:
            c = mpmath.mpf(1) / 4
        sG = c * x2 * min(xf, mpmath.sqrt(min(d0, dN)) * x2) / m
        sF = c * x2**2 / m
        # the spectral bound: six squarings, at most a factor rank^(1/128) above ||X||_2
        assert sG <= mpf(kl.s_G) <= sG * (1 + 0.02) + 1e-300
        assert sF <= mpf(kl.s_F) <= sF * (1 + 0.04) + 1e-300
        P = np.asarray(spec["init"]["weights"][0])
        truth = mp_loss(as_mp(P), X, lab, kind)
        assert abs(mpf(kl.loss(P)) - truth) <= 1e-12 * (1 + abs(truth))


# ---------------------------------------------------------------------------
# the gradient series: float (estimate) and Taylor model (rigorous)
# ---------------------------------------------------------------------------


def mp_taylor(Pc, X, lab, kind, n, r=0.02, npts=48):
    """Taylor coefficients ``0..n-1`` at 0 of ``G(sum_i Pc[i] s^i)`` by Cauchy's formula on the
    circle ``|s| = r`` (``npts`` points; the aliasing error is far below the tolerances), at 160
    digits: the cancellation in the sum leaves ``10^-160 / r^k`` absolute, below the balls' radii
    even for coefficients of saturated softmax entries (~ e^-300)."""
    with mpmath.workdps(160):
        return _mp_taylor(Pc, X, lab, kind, n, r, npts)


def _mp_taylor(Pc, X, lab, kind, n, r, npts):
    """``Pc``: float array ``(q+1, d_N, d_0)`` or nested lists of mp numbers."""
    q1, dN, d0 = len(Pc), len(Pc[0]), len(Pc[0][0])
    cf = lambda v: mpf(v) if isinstance(v, (float, np.floating)) else v
    C = [[[cf(Pc[i][a][b]) for b in range(d0)] for a in range(dN)] for i in range(q1)]
    vals = []
    for j in range(npts):
        s = r * mpmath.expjpi(mpmath.mpf(2 * j) / npts)
        P = [[mpmath.fsum(C[i][a][b] * s**i for i in range(q1)) for b in range(d0)] for a in range(dN)]
        vals.append(mp_grad(P, X, lab, kind))
    out = []
    for k in range(n):
        ck = [[mpmath.re(mpmath.fsum(vals[j][a][b] * mpmath.expjpi(-mpmath.mpf(2 * j * k) / npts)
                                     for j in range(npts))) / npts / r**k for b in range(d0)]
              for a in range(len(vals[0]))]
        out.append(ck)
    return out


def _kernel_loss(X, lab, kind, dN):
    key = "Y" if kind == "cross_entropy" else "y"
    spec = {"dims": [X.shape[0], dN], "loss": {"kind": kind, "X": X.tolist(), key: lab.tolist()},
            "init": {"weights": [np.zeros((dN, X.shape[0])).tolist()]}}
    return KL.KernelLoss(problem_from_dict(spec).loss, dN)


def _series_case(seed, kind, scale, q):
    rng = np.random.default_rng(seed)
    d0, m = int(rng.integers(1, 4)), int(rng.integers(1, 5))
    dN = 1 if kind == "logistic" else int(rng.integers(2, 4))
    X, lab = _data(rng, d0, dN, m, kind, soft=bool(rng.random() < 0.3))
    Pc = rng.standard_normal((q + 1, dN, d0)) / np.arange(1, q + 2)[:, None, None] ** 2
    Pc[0] *= scale
    if kind == "cross_entropy" and dN > 2 and rng.random() < 0.3:
        Pc[0, 1] = Pc[0, 0]  # a tie at order 0
    return rng, X, lab, Pc, _kernel_loss(X, lab, kind, dN)


@settings(max_examples=12, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), kind=st.sampled_from(["cross_entropy", "logistic"]),
       scale=st.sampled_from([0.5, 5.0, 200.0]))
def test_float_series_matches_the_taylor_coefficients(seed, kind, scale):
    q = 5
    rng, X, lab, Pc, kl = _series_case(seed, kind, scale, q)
    ser = kl.float_series()
    g = [ser.push(Pc[i]) for i in range(q + 1)]
    with mpmath.workdps(DPS):
        ref = mp_taylor(Pc, X, lab, kind, q + 1)
        for k in range(q + 1):
            nrm = max(1e-30, max(abs(v) for row in ref[k] for v in row))
            for a in range(g[k].shape[0]):
                for b in range(g[k].shape[1]):
                    # an estimate: relative to the order's size, or absolute at the rounding level of
                    # the logit coefficients (the contract's unshifted recursion cancels on large logits)
                    floor = 1e-12 * (1 + float(np.abs(Pc[: k + 1]).max()))
                    assert abs(mpf(g[k][a, b]) - ref[k][a][b]) <= 1e-7 * nrm + floor


def tm_is_sound(kl, Pc, Pr, Prem, h, X, lab, kind, rng, npts=5, extra=None) -> bool:
    q = Pc.shape[0] - 1
    Gm, Gr, rem = kl.grad_tm(Pc, Pr, Prem, h, extra)
    with mpmath.workdps(DPS):
        # a polynomial with coefficients in the balls, and a perturbation of norm <= Prem
        T = np.zeros(Pc.shape) if Pr is None else rng.uniform(-1, 1, Pc.shape)
        C = [[[mpf(Pc[i, a, b]) + (0 if Pr is None else mpf(T[i, a, b]) * mpf(Pr[i, a, b]))
               for b in range(Pc.shape[2])] for a in range(Pc.shape[1])] for i in range(q + 1)]
        Dir = rng.standard_normal(Pc.shape[1:])
        Dir = Dir / np.linalg.norm(Dir) * 0.999
        if True:  # the coefficients along this polynomial (Cauchy's formula) lie in the balls
            ref = mp_taylor(C, X, lab, kind, q + 1)
            for k in range(q + 1):
                if not inside(Gm[k], Gr[k], ref[k], tol=mpmath.mpf(10) ** -150 / mpmath.mpf(0.02) ** k):
                    return False
        hm = mpmath.mpf(h.numerator) / h.denominator
        for s in [hm * mpmath.mpf(j) / (npts - 1) for j in range(npts)]:
            wob = mpmath.sin(17 * s + 1)  # |wob| <= 1
            P = [[mpmath.fsum(C[i][a][b] * s**i for i in range(q + 1)) + wob * mpf(Dir[a, b]) * mpf(Prem)
                  for b in range(Pc.shape[2])] for a in range(Pc.shape[1])]
            G = mp_grad(P, X, lab, kind)
            ex = mpmath.mpf(0)
            for a in range(Gm.shape[1]):
                for b in range(Gm.shape[2]):
                    approx = mpmath.fsum(mpf(Gm[k, a, b]) * s**k for k in range(q + 1))
                    slack = mpmath.fsum(mpf(Gr[k, a, b]) * s**k for k in range(q + 1))
                    ex += max(mpmath.mpf(0), abs(G[a][b] - approx) - slack) ** 2
            if mpmath.sqrt(ex) > mpf(rem):
                return False
    return True


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), kind=st.sampled_from(["cross_entropy", "logistic"]),
       scale=st.sampled_from([0.5, 5.0, 300.0]), hh=st.sampled_from([Fraction(1, 100), Fraction(1, 8), Fraction(1, 2)]),
       rad=st.sampled_from([0.0, 1e-10, 1e-5]), prem=st.sampled_from([0.0, 1e-6]), extra=st.sampled_from([0, 1, None]))
def test_gradient_taylor_model_contains_the_50_digit_gradient(seed, kind, scale, hh, rad, prem, extra):
    """``extra = 0``: the remainder is the interval point's coefficient alone (its soundness on its own)."""
    q = 4
    rng, X, lab, Pc, kl = _series_case(seed, kind, scale, q)
    Pr = None if rad == 0 else np.abs(Pc) * rad + 1e-300
    assert tm_is_sound(kl, Pc, Pr, prem, hh, X, lab, kind, rng, extra=extra)


def test_taylor_model_is_tight_on_a_short_step():
    rng, X, lab, Pc, kl = _series_case(7, "cross_entropy", 2.0, 8)
    Gm, Gr, rem = kl.grad_tm(Pc, None, 0.0, Fraction(1, 64))
    assert rem < 1e-14 and float(np.max(Gr)) < 1e-13


# ---------------------------------------------------------------------------
# the checker's GD step and flow defect on kernel problems
# ---------------------------------------------------------------------------


def _problem(seed, kind, dims, m=5, scale=0.7):
    rng = np.random.default_rng(seed)
    X, lab = _data(rng, dims[0], dims[-1], m, kind)
    key = "Y" if kind == "cross_entropy" else "y"
    ws = [(rng.integers(-64, 65, (dims[i + 1], dims[i])) / 64.0 * scale).tolist() for i in range(len(dims) - 1)]
    return problem_from_dict({"dims": dims, "loss": {"kind": kind, "X": X.tolist(), key: lab.tolist()},
                              "init": {"weights": ws}}), X, lab


def mp_layer_grads(Ws, X, lab, kind):
    """``grad f`` per layer at 50 digits (S2.1 with the kernel loss's G)."""
    N = len(Ws)
    M = [mpmath.matrix(w) for w in Ws]
    P = [M[0]]
    for j in range(1, N):
        P.append(M[j] * P[-1])
    PN = [[P[-1][a, b] for b in range(P[-1].cols)] for a in range(P[-1].rows)]
    G = mpmath.matrix(mp_grad(PN, X, lab, kind))
    out = []
    for j in range(N):
        L = G
        for i in range(N - 1, j, -1):
            L = M[i].T * L
        if j > 0:
            L = L * P[j - 1].T
        out.append(L)
    return out


@settings(max_examples=12, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), kind=st.sampled_from(["cross_entropy", "logistic"]), depth=st.integers(1, 3),
       eta=st.sampled_from([1e-3, 0.1, 0.5]))
def test_gd_rounding_bound_contains_the_exact_step(seed, kind, depth, eta):
    rng = np.random.default_rng(seed)
    dims = [int(d) for d in rng.integers(1, 4, depth + 1)]
    if kind == "logistic":
        dims[-1] = 1
    elif dims[-1] < 2:
        dims[-1] = 2
    prob, X, lab = _problem(seed, kind, dims)
    loss = V.Loss(prob)
    assert loss.kernel is not None and not loss.square
    Ws = [np.array(w) for w in prob.weights]
    its, new, rounds, steps, drifts, gdiffs = V.gd_block(Ws, eta, loss, depth, 3)
    def exact_step_misses(t):
        """``||theta^_{t+1} - (theta^_t - eta grad f(theta^_t))||`` at 50 digits (exact gradient, exact eta)."""
        W = its[t]
        nxt = its[t + 1] if t < 2 else new
        g = mp_layer_grads([w.tolist() for w in W], X, lab, kind)
        return mpmath.sqrt(mpmath.fsum((mpf(nxt[j][a, b]) - (mpf(W[j][a, b]) - mpf(eta) * g[j][a, b])) ** 2
                                       for j in range(depth) for a in range(W[j].shape[0])
                                       for b in range(W[j].shape[1])))

    with mpmath.workdps(DPS):
        Gs = []
        for t in range(3):
            W = its[t]
            assert exact_step_misses(t) <= mpf(rounds[t])
            P = W[0]
            for w in W[1:]:
                P = w @ P
            Gs.append(mpmath.matrix(mp_grad(as_mp(P), X, lab, kind)))
        for t in range(3):
            D = Gs[t] - Gs[0]
            assert mpmath.sqrt(mpmath.fsum(x**2 for x in D)) <= mpf(gdiffs[t])
    # --strict: the Arb step with the kernel's ball is rigorous too, and not looser than a factor 2
    srounds = V.strict_rounds(its, its[1:] + [new], eta, loss, prob, depth)
    assert np.all(srounds <= 2 * rounds + 1e-300)
    with mpmath.workdps(DPS):
        for t in range(3):
            assert exact_step_misses(t) <= mpf(srounds[t])


def test_reference_G_ball_contains_G_at_the_exact_product():
    prob, X, lab = _problem(11, "cross_entropy", [3, 4, 3], scale=3.0)
    loss = V.Loss(prob)
    Ws = [np.array(w) for w in prob.weights]
    from certify.check import _arith as A

    P, Pr = A.mm(Ws[1], None, Ws[0], None)
    Gm, Gr = loss.G_ball(P, Pr)
    with mpmath.workdps(DPS):
        exact = mpmath.matrix(Ws[1].tolist()) * mpmath.matrix(Ws[0].tolist())
        G = mp_grad([[exact[a, b] for b in range(exact.cols)] for a in range(exact.rows)], X, lab, "cross_entropy")
        assert inside(Gm, Gr, G)


def mp_defect(a, s, X, lab, kind):
    """``||y'(s) + grad f(y(s))||`` at 50 digits for the polynomial candidate ``a``."""
    N = len(a)
    s = mpmath.mpf(s.numerator) / s.denominator
    Y, Yd = [], []
    for j in range(N):
        Y.append(sum((mpmath.matrix(a[j][i].tolist()) * s**i for i in range(len(a[j]))),
                     mpmath.matrix(*a[j][0].shape)))
        Yd.append(sum((mpmath.matrix(a[j][i].tolist()) * (i * s ** (i - 1)) for i in range(1, len(a[j]))),
                      mpmath.matrix(*a[j][0].shape)))
    g = mp_layer_grads([[[Y[j][r, c] for c in range(Y[j].cols)] for r in range(Y[j].rows)] for j in range(N)],
                       X, lab, kind)
    return mpmath.sqrt(mpmath.fsum(x**2 for j in range(N) for x in (Yd[j] + g[j])))


@settings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), kind=st.sampled_from(["cross_entropy", "logistic"]), depth=st.integers(1, 3),
       hh=st.sampled_from([Fraction(1, 16), Fraction(1, 4), Fraction(3, 4)]), p=st.sampled_from([3, 6]))
def test_flow_defect_bound_contains_the_50_digit_defect(seed, kind, depth, hh, p):
    rng = np.random.default_rng(seed)
    dims = [int(d) for d in rng.integers(1, 4, depth + 1)]
    dims[-1] = 1 if kind == "logistic" else max(2, dims[-1])
    prob, X, lab = _problem(seed, kind, dims, scale=1.5)
    loss = V.Loss(prob)
    W0 = [np.array(w) for w in prob.weights]
    a = F.candidate(W0, p, loss)
    delta, motion = F.defect_bound(a, p, hh, loss)
    with mpmath.workdps(DPS):
        for j in range(5):
            d = mp_defect(a, hh * Fraction(j, 4), X, lab, kind)
            assert d <= mpf(delta)
        # the candidate is the Taylor polynomial of GF: its defect vanishes to order p at 0
        assert mp_defect(a, Fraction(0), X, lab, kind) <= 1e-12 * (1 + max(float(np.abs(x).max()) for x in a[0]))
    # G's motion over the step bounds the true one
    P0 = W0[0]
    for w in W0[1:]:
        P0 = w @ P0
    with mpmath.workdps(DPS):
        G0 = mpmath.matrix(mp_grad(as_mp(P0), X, lab, kind))
        for j in range(1, 4):
            s = float(hh) * j / 3
            ys = [sum(layer[i] * s**i for i in range(p + 1)) for layer in a]
            Ps = ys[0]
            for w in ys[1:]:
                Ps = w @ Ps
            Gs = mpmath.matrix(mp_grad(as_mp(Ps), X, lab, kind))
            assert mpmath.sqrt(mpmath.fsum(x**2 for x in (Gs - G0))) <= mpf(motion[2]) * (1 + 1e-9) + 1e-12


def test_flow_candidate_is_accurate_on_a_realistic_step():
    prob, X, lab = _problem(5, "cross_entropy", [4, 5, 3], m=12, scale=1.0)
    loss = V.Loss(prob)
    W0 = [np.array(w) for w in prob.weights]
    a = F.candidate(W0, 12, loss)
    delta, _ = F.defect_bound(a, 12, Fraction(1, 64), loss)
    assert delta < 1e-13  # rounding level (the 50-digit defect is 2.7e-16)
    delta, _ = F.defect_bound(a, 12, Fraction(1, 16), loss)
    with mpmath.workdps(DPS):
        true = max(mp_defect(a, Fraction(j, 64), X, lab, "cross_entropy") for j in range(5))
    # near the series' radius of convergence (true: 1.6e-10; the producer halves h long before)
    assert true <= delta <= 200 * true


# ---------------------------------------------------------------------------
# planted bugs: each would make one of the properties above fail
# ---------------------------------------------------------------------------


def test_planted_bug_truncated_exp_polynomial(monkeypatch):
    monkeypatch.setattr(E, "DEG", 8)  # a shorter polynomial with the degree-15 truncation bound
    assert not exp_is_sound([0.34, -0.34, 0.3])


def test_planted_bug_expm1_too_small(monkeypatch):
    monkeypatch.setattr(E, "expm1_up", lambda d: np.asarray(d, dtype=np.float64))  # e^d - 1 > d
    m, r = E.exp_ball(np.array([0.0]), np.array([0.5]))
    with mpmath.workdps(DPS):
        assert abs(mpmath.exp(mpmath.mpf(0.5)) - mpf(m[0])) > mpf(r[0])


def test_planted_bug_softmax_upper_end_without_the_others(monkeypatch):
    """p_c <= e_c / (e_c + rest) with the rest's upper instead of lower end."""
    real = K._softmax_interval

    def wrong(em, er, axis):
        pm, pr = real(em, er, axis)
        return pm, pr * 0.5

    monkeypatch.setattr(K, "_softmax_interval", wrong)
    Z = np.array([[0.0], [0.0], [0.0]])
    pm, pr = K.softmax_ball(Z, np.full(Z.shape, 0.3))
    with mpmath.workdps(DPS):
        p = mp_softmax_col([mpmath.mpf(0.3), mpmath.mpf(-0.3), mpmath.mpf(-0.3)])
        assert abs(p[0] - mpf(pm[0, 0])) > mpf(pr[0, 0])


def test_planted_bug_lagrange_point_at_zero(monkeypatch):
    """The remainder's coefficient enclosed at 0 instead of on [0, h]: too small on a long step."""
    monkeypatch.setattr(KL, "_at_interval", lambda Dm, Dr, hp: (Dm, Dr))
    rng, X, lab, Pc, kl = _series_case(1, "cross_entropy", 3.0, 1)
    Pc[1] *= 8.0
    assert not tm_is_sound(kl, Pc, None, 0.0, Fraction(1, 2), X, lab, "cross_entropy", rng, npts=9, extra=0)


def test_planted_bug_exp_recursion_without_the_weight(monkeypatch):
    """``k e_k = sum z_j e_{k-j}`` (the weight j forgotten): the coefficients leave their balls."""
    real = KL._softmax_series

    def wrong(Dm, Dr, n_out):
        n = Dm.shape[0]
        w = 1.0 / np.maximum(np.arange(n, dtype=np.float64), 1.0)[:, None, None]
        return real(Dm * w, Dr * w, n_out)

    monkeypatch.setattr(KL, "_softmax_series", wrong)
    rng, X, lab, Pc, kl = _series_case(2, "cross_entropy", 1.0, 3)
    assert not tm_is_sound(kl, Pc, None, 0.0, Fraction(1, 100), X, lab, "cross_entropy", rng, npts=2)


# ---------------------------------------------------------------------------
# end to end: the producer's certificates on tiny kernel problems
# ---------------------------------------------------------------------------

E2E_CE = {"dims": [3, 2, 2],
          "loss": {"kind": "cross_entropy", "X": [[1, 0, 0.5, 0.2], [0, 1, 0.2, -0.3], [0.3, 0.1, 1, 0.4]],
                   "Y": [[1, 0, 0.75, 0], [0, 1, 0.25, 1]]},
          "init": {"scheme": "gaussian", "seed": 1, "scale": 0.5}}
E2E_LOGISTIC = {"dims": [3, 2, 1],
                "loss": {"kind": "logistic", "X": [[1, 0, 0.5, 0.2], [0, 1, 0.2, -0.3], [0.3, 0.1, 1, 0.4]],
                         "y": [1, -1, 1, -1]},
                "init": {"scheme": "gaussian", "seed": 1, "scale": 0.5}}
_DOCS = {}


def _gap_doc(base):
    import json

    import certify

    key = base["loss"]["kind"]
    if key not in _DOCS:
        _DOCS[key] = json.dumps(certify.certify_gap(base, 1e-2, 40, every=20).to_json())
    return json.loads(_DOCS[key])


def _check(doc, strict=False):
    from certify.check import check_certificate

    return check_certificate(doc, strict=strict)


@pytest.mark.parametrize("base", [E2E_CE, E2E_LOGISTIC], ids=["cross_entropy", "logistic"])
def test_checker_accepts_the_producers_gap_certificate(base):
    doc = _gap_doc(base)
    assert doc["sxx"] is None and set(doc["loss_bounds"]) == {"s_G", "s_F"}
    rep = _check(doc)
    assert rep.valid, rep.failures[:5]
    assert _check(doc, strict=True).valid


def _mutations(doc):
    """Single-number mutations that make a claim false (tightened) or a structure wrong."""
    import copy

    def m(f):
        d = copy.deepcopy(doc)
        f(d)
        return d

    yield "round", m(lambda d: d["segments"][7].update(round=d["segments"][7]["round"] * 1e-3))
    yield "s_G", m(lambda d: d["loss_bounds"].update(s_G=d["loss_bounds"]["s_G"] * 0.9))
    yield "s_F", m(lambda d: d["loss_bounds"].update(s_F=d["loss_bounds"]["s_F"] * 0.9))
    yield "delta", m(lambda d: d["flow"]["steps"][0].update(delta=d["flow"]["steps"][0]["delta"] * 1e-3))
    yield "G_norm2", m(lambda d: d["refs"][0].update(G_norm2=d["refs"][0]["G_norm2"] * (1 - 1e-6)))
    yield "gdiff", m(lambda d: d["segments"][5].update(gdiff=d["segments"][5]["gdiff"] * 1e-3))
    yield "flow mu", m(lambda d: d["flow"]["steps"][0].update(mu=d["flow"]["steps"][0]["mu"] * 0.5))
    yield "loss", m(lambda d: d["claims"]["checkpoints"][1].update(loss=d["claims"]["checkpoints"][1]["loss"] * (1 + 1e-6)))
    yield "data", m(lambda d: d["problem"]["loss"]["X"][0].__setitem__(1, 0.0625))
    yield "sxx", m(lambda d: d.update(sxx={"norm2": 1.0}))


@pytest.mark.parametrize("base", [E2E_CE, E2E_LOGISTIC], ids=["cross_entropy", "logistic"])
def test_checker_rejects_single_number_mutations(base):
    doc = _gap_doc(base)
    want = {"round": "segments[7].round", "s_G": "loss_bounds.s_G", "s_F": "loss_bounds.s_F",
            "delta": "flow.steps[0].delta", "G_norm2": "refs[0].G_norm2", "gdiff": "segments[5].gdiff",
            "flow mu": "flow.steps[0].mu", "loss": "claims.checkpoints[1].loss", "data": "", "sxx": "sxx"}
    for name, bad in _mutations(doc):
        try:
            rep = _check(bad)
        except V.Invalid as e:  # a structural rejection
            assert want[name] in str(e), (name, e)
            continue
        assert not rep.valid, name
        assert any(want[name] in f for f in rep.failures), (name, rep.failures[:3])
    import copy

    d = copy.deepcopy(doc)
    del d["loss_bounds"]
    with pytest.raises(CertificateError):
        _check(d)


def test_checker_accepts_kernel_flow_and_distance_files():
    import json

    import certify

    for base in (E2E_CE, E2E_LOGISTIC):
        enc = json.loads(json.dumps(certify.flow_to_json(certify.enclose_flow(base, 0.5, checkpoints=2))))
        assert _check(enc).valid
        dist = json.loads(json.dumps(certify.certify_distance(base, 1e-2, 20, ratios=(2,), every=10).to_json()))
        assert _check(dist).valid


def test_flow_file_center_differing_in_the_last_bit_needs_a_radius_covering_it():
    """Kernel losses: a stored center one ulp off the checker's is accepted only with the distance in
    the radius (here the radius is e0 exactly: rejected; widened: accepted)."""
    import json

    import certify

    enc = json.loads(json.dumps(certify.flow_to_json(certify.enclose_flow(E2E_CE, 0.5, checkpoints=2))))
    c = enc["checkpoints"][-1]
    c["center"][0] = float(np.nextafter(c["center"][0], np.inf))
    assert not _check(enc).valid
    c["radius"] = c["radius"] + 1e-15
    assert _check(enc).valid


# ---------------------------------------------------------------------------
# witnesses for the rounding terms (each fails if its term is dropped: planted-bug runs)
# ---------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(x=st.floats(min_value=-745.0, max_value=709.0))
def test_range_reduction_error_is_bounded(x):
    k, r, rr = E.reduce_ln2(np.array([x]))
    lo, hi = E._LN2_LO, E._LN2_HI
    ex = [Fraction(x) - Fraction(float(k[0])) * l - Fraction(float(r[0])) for l in (lo, hi)]
    assert max(abs(e) for e in ex) <= Fraction(float(rr[0]))
    assert abs(float(r[0])) <= E.RHO


@settings(max_examples=300, deadline=None)
@given(a=st.floats(allow_nan=False, allow_infinity=False, min_value=-1e300, max_value=1e300),
       b=st.floats(allow_nan=False, allow_infinity=False, min_value=-1e300, max_value=1e300))
@example(a=1e-8, b=65.0)
@example(a=5e-324, b=-1.0)
def test_two_diff_is_error_free(a, b):
    d, e = K.two_diff(np.array([a]), np.array([b]))
    assert Fraction(float(d[0])) + Fraction(float(e[0])) == Fraction(a) - Fraction(b)


def _cancelling_case(kind):
    """Logits whose float evaluation loses everything: P x = 2^53 + 1 - 2^53 (exact 1, float 0)."""
    X = np.array([[1.0, 1.0], [1.0, 0.5], [1.0, 1.0]])
    if kind == "cross_entropy":
        P = np.array([[2.0**53, 1.0, -2.0**53], [0.0, 0.0, 0.0]])
        lab = np.array([[1.0, 0.0], [0.0, 1.0]])
    else:
        P = np.array([[2.0**53, 1.0, -2.0**53]])
        lab = np.array([1.0, -1.0])
    return X, P, lab


@pytest.mark.parametrize("kind", ["cross_entropy", "logistic"])
def test_gradient_ball_and_E_G_under_catastrophic_cancellation(kind):
    X, P, lab = _cancelling_case(kind)
    kl = _kernel_loss(X, lab, kind, P.shape[0])
    Gm, Gr = kl.grad_ball(P)
    G_hat = kl.grad_float(P)
    with mpmath.workdps(DPS):
        G = mp_grad(as_mp(P), X, lab, kind)
        assert inside(Gm, Gr, G)
        err = mpmath.sqrt(mpmath.fsum((mpf(G_hat[i, j]) - G[i][j]) ** 2
                                      for i in range(P.shape[0]) for j in range(X.shape[0])))
        assert err > 1e-3  # the float evaluation is really off: E(G) must see it
        assert err <= mpf(kl.float_errors(G_hat[None], P[None], np.zeros(1))[0])


def test_gd_round_under_a_cancelling_product():
    """The end-to-end product loses everything in float (W2 W1 = 2^53 + 1 - 2^53): the GD step's
    round bound must carry E(P_N) into E(G) (s_F E(P_N))."""
    X = [[1.0, 0.5], [0.25, 1.0]]
    W1 = [[2.0**27, 0.0], [1.0 / 2**26, 0.0], [-2.0**27, 0.0]]
    W2 = [[2.0**26, 1.0, 2.0**26], [0.0, 0.0, 0.0]]
    prob = problem_from_dict({"dims": [2, 3, 2], "loss": {"kind": "cross_entropy", "X": X, "Y": [[1.0, 0.0], [0.0, 1.0]]},
                              "init": {"weights": [W1, W2]}})
    loss = V.Loss(prob)
    Ws = [np.array(W1), np.array(W2)]
    assert (Ws[1] @ Ws[0])[0, 0] != 1.0  # the float product is off (exact: 1)
    eta = 1e-6  # eta g's error (through G's error at the wrong product) dominates u ||W||
    its, new, rounds, *_ = V.gd_block(Ws, eta, loss, 2, 1)
    with mpmath.workdps(DPS):
        g = mp_layer_grads([W1, W2], np.array(X), np.array([[1.0, 0.0], [0.0, 1.0]]), "cross_entropy")
        sq = mpmath.fsum((mpf(new[j][a, b]) - (mpf(Ws[j][a, b]) - mpf(eta) * g[j][a, b])) ** 2
                         for j in range(2) for a in range(Ws[j].shape[0]) for b in range(Ws[j].shape[1]))
        assert mpmath.sqrt(sq) <= mpf(rounds[0])


def test_reference_G_ball_covers_a_wide_product_ball():
    rng = np.random.default_rng(5)
    X, Y = _data(rng, 3, 3, 6, "cross_entropy")
    kl = _kernel_loss(X, Y, "cross_entropy", 3)
    P = rng.standard_normal((3, 3))
    Pr = np.full(P.shape, 1e-3)
    Gm, Gr = kl.G_ball(P, Pr)
    with mpmath.workdps(DPS):
        for _ in range(4):
            T = np.sign(rng.uniform(-1, 1, P.shape))
            Pt = [[mpf(P[i, j]) + mpf(T[i, j]) * mpf(Pr[i, j]) for j in range(3)] for i in range(3)]
            assert inside(Gm, Gr, mp_grad(Pt, X, Y, "cross_entropy"))


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), hh=st.sampled_from([Fraction(1, 10), Fraction(1, 2)]))
def test_shifted_coefficients_at_the_interval_point(seed, hh):
    """``D_k(xi) = sum_{i>=k} C(i,k) D_i xi^(i-k)`` lies in its ball for every xi in [0, h]."""
    rng = np.random.default_rng(seed)
    Dm = rng.standard_normal((5, 2, 3)) * 3
    Dr = np.abs(rng.standard_normal(Dm.shape)) * 1e-12
    Om, Or = KL._at_interval(Dm, Dr, F.hpowers(hh, 5))
    with mpmath.workdps(DPS):
        for xi in [mpmath.mpf(0), mpmath.mpf(hh.numerator) / hh.denominator,
                   mpmath.mpf(float(rng.uniform(0, float(hh))))]:
            for k in range(5):
                for a in range(2):
                    for b in range(3):
                        v = mpmath.fsum(math.comb(i, k) * mpf(Dm[i, a, b]) * xi ** (i - k) for i in range(k, 5))
                        assert abs(v - mpf(Om[k, a, b])) <= mpf(Or[k, a, b])


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), kind=st.sampled_from(["cross_entropy", "logistic"]),
       hh=st.sampled_from([Fraction(1, 4), Fraction(1, 2)]))
def test_G_taylor_model_along_a_product_of_layer_polynomials(seed, kind, hh):
    """The flow's G model: the product's Taylor model (truncated at q, with its remainder r_P) then
    G along it, against G along the exact product at 50 digits (r_P's term s_F r_P is needed)."""
    rng = np.random.default_rng(seed)
    q, d0, d1 = 3, 2, 3
    dN = 1 if kind == "logistic" else 2
    X, lab = _data(rng, d0, dN, 4, kind)
    kl = _kernel_loss(X, lab, kind, dN)
    A1 = rng.standard_normal((q + 1, d1, d0)) * 1.5
    A2 = rng.standard_normal((q + 1, dN, d1)) * 1.5
    hp = F.hpowers(hh, q)
    P = F.tm_mul(F.TM(A2, None, 0.0), F.TM(A1, None, 0.0), hp, F._pairs(q))
    Gm, Gr, rem = kl.grad_tm(P.m, P.r, P.rem, hh)
    with mpmath.workdps(DPS):
        for j in range(5):
            s = mpmath.mpf(hh.numerator) / hh.denominator * j / 4
            W1 = sum((mpmath.matrix(A1[i].tolist()) * s**i for i in range(q + 1)), mpmath.zeros(d1, d0))
            W2 = sum((mpmath.matrix(A2[i].tolist()) * s**i for i in range(q + 1)), mpmath.zeros(dN, d1))
            PN = W2 * W1
            G = mp_grad([[PN[a, b] for b in range(d0)] for a in range(dN)], X, lab, kind)
            ex = mpmath.fsum(max(mpmath.mpf(0), abs(G[a][b] - mpmath.fsum(mpf(Gm[k, a, b]) * s**k for k in range(q + 1)))
                                 - mpmath.fsum(mpf(Gr[k, a, b]) * s**k for k in range(q + 1))) ** 2
                             for a in range(dN) for b in range(d0))
            assert mpmath.sqrt(ex) <= mpf(rem)


def test_flow_G_model_is_built_on_the_products_balls_and_remainder(monkeypatch):
    """Wiring: the defect's G model takes the product's coefficient radii and its remainder r_P."""
    prob, X, lab = _problem(3, "cross_entropy", [2, 3, 2], scale=1.5)
    loss = V.Loss(prob)
    W0 = [np.array(w) for w in prob.weights]
    a = F.candidate(W0, 4, loss)
    seen = []
    real = loss.kernel.grad_tm

    def spy(Pm, Pr, Prem, h, extra=None):
        seen.append((Pr, Prem))
        return real(Pm, Pr, Prem, h, extra)

    monkeypatch.setattr(loss.kernel, "grad_tm", spy)
    F.defect_bound(a, 4, Fraction(1, 4), loss)
    (Pr, Prem), = seen
    assert Pr is not None and np.all(Pr > 0) and Prem > 0


@settings(max_examples=200, deadline=None)
@given(nm=st.floats(-1e3, 1e3), nr=st.sampled_from([0.0, 1e-12, 0.3]), sm=st.floats(0.5, 1e3),
       rel=st.sampled_from([0.0, 1e-9, 0.2, 0.5]), t=st.floats(-1, 1), v=st.floats(-1, 1))
def test_ball_division_contains_every_quotient(nm, nr, sm, rel, t, v):
    sr = sm * rel
    q, qr = K.ball_div_pos(np.array([nm]), np.array([nr]), np.array([sm]), np.array([sr]))
    with mpmath.workdps(DPS):
        for a, b in ((t, v), (1, -1), (-1, -1), (1, 1), (-1, 1)):
            x = (mpf(nm) + a * mpf(nr)) / (mpf(sm) + b * mpf(sr))
            assert abs(x - mpf(q[0])) <= mpf(qr[0])


# ---------------------------------------------------------------------------
# converge-v1: the loss bound on a ball
# ---------------------------------------------------------------------------


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), kind=st.sampled_from(["cross_entropy", "logistic"]),
       scale=st.sampled_from([0.5, 30.0, 400.0]), rad=st.sampled_from([0.0, 1e-8, 0.05]))
def test_loss_upper_on_a_ball_of_products(seed, kind, scale, rad):
    rng, X, lab, P, R = _gradient_case(seed, kind, scale, soft=True, rad=0)
    kl = _kernel_loss(X, lab, kind, P.shape[0])
    Pr = None if rad == 0 else np.full(P.shape, rad)
    up_ = kl.loss_upper(P, Pr)
    with mpmath.workdps(DPS):
        for _ in range(3):
            T = rng.uniform(-1, 1, P.shape) if Pr is not None else np.zeros(P.shape)
            Pt = [[mpf(P[i, j]) + mpf(T[i, j]) * mpf(rad) for j in range(P.shape[1])] for i in range(P.shape[0])]
            assert mp_loss(Pt, X, lab, kind) <= mpf(up_)
        if rad == 0:
            truth = mp_loss(as_mp(P), X, lab, kind)
            assert mpf(up_) <= truth + 1e-12 * (1 + abs(truth)) + 1e-10 * scale


def test_loss_box_upper_bounds_the_loss_on_the_parameter_ball():
    from certify.check import _loss_box_upper

    prob, X, lab = _problem(4, "cross_entropy", [3, 4, 2], scale=1.0)
    c = prob.theta0
    rng = np.random.default_rng(0)
    for radius in (0.0, 1e-6, 0.1):
        ub = _loss_box_upper(prob, c, radius)
        with mpmath.workdps(DPS):
            for _ in range(3):
                d = rng.standard_normal(c.size)
                th = c + d / np.linalg.norm(d) * radius * 0.999
                Ws = [w.tolist() for w in prob.unflatten(th)]
                M = mpmath.matrix(Ws[1]) * mpmath.matrix(Ws[0])
                P = [[M[a, b] for b in range(M.cols)] for a in range(M.rows)]
                assert mp_loss(P, X, lab, "cross_entropy") <= mpf(ub)


@pytest.mark.parametrize("base", [E2E_CE, E2E_LOGISTIC], ids=["cross_entropy", "logistic"])
def test_checker_accepts_the_producers_converge_certificate(base):
    import copy
    import json

    import certify

    tr = certify.translate(base, 1.0, 0.05)
    assert tr.certified, tr.reason
    doc = json.loads(json.dumps(tr.result.to_json()))
    assert _check(doc).valid
    for key in ("gf_loss_upper", "gd_loss_upper"):
        d = copy.deepcopy(doc)
        d["claims"][key] *= 1 - 1e-6
        rep = _check(d)
        assert not rep.valid and any(f"claims.{key}" in f for f in rep.failures)
