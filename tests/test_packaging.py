"""Packaging (issue 10): what a non-editable install contains.

The wheel is built from the working tree (no network: no build isolation) and
its file list inspected: the schemas and contracts ship, proofs/ installs as
``certify.proofs`` and never as a top-level package, and the explicit package
list in pyproject.toml names every sub-package of certify/ (a forgotten one
would be missing from an install).
"""

import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _config():
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]


def test_package_list_names_every_subpackage():
    cfg = _config()
    on_disk = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "certify").rglob("__init__.py")
               if "__pycache__" not in p.parts}
    listed = set(cfg["packages"])
    assert on_disk | {"certify.proofs"} == listed, (on_disk, listed)
    assert cfg["package-dir"] == {"certify.proofs": "proofs"}


@pytest.fixture(scope="module")
def wheel_names(tmp_path_factory):
    out = tmp_path_factory.mktemp("wheel")
    # a private copy of the sources: setuptools builds in <source>/build, and two test workers
    # building from the same tree at once collide there
    src = tmp_path_factory.mktemp("src") / "certify-src"
    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(".git", "build", "*.egg-info", "__pycache__", "tests",
                                                             "notebooks", ".hypothesis", ".pytest_cache"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(src), "--no-deps", "--no-build-isolation",
                    "-q", "-w", str(out)], check=True, capture_output=True, timeout=600)
    (whl,) = out.glob("certify-*.whl")
    with zipfile.ZipFile(whl) as z:
        return set(z.namelist())


def test_wheel_ships_schemas_and_contracts(wheel_names):
    for p in (ROOT / "certify" / "schemas").iterdir():
        if p.suffix in (".json", ".md"):
            assert f"certify/schemas/{p.name}" in wheel_names


def test_wheel_has_proofs_inside_certify_only(wheel_names):
    tops = {n.split("/")[0] for n in wheel_names if not n.split("/")[0].endswith(".dist-info")}
    assert tops == {"certify"}, tops
    for p in (ROOT / "proofs").glob("*.py"):
        assert f"certify/proofs/{p.name}" in wheel_names
