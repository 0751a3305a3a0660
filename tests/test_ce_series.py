"""The cross-entropy / logistic gradient series along a polynomial curve (certify/losses/series.py and series_enclosure.py, issue 12
item 3): float64 coefficients against mpmath.taylor at 50 digits, the rigorous Taylor model against the
50-digit gradient at many s in [0, h] (extreme logits, ties, soft labels, logistic), the GF Taylor candidate
against mpmath's ODE solver, and planted bugs that must make these checks fail.  The reference is
proofs/ce_gradient_series.py's mpmath code, which uses nothing of certify."""

import math
import random
from fractions import Fraction

import mpmath
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import proofs
from certify import BlowUpError, UsageError
from certify.losses import CrossEntropy, Logistic
from certify.losses import series as S
from certify.losses import series_enclosure as SE
from proofs import ce_gradient_series as ref

TOL = mpmath.mpf(10) ** -40


def _instance(seed, kind="ce", dN=3, d0=2, m=3, q=4, scale=1.0, tie=False, soft=False):
    X, W, labels = ref.make_instance(random.Random(seed), kind, dN, d0, m, q, scale, tie, soft)
    return X, W, labels, ref.make_loss(kind, X, labels)


def _float_error(loss, W, X, labels, q, kind):
    """max |float coefficient - mpmath's| / (1 + max |mpmath coefficient|)."""
    with mpmath.workdps(50):
        r = ref.mp_taylor_gradient(W.tolist(), X.tolist(), labels.tolist(), q, kind)
        g = S.gradient_series(loss, W, order=q)
        big = 1 + max(abs(r[k][a][b]) for k in range(q + 1) for a in range(W.shape[1]) for b in range(W.shape[2]))
        err = max(abs(mpmath.mpf(float(g[k, a, b])) - r[k][a][b]) for k in range(q + 1)
                  for a in range(W.shape[1]) for b in range(W.shape[2]))
        return float(err / big), r


CASES = [
    dict(kind="ce"),
    dict(kind="ce", tie=True, dN=2, m=4, q=5),
    dict(kind="ce", scale=300.0, d0=1, m=2, q=3),  # logits ~ +-300
    dict(kind="ce", scale=-200.0, dN=2, d0=2, m=3, q=3),
    dict(kind="ce", soft=True),
    dict(kind="logistic", dN=1, m=4),
    dict(kind="logistic", dN=1, d0=1, scale=200.0, q=3),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: ",".join(f"{k}={v}" for k, v in c.items()))
def test_float_coefficients_match_mpmath_at_50_digits(case):
    X, W, labels, loss = _instance(7, **case)
    q = W.shape[0] - 1
    err, _ = _float_error(loss, W, X, labels, q, case["kind"])
    assert err < 1e-12


def test_incremental_series_and_callbacks_agree_with_the_batched_one():
    X, W, labels, loss = _instance(3, q=6)
    ser = S.GradientSeriesCE(loss, capacity=2)  # grows
    got = np.stack([ser.push(w) for w in W])
    assert np.allclose(got, S.gradient_series(loss, W), rtol=1e-13, atol=1e-15)
    g0, glin = S.gf_callbacks(loss)
    for _ in range(2):  # g0 restarts the series
        out = [g0(W[0])] + [glin(w) for w in W[1:]]
        assert np.allclose(np.stack(out), got, rtol=1e-13, atol=1e-15)
    # order 0 is the loss's own gradient
    assert np.allclose(got[0], loss.gradient(W[0]), rtol=1e-13, atol=1e-15)
    assert S.softmax_series(np.zeros((3, 2, 1)))[0, :, 0].tolist() == [0.5, 0.5]
    with pytest.raises(UsageError):
        S.gf_callbacks(loss)[1](W[0])


@pytest.mark.parametrize("case", CASES, ids=lambda c: ",".join(f"{k}={v}" for k, v in c.items()))
def test_rigorous_model_contains_the_50_digit_truth(case):
    X, W, labels, loss = _instance(11, **case)
    q = W.shape[0] - 1
    h = 0.01 if abs(case.get("scale", 1.0)) > 10 else 0.2
    with mpmath.workdps(50):
        _, r = _float_error(loss, W, X, labels, q, case["kind"])
        tm = SE.enclose_gradient_series(loss, W, h)
        assert ref.coefficient_misses(tm, r, TOL) == []
        v = ref.containment_violation(tm, W.tolist(), X.tolist(), labels.tolist(), case["kind"], h, points=25)
        assert v <= TOL, float(v)
    assert tm.remainder > 0 and tm.order == q
    # the model is tight: radii at the rounding level, remainder far below the gradient
    assert np.max(tm.rad[0]) < 1e-13 * (1 + np.max(np.abs(tm.mid[0])))


def test_reused_enclosure_equals_a_fresh_one_and_contains_the_truth():
    """GradientSeriesEnclosure.taylor_model(h) (the flow's step search: one enclosure, several h, in
    any order) is bit for bit enclose_gradient_series at each h, and the models it hands out are
    independent of each other (mutating one leaves the next intact)."""
    X, W, labels, loss = _instance(3, q=4)
    src = SE.GradientSeriesEnclosure(loss, W)
    for h in (0.2, 0.05, 0.3, 0.05):
        tm, fresh = src.taylor_model(h), SE.enclose_gradient_series(loss, W, h)
        for a, b in ((tm.mid, fresh.mid), (tm.rad, fresh.rad), (tm.rem_entry, fresh.rem_entry)):
            assert np.array_equal(a, b)
        assert (tm.r_poly, tm.order, tm.h) == (fresh.r_poly, fresh.order, fresh.h)
        tm.mid[...] = 0.0
        tm.rad[...] = 0.0
    with mpmath.workdps(50):
        _, r = _float_error(loss, W, X, labels, 4, "ce")
        tm = src.taylor_model(0.2)
        assert ref.coefficient_misses(tm, r, TOL) == []
        assert ref.containment_violation(tm, W.tolist(), X.tolist(), labels.tolist(), "ce", 0.2, points=9) <= TOL
    with pytest.raises(UsageError):
        src.taylor_model(-1.0)


def test_remainder_is_near_the_true_truncation_error():
    """Not just sound: the remainder is within a small factor of the actual deviation at s = h."""
    X, W, labels, loss = _instance(5, q=4)
    h = 0.25
    tm = SE.enclose_gradient_series(loss, W, h)
    with mpmath.workdps(30):
        G = ref.mp_gradient(W.tolist(), X.tolist(), labels.tolist(), h)
        dev = max(abs(float(G[a][b]) - sum(tm.mid[k, a, b] * h**k for k in range(5)))
                  for a in range(3) for b in range(2))
    assert 0 < dev <= float(np.max(tm.rem_entry)) < 100 * dev


def test_order_above_degree_and_higher_degree_inputs():
    """q > n (missing coefficients are zeros, the softmax still has all orders) and n > q (the orders of W above
    q feed only the remainder)."""
    X, W, labels, loss = _instance(9, q=5)
    with mpmath.workdps(50):
        for Wc, q in ((W[:2], 5), (W, 2)):
            r = ref.mp_taylor_gradient(Wc.tolist(), X.tolist(), labels.tolist(), q)
            tm = SE.enclose_gradient_series(loss, Wc, 0.15, order=q)
            assert tm.mid.shape[0] == q + 1
            assert ref.coefficient_misses(tm, r, TOL) == []
            assert ref.containment_violation(tm, Wc.tolist(), X.tolist(), labels.tolist(), "ce", 0.15) <= TOL


def test_coefficient_balls_and_input_remainder():
    """Balls around W's coefficients (every polynomial inside) and a curve that is a polynomial only up to D(s)."""
    X, W, labels, loss = _instance(13, q=3)
    rad = 2.0**-12
    rng = np.random.default_rng(0)
    Wt = W + rng.uniform(-rad, rad, W.shape)  # a polynomial inside the balls
    h = 0.2
    with mpmath.workdps(50):
        tm = SE.enclose_gradient_series(loss, W, h, W_rad=rad)
        r = ref.mp_taylor_gradient(Wt.tolist(), X.tolist(), labels.tolist(), 3)
        assert ref.coefficient_misses(tm, r, TOL) == []
        assert ref.containment_violation(tm, Wt.tolist(), X.tolist(), labels.tolist(), "ce", h) <= TOL
        amp = 1 / 32

        dirs = [[1, -2], [0, 1], [-1, 1]]  # ||dirs||_F = sqrt(8); not a common shift of the logits
        def curve(s):
            f = amp * mpmath.cos(25 * s) / mpmath.sqrt(8)
            return [[f * x for x in row] for row in dirs]  # ||D(s)||_F = |amp cos| <= amp

        tm = SE.enclose_gradient_series(loss, W, h, W_remainder=amp)
        assert tm.r_input > 0
        v = ref.containment_violation(tm, W.tolist(), X.tolist(), labels.tolist(), "ce", h, curve=curve)
        assert v <= TOL
        # planted: the same check without the input remainder fails
        v = ref.containment_violation(tm, W.tolist(), X.tolist(), labels.tolist(), "ce", h, curve=curve,
                                      remainder=tm.r_poly)
        assert v > 0


def test_evaluate_and_norms():
    X, W, labels, loss = _instance(17, q=4)
    h = Fraction(1, 5)
    tm = SE.enclose_gradient_series(loss, W, h)
    assert tm.h >= 0.2
    with mpmath.workdps(50):
        for s in (Fraction(0), Fraction(1, 7), h):
            B = tm.evaluate(s)
            G = ref.mp_gradient(W.tolist(), X.tolist(), labels.tolist(), mpmath.mpf(s.numerator) / s.denominator)
            for a in range(3):
                for b in range(2):
                    assert abs(G[a][b] - mpmath.mpf(float(B.m[a, b]))) <= mpmath.mpf(float(B.r[a, b]))
            assert math.sqrt(sum(float(G[a][b]) ** 2 for a in range(3) for b in range(2))) <= tm.sup_norm()
    al = tm.alpha()
    assert al.shape == (5,) and np.all(al >= tm.coefficient_norms() * np.array([0.2**k for k in range(5)]))
    with pytest.raises(UsageError):
        tm.evaluate(Fraction(1, 4))
    # h = 0: nothing to bound beyond the coefficients
    assert SE.enclose_gradient_series(loss, W, 0.0).remainder < 1e-150


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10**6), kind=st.sampled_from(["ce", "ce-soft", "logistic"]),
       dN=st.integers(2, 3), d0=st.integers(1, 3), m=st.integers(2, 4), q=st.integers(0, 5),
       logscale=st.sampled_from([0.0, 0.0, 1.0, 2.0, 2.5]), sign=st.sampled_from([1.0, -1.0]), tie=st.booleans(),
       hfrac=st.sampled_from([0.05, 0.2, 0.5, 1.0]))
def test_property_enclosure_contains_truth(seed, kind, dN, d0, m, q, logscale, sign, tie, hfrac):
    soft = kind == "ce-soft"
    kind = "logistic" if kind == "logistic" else "ce"
    if kind == "logistic":
        dN = 1
    scale = sign * 10.0**logscale
    X, W, labels, loss = _instance(seed, kind, dN, d0, m, q, scale, tie, soft)
    h = hfrac / abs(scale)
    try:
        tm = SE.enclose_gradient_series(loss, W, h)
    except BlowUpError:
        return  # honest refusal (an interval box too wide for binary64); never a wrong enclosure
    with mpmath.workdps(50):
        v = ref.containment_violation(tm, W.tolist(), X.tolist(), labels.tolist(), kind, h, points=7)
        assert v <= TOL, float(v)


# ---- the GF Taylor candidate: gf_taylor with the nonlinear gradient series, against mpmath's ODE solver ----


def test_gf_candidate_matches_mpmath_odefun():
    rng = random.Random(2)
    d = [2, 2, 2]  # depth 2
    X = np.array([[rng.randint(-4, 4) / 4 for _ in range(3)] for _ in range(2)])
    Y = np.zeros((2, 3))
    Y[[0, 1, 1], [0, 1, 2]] = 1.0
    loss = CrossEntropy(X, Y)
    W0 = [np.array([[rng.randint(-8, 8) / 8 for _ in range(d[j])] for _ in range(d[j + 1])]) for j in range(2)]
    q = 10
    Wl, _ = S.gf_taylor_ce(loss, W0, q)
    with mpmath.workdps(40):
        Xm = X.tolist()

        def F(t, y):
            A = [[y[0], y[1]], [y[2], y[3]]]
            B = [[y[4], y[5]], [y[6], y[7]]]
            E = [[sum(B[a][c] * A[c][b] for c in range(2)) for b in range(2)] for a in range(2)]
            G = ref.mp_gradient([E], Xm, Y.tolist(), 0)
            gA = [[-sum(B[c][a] * G[c][b] for c in range(2)) for b in range(2)] for a in range(2)]  # -W2^T G
            gB = [[-sum(G[a][c] * A[b][c] for c in range(2)) for b in range(2)] for a in range(2)]  # -G W1^T
            return [gA[0][0], gA[0][1], gA[1][0], gA[1][1], gB[0][0], gB[0][1], gB[1][0], gB[1][1]]

        y0 = [mpmath.mpf(float(v)) for w in W0 for v in w.ravel()]
        sol = mpmath.odefun(F, 0, y0)
        for t in (0.05, 0.1):
            exact = sol(t)
            approx = np.concatenate([sum(Wl[j][i] * t**i for i in range(q + 1)).ravel() for j in range(2)])
            err = max(abs(float(e) - a) for e, a in zip(exact, approx))
            assert err < 1e-13, (t, err)
        # the truncated candidate at order 2 is visibly worse: the test can fail
        Wl2, _ = S.gf_taylor_ce(loss, W0, 2)
        approx = np.concatenate([sum(Wl2[j][i] * 0.1**i for i in range(3)).ravel() for j in range(2)])
        assert max(abs(float(e) - a) for e, a in zip(sol(0.1), approx)) > 1e-8


# ---- planted bugs must be caught ----


def _soundness_fails(monkeypatch, attr, fake, case=None):
    monkeypatch.setattr(SE if hasattr(SE, attr) else S, attr, fake)
    X, W, labels, loss = _instance(11, **(case or {}))
    q = W.shape[0] - 1
    h = 0.2
    with mpmath.workdps(50):
        _, r = _float_error(loss, W, X, labels, q, (case or {}).get("kind", "ce"))
        tm = SE.enclose_gradient_series(loss, W, h)
        misses = ref.coefficient_misses(tm, r, TOL)
        v = ref.containment_violation(tm, W.tolist(), X.tolist(), labels.tolist(), (case or {}).get("kind", "ce"), h)
    return bool(misses) or v > TOL


def test_planted_off_by_one_in_the_exp_recursion_is_caught(monkeypatch):
    X, W, labels, loss = _instance(11)
    monkeypatch.setattr(S, "_exp_weight", lambda j: j + 1)
    err, _ = _float_error(loss, W, X, labels, W.shape[0] - 1, "ce")
    assert err > 1e-6  # the float coefficients are wrong
    assert _soundness_fails(monkeypatch, "_exp_weight", lambda j: j + 1)


def test_planted_division_off_by_one_is_caught(monkeypatch):
    """p_k = (e_k - sum_j sigma_j p_{k-1-j}) / sigma_0 (an index shift in the series division)."""
    real = SE._conv_k

    def shifted(Am, aA, Ar, Bm, GB, AB, k):
        if Am.shape[1] == 1 and k > 1:  # the division's convolution (sigma broadcast over the classes)
            return real(Am, aA, Ar, Bm, GB, AB, k - 1)
        return real(Am, aA, Ar, Bm, GB, AB, k)

    assert _soundness_fails(monkeypatch, "_conv_k", shifted)


def test_planted_dropped_remainder_is_caught(monkeypatch):
    assert _soundness_fails(monkeypatch, "_remainder_entry", lambda Tm, Tr, Rm, Rr, hp, q: np.zeros_like(Rm))


def test_planted_remainder_without_the_tail_orders_is_caught(monkeypatch):
    """Only the interval coefficient of order q+e+1, without the point orders q+1..q+e: not a bound."""
    real = SE._remainder_entry
    monkeypatch.setattr(SE, "_remainder_entry", lambda Tm, Tr, Rm, Rr, hp, q: real(Tm[:0], Tr[:0], Rm, Rr, hp, q + Tm.shape[0]))
    assert _soundness_fails(monkeypatch, "_remainder_entry", SE._remainder_entry)


def test_planted_ignored_coefficient_radii_are_caught(monkeypatch):
    real = SE._z_balls
    monkeypatch.setattr(SE, "_z_balls", lambda loss, Wm, Wr: real(loss, Wm, np.zeros_like(Wr)))
    X, W, labels, loss = _instance(13, q=3)
    rad = 2.0**-12
    Wt = W + np.random.default_rng(0).uniform(-rad, rad, W.shape)
    with mpmath.workdps(50):
        r = ref.mp_taylor_gradient(Wt.tolist(), X.tolist(), labels.tolist(), 3)
        tm = SE.enclose_gradient_series(loss, W, 0.2, W_rad=rad)
        assert ref.coefficient_misses(tm, r, TOL)


# ---- the lemma ----


def test_proof_module_passes_and_is_registered():
    r = proofs.run(ref)
    assert r.status == "pass", r.detail
    assert ref in proofs.modules()
    for attr in ("TITLE", "STATEMENT", "HYPOTHESES", "PROOF"):
        assert getattr(ref, attr).strip()


@pytest.mark.parametrize("overrides", [
    {"exp_weight": lambda j: j + 1, "implementation": False},
    {"exp_weight": lambda j: max(j - 1, 1), "symbolic": False},
    {"drop_remainder": True, "symbolic": False},
    {"drop_input_remainder": True, "symbolic": False},
], ids=["weight-symbolic", "weight-implementation", "no-remainder", "no-input-remainder"])
def test_proof_module_rejects_planted_bugs(overrides):
    r = proofs.run(ref, **overrides)
    assert r.status == "FAIL", r.detail


# ---- inputs ----


def test_input_validation():
    X, W, labels, loss = _instance(1)
    with pytest.raises(UsageError):
        S.gradient_series(loss, np.zeros((2, 2, 2)))
    with pytest.raises(UsageError):
        SE.enclose_gradient_series(loss, W, -1.0)
    with pytest.raises(UsageError):
        SE.enclose_gradient_series(loss, W, 0.1, W_rad=-1.0)
    with pytest.raises(UsageError):
        SE.enclose_gradient_series(loss, W, 0.1, W_remainder=math.inf)
    with pytest.raises(BlowUpError):
        S.gradient_series(loss, np.full_like(W, math.nan))
    with pytest.raises(UsageError):
        S.gradient_series(object(), W)
    with pytest.raises(UsageError):
        S.GradientSeriesCE(loss).push(np.zeros((2, 2)))


def test_batched_over_samples_at_paper_size():
    """64-50-50-10 shapes with m = 1000 (builtin:paper-ce's sizes): runs, agrees with the incremental series,
    and order 0 equals the rigorous gradient enclosure."""
    rng = np.random.default_rng(4)
    X = rng.integers(0, 17, (64, 1000)) / 16
    loss = CrossEntropy(X, np.eye(10)[:, rng.integers(0, 10, 1000)])
    W = rng.standard_normal((9, 10, 64)) * 0.05 * 0.5 ** np.arange(9)[:, None, None]
    g = S.gradient_series(loss, W)
    ser = S.GradientSeriesCE(loss)
    assert np.allclose(np.stack([ser.push(w) for w in W]), g, rtol=1e-12, atol=1e-15)
    tm = SE.enclose_gradient_series(loss, W, 2.0**-6)
    G0 = loss.enclose_gradient(W[0])
    assert np.all(np.abs(tm.mid[0] - G0.m) <= tm.rad[0] + G0.r)
    assert np.all(np.abs(tm.mid - g) <= tm.rad + 1e-14 * (1 + np.abs(g)))
    assert tm.remainder < 1e-10
