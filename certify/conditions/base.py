"""Results of ``certify conditions``: the status enumeration, one verdict
(:class:`Hypothesis`), the report (:class:`ConditionsReport`), and the rule
that turns a certified margin enclosure into a status (package docstring).

>>> Status("holds") is Status.HOLDS and Status.HOLDS == "holds"
True
>>> h = Hypothesis("x", "[derived]", Status.UNDETERMINED, "an example")
>>> _set_margin(h, lower=0.5, upper=1.0)
>>> h.status, h.margin <= 0.5
(<Status.HOLDS: 'holds'>, True)
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np

from .._sealed import Sealed
from .._claims import claim_down, claim_up, hi, lo
from .._problem import Problem

SCHEMA = "certify/conditions-v1"


class Status(enum.StrEnum):
    """A verdict.  The values are the strings of the JSON output and the CLI table."""

    HOLDS = "holds"  # the certified margin is > 0 (or an exact equality holds)
    FAILS = "fails"  # the certified margin is < 0 (or an exact equality is violated / a precondition fails)
    UNDETERMINED = "undetermined"  # anything else, and every [EC21-informal] statement


STATUSES = tuple(s.value for s in Status)
SOURCES = ("[ACGH19]", "[derived]", "[EC21-informal]")
NAMES = (
    "balancedness", "deficiency_margin", "acgh19_balancedness", "acgh19_step_size", "smoothness",
    "curvature", "edge_of_stability", "ec21_gap_theorem", "scalar_output_bad_set",
)


@dataclass
class Hypothesis:
    """One verdict.  ``margin_lower``/``margin_upper`` enclose the margin (certified;
    ``None`` when unknown); ``status`` follows from them (package docstring)."""

    name: str
    source: str
    status: Status
    meaning: str
    margin: float | None = None
    margin_lower: float | None = None
    margin_upper: float | None = None
    exact: bool = False
    reported: bool = False
    reason: str | None = None
    warning: str | None = None
    quantities: dict = field(default_factory=dict)

    def __post_init__(self):
        self.status = Status(self.status)

    def to_json(self) -> dict:
        return {
            "name": self.name, "source": self.source, "status": Status(self.status).value,
            "margin": _num(self.margin), "margin_lower": _num(self.margin_lower),
            "margin_upper": _num(self.margin_upper), "exact": self.exact, "reported": self.reported,
            "meaning": self.meaning, "reason": self.reason, "warning": self.warning,
            "quantities": _clean(self.quantities),
        }


@dataclass
class ConditionsReport(Sealed):
    problem: Problem
    eta: float | None
    eps: float | None
    t_end: float | None
    horizon: float
    hypotheses: list = field(default_factory=list)
    seconds: float = 0.0
    notes: list = field(default_factory=list)

    def __getitem__(self, name: str) -> Hypothesis:
        for h in self.hypotheses:
            if h.name == name:
                return h
        raise KeyError(name)

    def to_json(self) -> dict:
        from ..certificates.provenance import provenance

        return {
            "schema": SCHEMA,
            "problem": self.problem.to_json(),
            "inputs": {"eta": self.eta, "eps": self.eps, "t_end": self.t_end},
            "horizon": self.horizon,
            "conventions": {
                "status": "holds only if margin_lower > 0; fails only if margin_upper < 0 (exact equalities: "
                          "exact rational arithmetic, 'exact': true); else undetermined",
                "margin": "certified bound on the verdict's side: margin_upper if fails, else margin_lower",
                "sources": {"[ACGH19]": "published theorem, published constants",
                            "[derived]": "proved in proofs/ (explicit constants)",
                            "[EC21-informal]": "the paper's informal claim: quantities reported, never 'holds'"},
            },
            "hypotheses": [h.to_json() for h in self.hypotheses],
            "notes": self.notes,
            "seconds": self.seconds,
            "provenance": provenance(),
        }


def _num(x):
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def _clean(v):
    if isinstance(v, dict):
        return {k: _clean(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_clean(x) for x in v]
    if isinstance(v, Fraction):
        return float(v)
    if isinstance(v, (float, np.floating)):
        return _num(v)
    if isinstance(v, np.integer):
        return int(v)
    return v


# ---------------------------------------------------------------------------
# margin -> status
# ---------------------------------------------------------------------------


def _verdict(mlo, mhi) -> Status:
    """The status of certified float bounds ``mlo <= margin <= mhi`` (``None``: unknown)."""
    if mlo is not None and mlo > 0:
        return Status.HOLDS
    if mhi is not None and mhi < 0:
        return Status.FAILS
    return Status.UNDETERMINED


def _set_margin(h: Hypothesis, ball=None, *, lower=None, upper=None, precondition: bool = True):
    """Fill the margin fields from an arb ball (or explicit float bounds) and the status.
    ``precondition`` False forbids 'holds' (e.g. no certified c > 0)."""
    if ball is not None:
        lower, upper = lo(ball), hi(ball)
    h.margin_lower = None if lower is None or not math.isfinite(lower) else claim_down(lower)
    h.margin_upper = None if upper is None or not math.isfinite(upper) else claim_up(upper)
    st = _verdict(h.margin_lower, h.margin_upper)
    if st is Status.HOLDS and not precondition:
        st = Status.UNDETERMINED
    h.status = st
    h.margin = h.margin_upper if st is Status.FAILS else h.margin_lower


def _set_min_margin(h: Hypothesis, c_ball, m_ball):
    """Margin ``min(c, m)`` for a hypothesis that needs ``c > 0`` and ``m > 0``."""
    _set_margin(h, lower=min(lo(c_ball), lo(m_ball)), upper=min(hi(c_ball), hi(m_ball)))


def _set_exact(h: Hypothesis, status: Status):
    """An exact equality decided in rational arithmetic: margin exactly 0."""
    h.status, h.margin, h.margin_lower, h.margin_upper, h.exact = status, 0.0, 0.0, 0.0, True
