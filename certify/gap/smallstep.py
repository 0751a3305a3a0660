"""Exponentially small steps can be necessary (PAPER.md section 2).

- ``concave-quadratic``: ``f(theta) = -mu theta^2 / 2`` (not a deep linear
  network, so it has its own closed forms): GF ``theta0 exp(mu t)``, GD
  ``theta0 (1 + eta mu)^k``.  The gap at ``t = k eta`` is evaluated in Arb
  (certified, both sides), and :func:`required_eta` finds, for a horizon
  ``t`` and a tolerance ``eps``, the largest ``eta = t / k`` whose certified
  gap is ``<= eps`` — against the [derived] estimate
  ``2 eps exp(-mu t) / (theta0 mu^2 t)``.
- ``builtin:saddle``: a bounded deep linear instance started next to a strict
  saddle; its certified gaps (``certify_gap``) beside the favourable
  ``builtin:demo`` show the same mechanism inside a compact region.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .._claims import ARB_PREC
from .._claims import hi, lo
from .._errors import UsageError

SOURCE = "[derived] PAPER.md section 2 (closed forms, Arb)"


def concave_gap(mu: float, theta0: float, eta: float, k: int) -> tuple[float, float]:
    """Certified ``[lower, upper]`` of ``|theta0 exp(mu k eta) - theta0 (1 + eta mu)^k|``
    (exact arithmetic on the given doubles)."""
    from flint import arb

    from ..arith import get_context

    with get_context("arb", prec=ARB_PREC):
        M, E, T0 = arb(mu), arb(eta), arb(theta0)
        gf = T0 * (M * E * k).exp()
        gd = T0 * (1 + E * M) ** k
        d = abs(gf - gd)
        return max(0.0, lo(d)), hi(d)


def required_eta(mu: float, theta0: float, t: float, eps: float) -> tuple[float, int, float]:
    """The largest ``eta = t / k`` (``k`` a positive integer) with certified gap at
    ``t`` at most ``eps`` (the gap at fixed ``t`` decreases with ``k``:
    ``(1 + mu t/k)^k`` increases to ``exp(mu t)``), its ``k``, and the [derived]
    estimate ``2 eps exp(-mu t) / (theta0 mu^2 t)``."""
    if not (mu > 0 and theta0 > 0 and t > 0 and eps > 0):
        raise UsageError("mu, theta0, t and eps must be > 0")

    def ok(k):
        return concave_gap(mu, theta0, t / k, k)[1] <= eps

    k = 1
    while not ok(k):
        k *= 2
        if k > 2**62:
            raise UsageError("the required number of steps exceeds 2^62")
    lo_k, hi_k = k // 2, k  # ok(hi_k), not ok(lo_k) (or lo_k = 0)
    while hi_k - lo_k > 1:
        mid = (lo_k + hi_k) // 2
        if ok(mid):
            hi_k = mid
        else:
            lo_k = mid
    est = 2 * eps * math.exp(-mu * t) / (theta0 * mu * mu * t)
    return t / hi_k, hi_k, est


@dataclass
class SmallStepRow:
    problem: str
    t: float
    eta: float
    gap_lower: float
    gap_upper: float
    source: str


def gap_table(etas=(0.1, 0.03, 0.01), horizon: float = 8.0, mu: float = 1.0, theta0: float = 0.01):
    """Certified gaps at ``t = horizon`` against ``eta`` for the concave quadratic,
    ``builtin:saddle`` and ``builtin:demo``."""
    from .run import certify_gap
    from .._problem import load_problem

    rows = []
    for eta in etas:
        k = int(round(horizon / eta))
        lo_, hi_ = concave_gap(mu, theta0, eta, k)
        rows.append(SmallStepRow("concave-quadratic", k * eta, eta, lo_, hi_, SOURCE))
    for name in ("builtin:saddle", "builtin:demo"):
        prob = load_problem(name)
        for eta in etas:
            k = int(round(horizon / eta))
            cert = certify_gap(prob, eta, k, every=k)
            c = cert.checkpoints[-1]
            rows.append(SmallStepRow(name, k * eta, eta, c.gap_lower, c.gap_upper, "certified gap (S4.4)"))
    return rows


def gap_against_t(eta: float = 0.01, horizon: float = 8.0, points: int = 4):
    """Certified gap against ``t`` at a fixed ``eta`` on ``builtin:saddle`` and
    ``builtin:demo``: ``[(problem, t, lower, upper), ...]``."""
    from .run import certify_gap
    from .._problem import load_problem

    K = int(round(horizon / eta))
    out = []
    for name in ("builtin:saddle", "builtin:demo"):
        cert = certify_gap(load_problem(name), eta, K, every=max(1, K // points))
        out += [(name, float(c.t), c.gap_lower, c.gap_upper) for c in cert.checkpoints if c.k > 0]
    return out


HORIZONS = (1.0, 2.0, 4.0, 8.0, 12.0, 16.0)


@dataclass(frozen=True)
class SmallStepStudy:
    """PAPER.md section 2 in one object (what ``certify smallstep`` prints):

    - ``required``: per horizon ``t``, ``(t, eta, k, estimate)`` from
      :func:`required_eta` on the concave quadratic;
    - ``gaps``: :func:`gap_table` (certified gaps at a fixed horizon against eta);
    - ``gaps_against_t``: :func:`gap_against_t` (``builtin:saddle`` and
      ``builtin:demo`` at ``eta = 0.01``)."""

    mu: float
    theta0: float
    eps: float
    required: tuple
    gaps: tuple
    gaps_against_t: tuple
    source: str = SOURCE


def smallstep_study(*, mu: float = 1.0, theta0: float = 0.01, eps: float = 1e-3,
                    horizons=HORIZONS) -> SmallStepStudy:
    """The largest certified eta against the horizon on ``f = -mu theta^2/2``
    from ``theta0`` with tolerance ``eps``, and the certified gaps on the
    concave quadratic, ``builtin:saddle`` and ``builtin:demo``."""
    required = tuple((t, *required_eta(mu, theta0, t, eps)) for t in horizons)
    return SmallStepStudy(mu, theta0, eps, required, tuple(gap_table(mu=mu, theta0=theta0)),
                          tuple(gap_against_t()))
