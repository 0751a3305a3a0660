"""The grid of ``certify sweep`` (format: the docstring of
:mod:`certify.experiments.sweep`): :func:`parse_grid` turns a parsed TOML
document into :class:`SweepTask` s, :func:`load_grid` reads a file,
:func:`example_grid` finds a shipped one."""

from __future__ import annotations

import copy
import hashlib
import json
import math
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

import certify

GRID_KEYS = {"name", "problems", "seeds", "etas", "horizons", "checkpoints", "allow_vacuous"}
MAX_TASKS = 100_000


@dataclass(frozen=True)
class SweepTask:
    id: str
    problem: str  # the grid's name for it
    source: object  # builtin:NAME, absolute path, or an inline spec (dict)
    seed: int | None
    eta: float
    steps: int
    T: float
    every: int
    allow_vacuous: bool


@dataclass(frozen=True)
class Grid:
    name: str
    tasks: tuple
    path: Path | None = None


def _bad(msg):
    return certify.UsageError(f"grid: {msg}")


def _list(sweep, key, kind, required=True):
    if key not in sweep:
        if required:
            raise _bad(f"sweep.{key} is missing")
        return None
    v = sweep[key]
    if not isinstance(v, list) or not v:
        raise _bad(f"sweep.{key} must be a non-empty list, got {v!r}")
    out = []
    for x in v:
        if kind == "number":
            if isinstance(x, bool) or not isinstance(x, (int, float)) or not math.isfinite(x) or x <= 0:
                raise _bad(f"sweep.{key} must hold finite numbers > 0, got {x!r}")
            out.append(float(x))
        elif kind == "seed":
            if isinstance(x, bool) or not isinstance(x, int) or x < 0:
                raise _bad(f"sweep.{key} must hold integers >= 0, got {x!r}")
            out.append(int(x))
        else:
            if not isinstance(x, str) or not x:
                raise _bad(f"sweep.{key} must hold non-empty strings, got {x!r}")
            out.append(x)
    if len(set(out)) != len(out):
        raise _bad(f"sweep.{key} has duplicates: {v!r}")
    return out


def _slug(s: str) -> str:
    s = s.split(":", 1)[-1]
    s = Path(s).stem if ("/" in s or s.endswith((".json", ".toml"))) else s
    return re.sub(r"[^A-Za-z0-9._-]+", "_", s)[:40] or "problem"


def parse_grid(doc: dict, base: Path | None = None, name: str = "") -> Grid:
    """The tasks of a grid document (the parsed TOML); :class:`certify.UsageError` naming the bad key."""
    if not isinstance(doc, dict):
        raise _bad("expected a table")
    extra = set(doc) - {"sweep", "problems"}
    if extra:
        raise _bad(f"unknown top-level key(s) {', '.join(sorted(extra))} (expected [sweep] and [problems.NAME])")
    sweep = doc.get("sweep")
    if not isinstance(sweep, dict):
        raise _bad("the [sweep] table is missing")
    extra = set(sweep) - GRID_KEYS
    if extra:
        raise _bad(f"unknown key(s) sweep.{', sweep.'.join(sorted(extra))} (known: {', '.join(sorted(GRID_KEYS))})")
    inline = doc.get("problems", {})
    if not isinstance(inline, dict) or any(not isinstance(v, dict) for v in inline.values()):
        raise _bad("[problems.NAME] must be tables (problem specifications)")
    problems = _list(sweep, "problems", "str")
    seeds = _list(sweep, "seeds", "seed", required=False)
    etas = _list(sweep, "etas", "number")
    horizons = _list(sweep, "horizons", "number")
    cps = sweep.get("checkpoints", 10)
    if isinstance(cps, bool) or not isinstance(cps, int) or cps < 1:
        raise _bad(f"sweep.checkpoints must be an integer >= 1, got {cps!r}")
    allow_vacuous = sweep.get("allow_vacuous", False)
    if not isinstance(allow_vacuous, bool):
        raise _bad(f"sweep.allow_vacuous must be true or false, got {allow_vacuous!r}")
    gname = sweep.get("name", name)
    if not isinstance(gname, str):
        raise _bad(f"sweep.name must be a string, got {gname!r}")
    n = len(problems) * len(seeds or [None]) * len(etas) * len(horizons)
    if n > MAX_TASKS:
        raise _bad(f"{n} tasks is more than {MAX_TASKS}; split the grid")
    tasks = []
    for p in problems:
        if p in inline:
            source = copy.deepcopy(inline[p])
        elif p.startswith("builtin:"):
            source = p
        else:
            path = Path(p)
            source = str(path if path.is_absolute() or base is None else (base / path).resolve())
        for seed in seeds or [None]:
            for eta in etas:
                for T in horizons:
                    K = max(1, round(T / eta))
                    every = max(1, K // cps)
                    key = json.dumps([p, json.dumps(source, sort_keys=True), seed, eta.hex(), K, every,
                                      allow_vacuous])
                    h = hashlib.sha1(key.encode()).hexdigest()[:8]
                    tid = f"{_slug(p)}-s{'-' if seed is None else seed}-eta{eta:.3g}-T{T:g}-{h}"
                    tasks.append(SweepTask(tid, p, source, seed, eta, K, eta * K, every, allow_vacuous))
    return Grid(gname, tuple(tasks))


def load_grid(path) -> Grid:
    """Read a grid TOML file (:class:`certify.UsageError` on a missing, unreadable or malformed file)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise certify.UsageError(f"no such grid file: {p}") from None
    except (OSError, UnicodeDecodeError) as e:
        raise certify.UsageError(f"cannot read grid {p}: {getattr(e, 'strerror', None) or e}") from None
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise certify.UsageError(f"grid {p} is not valid TOML ({e})") from None
    g = parse_grid(doc, base=p.resolve().parent, name=p.stem)
    return Grid(g.name, g.tasks, p)


def example_grid(name: str = "example") -> Path:
    """Path of a grid shipped with the package (``example``, ``paper-seeds``)."""
    p = Path(__file__).with_name("grids") / f"{name}.toml"
    if not p.is_file():
        names = sorted(q.stem for q in p.parent.glob("*.toml"))
        raise certify.UsageError(f"no shipped grid {name!r} (have: {', '.join(names)})")
    return p
