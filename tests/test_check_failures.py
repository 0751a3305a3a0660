"""certify check reports every failing claim, not only the first (issue 10).

A certificate with k independently falsified numbers yields exactly those k
failures, each naming its JSON path, in document order; structural problems
(unreadable, malformed, the wrong problem, which steps and checkpoints there
are) still stop the check at once with the exit code of today; at most
``CAP`` failures are listed, then a line counting the rest.

The falsified numbers are *leaf* claims (nothing else is derived from them),
so that each gives one failure; an input of a recursion also makes the next
derived claim inconsistent (``test_a_falsified_recursion_input_also_fails_its_replay``).
"""

from __future__ import annotations

import copy
import json

import pytest

import certify
from certify import problem_from_dict
from certify.certificates.writing import dumps_json  # as the tool writes its files (keys sorted
from certify.check import CAP, check_certificate, format_report
from certify.check._report import Tally, doc_position
from certify.cli import main

SPEC = {
    "dims": [2, 3, 2],
    "loss": {"kind": "whitened", "target": [[1.0, 0.5], [-0.25, 0.75]]},
    "init": {"weights": [[[0.5, -0.25], [0.125, 0.375], [-0.5, 0.25]], [[0.25, 0.5, -0.125], [0.375, -0.25, 0.5]]]},
}


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """``certify gap builtin:demo --eta 0.01 --steps 200 --every 50``, as written by the CLI."""
    out = tmp_path_factory.mktemp("gap") / "gap.json"
    assert main(["gap", "builtin:demo", "--eta", "0.01", "--steps", "200", "--every", "50", "--out", str(out)]) == 0
    return json.loads(out.read_text())


def _paths(rep):
    return [f.split(":", 1)[0] for f in rep.failures]


def _smallest_upper(cps, key):
    """Index of the checkpoint with the smallest positive ``key`` (lowering it cannot change the maximum)."""
    return min((i for i, c in enumerate(cps) if c[key] > 1e-300), key=lambda i: cps[i][key])


def _falsify_three(doc):
    """Two checkpoints' gap_upper (neither the largest) halved, one segment's gdiff set to 0."""
    cps = doc["claims"]["checkpoints"]
    top = max(range(len(cps)), key=lambda i: cps[i]["gap_upper"])
    i, j = [i for i in range(1, len(cps)) if i != top][:2]
    cps[j]["gap_upper"] *= 0.5
    cps[i]["gap_upper"] *= 0.5
    doc["segments"][120]["gdiff"] = 0.0  # the checker's own bound is > 0 (G's rounding at least)
    return [f"claims.checkpoints[{i}].gap_upper", f"claims.checkpoints[{j}].gap_upper", "segments[120].gdiff"]


def test_a_valid_certificate_has_no_failures(demo):
    rep = check_certificate(copy.deepcopy(demo))
    assert rep.valid and rep.failures == [] and rep.n_failures == 0
    assert rep.checked > 2000


def test_three_falsified_numbers_give_three_failures_in_document_order(demo):
    bad = copy.deepcopy(demo)
    want = _falsify_three(bad)
    rep = check_certificate(bad)
    assert not rep.valid
    # document order: claims before segments, although the checker replays the segments first
    assert _paths(rep) == want, rep.failures
    assert rep.n_failures == 3
    assert "claimed" in rep.failures[0] and "< replayed" in rep.failures[0]
    assert check_certificate(copy.deepcopy(bad)).failures == rep.failures  # deterministic
    assert rep.checked == check_certificate(copy.deepcopy(demo)).checked  # every claim still evaluated


def test_a_falsified_recursion_input_also_fails_its_replay(demo):
    """``segments[120].round`` is an input of the S4.5 recursion: the claimed
    ``r`` of that segment, replayed from the lowered ``round``, is inconsistent
    too (the next segment replays from the claimed ``r`` and agrees)."""
    bad = copy.deepcopy(demo)
    bad["segments"][120]["round"] *= 0.3
    rep = check_certificate(bad)
    assert _paths(rep) == ["segments[120].r", "segments[120].round"], rep.failures  # keys in file order
    assert "inconsistent with the replayed value" in rep.failures[0]


def test_cli_summary_is_one_line_and_verbose_lists_all(demo, tmp_path, capsys):
    bad = copy.deepcopy(demo)
    want = _falsify_three(bad)
    f = tmp_path / "bad.json"
    f.write_text(json.dumps(bad))
    capsys.readouterr()
    assert main(["check", str(f)]) == 1
    out = capsys.readouterr().out
    assert out.count("\n") == 1
    assert out.startswith(f"INVALID: {want[0]}: ") and "(and 2 more; certify check --verbose lists them)" in out
    assert main(["check", "--verbose", str(f)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(f"INVALID: {want[0]}: ") and "(and 2 more; listed below)" in lines[0]
    assert [ln.strip().split(":", 1)[0] for ln in lines[1:]] == want


def test_one_failure_summary_is_as_before(demo):
    bad = copy.deepcopy(demo)
    bad["claims"]["checkpoints"][-1]["gap_upper"] *= 0.5
    rep = check_certificate(bad)
    assert rep.n_failures == 1
    assert format_report(rep) == f"INVALID: {rep.failures[0]}"


def test_structure_still_stops_at_once(demo, tmp_path, capsys):
    # which segments there are: exit 1 with that one failure, as before
    bad = copy.deepcopy(demo)
    bad["claims"]["checkpoints"][2]["gap_upper"] *= 0.5
    bad["segments"].pop()
    rep = check_certificate(bad)
    assert rep.failures == ["segments: 199 entries for 200 steps"]
    # malformed (zero denominator), a seeded problem, an unknown schema: exit 2 whatever else is false
    for edit in (lambda d: d["flow"]["steps"][0].__setitem__("t0", "1/0"),
                 lambda d: d["problem"].__setitem__("init", {"scheme": "balanced", "scale": 0.5, "seed": 1}),
                 lambda d: d.__setitem__("schema", "certify/gap-v9")):
        bad = copy.deepcopy(demo)
        bad["claims"]["checkpoints"][2]["gap_upper"] *= 0.5
        edit(bad)
        f = tmp_path / "bad.json"
        f.write_text(json.dumps(bad))
        capsys.readouterr()
        assert main(["check", str(f)]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "Traceback" not in err, err


def test_a_structural_stop_after_failures_is_listed_last(demo, tmp_path, capsys):
    """The GD part is replayed before the flow: failures found there are kept,
    the structural problem met afterwards ends the check (exit 1, not 2: the
    certificate is already refused) and is listed last."""
    for edit, stop in ((lambda d: d["flow"]["evals"][1].__setitem__("k", 49), "flow.evals: one evaluation"),
                       (lambda d: d["flow"]["steps"][0].__setitem__("t0", "1/0"), "flow.steps[0].t0: zero denominator")):
        bad = copy.deepcopy(demo)
        bad["segments"][10]["gdiff"] = 0.0
        bad["segments"][30]["gdiff"] = 0.0
        bad["claims"]["checkpoints"][2]["gap_upper"] *= 0.5  # never reached
        edit(bad)
        rep = check_certificate(bad)
        assert _paths(rep)[:2] == ["segments[10].gdiff", "segments[30].gdiff"], rep.failures
        assert len(rep.failures) == 3 and rep.failures[2].startswith(stop), rep.failures
        assert rep.failures[2].endswith("(checking stopped here)")
        f = tmp_path / "bad.json"
        f.write_text(json.dumps(bad))
        assert main(["check", str(f)]) == 1


def test_the_number_of_listed_failures_is_capped(demo, capsys, tmp_path):
    bad = copy.deepcopy(demo)
    for s in bad["segments"]:
        s["gdiff"] = 0.0
    rep = check_certificate(bad)
    gdiff = [s["k"] for s in demo["segments"]]
    assert len(gdiff) > CAP
    assert rep.n_failures == len(gdiff)
    assert len(rep.failures) == CAP + 1
    assert _paths(rep)[:CAP] == [f"segments[{k}].gdiff" for k in gdiff[:CAP]]
    assert rep.failures[-1].startswith(f"... and {len(gdiff) - CAP} more failing claims")
    f = tmp_path / "bad.json"
    f.write_text(json.dumps(bad))
    capsys.readouterr()
    assert main(["check", "-v", str(f)]) == 1
    assert len(capsys.readouterr().out.splitlines()) == CAP + 2


def test_tally_keeps_the_first_in_document_order_with_bounded_memory():
    doc = {"a": [0] * 1000, "b": {"x": 1, "y": 2}}
    t = Tally(doc, cap=3)
    for i in range(999, -1, -1):
        t.fail(f"a[{i}]: false")
        assert len(t._kept) <= 2 * 3 + 64
    t.fail("b.y: false")
    t.fail("b.x: false")
    assert t.failures() == ["a[0]: false", "a[1]: false", "a[2]: false",
                            "... and 999 more failing claims (the first 3 in document order are listed)"]
    assert t.count == 1002
    assert doc_position(doc, "b.y") > doc_position(doc, "b.x") > doc_position(doc, "a[999]") > doc_position(doc, "a")
    assert doc_position(doc, "b.z") > doc_position(doc, "b.y") and doc_position(doc, "") == ()


def test_distance_certificate_lists_every_failure():
    doc = json.loads(dumps_json(certify.certify_distance(problem_from_dict(SPEC), 0.05, 20, (2,), every=5).to_json()))
    assert check_certificate(copy.deepcopy(doc)).valid
    pts = doc["claims"]["runs"][1]["points"]
    j = _smallest_upper(pts, "dist_upper")
    pts[j]["dist_upper"] *= 1 - 1e-6
    doc["runs"][0]["segments"][5]["gdiff"] = 0.0
    doc["runs"][1]["checkpoints"][1]["theta_hex"][0] = (float.fromhex(doc["runs"][1]["checkpoints"][1]["theta_hex"][0])
                                                        * (1 + 1e-6) + 1e-12).hex()
    rep = check_certificate(doc)
    assert list(doc).index("claims") < list(doc).index("runs")
    assert _paths(rep) == [f"claims.runs[1].points[{j}].dist_upper", "runs[0].segments[5].gdiff",
                           "runs[1].checkpoints[1].theta_hex"], rep.failures


def test_flow_file_lists_every_failure():
    prob = certify.load_problem("builtin:demo")
    doc = json.loads(dumps_json(certify.flow_to_json(certify.enclose_flow(prob, 1.0, checkpoints=4, slack=1.0))))
    assert check_certificate(copy.deepcopy(doc)).valid
    doc["checkpoints"][1]["radius"] *= 0.5
    doc["checkpoints"][3]["radius"] *= 0.5
    doc["steps"][2]["jump"] /= 4  # an input of e0 of the next step: that replay fails too
    rep = check_certificate(doc)
    assert _paths(rep) == ["checkpoints[1].radius", "checkpoints[3].radius", "steps[2].jump", "steps[3].e0"], \
        rep.failures


def test_converge_certificate_names_the_embedded_gap_claims():
    from certify._converge import translate

    spec = {"dims": [2, 2, 2], "loss": {"kind": "whitened", "target": [[1.0, 0.5], [-0.25, 0.75]]},
            "init": {"weights": [[[0.5, 0.1], [0.2, 0.4]], [[0.3, -0.2], [0.1, 0.6]]]}}
    tr = translate(certify.load_problem(spec), 0.1, 0.01)
    assert tr.certified, tr.reason
    res = tr.result
    doc = json.loads(dumps_json(res.to_json()))
    assert check_certificate(copy.deepcopy(doc)).valid
    doc["gap"]["segments"][3]["gdiff"] = 0.0
    doc["claims"]["gf_loss_upper"] *= 0.5
    rep = check_certificate(doc)
    assert _paths(rep) == ["claims.gf_loss_upper", "gap.segments[3].gdiff"], rep.failures
