"""``deficiency_margin`` [ACGH19]: ``c = sigma_min(Phi) - ||W_{N:1}(0) - Phi||_F``
(ACGH19 needs ``c > 0``), and the target ``Phi`` it is about.

``sigma_min(Phi)^2 = lambda_min(Gram)`` is enclosed by a verified positive
definiteness test of ``Gram - s I`` (LDL^T in Arb: every pivot certainly
positive) from below and an exact Rayleigh quotient from above.  For the data
loss, ``Phi = Syx`` when ``Sxx = I`` exactly, else undetermined.  The kernel losses
(cross-entropy, logistic) have no target: undetermined, the theorem assumes the whitened loss."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._problem import Problem
from .._claims import as_arb
from ._numeric import (_end_to_end, _hull, _layer_mats, _nonneg, _pair, _phi_arb, _q, _qmat, _sqrt, _sumsq,
                       certainly_positive)
from .base import Hypothesis, Status, _set_margin

MAX_LDL = 400  # verified positive-definiteness test up to this size
MEANING = "margin c = sigma_min(Phi) - ||W_{N:1}(0) - Phi||_F; ACGH19 needs c > 0"


@dataclass
class Deficiency:
    """What ACGH19 Theorem 1 needs besides ``delta``: the target (``Phi`` an
    ``fmpq_mat``, or ``None`` with the reason ``why``), and when ``c`` is known the
    balls ``c``, ``||Phi||_F`` and ``l(0)``."""

    Phi: object = None
    why: str | None = None
    c: object = None
    phiF: object = None
    l0: object = None
    #: the theorem assumes another loss (kernel losses): the reason every ACGH19 hypothesis gives
    loss_reason: str | None = None


def whitened_only(kind: str, what: str) -> str:
    """The reason of a hypothesis that assumes the whitened square loss, for the ``kind`` loss."""
    return (f"assumes the whitened square loss l(W) = ||W - Phi||_F^2 / 2: {what}; the {kind} loss has no "
            "target Phi, so the statement does not apply (undetermined)")


def _target(problem: Problem):
    """``(Phi as fmpq_mat, None)`` or ``(None, reason)``."""
    from flint import fmpq_mat

    loss = problem.loss
    if loss.is_kernel:
        return None, whitened_only(loss.kind, "ACGH19 Theorem 1 (PAPER.md section 4) measures the deficiency "
                                              "margin c = sigma_min(Phi) - ||W_{N:1}(0) - Phi||_F against its target")
    if not loss.has_stats:
        return _qmat(loss.target), None
    Sxx, Syx, _ = loss.exact_stats
    d0 = Sxx.nrows()
    eye = fmpq_mat(d0, d0)
    for i in range(d0):
        eye[i, i] = 1
    if Sxx == eye:
        return Syx, None
    return None, ("data loss with non-whitened inputs (X X^T/m != I exactly): no induced target Phi, "
                  "ACGH19's whitened theorem does not apply")


def _pd_certified(G, s) -> bool:
    """True only if ``G - s I`` is certainly positive definite (``G`` an ``fmpq_mat``,
    ``s`` an ``fmpq``): LDL^T elimination in Arb balls, which enclose the exact
    pivots; all pivots certainly > 0 iff PD (Sylvester)."""
    from flint import arb

    n = G.nrows()
    A = [[arb(G[i, j] - (s if i == j else 0)) for j in range(i + 1)] for i in range(n)]
    for k in range(n):
        dk = A[k][k]
        if not certainly_positive(dk):
            return False
        for i in range(k + 1, n):
            lik = A[i][k] / dk
            row_i = A[i]
            for j in range(k + 1, i + 1):
                row_i[j] = row_i[j] - lik * A[j][k]
    return True


def _sigma_min_enclosure(Phi):
    """Arb ball containing ``sigma_min(Phi)`` (the ``min(d_N, d_0)``-th singular
    value), or ``(None, reason)``."""
    from flint import fmpq

    r, c = Phi.nrows(), Phi.ncols()
    Gram = Phi * Phi.transpose() if r <= c else Phi.transpose() * Phi
    n = Gram.nrows()
    if n > MAX_LDL:
        return None, f"Gram matrix of size {n} exceeds the verified eigenvalue bound's limit ({MAX_LDL})"
    Gf = np.array([[float(Gram[i, j]) for j in range(n)] for i in range(n)])
    w, V = np.linalg.eigh(Gf)
    lam = float(w[0])
    # upper bound: exact Rayleigh quotient of the float eigenvector
    x = [_q(v) for v in V[:, 0]]
    num, den = fmpq(0), fmpq(0)
    for i in range(n):
        den += x[i] * x[i]
        acc = fmpq(0)
        for j in range(n):
            acc += Gram[i, j] * x[j]
        num += x[i] * acc
    upper = num / den
    # lower bound: largest certified shift
    lower = fmpq(0)
    scale = max(abs(float(w[-1])), 1e-300)
    if lam > 0:
        for k in range(10):
            cand = lam - scale * 1e-13 * 8.0**k
            if cand <= 0:
                break
            cq = _q(cand)
            if _pd_certified(Gram, cq):
                lower = cq
                break
    if upper < lower:  # impossible mathematically; defensive
        upper = lower
    return _hull(_sqrt(lower), _sqrt(upper)), None


def check_deficiency(problem: Problem, exact: bool):
    """The ``deficiency_margin`` hypothesis and the :class:`Deficiency` data."""
    from flint import fmpq

    Phi, why = _target(problem)
    d = Deficiency(Phi, why)
    if problem.loss.is_kernel:
        d.loss_reason = whitened_only(problem.loss.kind, "ACGH19 Theorem 1's thresholds delta_max and eta_max "
                                                         "(PAPER.md section 4) need c and ||Phi||_F")
    h = Hypothesis("deficiency_margin", "[ACGH19]", Status.UNDETERMINED, MEANING)
    if Phi is None:
        h.reason = why
        return h, d
    sig, why2 = _sigma_min_enclosure(Phi)
    if sig is None:
        h.reason = why2
        return h, d
    mats = _layer_mats(problem, exact)
    E2E = _end_to_end(mats)
    Phi_m = Phi if exact else _phi_arb(Phi)
    R2 = _sumsq(E2E - Phi_m)
    R = _sqrt(R2)
    d.phiF = phiF = _sqrt(_sumsq(Phi))
    d.c = c_ball = sig - R
    _set_margin(h, c_ball)
    h.exact = False
    h.quantities = {
        "sigma_min_Phi": _pair(sig),
        "distance_W0_Phi": _pair(R),
        "Phi_frobenius": _pair(phiF),
        "target": "Phi" if not problem.loss.has_stats else "Syx (whitened data)",
    }
    d.l0 = as_arb(R2) / 2 if isinstance(R2, fmpq) else _nonneg(R2) / 2
    return h, d
