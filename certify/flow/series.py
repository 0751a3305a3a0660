"""Taylor series of the gradient along a matrix-valued power series (SPEC S2.3).

``f`` is a polynomial of degree ``2N`` (S2.3), so for weights given as power
series ``W_j(s) = sum_i W_j[i] s^i`` the gradient ``grad f(W(s))`` (S2.1) is a
power series whose coefficient ``i`` depends only on ``W_j[0..i]`` and follows
exactly from Cauchy products:

- ``P_j = W_{j:1}`` (prefix), ``S_j = W_{N:j}`` (suffix), ``G = grad l(P_N)``;
- ``Q_j = G P_{j-1}^T`` and ``grad_j = S_{j+1}^T Q_j`` (``P_0 = S_{N+1} = I``).

:class:`GradientSeries` computes these coefficients order by order.  Fed with
``W_j[i+1] = -grad_j[i] / (i+1)`` it produces the Taylor expansion of the
gradient-flow solution (the recursion behind every integrator of this package);
fed with fixed polynomials it evaluates the gradient along a candidate curve.

The code is generic: matrices only need ``@``, ``+``, ``-``, ``.T`` and
multiplication by a scalar, so numpy float64 arrays, numpy object arrays
(mpmath, Fraction) and the ball types of :mod:`certify.arith` all work.
Cost of orders ``0..p``: about ``2 N p^2`` matrix products.
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np


class _ListStore(list):
    """Coefficients of one series as a Python list (any matrix type)."""

    def cauchy(self, other, i: int):
        """Coefficient ``i`` of the product ``self * other`` (a matrix type may provide
        ``cauchy_sum(xs, ys) = sum_l xs[l] @ ys[l]`` without per-term wrappers)."""
        fast = getattr(type(self[0]), "cauchy_sum", None)
        if fast is not None:
            return fast(self[: i + 1], other[i::-1])
        acc = self[0] @ other[i]
        for l in range(1, i + 1):
            acc = acc + self[l] @ other[i - l]
        return acc


class _StackStore:
    """Coefficients of one float64 series in a preallocated ``(order+1, m, n)``
    array: the Cauchy product is one batched matmul plus a sum (no Python
    loop), the fast path for float64."""

    def __init__(self, cap: int):
        self.a = None
        self.n = 0
        self._cap = cap

    def append(self, x):
        if self.a is None:
            self.a = np.empty((self._cap,) + x.shape)
        self.a[self.n] = x
        self.n += 1

    def __getitem__(self, i):
        if isinstance(i, slice):
            return list(self.a[: self.n][i])
        if i >= self.n or i < -self.n:
            raise IndexError(i)
        return self.a[i]

    def __len__(self):
        return self.n

    def extend(self, xs):
        for x in xs:
            self.append(x)

    def cauchy(self, other, i: int):
        return np.matmul(self.a[: i + 1], other.a[i::-1]).sum(axis=0)


class GradientSeries:
    """Order-by-order Taylor coefficients of ``grad f`` along ``W(s)``.

    ``W`` is a list (one per layer) of coefficient lists; the caller appends
    ``W[j][i]`` before calling :meth:`advance` for order ``i``.

    ``grad_l0(P0)``: ``G[0]`` from ``P_N[0]`` (e.g. ``P - Phi`` or ``P @ Sxx - Syx``);
    ``grad_l_lin(P)``: the linear part for orders ``i >= 1`` (``P`` or ``P @ Sxx``).
    """

    def __init__(self, N: int, grad_l0: Callable, grad_l_lin: Callable, *, stack: int | None = None):
        self.N = N
        self.grad_l0 = grad_l0
        self.grad_l_lin = grad_l_lin
        new = (lambda: _StackStore(stack)) if stack else _ListStore
        self.stacked = bool(stack)
        self.W = [new() for _ in range(N)]
        self.P = [new() for _ in range(N)]  # P[j-1] = series of W_{j:1}
        self.PT = [new() for _ in range(N)]
        self.S = [new() for _ in range(N)]  # S[j-1] = series of W_{N:j}
        self.ST = [new() for _ in range(N)]
        self.G = new()
        self.Q = [new() for _ in range(N)]  # Q[j-1] = G P_{j-1}^T
        self.grad = [new() for _ in range(N)]
        self.order = -1

    def advance(self) -> list:
        """Compute coefficient ``i = order + 1`` of every series; return ``grad[.][i]``."""
        i = self.order + 1
        N, W = self.N, self.W
        for j in range(N):
            if len(W[j]) <= i:
                raise ValueError(f"W[{j}] has no coefficient {i}")
        # prefix products P_j = W_j P_{j-1}
        self.P[0].append(W[0][i])
        for j in range(1, N):
            self.P[j].append(W[j].cauchy(self.P[j - 1], i))
        for j in range(N):
            self.PT[j].append(self.P[j][i].T)
        # suffix products S_j = S_{j+1} W_j
        self.S[N - 1].append(W[N - 1][i])
        for j in range(N - 2, -1, -1):
            self.S[j].append(self.S[j + 1].cauchy(W[j], i))
        for j in range(N):
            self.ST[j].append(self.S[j][i].T)
        # G = grad l(P_N)
        self.G.append(self.grad_l0(self.P[N - 1][0]) if i == 0 else self.grad_l_lin(self.P[N - 1][i]))
        # Q_j = G P_{j-1}^T ; grad_j = S_{j+1}^T Q_j
        out = []
        for j in range(N):
            if j == 0:
                q = self.G[i]
            else:
                q = self.G.cauchy(self.PT[j - 1], i)
            self.Q[j].append(q)
            g = q if j == N - 1 else self.ST[j + 1].cauchy(self.Q[j], i)
            self.grad[j].append(g)
            out.append(g)
        self.order = i
        return out


def gf_taylor(W0: Sequence, order: int, grad_l0: Callable, grad_l_lin: Callable, scale: Callable,
              *, stack: bool = False):
    """Taylor coefficients ``W[j][0..order]`` of the gradient-flow solution
    through ``W0`` (S2.3): ``W[j][i+1] = scale(-grad_j[i], i+1)`` where
    ``scale(x, k)`` divides ``x`` by the integer ``k`` in the caller's arithmetic.

    Returns ``(W, series)``; ``series`` holds the gradient coefficients up to
    ``order - 1``.  ``stack=True`` (float64 arrays only) uses batched matmuls.
    """
    N = len(W0)
    gs = GradientSeries(N, grad_l0, grad_l_lin, stack=order + 2 if stack else None)
    for j in range(N):
        gs.W[j].append(W0[j])
    for i in range(order):
        g = gs.advance()
        for j in range(N):
            gs.W[j].append(scale(-g[j], i + 1))
    return gs.W, gs
