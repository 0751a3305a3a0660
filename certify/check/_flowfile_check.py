"""The checker's verification of ``certify/flow-v1`` files (``certify flow``):
each validated step is re-verified with the checker's own Taylor models and
S3.1/S3.3 bounds exactly as the flow part of a gap-v2 certificate
(``schemas/gap-v2.md`` section 4); at every checkpoint the written center
must be the checker's own step-end center and the written radius at least
the replayed ``e1 + jump``.  Float64 enclosures only: an Arb enclosure
(``--backend arb``) would need an Arb replay of its candidate, which this
checker does not have; such files are refused as not checkable (exit 2).
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from .._errors import CertificateError
from . import _arith as A
from . import _flowcheck as F
from . import _verify as V

SCHEMA = "certify/flow-v1"
CLAIM = ("for every checkpoint, ||theta(t) - center||_2 <= radius, theta the exact gradient-flow "
         "solution of the problem (flattened per S1)")


def check_flowfile(doc: dict, stats, strict: bool, explicit_problem) -> dict:
    from flint import arb

    if doc.get("backend") != "float64":
        raise CertificateError(f"certificate.backend: {doc.get('backend')!r} enclosures are not re-checkable by this "
                               "checker (it replays float64 candidates only); re-run certify flow with --backend float64")
    stats[0] += 1
    if doc.get("claim") != CLAIM:
        raise V.Invalid("claim: not the claim of certify/flow-v1 (the checker confirms only that one)")
    problem = explicit_problem(doc)
    loss = V.Loss(problem)
    s_G = loss.sxx_norm2 if loss.square else 1.0
    T = V.frac(doc.get("t_end_exact"), "t_end_exact")
    steps = V.field(doc, "steps", "certificate", list)
    cps = V.field(doc, "checkpoints", "certificate", list)
    if not steps or not cps:
        raise V.Invalid("steps/checkpoints: an enclosure needs both")
    by_t = {}
    for i, c in enumerate(cps):
        if not isinstance(c, dict):
            raise CertificateError(f"checkpoints[{i}]: expected an object")
        t = V.frac(c.get("t_exact"), f"checkpoints[{i}].t_exact")
        if t in by_t:
            raise V.Invalid(f"checkpoints[{i}]: duplicate time {c.get('t_exact')}")
        by_t[t] = (i, c)
    n_params = problem.n_params
    centers = [np.array(w, dtype=np.float64) for w in problem.weights]

    def confirm(t, own_center, radius_needed):
        i, c = by_t.pop(t)
        cw = f"checkpoints[{i}]"
        vals = V.field(c, "center", cw, list)
        if len(vals) != n_params:
            raise CertificateError(f"{cw}.center: expected {n_params} numbers")
        stored = np.array([V.num({"x": x}, "x", f"{cw}.center", nonneg=False) for x in vals])
        stats[0] += 2
        if not np.array_equal(stored, own_center):
            raise V.Invalid(f"{cw}.center: is not the step-end center the checker recomputes")
        V.truth(f"{cw}.radius", V.num(c, "radius", cw), radius_needed, stats)

    if Fraction(0) in by_t:
        confirm(Fraction(0), np.concatenate([w.reshape(-1) for w in centers]), 0.0)
    t = Fraction(0)
    e0_x = 0.0
    for n_i, st in enumerate(steps):
        sw = f"steps[{n_i}]"
        if not isinstance(st, dict):
            raise CertificateError(f"{sw}: expected an object")
        t0, h = V.frac(st.get("t0"), f"{sw}.t0"), V.frac(st.get("h"), f"{sw}.h")
        p = V.integer(st, "order", sw, 1)
        stats[0] += 1
        if t0 != t or not h > 0 or t0 + h > T:
            raise V.Invalid(f"{sw}: the steps do not cover [0, t_end] contiguously")
        e0 = V.num(st, "e0", sw)
        if n_i == 0:
            stats[0] += 1
            if e0 != 0.0:
                raise V.Invalid(f"{sw}.e0: the flow starts at the initial point (e0 must be 0)")
        else:
            V.consistent_up(f"{sw}.e0", e0, e0_x, stats)
        a = F.candidate(centers, p, loss)
        if any(A.nonfinite(x) for x in a):
            raise V.Invalid(f"{sw}: the Taylor candidate overflows")
        delta_own, motion = F.defect_bound(a, p, h, loss, strict)
        delta, rho, mu = V.num(st, "delta", sw), V.num(st, "rho", sw), V.num(st, "mu", sw)
        V.truth(f"{sw}.delta", delta, delta_own, stats)
        V.truth(f"{sw}.mu", mu, F.s31_mu(centers, motion, rho, loss, s_G), stats)
        Hq, M = A.qarb(h), arb(mu)
        growth = Hq if mu == 0 else (M * Hq).expm1() / M
        e1 = V.num(st, "e1", sw)
        V.consistent_up(f"{sw}.e1", e1, A.hi((M * Hq).exp() * arb(e0) + arb(delta) * growth), stats)
        stats[0] += 1
        if not e1 < rho:
            raise V.Invalid(f"{sw}.rho: the tube is not valid (e1 = {e1!r} >= rho = {rho!r})")
        yb = F.horner(a, h)
        jump = V.num(st, "jump", sw)
        V.truth(f"{sw}.jump", jump, A.vec_norm_up([A.fro_up(np.zeros_like(r), r) for _, r in yb]), stats)
        e0_x = A.hi(arb(e1) + arb(jump))
        centers = [m for m, _ in yb]
        t = t0 + h
        if t in by_t:
            confirm(t, np.concatenate([c.reshape(-1) for c in centers]), e0_x)
    stats[0] += 1
    if t != T:
        raise V.Invalid(f"steps: the enclosure ends at t = {float(t)!r}, not at t_end")
    if by_t:
        raise V.Invalid(f"checkpoints: no step ends at t = {float(min(by_t))!r}")
    return {"flow": True, "flow_steps": len(steps), "checkpoints": len(cps), "t_end": float(T),
            "max_radius": max(V.num(c, "radius", "checkpoint") for c in cps)}
