"""Validated GF enclosure (S4.1 + S4.3): the true theta(t) lies in every
checkpoint ball, for both backends, on instances whose solution is known to
50+ digits independently of certify's code (test_gap.diagonal_instance:
layers U_{j+1} diag(a) U_j^T with signed permutations, one scalar ODE per mode,
closed form for N <= 2, mpmath's own Taylor solver for N >= 3)."""

import json
import math
from fractions import Fraction

import mpmath
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from certify import enclose_flow, load_problem, problem_from_dict
from certify.cli import main

from helpers.reference import diagonal_instance


def scalar_gf(N, a, ph, T, dps):
    if N == 1:
        return ph + (a - ph) * mpmath.exp(-T)
    if N == 2:
        u0 = a * a
        return mpmath.sqrt(ph * u0 / (u0 + (ph - u0) * mpmath.exp(-2 * ph * T)))
    f = lambda s, y: [-(y[0] ** (N - 1)) * (y[0] ** N - ph)]
    return mpmath.odefun(f, 0, [a], tol=mpmath.mpf(10) ** (-dps + 5))(T)[0]


def true_theta(N, a0, phi, U, t, dps=50):
    """theta(t) flattened per S1 as mpmath numbers."""
    with mpmath.workdps(dps):
        T = mpmath.mpf(t.numerator) / t.denominator
        a = [scalar_gf(N, mpmath.mpf(float(x)), mpmath.mpf(float(p)), T, dps) for x, p in zip(a0, phi)]
        D = mpmath.diag(a)
        out = []
        for j in range(N):
            W = mpmath.matrix(U[j + 1].tolist()) * D * mpmath.matrix(U[j].tolist()).T
            out.extend(W[r, c] for r in range(W.rows) for c in range(W.cols))
        return out


def dist_to_center(truth, center, dps=50):
    with mpmath.workdps(dps):
        return mpmath.sqrt(sum((x - mpmath.mpf(c)) ** 2 for x, c in zip(truth, center)))


@settings(max_examples=10, deadline=None)
@given(N=st.integers(1, 5), d=st.integers(1, 8), seed=st.integers(0, 10**6), T=st.sampled_from([1, 3]))
def test_float64_balls_contain_the_true_flow(N, d, seed, T):
    spec, a0, phi, U = diagonal_instance(N, d, seed)
    enc = enclose_flow(problem_from_dict(spec), T, checkpoints=3, backend="float64")
    for c in enc.checkpoints[1:]:
        truth = true_theta(N, a0, phi, U, c.t, dps=30)
        err = dist_to_center(truth, np.asarray(c.center), dps=30)
        assert err <= c.radius, (float(c.t), err, c.radius)


@settings(max_examples=6, deadline=None)
@given(N=st.integers(1, 4), d=st.integers(1, 8), seed=st.integers(0, 10**6))
def test_float64_radius_small_when_well_conditioned(N, d, seed):
    """Issue 3: radius below 1e-8 at T = 3 on well-conditioned instances:
    initial modes within a factor 2 of their targets (no saddle nearby)."""
    spec, a0, phi, U = diagonal_instance(N, d, seed, well_conditioned=True)
    enc = enclose_flow(problem_from_dict(spec), 3, checkpoints=1, backend="float64")
    truth = true_theta(N, a0, phi, U, enc.checkpoints[-1].t, dps=30)
    assert dist_to_center(truth, np.asarray(enc.checkpoints[-1].center), dps=30) <= enc.checkpoints[-1].radius
    assert enc.checkpoints[-1].radius < 1e-8


@settings(max_examples=4, deadline=None)
@given(N=st.integers(1, 3), d=st.integers(1, 3), seed=st.integers(0, 10**6))
def test_arb_balls_contain_the_true_flow_and_are_tiny(N, d, seed):
    spec, a0, phi, U = diagonal_instance(N, d, seed)
    enc = enclose_flow(problem_from_dict(spec), 1, checkpoints=2, backend="arb", prec=192)
    for c in enc.checkpoints[1:]:
        truth = true_theta(N, a0, phi, U, c.t, dps=70)
        with mpmath.workdps(70):
            err = mpmath.sqrt(sum((x - mpmath.mpf(s)) ** 2 for x, s in zip(truth, c.center)))
        assert err <= c.radius, (float(c.t), err, c.radius)
    assert enc.checkpoints[-1].radius < 1e-30


def test_flow_cli_contract(tmp_path, capsys):
    out = tmp_path / "enc.json"
    assert main(["flow", "builtin:demo", "--t-end", "2", "--checkpoints", "4", "--out", str(out)]) == 0
    doc = json.loads(out.read_text())
    assert doc["schema"] == "certify/flow-v1" and doc["backend"] == "float64"
    assert [c["t"] for c in doc["checkpoints"]] == [0.0, 0.5, 1.0, 1.5, 2.0]
    prob = load_problem("builtin:demo")
    assert len(doc["checkpoints"][-1]["center"]) == prob.n_params
    assert all(isinstance(c["radius"], float) and c["radius"] < 1e-9 for c in doc["checkpoints"])
    assert doc["steps"] and {"delta", "mu", "rho", "e1"} <= set(doc["steps"][0])
    stdout = capsys.readouterr().out
    assert "radius (certified)" in stdout and "loss (estimate)" in stdout


def test_flow_cli_high_precision_writes_decimal_strings(tmp_path):
    out = tmp_path / "enc.json"
    assert main(["flow", "builtin:demo", "--t-end", "0.25", "--checkpoints", "1", "--backend", "arb",
                 "--prec", "128", "--out", str(out)]) == 0
    doc = json.loads(out.read_text())
    c = doc["checkpoints"][-1]
    assert isinstance(c["center"][0], str) and len(c["center"][0]) > 25
    assert isinstance(c["radius"], str) and float(c["radius"]) < 1e-20


@pytest.mark.parametrize(
    "argv, needle",
    [
        (["builtin:demo", "--t-end", "0"], "--t-end"),
        (["builtin:demo", "--t-end", "-1"], "--t-end"),
        (["builtin:demo", "--t-end", "nan"], "--t-end"),
        (["builtin:demo", "--t-end", "1", "--prec", "200"], "--prec"),
    ],
)
def test_flow_cli_bad_input(tmp_path, capsys, argv, needle):
    out = tmp_path / "enc.json"
    assert main(["flow", *argv, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert needle in err and err.count("\n") == 1 and not out.exists()


def test_flow_that_cannot_be_continued_writes_nothing(tmp_path, capsys):
    """Huge weights: the flow is violent; the enclosure must stop cleanly (exit 2)."""
    spec = {"dims": [2, 2, 2], "loss": {"kind": "whitened", "target": [[1.0, 0.0], [0.0, 1.0]]},
            "init": {"weights": [[[1e150, 0.0], [0.0, 1e150]], [[1e150, 0.0], [0.0, 1e150]]]}}
    f = tmp_path / "p.json"
    f.write_text(json.dumps(spec))
    out = tmp_path / "enc.json"
    assert main(["flow", str(f), "--t-end", "1", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err and not out.exists()
