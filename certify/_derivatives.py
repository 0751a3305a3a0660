"""Numerical derivatives of ``f(theta) = l(W_{N:1})`` (SPEC S1, S2.1, S2.2).

One implementation, several number types: ``float64`` (numpy, BLAS), ``mpf``
(numpy object arrays of mpmath numbers at a chosen precision) and ``exact``
(object arrays of :class:`fractions.Fraction`; rational in, rational out).
The cross-entropy and logistic losses (SPEC S1) have ``float64`` (the batched
estimates of :mod:`certify.losses`) and ``mpf``; ``exact`` is impossible for them
(``exp``/``log``) and raises :class:`certify.UsageError`.  None of these numbers is
certified: they are estimates (high-precision ones for ``mpf``).
The formulas used here are the ones proved in ``proofs/`` (S2.1, S2.2) and
checked entrywise against sympy's derivation of the loss (:mod:`certify.symbolic`).

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
from ._problem import Problem, flatten, unflatten
from ._losskinds import fmpq_to_fractions

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
        self.kind = loss.kind
        if loss.kind not in _TERMS:
            raise UsageError(f"no derivatives for the {loss.kind} loss")
        self._l = _TERMS[loss.kind](self, loss)

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
        """``l(W)`` (S1) for the end-to-end matrix ``W``."""
        return self._l.value(W)

    def grad_l(self, W):
        """``G = grad l(W)`` (S2.1): ``W - Phi``, ``W Sxx - Syx`` or ``(softmax(W X) - Y) X^T / m``."""
        return self._l.grad(W)

    def loss_and_grad_l(self, W):
        """``(l(W), grad l(W))``, sharing the work where the loss allows (cross-entropy: one softmax)."""
        return self._l.value_and_grad(W)

    def hess_l(self, E, W=None):
        """``Hl(W)[E]`` as a matrix: ``E`` (whitened), ``E Sxx`` (data), or the cross-entropy /
        logistic Hessian at ``W`` applied to ``E`` (S2.2; ``W`` needed only for those)."""
        return self._l.hess(W, E)

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
            loss, G = self.loss_and_grad_l(P[-1])
            grads = [S[j + 1].T @ G @ P[j].T for j in range(self.N)]
            return loss, flatten(grads)

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
        dG = self.hess_l(dP[-1], P[-1])
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


# --------------------------------------------------------------------------
# the loss of the end-to-end matrix, one small class per loss kind
# --------------------------------------------------------------------------


class _Term:
    """``l``, ``grad l`` and ``Hl[E]`` of one loss kind in the objective's number type."""

    def __init__(self, obj: "Objective", loss):
        self.obj = obj

    def value_and_grad(self, W):
        return self.value(W), self.grad(W)


class _Whitened(_Term):
    def __init__(self, obj, loss):
        self.number = obj.number
        obj.Phi = self.Phi = obj.convert(loss.target)

    def value(self, W):
        return _half(self.number) * _sumsq(W - self.Phi)

    def grad(self, W):
        return W - self.Phi

    def hess(self, W, E):
        return E


class _Square(_Term):
    def __init__(self, obj, loss):
        self.number = number = obj.number
        if number == "float64":
            Sxx, Syx, c = loss.float_stats
        else:
            eSxx, eSyx, ec = loss.exact_stats
            Sxx, Syx = fmpq_to_fractions(eSxx), fmpq_to_fractions(eSyx)
            c = Fraction(int(ec.p), int(ec.q))
        obj.Sxx = self.Sxx = obj.convert(Sxx)
        obj.Syx = self.Syx = obj.convert(Syx)
        obj.c = self.c = c if number == "exact" else (float(c) if number == "float64" else obj._mpf(c))

    def value(self, W):
        return _half(self.number) * _trace(W @ self.Sxx @ W.T) - _trace(W @ self.Syx.T) + self.c

    def grad(self, W):
        return W @ self.Sxx - self.Syx

    def hess(self, W, E):
        return E @ self.Sxx


def _no_exact(obj, loss):
    if obj.number == "exact":
        raise UsageError(f"number='exact' is impossible for the {loss.kind} loss (exp and log of rationals are "
                         "not rational); use 'float64' or 'mpf'")


class _Kernel(_Term):
    """Cross-entropy and logistic loss, float64: the estimates of :mod:`certify.losses`
    (batched over the samples; not rigorous)."""

    def __init__(self, obj, loss):
        _no_exact(obj, loss)
        self.k = loss.kernel
        self.shape = (self.k.d_out, self.k.d_in)

    def _finite(self, W) -> bool:
        return bool(np.all(np.isfinite(W)))

    def value(self, W):
        return self.k.value(W) if self._finite(W) else float("nan")  # GD reports the divergence

    def grad(self, W):
        return self.k.gradient(W) if self._finite(W) else np.full(self.shape, np.nan)

    def value_and_grad(self, W):
        return self.k.value_and_gradient(W) if self._finite(W) else (float("nan"), np.full(self.shape, np.nan))

    def hess(self, W, E):
        return self.k.hvp(W, E) if self._finite(W) and self._finite(E) else np.full(self.shape, np.nan)


def _mp_map(f, A):
    return np.frompyfunc(f, 1, 1)(A)


class _MpCrossEntropy(_Term):
    """Softmax cross-entropy in mpmath (object arrays at ``dps`` digits; a reference, loops
    in Python): ``l = (1/m) sum_i (s_i LSE(z_i) - <y_i, z_i>)``, ``grad l = (P diag(s) - Y) X^T / m``,
    ``Hl[E] = (s (P o V - P diag(1^T (P o V)))) X^T / m`` with ``V = E X`` (S1)."""

    def __init__(self, obj, loss):
        self.obj = obj
        self.X = obj.convert(loss.X)
        self.Y = obj.convert(loss.Y)
        self.XT = self.X.T
        with mpmath.workdps(obj.dps):
            self.s = np.array([mpmath.fsum(col) for col in self.Y.T], dtype=object)
            self.inv_m = mpmath.mpf(1) / loss.m

    def _softmax(self, W):
        Z = W @ self.X
        M = np.array([max(col) for col in Z.T], dtype=object)
        Ex = _mp_map(mpmath.exp, Z - M)
        S = Ex.sum(axis=0)
        return Z, Ex / S, M + _mp_map(mpmath.log, S)

    def value(self, W):
        Z, _, lse = self._softmax(W)
        return self.inv_m * mpmath.fsum(self.s * lse - (self.Y * Z).sum(axis=0))

    def grad(self, W):
        _, P, _ = self._softmax(W)
        return ((P * self.s - self.Y) @ self.XT) * self.inv_m

    def hess(self, W, E):
        _, P, _ = self._softmax(W)
        PV = P * (E @ self.X)
        return ((self.s * (PV - P * PV.sum(axis=0))) @ self.XT) * self.inv_m


class _MpLogistic(_Term):
    """Logistic loss in mpmath: ``l = (1/m) sum_i log(1 + exp(t_i))``, ``t_i = -y_i W x_i``,
    ``grad l = -(1/m) sum_i y_i sigma(t_i) x_i^T``, ``Hl[E] = (1/m) sum_i sigma(1-sigma) (E x_i) x_i^T``."""

    def __init__(self, obj, loss):
        self.X = obj.convert(loss.X)
        self.XT = self.X.T
        self.y = obj.convert(loss.y)
        with mpmath.workdps(obj.dps):
            self.inv_m = mpmath.mpf(1) / loss.m

    def _t(self, W):
        return -self.y * (W @ self.X)[0]

    def value(self, W):
        return self.inv_m * mpmath.fsum(_mp_map(lambda t: mpmath.log1p(mpmath.exp(t)), self._t(W)))

    def _sigma(self, W):
        return _mp_map(lambda t: 1 / (1 + mpmath.exp(-t)), self._t(W))

    def grad(self, W):
        return ((-self.y * self._sigma(W)) @ self.XT)[None, :] * self.inv_m

    def hess(self, W, E):
        sg = self._sigma(W)
        return ((sg * (1 - sg) * (E @ self.X)[0]) @ self.XT)[None, :] * self.inv_m


def _cross_entropy_term(obj, loss):
    _no_exact(obj, loss)
    return _Kernel(obj, loss) if obj.number == "float64" else _MpCrossEntropy(obj, loss)


def _logistic_term(obj, loss):
    _no_exact(obj, loss)
    return _Kernel(obj, loss) if obj.number == "float64" else _MpLogistic(obj, loss)


_TERMS = {"whitened": _Whitened, "square": _Square, "cross_entropy": _cross_entropy_term,
          "logistic": _logistic_term}


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
