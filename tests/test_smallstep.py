"""PAPER.md section 2: certified gaps on the concave quadratic against 50-digit
closed forms, the required step size is minimal and tracks exp(-mu t)."""

import mpmath
from hypothesis import given, settings
from hypothesis import strategies as st

from certify.gap.smallstep import concave_gap, required_eta
from certify.cli import main


def truth(mu, th0, eta, k):
    with mpmath.workdps(60):
        mu, th0, eta = mpmath.mpf(mu), mpmath.mpf(th0), mpmath.mpf(eta)
        return abs(th0 * mpmath.exp(mu * eta * k) - th0 * (1 + eta * mu) ** k)


@settings(max_examples=60, deadline=None)
@given(mu=st.floats(0.1, 5), th0=st.floats(1e-3, 10), eta=st.floats(1e-4, 0.5), k=st.integers(1, 2000))
def test_concave_gap_brackets_the_closed_form(mu, th0, eta, k):
    lo, hi = concave_gap(mu, th0, eta, k)
    g = truth(mu, th0, eta, k)
    assert lo <= g <= hi
    if g > 1e300:  # beyond binary64: the upper bound is +inf, still a bound
        return
    assert hi - lo <= 1e-12 * (g + 1e-300) + 1e-300


@settings(max_examples=12, deadline=None)
@given(t=st.sampled_from([1.0, 3.0, 6.0]), eps=st.sampled_from([1e-2, 1e-4]), mu=st.sampled_from([0.5, 1.0, 2.0]))
def test_required_eta_is_the_largest(t, eps, mu):
    eta, k, est = required_eta(mu, 0.01, t, eps)
    assert truth(mu, 0.01, t / k, k) <= eps
    if k > 1:
        assert truth(mu, 0.01, t / (k - 1), k - 1) > eps  # one step fewer is not enough
    if k >= 20:  # the estimate is the small-eta asymptotics: the exp(-mu t) law
        assert 0.8 < eta / est < 1.25


def test_smallstep_cli(tmp_path, capsys):
    assert main(["smallstep", "--plot", str(tmp_path / "s.png")]) == 0
    out = capsys.readouterr().out
    assert "builtin:saddle" in out and "[derived]" in out
    assert (tmp_path / "s.png").stat().st_size > 1000
    assert main(["smallstep", "--eps", "0"]) == 2


def test_saddle_gap_exceeds_the_favourable_case_during_the_escape():
    from certify.gap.smallstep import gap_against_t

    rows = gap_against_t(eta=0.02, horizon=8.0, points=4)
    saddle = max(lo for n, t, lo, hi in rows if n == "builtin:saddle")
    demo = max(hi for n, t, lo, hi in rows if n == "builtin:demo")
    assert saddle > 2 * demo  # certified: the saddle's lower bound above twice the demo's upper bound
