"""Golden outputs (issue 10): every certificate kind and the conditions report,
regenerated from the same command lines, must equal the stored files
(tests/golden/, written by ``python tests/golden/make.py``) field for field and
bit for bit, after normalising only the provenance block and run times."""

import importlib.util
import json
import re
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent / "golden"
_spec = importlib.util.spec_from_file_location("golden_make", HERE / "make.py")
make = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(make)


def _first_difference(a, b, path="$"):
    if type(a) is not type(b):
        return f"{path}: {type(a).__name__} vs {type(b).__name__}"
    if isinstance(a, dict):
        for k in sorted(set(a) | set(b)):
            if k not in a or k not in b:
                return f"{path}.{k}: present in only one"
            d = _first_difference(a[k], b[k], f"{path}.{k}")
            if d:
                return d
        return None
    if isinstance(a, list):
        if len(a) != len(b):
            return f"{path}: length {len(a)} vs {len(b)}"
        for i, (x, y) in enumerate(zip(a, b)):
            d = _first_difference(x, y, f"{path}[{i}]")
            if d:
                return d
        return None
    return None if a == b else f"{path}: {a!r} vs {b!r}"


@pytest.mark.parametrize("name", sorted(make.CASES))
def test_output_equals_the_golden_file(name, tmp_path):
    new = make.produce(name, tmp_path)
    old = (HERE / name).read_text()
    a, b = make.normalise(old), make.normalise(new)
    assert a == b, f"{name} differs from tests/golden/{name} at {_first_difference(a, b)}"
    # byte-identical apart from the normalised fields (layout, key order, float spelling included)
    assert _blank(new) == _blank(old), f"{name}: same values, different bytes"


def _blank(text: str) -> str:
    text = re.sub(r'"provenance": \{[^{}]*\}', '"provenance": {}', text)
    return re.sub(r'"seconds": [-+0-9.eE]+', '"seconds": 0', text)


def test_the_golden_files_exist_for_every_case():
    assert sorted(p.name for p in HERE.glob("*.json")) == sorted(make.CASES)
