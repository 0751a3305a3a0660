"""Soundness campaign (issue 9, item 2): every enclosure certify computes
contains an independently computed truth, and is not vacuously wide.

Truths never come from certify's own derivatives, series or integrators:
exact rationals (:mod:`fractions`), the loss's definition differentiated by
exact forward-mode AD or by S2.1 written again (tests/helpers/independent.py), 40-50
digit ``mpmath.odefun`` solutions of the gradient flow, and the closed forms
of tests/helpers/closed_forms.py.  Every property also asserts a width bound.

Profiles (tests/conftest.py, env ``CERTIFY_HYPOTHESIS_PROFILE``): ``ci`` (the
default: a few examples per property, the whole file well under 60 s) and
``campaign`` (the counts in ``CAMPAIGN``, >= 10^5 examples in total), run as
documented in README ("Soundness campaign").
"""

from __future__ import annotations

import math
import os
from fractions import Fraction

import mpmath
import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import certify
import certify.strategies as cs
import helpers.independent as ind
from helpers.independent import ball_entries
from certify.arith import get_context
from helpers.closed_forms import diagonal_instances

PROFILE = os.environ.get("CERTIFY_HYPOTHESIS_PROFILE", "ci")

# examples per property: (ci, campaign)
BUDGET = {
    "arith_loss_grad": (50, 25_000),  # x 3 backends
    "gradient_ball": (30, 10_000),
    "flow_closed_form": (20, 5_000),  # x 2 (float64, arb)
    "flow_odefun": (3, 300),
    "gap_closed_form": (15, 3_000),
    "gap_exact_gd_odefun": (4, 300),
    "balancedness": (20, 10_000),
    "loss_nonincreasing": (20, 10_000),
}
MULTIPLICITY = {"arith_loss_grad": 3, "flow_closed_form": 2}  # properties sharing a budget
CAMPAIGN_TOTAL = sum(c * MULTIPLICITY.get(k, 1) for k, (_, c) in BUDGET.items())


# a measured sample of the campaign: CERTIFY_CAMPAIGN_FRACTION=0.01 runs 1% of every count
FRACTION = float(os.environ.get("CERTIFY_CAMPAIGN_FRACTION", "1"))


def examples(name: str) -> int:
    ci, campaign = BUDGET[name]
    return max(1, round(campaign * FRACTION)) if PROFILE == "campaign" else ci


def budget(name: str):
    return settings(max_examples=examples(name), deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.filter_too_much])


def test_campaign_is_at_least_1e5_examples():
    assert CAMPAIGN_TOTAL >= 100_000


# ---------------------------------------------------------------------------
# reading enclosures exactly (python-flint / mpmath endpoints, no certify code)
# ---------------------------------------------------------------------------


def assert_encloses(M, truth: list, rel: float, what: str):
    """Every exact ``truth[i]`` lies in entry ``i`` of ``M``; every half-width is at
    most ``rel (1 + max |truth|)`` (not vacuous)."""
    ents = ball_entries(M)
    assert len(ents) == len(truth)
    scale = 1 + max((abs(Fraction(t)) for t in truth), default=Fraction(0))
    for i, ((lo, hi), t) in enumerate(zip(ents, truth)):
        assert lo <= t <= hi, f"{what}[{i}]: {float(t)!r} not in [{float(lo)!r}, {float(hi)!r}]"
        assert (hi - lo) / 2 <= Fraction(rel) * scale, f"{what}[{i}]: half-width {float((hi - lo) / 2):.3g} too wide"


# ---------------------------------------------------------------------------
# 1. loss and gradient enclosures (arith backends; S1, S2.1) vs exact rationals
# ---------------------------------------------------------------------------


def _ball_loss_and_grad(ctx, p):
    """Loss (1x1) and per-layer gradients (S2.1) of ``p`` at theta_0 in ``ctx``'s balls."""
    Ws = [ctx.matrix(np.asarray(w, dtype=np.float64)) for w in p.weights]
    N = len(Ws)
    pre = [None]  # pre[j] = W_{j:1}
    for W in Ws:
        pre.append(W if pre[-1] is None else W @ pre[-1])
    P = pre[-1]
    if p.loss.kind == "whitened":
        G = P - ctx.matrix(np.asarray(p.loss.target, dtype=np.float64))
        L = None
        for i in range(G.shape[0]):
            e = np.zeros((1, G.shape[0]))
            e[0, i] = 1.0
            gi = ctx.matrix(e) @ G  # row i
            term = gi @ gi.T
            L = term if L is None else L + term
        L = L * Fraction(1, 2)
    else:
        X = np.asarray(p.loss.X, dtype=object)
        Y = np.asarray(p.loss.Y, dtype=object)
        m = X.shape[1]
        Xf = np.array([[Fraction(float(v)) for v in r] for r in X], dtype=object)
        Yf = np.array([[Fraction(float(v)) for v in r] for r in Y], dtype=object)
        Sxx = ctx.matrix(Xf.dot(Xf.T) / m)  # exact rationals, enclosed by the backend
        Syx = ctx.matrix(Yf.dot(Xf.T) / m)
        c = ctx.matrix(np.array([[sum(v * v for v in Yf.ravel()) / (2 * m)]], dtype=object))
        G = P @ Sxx - Syx
        L = None
        for i in range(P.shape[0]):
            e = np.zeros((1, P.shape[0]))
            e[0, i] = 1.0
            wi = ctx.matrix(e) @ P
            term = (wi @ Sxx @ wi.T) * Fraction(1, 2) - wi @ (ctx.matrix(e) @ Syx).T
            L = term if L is None else L + term
        L = L + c
    grads = []
    for j in range(1, N + 1):
        g = G
        if j < N:
            suf = Ws[N - 1]
            for l in range(N - 2, j - 1, -1):
                suf = suf @ Ws[l]
            g = suf.T @ g
        if j > 1:
            g = g @ pre[j - 1].T
        grads.append(g)
    return L, grads


WIDTH = {"float64": 1e-12, "arb": 1e-30, "iv": 1e-30}


@pytest.mark.parametrize("backend", ["float64", "arb", "iv"])
@budget("arith_loss_grad")
@given(spec=cs.problem_specs(max_depth=4, max_width=3, max_samples=4, max_abs_numerator=32,
                             denominator_exp=4))
def test_arith_loss_and_gradient_enclose_exact_values(backend, spec):
    """S1/S2.1 in each backend's ball arithmetic contain the exact rational loss
    (from the definition, raw data) and gradient (exact AD of the definition)."""
    p = certify.problem_from_dict(spec)
    th = ind.theta0(spec)
    true_loss = ind.loss(spec, th)
    true_grad = ind.grad_ad(spec, th) if len(th) <= 12 else ind.grad_s21(spec, th)
    ctx = get_context(backend, prec=None if backend == "float64" else 128)
    with ctx:
        L, grads = _ball_loss_and_grad(ctx, p)
        assert_encloses(L, [true_loss], WIDTH[backend], "loss")
        i = 0
        for g in grads:
            n = g.shape[0] * g.shape[1]
            assert_encloses(g, true_grad[i:i + n], WIDTH[backend], "grad")
            i += n
        assert i == len(true_grad)


@budget("gradient_ball")
@given(spec=cs.problem_specs(max_depth=3, max_width=3, max_samples=3), data=st.data())
def test_gradient_ball_contains_exact_gradients_in_the_box(spec, data):
    """``certify.curvature.s32.gradient_ball`` (private) over a box of radius 2^-20 contains
    the exact gradient at the center and at a drawn dyadic corner-ish point."""
    from certify.curvature.s32 import gradient_ball

    p = certify.problem_from_dict(spec)
    th = ind.theta0(spec)
    rad = 2.0**-20
    z = [x + Fraction(data.draw(st.integers(-4, 4)), 4) * Fraction(rad) for x in th]
    balls = gradient_ball(p, p.theta0, rad, prec=128)
    ents = [x for B in balls for x in B.entries()]
    assert len(ents) == len(th)
    for point in (th, z):
        for x, gv in zip(ents, ind.grad_s21(spec, point)):
            assert x.contains(_fr_to_arb(gv)), (float(gv), x)
    # width: the box is 2^-20 wide; the enclosure grows at most linearly (Lipschitz on a bounded box)
    scale = 1 + max(abs(float(v)) for v in ind.grad_s21(spec, th))
    H = max(1.0, float(cs.lambda_max_upper(p)))
    for x in ents:
        assert float(x.rad()) <= 4 * H * rad * len(th) * scale + 1e-25


# ---------------------------------------------------------------------------
# 2. gradient-flow enclosures (S4.1, S4.3) vs closed forms and mpmath.odefun
# ---------------------------------------------------------------------------


def _assert_ball_contains(center, radius, truth, what, max_radius):
    with mpmath.workdps(50):
        d = ind.dist([mpmath.mpf(float(c)) if not isinstance(c, str) else mpmath.mpf(c) for c in center], truth)
        # the truth is known to ~1e-40; the radii are >= ~1e-70
        assert d <= mpmath.mpf(radius) * (1 + mpmath.mpf(10) ** -20) + mpmath.mpf(10) ** -38, \
            f"{what}: distance {mpmath.nstr(d, 6)} > radius {radius}"
    assert radius <= max_radius, f"{what}: radius {radius} > {max_radius} (vacuous)"


@budget("flow_closed_form")
@given(inst=diagonal_instances(max_depth=2, max_width=4, max_mode=24),
       t_end=st.sampled_from([Fraction(1, 4), Fraction(1, 2), Fraction(1)]))
def test_flow_balls_contain_closed_form_flow(inst, t_end):
    p = certify.problem_from_dict(inst.spec)
    enc = certify.enclose_flow(p, t_end, checkpoints=2)
    for cp in enc.checkpoints:
        truth = inst.theta_at(cp.t, dps=50)
        _assert_ball_contains(cp.center, cp.radius, truth, f"t={cp.t}", 1e-9)


def test_arb_flow_exactly_stationary_depth1_matrix_layer():
    spec = {"dims": [2, 2], "loss": {"kind": "whitened", "target": [[0.0, -0.5], [-0.5, 0.0]]},
            "init": {"weights": [[[0.0, -0.5], [-0.5, 0.0]]]}}
    enc = certify.enclose_flow(certify.problem_from_dict(spec), Fraction(1, 4), checkpoints=1,
                               backend="arb", prec=128)
    assert enc.checkpoints[-1].radius <= 1e-30


@budget("flow_closed_form")
@given(inst=diagonal_instances(max_depth=2, max_width=3, max_mode=24))
def test_arb_flow_balls_contain_closed_form_flow(inst):
    p = certify.problem_from_dict(inst.spec)
    enc = certify.enclose_flow(p, Fraction(1, 4), checkpoints=1, backend="arb", prec=128)
    for cp in enc.checkpoints:
        truth = inst.theta_at(cp.t, dps=60)
        _assert_ball_contains(cp.center, cp.radius, truth, f"arb t={cp.t}", 1e-25)


@budget("flow_odefun")
@given(spec=cs.problem_specs(min_depth=2, max_depth=3, max_width=2, max_samples=2, max_abs_numerator=8))
def test_flow_balls_contain_odefun_flow(spec):
    """Generic (unbalanced, any loss) tiny problems: GF by mpmath.odefun at 40 digits."""
    assume(sum(a * b for a, b in zip(spec["dims"], spec["dims"][1:])) <= 6)
    p = certify.problem_from_dict(spec)
    times = [Fraction(1, 8), Fraction(1, 4)]
    enc = certify.enclose_flow(p, times[-1], checkpoints=times)
    truths = ind.gf_odefun(spec, times, dps=40)
    for cp, truth in zip(enc.checkpoints[1:], truths):
        assert cp.t in times
        _assert_ball_contains(cp.center, cp.radius, truth, f"t={cp.t}", 1e-9)


# ---------------------------------------------------------------------------
# 3. gap certificates bracket the true gap (S4.4, S4.5)
# ---------------------------------------------------------------------------


def _assert_brackets(c, true_gap, what):
    with mpmath.workdps(50):
        tol = mpmath.mpf(10) ** -35  # truth accuracy
        assert mpmath.mpf(c.gap_lower) - tol <= true_gap <= mpmath.mpf(c.gap_upper) + tol, \
            f"{what}: true gap {mpmath.nstr(true_gap, 12)} not in [{c.gap_lower}, {c.gap_upper}]"
    assert c.gap_upper - c.gap_lower <= 1e-9 * (1 + float(true_gap)), f"{what}: bracket too wide"


@budget("gap_closed_form")
@given(inst=diagonal_instances(max_depth=2, max_width=3, max_mode=24),
       eta=st.sampled_from([2.0**-4, 2.0**-5, 2.0**-6]), steps=st.integers(1, 40))
def test_gap_brackets_closed_form_gap(inst, eta, steps):
    """Exact GD (mode recursion at 70 digits) vs closed-form GF (50 digits)."""
    p = certify.problem_from_dict(inst.spec)
    cert = certify.certify_gap(p, eta, steps, every=max(1, steps // 3))
    for c in cert.checkpoints:
        with mpmath.workdps(50):
            gd = inst.gd_theta(eta, c.k, dps=50)
            gf = inst.theta_at(Fraction(eta) * c.k, dps=50)
            _assert_brackets(c, ind.dist(gd, gf), f"k={c.k}")


@budget("gap_exact_gd_odefun")
@given(data=st.data(), spec=cs.problem_specs(min_depth=1, max_depth=2, max_width=2, max_samples=2,
                                               max_abs_numerator=8))
def test_gap_brackets_exact_gd_vs_odefun(data, spec):
    """Exact-rational GD (fractions.Fraction) vs GF by mpmath.odefun at 40 digits."""
    assume(sum(a * b for a, b in zip(spec["dims"], spec["dims"][1:])) <= 6)
    p = certify.problem_from_dict(spec)
    eta = data.draw(cs.step_sizes(p, max_ratio=Fraction(1, 2)))
    steps = data.draw(st.integers(1, 4))
    assume(eta * steps <= 1)
    cert = certify.certify_gap(p, eta, steps, every=1)
    gd = ind.gd_exact(spec, eta, steps)
    gf = ind.gf_odefun(spec, [Fraction(eta) * k for k in range(1, steps + 1)], dps=40)
    for c in cert.checkpoints:
        if c.k == 0:
            assert c.gap_lower == 0.0
            continue
        with mpmath.workdps(50):
            _assert_brackets(c, ind.dist(gd[c.k], gf[c.k - 1]), f"k={c.k}")


# ---------------------------------------------------------------------------
# 4. GF invariants inside the enclosures (S2.4; f non-increasing along GF)
# ---------------------------------------------------------------------------


def _arb_layers(p, center, radius):
    """Arb ball matrices: each entry of theta(t) is within ``radius`` of the center."""
    from flint import arb

    r = arb(0, radius) if radius > 0 else arb(0)
    theta = [arb(float(c)) + r for c in center]
    return ind.unflatten(theta, p.dims)


def _fr_to_arb(q):
    from flint import arb, fmpq

    return arb(fmpq(q.numerator, q.denominator))


def _radius_allowance(enc, cp) -> float:
    """How wide a float64 flow ball may be at ``cp`` without being vacuous:
    ``1e-6`` of the point's scale while the curvature is benign, and beyond that
    the Gronwall growth the enclosure itself certifies (S4.1: defects of about
    ``1e-12`` of the scale, amplified by ``exp(int_0^t mu)``).  The campaign found
    depth-4 instances with norms near 2 and ``int mu ~ 20`` by ``t = 1/2``
    (radius 3e-6, the Arb backend's 1e-27): wide, as S4.1 says, not vacuous."""
    scale = 1 + max(abs(float(x)) for x in cp.center)
    int_mu = sum(st.mu * float(st.h) for st in enc.steps if st.t0 + st.h <= cp.t)
    return scale * max(1e-6, 1e-12 * math.exp(min(int_mu, 700.0)))


@budget("balancedness")
@given(p=st.one_of(cs.problems(min_depth=2, max_depth=4, max_width=3, max_samples=3),
                   cs.balanced_problems(min_depth=2, max_depth=4, max_width=3, max_samples=3)),
       t_end=st.sampled_from([Fraction(1, 4), Fraction(1, 2)]))
def test_balancedness_constant_inside_flow_balls(p, t_end):
    """S2.4: ``W_{j+1}^T W_{j+1} - W_j W_j^T`` at ``theta(0)`` (exact) lies in its
    Arb enclosure over every checkpoint ball; the enclosure is not vacuous."""
    try:
        enc = certify.enclose_flow(p, t_end, checkpoints=2)
    except certify.CertifyError:
        assume(False)
    D0 = ind.balancedness([ind.fr_mat(w.tolist()) for w in p.weights])
    for cp in enc.checkpoints[1:]:
        Ws = _arb_layers(p, cp.center, cp.radius)
        scale = 1 + max(abs(float(x)) for x in cp.center)
        allow = _radius_allowance(enc, cp)
        widen = allow / (1e-6 * scale)  # > 1 only where S4.1's growth is certified to be large
        for Dj, Dj0 in zip(ind.balancedness(Ws), D0):
            for row, row0 in zip(Dj, Dj0):
                for x, x0 in zip(row, row0):
                    assert x.contains(_fr_to_arb(x0)), (cp.t, x, x0)
                    assert float(x.rad()) <= 1e-4 * scale * scale * widen  # not vacuous (first order in the radius)
        assert cp.radius <= allow


@budget("loss_nonincreasing")
@given(p=st.one_of(cs.problems(min_depth=1, max_depth=4, max_width=3, max_samples=3),
                   cs.near_saddle_problems(max_depth=3, max_width=3)),
       t_end=st.sampled_from([Fraction(1, 4), Fraction(1, 2)]))
def test_loss_nonincreasing_across_flow_balls(p, t_end):
    """Along GF ``f(theta(t))`` does not increase: the exact loss over ball ``i+1``
    must have its lower end <= the upper end over ball ``i`` (exact at t = 0)."""
    try:
        enc = certify.enclose_flow(p, t_end, checkpoints=4)
    except certify.CertifyError:
        assume(False)
    spec = p.to_json()
    from flint import arb

    def conv(x):
        return _fr_to_arb(Fraction(x))

    prev_hi = None  # exact arb endpoints: comparisons of two exact points are certain
    for cp in enc.checkpoints:
        theta = [_fr_to_arb(x) for x in ind.theta0(spec)] if cp.t == 0 else \
            [arb(float(c)) + (arb(0, cp.radius) if cp.radius > 0 else arb(0)) for c in cp.center]
        L = ind.loss(spec, theta, conv)
        # not vacuous: a ball far smaller than the point's scale (or than S4.1's certified
        # growth, _radius_allowance), a loss enclosure of relative width <= 1e-4 per 1e-6 of radius
        if cp.t > 0:
            allow = _radius_allowance(enc, cp)
            assert cp.radius <= allow
            widen = allow / (1e-6 * (1 + max(abs(float(c)) for c in cp.center)))
        else:
            widen = 1.0
        assert float(L.rad()) <= 1e-4 * (1 + abs(float(L.mid()))) * widen
        if prev_hi is not None:
            assert L.lower() <= prev_hi, f"loss ball at t={cp.t} lies above the previous one: {L} vs {prev_hi}"
        prev_hi = L.upper()
