"""Resource limits (certify/_limits.py, README "Resource limits"): every
command on a tiny input refuses at once, with exit code 2 and one line on
stderr naming the limit and how to raise it, or finishes (issue 13, item 5).
Each case ran unbounded (or crashed) before the limits existed."""

from __future__ import annotations

import json
import time

import pytest

from certify.cli import main

P8 = {"dims": [2, 2, 2], "loss": {"kind": "whitened", "target": [[1.0, 0.5], [-0.25, 0.75]]},
      "init": {"weights": [[[0.5, 0.1], [0.2, 0.4]], [[0.3, -0.2], [0.1, 0.6]]]}}


@pytest.fixture
def p8(tmp_path):
    path = tmp_path / "p8.json"
    path.write_text(json.dumps(P8))
    return str(path)


def run(argv, capsys):
    t0 = time.perf_counter()
    rc = main(argv)
    cap = capsys.readouterr()
    return rc, cap.out, cap.err, time.perf_counter() - t0


def one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


REFUSED = [
    # (argv after the problem, words the one line must contain)
    (["flow", "{p}", "--t-end", "1", "--checkpoints", "100000000", "--out", "{o}"], ["'checkpoints'", "--max-checkpoints"]),
    (["flow", "{p}", "--t-end", "1e300", "--out", "{o}"], ["'horizon'", "--max-horizon", "CERTIFY_MAX_HORIZON"]),
    (["flow", "{p}", "--t-end", "1", "--backend", "arb", "--prec", "20000", "--out", "{o}"], ["'prec'", "--max-prec"]),
    (["flow", "{p}", "--t-end", "1", "--order", "5000", "--out", "{o}"], ["'order'", "--max-order"]),
    (["flow", "{p}", "--t-end", "1", "--order", "3", "--out", "{o}"], ["--order 3", "--order >= 6"]),
    (["gap", "{p}", "--eta", "1e-3", "--steps", "1000000000", "--out", "{o}"], ["'steps'", "--max-steps"]),
    (["gap", "{p}", "--eta", "10", "--steps", "1000", "--out", "{o}"], ["'horizon'"]),
    (["gap", "{p}", "--eta", "1e-3", "--steps", "100000", "--every", "1", "--out", "{o}"], ["'checkpoints'"]),
    (["converge", "{p}", "--eps", "1e-300", "--t-max", "1e300", "--out", "{o}"], ["'horizon'", "--max-horizon"]),
    (["conditions", "{p}", "--t-end", "1e300"], ["'horizon'"]),
    (["conditions", "{p}", "--eta", "1e-9"], ["'steps'"]),
    (["curvature", "{p}", "--t-end", "1e300"], ["'horizon'"]),
    (["curvature", "{p}", "--checkpoints", "5000"], ["'rows'", "--max-rows"]),
    (["derive", "--dims", ",".join(["2"] * 61)], ["'derive-depth'", "--max-derive-depth"]),
    (["demo", "--steps", "1000000000"], ["'steps'"]),
    (["distance", "{p}", "--eta", "1e-3", "--steps", "100", "--ratios", "1000000000", "--out", "{o}"], ["'steps'"]),
    (["distance", "{p}", "--eta", "1e-3", "--steps", "1000000000", "--out", "{o}"], ["'steps'"]),
    (["conditions", "{p}", "--eta", "1e300"], ["'horizon'", "--eta"]),  # one GD step runs the flow to t = eta
    (["flow", "{p}", "--t-end", "5e-324", "--out", "{o}"], ["2^-60"]),  # was exit 4, 'step size underflow'
    (["smallstep", "--mu", "1e-300"], ["--mu", "1e-100"]),  # was ZeroDivisionError, exit 3
    (["check", "{p}", "--max-steps", "-1"], ["--max-steps"]),
]


@pytest.mark.parametrize("argv, words", REFUSED, ids=[" ".join(a[:1] + a[2:4]) for a, _ in REFUSED])
def test_refused_at_once_with_one_line(argv, words, p8, tmp_path, capsys):
    out = tmp_path / "out.json"
    argv = [a.format(p=p8, o=str(out)) for a in argv]
    rc, _, err, secs = run(argv, capsys)
    assert rc == 2, err
    line = one_line(err)
    for w in words:
        assert w in line, line
    assert secs < 5, secs
    assert not out.exists()
    assert list(tmp_path.iterdir()) == [tmp_path / "p8.json"]  # no partial or temporary file


def test_env_var_raises_a_limit(p8, tmp_path, capsys, monkeypatch):
    out = tmp_path / "f.json"
    argv = ["flow", p8, "--t-end", "1", "--checkpoints", "3", "--out", str(out)]
    monkeypatch.setenv("CERTIFY_MAX_CHECKPOINTS", "2")
    rc, _, err, _ = run(argv, capsys)
    assert rc == 2 and "'checkpoints' = 2" in one_line(err)
    monkeypatch.setenv("CERTIFY_MAX_CHECKPOINTS", "5")
    rc, _, err, _ = run(argv, capsys)
    assert rc == 0 and out.exists()


def test_option_raises_a_limit_and_does_not_leak(p8, tmp_path, capsys):
    out = tmp_path / "f.json"
    rc, _, err, _ = run(["flow", p8, "--t-end", "1500", "--checkpoints", "1", "--max-horizon", "2000",
                         "--out", str(out)], capsys)
    assert rc == 0, err
    # the override held for that run only
    rc, _, err, _ = run(["flow", p8, "--t-end", "1500", "--checkpoints", "1", "--out", str(out)], capsys)
    assert rc == 2 and "'horizon'" in one_line(err)


def test_bad_env_value_is_one_line(p8, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("CERTIFY_MAX_HORIZON", "lots")
    rc, _, err, _ = run(["flow", p8, "--t-end", "1", "--out", str(tmp_path / "f.json")], capsys)
    assert rc == 2 and "CERTIFY_MAX_HORIZON" in one_line(err)


def test_converge_tiny_eps_finishes_within_a_minute(p8, tmp_path, capsys):
    """converge --eps 1e-300 at the largest allowed --t-max: the flow's
    enclosures are re-evaluated only on new checkpoints (was: 8 per time unit
    at every doubling, minutes); exit 2 naming eps."""
    rc, _, err, secs = run(["converge", p8, "--eps", "1e-300", "--eta", "1e-2", "--t-max", "1000",
                            "--out", str(tmp_path / "c.json")], capsys)
    assert rc == 2 and "eps" in one_line(err)
    assert secs < 60, secs
    assert not (tmp_path / "c.json").exists()


def test_api_gf_time_to_eps_checks_the_horizon():
    from certify import load_problem
    from certify._converge import gf_time_to_eps
    from certify._limits import ResourceLimitError

    with pytest.raises(ResourceLimitError, match="horizon"):
        gf_time_to_eps(load_problem(P8), 1e-3, t_max=1e300)


def test_flow_steps_limit_stops_a_long_run(p8, tmp_path, capsys):
    rc, _, err, secs = run(["flow", p8, "--t-end", "100", "--checkpoints", "1", "--max-flow-steps", "5",
                            "--out", str(tmp_path / "f.json")], capsys)
    line = one_line(err)
    assert rc == 2 and "maximum number of steps (5)" in line and "--max-flow-steps" in line
    assert not (tmp_path / "f.json").exists()


def test_api_translate_checks_the_horizon_of_a_huge_eta():
    """K = 1 step of eta = 1e300 would run the gap's flow enclosure to t = 1e300."""
    from certify import load_problem
    from certify._converge import translate
    from certify._limits import ResourceLimitError

    with pytest.raises(ResourceLimitError, match="horizon"):
        translate(load_problem(P8), 0.1, 1e300)


def test_derive_of_a_deep_problem_file_is_refused(tmp_path, capsys):
    spec = {"dims": [2] * 31, "loss": {"kind": "whitened", "target": [[1.0, 0.0], [0.0, 1.0]]},
            "init": {"scheme": "balanced", "scale": 0.5, "seed": 1}}
    path = tmp_path / "deep.json"
    path.write_text(json.dumps(spec))
    rc, _, err, secs = run(["derive", str(path)], capsys)
    assert rc == 2 and "'derive-depth'" in one_line(err) and secs < 5



from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(alphabet='[]{}"\\ab,:', max_size=8),
    lambda kids: st.lists(kids, max_size=4) | st.dictionaries(st.text(alphabet='[]{}"\\k', max_size=4), kids,
                                                                max_size=4),
    max_leaves=30)


@settings(max_examples=300, deadline=None)
@given(_json_values)
def test_text_nesting_depth_equals_the_parsed_depth(value):
    """The bracket pre-scan (strings blanked, escapes included) measures the
    same depth as a walk of the parsed value."""
    from certify import _limits

    text = json.dumps(value)
    assert _limits._text_depth(text) == _limits._depth(json.loads(text))


def test_api_gd_and_gap_check_the_steps_limit(monkeypatch):
    from certify import certify_gap, load_problem, run_gd
    from certify._limits import ResourceLimitError

    prob = load_problem(P8)
    for f in (run_gd, certify_gap):
        with pytest.raises(ResourceLimitError, match="'steps'"):
            f(prob, 1e-3, 10**9)
    monkeypatch.setenv("CERTIFY_MAX_STEPS", "5")
    with pytest.raises(ResourceLimitError, match="CERTIFY_MAX_STEPS"):
        run_gd(prob, 1e-3, 6)
    assert run_gd(prob, 1e-3, 5).steps == 5


_plain_values = st.recursive(
    st.none() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(alphabet="[]{}ab,:0123456789", max_size=8),
    lambda kids: st.lists(kids, max_size=4) | st.dictionaries(st.text(alphabet="[]{}k7", max_size=4), kids,
                                                                max_size=4),
    max_leaves=30)


@settings(max_examples=300, deadline=None)
@given(_plain_values)
def test_vectorised_prescan_equals_the_parsed_depth(value):
    """Without escapes the pre-scan takes its vectorised path (quotes toggle
    "inside a string"): brackets inside strings must not count."""
    from certify import _limits

    text = json.dumps(value)
    assert "\\" not in text
    assert _limits._text_depth(text) == _limits._depth(json.loads(text))


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="0123456789a-.\u0663", max_size=60))
def test_longest_digit_run_matches_a_regex_scan(text):
    import re

    from certify import _limits

    # \u0663 (ARABIC-INDIC THREE) is a Unicode digit: the non-ASCII path counts it like \d does
    expect = max((len(m) for m in re.findall(r"\d+", text)), default=0)
    assert _limits._longest_digit_run(text) == expect
