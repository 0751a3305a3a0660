"""Symbolic check of the cross-entropy and logistic derivatives with sympy (SPEC S1, S2.1,
S2.2; issue 12), for ``certify derive`` on these losses.

These losses are not polynomials, so the matrix-level route of :mod:`certify.symbolic.matrix` (traces
of noncommutative words) does not apply.  Two entrywise checks at small sizes instead:

1. **The loss level.**  ``W`` (``d_N x d_0``), ``X`` and ``Y`` are matrices of scalar symbols
   (``Y`` any nonnegative matrix: ``s_i = sum_c Y_ci`` stays symbolic, so the formulas are
   checked with ``s_i != 1`` too).  ``sympy.diff`` of the loss written from its definition is
   compared with the formulas the kernels implement (SPEC S1):
   ``grad l = (P diag(s) - Y) X^T / m`` and
   ``Hl[E,E] = (1/m) sum_i s_i (sum_c p_ci v_ci^2 - (sum_c p_ci v_ci)^2)``, ``v_i = E x_i``
   (the logistic loss: ``-(1/m) sum_i y_i sigma(t_i) x_i^T`` and
   ``(1/m) sum_i sigma(t_i)(1 - sigma(t_i)) (E x_i)^2``, ``t_i = -y_i W x_i``, labels ``+-1``).
   After differentiation every ``exp(z)`` is replaced by a positive symbol and the difference
   is a rational function that :func:`sympy.cancel` brings to 0.
2. **The implementation.**  For depth ``N`` at small widths and a random dyadic point,
   ``sympy.diff`` of ``f(theta) = l(W_N ... W_1)`` in the weight entries (flattened per S1)
   gives the gradient and a Hessian-vector product, evaluated to 30 digits and compared with
   :class:`certify.Objective` (float64 estimates).

S2.1 and S2.2 are the chain rule through ``W_{N:1}``: they hold with ``G = grad l(W)`` and
``Hl`` of any twice differentiable loss; check 2 confirms the assembled result.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Callable

import mpmath
import numpy as np
import sympy as sp

from .base import TRANSCENDENTAL

LOSSES = TRANSCENDENTAL
#: the loss-level check's sizes (d_N, d_0, m); logistic has d_N = 1
SIZES = {"cross_entropy": (3, 2, 2), "logistic": (1, 2, 2)}
#: agreement required between sympy's derivatives and the float64 implementation
IMPL_TOL = 1e-12
#: the implementation check runs at depth min(N, this) (depth 3: seconds; 5: about 45 s)
IMPL_MAX_DEPTH = 3


@dataclass
class LossDerivation:
    """The loss-level check (route 1 of the module docstring)."""

    loss: str
    sizes: tuple
    value: sp.Expr
    grad_formula: sp.Matrix
    hess_formula: sp.Expr
    grad_difference: list
    hess_difference: sp.Expr

    @property
    def grad_ok(self) -> bool:
        return all(d == 0 for d in self.grad_difference)

    @property
    def hess_ok(self) -> bool:
        return self.hess_difference == 0


def _symbols(loss: str):
    d_out, d_in, m = SIZES[loss]
    W = sp.Matrix(d_out, d_in, lambda i, j: sp.Symbol(f"w_{i + 1}{j + 1}", real=True))
    E = sp.Matrix(d_out, d_in, lambda i, j: sp.Symbol(f"e_{i + 1}{j + 1}", real=True))
    X = sp.Matrix(d_in, m, lambda i, j: sp.Symbol(f"x_{i + 1}{j + 1}", real=True))
    if loss == "cross_entropy":
        Y = sp.Matrix(d_out, m, lambda i, j: sp.Symbol(f"y_{i + 1}{j + 1}", nonnegative=True))
    else:
        Y = sp.Matrix(1, m, [(-1) ** j for j in range(m)])  # labels +1, -1, ...
    return W, E, X, Y


def loss_expression(loss: str, W, X, Y):
    """The loss from its definition (SPEC S1) in sympy."""
    Z = W * X
    d_out, m = Z.shape
    if loss == "cross_entropy":
        return -sum(Y[c, i] * sp.log(sp.exp(Z[c, i]) / sum(sp.exp(Z[k, i]) for k in range(d_out)))
                    for i in range(m) for c in range(d_out)) / m
    return sum(sp.log(1 + sp.exp(-Y[0, i] * Z[0, i])) for i in range(m)) / m


def ce_formulas(W, E, X, Y):
    """``(grad l, Hl[E,E])`` of the softmax cross-entropy as implemented (SPEC S1)."""
    Z, V = W * X, E * X
    d_out, m = Z.shape
    den = [sum(sp.exp(Z[k, i]) for k in range(d_out)) for i in range(m)]
    P = sp.Matrix(d_out, m, lambda c, i: sp.exp(Z[c, i]) / den[i])
    s = [sum(Y[c, i] for c in range(d_out)) for i in range(m)]
    G = (P * sp.diag(*s) - Y) * X.T / m
    H = sum(s[i] * (sum(P[c, i] * V[c, i] ** 2 for c in range(d_out)) - sum(P[c, i] * V[c, i]
                                                                           for c in range(d_out)) ** 2)
            for i in range(m)) / m
    return G, H


def logistic_formulas(W, E, X, Y):
    """``(grad l, Hl[E,E])`` of the logistic loss as implemented (SPEC S1)."""
    Z, V = W * X, E * X
    m = Z.shape[1]
    sig = [1 / (1 + sp.exp(Y[0, i] * Z[0, i])) for i in range(m)]  # sigma(t_i), t_i = -y_i z_i
    G = -sum((Y[0, i] * sig[i] * X[:, i].T for i in range(m)), sp.zeros(1, X.shape[0])) / m
    H = sum(sig[i] * (1 - sig[i]) * V[0, i] ** 2 for i in range(m)) / m
    return G, H


def _rational(expr, Z):
    """``expr`` with every ``exp(c z)`` (``z`` an entry of ``Z``, ``c`` rational) written ``u_z^c``
    with positive symbols ``u``, brought to one fraction by :func:`sympy.cancel`: zero iff the
    expression vanishes identically (the ``exp(z)`` are algebraically independent).  An ``exp``
    of anything else is split over the monomials of its argument the same way."""
    us = {z: sp.Symbol(f"u_{k}", positive=True) for k, z in enumerate(Z)}
    mono: dict = {}

    def as_power(e):
        arg = e.args[0]
        for z, u in us.items():
            c = sp.cancel(arg / z)
            if c.is_Rational:
                return u ** c
        out = sp.S.One
        for term in sp.Add.make_args(sp.expand(arg)):
            c, m = term.as_coeff_Mul()
            out *= mono.setdefault(m, sp.Symbol(f"v_{len(mono)}", positive=True)) ** c
        return out

    r = expr.replace(lambda e: isinstance(e, sp.exp), as_power)
    # the loss is a sum over samples: cancel the terms of each sample's exponentials apart
    # (much faster); if a group does not vanish, the whole expression decides
    U = set(us.values()) | set(mono.values())
    groups: dict = {}
    for term in sp.Add.make_args(r):
        groups.setdefault(frozenset(term.free_symbols & U), []).append(term)
    if all(sp.cancel(sp.Add(*g)) == 0 for g in groups.values()):
        return sp.S.Zero
    return sp.cancel(r)


def derive_loss(loss: str, formulas: Callable | None = None) -> LossDerivation:
    """Route 1: sympy's gradient and second directional derivative of the loss against
    ``formulas(W, E, X, Y) -> (G, Hl[E,E])`` (default: the implemented ones)."""
    if loss not in LOSSES:
        raise ValueError(f"loss must be one of {', '.join(LOSSES)}, got {loss!r}")
    W, E, X, Y = _symbols(loss)
    f = formulas or (ce_formulas if loss == "cross_entropy" else logistic_formulas)
    G, H = f(W, E, X, Y)
    value = loss_expression(loss, W, X, Y)
    Z = list(W * X)
    gdiff = [_rational(sp.diff(value, W[a, b]) - G[a, b], Z) for a in range(W.rows) for b in range(W.cols)]
    t = sp.Symbol("t", real=True)
    d2 = sp.diff(loss_expression(loss, W + t * E, X, Y), t, 2).subs(t, 0)
    return LossDerivation(loss, SIZES[loss], value, G, H, gdiff, _rational(d2 - H, Z))


def implementation_check(N: int, loss: str, *, seed: int = 0) -> tuple[float, float]:
    """Route 2: max relative differences ``(grad, hvp)`` between sympy's derivatives of
    ``f(theta) = l(W_{N:1})`` and :class:`certify.Objective` (float64) at a random dyadic point;
    widths ``d_0 = 2``, hidden 2, ``d_N = 3`` (cross-entropy) or 1 (logistic), ``m = 2``."""
    from .._derivatives import Objective
    from .._problem import flatten, problem_from_dict

    rng = np.random.default_rng(seed)
    d_out, m = (3 if loss == "cross_entropy" else 1), 2
    dims = [2] + [2] * (N - 1) + [d_out]
    dy = lambda *shape: (rng.integers(-8, 9, size=shape) / 8.0)  # noqa: E731 - exact dyadic doubles
    X = dy(2, m)
    if loss == "cross_entropy":
        Y = rng.integers(0, 4, size=(d_out, m)).astype(float) + np.eye(d_out, m)
        Y = Y / Y.sum(axis=0)
        Y = np.round(Y * 2**20) / 2**20
        Y[-1] = 1.0 - Y[:-1].sum(axis=0)  # exactly 1 (dyadic)
        lspec = {"kind": "cross_entropy", "X": X.tolist(), "Y": Y.tolist()}
    else:
        lspec = {"kind": "logistic", "X": X.tolist(), "y": [1, -1]}
    Ws = [dy(dims[j + 1], dims[j]) for j in range(N)]
    prob = problem_from_dict({"dims": dims, "loss": lspec, "init": {"weights": [w.tolist() for w in Ws]}})
    theta0, v = prob.theta0, flatten([dy(dims[j + 1], dims[j]) for j in range(N)])
    syms = sp.symbols(f"theta0:{theta0.size}", real=True)
    SW, pos = [], 0
    for j in range(N):
        r, c = dims[j + 1], dims[j]
        SW.append(sp.Matrix(r, c, syms[pos:pos + r * c]))
        pos += r * c
    P = SW[0]
    for M in SW[1:]:
        P = M * P
    q = lambda x: sp.Rational(Fraction(float(x)))  # noqa: E731 - the double, exactly
    Xs = sp.Matrix(X.shape[0], X.shape[1], [q(x) for x in X.ravel()])
    Ys = (sp.Matrix(Y.shape[0], Y.shape[1], [q(x) for x in Y.ravel()]) if loss == "cross_entropy"
          else sp.Matrix(1, m, [1, -1]))
    f = loss_expression(loss, P, Xs, Ys)
    t = sp.Symbol("t", real=True)
    f_t = sp.diff(f.subs({s: s + t * q(x) for s, x in zip(syms, v)}, simultaneous=True), t).subs(t, 0)
    derivs = sp.lambdify(syms, [sp.diff(f, s) for s in syms] + [sp.diff(f_t, s) for s in syms], modules="mpmath")
    with mpmath.workdps(30):  # the doubles are exact mpf values; 30 digits of the derivatives
        vals = [float(x) for x in derivs(*[mpmath.mpf(float(x)) for x in theta0])]
    grad, hvp = np.array(vals[:theta0.size]), np.array(vals[theta0.size:])
    obj = Objective(prob)
    rel = lambda a, b: float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-300))  # noqa: E731
    return rel(obj.grad(theta0), grad), rel(obj.hvp(theta0, v), hvp)
