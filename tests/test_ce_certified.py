"""Issue 12: the certified GF enclosure and GD-GF gap on the kernel losses (cross-entropy,
logistic; gap-v2.md section 8) -- the producer's fast GD gradient with its a-priori bound
(certify.losses.fast) and the exp kernel's midpoint against 50-digit mpmath, and the commands
running end to end.  The checker side and the 40-digit flow/GD references live in their own
test modules."""

from __future__ import annotations

import json
import math

import mpmath
import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import certify
from certify import UsageError
from certify.losses import CrossEntropy, Logistic
from certify.losses._kernels import EXP_MID_REL, TINY, exp_mid
from certify.losses.fast import gradient_with_error
from helpers.ce_reference import Reference

mpmath.mp.dps = 50


def _mp_gradient(W, X, labels, kind="cross_entropy"):
    """50-digit ``grad l(W)`` by the independent reference (tests/helpers/ce_reference.py)."""
    key = "Y" if kind == "cross_entropy" else "y"
    ref = Reference({"dims": [X.shape[0], W.shape[0]], "loss": {"kind": kind, "X": X.tolist(), key: labels.tolist()},
                     "init": {"weights": [W.tolist()]}})
    G = ref.grad_W(mpmath.matrix(W.tolist()))
    return [[G[c, j] for j in range(G.cols)] for c in range(G.rows)]


def _fro_dist(A, G):
    return mpmath.sqrt(mpmath.fsum((mpmath.mpf(float(A[c, j])) - G[c][j]) ** 2
                                   for c in range(A.shape[0]) for j in range(A.shape[1])))


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), logscale=st.floats(-3, 3.2), soft=st.booleans(), tie=st.booleans())
@example(seed=0, logscale=3.0, soft=False, tie=True)  # logits ~ +-1000: exp underflows, ties at the max
def test_fast_ce_gradient_bound_contains_50_digit_truth(seed, logscale, soft, tie):
    rng = np.random.default_rng(seed)
    d0, d, m = 3, 4, 6
    X = rng.normal(size=(d0, m))
    W = rng.normal(size=(d, d0)) * 10.0**logscale
    if tie:
        W[1] = W[0]  # two classes with identical logits everywhere
    if soft:
        Y = rng.dirichlet(np.ones(d), size=m).T
    else:
        Y = np.eye(d)[:, rng.integers(0, d, m)]
    loss = CrossEntropy(X=X, Y=Y)
    fg = gradient_with_error(loss, W)
    true = _mp_gradient(W, X, Y)
    dist = _fro_dist(fg.G, true)
    assert dist <= fg.err  # soundness
    gnorm = float(np.linalg.norm(fg.G))
    # and a bound at the rounding level (a vacuous bound would pass the first assertion)
    assert fg.err <= 1e-11 * (1.0 + gnorm) * (1.0 + float(np.linalg.norm(W)) * float(np.linalg.norm(X)))


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), logscale=st.floats(-3, 3.2))
def test_fast_logistic_gradient_bound_contains_50_digit_truth(seed, logscale):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(3, 7))
    y = rng.choice([-1.0, 1.0], 7)
    W = rng.normal(size=(1, 3)) * 10.0**logscale
    fg = gradient_with_error(Logistic(X=X, y=y), W)
    dist = _fro_dist(fg.G, _mp_gradient(W, X, y, "logistic"))
    assert dist <= fg.err
    assert fg.err <= 1e-11 * (1.0 + float(np.linalg.norm(W)) * float(np.linalg.norm(X)))


@settings(max_examples=200, deadline=None)
@given(x=st.floats(-800.0, 709.0))
@example(x=0.0)
@example(x=-745.0)
@example(x=-708.5)
@example(x=709.0)
def test_exp_mid_error_bound_against_mpmath(x):
    v = float(exp_mid(np.array([x]))[0])
    t = mpmath.exp(mpmath.mpf(x))
    assert abs(mpmath.mpf(v) - t) <= EXP_MID_REL * t + TINY


@pytest.mark.parametrize("k_range", [(-1021, 1022), (-1100, 1100), (-1030, -1000), (1000, 1030), (0, 0)])
def test_ldexp_fast_is_bitwise_ldexp(k_range):
    """The exponent-bits scaling equals np.ldexp bit for bit on the kernel's y range, inside its
    fast range and across the fallback's (subnormal, overflow) edges."""
    from certify.losses._kernels import ldexp_fast

    rng = np.random.default_rng(k_range[0] & 0xFFFF)
    y = np.concatenate([rng.uniform(0.5, 2.0, 5000), [0.5, np.nextafter(2.0, 0.0), 1.0]])
    k = rng.integers(k_range[0], k_range[1] + 1, y.size)
    with np.errstate(over="ignore", under="ignore"):
        a, b = ldexp_fast(y, k), np.ldexp(y, k)
    assert np.array_equal(a.view(np.int64), b.view(np.int64))


@given(xs=st.lists(st.floats(-800.0, 709.0), min_size=1, max_size=8))
def test_exp_mid_on_arrays_is_elementwise(xs):
    """exp_mid of an array (fast or fallback scaling, chosen per array) is exp_mid of each entry,
    and each meets the error bound."""
    v = exp_mid(np.array(xs))
    for x, vi in zip(xs, v.tolist()):
        assert vi == float(exp_mid(np.array([x]))[0])
        t = mpmath.exp(mpmath.mpf(x))
        assert abs(mpmath.mpf(vi) - t) <= EXP_MID_REL * t + TINY


def test_exp_mid_is_exactly_one_at_zero():
    # the softmax's column maximum maps to exactly 1: the sum S >= 1 that the bound divides by
    assert exp_mid(np.zeros(3)).tolist() == [1.0, 1.0, 1.0]


CE = {"dims": [3, 2, 2],
      "loss": {"kind": "cross_entropy", "X": [[1, 0, 0.5, 0.2], [0, 1, 0.2, -0.3], [0.3, 0.1, 1, 0.4]],
               "Y": [[1, 0, 1, 0], [0, 1, 0, 1]]},
      "init": {"scheme": "gaussian", "seed": 1, "scale": 0.5}}
LOGISTIC = {"dims": [3, 2, 1],
            "loss": {"kind": "logistic", "X": [[1, 0, 0.5, 0.2], [0, 1, 0.2, -0.3], [0.3, 0.1, 1, 0.4]],
                     "y": [1, -1, 1, -1]},
            "init": {"scheme": "gaussian", "seed": 1, "scale": 0.5}}


@pytest.mark.parametrize("base", [CE, LOGISTIC])
def test_gap_certificate_on_kernel_losses(base):
    import jsonschema

    cert = certify.certify_gap(base, 1e-2, 60, every=20)
    doc = json.loads(json.dumps(cert.to_json()))
    jsonschema.validate(doc, certify.schema("gap"))
    assert doc["sxx"] is None and set(doc["loss_bounds"]) == {"s_G", "s_F"}
    p = certify.load_problem(base)
    s_G, s_F = p.loss.constants
    assert doc["loss_bounds"]["s_G"] >= s_G and doc["loss_bounds"]["s_F"] >= s_F
    for c in cert.checkpoints[1:]:
        assert 0 < c.gap_lower <= c.gap_upper < math.inf
        assert c.gap_upper / c.gap_lower < 1.01  # a useful bracket on a tiny instance
    assert doc["problem"]["loss"]["kind"] == base["loss"]["kind"]


@pytest.mark.parametrize("base", [CE, LOGISTIC])
def test_flow_enclosure_on_kernel_losses(base):
    enc = certify.enclose_flow(base, 1.0, checkpoints=4)
    assert len(enc.checkpoints) == 5 and all(c.radius < 1e-12 for c in enc.checkpoints)
    assert all(s.delta < 1e-13 for s in enc.steps)  # the G Taylor model's remainder is at rounding level
    # the loss decreases along the flow
    losses = [c.loss for c in enc.checkpoints]
    assert all(a > b for a, b in zip(losses, losses[1:]))


@pytest.mark.parametrize("base", [CE, LOGISTIC])
def test_arb_flow_on_kernel_losses_is_tight_and_inside_the_float64_ball(base):
    """The Arb path (Arb's exp, certify.losses.arb_series): radii at the working precision's level,
    and each Arb ball meets the float64 ball of the same time (both contain theta(t))."""
    fa = certify.enclose_flow(base, 0.5, checkpoints=2, backend="arb", prec=128)
    ff = certify.enclose_flow(base, 0.5, checkpoints=2)
    for ca, cf in zip(fa.checkpoints, ff.checkpoints):
        assert ca.t == cf.t and ca.radius < 1e-33
        d = mpmath.sqrt(mpmath.fsum((mpmath.mpf(a) - mpmath.mpf(float(b))) ** 2 for a, b in zip(ca.center, cf.center)))
        assert d <= ca.radius + cf.radius


def test_arb_path_refuses_large_kernel_problems_and_other_backends():
    from certify.losses.arb_series import MAX_ENTRIES

    big = {"dims": [2, 1, 3], "loss": {"kind": "cross_entropy", "X": np.ones((2, MAX_ENTRIES // 3 + 1)).tolist(),
                                        "Y": np.eye(3)[:, np.arange(MAX_ENTRIES // 3 + 1) % 3].tolist()},
           "init": {"scheme": "gaussian", "seed": 0, "scale": 0.5}}
    with pytest.raises(certify.TooLargeError, match="use --backend float64"):
        certify.enclose_flow(big, 0.1, backend="arb")
    with pytest.raises(UsageError, match=r"^the iv backend for the cross_entropy loss is not implemented"):
        certify.enclose_flow(CE, 0.1, backend="iv")


@pytest.mark.parametrize("base", [CE, LOGISTIC])
def test_distance_certificate_on_kernel_losses(base):
    import jsonschema

    d = certify.certify_distance(base, 1e-2, 40, ratios=(2,), every=20)
    doc = json.loads(json.dumps(d.to_json()))
    jsonschema.validate(doc, certify.schema("distance"))
    assert doc["sxx"] is None and doc["loss_bounds"]["s_G"] >= certify.load_problem(base).loss.constants[0]
    lo, hi = d.points[1][-1].dist
    assert 0 < lo <= hi < 1.01 * lo


def test_paper_experiment_with_the_papers_loss(tmp_path):
    from certify.experiments.paper import run_paper_experiment

    res = run_paper_experiment(tmp_path / "ex", problem=CE, steps=40, ratios=(2,))
    assert res.figure.exists() and res.table.exists()
    assert all(r.gap_at_T[0] > 0 for r in res.runs)  # certified bands, not vacuous
    with pytest.raises(UsageError, match="loss must be one of"):
        run_paper_experiment(tmp_path / "bad", loss="hinge", steps=4)
    assert not (tmp_path / "bad").exists()


def test_sweep_runs_kernel_losses(tmp_path):
    from certify.experiments import run_sweep

    f = tmp_path / "ce.json"
    f.write_text(json.dumps(CE))
    grid = {"sweep": {"problems": [str(f)], "etas": [0.01], "horizons": [0.2]}}
    res = run_sweep(grid, tmp_path / "out", workers=1, processes=False, dashboard_address=":0", plot=False)
    assert (res.ran, res.certified, res.failed) == (1, 1, ())


@pytest.mark.parametrize("base", [CE, LOGISTIC])
def test_loss_upper_on_a_ball_bounds_the_50_digit_loss(base):
    """The converge translation's loss bound (Arb box and centred form with s_G) over a ball
    around a point, against the 50-digit loss at the center and at random points of the ball."""
    from certify._converge import loss_upper_on_ball

    p = certify.load_problem(base)
    loss = p.loss
    rng = np.random.default_rng(5)
    c = p.theta0
    r = 0.05

    def mp_loss(theta):
        Ws = certify.unflatten(theta, p.dims)
        P = mpmath.matrix(Ws[0].tolist())
        for W in Ws[1:]:
            P = mpmath.matrix(W.tolist()) * P
        X = mpmath.matrix(loss.X.tolist())
        Z = P * X
        tot = mpmath.mpf(0)
        for i in range(loss.m):
            if loss.kind == "cross_entropy":
                zs = [Z[k, i] for k in range(Z.rows)]
                lse = mpmath.log(mpmath.fsum(mpmath.exp(z) for z in zs))
                tot += mpmath.fsum(mpmath.mpf(loss.Y[k, i]) * (lse - zs[k]) for k in range(Z.rows))
            else:
                tot += mpmath.log(1 + mpmath.exp(-mpmath.mpf(loss.y[i]) * Z[0, i]))
        return tot / loss.m

    ub = loss_upper_on_ball(p, c, r)
    assert mp_loss(c) <= ub <= mp_loss(c) + 1.0  # sound, and not absurd
    for _ in range(20):
        v = rng.normal(size=c.size)
        z = c + v / np.linalg.norm(v) * r * 0.999 * rng.random() ** (1 / c.size)
        assert mp_loss(z) <= ub


def test_converge_translation_on_cross_entropy():
    tr = certify.translate(CE, 1.0, 0.05)
    assert tr.certified, tr.reason
    res = tr.result
    assert res.gd_loss_upper <= 1.0 and res.gf_loss_upper <= 0.5
    assert certify.Objective(certify.load_problem(CE)).loss(res.gap.checkpoints[-1].theta) <= res.gd_loss_upper
    a = certify.acgh19_eta(CE)  # problem-like input
    assert not a.applies and a.eta_max is None and "assumes the whitened loss" in a.reason


@pytest.mark.parametrize("base", [CE, LOGISTIC])
@pytest.mark.parametrize("factor", [1, 2])
def test_flow_defect_bound_contains_the_50_digit_defect(base, factor):
    """The float64 step's defect claim ``delta >= sup_[0,h] ||y'(s) + grad f(y(s))||`` against the
    50-digit defect of its own candidate at sample points, at the chosen step and at twice it
    (where the truncation of the candidate and of G's series is ~1e-11, far above rounding)."""
    from certify._lossdata import BackendLoss
    from certify.arith import get_context
    from certify.flow.float_step import FloatStep

    p = certify.load_problem(base)
    ctx = get_context("float64")
    with ctx:
        model = BackendLoss(p, ctx)
        st = FloatStep(model, [ctx.matrix(np.asarray(w)) for w in p.weights], 16)
        h = st.choose_step(53) * factor
        res = st.validate(h, 0.0)
    assert res is not None
    delta = res[1]
    A = [st.gs.W[j].a[: st.p + 1] for j in range(p.depth)]
    worst = mpmath.mpf(0)
    for frac in (mpmath.mpf(1) / 3, mpmath.mpf(1)):
        s = mpmath.mpf(h.numerator) / h.denominator * frac
        Ws = [sum((mpmath.matrix(a[i].tolist()) * s**i for i in range(1, len(a))), mpmath.matrix(a[0].tolist()))
              for a in A]
        dW = [sum((mpmath.matrix(a[i].tolist()) * (i * s ** (i - 1)) for i in range(2, len(a))),
                  mpmath.matrix(a[1].tolist())) for a in A]
        ref = Reference(base)
        g = ref.unflatten(ref.grad(ref.flatten(Ws)))
        D2 = mpmath.fsum(mpmath.fsum(x**2 for x in (dW[j] + g[j])) for j in range(p.depth))
        worst = max(worst, mpmath.sqrt(D2))
    assert worst <= delta
    # the oversized step's defect is real (about 5e3 times the chosen step's), the bound finite and
    # small; the interval-point remainder overestimates the true tail ~200 times there, which is
    # why choose_step halves h until it is at the rounding level
    assert delta < (1e-6 if factor > 1 else 1e-13)
    if factor > 1:
        assert worst > 1e-12
