"""Route 1 of :mod:`certify.symbolic`, the matrix level: the whitened or square
loss in noncommutative symbols ``W_1..W_N``, differentiated along ``W_j -> W_j +
s D_j`` with ``sympy.diff`` and compared with S2.1 / S2.2 (valid for every
choice of widths)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import sympy as sp

from .base import (
    LOSSES, Letters, MatrixContext, _is_zero_trace_polynomial, first_variation_formula, s21_gradient,
    s22_hessian_form,
)


@dataclass
class MatrixDerivation:
    """Result of :func:`derive_matrix_level` (all sympy expressions)."""

    N: int
    loss: str
    letters: Letters
    ctx: MatrixContext
    s: sp.Symbol
    m: sp.Symbol | None
    scale: sp.Expr  # 1/2 or 1/(2m)
    residual: sp.Expr  # R = W_{N:1} - Phi  or  W_{N:1} X - Y
    residual_s: sp.Expr  # R with W_j -> W_j + s D_j
    first_derived: sp.Expr  # d/ds f(W + s D) at 0, canonical traces
    first_formula: sp.Expr  # sum_j <grad_j, D_j>
    second_derived: sp.Expr  # d^2/ds^2 f(W + s D) at 0
    second_formula: sp.Expr  # S2.2
    grads: list = field(default_factory=list)  # grad_j as matrix expressions

    @property
    def first_difference(self):
        return sp.expand(self.first_derived - self.first_formula)

    @property
    def second_difference(self):
        return sp.expand(self.second_derived - self.second_formula)

    @property
    def first_ok(self) -> bool:
        return _is_zero_trace_polynomial(self.first_difference)

    @property
    def second_ok(self) -> bool:
        return _is_zero_trace_polynomial(self.second_difference)


def symbolic_context(N: int, loss: str, letters: Letters | None = None):
    """Noncommutative symbols for depth ``N`` and the :class:`MatrixContext` over them.

    Returns ``(ctx, letters, extra)`` with ``extra`` holding ``Phi`` or ``X``,
    ``Y``, ``m`` and the residual ``R``."""
    if loss not in LOSSES:
        raise ValueError(f"loss must be one of {LOSSES}, got {loss!r}")
    if N < 1:
        raise ValueError(f"depth must be >= 1, got {N}")
    L = letters or Letters()
    Ds = [L.pair(f"D_{j}")[0] for j in range(1, N + 1)]  # first: canonical words start with a D
    Ws = [L.pair(f"W_{j}")[0] for j in range(1, N + 1)]
    P = sp.Mul(*reversed(Ws))
    extra: dict = {}
    if loss == "whitened":
        Phi = L.pair("Phi")[0]
        R = P - Phi
        G = R
        hl = lambda E: L.trace(L.T(E) * E)  # noqa: E731
        scale = sp.Rational(1, 2)
        extra.update(Phi=Phi)
    else:
        X = L.pair("X")[0]
        Y = L.pair("Y")[0]
        m = sp.Symbol("m", positive=True)
        R = P * X - Y
        G = R * L.T(X) / m
        hl = lambda E: L.trace(L.T(E * X) * (E * X)) / m  # noqa: E731
        scale = 1 / (2 * m)
        extra.update(X=X, Y=Y, m=m)
    extra.update(R=R, scale=scale)
    ctx = MatrixContext(
        N=N, Ws=Ws, Ds=Ds, G=G, T=L.T, inner=lambda A, B: L.trace(L.T(A) * B), hl=hl,
        identity=lambda k: sp.S.One,
    )
    return ctx, L, extra


def derive_matrix_level(N: int, loss: str, *, grad_formula: Callable | None = None,
                        hess_formula: Callable | None = None) -> MatrixDerivation:
    """Differentiate the loss along ``W_j -> W_j + s D_j`` (``sympy.diff`` in
    ``s``) and compare with S2.1 / S2.2 (or the formulas given: ``grad_formula(ctx, j)``
    returns ``grad_j``, ``hess_formula(ctx)`` returns ``Hf[D, D]``)."""
    ctx, L, extra = symbolic_context(N, loss)
    s = sp.Symbol("s")
    subs = {W: W + s * D for W, D in zip(ctx.Ws, ctx.Ds)}
    R_s = extra["R"].xreplace(subs)
    M_s = L.T(R_s) * R_s  # f(W + sD) = scale * tr(M_s)
    d1 = sp.diff(M_s, s).subs(s, 0)
    d2 = sp.diff(M_s, s, 2).subs(s, 0)
    first = sp.expand(extra["scale"] * L.trace(d1))
    second = sp.expand(extra["scale"] * L.trace(d2))
    gf = grad_formula or s21_gradient
    first_f = sp.expand(first_variation_formula(ctx, gf))
    second_f = sp.expand((hess_formula or s22_hessian_form)(ctx))
    return MatrixDerivation(
        N=N, loss=loss, letters=L, ctx=ctx, s=s, m=extra.get("m"), scale=extra["scale"],
        residual=extra["R"], residual_s=R_s, first_derived=first, first_formula=first_f,
        second_derived=second, second_formula=second_f,
        grads=[gf(ctx, j) for j in range(1, N + 1)],
    )
