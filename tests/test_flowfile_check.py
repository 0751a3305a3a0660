"""certify check reads certify/flow-v1 files (issue 13): every step's claims
re-derived by the checker's own Taylor models and curvature bounds, every
written ball's center recomputed and its radius replayed; tampering is
rejected; Arb enclosures are refused as not checkable (exit 2)."""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest

import certify
from certify.check import check_certificate
from certify.cli import main

SQUARE = {
    "dims": [3, 2, 2, 1],
    "loss": {"kind": "square", "X": [[1.0, 0.5, -1.0, 0.25], [0.0, 1.0, 0.5, -0.5], [0.5, -0.25, 0.0, 1.0]],
             "Y": [[1.0, -0.5, 0.25, 0.5]]},
    "init": {"weights": [[[0.5, 0.25, -0.5], [0.25, -0.5, 0.125]], [[0.75, 0.25], [-0.25, 0.5]], [[0.5, -0.375]]]},
}


def _doc(spec_or_name, T=1.0, **kw):
    prob = certify.load_problem(spec_or_name)
    return json.loads(json.dumps(certify.flow_to_json(certify.enclose_flow(prob, T, checkpoints=4, slack=1.0, **kw))))


@pytest.mark.parametrize("src", ["builtin:demo", "builtin:saddle", SQUARE], ids=["demo", "saddle", "square"])
def test_flow_files_the_tool_writes_check(src):
    rep = check_certificate(_doc(src))
    assert rep.valid, rep.failures


EDITS = [
    ("radius", lambda d: d["checkpoints"][2].__setitem__("radius", d["checkpoints"][2]["radius"] * 0.5)),
    ("center", lambda d: d["checkpoints"][3]["center"].__setitem__(0, float(np.nextafter(d["checkpoints"][3]["center"][0], 9.0)))),
    ("delta", lambda d: d["steps"][3].__setitem__("delta", d["steps"][3]["delta"] / 4)),
    ("mu", lambda d: d["steps"][2].__setitem__("mu", d["steps"][2]["mu"] / 2)),
    ("jump", lambda d: d["steps"][1].__setitem__("jump", d["steps"][1]["jump"] / 4)),
    ("e1", lambda d: d["steps"][4].__setitem__("e1", d["steps"][4]["e1"] / 2)),
    ("dropped step", lambda d: d["steps"].pop(3)),
    ("claim", lambda d: d.__setitem__("claim", d["claim"] + " for all t")),
]


@pytest.mark.parametrize("name,edit", EDITS, ids=[e[0] for e in EDITS])
def test_tampered_flow_files_are_rejected(name, edit):
    doc = _doc("builtin:demo")
    bad = copy.deepcopy(doc)
    edit(bad)
    assert not check_certificate(bad).valid


def test_arb_flow_files_are_refused_with_one_line(tmp_path, capsys):
    out = tmp_path / "a.json"
    assert main(["flow", "builtin:demo", "--t-end", "0.5", "--backend", "arb", "--prec", "64", "--out", str(out)]) == 0
    capsys.readouterr()
    assert main(["check", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--backend float64" in err
