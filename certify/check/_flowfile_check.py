"""The checker's verification of ``certify/flow-v1`` files (``certify flow``):
each validated step is re-verified with the checker's own Taylor models and
S3.1/S3.3 bounds exactly as the flow part of a gap-v2 certificate
(``schemas/gap-v2.md`` section 4); at every checkpoint the written center
must be the checker's own step-end center and the written radius at least
the replayed ``e1 + jump`` (kernel losses: a center that differs in the last
bits is accepted when the radius also covers its distance from the checker's
own).  Float64 enclosures only: an Arb enclosure
(``--backend arb``) would need an Arb replay of its candidate, which this
checker does not have; such files are refused as not checkable (exit 2).
The structure of a float64 file is validated first
(``certify/schemas/flow-v1.json``).  Which steps and checkpoints there are
is structure and stops the check; every other claim that is not confirmed
goes to the tally and the check goes on.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from .._errors import CertificateError
from . import _arith as A
from . import _flowcheck as F
from . import _schema as SC
from . import _verify as V
from ._read import explicit_problem

SCHEMA = "certify/flow-v1"
CLAIM = ("for every checkpoint, ||theta(t) - center||_2 <= radius, theta the exact gradient-flow "
         "solution of the problem (flattened per S1)")


def check_flowfile(doc: dict, tally, strict: bool) -> dict:
    """Verify a float64 flow-v1 document (never modified); returns the summary."""
    if doc.get("backend") != "float64":
        raise CertificateError(f"certificate.backend: {doc.get('backend')!r} enclosures are not re-checkable by this "
                               "checker (it replays float64 candidates only); re-run certify flow with --backend float64")
    problem = explicit_problem(doc)
    SC.validate(doc, V.Invalid, "flow-v1")  # the structure (schemas/flow-v1.json): unknown keys refused
    tally.n += 1
    if doc.get("claim") != CLAIM:
        tally.fail("claim: not the claim of certify/flow-v1 (the checker confirms only that one)")
    loss = V.Loss(problem)
    s_G = loss.own_s_G  # nothing claimed in a flow file: the checker's own bound
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
        tally.n += 2
        if not np.array_equal(stored, own_center):
            if loss.kernel is None:
                tally.fail(f"{cw}.center: is not the step-end center the checker recomputes")
            else:
                # kernel losses (gap-v2.md section 8): two float candidates need not agree to the last
                # bit; theta(t) is within radius_needed of the checker's own center, so the stored
                # ball holds if the radius also covers the distance between the two centers
                from flint import arb

                radius_needed = A.hi(arb(radius_needed) + arb(V.dist_bounds(own_center, stored)[1]))
        V.truth(f"{cw}.radius", V.num(c, "radius", cw), radius_needed, tally)

    if Fraction(0) in by_t:
        confirm(Fraction(0), np.concatenate([w.reshape(-1) for w in centers]), 0.0)
    t = Fraction(0)
    e0_x = 0.0
    for n_i, st in enumerate(steps):
        sw = f"steps[{n_i}]"
        t0, h, a, e1 = F.verify_step(st, sw, n_i == 0, t, T, None, centers, e0_x, loss, s_G, strict, tally)
        centers, e0_x = F.verify_step_end(st, sw, a, h, e1, tally)
        t = t0 + h
        if t in by_t:
            confirm(t, np.concatenate([c.reshape(-1) for c in centers]), e0_x)
    tally.n += 1
    if t != T:
        tally.fail(f"steps: the enclosure ends at t = {float(t)!r}, not at t_end")
    for t_left in sorted(by_t):
        tally.fail(f"checkpoints[{by_t[t_left][0]}].t_exact: no step ends at t = {float(t_left)!r}")
    return {"flow": True, "flow_steps": len(steps), "checkpoints": len(cps), "t_end": float(T),
            "max_radius": max(V.num(c, "radius", "checkpoint") for c in cps)}
