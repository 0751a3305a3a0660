"""The checker's verification of ``certify/distance-v1`` certificates (SPEC
S4.7; the contract is ``certify/schemas/distance-v1.md``).

The structure is validated first (``certify/schemas/distance-v1.json``).
Every run is re-verified exactly like the GD part of a gap certificate (the
float iterates recomputed, every segment claim confirmed, the S4.5 recursion
replayed); then each claimed distance must be the contract's bracket around
the rigorous distance of the checker's own float iterates.

Which runs and checkpoints there are (and how they relate: ratios, step
sizes, step counts) is structure and stops the check; every other claim that
is not confirmed goes to the tally and the check goes on.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from .._errors import CertificateError
from . import _arith as A
from . import _schema as SC
from . import _verify as V
from ._gd_check import blocks, check_gd, data_norm
from ._read import explicit_problem

SCHEMA = "certify/distance-v1"
STATEMENT = (
    "for each run i and checkpoint k of run 0: from_init_lower <= ||theta^(i)_{r_i k} - theta_0||_2 <= "
    "from_init_upper and (i > 0) dist_lower <= ||theta^(0)_k - theta^(i)_{r_i k}||_2 <= dist_upper, where "
    "theta^(i) is exact-arithmetic gradient descent with step runs[i].eta from the problem's initial point "
    "(flattened per S1) and r_i = runs[i].steps / runs[0].steps"
)
ITERATE_TOL = 1e-9


def check_distance(doc: dict, tally, strict: bool) -> dict:
    """Verify a distance-v1 document (never modified); returns the summary."""
    problem = explicit_problem(doc)
    SC.validate(doc, V.Invalid, "distance-v1")  # the structure (schemas/distance-v1.json)
    loss = V.Loss(problem)
    s_G = data_norm(doc, loss, tally)
    claims = V.field(doc, "claims", "certificate", dict)
    tally.n += 1
    if claims.get("statement") != STATEMENT:
        tally.fail("claims.statement: not the statement of certify/distance-v1 (the checker confirms only that one)")
    runs = V.field(doc, "runs", "certificate", list)
    crun = V.field(claims, "runs", "claims", list)
    if not runs or len(crun) != len(runs):
        raise V.Invalid("claims.runs: one entry per run is required")
    base, ratios, max_up = None, [], 0.0
    for i, (run, cl) in enumerate(zip(runs, crun)):
        pre = f"runs[{i}]."
        if not isinstance(run, dict) or not isinstance(cl, dict):
            raise CertificateError(f"{pre[:-1]}: expected an object")
        ratio = V.integer(cl, "ratio", f"claims.runs[{i}]", 1)
        tally.n += 1
        if cl.get("run") != i or (i == 0) != (ratio == 1) or ratio in ratios:
            raise V.Invalid(f"claims.runs[{i}]: run 0 has ratio 1, the others distinct ratios >= 2")
        ratios.append(ratio)
        eta, K, every, own, r_claim = _run(run, pre, ratio, base, problem, loss, s_G, tally, strict)
        if i == 0:
            base = (eta, K, every, sorted(set(range(0, K + 1, every)) | {K}), own, r_claim)
        max_up = max(max_up, _points(cl, f"claims.runs[{i}]", i, ratio, base, own, r_claim, problem, tally))
    tally.n += 1
    if V.num(claims, "max_dist_upper", "claims") != max_up:
        tally.fail("claims.max_dist_upper: is not the largest dist_upper")
    return {"distance": True, "runs": len(runs), "steps": sum(r["steps"] for r in runs), "max_dist_upper": max_up}


def _run(run: dict, pre: str, ratio: int, base, problem, loss, s_G, tally, strict):
    """One run's GD part (as in a gap certificate) and its checkpoints (the
    stored iterates, the claimed ``r``); returns ``(eta, K, every, own
    iterates {k: theta}, r claims)``.  ``base``: run 0's ``(eta, K, every, ks, ...)``."""
    eta = V.num(run, "eta", pre[:-1])
    if not eta > 0:
        raise CertificateError(f"{pre}eta: must be > 0")
    K = V.integer(run, "steps", pre[:-1], 1)
    every = V.integer(run, "every", pre[:-1], 1)
    R = V.integer(run, "refresh", pre[:-1], 1)
    tally.n += 2
    if run.get("eta_hex") != eta.hex():
        tally.fail(f"{pre}eta_hex: does not match eta = {eta!r}")
    if base is None:
        ks = sorted(set(range(0, K + 1, every)) | {K})
    elif eta != base[0] / ratio or K != ratio * base[1] or every != ratio * base[2]:
        raise V.Invalid(f"{pre}: eta, steps and every must be runs[0]'s / r, * r and * r (r = {ratio})")
    else:
        ks = [ratio * k for k in base[3]]
    segs = V.field(run, "segments", pre[:-1], list)
    refs = V.field(run, "refs", pre[:-1], list)
    s42_end = V.integer(run, "s42_end", pre[:-1], 0)
    if len(segs) != K:
        raise V.Invalid(f"{pre}segments: {len(segs)} entries for {K} steps")
    if s42_end != 0:
        tally.fail(f"{pre}s42_end: distance certificates carry no S4.2 claims (must be 0)")
    starts = blocks(refs, K, R, tally, pre)
    its, r_claim, _ = check_gd(problem, loss, s_G, eta, K, refs, segs, starts, ks, 0, tally, strict, pre)
    cps = V.field(run, "checkpoints", pre[:-1], list)
    if [c.get("k") if isinstance(c, dict) else None for c in cps] != ks:
        raise V.Invalid(f"{pre}checkpoints: expected k = {ks[:3]}...")
    own = {}
    for j, (c, k) in enumerate(zip(cps, ks)):
        cw = f"{pre}checkpoints[{j}]"
        stored = V.hexvec(c.get("theta_hex"), problem.n_params, f"{cw}.theta_hex")
        mine = np.concatenate([w.reshape(-1) for w in its[k]])
        tally.n += 2
        if not A.fro_diff_up(mine, stored) <= ITERATE_TOL * (1 + float(np.linalg.norm(stored))):
            tally.fail(f"{cw}.theta_hex: differs from the recomputed iterate (k = {k})")
        if V.num(c, "r", cw) != r_claim[k]:
            tally.fail(f"{cw}.r: is not segments[{k - 1}].r")
        own[k] = mine
    return eta, K, every, own, r_claim


def _points(cl: dict, cw: str, i: int, ratio: int, base, own, r_claim, problem, tally) -> float:
    """Run ``i``'s claimed distances from the initial point and (``i > 0``) to
    run 0 at run 0's checkpoints; returns the largest claimed ``dist_upper``."""
    from flint import arb

    eta0, ks0, base_its, base_r = base[0], base[3], base[4], base[5]
    pts = V.field(cl, "points", cw, list)
    if [p.get("k") if isinstance(p, dict) else None for p in pts] != ks0:
        raise V.Invalid(f"{cw}.points: expected k = {ks0[:3]}...")
    max_up = 0.0
    for j, (p, k0) in enumerate(zip(pts, ks0)):
        pw, k = f"{cw}.points[{j}]", ratio * k0
        tally.n += 1
        if V.frac(p.get("t_exact"), f"{pw}.t_exact") != Fraction(eta0) * k0:
            tally.fail(f"{pw}.t_exact: is not k * runs[0].eta")
        d_lo, d_hi = V.dist_bounds(own[k], problem.theta0)
        rk = arb(r_claim[k])
        V.consistent_down(f"{pw}.from_init_lower", V.num(p, "from_init_lower", pw),
                          max(0.0, A.lo(arb(d_lo) - rk)), tally)
        V.consistent_up(f"{pw}.from_init_upper", V.num(p, "from_init_upper", pw), A.hi(arb(d_hi) + rk), tally)
        if i == 0:
            if "dist_lower" in p or "dist_upper" in p:
                tally.fail(f"{pw}: run 0 has no distance to itself")
            continue
        e_lo, e_hi = V.dist_bounds(base_its[k0], own[k])
        rad = arb(base_r[k0]) + rk
        up = V.num(p, "dist_upper", pw)
        V.consistent_down(f"{pw}.dist_lower", V.num(p, "dist_lower", pw), max(0.0, A.lo(arb(e_lo) - rad)), tally)
        V.consistent_up(f"{pw}.dist_upper", up, A.hi(arb(e_hi) + rad), tally)
        max_up = max(max_up, up)
    return max_up
