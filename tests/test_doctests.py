"""The examples in docstrings run (issue 10): every ``>>>`` in certify's
modules is executed as a doctest, so a README-style example cannot rot."""

import doctest
import importlib
import pkgutil

import pytest

import certify


def _modules():
    names = ["certify"]
    for info in pkgutil.walk_packages(certify.__path__, "certify."):
        names.append(info.name)
    return sorted(n for n in names if not n.endswith("__main__"))


MODULES = _modules()


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name):
    mod = importlib.import_module(name)
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    for test in finder.find(mod, name):
        if test.examples:
            runner.run(test)
    res = runner.summarize(verbose=False)
    assert res.failed == 0, f"{name}: {res.failed} of {res.attempted} docstring examples failed (run with -s)"


def test_some_modules_have_examples():
    finder = doctest.DocTestFinder(exclude_empty=True)
    n = sum(len(t.examples) for m in MODULES for t in finder.find(importlib.import_module(m), m))
    assert n >= 5
