"""S4.7: certified distance between exact GD runs with eta and eta/r
(``certify/distance-v1``), and the certified prefix of a gap run that stops
being useful (``--partial``, exit 4).

Truth: exact-arithmetic GD approximated at 60 digits (mpmath, the gradient of
S2.1 written here independently; its rounding, ~1e-60, is far below every
radius)."""

from __future__ import annotations

import copy
import json

import mpmath
import numpy as np
import pytest

import certify
from certify import problem_from_dict
from certify.check import check_certificate
from certify.cli import main

SPEC = {
    "dims": [2, 3, 2],
    "loss": {"kind": "whitened", "target": [[1.0, 0.5], [-0.25, 0.75]]},
    "init": {"weights": [[[0.5, -0.25], [0.125, 0.375], [-0.5, 0.25]], [[0.25, 0.5, -0.125], [0.375, -0.25, 0.5]]]},
}
SQUARE = {
    "dims": [3, 2, 2, 1],
    "loss": {"kind": "square", "X": [[1.0, 0.5, -1.0, 0.25], [0.0, 1.0, 0.5, -0.5], [0.5, -0.25, 0.0, 1.0]],
             "Y": [[1.0, -0.5, 0.25, 0.5]]},
    "init": {"weights": [[[0.5, 0.25, -0.5], [0.25, -0.5, 0.125]], [[0.75, 0.25], [-0.25, 0.5]], [[0.5, -0.375]]]},
}


def gd_60(spec, eta: float, steps: int, keep):
    """Exact GD (60 digits) with the binary64 step ``eta``: iterates at ``keep``."""
    with mpmath.workdps(60):
        Ws = [mpmath.matrix(w) for w in spec["init"]["weights"]]
        L = spec["loss"]
        H = mpmath.mpf(eta)
        out = {}
        for k in range(steps + 1):
            if k in keep:
                out[k] = [W[i, j] for W in Ws for i in range(W.rows) for j in range(W.cols)]  # row-major (S1)
            if k == steps:
                break
            N = len(Ws)
            pre = [None] * (N + 1)  # pre[j] = W_j ... W_1 (pre[0] = I)
            pre[0] = mpmath.eye(Ws[0].cols)
            for j in range(N):
                pre[j + 1] = Ws[j] * pre[j]
            suf = [None] * (N + 1)  # suf[j] = W_N ... W_{j+1} (suf[N] = I)
            suf[N] = mpmath.eye(Ws[-1].rows)
            for j in range(N - 1, -1, -1):
                suf[j] = suf[j + 1] * Ws[j]
            if L["kind"] == "whitened":
                G = pre[N] - mpmath.matrix(L["target"])
            else:
                X, Y = mpmath.matrix(L["X"]), mpmath.matrix(L["Y"])
                G = (pre[N] * X - Y) * X.T / X.cols
            Ws = [Ws[j] - H * (suf[j + 1].T * G * pre[j].T) for j in range(N)]
        return out


def _norm(a, b):
    with mpmath.workdps(60):
        return mpmath.sqrt(sum((mpmath.mpf(x) - mpmath.mpf(y)) ** 2 for x, y in zip(a, b)))


@pytest.mark.parametrize("spec", [SPEC, SQUARE], ids=["whitened", "square"])
def test_distance_brackets_the_exact_runs(spec):
    prob = problem_from_dict(spec)
    eta, K, every, ratios = 0.05, 40, 10, (2, 3)
    cert = certify.certify_distance(prob, eta, K, ratios, every=every)
    ks = list(range(0, K + 1, every))
    base = gd_60(spec, eta, K, set(ks))
    theta0 = [mpmath.mpf(x) for x in prob.theta0]
    for i, r in enumerate([1, *ratios]):
        run = gd_60(spec, eta / r, r * K, {r * k for k in ks})
        for p in cert.points[i]:
            fi = _norm(run[r * p.k], theta0)
            assert p.from_init[0] <= fi <= p.from_init[1]
            if p.k:
                # not vacuous: only the claims' 1e-10 margins and 12-digit rounding (gap-v2.md section 0)
                assert p.from_init[1] - p.from_init[0] <= 5e-10 * (1 + float(fi))
            if i == 0:
                assert p.dist is None
                continue
            d = _norm(base[p.k], run[r * p.k])
            assert p.dist[0] <= d <= p.dist[1], (i, p.k, p.dist, float(d))
            if p.k:
                assert p.dist[1] - p.dist[0] <= 1e-9 * float(d)  # a tight bracket: radii ~1e-15, distance ~1e-3
    rep = check_certificate(json.loads(json.dumps(cert.to_json())))
    assert rep.valid, rep.failures


def test_distance_checker_rejects_tampered_claims():
    prob = problem_from_dict(SPEC)
    doc = json.loads(json.dumps(certify.certify_distance(prob, 0.05, 20, (2,), every=10).to_json()))
    assert check_certificate(doc).valid
    edits = [
        ("dist_upper", lambda d: d["claims"]["runs"][1]["points"][1].__setitem__("dist_upper", d["claims"]["runs"][1]["points"][1]["dist_upper"] * (1 - 1e-6))),
        ("dist_lower", lambda d: d["claims"]["runs"][1]["points"][2].__setitem__("dist_lower", d["claims"]["runs"][1]["points"][2]["dist_lower"] * (1 + 1e-6))),
        ("from_init", lambda d: d["claims"]["runs"][0]["points"][2].__setitem__("from_init_upper", d["claims"]["runs"][0]["points"][2]["from_init_upper"] * (1 - 1e-6))),
        ("r", lambda d: d["runs"][1]["checkpoints"][1].__setitem__("r", d["runs"][1]["checkpoints"][1]["r"] / 2)),
        ("round", lambda d: d["runs"][1]["segments"][7].__setitem__("round", d["runs"][1]["segments"][7]["round"] / 4)),
        ("eta", lambda d: d["runs"][1].__setitem__("eta", d["runs"][1]["eta"] * (1 + 2**-40))),
        ("max", lambda d: d["claims"].__setitem__("max_dist_upper", d["claims"]["max_dist_upper"] / 2)),
        ("statement", lambda d: d["claims"].__setitem__("statement", d["claims"]["statement"] + " for every eta")),
    ]
    for name, edit in edits:
        bad = copy.deepcopy(doc)
        edit(bad)
        try:
            rep = check_certificate(bad)
        except certify.CertificateError:
            continue
        assert not rep.valid, f"tampered {name} accepted"


def test_distance_cli(tmp_path, capsys):
    out = tmp_path / "d.json"
    assert main(["distance", "builtin:demo", "--eta", "1e-2", "--steps", "50", "--ratios", "2,5", "--every", "25",
                 "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "dist to eta/5" in text and "certified" in text
    assert main(["check", str(out)]) == 0
    assert main(["distance", "builtin:demo", "--eta", "1e-2", "--steps", "50", "--ratios", "1,2",
                 "--out", str(tmp_path / "x.json")]) == 2
    err = capsys.readouterr().err
    assert "--ratios" in err and err.count("\n") == 1
    assert not (tmp_path / "x.json").exists()


VACUOUS = {"dims": [2, 2], "loss": {"kind": "whitened", "target": [[1.0, 0.5], [0.0, 2.0]]},
           "init": {"weights": [[[0.0, 0.0], [0.0, 0.0]]]}}


def test_vacuous_bracket_exit_4_and_partial_prefix(tmp_path, capsys):
    """Depth 1 (convex): GD and GF converge to the same minimum, the gap decays
    below the rounding-level radii and the bracket becomes vacuous (lower bound
    0) near t = 40.  Without --partial: exit 4, one line naming the step, time
    and reason, no file.  With --partial: the certified prefix, which checks,
    and whose 'partial' block is itself checked."""
    pf = tmp_path / "p.json"
    pf.write_text(json.dumps(VACUOUS))
    out = tmp_path / "g.json"
    code = main(["gap", str(pf), "--eta", "0.1", "--steps", "3000", "--every", "100", "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 4 and err.count("\n") == 1
    assert "could not certify beyond step" in err and "vacuous" in err and "t=" in err
    assert not out.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["p.json"]
    code = main(["gap", str(pf), "--eta", "0.1", "--steps", "3000", "--every", "100", "--out", str(out), "--partial"])
    err = capsys.readouterr().err
    assert code == 4 and "partial" in err
    doc = json.loads(out.read_text())
    assert doc["partial"]["requested_steps"] == 3000 and doc["steps"] < doc["partial"]["stopped_at_step"]
    assert doc["steps"] % 100 == 0 and doc["steps"] >= 100
    assert all(c["gap_lower"] > 0 for c in doc["claims"]["checkpoints"][1:])
    assert main(["check", str(out)]) == 0
    capsys.readouterr()
    bad = copy.deepcopy(doc)
    bad["partial"]["stopped_at_step"] = doc["steps"]
    assert not check_certificate(bad).valid
    # the API: the same stop as an exception, or the prefix
    prob = problem_from_dict(VACUOUS)
    with pytest.raises(certify.NotCertified) as ei:
        certify.certify_gap(prob, 0.1, 3000, every=100, stop_when_vacuous=True)
    assert ei.value.k == doc["partial"]["stopped_at_step"] and ei.value.exit_code == 4
    # without the vacuity stop the API certifies the whole run (a lower bound 0 is still true)
    cert = certify.certify_gap(prob, 0.1, 600, every=100)
    assert cert.checkpoints[-1].gap_lower == 0.0 and cert.partial is None
