"""The reference solutions of tests/helpers/closed_forms.py, checked against each
other and against independent computations (none uses certify's code):

- scalar modes: closed form (N <= 2) vs implicit quadrature vs mpmath.odefun,
  and the ODE residual a' + a^{N-1}(a^N - phi) by numerical differentiation;
- instances: the stored doubles are the intended dyadic numbers (exactly
  balanced, S2.4), and theta_at(t) satisfies the GF equation of the *stored*
  problem (S1, gradient S2.1 written out here in mpmath);
- depth 1: the square-loss eigen-solution vs mpmath.odefun; GD closed form vs
  exact iteration.
"""

from fractions import Fraction

import mpmath
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers.closed_forms import (
    depth1_instances,
    diagonal_instances,
    dyadic_orthogonal,
    make_depth1_instance,
    make_diagonal_instance,
    mode_closed_form,
    mode_implicit,
    mode_odefun,
    to_mpf,
)

DPS = 50
TOL = mpmath.mpf(10) ** -48


# ---------------------------------------------------------------------------
# independent mpmath model of the stored problem (S1, S2.1)
# ---------------------------------------------------------------------------


def _mat(rows):
    return mpmath.matrix([[to_mpf(x) for x in row] for row in rows])


def unflatten_mp(theta, dims):
    out, pos = [], 0
    for j in range(len(dims) - 1):
        r, c = dims[j + 1], dims[j]
        W = mpmath.matrix(r, c)
        for i in range(r):
            for k in range(c):
                W[i, k] = theta[pos]
                pos += 1
        out.append(W)
    assert pos == len(theta)
    return out


def neg_grad_mp(spec, theta):
    """``-grad f(theta)`` per S2.1, flattened per S1, for the stored problem."""
    dims = spec["dims"]
    N = len(dims) - 1
    Ws = unflatten_mp(theta, dims)
    P = [mpmath.eye(dims[0])]
    for W in Ws:
        P.append(W * P[-1])
    loss = spec["loss"]
    if loss["kind"] == "whitened":
        G = P[-1] - _mat(loss["target"])
    else:
        X, Y = _mat(loss["X"]), _mat(loss["Y"])
        m = X.cols
        G = (P[-1] * X - Y) * X.T / m
    out = []
    for j in range(N):
        S = mpmath.eye(dims[-1])
        for l in range(N - 1, j, -1):
            S = S * Ws[l]
        g = S.T * G * P[j].T
        out.extend(-g[r, c] for r in range(g.rows) for c in range(g.cols))
    return out


def dist(x, y):
    return mpmath.sqrt(sum((a - b) ** 2 for a, b in zip(x, y)))


# ---------------------------------------------------------------------------
# scalar modes
# ---------------------------------------------------------------------------


@settings(max_examples=20, deadline=None)
@given(N=st.integers(1, 2), a=st.integers(1, 32), p=st.integers(4, 32), t=st.fractions(0, 12))
def test_mode_closed_form_equals_implicit_quadrature(N, a, p, t):
    with mpmath.workdps(DPS + 10):
        x = mode_closed_form(N, Fraction(a, 16), Fraction(p, 16), t)
        y = mode_implicit(N, Fraction(a, 16), Fraction(p, 16), t)
        assert abs(x - y) <= TOL * abs(x), (x, y)


@pytest.mark.parametrize("N, a, p, t", [(3, Fraction(1, 8), Fraction(3, 2), Fraction(3, 2)),
                                        (4, Fraction(5, 4), Fraction(1, 2), Fraction(1, 2)),
                                        (5, Fraction(1, 2), Fraction(5, 4), Fraction(2))])
def test_mode_implicit_equals_odefun(N, a, p, t):
    """Two independent methods for N >= 3 (quadrature+Newton, mpmath's Taylor)."""
    with mpmath.workdps(DPS + 10):
        x = mode_implicit(N, a, p, t)
        y = mode_odefun(N, a, p, [t])[0]
        assert abs(x - y) <= TOL * abs(x), (x, y)


def central_diff(f, T, h):
    """``(f(T+h) - f(T-h)) / (2h)`` (entrywise for lists); error ``~h^2 |f'''|/6``."""
    a, b = f(T + h), f(T - h)
    if isinstance(a, list):
        return [(x - y) / (2 * h) for x, y in zip(a, b)]
    return (a - b) / (2 * h)


@settings(max_examples=6, deadline=None)
@given(N=st.integers(1, 6), a=st.integers(1, 32), p=st.integers(4, 32), t=st.fractions(0, 8))
def test_mode_solves_its_ode(N, a, p, t):
    """a'(t) (central difference, h = 1e-20 at 70 digits: error ~1e-40) equals -a^{N-1}(a^N - phi)."""
    with mpmath.workdps(70):
        a0, ph = Fraction(a, 16), Fraction(p, 16)
        T = to_mpf(t) + mpmath.mpf(1) / 7
        sol = (lambda s: mode_closed_form(N, a0, ph, s)) if N <= 2 else (lambda s: mode_implicit(N, a0, ph, s))
        da = central_diff(sol, T, mpmath.mpf(10) ** -20)
        x = sol(T)
        rhs = -(x ** (N - 1)) * (x**N - to_mpf(ph))
        assert abs(da - rhs) <= mpmath.mpf(10) ** -32 * (1 + abs(rhs)), (da, rhs)


def test_mode_implicit_rejects_nothing_at_fixed_points():
    with mpmath.workdps(DPS):
        assert mode_implicit(3, 1, 1, 5) == 1  # a0 = a* : stationary
        assert mode_implicit(3, 0, 1, 5) == 0  # the saddle at 0
        assert mode_implicit(3, Fraction(1, 2), 1, 0) == mpmath.mpf(1) / 2


# ---------------------------------------------------------------------------
# diagonal instances
# ---------------------------------------------------------------------------


@settings(max_examples=30, deadline=None)
@given(d=st.integers(1, 8), seed=st.integers(0, 2**32 - 1))
def test_dyadic_orthogonal_is_orthogonal_and_dyadic(d, seed):
    Q = dyadic_orthogonal(d, np.random.default_rng(seed))
    QtQ = np.dot(Q.T, Q)
    assert all(QtQ[i, j] == (1 if i == j else 0) for i in range(d) for j in range(d))
    assert all((x.denominator & (x.denominator - 1)) == 0 for x in Q.reshape(-1))
    if d >= 4:  # the Hadamard blocks make it more than a signed permutation
        assert sum(1 for x in Q.reshape(-1) if x != 0) > d


@settings(max_examples=25, deadline=None)
@given(inst=diagonal_instances(max_depth=5, max_width=8))
def test_stored_instance_is_exactly_the_intended_one(inst):
    """theta_at(0) is the stored problem; the stored weights are exactly
    balanced (S2.4) in rational arithmetic; Phi = W_{N:1} of the target modes."""
    spec = inst.spec
    Ws = [np.array([[Fraction(x) for x in row] for row in w], dtype=object) for w in spec["init"]["weights"]]
    for j in range(inst.N - 1):
        assert (np.dot(Ws[j + 1].T, Ws[j + 1]) == np.dot(Ws[j], Ws[j].T)).all()
    stored = [Fraction(x) for w in spec["init"]["weights"] for row in w for x in row]
    with mpmath.workdps(DPS):
        assert inst.theta_at(0) == [to_mpf(x) for x in stored]
    if inst.loss == "square":
        X = np.array([[Fraction(x) for x in row] for row in spec["loss"]["X"]], dtype=object)
        m = X.shape[1]
        Sxx = np.dot(X, X.T) / m
        assert (Sxx == np.eye(X.shape[0], dtype=int)).all()


@settings(max_examples=8, deadline=None)
@given(inst=diagonal_instances(max_depth=5, max_width=6), t=st.fractions(0, 6))
def test_diagonal_truth_solves_the_gradient_flow_of_the_stored_problem(inst, t):
    """d/dt theta(t) (from the mode ODE) equals -grad f(theta(t)) of the spec
    (S2.1 in mpmath), and the loss formula matches the spec's loss."""
    with mpmath.workdps(DPS):
        theta = inst.theta_at(t, DPS)
        modes = inst.modes_at(t, DPS)
        N = inst.N
        dmodes = [-(a ** (N - 1)) * (a**N - to_mpf(p)) for a, p in zip(modes, inst.phi)]
        dtheta = []
        for j in range(N):
            D = mpmath.zeros(inst.dims[j + 1], inst.dims[j])
            for k, v in enumerate(dmodes):
                D[k, k] = v
            M = _mat(inst.U[j + 1]) * D * _mat(inst.U[j]).T
            dtheta.extend(M[r, c] for r in range(M.rows) for c in range(M.cols))
        rhs = neg_grad_mp(inst.spec, theta)
        assert dist(dtheta, rhs) <= TOL * (1 + dist(rhs, [0] * len(rhs)))
        # loss of the stored problem at theta(t)
        Ws = unflatten_mp(theta, inst.dims)
        P = Ws[0]
        for W in Ws[1:]:
            P = W * P
        loss = inst.spec["loss"]
        if loss["kind"] == "whitened":
            R = P - _mat(loss["target"])
            l = sum(x**2 for x in R) / 2
        else:
            X, Y = _mat(loss["X"]), _mat(loss["Y"])
            R = P * X - Y
            l = sum(x**2 for x in R) / (2 * X.cols)
        assert abs(l - inst.loss_at(t, DPS)) <= TOL * (1 + abs(l))


def test_diagonal_methods_agree_on_a_deep_instance():
    """N = 3: implicit quadrature and mpmath.odefun give the same theta(t)."""
    inst = make_diagonal_instance([3, 2, 4, 3], [Fraction(3, 8), Fraction(9, 8)],
                                  [Fraction(5, 4), Fraction(3, 4), Fraction(1, 2)], seed=11)
    with mpmath.workdps(DPS):
        x = inst.theta_at(Fraction(3, 2), DPS, method="implicit")
        y = inst.theta_at(Fraction(3, 2), DPS, method="odefun")
        assert dist(x, y) <= TOL


def test_diagonal_gd_matches_direct_exact_iteration():
    """The per-mode GD map equals GD on the stored problem (S2.1 in mpmath)."""
    inst = make_diagonal_instance([2, 4, 3], [Fraction(1, 4), Fraction(5, 4)], [Fraction(1), Fraction(3, 4)],
                                  seed=3, loss="square")
    eta = 0.125
    with mpmath.workdps(60):
        theta = [to_mpf(Fraction(x)) for w in inst.spec["init"]["weights"] for row in w for x in row]
        for _ in range(7):
            theta = [x + mpmath.mpf(eta) * g for x, g in zip(theta, neg_grad_mp(inst.spec, theta))]
        assert dist(theta, inst.gd_theta(eta, 7, 60)) <= mpmath.mpf(10) ** -55


def test_bad_instances_are_refused():
    with pytest.raises(ValueError, match="modes"):
        make_diagonal_instance([2, 2], [1], [1, 1], 0)
    with pytest.raises(ValueError, match="positive"):
        make_diagonal_instance([2, 2], [1, 0], [1, 1], 0)


# ---------------------------------------------------------------------------
# depth 1
# ---------------------------------------------------------------------------


@settings(max_examples=6, deadline=None)
@given(inst=depth1_instances(max_width=4), t=st.fractions(0, 3))
def test_depth1_truth_solves_the_gradient_flow(inst, t):
    """theta_at'(t) (central difference, h = 1e-30 at 100 digits) equals
    -grad f(theta(t)) of the stored problem (S2.1)."""
    with mpmath.workdps(100):
        T = to_mpf(t) + mpmath.mpf(1) / 5
        deriv = central_diff(lambda s: inst.theta_at(s, 100), T, mpmath.mpf(10) ** -30)
        rhs = neg_grad_mp(inst.spec, inst.theta_at(T, 100))
        assert dist(deriv, rhs) <= mpmath.mpf(10) ** -45 * (1 + dist(rhs, [0] * len(rhs)))


def test_depth1_square_loss_matches_odefun():
    """Eigen-solution of W' = -(W Sxx - Syx) vs mpmath's Taylor integrator."""
    inst = make_depth1_instance(2, 2, seed=4, loss="square", m=3)
    with mpmath.workdps(40):
        f = lambda s, y: neg_grad_mp(inst.spec, y)
        y0 = [to_mpf(Fraction(x)) for row in inst.spec["init"]["weights"][0] for x in row]
        sol = mpmath.odefun(f, 0, y0, tol=mpmath.mpf(10) ** -38)
        assert dist(sol(mpmath.mpf(1) / 2), inst.theta_at(Fraction(1, 2), 40)) <= mpmath.mpf(10) ** -35


@settings(max_examples=10, deadline=None)
@given(inst=depth1_instances(losses=("whitened",)), k=st.integers(0, 40),
       eta=st.sampled_from([0.5, 0.125, 2.0**-7, 0.1]))
def test_depth1_gd_closed_form_is_exact_gd(inst, k, eta):
    e = Fraction(eta)
    W = inst.W0.copy()
    for _ in range(k):
        W = W - (W - inst.Phi) * e
    assert inst.gd_theta(eta, k) == [x for row in W for x in row]
