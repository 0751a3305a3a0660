"""Layering (issue 10): no import cycle among certify's modules, counting
function-level imports; no module imports another sub-package's private name
(a name starting with ``_``, a private module included); the checker imports
nothing of the producer but the problem loader and the shared limits."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent / "certify"


def _modules() -> dict:
    out = {}
    for p in ROOT.rglob("*.py"):
        parts = p.relative_to(ROOT.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = p
    return out


MODS = _modules()


def _package(mod: str) -> str:
    return mod if MODS[mod].name == "__init__.py" else mod.rsplit(".", 1)[0]


def _imports(mod: str):
    """``(target module, imported name or None)`` for every import in ``mod``, at any depth."""
    for node in ast.walk(ast.parse(MODS[mod].read_text())):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name in MODS:
                    yield a.name, None
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = _package(mod)
                for _ in range(node.level - 1):
                    base = base.rsplit(".", 1)[0]
                base = base + ("." + node.module if node.module else "")
            else:
                base = node.module or ""
            for a in node.names:
                sub = f"{base}.{a.name}"
                if sub in MODS:
                    yield sub, None
                elif base in MODS:
                    yield base, a.name


def _graph():
    return {m: {t for t, _ in _imports(m) if t != m} for m in MODS}


def _cycles(G):
    index, low, stack, on, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in G[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = set()
            while True:
                w = stack.pop()
                on.discard(w)
                comp.add(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in G:
        if v not in index:
            visit(v)
    return out


def _subpackage(mod: str) -> str:
    parts = mod.split(".")
    return ".".join(parts[:2]) if len(parts) > 1 and (ROOT / parts[1]).is_dir() else "certify"


def test_no_import_cycle():
    assert _cycles(_graph()) == []


def test_the_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


# the one shared bottom layer every sub-package may use (resource limits, errors, atomic writes)
SHARED = {"certify._limits", "certify._errors", "certify.certificates.writing", "certify._version", "certify._argtypes"}


def test_no_private_name_across_subpackages():
    bad = []
    for m in MODS:
        for target, name in _imports(m):
            if _subpackage(target) == _subpackage(m) or target in SHARED:
                continue
            private_module = target.rsplit(".", 1)[-1].startswith("_") and not target.endswith("__init__")
            if (name is not None and name.startswith("_") and not name.startswith("__")) or \
                    (name is None and private_module and _package(target) != _package(m)):
                bad.append(f"{m} imports {target}{'.' + name if name else ''}")
    assert bad == []


def test_checker_imports_nothing_of_the_producer_but_the_loader():
    """The loader: _problem (parsing, Problem), _losskinds (the loss-data objects), _datasets, _builtins."""
    allowed = {"certify._problem", "certify._losskinds", "certify._datasets", "certify._builtins"} | SHARED  # the loader
    bad = sorted({f"{m} -> {t}" for m in MODS if m.startswith("certify.check")
                  for t, _ in _imports(m) if not t.startswith("certify.check") and t not in allowed})
    assert bad == []


def test_no_test_module_imports_another_test_module():
    """Shared helpers live in tests/helpers/ (issue 10): a test file imports no test_* module."""
    import ast
    from pathlib import Path

    bad = []
    for f in sorted(Path(__file__).parent.glob("test_*.py")):
        for node in ast.walk(ast.parse(f.read_text())):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            bad += [f"{f.name}: {n}" for n in names if n.split(".")[0].startswith("test_")]
    assert not bad, bad


#: "no module above ~400 lines" (issue 10), with the tolerance the "~" allows
MAX_MODULE_LINES = 430
MAX_FUNCTION_LINES = 80


def test_no_module_above_the_size_limit():
    big = {m: n for m, p in MODS.items() if (n := len(p.read_text().splitlines())) > MAX_MODULE_LINES}
    assert big == {}


def test_every_long_function_says_why():
    """A function above MAX_FUNCTION_LINES carries a ``# long: <reason>`` comment at the top of its body."""
    bad = []
    for m, p in MODS.items():
        src = p.read_text().splitlines()
        for node in ast.walk(ast.parse("\n".join(src))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                n = node.end_lineno - node.lineno + 1
                first = node.body[0].end_lineno if ast.get_docstring(node) else node.lineno
                head = src[first:first + 3]
                if n > MAX_FUNCTION_LINES and not any(line.strip().startswith("# long:") for line in head):
                    bad.append(f"{m}.{node.name} ({n} lines)")
    assert bad == []


def test_every_subpackage_has_tests():
    """Tests mirror the layout (issue 10): every sub-package of certify is imported by some test module."""
    tests = [p.read_text() for p in (ROOT.parent / "tests").glob("test_*.py")]
    subs = sorted({m.split(".")[1] for m in MODS if m.count(".") >= 1 and MODS[m].name == "__init__.py"
                   and m.count(".") == 1})
    untested = [s for s in subs if not any(f"certify.{s}" in t or f"from certify import {s}" in t for t in tests)]
    assert subs and untested == []
