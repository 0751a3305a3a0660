"""The gradient series of the kernel losses in Arb ball arithmetic (issue 12: the Arb path of the
GF enclosure, ``certify flow --backend arb`` on cross-entropy / logistic problems).

The recursion is the one of :mod:`certify.losses.series` (lemma ``S4.3-ce-series``,
``proofs/ce_gradient_series.py``), evaluated entrywise in python-flint ``arb`` balls with Arb's
own ``exp``: along ``W(s) = sum_k w_k s^k`` (``arb_mat`` coefficients, balls allowed) the logit rows
``L_k`` (``z_k = w_k X`` for cross-entropy, ``(0, -y z_k)`` for the logistic loss),

    e_0 = exp(L_0 - M),  k e_k = sum_{j=1..k} j L_j e_{k-j},  sigma_k = sum_c e_k[c],
    p_k = (e_k - sum_{j=1..k} sigma_j p_{k-j}) / sigma_0,

and ``g_k = (1/m) (p_k diag(s) - Y [k = 0]) X^T`` (cross-entropy) or ``(1/m) (-y p_k[1]) X^T``
(logistic).  ``M`` is any constant per column (the midpoints' column maximum of ``L_0``): softmax
ignores it.  By inclusion isotonicity every ball contains the exact coefficient for every
polynomial with coefficients in the input balls.

:func:`arb_gradient_remainder` bounds the part of order ``> q`` on ``[0, h]`` as
:func:`certify.losses.enclose_gradient_series` does in float64: orders ``q+1..q+e`` at 0 plus the
order ``q+e+1`` coefficient at the interval point ``xi in [0, h]`` (Lagrange remainder, the
shifted coefficients ``w_k(xi) = sum_{i>=k} C(i, k) w_i xi^(i-k)``).

Cost: ``O(K^2 d m)`` Arb operations per series (Python loops over the entries): the Arb path is
for small problems at high precision; :data:`MAX_ENTRIES` bounds ``d m``.
"""

from __future__ import annotations

from fractions import Fraction
from math import comb

import numpy as np

from .._errors import TooLargeError
from .cross_entropy import CrossEntropy

#: the Arb path's size bound on the logits (classes x samples): beyond it the float64 path
#: (``--backend float64``) is the one to use
MAX_ENTRIES = 4000


def _arb_mat(a):
    from flint import arb_mat

    from ..arith._arb import ArbMat

    if isinstance(a, ArbMat):
        return a.a
    if isinstance(a, arb_mat):
        return a
    return arb_mat(np.asarray(a, dtype=np.float64).tolist())


class ArbGradientSeries:
    """Order-by-order Arb coefficients of ``grad l`` along a curve: :meth:`push` takes ``w_k``
    (``d_N x d_0``, an ``arb_mat`` or :class:`certify.arith._arb.ArbMat`) and returns ``g_k``
    as an :class:`~certify.arith._arb.ArbMat`.  Call inside the precision context."""

    def __init__(self, loss):
        from flint import arb, arb_mat

        self.loss = loss
        self.ce = isinstance(loss, CrossEntropy)
        d = loss.d_out if self.ce else 2
        if d * loss.m > MAX_ENTRIES:
            raise TooLargeError(
                f"the Arb path of the {'cross_entropy' if self.ce else 'logistic'} loss handles at most "
                f"{MAX_ENTRIES} logits (classes x samples), this problem has {d * loss.m}: use --backend float64")
        self.d, self.m = d, loss.m
        self.X = arb_mat(loss.X.tolist())
        self.XT = self.X.transpose()
        if self.ce:
            self.s = [sum((arb(float(v)) for v in loss.Y[:, i]), arb(0)) for i in range(loss.m)]
        else:
            self.y = [arb(float(v)) for v in loss.y]
        self.L, self.e, self.sig, self.p = [], [], [], []
        self.M = None

    def _rows(self, Z):
        from flint import arb

        m = self.m
        if self.ce:
            return [[Z[c, i] for i in range(m)] for c in range(self.d)]
        return [[arb(0)] * m, [-self.y[i] * Z[0, i] for i in range(m)]]

    def push(self, w):
        from flint import arb, arb_mat

        from ..arith._arb import ArbMat

        k = len(self.L)
        L = self._rows(_arb_mat(w) * self.X)
        self.L.append(L)
        d, m = self.d, self.m
        if k == 0:
            self.M = [arb(max(float(L[c][i].mid()) for c in range(d))) for i in range(m)]
            e = [[(L[c][i] - self.M[i]).exp() for i in range(m)] for c in range(d)]
        else:
            e = [[sum((j * self.L[j][c][i] * self.e[k - j][c][i] for j in range(1, k + 1)), arb(0)) / k
                  for i in range(m)] for c in range(d)]
        self.e.append(e)
        sig = [sum((e[c][i] for c in range(d)), arb(0)) for i in range(m)]
        self.sig.append(sig)
        p = [[(e[c][i] - sum((self.sig[j][i] * self.p[k - j][c][i] for j in range(1, k + 1)), arb(0))) / self.sig[0][i]
              for i in range(m)] for c in range(d)]
        self.p.append(p)
        if self.ce:
            Y = self.loss.Y
            Q = arb_mat([[self.s[i] * p[c][i] - (arb(float(Y[c, i])) if k == 0 else 0) for i in range(m)]
                         for c in range(d)])
        else:
            Q = arb_mat([[-self.y[i] * p[1][i] for i in range(m)]])
        return ArbMat((Q * self.XT) / m)


def arb_callbacks(loss):
    """``(grad_l0, grad_l_lin)`` for :class:`certify.flow.series.GradientSeries` / ``gf_taylor`` with
    ball matrices (a fresh :class:`ArbGradientSeries` at each ``grad_l0``), as
    :func:`certify.losses.gf_callbacks` does in float64."""
    state = {}

    def g0(P0):
        state["s"] = ArbGradientSeries(loss)
        return state["s"].push(P0)

    def glin(Pi):
        return state["s"].push(Pi)

    return g0, glin


def arb_gradient_remainder(loss, P, h: Fraction, q: int, extra: int = 3) -> float:
    """Upper bound of ``sup_{s in [0,h]} ||grad l(P~(s)) - sum_{k<=q} g_k s^k||_F`` for every
    polynomial ``P~(s) = sum_{k<=q} P~_k s^k`` with coefficients in the balls ``P[0..q]``
    (module docstring).  Inside the precision context."""
    from flint import arb, arb_mat

    from .._claims import hi

    P = [_arb_mat(x) for x in P[: q + 1]]
    rows, cols = P[0].nrows(), P[0].ncols()
    zero = arb_mat(rows, cols)
    H = arb(Fraction(h).numerator) / arb(Fraction(h).denominator)
    t = q + extra + 1
    # (1) orders q+1 .. q+extra at s = 0 (the coefficients of P~ above q are zero)
    s0 = ArbGradientSeries(loss)
    acc = None
    for k in range(q + extra + 1):
        g = s0.push(P[k] if k <= q else zero).a
        if k > q:
            term = _abs_entries(g) * (H ** k)
            acc = term if acc is None else acc + term
    # (2) order t at the interval point xi in [0, h]: shifted coefficients of P~ at xi
    xi = arb(0).union(H)  # a ball containing [0, h]
    shifted = []
    for k in range(t + 1):
        if k > q:
            shifted.append(zero)
            continue
        Mk = arb_mat(rows, cols)
        for i in range(k, q + 1):
            Mk = Mk + P[i] * (comb(i, k) * xi ** (i - k))
        shifted.append(Mk)
    s1 = ArbGradientSeries(loss)
    for k in range(t + 1):
        g = s1.push(shifted[k]).a
    R = _abs_entries(g) * (H ** t)
    tot = R if acc is None else acc + R
    ss = sum((x * x for x in tot.entries()), arb(0))
    return hi(ss.sqrt())


def _abs_entries(M):
    """Entrywise upper bounds of the absolute values of an ``arb_mat`` (exact floats as balls)."""
    from flint import arb, arb_mat

    from .._claims import hi

    return arb_mat([[arb(hi(abs(M[i, j]))) for j in range(M.ncols())] for i in range(M.nrows())])


__all__ = ["ArbGradientSeries", "MAX_ENTRIES", "arb_callbacks", "arb_gradient_remainder"]
