"""CLI: exit codes, one-line errors, JSON contracts (thin layer over the API)."""

import json
import subprocess
import sys

import mpmath
import numpy as np
import pytest
from hypothesis import given, settings

from certify.cli import main
from certify.strategies import problem_specs

from helpers.reference import fd_grad, naive_loss


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_console_entry_point_help():
    r = subprocess.run([sys.executable, "-m", "certify.cli", "--help"], capture_output=True, text=True)
    assert r.returncode == 0 and "demo" in r.stdout and "derive" in r.stdout


def test_demo_runs_and_verifies(capsys, tmp_path):
    code, out, err = run(capsys, "demo", "--steps", "400", "--every", "100", "--out-dir", str(tmp_path))
    assert code == 0, err
    assert "verified" in out and "estimate" in out and "VALID" in out
    assert (tmp_path / "gap.json").exists() and (tmp_path / "gap.png").read_bytes()[:4] == b"\x89PNG"


@settings(max_examples=12)
@given(spec=problem_specs(min_depth=1, max_depth=5, max_width=3))
def test_derive_eval_json_matches_independent_computation(tmp_path_factory, spec):
    """Done-when of issue 2: agreement to 1e-10 relative, depth 1..5, never-seen problems."""
    f = tmp_path_factory.mktemp("p") / "p.json"
    f.write_text(json.dumps(spec))
    import io
    import contextlib

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        code = main([str(f), "--eval", "--json"][:0] + ["derive", str(f), "--eval", "--json"])
    assert code == 0
    res = json.loads(buf.getvalue())
    theta = []
    for w in spec["init"]["weights"]:
        for row in w:
            theta.extend(mpmath.mpf(x) for x in row)
    with mpmath.workdps(80):
        L = float(naive_loss(spec, theta))
        g = np.array([float(x) for x in fd_grad(spec, theta, mpmath.mpf(10) ** -30)])
        n = len(theta)
        H = np.zeros((n, n))
        h = mpmath.mpf(10) ** -25
        for i in range(n):
            tp, tm = list(theta), list(theta)
            tp[i] += h
            tm[i] -= h
            gp = fd_grad(spec, tp, mpmath.mpf(10) ** -35)
            gm = fd_grad(spec, tm, mpmath.mpf(10) ** -35)
            H[:, i] = [float((a - b) / (2 * h)) for a, b in zip(gp, gm)]
    assert abs(res["loss"] - L) <= 1e-10 * max(abs(L), 1e-300) or abs(res["loss"] - L) < 1e-300
    assert np.linalg.norm(np.array(res["grad"]) - g) <= 1e-10 * max(np.linalg.norm(g), 1e-300) or np.linalg.norm(g) == 0
    Hc = np.array(res["hessian"])
    assert Hc.shape == (n, n)
    assert np.linalg.norm(Hc - H) <= 1e-10 * max(np.linalg.norm(H), 1e-300) or np.linalg.norm(H) == 0


def test_derive_eval_omits_hessian_above_2000(capsys):
    code, out, _ = run(capsys, "derive", "builtin:digits", "--eval", "--json")
    assert code == 0
    res = json.loads(out)
    assert "hessian" not in res and len(res["grad"]) == 5280


@pytest.mark.parametrize(
    "content, needle",
    [
        ('{"dims": [1, 1], "loss": {"kind": "whitened", "target": [[NaN]]}, "init": {"weights": [[[1.0]]]}}', "non-finite"),
        ('{"dims": [2, 1], "loss": {"kind": "whitened", "target": [[1.0]]}, "init": {"weights": [[[1.0, 2.0]]]}}', "loss.target"),
        ('{"dims": [1, 1], "loss": {"kind": "whitened", "target": [[1.0]]}}', "init"),
        ('{"dims": [1, 1], "loss": {"kind": "square", "dataset": "imagenet", "samples": 2}, "init": {"scheme": "gaussian"}}', "loss.dataset"),
        ('not json', "not valid JSON"),
        ('[1, 2]', "JSON object"),
    ],
)
def test_bad_problem_files_exit_2_one_line(tmp_path, capsys, content, needle):
    f = tmp_path / "bad.json"
    f.write_text(content)
    code, out, err = run(capsys, "derive", str(f), "--eval", "--json")
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1 and needle in err and "Traceback" not in err


@pytest.mark.parametrize(
    "argv",
    [["demo", "--eta", "0"], ["demo", "--eta", "nan"], ["demo", "--steps", "-3"], ["derive"], ["derive", "--dims", "3"],
     ["nosuchcommand"], ["derive", "builtin:demo", "--json"], ["derive", "missing.json", "--eval"]],
)
def test_usage_errors_exit_2_one_line(capsys, argv):
    code, out, err = run(capsys, *argv)
    assert code == 2 and err.count("\n") == 1 and err.startswith("certify: error:")


def test_gd_blow_up_exit_2(capsys, tmp_path):
    # 10 steps: eta * K stays within the horizon limit (certify/_limits.py), GD diverges at step 2
    code, out, err = run(capsys, "demo", "--eta", "50", "--steps", "10", "--out-dir", str(tmp_path))
    assert code == 2 and "diverged" in err and err.count("\n") == 1


def test_certificates_are_byte_identical_for_identical_input(tmp_path, capsys):
    paths = [tmp_path / f"g{i}.json" for i in range(2)]
    for p in paths:
        assert main(["gap", "builtin:demo", "--eta", "1e-3", "--steps", "300", "--out", str(p)]) == 0
    assert paths[0].read_bytes() == paths[1].read_bytes()
    conv = [tmp_path / f"c{i}.json" for i in range(2)]
    for p in conv:
        assert main(["converge", "builtin:demo", "--eps", "2e-2", "--eta", "5e-3", "--out", str(p)]) == 0
    assert conv[0].read_bytes() == conv[1].read_bytes()
