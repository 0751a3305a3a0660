"""Negative curvature (SPEC S3).

``m(theta) = max(0, -lambda_min(Hf(theta)))``.  S3.1: since ``Hl >= 0``,
``lambda_min(Hf) >= -||G||_2 lambda_max(C)`` with ``C`` the symmetric ``N x N``
matrix with zero diagonal and ``C_ij = ||W_{N:j+1}||_2 ||W_{j-1:i+1}||_2
||W_{i-1:1}||_2`` for ``i < j`` (proof: ``proofs/s3_1_curvature.py``).  It needs only
``Hl >= 0``, so it holds unchanged for the kernel losses (cross-entropy, logistic:
``proofs/ce_hessian_psd.py``), whose GF enclosure carries ``s_G`` in the tube (gap-v2.md
section 8).

This module holds the float64 *estimate* of S3.1 (spectral norms from LAPACK,
no rounding control) used for quick reports; the certified version over a tube
lives with the validated integrator and uses :mod:`certify.arith`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def s31_C(N: int, prod_norm) -> np.ndarray:
    """The matrix ``C`` of S3.1, given ``prod_norm(b, a)`` = (a bound of)
    ``||W_{b:a}||_2`` for 1-based layers ``a <= b``; the empty product has norm 1."""
    def pn(b, a):
        return 1.0 if b < a else prod_norm(b, a)

    C = np.zeros((N, N))
    for i in range(1, N + 1):
        for j in range(i + 1, N + 1):
            C[i - 1, j - 1] = C[j - 1, i - 1] = pn(N, j + 1) * pn(j - 1, i + 1) * pn(i - 1, 1)
    return C


def curvature_estimate(obj, theta) -> dict:
    """S3.1 evaluated in float64 (an ESTIMATE: no rounding control), plus the
    exact-in-theory ``lambda_min`` from a dense eigen-solve when small."""
    Ws = obj.weights(theta)
    N = obj.N
    P = obj.prefix_products(Ws)
    G = obj.grad_l(P[-1])
    g2 = float(np.linalg.norm(G, 2))
    def prod_norm(b, a):
        M = Ws[a - 1]
        for l in range(a, b):
            M = Ws[l] @ M
        return float(np.linalg.norm(M, 2))

    C = s31_C(N, prod_norm)
    lam_C = float(np.linalg.eigvalsh(C)[-1]) if N > 1 else 0.0
    return {"grad_l_norm2": g2, "lambda_max_C": lam_C, "mu_s31": g2 * lam_C}


def _require(problem) -> None:
    """The one-line refusal of a loss without a certified GF enclosure; the kernel losses
    (cross-entropy, logistic) are handled (S3.1 on the flow's tube with ``s_G``)."""
    if not problem.loss.is_kernel:
        problem.loss.require_certified("curvature profile")


def curvature_profile(problem, t_end: float = 10.0, checkpoints: int = 20) -> dict:
    """Negative curvature along the certified GF trajectory (PAPER.md section 3).

    - ``m_cert``: per integrator step ``[t0, t0 + h]``, the certified upper bound
      ``mu`` of ``-lambda_min(Hf)`` on the step's tube (S3.1, validated
      enclosure); ``int_m_upper`` = sum of ``mu h``, rounded up (certified);
    - ``m_est``: ``max(0, -lambda_min(Hf))`` at the enclosure centers from a dense
      eigen-solve (an ESTIMATE; small problems only);
    - ``bound_est``: the [derived] bound ``(N-1) rho^(N-2) ||grad l(W)||_F`` with
      ``rho = max_j ||W_j||_2`` at the centers (an ESTIMATE of the bound's value);
    - ``bound_balanced_est``: its balanced-trajectory form ``(N-1) ||W||_2^((N-2)/N)
      / sigma_min(W)^((N-1)/N) ||grad f||`` (valid on exactly balanced points);
    - ``int_*_est``: trapezoid integrals over the checkpoints (estimates).
    """
    from fractions import Fraction

    from flint import arb, fmpq

    from .._claims import hi
    from .._derivatives import Objective
    from ..flow import enclose_flow
    from .._problem import load_problem

    problem = load_problem(problem)
    _require(problem)
    enc = enclose_flow(problem, t_end, checkpoints=checkpoints)
    steps = [(float(s.t0), float(s.t0 + s.h), s.mu) for s in enc.steps]
    acc = arb(0)
    for s in enc.steps:
        acc += arb(s.mu) * arb(fmpq(s.h.numerator, s.h.denominator))
    obj = Objective(problem)
    N = problem.depth
    rows = []
    dense = problem.n_params <= 2000
    for c in enc.checkpoints:
        theta = np.asarray(c.center, dtype=np.float64)
        Ws = obj.weights(theta)
        rho = max(float(np.linalg.norm(W, 2)) for W in Ws)
        G = obj.grad_l(obj.prefix_products(Ws)[-1])
        bound = (N - 1) * rho ** (N - 2) * float(np.linalg.norm(G)) if N > 1 else 0.0
        # the balanced-trajectory form (PAPER.md section 3, proofs/s3_homogeneous.py (b)):
        # (N-1) ||W||_2^((N-2)/N) / sigma_min(W)^((N-1)/N) ||grad f||, W the end-to-end matrix
        sv = np.linalg.svd(obj.prefix_products(Ws)[-1], compute_uv=False)
        gnorm = float(np.linalg.norm(obj.grad(theta)))
        bal = ((N - 1) * sv[0] ** ((N - 2) / N) / sv[-1] ** ((N - 1) / N) * gnorm
               if N > 1 and sv[-1] > 0 else (0.0 if N == 1 else float("inf")))
        m_est = max(0.0, -float(np.linalg.eigvalsh(obj.hessian(theta))[0])) if dense else float("nan")
        mu = next((m for a, b, m in steps if a <= float(c.t) < b), steps[-1][2] if steps else 0.0)
        rows.append({"t": float(c.t), "loss_estimate": c.loss, "m_cert": mu, "m_est": m_est, "bound_est": bound,
                     "bound_balanced_est": bal})

    def trap(key):  # trapezoid rule over the checkpoints: an estimate
        return float(sum((b["t"] - a["t"]) * (a[key] + b[key]) / 2 for a, b in zip(rows, rows[1:])))

    return {"steps": steps, "rows": rows, "int_m_upper": hi(acc), "t_end": float(t_end),
            "radius": enc.checkpoints[-1].radius, "int_m_est": trap("m_est"), "int_bound_est": trap("bound_est"),
            "int_bound_balanced_est": trap("bound_balanced_est")}


@dataclass(frozen=True)
class CurvatureScaleRow:
    """One initialisation scale ``c`` of :func:`curvature_by_scale`: the certified
    ``int_0^T m`` (``None`` when it could not be certified, ``reason`` says why)
    and the loss at ``T`` (an estimate)."""

    scale: float
    int_m_upper: float | None
    loss_estimate: float | None
    reason: str = ""


def curvature_by_scale(problem, t_end: float = 10.0, scales=(1.0, 0.1, 0.01)) -> list[CurvatureScaleRow]:
    """``int_0^T m`` against the initialisation scale (PAPER.md section 3,
    [EC21-informal]: near-zero initialisation gives almost non-negative
    curvature).  For each ``c`` every layer of the initial point is multiplied
    by ``c^(1/N)``, so the end-to-end matrix scales by ``c`` and balancedness
    is kept; the certified integral comes from :func:`curvature_profile` with
    one checkpoint.  A scale that cannot be certified gives a row with its
    reason instead of an error."""
    from .._errors import CertifyError
    from .._problem import load_problem, problem_from_dict

    problem = load_problem(problem)
    _require(problem)  # an error, not one failed row per scale
    spec = problem.to_json()
    rows = []
    for sc in scales:
        f = sc ** (1.0 / problem.depth)
        spec["init"] = {"weights": [(np.asarray(w) * f).tolist() for w in problem.weights]}
        try:
            prof = curvature_profile(problem_from_dict(spec, name=f"scale {sc:g}"), t_end, 1)
        except CertifyError as e:
            rows.append(CurvatureScaleRow(sc, None, None, str(e)))
            continue
        rows.append(CurvatureScaleRow(sc, prof["int_m_upper"], prof["rows"][-1]["loss_estimate"]))
    return rows
