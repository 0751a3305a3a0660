"""Certificates as documented formats (issue 10, item 3): one JSON Schema
(Draft 2020-12) per kind and version, shipped in certify/schemas/; every
golden file and every freshly written document of each kind validates; the
checker validates the structure of every kind it reads before checking any
claim (an unknown field: exit 1, a missing field or a wrong type: malformed,
exit 2; one line naming the JSON path); ``certify schema KIND`` prints the
shipped file."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import jsonschema
import numpy as np
import pytest

import certify
from certify.check import _schema as S
from certify.cli import main

ROOT = Path(__file__).resolve().parents[1]
SCHEMAS = ROOT / "certify" / "schemas"
GOLDEN = ROOT / "tests" / "golden"
KINDS = ("gap-v2", "distance-v1", "flow-v1", "converge-v1", "conditions-v1")
BASE = "https://certify.invalid/schemas/"
ALIASES = {k.split("-v")[0]: k for k in KINDS}

# a balanced scalar-output problem with a deficiency margin c > 0: the conditions
# report then holds ACGH19's iteration counts and the bad-ray quantities
BALANCED = {"dims": [2, 2, 1], "loss": {"kind": "whitened", "target": [[1.0, 0.0]]},
            "init": {"weights": [[[0.9, 0.0], [0.0, 0.0]], [[0.9, 0.0]]]}}
SQUARE = {"dims": [3, 2, 1],
          "loss": {"kind": "square", "X": [[1.0, 0.5, -1.0, 0.25], [0.0, 1.0, 0.5, -0.5], [0.5, -0.25, 0.0, 1.0]],
                   "Y": [[1.0, -0.5, 0.25, 0.5]]},
          "init": {"weights": [[[0.5, 0.25, -0.5], [0.25, -0.5, 0.125]], [[0.75, 0.25]]]}}
VACUOUS = {"dims": [2, 2], "loss": {"kind": "whitened", "target": [[1.0, 0.5], [0.0, 2.0]]},
           "init": {"weights": [[[0.0, 0.0], [0.0, 0.0]]]}}


def _shipped(kind: str) -> dict:
    return json.loads((SCHEMAS / f"{kind}.json").read_text(encoding="utf-8"))


def _kind(doc: dict) -> str:
    return doc["schema"].removeprefix("certify/")


def _plain_errors(doc: dict) -> list:
    return list(jsonschema.Draft202012Validator(_shipped(_kind(doc))).iter_errors(doc))


# ---------------------------------------------------------------- the schemas themselves


@pytest.mark.parametrize("kind", KINDS)
def test_each_schema_is_a_valid_draft_2020_12_schema_with_id_title_and_description(kind):
    sch = _shipped(kind)
    jsonschema.Draft202012Validator.check_schema(sch)
    assert sch["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert sch["$id"] == f"{BASE}{kind}.json"
    assert sch["title"].startswith(f"certify/{kind}: ") and len(sch["description"]) > 80
    assert sch["properties"]["schema"] == {"const": f"certify/{kind}"}
    assert sch["type"] == "object" and sch["additionalProperties"] is False
    assert set(sch["required"]) <= set(sch["properties"]) and "schema" in sch["required"]


def _walk(x, path=()):
    """Every subschema, skipping the partial schemas of if/then/else and not
    (they refine a closed object, they do not define one)."""
    if isinstance(x, dict):
        yield path, x
        for k, v in x.items():
            if k in ("if", "then", "else", "not", "const", "enum"):
                continue
            yield from _walk(v, path + (k,))
    elif isinstance(x, list):
        for i, v in enumerate(x):
            yield from _walk(v, path + (i,))


@pytest.mark.parametrize("kind", KINDS)
def test_every_object_is_closed_and_every_reference_is_local(kind):
    for path, sub in _walk(_shipped(kind)):
        if "properties" in sub and path[-1:] != ("properties",):
            assert sub.get("additionalProperties") is False, (kind, path)
            assert set(sub.get("required", ())) <= set(sub["properties"]), (kind, path)
        ref = sub.get("$ref")
        if isinstance(ref, str):
            assert ref.startswith("#/$defs/"), (kind, path, ref)  # no other file, no network
        if path:  # only at the root (jsonschema switches validator classes where it meets one)
            assert "$schema" not in sub, (kind, path)


def test_converge_embeds_exactly_the_gap_v2_schema():
    gap = _shipped("gap-v2")
    conv = _shipped("converge-v1")
    assert conv["$defs"]["gap-v2"] == {k: v for k, v in gap.items() if k != "$schema"}
    assert conv["properties"]["gap"]["allOf"][0] == {"$ref": "#/$defs/gap-v2"}


def test_shared_definitions_are_the_same_in_every_schema():
    gap = _shipped("gap-v2")["properties"]
    for kind in ("distance-v1", "flow-v1", "conditions-v1"):
        defs = _shipped(kind)["$defs"]
        assert defs["problem"] == gap["problem"], kind
        assert defs["provenance"] == gap["provenance"], kind
    dist = _shipped("distance-v1")["properties"]
    assert dist["sxx"] == gap["sxx"]
    assert dist["runs"]["items"]["properties"]["refs"]["items"] == gap["refs"]["items"]
    hexes = gap["claims"]["properties"]["checkpoints"]["items"]["properties"]["theta_hex"]
    assert dist["runs"]["items"]["properties"]["checkpoints"]["items"]["properties"]["theta_hex"] == hexes
    assert dist["runs"]["items"]["properties"]["eta_hex"]["pattern"] == hexes["items"]["pattern"]
    flow = _shipped("flow-v1")["properties"]
    assert flow["steps"]["items"] == gap["flow"]["properties"]["steps"]["items"]


def test_the_producers_constants_are_the_schemas_constants():
    from certify.conditions import NAMES, SOURCES, STATUSES
    from certify.gap.distance import STATEMENT as DIST_STATEMENT

    from certify.check import STATEMENT as GAP_STATEMENT
    from certify.check._flowfile_check import CLAIM

    assert _shipped("gap-v2")["properties"]["claims"]["properties"]["statement"]["const"] == GAP_STATEMENT
    assert _shipped("distance-v1")["properties"]["claims"]["properties"]["statement"]["const"] == DIST_STATEMENT
    assert _shipped("flow-v1")["properties"]["claim"]["const"] == CLAIM
    cond = _shipped("conditions-v1")
    assert [h["$ref"].rsplit("/", 1)[1] for h in cond["properties"]["hypotheses"]["prefixItems"]] == list(NAMES)
    hyp = cond["$defs"]["hypothesis"]
    assert {h["properties"]["source"]["const"] for h in hyp.values()} == set(SOURCES)
    assert all(h["properties"]["status"]["enum"] == list(STATUSES) for h in hyp.values())


# ---------------------------------------------------------------- documents the tool writes


@pytest.mark.parametrize("name", sorted(p.name for p in GOLDEN.glob("*.json") if p.name != "ENV.json"))  # ENV.json: the BLAS kernel
def test_every_golden_file_validates(name):
    doc = json.loads((GOLDEN / name).read_text())
    assert not _plain_errors(doc), [e.message[:200] for e in _plain_errors(doc)[:3]]
    assert not list(S.validator(_kind(doc)).iter_errors(doc))  # the checker's accelerated validator agrees


def _write(tmp_path, name, obj):
    p = tmp_path / name
    p.write_text(json.dumps(obj))
    return str(p)


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    """One document of each kind written by the command line (and the API for the
    Arb flow file and the partial gap certificate)."""
    d = tmp_path_factory.mktemp("written")
    sq = _write(d, "square.json", SQUARE)
    cmds = {
        "gap": ["gap", "builtin:demo", "--eta", "0.01", "--steps", "40", "--every", "20"],
        "gap-square": ["gap", sq, "--eta", "0.02", "--steps", "30", "--every", "10"],
        "distance": ["distance", "builtin:demo", "--eta", "0.01", "--steps", "20", "--ratios", "2", "--every", "10"],
        "distance-square": ["distance", sq, "--eta", "0.02", "--steps", "10", "--ratios", "3", "--every", "5"],
        "flow": ["flow", "builtin:demo", "--t-end", "0.5", "--checkpoints", "2"],
        "flow-arb": ["flow", "builtin:demo", "--t-end", "0.125", "--checkpoints", "2", "--backend", "arb",
                     "--prec", "64"],
        "flow-arb53": ["flow", "builtin:saddle", "--t-end", "0.125", "--checkpoints", "1", "--backend", "arb",
                       "--prec", "53"],
        "converge": ["converge", "builtin:demo", "--eps", "0.5", "--eta", "0.01"],
    }
    out = {}
    for name, argv in cmds.items():
        path = d / f"{name}.json"
        assert main(argv + ["--out", str(path)]) == 0, name
        out[name] = json.loads(path.read_text())
    vac = _write(d, "vacuous.json", VACUOUS)
    path = d / "partial.json"
    assert main(["gap", vac, "--eta", "0.1", "--steps", "3000", "--every", "100", "--partial", "--out", str(path)]) == 4
    out["gap-partial"] = json.loads(path.read_text())
    assert "partial" in out["gap-partial"]
    return out


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    """certify conditions --json for a few problems (the report kind)."""
    import io
    from contextlib import redirect_stdout

    d = tmp_path_factory.mktemp("reports")
    bal = _write(d, "balanced.json", BALANCED)
    out = {}
    for name, argv in {
        "demo": ["builtin:demo"],
        "saddle": ["builtin:saddle"],
        "saddle-eta": ["builtin:saddle", "--eta", "0.01", "--t-end", "0.5"],
        "balanced": [bal, "--eta", "0.01", "--eps", "0.01", "--t-end", "0.5"],
        "balanced-no-eps": [bal, "--t-end", "0.5"],
    }.items():
        buf = io.StringIO()
        with redirect_stdout(buf):
            assert main(["conditions", *argv, "--json"]) == 0, name
        out[name] = json.loads(buf.getvalue())
    return out


def test_every_document_the_tool_writes_validates(written):
    kinds = set()
    for name, doc in written.items():
        kinds.add(_kind(doc))
        assert not _plain_errors(doc), (name, [e.message[:200] for e in _plain_errors(doc)[:3]])
        assert not list(S.validator(_kind(doc)).iter_errors(doc)), name
    assert kinds == {"gap-v2", "distance-v1", "flow-v1", "converge-v1"}
    assert written["flow-arb"]["center_encoding"].startswith("exact decimal")
    assert written["distance-square"]["sxx"] is not None


def test_conditions_reports_validate(reports):
    seen = {}
    for name, doc in reports.items():
        assert doc["schema"] == "certify/conditions-v1"
        assert not _plain_errors(doc), (name, [e.message[:200] for e in _plain_errors(doc)[:3]])
        assert not list(S.validator("conditions-v1").iter_errors(doc)), name
        for h in doc["hypotheses"]:
            seen.setdefault(h["name"], set()).update(h["quantities"])
    # the reports exercise every quantity the schema names
    for name, q in _shipped("conditions-v1")["$defs"]["quantities"].items():
        assert set(q["properties"]) == seen[name], name


def test_the_api_returns_a_fresh_copy_of_the_shipped_schema():
    for alias, kind in ALIASES.items():
        assert certify.schema(alias) == certify.schema(kind) == certify.schema(f"certify/{kind}") == _shipped(kind)
    a = certify.schema("gap")
    a["properties"].clear()
    assert certify.schema("gap") == _shipped("gap-v2")
    with pytest.raises(certify.UsageError, match="unknown schema kind"):
        certify.schema("gap-v9")
    assert "schema" in certify.__all__


# ---------------------------------------------------------------- structurally invalid documents


def _at(path):
    def get(d):
        for k in path:
            d = d[k]
        return d
    return get


def _add(path, key, value):
    return lambda d: _at(path)(d).__setitem__(key, value)


def _drop(path, key):
    return lambda d: _at(path)(d).pop(key)


# kind -> (source document, [(what, mutation, expected exit code, text naming the place)])
MUTATIONS = {
    "gap": [
        ("unknown key", _add(["claims", "checkpoints", 1], "gap_upper_strict", 0.0), 1,
         "certificate.claims.checkpoints[1]: unknown field(s) 'gap_upper_strict'"),
        ("unknown top-level key", _add([], "comment", "x"), 1, "certificate: unknown field(s) 'comment'"),
        ("missing key", _drop(["refs", 0], "G_norm2"), 2, "certificate.refs[0]: malformed ('G_norm2' is a required"),
        ("wrong type", _add(["segments", 5], "round", "1e-16"), 2, "certificate.segments[5].round: malformed"),
    ],
    "distance": [
        ("unknown key", _add(["runs", 0, "segments", 3], "rho", 1.0), 1,
         "certificate.runs[0].segments[3]: unknown field(s) 'rho'"),
        ("missing key", _drop(["runs", 1, "checkpoints", 0], "r"), 2,
         "certificate.runs[1].checkpoints[0]: malformed ('r' is a required"),
        ("wrong type", _add(["runs", 0], "steps", "20"), 2, "certificate.runs[0].steps: malformed"),
    ],
    "flow": [
        ("unknown key", _add(["steps", 0], "mu_strict", 0.0), 1, "certificate.steps[0]: unknown field(s) 'mu_strict'"),
        ("missing key", _drop(["checkpoints", 1], "radius"), 2,
         "certificate.checkpoints[1]: malformed ('radius' is a required"),
        ("wrong type", _add(["checkpoints", 1, "center"], 0, "0.5"), 2, "certificate.checkpoints[1].center[0]: malformed"),
    ],
    "converge": [
        ("unknown key", _add(["claims"], "gd_loss_upper_any_k", 0.0), 1,
         "certificate.claims: unknown field(s) 'gd_loss_upper_any_k'"),
        ("unknown key in the gap", _add(["gap", "flow", "evals", 0], "t_exact", "0"), 1,
         "certificate.gap.flow.evals[0]: unknown field(s) 't_exact'"),
        ("missing key", _drop(["claims"], "ball_radius"), 2, "certificate.claims: malformed ('ball_radius' is a required"),
        ("wrong type", _add([], "K", 1.5), 2, "certificate.K: malformed"),
    ],
}
CASES = [(kind, what) for kind, muts in MUTATIONS.items() for what, *_ in muts]


@pytest.mark.parametrize("kind,what", CASES, ids=[f"{k}-{w.replace(' ', '-')}" for k, w in CASES])
def test_structurally_invalid_files_are_rejected_by_the_checker_and_by_jsonschema(kind, what, written, tmp_path,
                                                                                  capsys):
    (mutate, rc, where), = [m[1:] for m in MUTATIONS[kind] if m[0] == what]
    bad = copy.deepcopy(written[kind])
    mutate(bad)
    assert _plain_errors(bad)
    path = _write(tmp_path, "bad.json", bad)
    capsys.readouterr()
    assert main(["check", path]) == rc
    cap = capsys.readouterr()
    text = cap.out if rc == 1 else cap.err
    assert text.count("\n") == 1 and "Traceback" not in text, text
    assert where in text, text
    assert (cap.out if rc == 2 else cap.err) == ""


@pytest.mark.parametrize("what,mutate", [
    ("unknown key", _add(["hypotheses", 2, "quantities"], "delta_min", 0.0)),
    ("unknown hypothesis field", _add(["hypotheses", 0], "verdict", "holds")),
    ("missing key", _drop(["inputs"], "eta")),
    ("wrong type", _add([], "horizon", "1")),
    ("wrong status", _add(["hypotheses", 4], "status", "probably")),
    ("reordered hypotheses", lambda d: d["hypotheses"].reverse()),
])
def test_invalid_conditions_reports_are_rejected_by_jsonschema(what, mutate, reports):
    bad = copy.deepcopy(reports["demo"])
    mutate(bad)
    assert _plain_errors(bad), what
    assert list(S.validator("conditions-v1").iter_errors(bad)), what


def test_a_flow_file_must_use_the_encoding_its_precision_implies(written):
    bad = copy.deepcopy(written["flow"])
    bad["center_encoding"] = written["flow-arb"]["center_encoding"]
    assert _plain_errors(bad)
    bad = copy.deepcopy(written["flow-arb"])
    bad["checkpoints"][1]["center"][0] = 0.5  # a number where prec > 53 writes exact decimal strings
    assert _plain_errors(bad)
    bad = copy.deepcopy(written["flow"])
    bad["prec"] = 64  # float64 has 53 bits
    assert _plain_errors(bad)


@pytest.mark.parametrize("kind", ["distance", "flow"])
def test_the_fast_validator_agrees_with_plain_jsonschema_on_the_new_kinds(kind, written):
    """The checker's fast path for long arrays changes speed, not verdicts."""
    doc = written[kind]
    plain = jsonschema.Draft202012Validator(_shipped(_kind(doc)))
    fast = S.validator(_kind(doc))
    rng = np.random.default_rng(1)
    values = [None, True, 0, -1, 1.5, -0.5, "x", "0x1.8p+0", "1/2", "0.25", [], {}, [1.0]]
    if kind == "distance":
        places = [["runs", 0, "segments", 3], ["runs", 1, "refs", 0], ["runs", 1, "checkpoints", 1],
                  ["claims", "runs", 1, "points", 1], ["runs", 0]]
    else:
        places = [["steps", 1], ["checkpoints", 1], ["checkpoints", 2], []]
    for _ in range(120):
        bad = copy.deepcopy(doc)
        obj = _at(places[rng.integers(len(places))])(bad)
        key = sorted(obj)[rng.integers(len(obj))]
        if isinstance(obj[key], list) and obj[key] and rng.integers(2):
            obj[key][int(rng.integers(len(obj[key])))] = values[rng.integers(len(values))]
        else:
            obj[key] = values[rng.integers(len(values))]
        assert plain.is_valid(bad) == (not list(fast.iter_errors(bad))), (key, obj.get(key))


# ---------------------------------------------------------------- certify schema KIND


@pytest.mark.parametrize("name", sorted(set(KINDS) | set(ALIASES)))
def test_certify_schema_prints_the_shipped_file(name, capsys):
    capsys.readouterr()
    assert main(["schema", name]) == 0
    out = capsys.readouterr().out
    kind = ALIASES.get(name, name)
    assert out == (SCHEMAS / f"{kind}.json").read_text(encoding="utf-8")
    assert json.loads(out) == _shipped(kind)


def test_certify_schema_list_and_unknown_kinds(capsys):
    capsys.readouterr()
    assert main(["schema", "--list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [ln.split()[0] for ln in lines] == list(KINDS)
    for argv in (["schema", "gap-v9"], ["schema", "certificate"], ["schema"], ["schema", "gap", "--list"]):
        assert main(argv) == 2, argv
        cap = capsys.readouterr()
        assert cap.out == "" and cap.err.count("\n") == 1 and cap.err.startswith("certify: error: "), (argv, cap.err)


def test_the_schemas_and_their_contracts_are_documented():
    readme = (SCHEMAS / "README.md").read_text(encoding="utf-8")
    for kind in KINDS:
        assert f"certify/{kind}" in readme and f"{kind}.json" in readme, kind
    for md in SCHEMAS.glob("*.md"):
        if md.name != "README.md":
            assert md.name in readme, md.name
