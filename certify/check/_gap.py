"""The checker of ``certify/gap-v2`` certificates (certify/schemas/gap-v2.md):
the structure (JSON Schema, the statement, which checkpoints, segments and
reference points there are), the GD part (:mod:`._gd_check`), the flow
enclosure (section 4, :mod:`._flowcheck`) and every checkpoint claim.

The structure, and an evaluation time outside the steps, stop the check
(:class:`Invalid`, exit 1) or refuse the file as malformed
(:class:`certify.CertificateError`, exit 2); every other claim that is not
confirmed is reported to the tally and the check goes on.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np

from .._errors import CertificateError
from . import _arith as A
from . import _flowcheck as F
from . import _schema as SC
from . import _verify as V
from ._gd_check import blocks, check_gd, data_norm
from ._read import explicit_problem

SCHEMA = "certify/gap-v2"
STATEMENT = (
    "for each checkpoint k: gap_lower <= ||theta_k - theta(k eta)||_2 <= gap_upper, where "
    "theta_k is exact-arithmetic gradient descent with step eta and theta(t) the exact "
    "gradient flow, both from the problem's initial point (flattened per S1)"
)
ITERATE_TOL = 1e-9


def check_gap(doc: dict, tally, strict: bool = False) -> dict:
    """Verify a gap-v2 document (never modified); returns the summary."""
    problem = explicit_problem(doc)
    SC.validate(doc, V.Invalid, "gap-v2")  # the structure (schemas/gap-v2.json): unknown keys refused
    eta = V.num(doc, "eta", "certificate")
    if eta <= 0:
        raise CertificateError(f"certificate.eta: must be > 0, got {eta!r}")
    tally.n += 1
    if doc.get("eta_hex") != eta.hex():
        tally.fail(f"eta_hex: {doc.get('eta_hex')!r} does not match eta = {eta!r}")
    K = V.integer(doc, "steps", "certificate", 1)
    every = V.integer(doc, "every", "certificate", 1)
    R = V.integer(doc, "refresh", "certificate", 1)
    claims = V.field(doc, "claims", "certificate", dict)
    tally.n += 1
    if claims.get("statement") != STATEMENT:
        tally.fail("claims.statement: not the statement of certify/gap-v2 (the checker confirms only that one)")
    cps = V.field(claims, "checkpoints", "claims", list)
    segs = V.field(doc, "segments", "certificate", list)
    refs = V.field(doc, "refs", "certificate", list)
    flow = V.field(doc, "flow", "certificate", dict)
    s42_end = V.integer(doc, "s42_end", "certificate", 0)
    if len(segs) != K:
        raise V.Invalid(f"segments: {len(segs)} entries for {K} steps")
    if "partial" in doc:  # a certified prefix (certify gap --partial): K is where it ends
        _check_partial(V.field(doc, "partial", "certificate", dict), K, tally)
    ks = sorted(set(range(0, K + 1, every)) | {K})
    if [c.get("k") if isinstance(c, dict) else None for c in cps] != ks:
        bad = next((i for i, (c, k) in enumerate(zip(cps, ks)) if not isinstance(c, dict) or c.get("k") != k), len(ks))
        raise V.Invalid(f"claims.checkpoints[{bad}].k: expected the checkpoints {ks[:4]}... every {every} steps")
    tally.n += len(ks)
    starts = blocks(refs, K, R, tally)
    eta_q = Fraction(eta)
    loss = V.Loss(problem)
    s_G = data_norm(doc, loss, tally)
    gd = check_gd(problem, loss, s_G, eta, K, refs, segs, starts, ks, s42_end, tally, strict)
    gf = _check_flow(flow, loss, s_G, eta_q, K, ks, cps, problem, tally, strict)
    max_up = 0.0
    for i, (c, k) in enumerate(zip(cps, ks)):
        max_up = max(max_up, _checkpoint(c, f"claims.checkpoints[{i}]", k, eta_q, gd, gf[k], s42_end, problem,
                                         loss, tally))
    tally.n += 1
    if V.num(claims, "max_gap_upper", "claims") != max_up:
        tally.fail(f"claims.max_gap_upper: {claims.get('max_gap_upper')!r} is not the largest gap_upper ({max_up!r})")
    return {"steps": K, "flow_steps": len(flow["steps"]), "checkpoints": len(ks), "max_gap_upper": max_up}


def _check_partial(part: dict, K: int, tally) -> None:
    tally.n += 1
    if (set(part) != {"requested_steps", "stopped_at_step", "reason"}
            or V.integer(part, "requested_steps", "partial", 1) <= K
            or not K < V.integer(part, "stopped_at_step", "partial", 1) <= part["requested_steps"]
            or not isinstance(part["reason"], str)):
        tally.fail("partial: must say requested_steps > steps, steps < stopped_at_step <= requested_steps "
                   "and the reason")


def _checkpoint(c: dict, cw: str, k: int, eta_q: Fraction, gd, gf_k, s42_end: int, problem, loss, tally) -> float:
    """One checkpoint's claims (time, stored iterate and GF ball, the S4.4 gap
    bracket, the S4.2 bound, the loss estimate); returns its claimed ``gap_upper``."""
    from flint import arb

    iterates, r_claim, e_claim = gd
    n_params = problem.n_params
    t_exact = V.frac(c.get("t_exact"), f"{cw}.t_exact")
    tally.n += 2
    if t_exact != eta_q * k:
        tally.fail(f"{cw}.t_exact: {c.get('t_exact')} is not k * eta")
    if V.num(c, "t", cw) != float(eta_q * k):
        tally.fail(f"{cw}.t: {c.get('t')!r} is not k * eta rounded to nearest")
    stored = V.hexvec(c.get("theta_hex"), n_params, f"{cw}.theta_hex")
    own = np.concatenate([w.reshape(-1) for w in iterates[k]])
    tally.n += 1
    dev = A.fro_diff_up(own, stored)
    if not dev <= ITERATE_TOL * (1 + float(np.linalg.norm(stored))):
        tally.fail(f"{cw}.theta_hex: the stored iterate differs from the recomputed one by {dev:.3g}")
    center, radius = gf_k
    gcen = V.hexvec(c.get("gf_center_hex"), n_params, f"{cw}.gf_center_hex")
    tally.n += 2
    if not np.array_equal(gcen, center):
        tally.fail(f"{cw}.gf_center_hex: differs from flow.evals' center for k = {k}")
    if V.num(c, "gf_radius", cw) != radius:
        tally.fail(f"{cw}.gf_radius: differs from flow.evals' radius for k = {k}")
    # ||theta^_k - gf_center||, a rigorous interval; the two balls' radii around it
    dist_lo, dist_hi = V.dist_bounds(own, gcen)
    r_k = r_claim[k]
    two = A.hi(arb(dist_hi) + arb(radius) + arb(r_k))
    s42 = A.hi(arb(e_claim[k]) + arb(r_k)) if k <= s42_end else math.inf
    gu = V.num(c, "gap_upper", cw)
    V.consistent_up(f"{cw}.gap_upper", gu, min(two, s42), tally)
    gl = V.num(c, "gap_lower", cw)
    V.consistent_down(f"{cw}.gap_lower", gl, max(0.0, A.lo(arb(dist_lo) - arb(radius) - arb(r_k))), tally)
    if k <= s42_end:
        V.consistent_up(f"{cw}.gap_upper_s42", V.num(c, "gap_upper_s42", cw), s42, tally)
    elif c.get("gap_upper_s42") is not None:
        tally.fail(f"{cw}.gap_upper_s42: claimed after s42_end = {s42_end}")
    # the loss is an estimate (float evaluation at the float iterate)
    own_loss = _float_loss(iterates[k], loss, problem)
    tally.n += 1
    if not abs(V.num(c, "loss", cw) - own_loss) <= 1e-9 * max(1.0, abs(own_loss)):
        tally.fail(f"{cw}.loss: {c.get('loss')!r} is not the loss at the iterate ({own_loss!r})")
    return gu


def _float_loss(Ws, loss, problem) -> float:
    P = Ws[0]
    for w in Ws[1:]:
        P = w @ P
    if loss.kernel is not None:
        return loss.kernel.loss(P)
    if loss.square:
        c = problem.loss.float_stats[2]
        return 0.5 * float(np.vdot(P @ loss.Sxx_f, P)) - float(np.vdot(P, loss.Syx_f)) + c
    D = P - loss.Phi
    return 0.5 * float(np.vdot(D, D))


def _check_flow(flow, loss, s_G, eta_q, K, ks, cps, problem, tally, strict=False) -> dict:
    """Section 4: every step re-verified, every evaluation's radius confirmed;
    returns ``{k: (gf_center, radius)}`` (the claimed ones) for the checkpoints."""
    from flint import arb

    p = V.integer(flow, "order", "flow", 1)
    steps = V.field(flow, "steps", "flow", list)
    evals = V.field(flow, "evals", "flow", list)
    if not steps:
        raise V.Invalid("flow.steps: no steps")
    T = eta_q * K
    if len(evals) != len(ks) or [e.get("k") if isinstance(e, dict) else None for e in evals] != ks:
        raise V.Invalid("flow.evals: one evaluation per checkpoint is required, in order")
    by_step = {}
    for i, ev in enumerate(evals):
        by_step.setdefault(V.integer(ev, "step", f"flow.evals[{i}]", 0), []).append(i)
    centers = [np.array(w, dtype=np.float64) for w in problem.weights]
    t, e0_x, out = Fraction(0), 0.0, {}
    for n_i, st in enumerate(steps):
        sw = f"flow.steps[{n_i}]"
        t0, h, a, e1 = F.verify_step(st, sw, n_i == 0, t, T, p, centers, e0_x, loss, s_G, strict, tally)
        for i in by_step.get(n_i, []):
            tk, ew = eta_q * ks[i], f"flow.evals[{i}]"
            tally.n += 1
            inside = t0 <= tk <= t0 + h
            if not inside:
                tally.fail(f"{ew}.step: k eta = {float(tk)!r} is not in step {n_i}")
            gc = V.hexvec(cps[i].get("gf_center_hex"), problem.n_params, f"claims.checkpoints[{i}].gf_center_hex")
            radius = V.num(evals[i], "radius", ew)
            out[ks[i]] = (gc, radius)
            if not inside:  # the step's Taylor model says nothing at k eta: no radius to confirm
                continue
            if tk == 0:
                req = A.fro_diff_up(np.concatenate([c.reshape(-1) for c in centers]), gc)
            else:
                yb = F.horner(a, tk - t0)
                mid = np.concatenate([m.reshape(-1) for m, _ in yb])
                dev = A.vec_norm_up([A.fro_up(np.zeros_like(r), r) for _, r in yb])
                req = A.hi(arb(e1) + arb(A.fro_diff_up(mid, gc)) + arb(dev))
            V.truth(f"{ew}.radius", radius, req, tally)
        centers, e0_x = F.verify_step_end(st, sw, a, h, e1, tally)
        t = t0 + h
    tally.n += 1
    if t != T:
        tally.fail(f"flow.steps: the enclosure ends at t = {float(t)!r}, not at K eta = {float(T)!r}")
    missing = [k for k in ks if k not in out]
    if missing:
        raise V.Invalid(f"flow.evals: no verified evaluation for checkpoint k = {missing[0]}")
    return out
