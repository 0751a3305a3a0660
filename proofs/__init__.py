"""Lemmas the tool relies on, one module each (see SPEC.md section numbers).

Every module defines

- ``LEMMA``: the SPEC section it proves or checks (``"S2.1"``, ...);
- ``TITLE``: a short name; ``STATEMENT``: the precise statement;
  ``HYPOTHESES``: what it assumes; ``PROOF``: the written proof or the
  description of the exact/symbolic check;
- ``check(**overrides) -> str``: runs the exact or symbolic check and returns a
  one-line summary; raises :class:`ProofFailure` if the check fails.  Keyword
  overrides let tests inject a deliberately wrong formula to show that the
  check can fail.

:func:`run_all` runs every module (this is what ``certify proofs`` prints).
"""

from __future__ import annotations

import importlib
import pkgutil
import time
from dataclasses import dataclass


class ProofFailure(AssertionError):
    """A lemma's check found a counterexample or a mismatch."""


@dataclass
class ProofResult:
    lemma: str
    title: str
    statement: str
    status: str  # "pass" | "FAIL"
    seconds: float
    detail: str
    module: str


def modules() -> list:
    """All proof modules, sorted by lemma number."""
    out = []
    for info in pkgutil.iter_modules(__path__):
        if info.name.startswith("_"):
            continue
        mod = importlib.import_module(f"{__name__}.{info.name}")
        if hasattr(mod, "LEMMA") and hasattr(mod, "check"):
            out.append(mod)
    return sorted(out, key=lambda m: _key(m.LEMMA))


def _key(lemma: str):
    parts = []
    for p in lemma.lstrip("S").replace("-", ".").split("."):
        parts.append((0, int(p)) if p.isdigit() else (1, p))
    return parts


def run(mod, **overrides) -> ProofResult:
    t0 = time.perf_counter()
    try:
        detail = mod.check(**overrides)
        status = "pass"
    except ProofFailure as e:
        detail, status = f"{e}", "FAIL"
    return ProofResult(
        mod.LEMMA, mod.TITLE, mod.STATEMENT, status, time.perf_counter() - t0, str(detail),
        mod.__name__,
    )


def run_all(progress=None) -> list[ProofResult]:
    results = []
    for mod in modules():
        results.append(run(mod))
        if progress is not None:
            progress(results[-1])
    return results
