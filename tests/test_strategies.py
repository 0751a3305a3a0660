"""certify.strategies: eager validation, shrinking to small dyadic examples,
drawn values are valid problems with the promised structure (checked in
exact arithmetic by tests/helpers/independent.py, not by certify), step sizes below
the true edge of stability, certificates the checker accepts, and the README
example."""

from __future__ import annotations

import math
import re
from fractions import Fraction
from pathlib import Path

import mpmath
import pytest
from hypothesis import assume, find, given, settings
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

import certify
import certify.strategies as cs
import helpers.independent as ind

ROOT = Path(__file__).resolve().parents[1]


# ---------------------------------------------------------------- validation


BAD = [
    (cs.dims, dict(min_depth=3, max_depth=2), "min_depth=3 is larger than max_depth=2"),
    (cs.dims, dict(min_width=0), "min_width=0 must be >= 1"),
    (cs.dims, dict(max_width=2.5), "max_width=2.5 must be an integer"),
    (cs.dims, dict(min_depth=True), "min_depth=True must be an integer"),
    (cs.problem_specs, dict(min_depth=4, max_depth=1), "min_depth=4 is larger than max_depth=1"),
    (cs.problem_specs, dict(losses=("cross_entropy",)), "losses=('cross_entropy',) must be a non-empty subset"),
    (cs.problem_specs, dict(losses=()), "losses=() must be a non-empty subset"),
    (cs.problem_specs, dict(min_samples=3, max_samples=2), "min_samples=3 is larger than max_samples=2"),
    (cs.problem_specs, dict(max_abs_numerator=-1), "max_abs_numerator=-1 must be >= 0"),
    (cs.problems, dict(min_width=5, max_width=4), "min_width=5 is larger than max_width=4"),
    (cs.balanced_problems, dict(min_depth=0), "min_depth=0 must be >= 1"),
    (cs.balanced_problems, dict(denominator_exp=61), "denominator_exp=61 must be <= 60"),
    (cs.near_saddle_problems, dict(min_depth=1), "min_depth=1 must be >= 2"),
    (cs.near_saddle_problems, dict(min_distance_exp=9, max_distance_exp=8),
     "min_distance_exp=9 is larger than max_distance_exp=8"),
    (cs.near_saddle_problems, dict(saddles=("maximum",)), "saddles=('maximum',) must be a non-empty subset"),
    (cs.certificates, dict(min_steps=5, max_steps=4), "min_steps=5 is larger than max_steps=4"),
    (cs.certificates, dict(max_ratio=2), "max_ratio=2 must be in (0, 1]"),
    (cs.certificates, dict(kinds=("near_saddle",), max_depth=1), "needs max_depth >= 2"),
    (cs.certificates, dict(kinds=()), "kinds=() must be a non-empty subset"),
]


@pytest.mark.parametrize("fn,kwargs,message", BAD, ids=[m for _, _, m in BAD])
def test_invalid_arguments_raise_eagerly(fn, kwargs, message):
    # eager: building the strategy raises, before anything is drawn
    with pytest.raises(InvalidArgument, match=re.escape(message)):
        fn(**kwargs)


def test_dyadic_matrices_validation():
    with pytest.raises(InvalidArgument, match=re.escape("rows=0 must be >= 1")):
        cs.dyadic_matrices(0, 2)
    with pytest.raises(InvalidArgument, match=re.escape("denominator_exp=-1 must be >= 0")):
        cs.dyadic_matrices(1, 1, denominator_exp=-1)


@pytest.fixture(scope="module")
def saddle():
    return certify.load_problem("builtin:saddle")


def test_step_sizes_validation(saddle):
    with pytest.raises(InvalidArgument, match=re.escape("min_ratio=1/2 is larger than max_ratio=1/4")):
        cs.step_sizes(saddle, min_ratio=Fraction(1, 2), max_ratio=Fraction(1, 4))
    with pytest.raises(InvalidArgument, match=re.escape("min_ratio=0 must be > 0")):
        cs.step_sizes(saddle, min_ratio=0)
    with pytest.raises(InvalidArgument, match=re.escape("lambda_max='exact' must be 'upper' or 'estimate'")):
        cs.step_sizes(saddle, lambda_max="exact")
    with pytest.raises(InvalidArgument, match="must be a certify.Problem"):
        cs.step_sizes({"dims": [1, 1]})
    with pytest.raises(InvalidArgument, match="max_ratio=nan must be finite"):
        cs.step_sizes(saddle, max_ratio=float("nan"))


def test_public_surface():
    assert set(cs.__all__) >= {"dims", "problems", "problem_specs", "dyadic_matrices", "balanced_problems",
                               "near_saddle_problems", "step_sizes", "certificates"}
    for name in cs.__all__:
        obj = getattr(cs, name)
        assert obj.__doc__ and ">>>" in obj.__doc__ or name.startswith("lambda_max"), name


# ---------------------------------------------------------------- shrinking


def test_shrinks_to_smallest_problem():
    p = find(cs.problems(max_depth=4), lambda p: p.depth >= 3)
    assert p.dims == (1, 1, 1, 1)
    assert all(float(x) == 0.0 for w in p.weights for x in w.ravel())
    assert p.loss.kind == "whitened" and float(p.loss.target[0, 0]) == 0.0


def test_shrinks_to_small_dyadic_entries():
    # the smallest nonzero entry is 1/8 (one unit of the default denominator 2^3)
    M = find(cs.dyadic_matrices(2, 2), lambda M: any(x != 0 for row in M for x in row))
    assert sorted(abs(x) for row in M for x in row) == [0.0, 0.0, 0.0, 0.125]
    # a counterexample "loss >= 1" shrinks to one entry of size exactly 1.5 (1/2 * 1.5^2 >= 1)
    p = find(cs.problems(max_depth=1, max_width=1, losses=("whitened",)),
             lambda p: ind.loss(p.to_json(), ind.theta0(p.to_json())) >= 1)
    vals = sorted(abs(float(x)) for x in list(p.weights[0].ravel()) + list(p.loss.target.ravel()))
    assert vals == [0.0, 1.5]


def test_balanced_shrinks_to_zero_modes():
    p = find(cs.balanced_problems(min_depth=2, max_depth=3), lambda p: True)
    assert p.dims == (1, 1, 1)
    assert all(float(x) == 0.0 for w in p.weights for x in w.ravel())


def test_step_sizes_shrink_to_smallest(saddle):
    lam = Fraction(cs.lambda_max_upper(saddle))
    edge = 2 / lam
    unit = Fraction(1)  # the largest power of two <= edge / 2^6, found independently
    while unit > edge / 64:
        unit /= 2
    while 2 * unit <= edge / 64:
        unit *= 2
    k_min = -(-(edge / 64) // unit)  # ceil: the smallest eta with eta lambda / 2 >= 1/64
    assert find(cs.step_sizes(saddle), lambda e: True) == float(k_min * unit)
    assert find(st.lists(cs.step_sizes(saddle), min_size=2), lambda l: True) == [float(k_min * unit)] * 2
    # and the largest (max_ratio = 1): eta <= 2 / lambda, the next multiple of the unit is beyond
    eta_max = find(cs.step_sizes(saddle), lambda e: Fraction(e) + unit > edge)
    assert Fraction(eta_max) <= edge < Fraction(eta_max) + unit


# ---------------------------------------------------------------- drawn values


def _is_dyadic_double(x, dexp):
    q = Fraction(float(x))
    return q.denominator <= 2**dexp


@given(cs.problem_specs(max_depth=4, max_width=3, max_samples=4))
def test_specs_load_and_round_trip(spec):
    p = certify.problem_from_dict(spec)
    assert list(p.dims) == spec["dims"]
    assert p.loss.kind == spec["loss"]["kind"]
    # the stored doubles are exactly the drawn dyadics, and the JSON round trip is exact
    assert ind.theta0(spec) == [Fraction(float(x)) for x in p.theta0]
    q = certify.load_problem(p.to_json())
    assert [Fraction(float(x)) for x in q.theta0] == ind.theta0(spec)
    assert all(_is_dyadic_double(x, 3) for x in p.theta0)
    # the loss the problem certifies is the definition's loss on these numbers
    assert certify.Objective(p, "exact").loss(p.theta0) == ind.loss(spec, ind.theta0(spec))


@given(cs.balanced_problems(max_depth=4, max_width=4))
def test_balanced_problems_are_exactly_balanced(p):
    Ws = [ind.fr_mat(w.tolist()) for w in p.weights]
    for D in ind.balancedness(Ws):  # S2.4: W_{j+1}^T W_{j+1} - W_j W_j^T = 0 exactly
        assert all(x == 0 for row in D for x in row)
    assert p.depth >= 1


def test_balanced_problems_are_not_trivially_zero():
    p = find(cs.balanced_problems(min_depth=2, max_depth=2, min_width=2, max_width=2),
             lambda p: sum(abs(float(x)) for w in p.weights for x in w.ravel()) > 0)
    Ws = [ind.fr_mat(w.tolist()) for w in p.weights]
    assert all(x == 0 for D in ind.balancedness(Ws) for row in D for x in row)


@given(cs.near_saddle_problems(max_depth=3, max_width=3, saddles=("origin",), min_distance_exp=5))
def test_near_origin_is_close(p):
    # origin saddle: every entry is k 2^-e with |k| <= 2 and e >= 5, and not all zero
    vals = [abs(float(x)) for x in p.theta0]
    assert max(vals) <= 2 * 2.0**-5 and max(vals) > 0
    assert p.loss.kind == "whitened"


@settings(max_examples=30)
@given(cs.near_saddle_problems(min_depth=2, max_depth=2, max_width=3, min_distance_exp=10))
def test_near_saddle_curvature_is_adverse(p):
    """Depth 2 next to a saddle with an unlearned mode: the exact Hessian
    (hyper-dual AD, eigenvalues by mpmath at 30 digits) has a negative eigenvalue
    at most -phi_min + O(2^-10), phi_min >= 1/16."""
    spec = p.to_json()
    H = ind.hessian_ad(spec, ind.theta0(spec))
    with mpmath.workdps(30):
        ev = mpmath.eigsy(mpmath.matrix([[ind.mpf_of(x) for x in r] for r in H]), eigvals_only=True)
        assert min(ev) < -mpmath.mpf(1) / 32


@settings(max_examples=25)
@given(st.data(), cs.problems(max_depth=3, max_width=2, max_samples=3))
def test_step_sizes_below_the_true_edge(data, p):
    """``eta lambda_max(Hf(theta_0)) <= 2 max_ratio`` for the exact Hessian (hyper-dual
    AD, mpmath eigenvalues at 40 digits); the upper bound is >= the true lambda_max
    and not vacuous (within a factor N^2 (1 + ||Sxx||) ... here: <= 64 x the true
    spectral radius + 1)."""
    spec = p.to_json()
    r = data.draw(st.sampled_from([Fraction(1, 4), Fraction(1, 2), Fraction(1)]))
    eta = data.draw(cs.step_sizes(p, max_ratio=r))
    H = ind.hessian_ad(spec, ind.theta0(spec))
    with mpmath.workdps(40):
        ev = mpmath.eigsy(mpmath.matrix([[ind.mpf_of(x) for x in row] for row in H]), eigvals_only=True)
        lam, rad = max(ev), max(abs(e) for e in ev)
        ub = mpmath.mpf(cs.lambda_max_upper(p))
        assert ub >= rad  # the bound bounds ||Hf||_2
        assert ub <= 64 * rad + 1
        assert mpmath.mpf(eta) * lam <= 2 * ind.mpf_of(r)
        # not needlessly small: eta >= min_ratio (1/64) of the edge of the (floored) bound
        assert mpmath.mpf(eta) * max(ub, mpmath.mpf(cs.LAMBDA_FLOOR)) >= 2 * mpmath.mpf(1) / 64


@settings(max_examples=15)
@given(st.data(), cs.problems(min_depth=2, max_depth=3, max_width=2, max_samples=3))
def test_step_sizes_estimate_near_the_edge(data, p):
    lam = cs.lambda_max_estimate(p)
    assume(lam > 0)
    eta = data.draw(cs.step_sizes(p, min_ratio=Fraction(7, 8), lambda_max="estimate"))
    assert 7 / 8 * 2 / lam * (1 - 1e-12) <= eta <= 2 / lam * (1 + 1e-12)


@settings(max_examples=20)
@given(cs.certificates(max_steps=12))
def test_certificates_are_gap_documents_the_checker_accepts(doc):
    from certify.check import check_certificate

    assert re.fullmatch(r"certify/gap-v[0-9]+", doc["schema"])
    assert 1 <= doc["steps"] <= 12
    p = certify.load_problem(doc["problem"])
    assert p.depth <= 2 and max(p.dims) <= 2
    res = check_certificate(doc)
    assert res.valid, res


def _check(spec, eta, steps, every):
    from certify.check import check_certificate

    return check_certificate(certify.certify_gap(certify.problem_from_dict(spec), eta, steps, every=every).to_json())


def test_checker_accepts_depth1_certificate():
    spec = {"dims": [2, 1], "loss": {"kind": "whitened", "target": [[0.375, 1.0]]},
            "init": {"weights": [[[-0.25, -0.5]]]}}
    res = _check(spec, 0.234375, 5, 3)
    assert res.valid, res.failures


def test_checker_accepts_stationary_certificate():
    spec = {"dims": [1, 1], "loss": {"kind": "whitened", "target": [[0.0]]}, "init": {"weights": [[[0.0]]]}}
    res = _check(spec, 0.03125, 1, 1)
    assert res.valid, res.failures


# ---------------------------------------------------------------- README


def _readme_example():
    text = (ROOT / "README.md").read_text()
    sec = text.split("## Property-testing your own conjecture", 1)[1]
    code = re.search(r"```python\n(.*?)```", sec, re.S).group(1)
    return code


def test_readme_example_is_short_and_runs():
    code = _readme_example()
    assert len([l for l in code.splitlines() if l.strip()]) < 10  # "under ten lines"
    ns: dict = {}
    exec(compile(code, "README.md", "exec"), ns)
    tests = [v for k, v in ns.items() if k.startswith("test_") and callable(v)]
    assert tests, "the README example defines a test function"
    for t in tests:
        t()  # runs the hypothesis property
