"""The high-precision GF estimate (certify.flow.estimate, S2.3 Taylor method)
against references known independently of certify's code
(tests/helpers/closed_forms.py), against scipy's DOP853 (a loose, non-rigorous
sanity check on generic problems), and its error paths."""

import json
import math
from fractions import Fraction

import mpmath
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from certify import TooLargeError, BlowUpError, Objective, UsageError, problem_from_dict
from certify.flow.estimate import integrate_gf
from certify.strategies import problem_specs

from helpers.closed_forms import depth1_instances, diagonal_instances, make_diagonal_instance

DIGITS = 40


def rel_err(theta, truth):
    """``||theta - truth|| / max(1, ||truth||)`` (Euclidean, S1 flattening)."""
    with mpmath.workdps(150):
        d = mpmath.sqrt(sum((mpmath.mpf(a) - b) ** 2 for a, b in zip(theta, truth)))
        n = mpmath.sqrt(sum(b**2 for b in truth))
        return d / max(1, n)


def assert_digits(est, inst, digits=DIGITS):
    for t, theta in zip(est.times, est.thetas):
        truth = inst.theta_at(t, 60)
        err = rel_err(theta, truth)
        assert err <= mpmath.mpf(10) ** -digits, (float(t), mpmath.nstr(err, 5))


@settings(max_examples=10, deadline=None)
@given(inst=diagonal_instances(min_depth=1, max_depth=5, max_width=8),
       T=st.sampled_from([Fraction(1), Fraction(3, 2), Fraction(2)]),
       cps=st.lists(st.fractions(Fraction(1, 64), 1), max_size=2))
def test_matches_deep_diagonal_closed_forms_to_40_digits(inst, T, cps):
    """Depth 1..5, widths <= 8 (rectangular), whitened or square loss: >= 40
    correct digits at every output time (dense output inside steps and the
    final step), and the losses too."""
    est = integrate_gf(problem_from_dict(inst.spec), T, dps=50, checkpoints=cps)
    assert est.kind == "estimate"
    # exactly the requested times (Fractions: two checkpoints 1e-20 apart are two outputs)
    assert est.times == sorted({Fraction(0), T, *cps})
    assert_digits(est, inst)
    for t, l in zip(est.times, est.losses):
        truth = inst.loss_at(t, 60)
        assert abs(l - truth) <= mpmath.mpf(10) ** -DIGITS * max(1, abs(truth))


@settings(max_examples=4, deadline=None)
@given(inst=diagonal_instances(min_depth=2, max_depth=3, max_width=3),
       T=st.sampled_from([5, 10]))
def test_long_horizon_to_40_digits(inst, T):
    est = integrate_gf(problem_from_dict(inst.spec), T, dps=50, checkpoints=[T / 3])
    assert_digits(est, inst)


@settings(max_examples=8, deadline=None)
@given(inst=depth1_instances(max_width=8), T=st.sampled_from([1, 4, 10]))
def test_matches_depth1_closed_forms_to_40_digits(inst, T):
    """Whitened: W(t) = Phi + (W0 - Phi) e^{-t}; square: exp(-Sxx t) solution."""
    est = integrate_gf(problem_from_dict(inst.spec), T, dps=50, checkpoints=[Fraction(1, 3)])
    assert_digits(est, inst)


def test_precision_follows_dps():
    """dps = 100 gives ~100 digits, and tol = 1e-20 gives ~20 with fewer steps."""
    inst = make_diagonal_instance([2, 3, 2], [Fraction(3, 8), Fraction(7, 8)], [Fraction(5, 4), Fraction(1, 2)], 7)
    prob = problem_from_dict(inst.spec)
    hi = integrate_gf(prob, 2, dps=100)
    assert rel_err(hi.thetas[-1], inst.theta_at(2, 110)) <= mpmath.mpf(10) ** -95
    lo = integrate_gf(prob, 2, dps=50, tol=1e-20)
    err = rel_err(lo.thetas[-1], inst.theta_at(2, 60))
    assert err <= mpmath.mpf(10) ** -18
    assert err >= mpmath.mpf(10) ** -40  # the tolerance is really used
    assert lo.n_steps < integrate_gf(prob, 2, dps=50).n_steps


@settings(max_examples=5, deadline=None)
@given(spec=problem_specs(max_depth=3, max_width=3, max_samples=4))
def test_agrees_with_scipy_dop853_on_generic_problems(spec):
    """Unbalanced, non-diagonal problems (no closed form): scipy's DOP853 at
    rtol = atol = 1e-12 on the float64 gradient is a loose, non-rigorous
    check (agreement to 1e-8 relative)."""
    from scipy.integrate import solve_ivp

    # keep the flow tame: scale the dyadic weights into [-1/2, 1/2]
    spec = json.loads(json.dumps(spec))
    spec["init"]["weights"] = [[[x / 4 for x in row] for row in w] for w in spec["init"]["weights"]]
    prob = problem_from_dict(spec)
    obj = Objective(prob)
    T = 1.5
    ref = solve_ivp(lambda t, y: -obj.grad(y), (0, T), prob.theta0, method="DOP853",
                    rtol=1e-12, atol=1e-12, t_eval=[0.5, T])
    assert ref.success
    est = integrate_gf(prob, T, dps=30, checkpoints=[0.5])
    for k in (1, 2):
        got, want = est.thetas_f64[k], ref.y[:, k - 1]
        assert np.linalg.norm(got - want) <= 1e-8 * max(1.0, np.linalg.norm(want))
    # the loss decreases along the flow (GF is a descent flow)
    assert est.losses[0] >= est.losses[1] >= est.losses[2]


def test_output_formats():
    inst = make_diagonal_instance([2, 2, 2], [Fraction(1, 2), Fraction(3, 4)], [Fraction(1), Fraction(5, 4)], 1)
    est = integrate_gf(problem_from_dict(inst.spec), "3/2", dps=40, checkpoints=[Fraction(1, 2)])
    assert est.times == [0, Fraction(1, 2), Fraction(3, 2)]
    assert len(est.thetas) == len(est.thetas_f64) == len(est.losses) == 3
    assert all(isinstance(x, mpmath.mpf) for x in est.thetas[-1])
    assert est.thetas_f64[-1].dtype == np.float64
    assert est.orders and all(2 <= p <= 400 for p in est.orders) and len(est.orders) == est.n_steps
    assert sum(s.h for s in est.steps) == Fraction(3, 2)
    s = est.theta_strings(-1)
    assert len(s) == 8 and all(isinstance(x, str) for x in s)
    with mpmath.workdps(60):
        assert abs(mpmath.mpf(s[0]) - inst.theta_at(Fraction(3, 2), 60)[0]) <= mpmath.mpf(10) ** -38
    doc = json.loads(json.dumps(est.to_json(), allow_nan=False))
    assert doc["kind"] == "estimate" and doc["times"] == ["0", "1/2", "3/2"]


# ---------------------------------------------------------------------------
# errors
# ---------------------------------------------------------------------------

DEMO = {"dims": [2, 2, 2], "loss": {"kind": "whitened", "target": [[1.0, 0.0], [0.0, 1.0]]},
        "init": {"weights": [[[0.5, 0.0], [0.0, 0.25]], [[0.5, 0.0], [0.0, 0.25]]]}}


@pytest.mark.parametrize("t_end", [0, -1, 0.0, float("nan"), float("inf"), "nan", "x", None, True])
def test_bad_horizon_is_a_usage_error(t_end):
    with pytest.raises(UsageError, match="t_end"):
        integrate_gf(problem_from_dict(DEMO), t_end)


@pytest.mark.parametrize("kw, needle", [
    ({"checkpoints": [0]}, "checkpoints"), ({"checkpoints": [2]}, "checkpoints"),
    ({"checkpoints": [float("nan")]}, "checkpoint"), ({"dps": 2}, "dps"), ({"dps": 1.5}, "dps"),
    ({"tol": 0}, "tol"), ({"tol": 2}, "tol"), ({"order": 1}, "order"), ({"max_steps": 0}, "max_steps"),
    ({"prec": 10}, "prec"),
])
def test_bad_options_are_usage_errors(kw, needle):
    with pytest.raises(UsageError, match=needle):
        integrate_gf(problem_from_dict(DEMO), 1, **kw)


def test_huge_initialisation_collapses_the_step():
    """||W_j|| = 1e37: the flow's time scale is ~1e-75 (the step would not
    move the time at working precision): BlowUpError with a one-line message.
    (At 1e150 the problem is already refused when it is loaded: its initial
    loss is beyond binary64 bounds.)"""
    spec = json.loads(json.dumps(DEMO))
    spec["init"]["weights"] = [[[1e37, 0.0], [0.0, 1e37]]] * 2
    with pytest.raises(BlowUpError, match="step size collapsed") as e:
        integrate_gf(problem_from_dict(spec), 1, dps=30)
    assert "\n" not in str(e.value)
    spec["init"]["weights"] = [[[1e150, 0.0], [0.0, 1e150]]] * 2
    with pytest.raises(TooLargeError, match="initial loss") as e:
        problem_from_dict(spec)
    assert "\n" not in str(e.value)


def test_step_budget_exhausted_is_a_blow_up():
    with pytest.raises(BlowUpError, match="maximum number of steps") as e:
        integrate_gf(problem_from_dict(DEMO), 10, dps=30, max_steps=3)
    assert "\n" not in str(e.value)


def test_exploding_norm_is_detected():
    """A solution whose norm grows (modes 1/2, 1/4 -> 1) past max_norm."""
    prob = problem_from_dict(DEMO)
    n0 = float(np.linalg.norm(prob.theta0))
    est = integrate_gf(prob, 5, dps=30)
    n_end = float(np.linalg.norm(est.thetas_f64[-1]))
    assert n_end > 1.5 * n0
    with pytest.raises(BlowUpError, match="exceeds max_norm") as e:
        integrate_gf(prob, 5, dps=30, max_norm=(n0 + n_end) / 2)
    assert "\n" not in str(e.value)
