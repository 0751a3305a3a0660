"""Route 2 of :mod:`certify.symbolic`, entrywise and exact: for given small widths
every weight entry is a scalar symbol (flattened per S1), the loss the scalar
polynomial of its definition, every partial derivative by symbolic
differentiation, evaluated exactly at rational points; and the S2 formulas over
exact rational matrices (:func:`rational_context`, used by proofs/)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from typing import Sequence

import numpy as np
import sympy as sp

from .base import LOSSES, MatrixContext


def _to_fraction(x) -> Fraction:
    if isinstance(x, Fraction):
        return x
    if isinstance(x, (bool, np.bool_)):
        raise TypeError("booleans are not numbers here")
    if isinstance(x, (int, np.integer)):
        return Fraction(int(x))
    if isinstance(x, sp.Rational):
        return Fraction(int(x.p), int(x.q))
    if hasattr(x, "numerator") and hasattr(x, "denominator") and not isinstance(x, float):
        return Fraction(int(x.numerator), int(x.denominator))
    if hasattr(x, "p") and hasattr(x, "q"):  # flint fmpq
        return Fraction(int(x.p), int(x.q))
    return Fraction(float(x))  # a binary64 value, exactly


def _fraction_matrix(a, shape=None) -> list:
    a = np.asarray(a, dtype=object)
    if a.ndim != 2:
        raise ValueError(f"expected a matrix, got an array of shape {a.shape}")
    if shape is not None and a.shape != tuple(shape):
        raise ValueError(f"expected shape {tuple(shape)}, got {a.shape}")
    return [[_to_fraction(x) for x in row] for row in a]


def _matmul(A, B, zero):
    return [[sum((A[i][l] * B[l][k] for l in range(len(B))), zero) for k in range(len(B[0]))]
            for i in range(len(A))]


def _scalar_loss(Ws, kind, data, zero):
    """The S1 loss from its definition, for any scalar type (ring elements, sympy
    expressions): ``1/2 sum (P - Phi)^2`` or ``1/(2m) sum (P X - Y)^2``."""
    P = Ws[0]
    for W in Ws[1:]:
        P = _matmul(W, P, zero)
    if kind == "whitened":
        Phi = data
        total = zero
        for i in range(len(P)):
            for k in range(len(P[0])):
                r = P[i][k] - Phi[i][k]
                total = total + r * r
        return total, 2
    X, Y = data
    m = len(X[0])
    R = _matmul(P, X, zero)
    total = zero
    for i in range(len(R)):
        for k in range(m):
            r = R[i][k] - Y[i][k]
            total = total + r * r
    return total, 2 * m


@dataclass
class EntrywiseResult:
    loss: Fraction
    grad: np.ndarray  # object array of Fraction, flattened per S1
    hessian: np.ndarray  # object array of Fraction, n x n

    def __iter__(self):  # (loss, grad, hessian) = result
        return iter((self.loss, self.grad, self.hessian))


class EntrywiseReference:
    """Scalar symbols for every weight entry of widths ``dims`` (S1 order), the
    scalar loss, and all its first and second partial derivatives.

    - :attr:`symbols`: the weight entries ``w{j}_{r}_{c}`` (layer ``j``, row
      ``r``, column ``c``), in the S1 flattening order.
    - :meth:`loss_expr`, :meth:`gradient_exprs`, :meth:`hessian_exprs`: sympy
      expressions with the data as symbols (``phi_{r}_{c}``, or ``x_{l}_{k}``,
      ``y_{i}_{k}`` for ``m`` samples), derivatives by ``sympy.diff``.
    - :meth:`evaluate`: exact loss, gradient and Hessian at a rational point.
      The loss polynomial (data substituted, which commutes with
      differentiating in the weights) is differentiated symbolically in a
      sparse polynomial ring over QQ (``PolyElement.diff``) and every
      derivative polynomial is evaluated exactly.
    """

    def __init__(self, dims: Sequence[int], loss_kind: str):
        dims = tuple(int(d) for d in dims)
        if len(dims) < 2 or min(dims) < 1:
            raise ValueError(f"dims must be (d0, ..., dN) with N >= 1 and positive widths, got {dims}")
        if loss_kind not in LOSSES:
            raise ValueError(f"loss_kind must be one of {LOSSES}, got {loss_kind!r}")
        self.dims, self.kind, self.N = dims, loss_kind, len(dims) - 1
        self.names = [f"w{j + 1}_{r}_{c}" for j in range(self.N)
                      for r in range(dims[j + 1]) for c in range(dims[j])]
        self.symbols = tuple(sp.Symbol(nm) for nm in self.names)
        self.n = len(self.names)

    # -- symbolic -------------------------------------------------------------
    def weight_matrices(self, values: Sequence | None = None) -> list:
        """The weights as lists of rows (symbols, or ``values`` in S1 order)."""
        vals = list(self.symbols) if values is None else list(values)
        out, pos = [], 0
        for j in range(self.N):
            r, c = self.dims[j + 1], self.dims[j]
            out.append([vals[pos + i * c: pos + (i + 1) * c] for i in range(r)])
            pos += r * c
        return out

    def data_symbols(self, m: int | None = None):
        d0, dN = self.dims[0], self.dims[-1]
        if self.kind == "whitened":
            return [[sp.Symbol(f"phi_{r}_{c}") for c in range(d0)] for r in range(dN)]
        if m is None or m < 1:
            raise ValueError("the square loss needs the number of samples m >= 1")
        X = [[sp.Symbol(f"x_{l}_{k}") for k in range(m)] for l in range(d0)]
        Y = [[sp.Symbol(f"y_{i}_{k}") for k in range(m)] for i in range(dN)]
        return X, Y

    def loss_expr(self, m: int | None = None, data=None):
        """The scalar loss (sympy), data symbolic unless ``data`` is given."""
        if data is None:
            data = self.data_symbols(m)
        else:
            data = self._data(data, sympy_numbers=True)
        total, denom = _scalar_loss(self.weight_matrices(), self.kind, data, sp.S.Zero)
        return sp.Rational(1, denom) * total

    def gradient_exprs(self, m: int | None = None, data=None) -> list:
        f = self.loss_expr(m, data)
        return [sp.diff(f, w) for w in self.symbols]

    def hessian_exprs(self, m: int | None = None, data=None) -> sp.Matrix:
        g = self.gradient_exprs(m, data)
        n = self.n
        H = sp.zeros(n, n)
        for a in range(n):
            for b in range(a, n):
                H[a, b] = H[b, a] = sp.diff(g[a], self.symbols[b])
        return H

    # -- exact evaluation -----------------------------------------------------
    def _data(self, data, sympy_numbers=False):
        d0, dN = self.dims[0], self.dims[-1]
        conv = (lambda q: sp.Rational(q.numerator, q.denominator)) if sympy_numbers else (lambda q: q)
        if self.kind == "whitened":
            Phi = _fraction_matrix(data, (dN, d0))
            return [[conv(x) for x in row] for row in Phi]
        if not isinstance(data, (tuple, list)) or len(data) != 2:
            raise ValueError("the square loss needs data = (X, Y)")
        X = _fraction_matrix(data[0])
        m = len(X[0])
        if len(X) != d0:
            raise ValueError(f"X must have d0 = {d0} rows, got {len(X)}")
        Y = _fraction_matrix(data[1], (dN, m))
        return [[conv(x) for x in row] for row in X], [[conv(x) for x in row] for row in Y]

    def _theta(self, theta) -> list:
        if isinstance(theta, (list, tuple)) and theta and np.ndim(theta[0]) == 2:
            flat = [x for W in theta for x in np.asarray(W, dtype=object).reshape(-1)]
        else:
            flat = list(np.asarray(theta, dtype=object).reshape(-1))
        if len(flat) != self.n:
            raise ValueError(f"expected {self.n} parameters, got {len(flat)}")
        return [_to_fraction(x) for x in flat]

    def loss_polynomial(self, data):
        """``(ring, gens, F, divisor)``: the loss is ``F / divisor`` with ``F`` a
        polynomial in the weights over ZZ (the data are scaled by their common
        denominator ``q``: ``f = sum (qP - q Phi)^2 / (2 q^2)`` or
        ``sum (P (qX) - qY)^2 / (2 m q^2)``)."""
        from sympy.polys.domains import ZZ
        from sympy.polys.rings import ring

        R, *gens = ring(self.names, ZZ)
        data = self._data(data)
        flat = [x for row in data for x in row] if self.kind == "whitened" else \
            [x for M in data for row in M for x in row]
        q = 1
        for x in flat:
            q = q * x.denominator // math.gcd(q, x.denominator)
        z = lambda x: R(int(x * q))  # noqa: E731
        Ws = self.weight_matrices(gens)
        if self.kind == "whitened":
            Ws[-1] = [[w * q for w in row] for row in Ws[-1]]
            data = [[z(x) for x in row] for row in data]
        else:
            data = ([[z(x) for x in row] for row in data[0]], [[z(x) for x in row] for row in data[1]])
        total, denom = _scalar_loss(Ws, self.kind, data, R.zero)
        return R, gens, total, denom * q * q

    def evaluate(self, theta_rationals, target_or_XY_rationals) -> EntrywiseResult:
        """Exact ``(loss, grad, hessian)`` at ``theta`` (flattened per S1, or a
        list of weight matrices) for the target ``Phi`` (whitened) or the data
        ``(X, Y)`` (square).  Entries may be ints, Fractions, sympy Rationals
        or floats (taken exactly)."""
        th = self._theta(theta_rationals)
        _, gens, F, divisor = self.loss_polynomial(target_or_XY_rationals)
        ev = _PointEvaluator(th, 2 * self.N, divisor)
        grads = [F.diff(x) for x in gens]
        n = self.n
        H = np.empty((n, n), dtype=object)
        for a in range(n):
            for b in range(a, n):
                H[a, b] = H[b, a] = ev(grads[a].diff(gens[b]))
        g = np.empty(n, dtype=object)
        for a in range(n):
            g[a] = ev(grads[a])
        return EntrywiseResult(ev(F), g, H)


class _PointEvaluator:
    """Exact value of ``p / divisor`` (``p`` over ZZ) at one rational point, in
    integer arithmetic: with ``q`` the common denominator of the point
    (``x_i = a_i / q``) a term ``c x^e`` contributes ``c a^e / q^|e|``;
    monomial values are memoised across polynomials."""

    def __init__(self, point: Sequence[Fraction], max_degree: int, divisor: int = 1):
        q = 1
        for v in point:
            q = q * v.denominator // math.gcd(q, v.denominator)
        self.q, self.divisor = q, divisor
        a = [int(v * q) for v in point]
        self.pw = [[x ** e for e in range(max_degree + 1)] for x in a]
        self.memo: dict = {}

    def _mon(self, mon) -> int:
        v = self.memo.get(mon)
        if v is None:
            v = 1
            for i, e in enumerate(mon):
                if e:
                    v *= self.pw[i][e]
            self.memo[mon] = v
        return v

    def __call__(self, p) -> Fraction:
        by_degree: dict = {}
        for mon, c in p.items():
            d = sum(mon)
            by_degree[d] = by_degree.get(d, 0) + int(c) * self._mon(mon)
        total = Fraction(0)
        for d, num in by_degree.items():
            total += Fraction(num, self.q ** d)
        return total / self.divisor


@lru_cache(maxsize=64)
def _reference(dims: tuple, loss_kind: str) -> EntrywiseReference:
    return EntrywiseReference(dims, loss_kind)


def entrywise_reference(dims: Sequence[int], loss_kind: str) -> EntrywiseReference:
    """The exact entrywise reference for widths ``dims`` and loss ``loss_kind``
    (``"whitened"`` or ``"square"``); see :class:`EntrywiseReference`."""
    return _reference(tuple(int(d) for d in dims), loss_kind)


# ---------------------------------------------------------------------------
# Exact rational matrices in the MatrixContext interface (used by proofs/)
# ---------------------------------------------------------------------------


def rational_context(dims: Sequence[int], kind: str, Ws: Sequence, data, Ds: Sequence | None = None) -> MatrixContext:
    """:class:`MatrixContext` over sympy matrices of Rationals (exact)."""
    dims = tuple(dims)
    N = len(dims) - 1
    Ws = [sp.Matrix(_fraction_matrix(W)) for W in Ws]
    Ds = [sp.Matrix(_fraction_matrix(D)) for D in Ds] if Ds is not None else []
    P = Ws[0]
    for W in Ws[1:]:
        P = W * P
    inner = lambda A, B: sum((a * b for a, b in zip(A, B)), sp.S.Zero)  # noqa: E731
    if kind == "whitened":
        Phi = sp.Matrix(_fraction_matrix(data))
        G = P - Phi
        hl = lambda E: inner(E, E)  # noqa: E731
    else:
        X = sp.Matrix(_fraction_matrix(data[0]))
        Y = sp.Matrix(_fraction_matrix(data[1]))
        m = X.shape[1]
        G = (P * X - Y) * X.T / m
        hl = lambda E: inner(E * X, E * X) / m  # noqa: E731
    return MatrixContext(N=N, Ws=list(Ws), Ds=list(Ds), G=G, T=lambda A: A.T, inner=inner, hl=hl,
                         identity=lambda k: sp.eye(dims[k]))


def random_rational_matrix(rng, rows: int, cols: int, *, denominators=(1, 2, 3, 4, 5, 7, 8),
                           max_abs: int = 3) -> list:
    """A ``rows x cols`` list of Fractions ``k / q`` (``|k / q| <= max_abs``) from ``random.Random`` ``rng``."""
    out = []
    for _ in range(rows):
        row = []
        for _ in range(cols):
            q = rng.choice(denominators)
            row.append(Fraction(rng.randint(-max_abs * q, max_abs * q), q))
        out.append(row)
    return out


def random_rational_instance(rng, dims: Sequence[int], kind: str, *, samples: int | None = None, **kw):
    """``(Ws, data)``: random rational weights for ``dims`` and a target ``Phi``
    (whitened) or data ``(X, Y)`` with ``samples`` columns (square)."""
    dims = tuple(dims)
    Ws = [random_rational_matrix(rng, dims[j + 1], dims[j], **kw) for j in range(len(dims) - 1)]
    if kind == "whitened":
        data = random_rational_matrix(rng, dims[-1], dims[0], **kw)
    else:
        m = samples or rng.randint(1, 3)
        data = (random_rational_matrix(rng, dims[0], m, **kw), random_rational_matrix(rng, dims[-1], m, **kw))
    return Ws, data
