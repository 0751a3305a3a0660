"""S3.4-data (proofs/s3_4_data_weighted.py): the data-weighted Gauss-Newton bound.

The producer's ``beta`` with a rank-one split of ``Sxx`` must bound the exact
``||Hf(z)||_2`` (hyper-dual exact Hessian, 50-digit eigenvalues) at points
``z`` of the tube it claims, must be smaller than S3.1's form where the data
have a dominant direction, and the checker must confirm the split's claims
and refuse falsified ones."""

from __future__ import annotations

import json

import mpmath
import numpy as np
import pytest

import certify
from certify import problem_from_dict
from certify.check import check_certificate
from helpers.independent import hessian_ad
from certify.proofs.s3_4_data_weighted import gauss_newton_matrix

from certify.certificates.writing import dumps_json
from certify.gap.blocks import make_ref
from certify._lossdata import data_bounds, data_split
from certify.bounds.s31 import Tube, arb_prec
from certify.arith import get_context


def _spec(seed: int, dims, offset: float = 3.0, m: int = 7) -> dict:
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((dims[0], m)) + offset * rng.standard_normal((dims[0], 1))  # a "mean image"
    Y = rng.standard_normal((dims[-1], m))
    return {"dims": dims, "loss": {"kind": "square", "X": X.tolist(), "Y": Y.tolist()},
            "init": {"scheme": "gaussian", "scale": 0.6, "seed": seed}}


def _hess_norm(spec, theta) -> float:
    H = hessian_ad(spec, [float(x) for x in theta])
    with mpmath.workdps(50):
        M = mpmath.matrix([[mpmath.mpf(h.numerator) / h.denominator for h in row] for row in H])
        ev = mpmath.eigsy(M, eigvals_only=True)
        return float(max(abs(e) for e in ev))


def _point_in_tube(Ws, x, rng):
    out = []
    for W, r in zip(Ws, x):
        D = rng.standard_normal(W.shape)
        out.append(W + D * (r * 0.999 / np.linalg.norm(D)))
    return out


CASES = [(s, d) for s, d in [(1, [4, 3, 2]), (2, [5, 3, 3, 2]), (3, [4, 4, 2]), (4, [6, 3, 2, 2]), (5, [3, 3, 3, 3])]]


@pytest.mark.parametrize("seed, dims", CASES)
def test_data_weighted_beta_bounds_the_exact_hessian_on_its_tube(seed, dims):
    spec = _spec(seed, dims)
    prob = problem_from_dict(spec)
    split = data_split(prob)
    assert split is not None, "a dominant data direction: the split must be taken"
    s_G = data_bounds(prob)[0]
    Ws = [np.array(w) for w in prob.weights]
    ref = make_ref(0, Ws, prob, get_context("float64"), split)
    rng = np.random.default_rng(seed)
    N = len(Ws)
    for x in (0.0, 0.02, 0.1):
        with arb_prec():
            tube = Tube(ref.base, [x] * N)
            mu = tube.mu(ref.g, s_G)
            beta_dw = float(tube.beta(mu, s_G, split).upper())
            beta_s31 = float(tube.beta(mu, s_G).upper())
            gn_dw = float(tube.gauss_newton(s_G, split).upper())
            un = [float(tube.u_norm(b).upper()) for b in range(1, N)]
        assert beta_dw <= beta_s31
        Sxx = np.array(spec["loss"]["X"]) @ np.array(spec["loss"]["X"]).T / len(spec["loss"]["X"][0])
        for _ in range(3 if x else 1):
            z = Ws if x == 0 else _point_in_tube(Ws, [x] * N, rng)
            theta = np.concatenate([w.reshape(-1) for w in z])
            true = _hess_norm(spec, theta)
            assert true <= beta_dw, (x, true, beta_dw)
            P = z[0]
            for b in range(1, N):  # ||Z_{b:1} u|| on the tube
                assert float(np.linalg.norm(P @ split.u)) <= un[b - 1] * (1 + 1e-14), (x, b)
                P = z[b] @ P
            with mpmath.workdps(50):  # the Hl part alone, 50 digits (float Sxx: 1e-12 relative slack)
                gn_true = float(max(mpmath.eigsy(gauss_newton_matrix(z, Sxx), eigvals_only=True)))
            assert gn_true <= gn_dw * (1 + 1e-12), (x, gn_true, gn_dw)


def test_the_split_pays_on_a_dominant_direction_and_is_skipped_without_one():
    prob = problem_from_dict(_spec(7, [6, 4, 4, 2], offset=4.0))
    split = data_split(prob)
    s_G = data_bounds(prob)[0]
    assert split is not None and 2 * split.s_r <= s_G
    # ||u|| <= 1 exactly, and s_r bounds ||Sxx - c u u^T|| (50 digits, exact statistics)
    from fractions import Fraction

    assert sum(Fraction(float(v)) ** 2 for v in split.u) <= 1
    S = prob.loss.exact_stats[0]
    with mpmath.workdps(50):
        R = mpmath.matrix([[mpmath.mpf(int(S[i, j].p)) / int(S[i, j].q) - mpmath.mpf(split.c) * mpmath.mpf(float(split.u[i]))
                            * mpmath.mpf(float(split.u[j])) for j in range(6)] for i in range(6)])
        assert max(abs(e) for e in mpmath.eigsy(R, eigvals_only=True)) <= split.s_r
    Ws = [np.array(w) for w in prob.weights]
    ref = make_ref(0, Ws, prob, get_context("float64"), split)
    with arb_prec():
        tube = Tube(ref.base, [0.0] * 3)
        assert float(tube.gauss_newton(s_G, split).upper()) < 0.8 * float(tube.gauss_newton(s_G).upper())
    # isotropic data: no dominant direction, no split; whitened loss and depth 1: none
    rng = np.random.default_rng(0)
    Q, _ = np.linalg.qr(rng.standard_normal((4, 4)))
    iso = {"dims": [4, 3, 2], "loss": {"kind": "square", "X": (2.0 * Q).tolist(), "Y": rng.standard_normal((2, 4)).tolist()},
           "init": {"scheme": "gaussian", "scale": 0.5, "seed": 0}}
    assert data_split(problem_from_dict(iso)) is None
    assert data_split(certify.load_problem("builtin:demo")) is None
    one = dict(_spec(1, [4, 2])) 
    assert data_split(problem_from_dict(one)) is None


@pytest.fixture(scope="module")
def split_certificate():
    prob = problem_from_dict(_spec(2, [5, 3, 3, 2]))
    cert = certify.certify_gap(prob, 0.01, 60, every=20)
    return json.loads(dumps_json(cert.to_json()))


def test_the_checker_confirms_a_split_certificate(split_certificate):
    doc = split_certificate
    assert doc["data_split"]["lemma"] == "S3.4-data"
    assert all(len(r["u_norm2"]) == 2 for r in doc["refs"])
    rep = check_certificate(doc)
    assert rep.valid, rep.failures[:3]


def _mut(doc, f):
    d = json.loads(json.dumps(doc))
    f(d)
    return d


@pytest.mark.parametrize("what, mutate, needle", [
    ("s_r halved", lambda d: d["data_split"].__setitem__("s_r", d["data_split"]["s_r"] / 2), "data_split.s_r"),
    ("u scaled up", lambda d: d["data_split"].__setitem__("u_hex", [float.hex(2 * float.fromhex(x)) for x in d["data_split"]["u_hex"]]),
     "u"),
    ("c negative", lambda d: d["data_split"].__setitem__("c", -1.0), "data_split"),
    ("u_norm2 lowered", lambda d: d["refs"][0]["u_norm2"].__setitem__(1, d["refs"][0]["u_norm2"][1] * 0.5), "u_norm2"),
    ("split dropped", lambda d: d.pop("data_split"), "u_norm2"),
    ("split on a larger c", lambda d: d["data_split"].__setitem__("c", d["data_split"]["c"] * 1.5), "data_split.s_r"),
])
def test_the_checker_refuses_a_falsified_split(split_certificate, what, mutate, needle):
    from certify import CertificateError

    try:
        rep = check_certificate(_mut(split_certificate, mutate))
    except CertificateError as e:  # structural (schema): also a refusal
        assert needle.split(".")[0] in str(e), str(e)
        return
    assert not rep.valid, what
    assert any(needle in f for f in rep.failures), rep.failures[:3]


def test_the_checker_recomputes_the_data_weighted_beta_itself(split_certificate):
    """A beta_r claim 0.1% below the producer's: the checker's own data-weighted
    bound (with its remainder term s_r, a third of beta here) is above it (the two
    implementations differ by ~1e-5 relative: their lambda_max(C) bounds).  A
    checker that dropped a term would accept."""
    bad = _mut(split_certificate, lambda d: d["segments"][3].__setitem__("beta_r", d["segments"][3]["beta_r"] * (1 - 1e-3)))
    rep = check_certificate(bad)
    assert not rep.valid and any("segments[3].beta_r" in f for f in rep.failures), rep.failures[:3]


def test_the_checker_refuses_a_u_just_above_unit_norm(split_certificate):
    """u scaled to ||u||^2 = 1 + 1e-14: every other claim still holds within its
    slack, only ||u||_2 <= 1 (checked in exact rationals) fails."""
    from fractions import Fraction

    def grow(d):
        u = [float.fromhex(x) for x in d["data_split"]["u_hex"]]
        n2 = float(sum(Fraction(x) ** 2 for x in u))
        f = ((1 + 1e-14) / n2) ** 0.5
        d["data_split"]["u_hex"] = [float.hex(x * f) for x in u]
        assert sum(Fraction(float.fromhex(x)) ** 2 for x in d["data_split"]["u_hex"]) > 1
    rep = check_certificate(_mut(split_certificate, grow))
    assert not rep.valid
    assert rep.failures == ["data_split.u_hex: ||u||_2 > 1"], rep.failures[:3]
