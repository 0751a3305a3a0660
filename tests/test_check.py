"""The independent checker against the producer: accepts what the tool writes,
rejects single-number changes that make a claim false or inconsistent.

Mutations are drawn at random (seeded) over every kind of number in a
certificate; each kind gets a change that provably makes a claim false or
inconsistent (tightening a bound past the producer's own rigorous value by
more than its stated slack, changing eta, a problem entry, a checkpoint's k
or t, an iterate, a segment constant).  The certificate carries no digest:
the rejections come from re-verifying the claims.
"""

import copy
import json
import random

import numpy as np
import pytest

from certify import CertificateError, certify_gap, load_problem, problem_from_dict
from certify.certificates.writing import dumps_json
from certify.cli import main

check = pytest.importorskip("certify.check")

SLACK2 = {"round", "delta", "jump", "gf_radius", "radius"}  # claims with a factor-2 slack


@pytest.fixture(scope="module")
def cert_doc():
    prob = load_problem("builtin:demo")
    return json.loads(dumps_json(certify_gap(prob, 5e-3, 240, every=40, refresh=40).to_json()))


@pytest.fixture(scope="module")
def square_doc():
    rng = np.random.default_rng(3)
    spec = {"dims": [3, 4, 2], "loss": {"kind": "square", "X": (rng.integers(-8, 9, (3, 7)) / 8).tolist(),
                                         "Y": (rng.integers(-8, 9, (2, 7)) / 8).tolist()},
            "init": {"scheme": "balanced", "scale": 0.5, "seed": 2}}
    prob = problem_from_dict(spec)
    return json.loads(dumps_json(certify_gap(prob, 1e-2, 120, every=30, refresh=30).to_json()))


def test_checker_accepts_what_the_producer_writes(cert_doc, square_doc):
    for doc in (cert_doc, square_doc):
        rep = check.check_certificate(copy.deepcopy(doc))
        assert rep.valid, rep.failures[:3]
        assert rep.checked > 100


def test_strict_mode_accepts_and_rejects(cert_doc):
    assert check.check_certificate(copy.deepcopy(cert_doc), strict=True).valid
    bad = copy.deepcopy(cert_doc)
    bad["flow"]["steps"][3]["delta"] *= 0.3
    rep = check.check_certificate(bad, strict=True)
    assert not rep.valid
    assert any(key in rep.failures[0] for key in ("delta", "e1"))
    bad = copy.deepcopy(cert_doc)
    bad["segments"][7]["round"] *= 0.3
    assert not check.check_certificate(bad, strict=True).valid


def test_checker_never_mutates_its_input(cert_doc):
    doc = copy.deepcopy(cert_doc)
    check.check_certificate(doc)
    assert doc == cert_doc


def _sites(doc):
    """(path, kind) of every number the mutation test may change."""
    out = [(("eta",), "eta")]
    cps = doc["claims"]["checkpoints"]
    for i, c in enumerate(cps):
        out += [(("claims", "checkpoints", i, "gap_upper"), "upper"), (("claims", "checkpoints", i, "k"), "int"),
                (("claims", "checkpoints", i, "t"), "exact")]
        if c["gap_lower"] > 0:
            out.append((("claims", "checkpoints", i, "gap_lower"), "lower"))
        out.append((("claims", "checkpoints", i, "theta_hex", 0), "hex"))
        out.append((("claims", "checkpoints", i, "gf_center_hex", 0), "hex"))
    out.append((("claims", "max_gap_upper"), "upper"))
    for j, w in enumerate(doc["problem"]["init"]["weights"]):
        out.append((("problem", "init", "weights", j, 0, 0), "exact"))
    loss = doc["problem"]["loss"]
    if "target" in loss:
        out.append((("problem", "loss", "target", 0, 0), "exact"))
    else:
        out.append((("problem", "loss", "X", 0, 0), "exact"))
        out.append((("problem", "loss", "Y", 0, 0), "exact"))
    for i, s in enumerate(doc["segments"]):
        for key in ("round", "mu_r", "beta_r", "r", "mu", "beta", "e", "dnorm"):
            if key in s:
                out.append((("segments", i, key), "upper"))
    for i, r in enumerate(doc["refs"]):
        out.append((("refs", i, "G_norm2"), "upper"))
        out.append((("refs", i, "layer_norm2", 0), "upper"))
        for m in range(len(r["prod_norm2"])):
            out.append((("refs", i, "prod_norm2", m, 2), "upper"))
    for i, s in enumerate(doc["flow"]["steps"]):
        for key in ("delta", "mu", "e1", "jump", "e0"):
            out.append((("flow", "steps", i, key), "upper"))
    for i, _ in enumerate(doc["flow"]["evals"]):
        out.append((("flow", "evals", i, "radius"), "upper"))
    return out


def _get(doc, path):
    for p in path[:-1]:
        doc = doc[p]
    return doc, path[-1]


def _mutate(doc, path, kind, rng):
    parent, key = _get(doc, path)
    v = parent[key]
    if kind == "int":
        parent[key] = v + rng.choice([-1, 1])
    elif kind == "hex":
        x = float.fromhex(v)
        parent[key] = (x * (1 + rng.choice([-1, 1]) * 1e-6) + 1e-12).hex()
    elif kind == "eta":
        parent[key] = v * (1 + rng.choice([-1, 1]) * 1e-9)
    elif kind == "exact":
        parent[key] = v * (1 + rng.choice([-1, 1]) * 1e-6) + rng.choice([-1, 1]) * 1e-9
    elif kind == "upper":
        # tighten past the producer's own bound (beyond the stated slack)
        factor = 0.3 if path[-1] in SLACK2 else rng.choice([0.3, 0.9, 0.999])
        if v < 2.2250738585072014e-308:
            # 0 or subnormal: only at k = 0, where the true gap is exactly 0 and any
            # nonnegative upper bound is true (and 1e-323 * 0.9 rounds to itself)
            return False
        parent[key] = v * factor
    elif kind == "lower":
        parent[key] = v * rng.choice([1.001, 1.1, 3.0])
    return parent[key] != v  # a subnormal times 0.999 can round back to itself


@pytest.mark.parametrize("which", ["cert_doc", "square_doc"])
def test_random_single_number_mutations_are_rejected(request, which):
    doc = request.getfixturevalue(which)
    rng = random.Random(20261124 + len(which))
    sites = _sites(doc)
    n, rejected, missed = 0, 0, []
    for _ in range(150):
        path, kind = rng.choice(sites)
        bad = copy.deepcopy(doc)
        if not _mutate(bad, path, kind, rng):
            continue
        n += 1
        try:
            rep = check.check_certificate(bad)
        except CertificateError:  # malformed (e.g. a step index -1 against the schema): refused, exit 2
            rejected += 1
            continue
        if rep.valid:
            missed.append((path, kind))
        else:
            rejected += 1
    print(f"{which}: {rejected}/{n} falsifying mutations rejected")
    assert not missed, f"accepted falsified certificates: {missed[:5]}"
    assert n >= 100


def test_check_cli_exit_codes(tmp_path, capsys, cert_doc):
    good = tmp_path / "good.json"
    good.write_text(json.dumps(cert_doc))
    assert main(["check", str(good)]) == 0
    bad = copy.deepcopy(cert_doc)
    bad["claims"]["checkpoints"][-1]["gap_upper"] *= 0.5
    f = tmp_path / "bad.json"
    f.write_text(json.dumps(bad))
    capsys.readouterr()
    assert main(["check", str(f)]) == 1
    out, _ = capsys.readouterr()
    assert "gap_upper" in out
    (tmp_path / "trunc.json").write_text(json.dumps(cert_doc)[:500])
    assert main(["check", str(tmp_path / "trunc.json")]) == 2
    assert main(["check", str(tmp_path / "missing.json")]) == 2
    wrong = copy.deepcopy(cert_doc)
    wrong["schema"] = "certify/gap-v9"
    (tmp_path / "w.json").write_text(json.dumps(wrong))
    assert main(["check", str(tmp_path / "w.json")]) == 2
    nan = json.dumps(cert_doc).replace(str(cert_doc["eta"]), "NaN", 1)
    (tmp_path / "nan.json").write_text(nan)
    assert main(["check", str(tmp_path / "nan.json")]) == 2


def test_malformed_or_ambiguous_certificates_exit_2(tmp_path, capsys, cert_doc):
    """Review findings: duplicate keys, implicit problems, zero denominators, huge
    integers are refused as malformed; a changed statement is not confirmed."""
    text = json.dumps(cert_doc)
    cases = {
        "dup.json": text.replace('"max_gap_upper":', '"max_gap_upper": 1e-12, "max_gap_upper":', 1),
        "zero_den.json": text.replace('"t0": "0"', '"t0": "1/0"', 1),
        "huge.json": text.replace('"r_block": ', '"r_block": 1%s, "unused": ' % ("0" * 400), 1),
    }
    for name, content in cases.items():
        assert content != text, name  # the edit really happened
    seeded = copy.deepcopy(cert_doc)
    seeded["problem"]["init"] = {"scheme": "balanced", "scale": 0.5, "seed": 1}
    cases["seeded.json"] = json.dumps(seeded)
    for name, content in cases.items():
        (tmp_path / name).write_text(content)
        capsys.readouterr()
        assert main(["check", str(tmp_path / name)]) == 2, name
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "Traceback" not in err, (name, err)
    other = copy.deepcopy(cert_doc)
    other["claims"]["statement"] = "gap_upper bounds the distance between two unrelated things"
    assert not check.check_certificate(other).valid
