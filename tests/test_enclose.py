"""S3.2: the dense-Hessian enclosure and the lambda_min enclosure against
50-digit mpmath eigenvalues of the exact Hessian; S3.1 never undercuts S3.2."""

import mpmath
from flint import arb
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from certify import Objective, problem_from_dict
from certify.curvature.s32 import hessian_ball, lambda_min_enclosure, s31_vs_s32


def _prob(seed, depth, square):
    rng = np.random.default_rng(seed)
    dims = [int(d) for d in rng.integers(1, 4, depth + 1)]
    w = lambda r, c: (rng.integers(-32, 33, (r, c)) / 32).tolist()
    loss = ({"kind": "square", "X": w(dims[0], 4), "Y": w(dims[-1], 4)} if square
            else {"kind": "whitened", "target": w(dims[-1], dims[0])})
    return problem_from_dict({"dims": dims, "loss": loss, "init": {"weights": [w(dims[i + 1], dims[i]) for i in range(depth)]}}), rng


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**31), depth=st.integers(1, 4), square=st.booleans())
def test_lambda_min_enclosure_contains_the_50_digit_value(seed, depth, square):
    prob, _ = _prob(seed, depth, square)
    H = hessian_ball(prob, prob.theta0)
    lo, hi = lambda_min_enclosure(H)
    with mpmath.workdps(50):
        Hm = mpmath.matrix(Objective(prob, "mpf", dps=50).hessian(np.array(prob.theta0, dtype=object)).tolist())
        lam = min(mpmath.eigsy(Hm, eigvals_only=True))
    assert lo <= lam <= hi
    assert hi - lo <= 1e-9 * (1 + abs(float(lam)))
    r = s31_vs_s32(prob, prob.theta0)
    assert r["s31_mu"] >= r["m"][0]  # S3.1 is a valid bound of m


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**31), depth=st.integers(1, 3), square=st.booleans(), radius=st.sampled_from([1e-6, 1e-2]))
def test_hessian_ball_contains_the_hessian_anywhere_in_the_box(seed, depth, square, radius):
    prob, rng = _prob(seed, depth, square)
    H = hessian_ball(prob, prob.theta0, radius)
    lo, hi = lambda_min_enclosure(H)
    obj = Objective(prob, "mpf", dps=40)
    n = prob.n_params
    for _ in range(2):
        z = prob.theta0 + rng.uniform(-radius, radius, n)  # doubles inside the box
        with mpmath.workdps(40):
            Hz = obj.hessian(np.array(z, dtype=object))
            for i in range(n):
                for j in range(n):
                    # the 40-digit value, as a ball of radius 1e-35 (its own error), meets the enclosure
                    assert H[i, j].overlaps(arb(mpmath.nstr(Hz[i, j], 45), 1e-35))
            lam = min(mpmath.eigsy(mpmath.matrix(Hz.tolist()), eigvals_only=True))
        assert lo <= lam <= hi


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**31), depth=st.integers(1, 4), square=st.booleans(), radius=st.sampled_from([0.0, 1e-8, 1e-2]))
def test_gradient_ball_contains_the_gradient_anywhere_in_the_box(seed, depth, square, radius):
    from certify.curvature.s32 import gradient_ball

    prob, rng = _prob(seed, depth, square)
    G = gradient_ball(prob, prob.theta0, radius)
    obj = Objective(prob, "mpf", dps=40)
    z = prob.theta0 + rng.uniform(-radius, radius, prob.n_params)
    with mpmath.workdps(40):
        g = obj.grad(np.array(z, dtype=object))
    flat = [x for M in G for x in M.entries()]
    assert len(flat) == len(g)
    for enc, x in zip(flat, g):
        assert enc.overlaps(arb(mpmath.nstr(x, 45), 1e-35))
