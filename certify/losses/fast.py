"""The float64 gradient of a kernel loss with an a-priori bound of its rounding error (SPEC S4.6, lemma S4.6-ce-fast;
gap-v2.md section 8): what each step of certified GD needs, at about twice the cost of the plain
numpy gradient (the ball enclosures of :mod:`certify.losses.cross_entropy` cost ~15 times it).

For the exact doubles ``W`` (``d_N x d_0``) :func:`gradient_with_error` returns ``G^`` and ``err``
with ``||G^ - grad l(W)||_F <= err``.  The computation and its bound, step by step (``u = 2^-53``,
``gamma_k = k u / (1 - k u)``, ``tau = 2^-1074``; ``s_max = max_i s_i``, ``||p||_2 <= 1`` for a
probability vector; softmax is ``1/2``-Lipschitz per column in the 2-norm because its Jacobian
``diag(p) - p p^T`` has ``lambda_max <= 1/2``, the bound ``c = 1/2`` of
``proofs/ce_hessian_bound.py``):

1. ``Z^ = fl(W X)``: ``||Z^ - W X||_F <= gamma_{d_0} || |W| |X| ||_F + uf
   <= gamma_{d_0} ||W||_F ||X||_F + d_0 sqrt(d m) tau`` (Higham Thm 3.5; Cauchy-Schwarz per entry).
   The logit rows ``L`` are ``Z`` (cross-entropy, ``d = d_N``) or ``(0, -y z)`` (logistic, ``d = 2``;
   exact: a sign flip), so the same bound holds for ``L^ - L``.
2. ``V^ = fl(L^ - M)``, ``M`` the column maxima of ``L^`` (softmax ignores the shift):
   ``|V^ - (L^ - M)| <= u |V^|`` entrywise.  ``V^ <= 0`` with an exact 0 per column.
3. ``E^ = exp~(V^)`` (:func:`certify.losses._kernels.exp_mid`, lemma S4.6-exp):
   ``|E^ - e^V^| <= EXP_MID_REL e^V^ + tau`` entrywise.
4. ``S^ = fl(sum_c E^_c)`` (nonnegative terms, any order): with ``S = sum_c e^V^_c >= 1``,
   ``|S^ - S| <= eps_S S``, ``eps_S = EXP_MID_REL + gamma_{d-1} (1 + EXP_MID_REL) + 2 d tau``.
5. ``P^ = fl(E^ / S^)``: ``|P^_c - p_c(V^)| <= eps_P p_c + 3 tau``,
   ``eps_P = (1 + EXP_MID_REL)(1 + u) / (1 - eps_S) - 1``; per column ``<= eps_P + 3 sqrt(d) tau``
   in the 2-norm.  Steps 1-5: ``||P^ - softmax(L)||_F <= sqrt(m) (eps_P + 3 sqrt(d) tau)
   + (u ||V^||_F + ||L^ - L||_F) / 2``.
6. The residual ``R = dl/dz`` (``d_N x m``): cross-entropy ``R = P diag(s) - Y``, computed
   ``R^ = fl(fl(P^ s) - Y)`` (``fl(P^ - Y)`` for one-hot ``Y``, where ``s = 1``):
   ``||R^ - R||_F <= s_max ||P^ - P||_F + u s_max ||P^||_F + 2 u ||R^||_F`` (the products' and the
   subtraction's roundings; the first term vanishes for one-hot ``Y``); logistic ``q = -y p_2``
   (exact sign flip): ``||q^ - q|| <= ||P^ - P||_F``.
7. ``G^ = fl(fl(R^ X^T) / m)``: ``||G^ - R X^T / m||_F <= (||R^ - R||_F ||X||_2 + gamma_m ||R^||_F
   ||X||_F + m sqrt(d_N d_0) tau) / m + u ||G^||_F`` (the division by ``m`` rounds once).

Every bound is then evaluated in float64 rounded upward (:func:`certify._claims.up`).  The
constants are fixed; the proof module ``proofs/ce_fast_gradient.py`` checks the chain by an
adversarial-rounding simulation in 50-digit arithmetic, and the tests compare ``err`` with 50-digit
gradients.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .._claims import U, fro_up, up
from .._errors import BlowUpError
from ._kernels import EXP_MID_REL, TINY, exp_mid


def _gamma(k: int) -> float:
    return float(up(k * U / (1.0 - k * U), 2))


@dataclass(frozen=True)
class FastGradient:
    """``G`` (``d_N x d_0`` float64) with ``||G - grad l(W)||_F <= err``; ``value``: the float
    loss (an estimate)."""

    G: np.ndarray
    err: float
    value: float


class _DataNorms:
    """Upper bounds of ``||X||_2`` and ``||X||_F`` (once per loss: the data never change)."""

    def __init__(self, loss):
        from ..arith._float64 import F64Mat
        from .base import _spectral_upper

        self.x2 = _spectral_upper(F64Mat(loss.X))
        self.xf = fro_up(loss.X)


def _norms(loss) -> _DataNorms:
    dn = getattr(loss, "_fast_norms", None)
    if dn is None:
        dn = _DataNorms(loss)
        loss._fast_norms = dn
    return dn


def gradient_with_error(loss, W) -> FastGradient:
    """:class:`FastGradient` of ``loss`` (a :class:`certify.losses.CrossEntropy` or
    :class:`certify.losses.Logistic`) at the exact doubles ``W`` (module docstring)."""
    from .cross_entropy import CrossEntropy

    W = loss._check_W(W)
    X, m = loss.X, loss.m
    dn = _norms(loss)
    ce = isinstance(loss, CrossEntropy)
    with np.errstate(over="ignore", invalid="ignore", under="ignore"):
        Z = W @ X  # step 1
        if ce:
            L = Z
        else:
            L = np.vstack([np.zeros((1, m)), -loss.y * Z[0]])
        d = L.shape[0]
        M = L.max(axis=0)
        V = L - M  # step 2
        E = exp_mid(V)  # step 3
        S = E.sum(axis=0)  # step 4
        P = E / S  # step 5
        if ce:  # step 6
            R = P - loss.Y if loss.one_hot else (P * loss.s) - loss.Y
        else:
            R = (-loss.y * P[1])[None, :]
        G = (R @ loss._abs_data()[1]) / m  # step 7 (X^T contiguous, cached)
        # the loss estimate: sum_c Y_c (M + log S - L_c) per column (cross-entropy);
        # logistic: log(1 + e^t) = M + log S with t = -y z
        if ce:
            value = float(np.sum(loss.Y * (M + np.log(S) - L)) / m)
        else:
            value = float(np.mean(M + np.log(S)))
    if not (np.all(np.isfinite(G)) and math.isfinite(value)):
        raise BlowUpError("the loss gradient left the float64 range")
    # ---- the bound (every term rounded up) ----
    nW = fro_up(W)
    eL = up(_gamma(W.shape[1]) * nW * dn.xf + W.shape[1] * math.sqrt(d * m) * TINY, 3)
    eps_S = up(EXP_MID_REL + _gamma(max(d - 1, 1)) * (1.0 + EXP_MID_REL) + 2 * d * TINY, 3)
    eps_P = up((1.0 + EXP_MID_REL) * (1.0 + U) / (1.0 - eps_S) - 1.0, 4)
    eP = up(math.sqrt(m) * (eps_P + 3.0 * math.sqrt(d) * TINY) + 0.5 * (U * fro_up(V) + eL), 5)
    nR = fro_up(R)
    if ce:
        if loss.one_hot:
            eR = up(eP + 2.0 * U * nR, 2)
        else:
            smax = float(loss.s_hi.max())
            eR = up(smax * eP + U * smax * fro_up(P) + 2.0 * U * nR, 4)
    else:
        eR = eP
    err = up((eR * dn.x2 + _gamma(m) * nR * dn.xf + m * math.sqrt(G.size) * TINY) / m * (1.0 + U)
             + U * fro_up(G), 5)
    return FastGradient(G, float(np.nextafter(err, np.inf)), value)


__all__ = ["FastGradient", "gradient_with_error"]
