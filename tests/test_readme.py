"""Every Python example in README.md runs (issue 10), in a fresh namespace,
from a temporary folder (examples may write files), and README teaches only
public names."""

import os
import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def test_readme_has_python_examples():
    assert len(BLOCKS) >= 2


@pytest.mark.parametrize("i", range(len(BLOCKS)))
def test_readme_python_block_runs(i, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code = compile(BLOCKS[i], f"README.md python block {i + 1}", "exec")
    exec(code, {"__name__": f"readme_block_{i}"})


def test_readme_and_notebooks_use_public_names_only():
    texts = [README.read_text()] + [p.read_text() for p in (README.parent / "notebooks").glob("*")
                                    if p.is_file()]
    assert not any(re.search(r"certify\._", t) for t in texts)
