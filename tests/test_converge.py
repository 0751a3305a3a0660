"""EC21's translation (certify converge): certificates the checker accepts on
depth 2..5 and scalar-output instances, loss bounds that hold against
independent 50-digit computations, and mutations that are rejected."""

import copy
import json
from fractions import Fraction

import mpmath
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from certify import Outcome, problem_from_dict
from certify.certificates.writing import dumps_json
from certify._converge import gf_time_to_eps, loss_upper_on_ball, translate
from certify.check import check_certificate

from helpers.closed_forms import make_diagonal_instance


def _mp_loss(prob, theta):
    with mpmath.workdps(50):
        dims, i, Ws = prob.dims, 0, []
        for j in range(prob.depth):
            r, c = dims[j + 1], dims[j]
            Ws.append(mpmath.matrix([[mpmath.mpf(theta[i + a * c + b]) for b in range(c)] for a in range(r)]))
            i += r * c
        P = Ws[0]
        for W in Ws[1:]:
            P = W * P
        if prob.loss.kind == "square":
            R = P * mpmath.matrix(prob.loss.X.tolist()) - mpmath.matrix(prob.loss.Y.tolist())
            return mpmath.mnorm(R, "F") ** 2 / (2 * prob.loss.m)
        return mpmath.mnorm(P - mpmath.matrix(prob.loss.target.tolist()), "F") ** 2 / 2


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**31), depth=st.integers(1, 3), square=st.booleans(),
       radius=st.sampled_from([0.0, 1e-9, 1e-3, 0.1]))
def test_loss_bound_on_ball_dominates_sampled_points(seed, depth, square, radius):
    rng = np.random.default_rng(seed)
    dims = [int(d) for d in rng.integers(1, 4, depth + 1)]
    w = lambda r, c: (rng.integers(-16, 17, (r, c)) / 16).tolist()
    loss = ({"kind": "square", "X": w(dims[0], 4), "Y": w(dims[-1], 4)} if square
            else {"kind": "whitened", "target": w(dims[-1], dims[0])})
    prob = problem_from_dict({"dims": dims, "loss": loss, "init": {"weights": [w(dims[i + 1], dims[i]) for i in range(depth)]}})
    c = prob.theta0
    from certify.check import _loss_box_upper  # the checker's own bound must be sound too

    ub = loss_upper_on_ball(prob, c, radius)
    ub_check = _loss_box_upper(prob, c, radius)
    for _ in range(6):
        v = rng.standard_normal(c.size)
        v *= radius * rng.uniform(0, 1) / max(np.linalg.norm(v), 1e-300)
        # the sampled point as exact decimals at 50 digits (c + v, not rounded to double)
        with mpmath.workdps(50):
            th = [mpmath.mpf(a) + mpmath.mpf(b) for a, b in zip(c, v)]
        f = _mp_loss(prob, th)
        assert f <= ub and f <= ub_check


def _balanced_instance(depth, seed, scalar=False):
    """Whitened, random near-zero exactly balanced initialisation, no bottleneck;
    square case: target I + noise with det > 0 and an initial end-to-end matrix of
    the same determinant sign (a sign mismatch traps GF at a saddle: det W_{N:1}
    cannot change sign along balanced GF)."""
    rng = np.random.default_rng(seed)
    d0 = int(rng.integers(2, 4))
    dims = [d0] + [int(rng.integers(d0, 5)) for _ in range(depth - 1)] + [1 if scalar else d0]
    target = rng.standard_normal((dims[-1], dims[0])) * 0.5
    if not scalar:
        target = np.eye(d0) + 0.3 * target
        assert np.linalg.det(target) > 0
    spec = {"dims": dims, "loss": {"kind": "whitened", "target": target.tolist()},
            "init": {"scheme": "balanced", "scale": 0.1, "seed": seed}}
    prob = problem_from_dict(spec)
    Ws = [np.array(w) for w in prob.weights]
    if not scalar:
        P = Ws[0]
        for W in Ws[1:]:
            P = W @ P
        if np.linalg.det(P) < 0:
            Ws[0][:, 0] *= -1  # a column sign of W_1: W_1 W_1^T, hence balancedness, unchanged
    spec["init"] = {"weights": [W.tolist() for W in Ws]}
    return problem_from_dict(spec)


@pytest.mark.parametrize("depth, scalar", [(2, False), (3, False), (4, False), (5, False), (2, True), (3, True)])
def test_translation_certificates_are_accepted(depth, scalar):
    prob = _balanced_instance(depth, 11 * depth + scalar, scalar)
    tr = translate(prob, 0.05, 0.02)
    assert tr.outcome is Outcome.CERTIFIED and tr.reason == "ok", tr.reason
    res = tr.result
    assert res.gd_loss_upper <= 0.05 and res.gf_loss_upper <= 0.025
    doc = json.loads(dumps_json(res.to_json()))
    rep = check_certificate(doc)
    assert rep.valid, rep.failures
    # single-number changes that falsify a claim are rejected
    for key in ("gf_loss_upper", "gd_loss_upper", "ball_radius"):
        bad = copy.deepcopy(doc)
        bad["claims"][key] *= 0.99
        assert not check_certificate(bad).valid, key
    bad = copy.deepcopy(doc)
    bad["eps"] = doc["claims"]["gd_loss_upper"] * 0.99
    assert not check_certificate(bad).valid


def test_translation_claims_hold_against_50_digit_truths():
    """Diagonal balanced instance: GF loss in closed form; exact GD iterated at 50 digits."""
    inst = make_diagonal_instance([2, 3, 2], [Fraction(1, 4), Fraction(3, 8)], [Fraction(5, 4), Fraction(1, 2)], 3)
    prob = problem_from_dict(inst.spec)
    T = gf_time_to_eps(prob, 0.02).t
    tr = translate(prob, 0.02, 0.05, T)
    assert tr.certified, tr.reason
    res = tr.result
    assert inst.loss_at(Fraction(res.eta) * res.K, 60) <= res.gf_loss_upper
    truth = inst.gd_theta(res.eta, res.K, 50)
    assert _mp_loss(prob, truth) <= res.gd_loss_upper
    # the GF claim is tight-ish: the bound is within 10% of the true loss
    assert res.gf_loss_upper <= 1.1 * float(inst.loss_at(Fraction(res.eta) * res.K, 60)) + 1e-12


def test_a_too_large_step_is_not_certified():
    prob = _balanced_instance(3, 5)
    tr = translate(prob, 1e-4, 1.5)
    assert tr.result is None and not tr.certified and tr.reason
    assert tr.outcome in (Outcome.GAP_NOT_CERTIFIED, Outcome.GD_LOSS_TOO_HIGH, Outcome.GF_LOSS_TOO_HIGH)


def test_converge_cli(tmp_path, capsys):
    from certify.cli import main

    out = tmp_path / "conv.json"
    assert main(["converge", "builtin:demo", "--eps", "1e-2", "--eta", "5e-3", "--out", str(out)]) == 0
    assert main(["check", str(out)]) == 0
    text = capsys.readouterr().out
    assert "VALID" in text and "[derived]" in text
    # a step size that does not translate: exit 1, nothing written
    bad = tmp_path / "bad.json"
    assert main(["converge", "builtin:demo", "--eps", "1e-4", "--eta", "0.5", "--out", str(bad)]) == 1
    assert not bad.exists()
    assert main(["converge", "builtin:demo", "--eps", "-1", "--out", str(bad)]) == 2
    assert not bad.exists()


def test_largest_certified_eta_beside_acgh19():
    """An instance where ACGH19 Theorem 1 applies (balanced, end-to-end matrix near the
    target: positive deficiency margin): the certified translation works at a step
    size orders of magnitude above the theorem's, and the certificate checks."""
    from certify._converge import acgh19_eta, largest_eta

    rng = np.random.default_rng(1)
    N, d = 3, 3
    Phi = np.eye(d) + 0.2 * rng.standard_normal((d, d))
    U, S, Vt = np.linalg.svd(Phi + 0.05 * rng.standard_normal((d, d)))
    r = S ** (1 / N)
    Ws = [np.diag(r) @ Vt, np.diag(r), U @ np.diag(r)]  # exactly balanced up to rounding
    prob = problem_from_dict({"dims": [d] * 4, "loss": {"kind": "whitened", "target": Phi.tolist()},
                              "init": {"weights": [W.tolist() for W in Ws]}})
    a = acgh19_eta(prob)
    e_acgh, why = a.eta_max, a.reason
    assert e_acgh is not None and e_acgh > 0, why
    res = largest_eta(prob, 1e-6, rounds=2)
    assert res.eta > 1e3 * e_acgh
    assert check_certificate(json.loads(dumps_json(res.to_json()))).valid


def test_translation_outcomes_are_an_enum_with_the_reason(monkeypatch):
    """issue 10: outcomes as an enum, not (result or None, reason) tuples."""
    import certify

    prob = problem_from_dict(certify.load_problem("builtin:demo").to_json())
    monkeypatch.setenv("CERTIFY_MAX_STEPS", "10")
    tr = translate(prob, 0.05, 1e-3)
    assert tr.outcome is Outcome.TOO_MANY_STEPS and tr.result is None and not tr.certified
    assert "resource limit 'steps'" in tr.reason
    assert {o.value for o in Outcome} >= {"certified", "gap not certified"}
    with pytest.raises(Exception):
        tr.reason = "changed"  # frozen
