"""Regression tests of issue 13 (reliability): false Arb balls in flow-v1,
converge-v1 statement and extra fields, scale-aware prescaling, crashes on
hostile input.  Resource limits: tests/test_limits.py."""

from __future__ import annotations

import json
import math
from fractions import Fraction

import numpy as np
import pytest

from certify import BlowUpError
from certify.arith import get_context


# ---------------------------------------------------------------- arb backend refuses inf/NaN


@pytest.mark.parametrize("backend", ["float64", "iv", "arb"])
@pytest.mark.parametrize("bad", [math.inf, -math.inf, math.nan])
def test_ball_matrices_refuse_nonfinite_entries(backend, bad):
    ctx = get_context(backend)
    with ctx:
        with pytest.raises(BlowUpError):
            ctx.matrix(np.array([[1.0, bad]]))


@pytest.mark.parametrize("backend", ["float64", "arb"])
def test_ball_matrices_refuse_nonfinite_radii(backend):
    ctx = get_context(backend)
    with ctx:
        with pytest.raises(BlowUpError):
            ctx.matrix(np.array([[1.0, 2.0]]), rad=math.inf)


# ---------------------------------------------------------------- item 1: every written flow ball is true

import mpmath  # noqa: E402
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from certify import enclose_flow, flow_to_json, problem_from_dict  # noqa: E402

from helpers.closed_forms import exact_doubles, make_diagonal_instance  # noqa: E402


def _written_balls_contain(doc, truth_at):
    """Every checkpoint of the written document: the exact center read back
    (``Fraction`` of the string / of the double) is within the written radius
    of the truth (mpmath at 100 digits, or exact rationals)."""
    for c in doc["checkpoints"]:
        t = Fraction(c["t_exact"])
        radius = Fraction(float(c["radius"]))
        center = [Fraction(v) for v in c["center"]]
        truth = truth_at(t)
        if all(isinstance(x, Fraction) for x in truth):  # exact: compare squares in rationals
            d2 = sum((x - y) ** 2 for x, y in zip(truth, center))
            assert d2 <= radius**2, (float(t), float(d2) ** 0.5, float(radius))
        else:
            with mpmath.workdps(110):
                d = mpmath.sqrt(sum((x - mpmath.mpf(y.numerator) / y.denominator) ** 2
                                    for x, y in zip(truth, center)))
                assert d <= mpmath.mpf(radius.numerator) / radius.denominator, (float(t), d, float(radius))


def test_issue13_stationary_depth1_arb_ball_is_true():
    """The issue's instance: W0 = target = [[0.1]] (gradient exactly 0): before
    the fix the file claimed radius 1.5e-159 at t = 1/2 about a 41-digit
    decimal 1.7e-42 away from theta(t) = 0.1."""
    spec = {"dims": [1, 1], "loss": {"kind": "whitened", "target": [[0.1]]}, "init": {"weights": [[[0.1]]]}}
    for prec in (64, 128, 256, 512, 1024):
        enc = enclose_flow(problem_from_dict(spec), Fraction(1, 2), checkpoints=2, backend="arb", prec=prec)
        doc = json.loads(json.dumps(flow_to_json(enc)))
        _written_balls_contain(doc, lambda t: [Fraction(0.1)])


def test_issue13_flow_cli_file_balls_are_true(tmp_path):
    """The file `certify flow --backend arb` writes (also at t = 0 on builtin:demo,
    where the radius is 0 and the centers are the problem's doubles)."""
    from certify.cli import main as cli_main

    spec = {"dims": [1, 1], "loss": {"kind": "whitened", "target": [[0.1]]}, "init": {"weights": [[[0.1]]]}}
    (tmp_path / "p.json").write_text(json.dumps(spec))
    for src, prec in ((str(tmp_path / "p.json"), "64"), ("builtin:demo", "128")):
        out = tmp_path / "enc.json"
        assert cli_main(["flow", src, "--t-end", "0.5", "--checkpoints", "1", "--backend", "arb", "--prec", prec,
                         "--out", str(out)]) == 0
        doc = json.loads(out.read_text())
        from certify import load_problem

        theta0 = [Fraction(float(x)) for x in load_problem(src if src.startswith("builtin") else spec).theta0]
        c0 = doc["checkpoints"][0]
        assert float(c0["radius"]) == 0.0 and [Fraction(v) for v in c0["center"]] == theta0
        if src != "builtin:demo":
            _written_balls_contain(doc, lambda t: theta0)


@st.composite
def _stationary_or_near(draw, arb: bool = False):
    """Diagonal instances (helpers/closed_forms.py) with each target mode phi = a0^N
    (stationary; a0 = k / 2^52 at depth 1, k / 2^26 at depth 2) or
    phi = a0^N (1 +- 2^-s) (near-stationary, s in 20..42, a0 = k/16): every
    stored double is the intended number."""
    N = draw(st.integers(1, 2))
    d = draw(st.integers(1, 3))
    dims = [d] * (N + 1)
    near = draw(st.booleans())
    if arb and not near:
        d = 1  # exactly stationary Arb with a matrix layer: the xfail test below
        dims = [d] * (N + 1)
    if near:
        a0 = [Fraction(draw(st.integers(4, 24)), 16) for _ in range(d)]
    else:  # long decimal expansions (up to 52 digits): a rounded decimal center would be off
        bits = 52 if N == 1 else 26
        a0 = [Fraction(draw(st.integers(2 ** (bits - 3), 2**bits - 1)), 2**bits) for _ in range(d)]
    phi = []
    for a in a0:
        p = a**N
        if near:  # relative 2^-s: still a double (a0^N has at most 10 significant bits)
            p += p * Fraction(draw(st.sampled_from([1, -1])), 2 ** draw(st.integers(20, 42)))
        phi.append(p)
    seed = draw(st.integers(0, 2**32 - 1))
    inst = make_diagonal_instance(dims, a0, phi, seed)
    return inst, near


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), prec=st.sampled_from([53, 64, 128, 256]), T=st.sampled_from([Fraction(1, 4), Fraction(1)]))
def test_written_flow_balls_contain_the_truth_stationary_and_near(data, prec, T):
    inst, near = data.draw(_stationary_or_near(arb=prec > 53))
    prob = problem_from_dict(inst.spec)
    backend = "float64" if prec == 53 else "arb"
    kw = {} if backend == "float64" else {"prec": prec}
    enc = enclose_flow(prob, T, checkpoints=2, backend=backend, **kw)
    doc = json.loads(json.dumps(flow_to_json(enc)))
    if near:
        truth = lambda t: inst.theta_at(t, dps=100)
    else:
        theta0 = [Fraction(x) for W in inst.spec["init"]["weights"] for row in W for x in row]
        truth = lambda t: theta0
    _written_balls_contain(doc, truth)


def test_exactly_stationary_matrix_layers_arb_enclosure_succeeds():
    spec = {"dims": [2, 2, 2], "loss": {"kind": "whitened", "target": [[-0.0625, 0.0], [0.0, -0.0625]]},
            "init": {"weights": [[[0.0, -0.25], [-0.25, 0.0]], [[0.0, 0.25], [0.25, 0.0]]]}}
    enc = enclose_flow(problem_from_dict(spec), Fraction(1, 4), checkpoints=2, backend="arb", prec=64)
    theta0 = [Fraction(x) for W in spec["init"]["weights"] for row in W for x in row]
    _written_balls_contain(json.loads(json.dumps(flow_to_json(enc))), lambda t: theta0)


def test_random_stationary_deep_arb_balls_are_true():
    """Stationary problems that are not diagonal: target = the random dyadic
    initial matrix, several shapes and precisions."""
    rng = np.random.default_rng(13)
    for trial in range(6):
        N = 1  # matrix layers exactly stationary in Arb: the xfail test above
        dims = [1, trial + 1] if trial % 2 else [trial + 1, 1]
        Ws = [np.array([[Fraction(int(v), 2**52) for v in row]
                        for row in rng.integers(-2**53, 2**53, (dims[j + 1], dims[j]))],
                       dtype=object) for j in range(N)]
        P = Ws[0]
        for W in Ws[1:]:
            P = W.dot(P)
        spec = {"dims": dims, "loss": {"kind": "whitened", "target": exact_doubles(P)},
                "init": {"weights": [exact_doubles(W) for W in Ws]}}
        theta0 = [x for W in Ws for x in W.reshape(-1)]
        for prec in (64, 200):
            enc = enclose_flow(problem_from_dict(spec), Fraction(1, 2), checkpoints=1, backend="arb", prec=prec)
            _written_balls_contain(json.loads(json.dumps(flow_to_json(enc))), lambda t: theta0)


# ---------------------------------------------------------------- item 3: scale-aware prescaling in the checker

from certify.check import _arith as CA  # noqa: E402


def _spec_norm_truth(m, r=None):
    """sup ||X||_2 over the ball, lower bound of the truth for the test: ||m||_2 at
    60 digits (the center is in the ball), and the Frobenius upper end (|m| + r)."""
    with mpmath.workdps(60):
        M = mpmath.matrix([[mpmath.mpf(float(x)) for x in row] for row in m])
        lam = mpmath.eigsy(M.T * M)[0]
        return mpmath.sqrt(max(max(lam), 0))


@settings(max_examples=60, deadline=None)
@given(rows=st.integers(1, 4), cols=st.integers(2, 4), seed=st.integers(0, 2**32 - 1),
       scale_exp=st.integers(-1074, 1000), with_rad=st.booleans())
def test_checker_spectral_bound_is_scale_aware(rows, cols, seed, scale_exp, with_rad):
    """Entries anywhere in the binary64 range, down to subnormals: no
    OverflowError (was: math.ldexp(1.0, 1030) for entries below 2^-1024), the
    bound is >= the true norm of the center (60-digit eigenvalues), and it is
    as tight at every scale as the method is at scale 1: within its a-priori
    factor rank^(1/(4 k)), k = 2^SQUARINGS (||B^k||_F <= sqrt(rank) lambda_max^k),
    times 1 + 1e-9, plus subnormal granularity (no underflow to a bound that
    would reject a valid claim)."""
    rng = np.random.default_rng(seed)
    m = np.ldexp(rng.uniform(-1, 1, (rows, cols)), scale_exp)
    r = np.ldexp(rng.uniform(0, 1e-12, (rows, cols)), scale_exp) if with_rad else None
    b = CA.spec2_up(m, r)
    truth = _spec_norm_truth(m)
    assert b >= truth
    if with_rad:
        with mpmath.workdps(60):
            slack = mpmath.sqrt(sum(mpmath.mpf(float(x)) ** 2 for x in r.ravel()))
    else:
        slack = 0
    factor = mpmath.mpf(min(rows, cols)) ** (mpmath.mpf(1) / (4 * 2**CA.SQUARINGS))
    assert b <= truth * factor * (1 + mpmath.mpf(1e-9)) + slack + mpmath.mpf(2.0**-1060) * 64


@pytest.mark.parametrize("scale", [1e-310, 5e-324, 2.0**-1030, 1e-300, 1e300])
def test_checker_spectral_bound_tiny_and_huge_entries(scale):
    m = np.array([[1.0, 2.0], [0.5, -3.0]]) * scale
    b = CA.spec2_up(m)
    truth = _spec_norm_truth(m)
    assert truth <= b <= truth * (1 + mpmath.mpf(1e-12)) + mpmath.mpf(2.0**-1070)


@settings(max_examples=80, deadline=None)
@given(n=st.integers(1, 12), seed=st.integers(0, 2**32 - 1), scale_exp=st.integers(-1074, 1016))
def test_checker_norms_are_scale_aware(n, seed, scale_exp):
    """fro_up, fro_diff_up, vec_norm_up: valid (exact rational sums of squares)
    and tight to 1e-12 relative (plus the subnormal spacing) at every scale:
    entries near 1e-160 gave bounds ~10x too large (squares underflow into the
    additive underflow term), entries near 1e160 gave inf (squares overflow)."""
    rng = np.random.default_rng(seed)
    x = np.ldexp(rng.uniform(-1, 1, n), scale_exp)
    y = np.ldexp(rng.uniform(-1, 1, n), scale_exp)
    exact = lambda v: sum(Fraction(float(t)) ** 2 for t in v)
    def tight(b, s2):  # b >= sqrt(s2) and b <= (1 + 1e-12) sqrt(s2) + 2^-1070, in exact rationals
        b, t = Fraction(b), Fraction(2.0**-1070)
        return b * b >= s2 and (b <= t or (b - t) ** 2 <= (1 + Fraction(1, 10**12)) ** 2 * s2)
    for b, s2 in ((CA.fro_up(x.reshape(1, -1)), exact(x)), (CA.vec_norm_up(list(np.abs(x))), exact(x))):
        assert math.isfinite(b) and tight(b, s2), (b, float(s2) ** 0.5)
    d2 = sum((Fraction(float(a)) - Fraction(float(b))) ** 2 for a, b in zip(x, y))
    b = CA.fro_diff_up(x, y)
    if d2 < Fraction(1e300) ** 2:
        assert math.isfinite(b) and tight(b, d2), (b, float(d2) ** 0.5)


# ---------------------------------------------------------------- item 4/5: hostile input, one line, exit 2

from certify.cli import main  # noqa: E402

P8 = {"dims": [2, 2, 2], "loss": {"kind": "whitened", "target": [[1.0, 0.5], [-0.25, 0.75]]},
      "init": {"weights": [[[0.5, 0.1], [0.2, 0.4]], [[0.3, -0.2], [0.1, 0.6]]]}}


def _run(argv, capsys):
    rc = main(argv)
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert "Traceback" not in err and len(lines) == 1, err
    return rc, lines[0]


@pytest.fixture
def p8(tmp_path):
    path = tmp_path / "p8.json"
    path.write_text(json.dumps(P8))
    return str(path)


@pytest.mark.parametrize("cmd", [
    ["flow", "{p}", "--t-end", "0.5", "--checkpoints", "1"],
    ["gap", "{p}", "--eta", "0.01", "--steps", "10"],
    ["converge", "{p}", "--eps", "0.5", "--eta", "0.01"],
])
def test_out_naming_an_existing_folder(cmd, p8, tmp_path, capsys):
    """Was IsADirectoryError (exit 3) after all the work; now refused up front."""
    folder = tmp_path / "outdir"
    folder.mkdir()
    rc, line = _run([a.format(p=p8) for a in cmd] + ["--out", str(folder)], capsys)
    assert rc == 2 and "existing folder" in line
    assert list(folder.iterdir()) == []


def test_atomic_writer_refuses_a_folder_without_leftovers(tmp_path):
    from certify import UsageError
    from certify.certificates.writing import write_json_atomic

    (tmp_path / "d").mkdir()
    with pytest.raises(UsageError, match="existing folder"):
        write_json_atomic(tmp_path / "d", {"a": 1})
    assert [p.name for p in tmp_path.iterdir()] == ["d"] and not list((tmp_path / "d").iterdir())


def test_deeply_nested_json_problem_and_certificate(tmp_path, capsys):
    """100,000 nested arrays: was RecursionError (exit 3)."""
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    rc, line = _run(["flow", str(deep), "--t-end", "1", "--out", str(tmp_path / "f.json")], capsys)
    assert rc == 2 and "json-depth" in line
    rc, line = _run(["check", str(deep)], capsys)
    assert rc == 2 and "json-depth" in line
    wrapped = tmp_path / "wrapped.json"  # nested 80 deep: within the parser, beyond the limit
    wrapped.write_text('{"a":' * 80 + "1" + "}" * 80)
    rc, line = _run(["check", str(wrapped)], capsys)
    assert rc == 2 and "nested 80 deep" in line
    toml = tmp_path / "deep.toml"
    toml.write_text("a = " + "[" * 100_000 + "]" * 100_000 + "\n")
    rc, line = _run(["flow", str(toml), "--t-end", "1", "--out", str(tmp_path / "f.json")], capsys)
    assert rc == 2 and "json-depth" in line


def test_huge_integers_in_problem_and_certificate(tmp_path, capsys):
    """An integer of 5,000 digits: was ValueError (Python's 4,300-digit limit), exit 3."""
    big = "1" * 5000
    prob = tmp_path / "big.json"
    prob.write_text('{"dims": [' + big + ", 1]}")
    rc, line = _run(["flow", str(prob), "--t-end", "1", "--out", str(tmp_path / "f.json")], capsys)
    assert rc == 2 and "int-digits" in line
    cert = tmp_path / "cert.json"
    cert.write_text('{"schema": "certify/converge-v1", "K": ' + big + "}")
    rc, line = _run(["check", str(cert)], capsys)
    assert rc == 2 and "5,000 digits" in line
    toml = tmp_path / "big.toml"
    toml.write_text(f"dims = [{big}, 1]\n")
    rc, line = _run(["flow", str(toml), "--t-end", "1", "--out", str(tmp_path / "f.json")], capsys)
    assert rc == 2


def test_check_refuses_a_flow_order_of_a_million(p8, tmp_path, capsys):
    out = tmp_path / "g.json"
    assert main(["gap", p8, "--eta", "0.01", "--steps", "20", "--every", "10", "--out", str(out)]) == 0
    capsys.readouterr()
    doc = json.loads(out.read_text())
    doc["flow"]["order"] = 10**6
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(doc))
    rc, line = _run(["check", str(bad)], capsys)
    assert rc == 2 and "'order'" in line and "--max-order" in line


def test_tiny_eta_is_refused_with_the_reason(p8, tmp_path, capsys):
    """--eta 5e-324 gave a spurious 'step size underflow' of the flow enclosure."""
    rc, line = _run(["gap", p8, "--eta", "5e-324", "--steps", "10", "--out", str(tmp_path / "g.json")], capsys)
    assert rc == 2 and "smallest supported step size" in line and "underflow" not in line
    from certify import UsageError, certify_gap, load_problem

    with pytest.raises(UsageError, match="smallest supported step size"):
        certify_gap(load_problem(P8), 5e-324, 10)


@pytest.mark.parametrize("scale", [1e150, 1e200])
def test_huge_entries_refused_as_too_large_not_as_divergence(scale, tmp_path, capsys):
    """Entries ~1e150 were refused with 'gradient descent diverged ... try a smaller eta'."""
    spec = {"dims": [2, 2], "loss": {"kind": "whitened", "target": [[scale, 0.0], [0.0, scale]]},
            "init": {"weights": [[[1.0, 0.0], [0.0, 1.0]]]}}
    path = tmp_path / "big.json"
    path.write_text(json.dumps(spec))
    rc, line = _run(["gap", str(path), "--eta", "1e-3", "--steps", "10", "--out", str(tmp_path / "g.json")], capsys)
    assert rc == 2 and "initial loss" in line and "smaller eta" not in line


# ---------------------------------------------------------------- item 2: converge-v1 statement and fields

import copy  # noqa: E402

from certify.check import check_certificate  # noqa: E402


@pytest.fixture(scope="module")
def converge_doc():
    from certify import load_problem
    from certify.certificates.writing import dumps_json
    from certify._converge import translate

    tr = translate(load_problem(P8), 0.1, 0.01)
    assert tr.certified, tr.reason
    return json.loads(dumps_json(tr.result.to_json()))


def test_shipped_converge_schema_is_a_valid_json_schema_and_the_producers_contract(converge_doc):
    import jsonschema

    from certify._converge import SOURCE
    from certify.check import _converge_check as CC

    jsonschema.Draft202012Validator.check_schema(CC.schema())
    assert CC.source() == SOURCE == converge_doc["source"]
    assert CC.statement() == converge_doc["claims"]["statement"]
    jsonschema.Draft202012Validator(CC.schema()).validate(converge_doc)  # plain jsonschema agrees
    assert check_certificate(converge_doc).valid


def _set(path, value):
    def mut(d):
        *head, last = path
        for k in head:
            d = d[k]
        d[last] = value
    return mut


def _delete(path):
    def mut(d):
        *head, last = path
        for k in head:
            d = d[k]
        del d[last]
    return mut


FALSIFIED = {
    "stronger statement": _set(["claims", "statement"],
                               "exact-arithmetic gradient descent with ANY step eta' <= 10 eta from the problem's "
                               "initial point has loss <= eps at EVERY step k >= K"),
    "statement deleted": _delete(["claims", "statement"]),
    "source fabricated": _set(["source"], "[ACGH19] Theorem 1"),
    "search fabricated": _set(["search"], [{"eta": 10.0, "ok": True, "reason": "ok"}]),
    "acgh19 eta_max fabricated": _set(["acgh19"], {"source": "[ACGH19] Theorem 1", "eta_max": 1e3, "note": ""}),
    "t_gf_exact fabricated": _set(["claims", "t_gf_exact"], "1/1000"),
    "unknown key in a gap checkpoint": _set(["gap", "claims", "checkpoints", 0, "gap_upper_strict"], 1e-30),
    "unknown key in a segment": _set(["gap", "segments", 5, "tight"], True),
    "unknown key in a flow step": _set(["gap", "flow", "steps", 0, "mu_strict"], 0.0),
    "unknown key in the loss": _set(["gap", "problem", "loss", "eps_loss"], 0.0),
    "unknown key in claims": _set(["claims", "gd_loss_upper_any_k"], 0.0),
    "gap statement changed": _set(["gap", "claims", "statement"], "anything"),
    "gap lemmas changed": _set(["gap", "claims", "lemmas"], ["S4.2"]),
    "partial gap": _set(["gap", "partial"], {"requested_steps": 10**5, "stopped_at_step": 151, "reason": "x"}),
}


@pytest.mark.parametrize("name", sorted(FALSIFIED))
def test_converge_v1_fabricated_or_changed_fields_are_not_valid(name, converge_doc):
    """Each gave VALID before (the checker read only eps, eta, K, the three
    bounds and the gap); now INVALID naming the field, or malformed (exit 2)."""
    from certify import CertificateError

    bad = copy.deepcopy(converge_doc)
    FALSIFIED[name](bad)
    try:
        rep = check_certificate(bad)
    except CertificateError as e:
        assert "statement" in str(e) or "malformed" in str(e)
        return
    assert not rep.valid, name
    assert "certificate" in rep.failures[0]


def test_converge_cli_refuses_a_fabricated_statement(converge_doc, tmp_path, capsys):
    bad = copy.deepcopy(converge_doc)
    bad["claims"]["statement"] = bad["claims"]["statement"].replace("at step K", "at every step k >= K")
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(bad))
    assert main(["check", str(path)]) == 1
    assert "claims.statement" in capsys.readouterr().out


def test_converge_schema_fast_path_agrees_with_plain_jsonschema(converge_doc):
    """The conservative fast path for long arrays changes speed, not verdicts:
    on many single-field mutations the accelerated validator and plain
    jsonschema agree on valid / not valid."""
    import jsonschema

    from certify.check import _converge_check as CC

    plain = jsonschema.Draft202012Validator(CC.schema())
    fast = CC._validator()
    rng = np.random.default_rng(0)
    values = [None, True, 0, -1, 1.5, -0.5, "x", "0x1.8p+0", [], {}, [1.0], 3.0]
    seg_keys = sorted(converge_doc["gap"]["segments"][0])
    for i in range(150):
        bad = copy.deepcopy(converge_doc)
        where = rng.integers(4)
        v = values[rng.integers(len(values))]
        if where == 0:
            bad["gap"]["segments"][int(rng.integers(len(bad["gap"]["segments"])))][seg_keys[rng.integers(len(seg_keys))]] = v
        elif where == 1:
            bad["gap"]["flow"]["steps"][0][sorted(bad["gap"]["flow"]["steps"][0])[rng.integers(10)]] = v
        elif where == 2:
            bad["gap"]["problem"]["init"]["weights"][0][0][0] = v
        else:
            bad["gap"]["claims"]["checkpoints"][-1]["theta_hex"][0] = v
        assert plain.is_valid(bad) == (not list(fast.iter_errors(bad))), (where, v)


@settings(max_examples=60, deadline=None)
@given(t=st.integers(1, 4), n=st.integers(1, 6), seed=st.integers(0, 2**32 - 1),
       scale_exps=st.lists(st.integers(-1074, 1016), min_size=4, max_size=4))
def test_checker_per_slice_difference_norms_are_scale_aware(t, n, seed, scale_exps):
    """fro_diff_rows_up (for the checker's batched step/drift norms): valid
    against exact rationals and tight at every scale (the batched bound
    in _verify._fro_rows gives ~1e-159 for steps of 1e-311: a valid claim of
    the producer was rejected, 'refs[0].step_max[0]: claimed 1.06e-159 <
    certified 1.27e-159', on a problem with subnormal entries)."""
    rng = np.random.default_rng(seed)
    a = np.stack([np.ldexp(rng.uniform(-1, 1, (n, 2)), scale_exps[i % 4]) for i in range(t)])
    b = np.stack([np.ldexp(rng.uniform(-1, 1, (n, 2)), scale_exps[i % 4]) for i in range(t)])
    if t > 1:
        b[1] = a[1]  # an exactly zero slice
    out = CA.fro_diff_rows_up(a - b)
    for i in range(t):
        d2 = sum((Fraction(float(x)) - Fraction(float(y))) ** 2 for x, y in zip(a[i].ravel(), b[i].ravel()))
        bi = Fraction(float(out[i])) if math.isfinite(out[i]) else None
        if d2 == 0:
            assert out[i] == 0.0
            continue
        assert bi is not None and bi * bi >= d2
        tiny = Fraction(2.0**-1070)
        assert bi <= tiny or (bi - tiny) ** 2 <= (1 + Fraction(1, 10**12)) ** 2 * d2


@pytest.mark.parametrize("cmd", [
    ["gap", "{p}", "--eta", "0.01", "--steps", "10", "--out", "{o}", "--plot", "{d}"],
    ["curvature", "{p}", "--t-end", "0.5", "--checkpoints", "1", "--plot", "{d}"],
    ["smallstep", "--plot", "{d}"],
])
def test_plot_naming_an_existing_folder_is_refused_before_any_work(cmd, p8, tmp_path, capsys):
    folder = tmp_path / "plots"
    folder.mkdir()
    out = tmp_path / "g.json"
    rc, line = _run([a.format(p=p8, o=str(out), d=str(folder)) for a in cmd], capsys)
    assert rc == 2 and "existing folder" in line
    assert not out.exists() and list(folder.iterdir()) == []


@pytest.mark.parametrize("odd", ["0x1p+0\n", "\n0x1p+0", "0x1p+0\n0x1p+0", "", "zz", "nan", "-inf", "0x1.8p-3",
                                 "0x1.8p-3 ", 5, None, "0x0.0p+0", "0x1.gp+0"])
@pytest.mark.parametrize("where", [0, 50, 99])
def test_schema_fast_path_on_long_string_arrays_agrees_with_jsonschema(odd, where):
    """Long hex arrays are matched in one pass over the newline-joined items:
    an item containing a newline (or any other oddity) gets the same verdict
    as plain jsonschema gives."""
    import jsonschema

    from certify.check import _converge_check as CC

    item = {"type": "string", "pattern": "^-?(0x[0-9a-f](\\.[0-9a-f]+)?p[+-][0-9]+|0x0\\.0p\\+0|inf|nan)$"}
    sub = {"type": "array", "items": item}
    x = [float.hex(float(k) / 7.0) for k in range(1, 101)]
    x[where] = odd
    fast = CC._compiled(sub, {})
    assert fast is not None
    plain = jsonschema.Draft202012Validator(sub).is_valid(x)
    if fast(x):
        assert plain, (odd, where)
    if not (isinstance(odd, str) and "\n" in odd):
        assert fast(x) == plain, (odd, where)  # without newlines the joined match decides alone
