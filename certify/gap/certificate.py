"""The ``certify/gap-v2`` certificate object (gap-v2.md; SPEC S4.4): checkpoints with their two-sided
bracket, the segments, the flow data, and its JSON document."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np

from .._sealed import Sealed
from .._claims import hi, lo
from .._claims import claim_down, claim_up, float_distance
from ..certificates.provenance import provenance
from .._claims import frac_str as _frac_str
from .._lossdata import split_to_json
from .._problem import Problem


SCHEMA = "certify/gap-v2"


@dataclass
class GapCheckpoint(Sealed):
    k: int
    t: Fraction
    theta: np.ndarray
    loss: float
    e: float  # S4.2 bound for the float iterate
    r: float  # S4.5 radius of the exact GD iterate
    gf_center: np.ndarray
    gf_radius: float
    gap_upper: float
    gap_lower: float
    gap_upper_s42: float
    dist_lo: float = 0.0  # lower bound of ||theta^_k - gf_center|| (for the vacuity test)


@dataclass
class GapCertificate(Sealed):
    problem: Problem
    eta: float
    steps: int
    every: int
    refresh: int
    checkpoints: list = field(default_factory=list)
    segments: list = field(default_factory=list)
    refs: list = field(default_factory=list)
    flow: object = None
    evals: list = field(default_factory=list)
    sxx_norm2: float | None = None
    loss_bounds: dict | None = None  # kernel losses: {"s_G", "s_F"} (gap-v2.md section 8)
    data_split: object = None  # certify.bounds.s31.DataSplit (S3.4-data) or None
    s42_end: int = 0
    drift: list = field(default_factory=list)  # balancedness drift at checkpoints (estimate)
    partial: dict | None = None  # set when the certificate covers only a prefix (certify_gap(partial=True))

    @property
    def max_gap_upper(self) -> float:
        return max(c.gap_upper for c in self.checkpoints)

    def to_json(self) -> dict:
        N = self.problem.depth
        cps = [{
            "k": c.k, "t": float(c.t), "t_exact": _frac_str(c.t), "gap_upper": c.gap_upper,
            "gap_lower": c.gap_lower, "gap_upper_s42": c.gap_upper_s42 if math.isfinite(c.gap_upper_s42) else None,
            "loss": c.loss,
            "theta_hex": [float(x).hex() for x in c.theta],
            "gf_center_hex": [float(x).hex() for x in c.gf_center], "gf_radius": c.gf_radius,
        } for c in self.checkpoints]
        return {
            "schema": SCHEMA,
            "problem": self.problem.to_json(),
            "eta": self.eta, "eta_hex": float(self.eta).hex(), "steps": self.steps, "every": self.every,
            "refresh": self.refresh,
            "claims": {
                "statement": (
                    "for each checkpoint k: gap_lower <= ||theta_k - theta(k eta)||_2 <= gap_upper, where "
                    "theta_k is exact-arithmetic gradient descent with step eta and theta(t) the exact "
                    "gradient flow, both from the problem's initial point (flattened per S1)"
                ),
                "lemmas": ["S3.1", "S4.1", "S4.2", "S4.3", "S4.4", "S4.5", "S4.6"],
                "checkpoints": cps,
                "max_gap_upper": self.max_gap_upper,
            },
            "refs": [r.to_json() for r in self.refs],
            "segments": self.segments,
            "s42_end": self.s42_end,
            "flow": self.flow,
            "sxx": None if self.sxx_norm2 is None else {"norm2": self.sxx_norm2},
            **({} if self.loss_bounds is None else {"loss_bounds": self.loss_bounds}),
            **({} if self.data_split is None else {"data_split": split_to_json(self.data_split)}),
            **({"partial": self.partial} if self.partial else {}),
            "provenance": provenance(),
        }


def record_checkpoint(cert, problem, k, eta_q, Ws):
    """The float iterate at checkpoint ``k`` (bounds are filled in later)."""
    from .._derivatives import Objective

    theta = np.concatenate([w.reshape(-1) for w in Ws])
    loss = float(Objective(problem).loss(theta))
    cert.checkpoints.append(GapCheckpoint(k, eta_q * k, theta, loss, math.inf, math.inf, None, math.inf,
                                          math.inf, 0.0, math.inf))


def finish_checkpoint(c, e, r, gfv):
    """Two-sided bound at a checkpoint (S4.4) and the one-sided one (S4.2)."""
    from flint import arb

    center, radius = gfv
    dist_lo, dist_hi = float_distance(c.theta, center)
    c.dist_lo = dist_lo
    two_sided = hi(arb(dist_hi) + arb(radius) + arb(r))
    s42 = hi(arb(e) + arb(r)) if math.isfinite(e) else math.inf
    c.e, c.r, c.gf_center, c.gf_radius = e, r, center, radius
    c.gap_upper = claim_up(min(s42, two_sided))
    c.gap_lower = claim_down(max(0.0, lo(arb(dist_lo) - arb(radius) - arb(r))))
    c.gap_upper_s42 = claim_up(s42) if math.isfinite(s42) else math.inf
