"""Certified GD-vs-GF gap (S4.2, S4.4, S4.5) against gaps known to 30+ digits.

Truths are independent of certify's code: diagonal balanced instances whose
layers are ``U_j diag(a) U_{j-1}^T`` with signed permutations ``U_j`` (exact in
floating point) decouple into scalar problems per mode: GD
``a <- a - eta a^{N-1} (a^N - phi)`` iterated in mpmath at 60 digits from the
exact float start, GF by the closed form (N = 1, 2) or mpmath's own Taylor
ODE solver (N >= 3).
"""

import json
import math
from fractions import Fraction

import mpmath
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from certify import certify_gap, problem_from_dict
from certify.certificates.writing import dumps_json
from certify.cli import main
from helpers.reference import diagonal_instance, signed_perm  # noqa: F401


def true_gaps(N, a0, phi, eta, ks, dps=60):
    """||theta_k - theta(k eta)||_2 for the exact GD and GF, per mode and layer."""
    out = {}
    with mpmath.workdps(dps):
        eta_m = mpmath.mpf(Fraction(eta).numerator) / Fraction(eta).denominator
        for mode in range(len(a0)):
            a_init, ph = mpmath.mpf(float(a0[mode])), mpmath.mpf(float(phi[mode]))
            f = lambda t, y: [-(y[0] ** (N - 1)) * (y[0] ** N - ph)]
            sol = None if N <= 2 else mpmath.odefun(f, 0, [a_init], tol=mpmath.mpf(10) ** (-dps + 5))
            a, k_done = a_init, 0
            for k in sorted(ks):
                while k_done < k:
                    a = a - eta_m * a ** (N - 1) * (a**N - ph)
                    k_done += 1
                t = k * eta_m
                if N == 1:
                    g = ph + (a_init - ph) * mpmath.exp(-t)
                elif N == 2:
                    u0 = a_init**2
                    g = mpmath.sqrt(ph * u0 / (u0 + (ph - u0) * mpmath.exp(-2 * ph * t)))
                else:
                    g = sol(t)[0]
                out[k] = out.get(k, 0) + N * (a - g) ** 2
        return {k: mpmath.sqrt(v) for k, v in out.items()}


@settings(max_examples=12, deadline=None)
@given(N=st.integers(1, 4), d=st.integers(1, 4), seed=st.integers(0, 10**6),
       eta=st.sampled_from([1e-3, 2.5e-3, 0.01]), K=st.integers(20, 300))
def test_gap_brackets_the_truth(N, d, seed, eta, K):
    """Done-when of the gap issue: gap_lower <= true <= gap_upper, gap_upper/true <= 1.01."""
    spec, a0, phi, _ = diagonal_instance(N, d, seed)
    prob = problem_from_dict(spec)
    every = max(1, K // 5)
    cert = certify_gap(prob, eta, K, every=every)
    truth = true_gaps(N, a0, phi, eta, [c.k for c in cert.checkpoints])
    for c in cert.checkpoints:
        tr = truth[c.k]
        assert mpmath.mpf(c.gap_lower) <= tr <= mpmath.mpf(c.gap_upper), (c.k, c.gap_lower, tr, c.gap_upper)
        if c.k > 0 and tr > 0:
            assert c.gap_upper <= 1.01 * float(tr), (c.k, c.gap_upper, tr)
        if math.isfinite(c.gap_upper_s42):
            assert tr <= mpmath.mpf(c.gap_upper_s42)


def test_certificate_is_deterministic_and_exact_json():
    spec, _, _, _ = diagonal_instance(3, 3, 7)
    prob = problem_from_dict(spec)
    a = dumps_json(certify_gap(prob, 0.01, 100, every=25).to_json())
    b = dumps_json(certify_gap(prob, 0.01, 100, every=25).to_json())
    assert a == b
    doc = json.loads(a)
    assert doc["schema"] == "certify/gap-v2"
    assert len(doc["segments"]) == 100
    th = [float.fromhex(x) for x in doc["claims"]["checkpoints"][-1]["theta_hex"]]
    assert len(th) == prob.n_params
    for c in doc["claims"]["checkpoints"]:
        assert c["gap_lower"] <= c["gap_upper"]
        for field in ("gf_radius", "gap_upper"):
            assert c[field] >= 0


def test_two_sided_bound_is_tight_on_demo():
    """The paper's step size on builtin:demo: upper/lower <= 1.001 (S4.4)."""
    from certify import load_problem

    cert = certify_gap(load_problem("builtin:demo"), 1e-3, 2000, every=250)
    for c in cert.checkpoints[1:]:
        assert c.gap_lower > 0 and c.gap_upper / c.gap_lower <= 1.001


@pytest.mark.parametrize(
    "argv, needle",
    [
        (["--eta", "0", "--steps", "10"], "eta"),
        (["--eta", "-0.1", "--steps", "10"], "eta"),
        (["--eta", "0.01", "--steps", "0"], "steps"),
        (["--eta", "50", "--steps", "10"], "diverged"),
    ],
)
def test_gap_cli_bad_input_exit_2_and_nothing_written(tmp_path, capsys, argv, needle):
    out = tmp_path / "c.json"
    code = main(["gap", "builtin:demo", *argv, "--out", str(out)])
    _, err = capsys.readouterr()
    assert code == 2 and needle in err and err.count("\n") == 1
    assert not out.exists() and list(tmp_path.iterdir()) == []
