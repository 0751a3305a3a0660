"""certify experiment paper (certify.experiments.run_paper_experiment) on the
paper's problem with few steps: outputs, certificates, CSV against them, CLI."""

from __future__ import annotations

import csv
import dataclasses
import json

import pytest

import certify
from certify.cli import main
from certify.experiments import run_paper_experiment

STEPS, EVERY, RATIOS = 60, 20, (2, 5)


@pytest.fixture(scope="module")
def res(tmp_path_factory):
    return run_paper_experiment(tmp_path_factory.mktemp("paper") / "out", steps=STEPS, every=EVERY, ratios=RATIOS)


def _csv(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def test_outputs_and_result(res):
    names = sorted(p.name for p in res.out_dir.iterdir())
    assert names == sorted(["gap-r1.json", "gap-r2.json", "gap-r5.json", "distance.json", "paper.csv", "paper.png",
                            "report.txt"])  # no temporary file left behind
    assert res.figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [r.ratio for r in res.runs] == [1, 2, 5]
    assert [r.steps for r in res.runs] == [STEPS, 2 * STEPS, 5 * STEPS]
    assert res.problem == "builtin:paper" and res.ratios == RATIOS
    with pytest.raises(dataclasses.FrozenInstanceError):
        res.steps = 1
    report = res.report.read_text()
    assert "not MNIST" in report and "not cross-entropy" in report
    assert res.differences[-1].startswith("network: 64-50-50-10")  # --arch 64 is not the paper's size
    assert all(d in report for d in res.differences)
    for run in res.runs:
        lo, hi = run.gap_at_T
        assert 0 < lo <= hi < 1.001 * lo  # certified and tight
    assert [r for r, _ in res.dist_at_T] == list(RATIOS)


def test_certificates_pass_the_checker(res):
    for p in res.certificates:
        rep = certify.check_file(p)
        assert rep.valid, (p, rep.failures[:1])


def test_csv_bounds_are_the_certificates(res):
    rows = _csv(res.table)
    gaps = {}
    for r in res.runs:
        doc = json.loads(r.certificate.read_text())
        gaps[r.ratio] = {c["k"]: c for c in doc["claims"]["checkpoints"]}
    dist = json.loads(res.distance_certificate.read_text())
    dpts = {run["ratio"]: {p["k"]: p for p in run["points"]} for run in dist["claims"]["runs"]}
    seen = {"gd_gf_gap": 0, "distance_from_init": 0, "distance_to_eta0_run": 0, "loss": 0}
    for row in rows:
        q, r, k0, k = row["quantity"], int(row["ratio"]), int(row["k_eta0"]), int(row["k_run"])
        assert k == r * k0  # time-aligned: iteration r k of the eta0/r run is at t = k eta0
        if q in ("gd_gf_gap", "distance_from_init", "distance_to_eta0_run"):
            lo, hi, est = float(row["certified_lower"]), float(row["certified_upper"]), float(row["estimate"])
            assert lo <= est <= hi  # the float64 distance lies in its certified bracket
        if q == "gd_gf_gap":
            c = gaps[r][k]
            assert (lo, hi) == (c["gap_lower"], c["gap_upper"])
        elif q == "distance_from_init":
            p = dpts[r][k0]
            assert (lo, hi) == (p["from_init_lower"], p["from_init_upper"])
        elif q == "distance_to_eta0_run":
            p = dpts[r][k0]
            assert (lo, hi) == (p["dist_lower"], p["dist_upper"])
        elif q == "loss":
            assert float(row["estimate"]) == gaps[r][k]["loss"]
            assert row["certified_lower"] == row["certified_upper"] == ""  # an estimate, not certified
        if q in seen:
            seen[q] += 1
    n = STEPS // EVERY + 1
    assert seen == {"gd_gf_gap": 3 * n, "distance_from_init": 3 * n, "distance_to_eta0_run": 2 * n, "loss": 3 * n}


def test_the_papers_finding_on_this_setup(res):
    """The runs stay close: the certified distance between runs is far below the distance travelled."""
    lo_init, _ = res.from_init_at_T
    assert res.max_dist_upper < 0.05 * lo_init
    losses = {r.ratio: r.loss_at_T for r in res.runs}
    assert max(losses.values()) - min(losses.values()) < 1e-2 * losses[1]


def test_bad_input_is_one_line_exit_2(tmp_path, capsys):
    with pytest.raises(certify.UsageError):
        run_paper_experiment(tmp_path / "x", arch="32")
    with pytest.raises(certify.UsageError):
        run_paper_experiment(tmp_path / "y", ratios=(1,), steps=10)
    f = tmp_path / "file"
    f.write_text("")
    assert main(["experiment", "paper", "--steps", "10", "--out-dir", str(f)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not a folder" in err and "Traceback" not in err
    assert main(["experiment", "paper", "--ratios", "1,2"]) == 2


def test_cli_quick_run(tmp_path, capsys):
    out = tmp_path / "cli"
    assert main(["experiment", "paper", "--problem", "builtin:demo", "--steps", "40", "--every", "10",
                 "--ratios", "2", "--out-dir", str(out)]) == 0
    text = capsys.readouterr().out
    # a custom problem: the report names it instead of claiming the paper's digits setup
    assert "builtin:demo instead of the paper's 784-50-50-10" in text and "not MNIST" not in text
    assert "wrote" in text
    assert (out / "paper.png").read_bytes()[:4] == b"\x89PNG"
    assert certify.check_file(out / "distance.json").valid


def test_not_certified_is_exit_4(tmp_path, capsys):
    """builtin:saddle at eta0 = 0.1: GD and GF converge to the same point, so by t = 40 the certified
    bracket is vacuous (lower bound 0): exit 4, one line naming the run, no partial figure."""
    code = main(["experiment", "paper", "--problem", "builtin:saddle", "--eta0", "0.1", "--steps", "1000",
                 "--ratios", "", "--out-dir", str(tmp_path / "sad")])
    err = capsys.readouterr().err
    assert code == 4
    assert err.startswith("certify: error: could not certify") and err.count("\n") == 1
    assert "eta0 run" in err and "--steps" in err
    assert not (tmp_path / "sad" / "paper.png").exists()


def test_unstable_step_is_one_line(tmp_path, capsys):
    """Past the edge of stability GD diverges: bad input (exit 2), one line, as for 'certify gap'."""
    code = main(["experiment", "paper", "--problem", "builtin:demo", "--eta0", "1.5", "--steps", "40",
                 "--ratios", "2", "--out-dir", str(tmp_path / "bad")])
    err = capsys.readouterr().err
    assert code == 2 and "unstable" in err and err.count("\n") == 1
