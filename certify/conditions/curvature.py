"""``curvature`` [EC21-informal] (PAPER.md section 3): reported, never a verdict:
``m(t) = max(0, -lambda_min(Hf(theta(t))))`` along the certified GF (S3.1 on the
tube), ``int_0^T m``, and the section-3 [derived] bound
``(N-1) rho^(N-2) ||grad l||_F`` integrated (proofs/s3_homogeneous.py)."""

from __future__ import annotations

import numpy as np

from .._claims import claim_up, hi
from .._problem import Problem
from .._claims import as_arb
from .base import Hypothesis, Status


def check_curvature(problem: Problem, traj, traj_reason) -> Hypothesis:
    from flint import arb

    h = Hypothesis("curvature", "[EC21-informal]", Status.UNDETERMINED,
                   "reported, not a verdict: m(t) = max(0, -lambda_min(Hf(theta(t)))) along the certified GF "
                   "(S3.1 on the tube), int_0^T m, and the section-3 [derived] bound (N-1) rho^(N-2) ||grad l||_F; "
                   "EC21: along GF from near-zero init the curvature is almost non-negative")
    h.reported = True
    if traj is None:
        h.reason = traj_reason
        return h
    int_m = arb(0)
    int_s3 = arb(0)
    seg_list = []
    for seg in traj.segments:
        dt = as_arb(seg.t1 - seg.t0)
        int_m += arb(seg.base["mu"]) * dt
        int_s3 += arb(seg.base["s3"]) * dt
        seg_list.append([float(seg.t0), float(seg.t1), seg.base["mu"]])
    th0 = problem.theta0
    h.quantities = {
        "m_max_upper": max(seg.base["mu"] for seg in traj.segments),
        "int_m_upper": claim_up(hi(int_m)),
        "int_s3_bound_upper": claim_up(hi(int_s3)),
        "m_segments": seg_list,
        "init_scale_theta0_norm": float(np.linalg.norm(th0)),
        "init_scale_max_layer_norm2_estimate": max(float(np.linalg.norm(w, 2)) for w in problem.weights),
        "horizon": float(traj.T),
    }
    h.reason = "[EC21-informal]: quantities reported only (the informal claim has no verdict)"
    return h
