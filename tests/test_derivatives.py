"""Numerical derivative kernels (S2.1, S2.2) against an independent
high-precision computation: a naive mpmath loss (its own code, below) and
central differences at 80 digits (truncation error ~1e-50)."""

import mpmath
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from certify import Objective, TooLargeError, load_problem, problem_from_dict, run_gd
from certify import BlowUpError, UsageError
from certify.strategies import problem_specs
from helpers.reference import fd_grad, naive_loss


@settings(max_examples=25)
@given(problem_specs(max_depth=5, max_width=3))
def test_s2_1_gradient_and_loss_vs_independent_high_precision(spec):
    p = problem_from_dict(spec)
    theta = [mpmath.mpf(float(x)) for x in p.theta0]
    with mpmath.workdps(80):
        L = naive_loss(spec, theta)
        g = fd_grad(spec, theta, mpmath.mpf(10) ** -30)
        gref = np.array([float(x) for x in g])
        Lref = float(L)
    obj = Objective(p)
    loss, grad = obj.loss_and_grad(p.theta0)
    scale = max(1.0, np.linalg.norm(gref))
    assert abs(loss - Lref) <= 1e-12 * max(1.0, abs(Lref))
    assert np.linalg.norm(grad - gref) <= 1e-12 * scale


@settings(max_examples=15)
@given(problem_specs(max_depth=4, max_width=3), st.integers(0, 2**16))
def test_s2_2_hvp_vs_independent_high_precision(spec, seed):
    p = problem_from_dict(spec)
    v = np.random.default_rng(seed).integers(-4, 5, p.n_params) / 4.0
    obj = Objective(p)
    hv = obj.hvp(p.theta0, v)
    with mpmath.workdps(80):
        theta = [mpmath.mpf(float(x)) for x in p.theta0]
        h = mpmath.mpf(10) ** -25
        gp = fd_grad(spec, [t + h * float(vi) for t, vi in zip(theta, v)], mpmath.mpf(10) ** -30)
        gm = fd_grad(spec, [t - h * float(vi) for t, vi in zip(theta, v)], mpmath.mpf(10) ** -30)
        ref = np.array([float((a - b) / (2 * h)) for a, b in zip(gp, gm)])
    assert np.linalg.norm(hv - ref) <= 1e-11 * max(1.0, np.linalg.norm(ref))


@settings(max_examples=20)
@given(problem_specs(max_depth=4, max_width=3))
def test_number_types_agree_exact_is_exact(spec):
    p = problem_from_dict(spec)
    ex = Objective(p, "exact")
    mp = Objective(p, "mpf", dps=60)
    f64 = Objective(p)
    ge = ex.grad(p.theta0)
    gm = mp.grad(p.theta0)
    gf = f64.grad(p.theta0)
    scale = max(1.0, float(max(abs(x) for x in ge)))
    with mpmath.workdps(60):
        assert all(abs(mpmath.mpf(a.numerator) / a.denominator - b) <= mpmath.mpf(10) ** -50 * scale for a, b in zip(ge, gm))
    assert np.max(np.abs(gf - np.array([float(x) for x in ge]))) <= 1e-13 * scale
    H = ex.hessian(p.theta0)
    assert all(H[i, j] == H[j, i] for i in range(H.shape[0]) for j in range(i))  # exactly symmetric


def test_dense_hessian_refused_above_limit():
    p = load_problem("builtin:digits")
    with pytest.raises(TooLargeError, match="refused above"):
        Objective(p).hessian(p.theta0)


def test_gd_runner_checkpoints_and_divergence():
    p = load_problem("builtin:demo")
    run = run_gd(p, 0.01, 25, every=10)
    assert run.ks == [0, 10, 20, 25]
    assert run.losses[-1] < run.losses[0]
    obj = Objective(p)
    # the float iterates are exactly the recursion theta - eta grad
    th = p.theta0
    for _ in range(10):
        th = th - 0.01 * obj.grad(th)
    assert np.allclose(th, run.thetas[1], rtol=0, atol=1e-15)
    with pytest.raises(BlowUpError, match="diverged"):
        run_gd(p, 50.0, 200)
    for bad in (0.0, -1.0, float("nan"), float("inf")):
        with pytest.raises(UsageError):
            run_gd(p, bad, 10)
    with pytest.raises(UsageError):
        run_gd(p, 0.1, 0)
