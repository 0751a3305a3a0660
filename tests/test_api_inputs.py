"""One input convention (issue 10): every API entry point takes a problem-like
(a ``Problem``, ``builtin:NAME``, a path or a dict) and gives the same result."""

import json

import pytest

import certify
from certify import dumps_json

SPEC = certify.load_problem("builtin:demo").to_json()


@pytest.fixture(params=["name", "dict", "path", "problem"])
def problem_like(request, tmp_path):
    if request.param == "name":
        return "builtin:demo"
    if request.param == "dict":
        return dict(SPEC)
    if request.param == "path":
        p = tmp_path / "demo.json"
        p.write_text(json.dumps(SPEC))
        return str(p)
    return certify.load_problem("builtin:demo")


def _strip(doc):
    doc = dict(doc)
    doc.pop("provenance", None)
    doc["problem"] = {k: v for k, v in doc["problem"].items() if k != "name"}
    return dumps_json(doc)


def test_every_entry_point_takes_a_problem_like(problem_like):
    ref = certify.load_problem("builtin:demo")
    assert certify.run_gd(problem_like, 0.01, 20, every=20).losses == certify.run_gd(ref, 0.01, 20, every=20).losses
    assert _strip(certify.certify_gap(problem_like, 0.01, 20).to_json()) == _strip(certify.certify_gap(ref, 0.01, 20).to_json())
    a = certify.enclose_flow(problem_like, 0.2, checkpoints=2).checkpoints[-1]
    b = certify.enclose_flow(ref, 0.2, checkpoints=2).checkpoints[-1]
    assert (a.radius, list(a.center)) == (b.radius, list(b.center))
    d = certify.certify_distance(problem_like, 0.01, 20, (2,))
    assert d.max_dist_upper == certify.certify_distance(ref, 0.01, 20, (2,)).max_dist_upper
    tr = certify.translate(problem_like, eps=0.2, eta=0.01)
    assert tr.outcome is certify.translate(ref, eps=0.2, eta=0.01).outcome, tr.reason


def test_a_bad_problem_like_is_one_problem_error():
    for bad in ("builtin:nope", "/nonexistent/problem.json", {"dims": [2]}):
        with pytest.raises(certify.ProblemError):
            certify.run_gd(bad, 0.01, 5)
        with pytest.raises(certify.ProblemError):
            certify.certify_gap(bad, 0.01, 5)
