"""Golden outputs (issue 10): every certificate kind and the conditions report,
regenerated from the same command lines, must equal the stored files
(tests/golden/, written by ``python tests/golden/make.py``) field for field and
bit for bit, after normalising only the provenance block and run times.

Float64 bits depend on numpy's BLAS kernel (tests/golden/ENV.json records the
one the files were written with).  Under another kernel the comparison is
exact for structure, strings, integers and booleans and relative 1e-9 for
floats and hex-spelled floats, absolute 1e-12 (rounding-error radii and
margins at the rounding level); the test id's suffix names the mode."""

import importlib.util
import json
import re
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent / "golden"
_spec = importlib.util.spec_from_file_location("golden_make", HERE / "make.py")
make = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(make)


ENV = json.loads((HERE / "ENV.json").read_text())
SAME_KERNEL = make.environment() == ENV
MODE = "bitwise" if SAME_KERNEL else "other-blas-kernel"
REL = 1e-9
ABS = 1e-12  # rounding-error radii (~1e-14) and margins at the rounding level move with the kernel
_HEX = re.compile(r"^-?0x[0-9a-f]\.?[0-9a-f]*p[-+]?\d+$")


def _close(x: float, y: float) -> bool:
    return x == y or abs(x - y) <= max(REL * max(abs(x), abs(y)), ABS)


def _first_difference(a, b, path="$", exact=True):
    if not exact and isinstance(a, float) and isinstance(b, float):
        return None if _close(a, b) else f"{path}: {a!r} vs {b!r} (relative {REL}, absolute {ABS})"
    if not exact and isinstance(a, str) and isinstance(b, str) and _HEX.match(a) and _HEX.match(b):
        return None if _close(float.fromhex(a), float.fromhex(b)) else f"{path}: {a} vs {b} (relative {REL}, absolute {ABS})"
    if type(a) is not type(b):
        return f"{path}: {type(a).__name__} vs {type(b).__name__}"
    if isinstance(a, dict):
        for k in sorted(set(a) | set(b)):
            if k not in a or k not in b:
                return f"{path}.{k}: present in only one"
            d = _first_difference(a[k], b[k], f"{path}.{k}", exact)
            if d:
                return d
        return None
    if isinstance(a, list):
        if len(a) != len(b):
            return f"{path}: length {len(a)} vs {len(b)}"
        for i, (x, y) in enumerate(zip(a, b)):
            d = _first_difference(x, y, f"{path}[{i}]", exact)
            if d:
                return d
        return None
    return None if a == b else f"{path}: {a!r} vs {b!r}"


@pytest.mark.parametrize("mode", [MODE])
@pytest.mark.parametrize("name", sorted(make.CASES))
def test_output_equals_the_golden_file(name, mode, tmp_path):
    new = make.produce(name, tmp_path)
    old = (HERE / name).read_text()
    a, b = make.normalise(old), make.normalise(new)
    if not SAME_KERNEL:
        d = _first_difference(a, b, exact=False)
        assert d is None, f"{name} differs from tests/golden/{name} ({ENV} vs {make.environment()}) at {d}"
        return
    assert a == b, f"{name} differs from tests/golden/{name} at {_first_difference(a, b)}"
    # byte-identical apart from the normalised fields (layout, key order, float spelling included)
    assert _blank(new) == _blank(old), f"{name}: same values, different bytes"


def test_the_tolerant_comparison_still_catches_a_changed_value():
    old = make.normalise((HERE / "demo-gap.json").read_text())
    assert _first_difference(old, old, exact=False) is None
    bumped = json.loads(json.dumps(old))
    cp = bumped["claims"]["checkpoints"][0]
    x = float.fromhex(cp["gf_center_hex"][0])
    cp["gf_center_hex"][0] = (x * (1 + 1e-7)).hex()
    assert "gf_center_hex[0]" in _first_difference(old, bumped, exact=False)
    bumped = json.loads(json.dumps(old))
    bumped["claims"]["checkpoints"][0]["gf_center_hex"] = bumped["claims"]["checkpoints"][0]["gf_center_hex"][1:]
    assert "length" in _first_difference(old, bumped, exact=False)


def _blank(text: str) -> str:
    text = re.sub(r'"provenance": \{[^{}]*\}', '"provenance": {}', text)
    return re.sub(r'"seconds": [-+0-9.eE]+', '"seconds": 0', text)


def test_the_golden_files_exist_for_every_case():
    assert sorted(p.name for p in HERE.glob("*.json")) == sorted([*make.CASES, "ENV.json"])
