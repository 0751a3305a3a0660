"""Every notebook in notebooks/ (jupytext percent-format ``.py`` sources) executes
headless at the CI size without an error output and saves at least one figure.

The notebooks assert their own claims (certificates check VALID, brackets contain
the estimates, ...), so a library regression fails here.  Each one runs in a fresh
``python3`` kernel with ``CERTIFY_NOTEBOOK_SIZE=ci``, ``CERTIFY_NOTEBOOK_FIGURES``
set to the test's temporary folder (also the kernel's working directory) and
``MPLBACKEND=Agg``.
"""

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

jupytext = pytest.importorskip("jupytext")
nbclient = pytest.importorskip("nbclient")

NOTEBOOK_DIR = Path(__file__).parent.parent / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.py"))
EXPECTED = ("01_quickstart", "02_paper_figure", "03_small_step_needed", "04_deep_linear_theorem",
            "05_property_testing")
TIMEOUT = 600  # seconds per cell


def _execute(path: Path, tmp_path: Path, monkeypatch):
    nb = jupytext.reads(path.read_text(encoding="utf-8"), fmt="py:percent")
    # the kernel inherits this process's environment
    monkeypatch.setenv("CERTIFY_NOTEBOOK_SIZE", "ci")
    monkeypatch.setenv("CERTIFY_NOTEBOOK_FIGURES", str(tmp_path))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    client = nbclient.NotebookClient(nb, timeout=TIMEOUT, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    try:
        client.execute()
    except nbclient.exceptions.CellExecutionError as e:  # the error output is in the cell; report it
        pytest.fail(f"{path.name} failed:\n{e}", pytrace=False)
    return nb


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_executes_and_saves_figures(path, tmp_path, monkeypatch):
    nb = _execute(path, tmp_path, monkeypatch)
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
              if o.get("output_type") == "error"]
    assert not errors, f"{path.name}: " + "; ".join(f"{o.get('ename')}: {o.get('evalue')}" for o in errors)
    pngs = sorted(tmp_path.rglob("*.png"))
    assert pngs, f"{path.name} wrote no PNG into CERTIFY_NOTEBOOK_FIGURES"
    assert all(p.stat().st_size > 0 for p in pngs)


def test_the_five_notebooks_exist():
    stems = {p.stem for p in NOTEBOOKS}
    missing = [s for s in EXPECTED if s not in stems]
    assert not missing, f"missing notebooks: {missing}"


def test_notebooks_are_percent_format_sources():
    for p in NOTEBOOKS:
        text = p.read_text(encoding="utf-8")
        assert "format_name: percent" in text and "# %%" in text, p.name
        nb = jupytext.reads(text, fmt="py:percent")
        kinds = {c.cell_type for c in nb.cells}
        assert kinds == {"markdown", "code"}, (p.name, kinds)  # prose and code, as a notebook


def test_no_ipynb_is_committed():
    """The .py files are the sources: paired .ipynb files (with outputs) stay out of git."""
    root = NOTEBOOK_DIR.parent
    if not (root / ".git").exists() or shutil.which("git") is None:
        pytest.skip("not a git checkout")
    out = subprocess.run(["git", "ls-files", "--", "notebooks/*.ipynb", "notebooks/**/*.ipynb"], cwd=root,
                         capture_output=True, text=True)
    if out.returncode != 0:
        pytest.skip(f"git ls-files failed: {out.stderr.strip()}")
    assert not out.stdout.strip(), f"committed .ipynb files: {out.stdout.split()}"


def test_notebooks_import_only_public_names():
    import certify
    import certify.experiments
    import certify.strategies

    public = {"certify": set(certify.__all__) | {"strategies", "experiments", "__version__"},
              "certify.strategies": set(certify.strategies.__all__),
              "certify.experiments": set(certify.experiments.__all__)}
    for p in sorted(NOTEBOOK_DIR.rglob("*")):  # what `grep -rn "certify\._" notebooks/` sees
        if p.is_file():
            assert "certify._" not in p.read_text(encoding="utf-8", errors="replace"), f"{p} names a private module"
    for p in NOTEBOOKS:
        text = p.read_text(encoding="utf-8")
        code = "\n".join(line.split("#", 1)[0] for line in text.splitlines())  # not the markdown / comments
        for module, name in re.findall(r"\b(certify(?:\.strategies|\.experiments)?)\.([A-Za-z_]\w*)", code):
            if module == "certify" and name in ("strategies", "experiments"):
                continue
            assert name in public[module], f"{p.name}: {module}.{name} is not public"
        for m in re.finditer(r"^\s*from (certify[\w.]*) import \(?([^)\n]*)", code, flags=re.M):
            module = m.group(1)
            assert module in public, f"{p.name}: imports from {module}"
            names = [n.strip().split(" as ")[0] for n in m.group(2).split(",")]
            bad = [n for n in names if n and n not in public[module]]
            assert not bad, f"{p.name}: from {module} import {bad} (not public)"
        for m in re.finditer(r"^\s*import (certify[\w.]*)", code, flags=re.M):
            assert m.group(1) in public, f"{p.name}: import {m.group(1)}"


def test_notebooks_use_no_forced_backend():
    for p in NOTEBOOKS:
        text = p.read_text(encoding="utf-8")
        assert "matplotlib.use(" not in text, p.name
