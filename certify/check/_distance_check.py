"""The checker's verification of ``certify/distance-v1`` certificates (SPEC
S4.7; the contract is ``certify/schemas/distance-v1.md``).

The structure is validated first (``certify/schemas/distance-v1.json``).
Every run is re-verified exactly like the GD part of a gap certificate (the
float iterates recomputed, every segment claim confirmed, the S4.5 recursion
replayed); then each claimed distance must be the contract's bracket around
the rigorous distance of the checker's own float iterates.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from .._errors import CertificateError
from . import _arith as A
from . import _schema as SC
from . import _verify as V

SCHEMA = "certify/distance-v1"
STATEMENT = (
    "for each run i and checkpoint k of run 0: from_init_lower <= ||theta^(i)_{r_i k} - theta_0||_2 <= "
    "from_init_upper and (i > 0) dist_lower <= ||theta^(0)_k - theta^(i)_{r_i k}||_2 <= dist_upper, where "
    "theta^(i) is exact-arithmetic gradient descent with step runs[i].eta from the problem's initial point "
    "(flattened per S1) and r_i = runs[i].steps / runs[0].steps"
)
ITERATE_TOL = 1e-9


def _dist(a: np.ndarray, b: np.ndarray):
    """Rigorous ``(lo, hi)`` of ``||a - b||`` (float vectors taken as exact)."""
    from flint import arb

    d = a - b
    n = d.size
    S = arb(float(d @ d)) * arb(1, A.gamma(n + 1)) + arb(0, n * 2.0**-1070)
    d_hi = A.hi(arb(A.hi(S)).sqrt() / (1 - arb(A.U)))
    d_lo = max(0.0, A.lo(arb(max(0.0, A.lo(S))).sqrt() / (1 + arb(A.U))))
    return d_lo, d_hi


def check_distance(doc: dict, stats, strict: bool, explicit_problem, data_norm, blocks, check_gd) -> dict:
    """Verify a distance-v1 document; the gap checker's helpers are passed in
    (problem loader, ``s_G``, block structure, one GD run's verification)."""
    from flint import arb

    problem = explicit_problem(doc)
    SC.validate(doc, V.Invalid, "distance-v1")  # the structure (schemas/distance-v1.json)
    loss = V.Loss(problem)
    s_G = data_norm(doc, loss, stats)
    claims = V.field(doc, "claims", "certificate", dict)
    stats[0] += 1
    if claims.get("statement") != STATEMENT:
        raise V.Invalid("claims.statement: not the statement of certify/distance-v1 (the checker confirms only that one)")
    runs = V.field(doc, "runs", "certificate", list)
    crun = V.field(claims, "runs", "claims", list)
    if not runs or len(crun) != len(runs):
        raise V.Invalid("claims.runs: one entry per run is required")
    theta0 = problem.theta0
    base_its, base_r, ks0, eta0, K0 = None, None, None, None, None
    max_up = 0.0
    ratios = []
    for i, (run, cl) in enumerate(zip(runs, crun)):
        pre = f"runs[{i}]."
        if not isinstance(run, dict) or not isinstance(cl, dict):
            raise CertificateError(f"{pre[:-1]}: expected an object")
        ratio = V.integer(cl, "ratio", f"claims.runs[{i}]", 1)
        stats[0] += 1
        if cl.get("run") != i or (i == 0) != (ratio == 1) or ratio in ratios:
            raise V.Invalid(f"claims.runs[{i}]: run 0 has ratio 1, the others distinct ratios >= 2")
        ratios.append(ratio)
        eta = V.num(run, "eta", pre[:-1])
        if not eta > 0:
            raise CertificateError(f"{pre}eta: must be > 0")
        K = V.integer(run, "steps", pre[:-1], 1)
        every = V.integer(run, "every", pre[:-1], 1)
        R = V.integer(run, "refresh", pre[:-1], 1)
        stats[0] += 2
        if run.get("eta_hex") != eta.hex():
            raise V.Invalid(f"{pre}eta_hex: does not match eta = {eta!r}")
        if i == 0:
            eta0, K0, every0 = eta, K, every
            ks0 = sorted(set(range(0, K + 1, every)) | {K})
        elif eta != eta0 / ratio or K != ratio * K0 or every != ratio * every0:
            raise V.Invalid(f"{pre}: eta, steps and every must be runs[0]'s / r, * r and * r (r = {ratio})")
        ks = [ratio * k for k in ks0]
        segs = V.field(run, "segments", pre[:-1], list)
        refs = V.field(run, "refs", pre[:-1], list)
        s42_end = V.integer(run, "s42_end", pre[:-1], 0)
        if len(segs) != K:
            raise V.Invalid(f"{pre}segments: {len(segs)} entries for {K} steps")
        if s42_end != 0:
            raise V.Invalid(f"{pre}s42_end: distance certificates carry no S4.2 claims (must be 0)")
        starts = blocks(refs, K, R, stats, pre)
        its, r_claim, _ = check_gd(problem, loss, s_G, eta, K, refs, segs, starts, ks, 0, stats, strict, pre)
        cps = V.field(run, "checkpoints", pre[:-1], list)
        if [c.get("k") if isinstance(c, dict) else None for c in cps] != ks:
            raise V.Invalid(f"{pre}checkpoints: expected k = {ks[:3]}...")
        own = {}
        for c, k in zip(cps, ks):
            stored = V.hexvec(c.get("theta_hex"), problem.n_params, f"{pre}checkpoints[k={k}].theta_hex")
            mine = np.concatenate([w.reshape(-1) for w in its[k]])
            stats[0] += 2
            if not A.fro_diff_up(mine, stored) <= ITERATE_TOL * (1 + float(np.linalg.norm(stored))):
                raise V.Invalid(f"{pre}checkpoints[k={k}].theta_hex: differs from the recomputed iterate")
            if V.num(c, "r", f"{pre}checkpoints[k={k}]") != r_claim[k]:
                raise V.Invalid(f"{pre}checkpoints[k={k}].r: is not segments[{k - 1}].r")
            own[k] = mine
        pts = V.field(cl, "points", f"claims.runs[{i}]", list)
        if [p.get("k") if isinstance(p, dict) else None for p in pts] != ks0:
            raise V.Invalid(f"claims.runs[{i}].points: expected k = {ks0[:3]}...")
        for p, k0, k in zip(pts, ks0, ks):
            pw = f"claims.runs[{i}].points[k={k0}]"
            stats[0] += 1
            if V.frac(p.get("t_exact"), f"{pw}.t_exact") != Fraction(eta0) * k0:
                raise V.Invalid(f"{pw}.t_exact: is not k * runs[0].eta")
            d_lo, d_hi = _dist(own[k], theta0)
            rk = arb(r_claim[k])
            V.consistent_down(f"{pw}.from_init_lower", V.num(p, "from_init_lower", pw),
                              max(0.0, A.lo(arb(d_lo) - rk)), stats)
            V.consistent_up(f"{pw}.from_init_upper", V.num(p, "from_init_upper", pw), A.hi(arb(d_hi) + rk), stats)
            if i == 0:
                if "dist_lower" in p or "dist_upper" in p:
                    raise V.Invalid(f"{pw}: run 0 has no distance to itself")
                continue
            e_lo, e_hi = _dist(base_its[k0], own[k])
            rad = arb(base_r[k0]) + rk
            up = V.num(p, "dist_upper", pw)
            V.consistent_down(f"{pw}.dist_lower", V.num(p, "dist_lower", pw), max(0.0, A.lo(arb(e_lo) - rad)), stats)
            V.consistent_up(f"{pw}.dist_upper", up, A.hi(arb(e_hi) + rad), stats)
            max_up = max(max_up, up)
        if i == 0:
            base_its, base_r = {k: own[k] for k in ks0}, {k: r_claim[k] for k in ks0}
    stats[0] += 1
    if V.num(claims, "max_dist_upper", "claims") != max_up:
        raise V.Invalid("claims.max_dist_upper: is not the largest dist_upper")
    return {"distance": True, "runs": len(runs), "steps": sum(r["steps"] for r in runs), "max_dist_upper": max_up}
