"""The shared vocabulary of the symbolic derivations (SPEC S2): noncommutative
letters with transposes, canonical traces, and the S2.1 / S2.2 formulas written
once against :class:`MatrixContext` (any matrix arithmetic: noncommutative
symbols in :mod:`.matrix`, exact rational matrices in :mod:`.entrywise`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import sympy as sp

LOSSES = ("whitened", "square")
#: losses with exp/log: no matrix-level derivation; certify.symbolic.cross_entropy checks them entrywise
TRANSCENDENTAL = ("cross_entropy", "logistic")


# ---------------------------------------------------------------------------
# Noncommutative letters, transposition, canonical traces
# ---------------------------------------------------------------------------


class tr(sp.Function):
    """The trace of a (noncommutative) matrix word: a commutative scalar."""

    nargs = 1
    is_commutative = True

    def _latex(self, printer):
        return r"\operatorname{tr}\left(%s\right)" % printer._print(self.args[0])


class Letters:
    """Noncommutative symbols with transposes: ``A`` and ``A^T`` are partners.

    :meth:`T` transposes an expression (reverses products, swaps partners,
    leaves commutative scalars alone); :meth:`trace` maps a matrix expression
    to a sum of ``coefficient * tr(canonical word)``.
    """

    def __init__(self):
        self.partner: dict = {}
        self.order: dict = {}

    def pair(self, name: str, symmetric: bool = False):
        a = sp.Symbol(name, commutative=False)
        at = a if symmetric else sp.Symbol(name + "^T", commutative=False)
        for x in (a, at):
            self.order.setdefault(x, len(self.order))
        self.partner[a], self.partner[at] = at, a
        return a, at

    # -- transposition --------------------------------------------------------
    def T(self, expr):
        expr = sp.sympify(expr)
        if expr.is_commutative:
            return expr
        if isinstance(expr, sp.Add):
            return sp.Add(*[self.T(a) for a in expr.args])
        if isinstance(expr, sp.Mul):
            c, nc = expr.args_cnc()
            return sp.Mul(*c) * sp.Mul(*[self.T(f) for f in reversed(nc)])
        if isinstance(expr, sp.Pow) and expr.exp.is_Integer and expr.exp > 0:
            return sp.Pow(self.T(expr.base), expr.exp)
        if expr in self.partner:
            return self.partner[expr]
        raise TypeError(f"cannot transpose {expr!r}")

    # -- words ----------------------------------------------------------------
    def word(self, term):
        """``term = coefficient * letter_1 ... letter_k`` -> ``(coefficient, (letters))``."""
        c, nc = sp.sympify(term).args_cnc()
        letters = []
        for f in nc:
            if isinstance(f, sp.Pow):
                if not (f.exp.is_Integer and f.exp > 0 and f.base in self.partner):
                    raise TypeError(f"unexpected factor {f!r}")
                letters.extend([f.base] * int(f.exp))
            elif f in self.partner:
                letters.append(f)
            else:
                raise TypeError(f"unexpected factor {f!r}")
        return sp.Mul(*c), tuple(letters)

    def canonical(self, word: tuple) -> tuple:
        """The least of the cyclic rotations of ``word`` and of its transpose:
        ``tr`` takes the same value on all of them."""
        if not word:
            return word
        twin = tuple(self.partner[x] for x in reversed(word))
        key = lambda w: tuple(self.order[x] for x in w)  # noqa: E731
        cands = [w[i:] + w[:i] for w in (word, twin) for i in range(len(w))]
        return min(cands, key=key)

    def trace_terms(self, expr) -> dict:
        """``tr(expr)`` as ``{canonical word: coefficient}`` (zero coefficients dropped)."""
        out: dict = {}
        expr = sp.expand(expr)
        terms = expr.args if isinstance(expr, sp.Add) else (expr,)
        for t in terms:
            if t == 0:
                continue
            c, w = self.word(t)
            w = self.canonical(w)
            out[w] = out.get(w, 0) + c
        return {w: c for w, c in ((w, sp.expand(c)) for w, c in out.items()) if c != 0}

    def trace(self, expr):
        """``tr(expr)`` as a commutative sympy expression in canonical traces."""
        return _trace_expr(self.trace_terms(expr))


def _trace_expr(terms: dict):
    return sp.Add(*[c * (tr(sp.Mul(*w)) if w else sp.Symbol("tr(I)")) for w, c in terms.items()])


def _is_zero_trace_polynomial(expr) -> bool:
    """``expr`` (commutative, in canonical ``tr`` atoms and scalar symbols) simplifies to 0."""
    e = sp.expand(expr)
    if e == 0:
        return True
    return sp.simplify(sp.together(e)) == 0


# ---------------------------------------------------------------------------
# The formulas of S2.1 / S2.2, written once for any matrix arithmetic
# ---------------------------------------------------------------------------


@dataclass
class MatrixContext:
    """What the S2 formulas need, for one arithmetic (noncommutative symbols or
    exact rational matrices): ``Ws``/``Ds`` (lists, index ``j-1`` for layer
    ``j``), ``G = grad l(W_{N:1})``, ``W(b, a) = W_{b:a}`` (identity if
    ``b < a``), ``T`` (transpose), ``inner(A, B) = <A, B>_F`` and
    ``hl(E) = Hl[E, E]``."""

    N: int
    Ws: list
    Ds: list
    G: object
    T: Callable
    inner: Callable
    hl: Callable
    identity: Callable  # identity(k): identity of size d_k (or 1)

    def W(self, b: int, a: int):
        if b < a:
            return self.identity(a - 1)
        M = self.Ws[a - 1]
        for l in range(a + 1, b + 1):
            M = self.Ws[l - 1] * M
        return M


def s21_gradient(ctx: MatrixContext, j: int):
    """S2.1: ``grad_{W_j} f = W_{N:j+1}^T G W_{j-1:1}^T`` (``j = 1..N``)."""
    return ctx.T(ctx.W(ctx.N, j + 1)) * ctx.G * ctx.T(ctx.W(j - 1, 1))


def s22_hessian_form(ctx: MatrixContext, *, cross_factor=2):
    """S2.2: ``Hf[D,D] = Hl[E,E] + 2 sum_{i<j} <G, W_{N:j+1} D_j W_{j-1:i+1} D_i W_{i-1:1}>``."""
    N, D = ctx.N, ctx.Ds
    E = None
    for j in range(1, N + 1):
        t = ctx.W(N, j + 1) * D[j - 1] * ctx.W(j - 1, 1)
        E = t if E is None else E + t
    val = ctx.hl(E)
    for j in range(1, N + 1):
        for i in range(1, j):
            val = val + cross_factor * ctx.inner(
                ctx.G, ctx.W(N, j + 1) * D[j - 1] * ctx.W(j - 1, i + 1) * D[i - 1] * ctx.W(i - 1, 1)
            )
    return val


def first_variation_formula(ctx: MatrixContext, grad_formula: Callable | None = None):
    """``sum_j <grad_j, D_j>`` with ``grad_j`` from ``grad_formula`` (default S2.1)."""
    g = grad_formula or s21_gradient
    val = 0
    for j in range(1, ctx.N + 1):
        val = val + ctx.inner(g(ctx, j), ctx.Ds[j - 1])
    return val
