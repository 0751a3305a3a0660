"""Taylor series of the cross-entropy / logistic gradient along a polynomial curve (issue 12 item 3;
SPEC S2.3 for the square losses, S4.3 for its use; the lemma is ``proofs/ce_gradient_series.py``,
``S4.3-ce-series``).

Along ``W(s) = sum_{i<=n} w_i s^i`` (``d_N x d_0``) the logits ``Z(s) = W(s) X`` have the
coefficients ``z_i = w_i X`` (``d x m``), and with any shift ``M`` constant in ``s`` (one number per
column; softmax does not see it) the exponentials ``E = exp(Z - M)``, their column sums ``sigma``
and the softmax columns ``P = E / sigma`` have the Taylor coefficients (entrywise, per column)

    e_0 = exp(z_0 - M),           k e_k = sum_{j=1..k} j z_j e_{k-j}          (E' = Z' E),
    sigma_k = sum_c e_k[c],       p_k = (e_k - sum_{j=1..k} sigma_j p_{k-j}) / sigma_0   (P sigma = E),

and the gradient ``grad l(W(s)) = sum_k g_k s^k`` has ``g_k = (1/m) (p_k diag(s_Y) - Y [k = 0]) X^T``
(cross-entropy, ``s_Y`` the column sums of ``Y``: 1 for probability columns).  The logistic loss is
the two-class case: ``sigma(t) = softmax((0, t))_2``, logits ``(0, -y_i z_i)`` and
``q_i = -y_i p_{2,i}``.  Coefficient ``k`` needs only ``w_0..w_k``.

Three entry points:

- :func:`gradient_series` (float64, batched over the samples; no Python loop over samples) and
  :class:`GradientSeriesCE` (the same, one order at a time: :meth:`GradientSeriesCE.push` takes
  ``w_k`` and returns ``g_k``); :func:`gf_callbacks` wraps it as the ``grad_l0`` / ``grad_l_lin``
  callbacks of :func:`certify.flow.series.gf_taylor` (unchanged: it calls ``grad_l0(P_N[0])`` once, then
  ``grad_l_lin(P_N[i])`` for ``i = 1, 2, ...`` in order, which is exactly a push per order), and
  :func:`gf_taylor_ce` runs the GF Taylor candidate with them.  Estimates.
- :func:`certify.losses.series_enclosure.enclose_gradient_series` (rigorous, float64 midpoint-radius with the a-priori bounds of
  S4.6 and the proven exp kernel of :mod:`certify.losses._kernels`): a :class:`GradientTM`, i.e.
  balls ``G_k`` (``k <= q``) and a remainder ``r`` such that for every polynomial ``W~`` with
  coefficients in the given balls, every ``W`` with ``||W(s) - W~(s)||_F <= r_W`` on ``[0, h]``
  and every ``s`` in ``[0, h]``: ``grad l(W(s)) = sum_{k<=q} g~_k s^k + R(s)`` with ``g~_k`` in
  ``G_k`` (the exact Taylor coefficients along ``W~``) and ``||R(s)||_F <= r``.
- The remainder: Taylor's theorem with the Lagrange remainder, entrywise:
  ``G(s) - sum_{k<=q} g_k s^k = g_{q+1}(xi) s^{q+1}`` for some ``xi`` in ``[0, s]``, where
  ``g_{q+1}(xi)`` is the coefficient of order ``q+1`` of the expansion at ``xi``.  The same
  recursion run in ball arithmetic from the coefficients of ``Z`` at the *interval* point
  ``xi in [0, h]`` (``z_k(xi) = sum_{i>=k} C(i,k) z_i xi^(i-k)``, ``xi^j in [0, h^j]``) encloses
  ``g_{q+1}(xi)`` for every ``xi`` at once (inclusion isotonicity), so
  ``|R_poly(s)| <= sup|G_{q+1}([0,h])| h^(q+1)`` entrywise.  A remainder ``r_W`` of ``W`` itself
  adds ``L r_W``, ``L = sup_W ||Hl(W)||_2 <= c ||X||_2^2 / m`` (mean value theorem; ``Hl`` PSD with
  ``Hl[E,E] <= c ||E X||_F^2 / m``, ``proofs/ce_hessian_bound.py``).

Cost (``K`` orders, ``d`` classes, ``m`` samples): two batched products ``(K d_N x d_0) (d_0 x m)``
and ``(K d x m)(m x d_0)`` plus ``O(K^2 d m)`` elementwise work; the rigorous version does it twice
(at 0 and at the interval point), each product with its ``|A||B|`` companion.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from .._errors import BlowUpError, UsageError
from .cross_entropy import CrossEntropy
from .logistic import Logistic

# ---------------------------------------------------------------------------
# the loss-specific pieces: logit rows from z = W X, and q = dl/dz from the softmax
# ---------------------------------------------------------------------------


def _kind(loss) -> str:
    if isinstance(loss, CrossEntropy):
        return "ce"
    if isinstance(loss, Logistic):
        return "logistic"
    raise UsageError(f"gradient series: expected a CrossEntropy or Logistic loss, got {type(loss).__name__}")


def _logit_rows(loss, z: np.ndarray) -> np.ndarray:
    """The softmax rows for the logits ``z`` (``(..., d_N, m)``): ``z`` itself (cross-entropy) or
    ``(0, -y z)`` (logistic, ``d_N = 1``).  Exact (a sign flip)."""
    if _kind(loss) == "ce":
        return z
    t = -loss.y * z[..., 0, :]
    return np.stack([np.zeros_like(t), t], axis=-2)


def _q_float(loss, P: np.ndarray, k: int) -> np.ndarray:
    """``dl/dz`` coefficient ``k`` (``d_N x m``) from the softmax coefficient ``P`` (float)."""
    if _kind(loss) == "logistic":
        return (-loss.y * P[1])[None, :]
    Q = P * loss.s if not loss.one_hot else P.copy()
    if k == 0:
        Q = Q - loss.Y
    return Q


# ---------------------------------------------------------------------------
# float64 series (estimates)
# ---------------------------------------------------------------------------


def softmax_series(Z) -> np.ndarray:
    """Taylor coefficients ``(K, d, m)`` of ``softmax(Z(s))`` (columnwise) from those of
    ``Z(s) = sum_k Z[k] s^k`` (``(K, d, m)``): the exp recursion, then the series division
    (module docstring).  float64, batched over the columns; loops over the order only.

    >>> import numpy as np
    >>> P = softmax_series(np.array([[[0.0], [0.0]], [[1.0], [-1.0]]]))   # softmax(s, -s)
    >>> [float(x) for x in P[:, 0, 0]]                                 # 1/2 + s/2 + O(s^3)
    [0.5, 0.5]
    """
    Z = np.asarray(Z, dtype=np.float64)
    if Z.ndim != 3:
        raise UsageError(f"softmax_series: expected a (orders, classes, samples) array, got shape {Z.shape}")
    K = Z.shape[0]
    cols = np.arange(Z.shape[2])
    Z = Z - Z[:, np.argmax(Z[0], axis=0), cols][:, None, :]  # softmax-invariant: no common motion
    E = np.empty_like(Z)
    P = np.empty_like(Z)
    sig = np.empty((K, Z.shape[2]))
    with np.errstate(over="ignore", invalid="ignore", under="ignore"):
        E[0] = np.exp(Z[0] - Z[0].max(axis=0))
        jz = Z * _exp_weights(K)[:, None, None]
        for k in range(1, K):
            E[k] = np.sum(jz[1 : k + 1] * E[k - 1 :: -1], axis=0) / k
        sig[:] = E.sum(axis=1)
        inv0 = 1.0 / sig[0]
        P[0] = E[0] * inv0
        for k in range(1, K):
            P[k] = (E[k] - np.sum(sig[1 : k + 1, None, :] * P[k - 1 :: -1], axis=0)) * inv0
    if not np.all(np.isfinite(P)):
        raise BlowUpError("the softmax Taylor coefficients overflowed (logit coefficients too large)")
    return P


def _as_coeff_stack(W, d_out: int, d_in: int, what: str = "W") -> np.ndarray:
    a = np.asarray(W, dtype=np.float64)
    if a.ndim == 2:
        a = a[None]
    if a.ndim != 3 or a.shape[1:] != (d_out, d_in) or a.shape[0] < 1:
        raise UsageError(f"{what}: expected coefficients of shape (orders, {d_out}, {d_in}), got {a.shape}")
    if not np.all(np.isfinite(a)):
        raise BlowUpError(f"non-finite coefficient in {what}")
    return a


def gradient_series(loss, W, order: int | None = None) -> np.ndarray:
    """Taylor coefficients ``g_0..g_order`` (``(order+1, d_N, d_0)``) of ``grad l(W(s))`` for
    ``W(s) = sum_i W[i] s^i`` (``W``: ``(n+1, d_N, d_0)``; ``order`` defaults to ``n``, and missing
    coefficients of ``W`` are zeros).  float64 estimates, batched (two matrix products in all).

    >>> import numpy as np
    >>> from certify.losses import CrossEntropy
    >>> loss = CrossEntropy(np.eye(2), np.eye(2))
    >>> g = gradient_series(loss, np.zeros((3, 2, 2)))
    >>> bool(np.allclose(g[0], loss.gradient(np.zeros((2, 2)))) and np.all(g[1:] == 0))
    True
    """
    _kind(loss)
    Wc = _as_coeff_stack(W, loss.d_out, loss.d_in)
    K = (Wc.shape[0] - 1 if order is None else int(order)) + 1
    if K < 1:
        raise UsageError(f"order must be >= 0, got {K - 1}")
    if Wc.shape[0] < K:
        Wc = np.concatenate([Wc, np.zeros((K - Wc.shape[0],) + Wc.shape[1:])])
    Wc = Wc[:K]
    dN, d0, m = loss.d_out, loss.d_in, loss.m
    with np.errstate(over="ignore", invalid="ignore"):
        Z = (Wc.reshape(K * dN, d0) @ loss.X).reshape(K, dN, m)
    P = softmax_series(_logit_rows(loss, Z))
    Q = np.stack([_q_float(loss, P[k], k) for k in range(K)])
    with np.errstate(over="ignore", invalid="ignore"):
        G = (Q.reshape(K * dN, m) @ loss.X.T).reshape(K, dN, d0) / m
    if not np.all(np.isfinite(G)):
        raise BlowUpError("the gradient Taylor coefficients overflowed")
    return G


class GradientSeriesCE:
    """The gradient series one order at a time (what a Taylor integrator needs: ``g_k`` fixes
    ``w_{k+1}``).  :meth:`push` takes ``w_k`` (the coefficient of order ``k = order + 1`` of the
    end-to-end matrix) and returns ``g_k``; float64 estimates, vectorised over the samples.

    >>> import numpy as np
    >>> from certify.losses import CrossEntropy
    >>> loss = CrossEntropy(np.eye(2), np.eye(2))
    >>> ser = GradientSeriesCE(loss)
    >>> W = np.random.default_rng(0).standard_normal((4, 2, 2))
    >>> got = np.stack([ser.push(w) for w in W])
    >>> bool(np.allclose(got, gradient_series(loss, W)))
    True
    """

    def __init__(self, loss, capacity: int = 32):
        _kind(loss)
        self.loss = loss
        self.order = -1
        self._cap = 0
        self._grow(capacity)

    def _grow(self, cap: int):
        d = 2 if _kind(self.loss) == "logistic" else self.loss.d_out
        m = self.loss.m
        new = [np.zeros((cap, d, m)) for _ in range(3)] + [np.zeros((cap, m))]
        if self._cap:
            for a, b in zip(new, (self.Z, self.E, self.P, self.sig)):
                a[: self._cap] = b
        self.Z, self.E, self.P, self.sig = new
        self._cap = cap

    def push(self, w) -> np.ndarray:
        """Append ``w_k`` and return ``g_k`` (``d_N x d_0``)."""
        loss = self.loss
        w = np.asarray(w, dtype=np.float64)
        if w.shape != (loss.d_out, loss.d_in):
            raise UsageError(f"w must have shape ({loss.d_out}, {loss.d_in}), got {w.shape}")
        k = self.order + 1
        if k >= self._cap:
            self._grow(2 * self._cap)
        Z, E, P, sig = self.Z, self.E, self.P, self.sig
        with np.errstate(over="ignore", invalid="ignore", under="ignore"):
            Z[k] = _logit_rows(loss, (w @ loss.X)[None])[0]
            if k == 0:
                E[0] = np.exp(Z[0] - Z[0].max(axis=0))
            else:
                j = _exp_weights(k + 1)[1:, None, None]
                E[k] = np.sum(j * Z[1 : k + 1] * E[k - 1 :: -1], axis=0) / k
            sig[k] = E[k].sum(axis=0)
            if k == 0:
                P[0] = E[0] / sig[0]
            else:
                P[k] = (E[k] - np.sum(sig[1 : k + 1, None, :] * P[k - 1 :: -1], axis=0)) / sig[0]
            g = _q_float(loss, P[k], k) @ loss.X.T / loss.m
        if not np.all(np.isfinite(g)):
            raise BlowUpError("the gradient Taylor coefficients overflowed")
        self.order = k
        return g

    def softmax_coefficients(self) -> np.ndarray:
        """``(order+1, d, m)``: the softmax coefficients so far."""
        return self.P[: self.order + 1].copy()


def gf_callbacks(loss):
    """``(grad_l0, grad_l_lin)`` for :class:`certify.flow.series.GradientSeries` /
    :func:`certify.flow.series.gf_taylor`: ``grad_l0(P0)`` starts a fresh :class:`GradientSeriesCE`
    and returns ``g_0``; ``grad_l_lin(P_i)`` pushes the next end-to-end coefficient and returns
    ``g_i`` (so it must be called for ``i = 1, 2, ...`` in order, once each, which is what
    ``GradientSeries.advance`` does).  One pair serves any number of consecutive series."""
    state = {}

    def g0(P0):
        state["s"] = GradientSeriesCE(loss)
        return state["s"].push(np.asarray(P0))

    def glin(Pi):
        if "s" not in state:
            raise UsageError("gf_callbacks: grad_l_lin called before grad_l0")
        return state["s"].push(np.asarray(Pi))

    return g0, glin


def gf_taylor_ce(loss, W0: Sequence, order: int, *, stack: bool = True):
    """The GF Taylor candidate under ``loss`` (float64 estimate): coefficients
    ``W[j][0..order]`` of the layers' gradient-flow solution through ``W0`` (S2.3 with the
    nonlinear gradient series), via the unchanged :func:`certify.flow.series.gf_taylor`.
    Returns ``(W, series)`` as ``gf_taylor`` does."""
    from ..flow.series import gf_taylor

    g0, glin = gf_callbacks(loss)
    W0 = [np.asarray(w, dtype=np.float64) for w in W0]
    with np.errstate(over="ignore", invalid="ignore"):
        return gf_taylor(W0, order, g0, glin, lambda x, k: x / k, stack=stack)


def _exp_weight(j):
    """The weight of ``z_j e_{k-j}`` in ``k e_k`` (``E' = Z' E``): ``j``."""
    return j


def _exp_weights(K: int) -> np.ndarray:
    return np.array([_exp_weight(j) for j in range(K)], dtype=np.float64)


__all__ = ["GradientSeriesCE", "gf_callbacks", "gf_taylor_ce", "gradient_series", "softmax_series"]
