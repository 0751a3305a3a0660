"""Hostile input, fuzzed (issue 9 item 3): the problem reader, every CLI command
and ``certify check`` get malformed, truncated, NaN/inf, wrong-type and
adversarial JSON and TOML, hostile option values, and certificates edited in
coordinated ways (segments dropped, reordered or duplicated, checkpoints
duplicated, fields retyped, numbers respelled, files truncated).

Every case must end with exit 0, 1, 2 or 4 (never 3, the internal-error code),
never a traceback, an error in exactly one line on stderr, and no partial or
temporary file left behind.  ``CERTIFY_HYPOTHESIS_PROFILE=campaign`` raises
the example counts 50x."""

from __future__ import annotations

import contextlib
import io
import json
import os
import random
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import certify
from certify.cli import main

CAMPAIGN = os.environ.get("CERTIFY_HYPOTHESIS_PROFILE") == "campaign"


def fuzz(n: int):
    return settings(max_examples=n * (50 if CAMPAIGN else 1), deadline=None, derandomize=not CAMPAIGN,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                           HealthCheck.data_too_large])


SMALL = {"dims": [2, 2, 2], "loss": {"kind": "whitened", "target": [[1.0, 0.5], [0.0, 1.0]]},
         "init": {"weights": [[[0.5, 0.1], [0.0, 0.4]], [[0.3, 0.0], [0.2, 0.6]]]}}
SQUARE = {"dims": [2, 2, 1], "loss": {"kind": "square", "X": [[1.0, 0.0, 0.5], [0.0, 1.0, 0.25]], "Y": [[1.0, 0.0, 0.5]]},
          "init": {"scheme": "gaussian", "scale": 0.3, "seed": 1}}


def run(argv) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in argv])
    return code, out.getvalue(), err.getvalue()


def assert_clean(code: int, err: str, folder: Path, allowed=(0, 1, 2, 4), out: str = ""):
    assert code in allowed, (code, err)
    assert "Traceback" not in err + out, err
    if code == 1 and not err:  # certify check: the verdict line on stdout
        assert out.startswith("INVALID: ") and out.count("\n") == 1, out
    elif code != 0:
        lines = [ln for ln in err.splitlines() if ln.strip()]
        assert len(lines) == 1, err
    leftovers = [p.name for p in folder.iterdir() if p.name.endswith(".tmp") or p.name.startswith(".")]
    assert not leftovers, leftovers
    for p in folder.glob("*.json"):
        if p.name not in ("problem.json", "problem.toml", "cert.json"):
            json.loads(p.read_text())  # every output file is complete JSON


# ---------------------------------------------------------------------------
# problem files: mutated JSON text, JSON values of any shape, TOML
# ---------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10**30, 10**30) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=12)

HOSTILE_NUMBERS = ["NaN", "Infinity", "-Infinity", "1e999", "-1e999", "1e-400", "0", "-0.0", "1" + "0" * 400,
                   '"1.0"', "true", "null", "[]", "{}", "0x10"]


def _mutate_text(text: str, rnd: random.Random) -> str:
    ops = rnd.randint(1, 3)
    for _ in range(ops):
        kind = rnd.randrange(5)
        if kind == 0 and text:  # truncate
            text = text[: rnd.randrange(len(text))]
        elif kind == 1 and text:  # delete a span
            i = rnd.randrange(len(text))
            text = text[:i] + text[i + rnd.randint(1, 6):]
        elif kind == 2:  # insert a hostile token
            i = rnd.randrange(len(text) + 1)
            text = text[:i] + rnd.choice(HOSTILE_NUMBERS + [",", "]", "}", "[", "{", ":", '"', "\\u0000"]) + text[i:]
        elif kind == 3:  # replace a number by a hostile one
            import re

            nums = list(re.finditer(r"-?\d+(\.\d+)?([eE][-+]?\d+)?", text))
            if nums:
                m = rnd.choice(nums)
                text = text[: m.start()] + rnd.choice(HOSTILE_NUMBERS) + text[m.end():]
        else:  # duplicate a span
            if text:
                i = rnd.randrange(len(text))
                text = text[:i] + text[i: i + 12] + text[i:]
    return text


def _edit_spec(spec: dict, rnd: random.Random, value) -> dict:
    """Put ``value`` at a random path of a deep copy of ``spec``."""
    doc = json.loads(json.dumps(spec))
    node = doc
    for _ in range(rnd.randint(1, 5)):
        if isinstance(node, dict) and node:
            k = rnd.choice(sorted(node))
            if rnd.random() < 0.3 or not isinstance(node[k], (dict, list)):
                node[k] = value
                return doc
            node = node[k]
        elif isinstance(node, list) and node:
            i = rnd.randrange(len(node))
            if rnd.random() < 0.3 or not isinstance(node[i], (dict, list)):
                node[i] = value
                return doc
            node = node[i]
    return doc


COMMANDS = [
    lambda f, o: ["derive", f, "--eval", "--json"],
    lambda f, o: ["gap", f, "--eta", "0.01", "--steps", "20", "--out", o / "gap.json"],
    lambda f, o: ["flow", f, "--t-end", "0.2", "--checkpoints", "2", "--out", o / "flow.json"],
    lambda f, o: ["distance", f, "--eta", "0.01", "--steps", "10", "--ratios", "2", "--out", o / "dist.json"],
    lambda f, o: ["conditions", f, "--eta", "0.01", "--eps", "0.5", "--t-end", "0.2"],
    lambda f, o: ["converge", f, "--eps", "0.5", "--eta", "0.01", "--out", o / "conv.json"],
    lambda f, o: ["curvature", f, "--t-end", "0.2"],
]


@fuzz(25)
@given(seed=st.integers(0, 2**32 - 1), which=st.integers(0, len(COMMANDS) - 1), base=st.sampled_from([SMALL, SQUARE]))
def test_mutated_problem_text_never_crashes(tmp_path_factory, seed, which, base):
    rnd = random.Random(seed)
    d = tmp_path_factory.mktemp("fz")
    f = d / "problem.json"
    f.write_text(_mutate_text(json.dumps(base), rnd))
    code, _, err = run(COMMANDS[which](f, d))
    assert_clean(code, err, d)


@fuzz(25)
@given(seed=st.integers(0, 2**32 - 1), value=json_values, which=st.integers(0, len(COMMANDS) - 1),
       base=st.sampled_from([SMALL, SQUARE]))
def test_problem_fields_of_any_type_never_crash(tmp_path_factory, seed, value, which, base):
    d = tmp_path_factory.mktemp("fz")
    f = d / "problem.json"
    f.write_text(json.dumps(_edit_spec(base, random.Random(seed), value)))
    code, _, err = run(COMMANDS[which](f, d))
    assert_clean(code, err, d)


@fuzz(15)
@given(seed=st.integers(0, 2**32 - 1))
def test_mutated_toml_problems_never_crash(tmp_path_factory, seed):
    d = tmp_path_factory.mktemp("fz")
    text = ('dims = [2, 2, 2]\n[loss]\nkind = "whitened"\ntarget = [[1.0, 0.5], [0.0, 1.0]]\n'
            '[init]\nscheme = "gaussian"\nscale = 0.3\nseed = 4\n')
    f = d / "problem.toml"
    f.write_text(_mutate_text(text, random.Random(seed)))
    code, _, err = run(["gap", f, "--eta", "0.01", "--steps", "10", "--out", d / "gap.json"])
    assert_clean(code, err, d)


# ---------------------------------------------------------------------------
# hostile option values for every command
# ---------------------------------------------------------------------------

OPTION_VALUES = ["0", "-1", "nan", "inf", "-inf", "1e308", "1e-320", "abc", "", "10000000000000000000000", "2.5",
                 "1,2", "0x10", "-0"]
ARGVS = [
    ["gap", "builtin:demo", "--eta", None, "--steps", "10", "--out", "{d}/g.json"],
    ["gap", "builtin:demo", "--eta", "0.01", "--steps", None, "--out", "{d}/g.json"],
    ["gap", "builtin:demo", "--eta", "0.01", "--steps", "10", "--every", None, "--out", "{d}/g.json"],
    ["flow", "builtin:demo", "--t-end", None, "--out", "{d}/f.json"],
    ["flow", "builtin:demo", "--t-end", "0.1", "--checkpoints", None, "--out", "{d}/f.json"],
    ["flow", "builtin:demo", "--t-end", "0.1", "--backend", "arb", "--prec", None, "--out", "{d}/f.json"],
    ["distance", "builtin:demo", "--eta", "0.01", "--steps", "10", "--ratios", None, "--out", "{d}/d.json"],
    ["converge", "builtin:demo", "--eps", None, "--eta", "0.01", "--out", "{d}/c.json"],
    ["conditions", "builtin:demo", "--eta", None],
    ["conditions", "builtin:demo", "--eps", None],
    ["curvature", "builtin:demo", "--t-end", None],
    ["smallstep", "--eps", None],
    ["derive", "--dims", None],
    ["demo", "--eta", None, "--out-dir", "{d}/demo"],
    ["schema", None],
    ["experiment", "paper", "--steps", None, "--out-dir", "{d}/exp"],
    ["experiment", "paper", "--ratios", None, "--steps", "5", "--out-dir", "{d}/exp"],
    ["sweep", None, "--out-dir", "{d}/sw"],
    ["check", None],
]


@fuzz(40)
@given(i=st.integers(0, len(ARGVS) - 1), value=st.sampled_from(OPTION_VALUES))
def test_hostile_option_values_never_crash(tmp_path_factory, i, value):
    d = tmp_path_factory.mktemp("fz")
    argv = [value if a is None else a.replace("{d}", str(d)) for a in ARGVS[i]]
    if argv[0] in ("experiment", "demo") and value not in ("0", "-1", "nan", "inf", "-inf", "abc", "", "1e-320",
                                                          "1e308", "10000000000000000000000", "0x10", "-0", "1,2"):
        return  # a valid value would start a full run
    code, _, err = run(argv)
    assert_clean(code, err, d)


# ---------------------------------------------------------------------------
# certificates edited in coordinated ways
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    d = tmp_path_factory.mktemp("certs")
    out = {}
    for name, argv in {
        "gap": ["gap", "builtin:demo", "--eta", "0.01", "--steps", "60", "--every", "20", "--out", d / "gap.json"],
        "square": ["gap", "builtin:diabetes", "--eta", "0.01", "--steps", "30", "--every", "10", "--out", d / "sq.json"],
        "distance": ["distance", "builtin:demo", "--eta", "0.01", "--steps", "20", "--ratios", "2", "--every", "10",
                     "--out", d / "dist.json"],
        "converge": ["converge", "builtin:demo", "--eps", "0.05", "--eta", "0.01", "--out", d / "conv.json"],
    }.items():
        code, _, err = run(argv)
        assert code == 0, err
        out[name] = json.loads(Path(argv[-1]).read_text())
    return out


def _lists_of_dicts(doc, path=()):
    """Paths of every list of objects (segments, refs, checkpoints, steps, evals ...)."""
    if isinstance(doc, dict):
        for k, v in doc.items():
            yield from _lists_of_dicts(v, path + (k,))
    elif isinstance(doc, list):
        if doc and all(isinstance(x, dict) for x in doc):
            yield path
        for i, v in enumerate(doc):
            if isinstance(v, (dict, list)):
                yield from _lists_of_dicts(v, path + (i,))


def _get(doc, path):
    for p in path:
        doc = doc[p]
    return doc


def _coordinated_edit(doc: dict, rnd: random.Random) -> tuple[dict, bool]:
    """An edit and whether it changes what is claimed (then the checker must refuse)."""
    doc = json.loads(json.dumps(doc))
    lists = [p for p in _lists_of_dicts(doc) if len(_get(doc, p)) >= 2]
    kind = rnd.randrange(6)
    if kind <= 2 and lists:
        lst = _get(doc, rnd.choice(lists))
        i, j = rnd.sample(range(len(lst)), 2)
        if kind == 0:
            del lst[i]  # an entry dropped
        elif kind == 1:
            lst[i], lst[j] = lst[j], lst[i]  # two entries swapped
            return doc, json.dumps(lst[i], sort_keys=True) != json.dumps(lst[j], sort_keys=True)
        else:
            lst.insert(i, json.loads(json.dumps(lst[j])))  # an entry duplicated
        return doc, True
    # a number changed consistently everywhere it appears with the same value
    nums = []

    def walk(x, path):
        if isinstance(x, dict):
            for k, v in x.items():
                walk(v, path + (k,))
        elif isinstance(x, list):
            for i, v in enumerate(x):
                walk(v, path + (i,))
        elif isinstance(x, float) and x != 0.0 and path[0] != "provenance":
            nums.append((path, x))

    walk(doc, ())
    path, x = rnd.choice(nums)
    factor = rnd.choice([0.5, 0.999999, 1.000001, 2.0, -1.0])
    new = x * factor
    for p, v in nums:
        if v == x:
            parent = _get(doc, p[:-1])
            parent[p[-1]] = new
    return doc, False  # raising an upper bound can keep a certificate valid


@fuzz(30)
@given(seed=st.integers(0, 2**32 - 1), kind=st.sampled_from(["gap", "square", "distance", "converge"]))
def test_coordinated_certificate_edits_are_refused_cleanly(tmp_path_factory, certs, seed, kind):
    rnd = random.Random(seed)
    doc, changed = _coordinated_edit(certs[kind], rnd)
    d = tmp_path_factory.mktemp("fz")
    f = d / "cert.json"
    f.write_text(json.dumps(doc))
    code, out, err = run(["check", f])
    assert_clean(code, err, d, allowed=(0, 1, 2), out=out)
    if changed:
        assert code in (1, 2), "a structurally edited certificate passed"


@fuzz(30)
@given(seed=st.integers(0, 2**32 - 1), kind=st.sampled_from(["gap", "square", "distance", "converge"]))
def test_respelled_and_truncated_certificates(tmp_path_factory, certs, seed, kind):
    """Non-canonical spellings of the same numbers must not change the verdict
    (or be refused as malformed); a truncated file is malformed (exit 2)."""
    rnd = random.Random(seed)
    text = json.dumps(certs[kind])
    d = tmp_path_factory.mktemp("fz")
    f = d / "cert.json"
    if rnd.random() < 0.5:
        f.write_text(text[: rnd.randrange(1, len(text) - 1)])
        code, _, err = run(["check", f])
        assert_clean(code, err, d, allowed=(2,))
        return
    import re

    def respell(m):
        v = float(m.group(0))
        return rnd.choice([repr(v), f"{v:.17e}", f"{v:.25g}", repr(v).replace("e-", "E-"), f"{v}0" if "." in repr(v) and "e" not in repr(v) else repr(v)])

    f.write_text(re.sub(r"(?<![\w\"])-?\d+\.\d+(?:[eE][-+]?\d+)?(?![\w\"])", respell, text))
    code, out, err = run(["check", f])
    assert_clean(code, err, d, allowed=(0, 1, 2), out=out)
    assert code in (0, 2), err  # the same doubles: valid, or refused as non-canonical


def test_the_fuzz_harness_sees_a_crash():
    """The harness itself: an internal error (exit 3) or a traceback must fail it."""
    with pytest.raises(AssertionError):
        assert_clean(3, "certify: internal error: boom\n", Path("."))
    with pytest.raises(AssertionError):
        assert_clean(2, "Traceback (most recent call last):\n  ...\n", Path("."))
    with pytest.raises(AssertionError):
        assert_clean(2, "line one\nline two\n", Path("."))


@pytest.mark.parametrize("argv, needle", [
    (["gap", "builtin:demo", "--eta", "1e308", "--steps", "10", "--out", "{d}/g.json"], "infinite"),
    (["conditions", "builtin:demo", "--eta", "1e-320"], "infinite"),
    (["gap", "{d}/huge.toml", "--eta", "0.01", "--steps", "10", "--out", "{d}/g.json"], "init.scale"),
])
def test_crashes_the_fuzzer_found_are_one_line_errors(tmp_path, argv, needle):
    """Found by the campaign-profile fuzz run (each was exit 3, an internal error): an
    infinite horizon or step count in a limit message, an integer beyond binary64 in TOML."""
    (tmp_path / "huge.toml").write_text('dims = [2, 2, 2]\n[loss]\nkind = "whitened"\n'
                                        'target = [[1.0, 0.5], [0.0, 1.0]]\n[init]\nscheme = "gaussian"\n'
                                        f'scale = 1{"0" * 340}\nseed = 4\n')
    code, _, err = run([a.replace("{d}", str(tmp_path)) for a in argv])
    assert code == 2 and needle in err, err
    assert_clean(code, err, tmp_path)
