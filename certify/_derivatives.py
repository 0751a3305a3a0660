"""Numerical derivatives of ``f(theta) = l(W_{N:1})`` (SPEC S1, S2.1, S2.2).

One implementation, several number types: ``float64`` (numpy, BLAS), ``mpf``
(numpy object arrays of mpmath numbers at a chosen precision) and ``exact``
(object arrays of :class:`fractions.Fraction`; rational in, rational out).
The formulas used here are the ones proved in ``proofs/`` (S2.1, S2.2) and
checked entrywise against sympy's derivation of the loss (``certify._symbolic``).

Costs: the gradient takes O(N) matrix products (prefix and suffix products),
a Hessian-vector product O(N) more; the dense Hessian is one Hessian-vector
product per parameter and is refused above :data:`MAX_DENSE_HESSIAN` parameters.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Sequence

import mpmath
import numpy as np

from ._errors import TooLargeError, UsageError
from ._problem import Problem, SquareLoss, fmpq_to_fractions, flatten, unflatten

NUMBERS = ("float64", "mpf", "exact")
MAX_DENSE_HESSIAN = 4000


def _exact(x) -> Fraction:
    if isinstance(x, Fraction):
        return x
    if isinstance(x, (int, np.integer)):
        return Fraction(int(x))
    if hasattr(x, "p") and hasattr(x, "q"):  # sympy Rational, flint fmpq
        return Fraction(int(x.p), int(x.q))
    return Fraction(float(x))  # a binary64 value, exactly


def _to_number(a, number: str, dps: int):
    a = np.asarray(a)
    if number == "float64":
        return np.asarray(a, dtype=np.float64)
    out = np.empty(a.shape, dtype=object)
    flat_in, flat_out = a.reshape(-1), out.reshape(-1)
    with mpmath.workdps(dps):
        for i, x in enumerate(flat_in):
            q = _exact(x) if not isinstance(x, mpmath.mpf) else x
            if number == "exact":
                if isinstance(q, mpmath.mpf):
                    raise UsageError("cannot convert an mpf to an exact rational")
                flat_out[i] = q
            else:
                flat_out[i] = q if isinstance(q, mpmath.mpf) else mpmath.mpf(q.numerator) / q.denominator
    return out


class Objective:
    """``f`` and its derivatives for one problem, in one number type.

    Parameters are flattened vectors per S1 (or lists of weight matrices where
    the method says so).

    >>> from certify import load_problem, Objective
    >>> obj = Objective(load_problem("builtin:demo"))
    >>> g = obj.grad(obj.problem.theta0)
    """

    def __init__(self, problem: Problem, number: str = "float64", *, dps: int = 50):
        if number not in NUMBERS:
            raise UsageError(f"number must be one of {', '.join(NUMBERS)}, got {number!r}")
        self.problem = problem
        self.number = number
        self.dps = dps
        self.dims = problem.dims
        self.N = problem.depth
        loss = problem.loss
        if isinstance(loss, SquareLoss):
            self.kind = "square"
            if number == "float64":
                Sxx, Syx, c = loss.float_stats
            else:
                eSxx, eSyx, ec = loss.exact_stats
                Sxx, Syx = fmpq_to_fractions(eSxx), fmpq_to_fractions(eSyx)
                c = Fraction(int(ec.p), int(ec.q))
            self.Sxx = self.convert(Sxx)
            self.Syx = self.convert(Syx)
            self.c = c if number == "exact" else (float(c) if number == "float64" else self._mpf(c))
        else:
            self.kind = "whitened"
            self.Phi = self.convert(loss.target)

    # ---- number handling ----------------------------------------------------
    def _mpf(self, x):
        with mpmath.workdps(self.dps):
            return mpmath.mpf(x.numerator) / x.denominator if isinstance(x, Fraction) else mpmath.mpf(x)

    def convert(self, a):
        """Convert an array (floats, ints, Fractions) to this objective's number type."""
        return _to_number(a, self.number, self.dps)

    def _ctx(self):
        return mpmath.workdps(self.dps) if self.number == "mpf" else _Null()

    def weights(self, theta) -> list:
        if isinstance(theta, (list, tuple)):
            return [self.convert(w) for w in theta]
        return [self.convert(w) for w in unflatten(np.asarray(theta), self.dims)]

    def _eye(self, d):
        if self.number == "float64":
            return np.eye(d)
        e = np.empty((d, d), dtype=object)
        zero, one = (Fraction(0), Fraction(1)) if self.number == "exact" else (self._mpf(0), self._mpf(1))
        e[...] = zero
        for i in range(d):
            e[i, i] = one
        return e

    # ---- the loss ------------------------------------------------------------
    def prefix_products(self, Ws: Sequence) -> list:
        """``P[j] = W_{j:1}`` for ``j = 0..N`` (``P[0] = I``)."""
        P = [self._eye(self.dims[0])]
        for W in Ws:
            P.append(W @ P[-1])
        return P

    def suffix_products(self, Ws: Sequence) -> list:
        """``S[j] = W_{N:j+1}`` for ``j = 0..N`` (``S[N] = I``)."""
        S = [None] * (self.N + 1)
        S[self.N] = self._eye(self.dims[-1])
        for j in range(self.N - 1, -1, -1):
            S[j] = S[j + 1] @ Ws[j]
        return S

    def loss_of_end_to_end(self, W):
        if self.kind == "whitened":
            R = W - self.Phi
            return _half(self.number) * _sumsq(R)
        return _half(self.number) * _trace(W @ self.Sxx @ W.T) - _trace(W @ self.Syx.T) + self.c

    def grad_l(self, W):
        """``G = grad l(W)`` (S2.1): ``W - Phi`` or ``W Sxx - Syx``."""
        if self.kind == "whitened":
            return W - self.Phi
        return W @ self.Sxx - self.Syx

    def hess_l(self, E):
        """``Hl[E]`` as a matrix: ``E`` (whitened) or ``E Sxx`` (data)."""
        return E if self.kind == "whitened" else E @ self.Sxx

    def loss(self, theta):
        with self._ctx():
            Ws = self.weights(theta)
            return self.loss_of_end_to_end(self.prefix_products(Ws)[-1])

    def grad_weights(self, Ws: Sequence) -> list:
        """S2.1: ``grad_{W_j} f = W_{N:j+1}^T G W_{j-1:1}^T`` with O(N) products."""
        P = self.prefix_products(Ws)
        S = self.suffix_products(Ws)
        G = self.grad_l(P[-1])
        return [S[j + 1].T @ G @ P[j].T for j in range(self.N)]

    def grad(self, theta):
        with self._ctx():
            return flatten(self.grad_weights(self.weights(theta)))

    def loss_and_grad(self, theta):
        with self._ctx():
            Ws = self.weights(theta)
            P = self.prefix_products(Ws)
            S = self.suffix_products(Ws)
            G = self.grad_l(P[-1])
            grads = [S[j + 1].T @ G @ P[j].T for j in range(self.N)]
            return self.loss_of_end_to_end(P[-1]), flatten(grads)

    def hvp_weights(self, Ws: Sequence, Ds: Sequence) -> list:
        """Hessian-vector product: the derivative of S2.1 along ``D`` (O(N) products).

        With ``dP``/``dS`` the directional derivatives of the prefix/suffix
        products and ``dG = Hl[E]``, ``E = dP[N]`` (S2.2):
        ``d grad_j = dS_{j+1}^T G P_j^T + S_{j+1}^T dG P_j^T + S_{j+1}^T G dP_j^T``.
        """
        N = self.N
        P = self.prefix_products(Ws)
        S = self.suffix_products(Ws)
        dP = [0 * P[0]]
        for j in range(N):
            dP.append(Ws[j] @ dP[-1] + Ds[j] @ P[j])
        dS = [None] * (N + 1)
        dS[N] = 0 * S[N]
        for j in range(N - 1, -1, -1):
            dS[j] = dS[j + 1] @ Ws[j] + S[j + 1] @ Ds[j]
        G = self.grad_l(P[-1])
        dG = self.hess_l(dP[-1])
        return [
            dS[j + 1].T @ G @ P[j].T + S[j + 1].T @ dG @ P[j].T + S[j + 1].T @ G @ dP[j].T
            for j in range(N)
        ]

    def hvp(self, theta, v):
        with self._ctx():
            Ws = self.weights(theta)
            Ds = self.weights(v)
            return flatten(self.hvp_weights(Ws, Ds))

    def hessian(self, theta, *, max_params: int = MAX_DENSE_HESSIAN):
        """Dense Hessian (``n x n``), one Hessian-vector product per column."""
        n = self.problem.n_params
        if n > max_params:
            raise TooLargeError(
                f"dense Hessian needs {n}x{n} entries; refused above {max_params} parameters"
            )
        with self._ctx():
            Ws = self.weights(theta)
            cols = []
            for i in range(n):
                e = np.zeros(n)
                e[i] = 1.0
                cols.append(flatten(self.hvp_weights(Ws, self.weights(e))))
            H = np.stack(cols, axis=1)
            return H


class _Null:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def _half(number):
    return Fraction(1, 2) if number == "exact" else (mpmath.mpf(1) / 2 if number == "mpf" else 0.5)


def _sumsq(R):
    if R.dtype == object:
        s = 0
        for x in R.reshape(-1):
            s = s + x * x
        return s
    return float(np.sum(R * R))


def _trace(M):
    if M.dtype == object:
        s = 0
        for i in range(min(M.shape)):
            s = s + M[i, i]
        return s
    return float(np.trace(M))
