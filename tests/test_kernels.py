"""Direct tests of the producer's rigorous kernels against exact values
(issue 9 item 4: the kernels the mutation harness plants bugs in).

Truths: exact rationals, mpmath at 50 digits (SVD, exp), closed forms.  These
tests import private kernels by name (``certify.bounds.spectral.spectral_upper``,
``certify._flow.gronwall_update``, ``certify.conditions.base._verdict`` /
``_set_margin``, ``certify.gap.smallstep``, ``certify.curvature.profile``,
``certify.check._arith``): the kernels are not public, and a bug in them must
be caught where it is planted, not only through an end-to-end symptom.
"""

from __future__ import annotations

import math
from fractions import Fraction

import mpmath
import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import certify
import helpers.independent as ind
from certify.arith import get_context

U = Fraction(1, 2**53)


def _mp(x):
    return ind.as_mpf(x)


def _sigma_max(M) -> mpmath.mpf:
    """Largest singular value of an exact matrix at 50 digits (mpmath SVD)."""
    with mpmath.workdps(50):
        A = mpmath.matrix([[_mp(Fraction(x)) for x in row] for row in M])
        if A.rows == 0 or A.cols == 0:
            return mpmath.mpf(0)
        return max(mpmath.svd_r(A, compute_uv=False))


dyadic = st.integers(-64, 64).map(lambda k: k / 16.0)


def dyadic_arrays(max_side=4):
    return st.tuples(st.integers(1, max_side), st.integers(1, max_side)).flatmap(
        lambda s: st.lists(st.lists(dyadic, min_size=s[1], max_size=s[1]), min_size=s[0], max_size=s[0]))


# ---------------------------------------------------------------------------
# _spectral.spectral_upper (S3.1 norms) and gronwall_update (S4.2)
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("backend", ["float64", "arb"])
@settings(max_examples=60)
@given(M=dyadic_arrays())
def test_spectral_upper_bounds_the_true_norm_and_is_tight(backend, M):
    from certify.bounds.spectral import spectral_upper

    ctx = get_context(backend)
    with ctx:
        b = spectral_upper(ctx.matrix(np.array(M)))
    s = _sigma_max(M)
    assert mpmath.mpf(b) >= s
    # tight: rank^(1/64) <= 1.03 for rank <= 4 (docstring), plus rounding
    # (+1e-150: the additive underflow allowance, sqrt(k 2^-1060))
    assert mpmath.mpf(b) <= s * mpmath.mpf("1.03") + mpmath.mpf(10) ** -150


def test_spectral_upper_arb_zero_matrix():
    # was BlowUpError (1/c with c = 5e-324), fixed in 5c16af3
    from certify.bounds.spectral import spectral_upper

    ctx = get_context("arb")
    with ctx:
        assert spectral_upper(ctx.matrix(np.zeros((2, 2)))) <= 1e-150


def test_spectral_upper_exact_values():
    from certify.bounds.spectral import spectral_upper

    ctx = get_context("float64")
    # ||diag(3, 4)||_2 = 4; ||[[1, 1], [1, 1]]||_2 = 2; a ball of radius 1/2 about [[2]]: sup = 2.5
    cases = [([[3.0, 0.0], [0.0, 4.0]], None, 4.0), ([[1.0, 1.0], [1.0, 1.0]], None, 2.0),
             ([[2.0]], 0.5, 2.5), ([[0.0, 3.0, 0.0], [0.0, 0.0, 0.0]], None, 3.0)]
    with ctx:
        for M, rad, truth in cases:
            b = spectral_upper(ctx.matrix(np.array(M), rad=rad))
            assert truth <= b <= truth * 1.03, (M, rad, b)


GRONWALL_CASES = [
    # e0, mu, delta, h
    (0.0, 0.0, 1.0, Fraction(1, 4)), (1e-10, 0.0, 3e-12, Fraction(1, 8)), (1e-8, 2.0, 1e-9, Fraction(1, 2)),
    (1e-8, -3.0, 1e-9, Fraction(1, 2)), (0.5, 1.0, 0.0, Fraction(1)), (0.0, 5.0, 1e-15, Fraction(1, 1024)),
    (1e-300, 1e-3, 1e-300, Fraction(3, 16)),
]


@pytest.mark.parametrize("e0,mu,delta,h", GRONWALL_CASES)
def test_gronwall_update_against_the_closed_form(e0, mu, delta, h):
    """S4.2: ``e(h) = exp(mu h) e0 + delta (exp(mu h) - 1)/mu`` (``delta h`` at mu = 0), at 50 digits."""
    from certify.bounds.gronwall import gronwall_update

    with mpmath.workdps(50):
        H, M, E0, D = _mp(h), mpmath.mpf(mu), mpmath.mpf(e0), mpmath.mpf(delta)
        truth = mpmath.exp(M * H) * E0 + (D * H if mu == 0 else D * mpmath.expm1(M * H) / M)
        got = mpmath.mpf(gronwall_update(e0, mu, delta, h))
        assert got >= truth
        assert got <= truth * (1 + mpmath.mpf(10) ** -14) + mpmath.mpf(10) ** -320


@settings(max_examples=100)
@given(e0=st.integers(0, 2**20).map(lambda k: k * 2.0**-40), mu=st.integers(-64, 64).map(lambda k: k / 8),
       delta=st.integers(0, 2**20).map(lambda k: k * 2.0**-40), hk=st.integers(1, 64))
def test_gronwall_update_property(e0, mu, delta, hk):
    from certify.bounds.gronwall import gronwall_update

    h = Fraction(hk, 64)
    with mpmath.workdps(50):
        H, M = _mp(h), mpmath.mpf(mu)
        truth = mpmath.exp(M * H) * e0 + (delta * H if mu == 0 else delta * mpmath.expm1(M * H) / M)
        got = mpmath.mpf(gronwall_update(e0, mu, delta, h))
        assert truth <= got <= truth * (1 + mpmath.mpf(10) ** -14) + mpmath.mpf(10) ** -320


# ---------------------------------------------------------------------------
# arithmetic backends: operations whose float result is NOT the exact value
# ---------------------------------------------------------------------------


def _ents(M):
    return ind.ball_entries(M)


def _contains_exact(M, exact):
    ents = _ents(M)
    flat = [Fraction(x) for row in exact for x in row]
    return all(lo <= x <= hi for (lo, hi), x in zip(ents, flat))


e = 2.0**-53
ROUNDING_CASES = {
    # name: (operation, exact result as Fractions)
    "matmul_k2": (lambda c: c.matrix(np.array([[1.0, e]])) @ c.matrix(np.array([[1.0], [1.0]])),
                  [[1 + U]]),
    "matmul_k1": (lambda c: c.matrix(np.array([[1.0 + 2 * e]])) @ c.matrix(np.array([[1.0 + 2 * e]])),
                  [[(1 + 2 * U) ** 2]]),
    "matmul_ball": (lambda c: c.matrix(np.array([[1.0, 2.0]]), rad=0.25) @ c.matrix(np.array([[1.0], [1.0]])),
                    [[Fraction(13, 4)]]),  # (1.25) + (2.25): the corner of the ball
    "matmul_ball_right": (lambda c: c.matrix(np.array([[1.0, 2.0]])) @ c.matrix(np.array([[1.0], [1.0]]), rad=0.25),
                          [[Fraction(15, 4)]]),
    "add": (lambda c: c.matrix(np.array([[1.0]])) + c.matrix(np.array([[e]])), [[1 + U]]),
    "sub": (lambda c: c.matrix(np.array([[1.0]])) - c.matrix(np.array([[e / 2]])), [[1 - U / 2]]),
    "add_ball": (lambda c: c.matrix(np.array([[1.0]]), rad=0.5) + c.matrix(np.array([[1.0]])), [[Fraction(5, 2)]]),
    "scalar_float": (lambda c: c.matrix(np.array([[1.0 + 2 * e]])) * (1.0 + 2 * e), [[(1 + 2 * U) ** 2]]),
    "scalar_fraction": (lambda c: c.matrix(np.array([[3.0]])) * Fraction(1, 3), [[Fraction(1)]]),
    "scalar_ball": (lambda c: c.matrix(np.array([[1.0]]), rad=0.5) * 2.0, [[Fraction(3)]]),
    "convert_fraction": (lambda c: c.matrix(np.array([[Fraction(1, 3)]], dtype=object)), [[Fraction(1, 3)]]),
    "transpose_ball": (lambda c: c.matrix(np.array([[1.0, 2.0]]), rad=np.array([[0.0, 0.5]])).T,
                       [[Fraction(1)], [Fraction(5, 2)]]),
}


@pytest.mark.parametrize("backend", ["float64", "arb", "iv"])
@pytest.mark.parametrize("case", sorted(ROUNDING_CASES))
def test_backend_operation_contains_the_exact_result(backend, case):
    op, exact = ROUNDING_CASES[case]
    ctx = get_context(backend, prec=None if backend == "float64" else 64)
    with ctx:
        M = op(ctx)
        assert _contains_exact(M, exact), (case, _ents(M))
        for lo, hi in _ents(M):  # not vacuous (an input radius r gives width 2 r |factor|; Arb
            # stores radii with 30-bit mantissas, hence the relative 2^-24)
            assert hi - lo <= Fraction(2) ** -40 + (2 if "ball" in case else 0) * (1 + Fraction(1, 2**24))


@pytest.mark.parametrize("backend", ["float64", "arb", "iv"])
def test_backend_norm_bounds_exact(backend):
    ctx = get_context(backend, prec=None if backend == "float64" else 64)
    tol = 1e-14 if backend == "float64" else 1e-8  # Arb radii: 30-bit mantissas
    with ctx:
        M = ctx.matrix(np.array([[3.0, 0.0], [0.0, 4.0]]))
        assert 5.0 <= M.norm_f_upper() <= 5.0 * (1 + tol)
        assert 4.0 <= M.norm_2_upper() <= 5.0 * (1 + tol)
        B = ctx.matrix(np.array([[3.0]]), rad=1.0)  # sup |x| over [2, 4] is 4
        assert 4.0 <= B.norm_f_upper() <= 4.0 * (1 + tol)
        assert 4.0 <= B.abs_upper()[0, 0] <= 4.0 * (1 + tol)
        assert 1.0 <= B.rad_max() <= 1.0 * (1 + tol)
        # 1 + 1e-16 is not a double: the sum's ball must reach it
        S = ctx.matrix(np.array([[1.0, 1.0]])) @ ctx.matrix(np.array([[0.5], [2.0**-60]]))
        assert _contains_exact(S, [[Fraction(1, 2) + Fraction(1, 2**60)]])


# ---------------------------------------------------------------------------
# the checker's own arithmetic (certify.check._arith)
# ---------------------------------------------------------------------------


def test_check_arith_scalars_exact():
    from certify.check import _arith as A

    for k in (1, 2, 7, 1000):
        g = Fraction(k) * U / (1 - k * U)
        assert Fraction(A.gamma(k)) >= g and Fraction(A.gamma(k)) <= g * (1 + 8 * U)
    # infl: the exact nonnegative value behind an RN evaluation with n roundings
    c, n = 1.0, 3
    assert Fraction(A.infl(c, n)) >= Fraction(c) * (1 + U) ** n
    assert A.frac_up(Fraction(1, 3)) >= 1 / 3 and Fraction(A.frac_up(Fraction(1, 3))) >= Fraction(1, 3)
    assert Fraction(A.frac_up(Fraction(1, 3))) - Fraction(1, 3) <= Fraction(1, 2**54)
    assert A.vec_norm_up([3.0, 4.0]) >= 5.0 and A.vec_norm_up([3.0, 4.0]) <= 5.0 * (1 + 1e-14)
    assert A.fro_up(np.array([[3.0, 4.0]])) >= 5.0
    d = A.fro_diff_up(np.array([1.0 + 2 * e]), np.array([1.0]))
    assert Fraction(d) >= 2 * U and Fraction(d) <= 2 * U * (1 + Fraction(1, 10**10))


@pytest.mark.parametrize("case", ["matmul_k2", "matmul_k1", "matmul_ball", "matmul_ball_right", "add", "sub"])
def test_check_arith_operations_contain_exact(case):
    from certify.check import _arith as A

    one = np.array([[1.0]])
    if case == "matmul_k2":
        C, R = A.mm(np.array([[1.0, e]]), None, np.array([[1.0], [1.0]]), None)
        exact = 1 + U
    elif case == "matmul_k1":
        C, R = A.mm(np.array([[1.0 + 2 * e]]), None, np.array([[1.0 + 2 * e]]), None)
        exact = (1 + 2 * U) ** 2
    elif case == "matmul_ball":
        C, R = A.mm(np.array([[1.0, 2.0]]), np.array([[0.25, 0.25]]), np.array([[1.0], [1.0]]), None)
        exact = Fraction(13, 4)
    elif case == "matmul_ball_right":
        C, R = A.mm(np.array([[1.0, 2.0]]), None, np.array([[1.0], [1.0]]), np.array([[0.25], [0.25]]))
        exact = Fraction(15, 4)
    elif case == "add":
        C, R = A.addsub(one, None, np.array([[e]]), None, 1)
        exact = 1 + U
    else:
        C, R = A.addsub(one, None, np.array([[e / 2]]), None, -1)
        exact = 1 - U / 2
    c, r = Fraction(float(C[0, 0])), Fraction(float(R[0, 0]))
    assert c - r <= exact <= c + r
    assert r <= Fraction(2) ** -40 + (Fraction(3) if "ball" in case else 0)


@settings(max_examples=60)
@given(M=dyadic_arrays(), scale_exp=st.sampled_from([0, -300, 300, -1000]))
def test_check_spec2_up_bounds_the_true_norm(M, scale_exp):
    from certify.check import _arith as A

    X = np.array(M) * 2.0**scale_exp
    b = A.spec2_up(X)
    s = _sigma_max([[Fraction(float(x)) for x in row] for row in X.tolist()])
    with mpmath.workdps(50):
        assert mpmath.mpf(b) >= s
        assert mpmath.mpf(b) <= s * mpmath.mpf("1.03") + mpmath.mpf(2) ** -1000


# ---------------------------------------------------------------------------
# verdict logic (certify.conditions.base): holds only if margin_lower > 0
# ---------------------------------------------------------------------------


VERDICTS = [((1e-300, 1.0), "holds"), ((0.0, 1.0), "undetermined"), ((-1.0, 1.0), "undetermined"),
            ((-1.0, -1e-300), "fails"), ((-1.0, 0.0), "undetermined"), ((None, None), "undetermined"),
            ((None, -1.0), "fails"), ((2.0, None), "holds"), ((None, 0.5), "undetermined")]


@pytest.mark.parametrize("bounds,expected", VERDICTS)
def test_verdict_table(bounds, expected):
    from certify.conditions.base import _verdict

    assert _verdict(*bounds) == expected


def test_set_margin_precondition_forbids_holds():
    from certify.conditions.base import Hypothesis, _set_margin

    h = Hypothesis("x", "[derived]", "undetermined", "test")
    _set_margin(h, lower=0.5, upper=1.0, precondition=False)
    assert h.status == "undetermined"
    _set_margin(h, lower=0.5, upper=1.0)
    assert h.status == "holds" and 0 < h.margin <= 0.5
    _set_margin(h, lower=-2.0, upper=-1.0)
    assert h.status == "fails" and -1.0 <= h.margin < 0


def test_conditions_report_holds_only_with_positive_margin():
    from certify.conditions import check_conditions

    rep = check_conditions(certify.load_problem("builtin:saddle"), eta=1e-2, t_end=Fraction(1, 2))
    assert rep.hypotheses
    for h in rep.hypotheses:
        if h.status == "holds":
            assert h.exact or (h.margin_lower is not None and h.margin_lower > 0), h.name
        if h.status == "fails":
            assert h.exact or (h.margin_upper is not None and h.margin_upper < 0), h.name


# ---------------------------------------------------------------------------
# curvature integrals (escapes: halved int m in `curvature`, int m = 0 in `conditions`)
# ---------------------------------------------------------------------------


def _m_true_saddle(t):
    """``max(0, -lambda_min(Hf(theta(t))))`` on builtin:saddle (diagonal, depth 2) from
    the closed-form flow and the exact Hessian of the loss definition (hyper-dual AD in mpmath)."""
    from helpers.closed_forms import mode_closed_form

    spec = certify.load_problem("builtin:saddle").to_json()
    with mpmath.workdps(40):
        a = [mode_closed_form(2, 0.01, phi, t) for phi in (1.0, 0.5)]
        W = [[a[0], 0], [0, a[1]]]
        theta = [mpmath.mpf(x) for x in ind.flatten([W, W])]
        n = len(theta)
        H = mpmath.zeros(n, n)
        for i in range(n):
            for j in range(i, n):
                th = [ind.HD(x, 1 if k == i else 0, 1 if k == j else 0) for k, x in enumerate(theta)]
                H[i, j] = H[j, i] = ind.loss(spec, th, lambda x: ind.HD(ind.as_mpf(Fraction(x)))).d
        return max(0, -min(mpmath.eigsy(H, eigvals_only=True)))


@pytest.fixture(scope="module")
def saddle_m_integral():
    """A 40-digit trapezoid estimate of int_0^1 m on builtin:saddle (m is smooth and
    nearly constant ~ 1 there, so the estimate is accurate to far better than 10%)."""
    ts = [Fraction(k, 8) for k in range(9)]
    ms = [_m_true_saddle(t) for t in ts]
    return sum((ms[i] + ms[i + 1]) / 16 for i in range(8))


def test_curvature_int_m_upper_bounds_the_true_integral(saddle_m_integral):
    from certify.curvature.profile import curvature_profile

    prof = curvature_profile(certify.load_problem("builtin:saddle"), t_end=1.0, checkpoints=2)
    exact_sum = sum(Fraction(mu) * (Fraction(b) - Fraction(a)) for a, b, mu in prof["steps"])
    assert Fraction(prof["int_m_upper"]) >= exact_sum  # the certified sum is rounded up
    assert Fraction(prof["int_m_upper"]) <= exact_sum * (1 + Fraction(1, 10**12))
    assert prof["int_m_upper"] >= 0.9 * float(saddle_m_integral)
    assert prof["int_m_upper"] <= 2.0 * float(saddle_m_integral)  # not vacuous
    for a, b, mu in prof["steps"]:
        assert mu >= float(_m_true_saddle(Fraction(a))) * (1 - 1e-12)


def test_conditions_int_m_upper_bounds_the_true_integral(saddle_m_integral):
    from certify.conditions import check_conditions

    rep = check_conditions(certify.load_problem("builtin:saddle"), t_end=1)
    q = rep["curvature"].quantities
    exact_sum = sum(Fraction(mu) * (Fraction(b) - Fraction(a)) for a, b, mu in q["m_segments"])
    assert Fraction(q["int_m_upper"]) >= exact_sum
    assert q["int_m_upper"] >= 0.9 * float(saddle_m_integral)
    assert q["int_m_upper"] <= 2.0 * float(saddle_m_integral)
    assert q["m_max_upper"] >= float(_m_true_saddle(0))


# ---------------------------------------------------------------------------
# small steps (PAPER.md section 2): closed forms of f = -mu theta^2 / 2
# ---------------------------------------------------------------------------


def _concave_truth(mu, theta0, eta, k):
    with mpmath.workdps(50):
        M, E, T0 = mpmath.mpf(mu), mpmath.mpf(eta), mpmath.mpf(theta0)
        return abs(T0 * mpmath.exp(M * E * k) - T0 * (1 + E * M) ** k)


@pytest.mark.parametrize("mu,theta0,eta,k", [(1.0, 0.01, 0.1, 80), (2.0, 0.5, 0.01, 7), (0.5, 1.0, 0.25, 1),
                                             (1.0, 0.01, 1e-3, 8000)])
def test_concave_gap_brackets_the_closed_form(mu, theta0, eta, k):
    from certify.gap.smallstep import concave_gap

    lo, hi = concave_gap(mu, theta0, eta, k)
    t = _concave_truth(mu, theta0, eta, k)
    assert lo <= t <= hi
    assert hi - lo <= 1e-12 * t


@pytest.mark.parametrize("mu,theta0,t,eps", [(1.0, 0.01, 8.0, 1e-3), (2.0, 0.1, 1.0, 1e-4), (1.0, 1.0, 0.5, 0.3)])
def test_required_eta_is_the_largest(mu, theta0, t, eps):
    from certify.gap.smallstep import required_eta

    eta, k, est = required_eta(mu, theta0, t, eps)
    assert eta == t / k
    assert _concave_truth(mu, theta0, t / k, k) <= eps
    if k > 1:
        assert _concave_truth(mu, theta0, t / (k - 1), k - 1) > eps


def test_gap_table_rows_are_the_closed_forms_and_certificates():
    from certify.gap.smallstep import gap_table

    etas, horizon = (0.25, 0.125), 1.0
    rows = gap_table(etas=etas, horizon=horizon)
    names = [r.problem for r in rows]
    assert names.count("concave-quadratic") == len(etas)
    for r in rows:
        k = round(horizon / r.eta)
        if r.problem == "concave-quadratic":
            t = _concave_truth(1.0, 0.01, r.eta, k)
            assert r.gap_lower <= t <= r.gap_upper and r.gap_upper - r.gap_lower <= 1e-12 * t
        else:
            c = certify.certify_gap(certify.load_problem(r.problem), r.eta, k, every=k).checkpoints[-1]
            assert (r.gap_lower, r.gap_upper) == (c.gap_lower, c.gap_upper)
            assert 0 < r.gap_lower <= r.gap_upper


# ---------------------------------------------------------------------------
# the two-sided gap bound includes the GD ball (S4.4 + S4.5)
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("name,eta,steps", [("builtin:saddle", 0.0625, 32), ("builtin:demo", 1e-3, 200),
                                            ("builtin:demo", 2.0**-14, 64), ("builtin:saddle", 2.0**-12, 64)])
def test_gap_bounds_include_both_radii(name, eta, steps):
    """``gap_upper >= ||theta^_k - c_k|| + R_k + r_k`` and ``gap_lower <= ... - R_k - r_k``
    with the distance of the recorded float vectors in exact arithmetic (50 digits).
    The claims are rounded outward by 1e-10 relative: the small-eta instances have
    R_k, r_k above that slack (gap ~1e-7, R ~5e-16), so a dropped radius shows."""
    cert = certify.certify_gap(certify.load_problem(name), eta, steps, every=steps // 4)
    for c in cert.checkpoints[1:]:
        assert c.r > 0  # the exact GD iterate is not the float one: its ball is part of the bound
        with mpmath.workdps(50):
            d = ind.dist([Fraction(float(x)) for x in c.theta], [Fraction(float(x)) for x in c.gf_center])
            assert mpmath.mpf(c.gap_upper) >= d + mpmath.mpf(c.gf_radius) + mpmath.mpf(c.r)
            assert mpmath.mpf(c.gap_lower) <= max(0, d - mpmath.mpf(c.gf_radius) - mpmath.mpf(c.r))
            # not vacuous: both radii plus the claims' outward rounding (1e-10 relative, 12 digits)
            assert mpmath.mpf(c.gap_upper) - mpmath.mpf(c.gap_lower) <= \
                2 * (mpmath.mpf(c.gf_radius) + mpmath.mpf(c.r)) + mpmath.mpf("3e-10") * mpmath.mpf(c.gap_upper)


@pytest.mark.parametrize("name", ["builtin:saddle", "builtin:demo"])
@settings(max_examples=6, deadline=None)
@given(steps=st.integers(2, 4), eta_k=st.integers(1, 8))
def test_gap_gd_ball_contains_exact_rational_gd(name, steps, eta_k):
    """S4.5: the exact-arithmetic GD iterate (fractions.Fraction) lies within r_k of the
    float iterate the certificate records (and the float iterates do differ from it)."""
    spec = certify.load_problem(name).to_json()
    eta = eta_k / (16 if name == "builtin:saddle" else 1024)
    steps = steps if name == "builtin:saddle" else 2  # exact rationals grow like (2N-1)^k bits
    cert = certify.certify_gap(certify.problem_from_dict(spec), eta, steps, every=1)
    exact = ind.gd_exact(spec, eta, steps)
    worst = 0
    for c in cert.checkpoints:
        with mpmath.workdps(60):
            d = ind.dist(exact[c.k], [Fraction(float(x)) for x in c.theta])
            assert d <= mpmath.mpf(c.r), (c.k, d, c.r)
            worst = max(worst, d)
        assert c.r <= 1e-12
    assert worst > 0  # rounding did happen: the test is not vacuous


@pytest.mark.parametrize("name,eta,steps", [("builtin:saddle", 0.0625, 32), ("builtin:demo", 1e-3, 50)])
def test_gap_r_recursion_replayed_exactly(name, eta, steps):
    """S4.5 on the certificate's own segment claims, replayed in exact rationals:
    ``r_{k+1} >= max(1 + eta mu_k, eta beta_k - 1) r_k + round_k`` (and not much more)."""
    doc = certify.certify_gap(certify.load_problem(name), eta, steps, every=steps // 2).to_json()
    E = Fraction(doc["eta"])
    r = Fraction(0)
    segs = sorted(doc["segments"], key=lambda s: s["k"])
    assert [s["k"] for s in segs] == list(range(steps))
    for s in segs:
        q = max(1 + E * Fraction(s["mu_r"]), E * Fraction(s["beta_r"]) - 1)
        need = q * r + Fraction(s["round"])
        got = Fraction(s["r"])
        assert got >= need, (s["k"], float(got), float(need))
        assert got <= need * (1 + Fraction(1, 10**8)) + Fraction(1, 10**300)
        r = got
    assert r > 0
