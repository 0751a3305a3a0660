"""Symbolic derivations of SPEC S2 with sympy (``certify derive``, proofs/, tests).

Two independent routes from the loss to its derivatives:

1. **Matrix level** (:func:`derive_matrix_level`, :func:`derivation_report`).
   The weights are *noncommutative* sympy symbols ``W_1..W_N`` (with partners
   ``W_j^T``), so one computation covers every choice of widths.  The loss
   ``f = 1/2 tr(R^T R)``, ``R = W_N...W_1 - Phi`` (whitened) or
   ``f = 1/(2m) tr(R^T R)``, ``R = W_N...W_1 X - Y`` (square, S1), is evaluated
   along ``W_j -> W_j + s D_j`` and differentiated once and twice in ``s`` at
   ``s = 0`` with ``sympy.diff``.  The results are traces of words in the
   letters; every word is brought to a canonical form with the two identities
   ``tr(AB) = tr(BA)`` and ``tr(A^T) = tr(A)`` (valid for all shapes that make
   the products defined), so an expression that *canonicalises to zero* is zero
   for every width.  The S2.1 / S2.2 formulas are built the same way and the
   difference is shown to vanish.

2. **Entrywise** (:func:`entrywise_reference`).  For given small widths every
   weight entry is a scalar symbol (flattened per S1), the loss is the scalar
   polynomial written from its definition in S1 (``1/(2m) ||W X - Y||_F^2``
   with the samples themselves, not the statistics ``Sxx``/``Syx``), and every
   partial derivative is obtained by symbolic differentiation.  Evaluation at
   rational points is exact (:class:`fractions.Fraction`).  This is the exact
   reference the numeric kernels of :mod:`certify._derivatives` are tested
   against; it shares no code with them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction
from functools import lru_cache
from typing import Callable, Sequence

import numpy as np
import sympy as sp

__all__ = [
    "Letters",
    "MatrixContext",
    "MatrixDerivation",
    "EntrywiseReference",
    "derivation_report",
    "derive_matrix_level",
    "entrywise_reference",
    "random_rational_instance",
    "random_rational_matrix",
    "rational_context",
    "s21_gradient",
    "s22_hessian_form",
]

LOSSES = ("whitened", "square")
#: losses with exp/log: no matrix-level derivation; certify._symbolic_ce checks them entrywise
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


# ---------------------------------------------------------------------------
# Route 1: the matrix level
# ---------------------------------------------------------------------------


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


# ---------------------------------------------------------------------------
# The report printed by ``certify derive``
# ---------------------------------------------------------------------------


def derivation_report(N: int, loss: str, latex: bool = False) -> str:
    """A human-readable derivation of S2.1 and S2.2 for depth ``N`` (any widths).

    The loss is written at the matrix level with noncommutative symbols, its
    first and second directional derivatives along ``W_j -> W_j + s D_j`` are
    computed by ``sympy.diff`` in ``s``, and the differences to the S2.1 / S2.2
    formulas are shown to simplify to zero (traces canonicalised with
    ``tr(AB) = tr(BA)``, ``tr(A^T) = tr(A)``).  ``latex=True`` renders the
    formulas with ``sympy.latex``.  The cross-entropy and logistic losses are not
    polynomials: their report comes from :mod:`certify._symbolic_ce` (entrywise
    checks of ``grad l``, ``Hl`` and the implementation at small sizes).
    """
    N = int(N)
    if loss in TRANSCENDENTAL:  # not polynomial: entrywise checks at small sizes instead
        from . import _symbolic_ce

        return _symbolic_ce.derivation_report(N, loss, latex=latex)
    if loss not in LOSSES:
        raise ValueError(f"loss must be one of {', '.join(LOSSES)}, got {loss!r}")
    d = derive_matrix_level(N, loss)
    L, ctx = d.letters, d.ctx

    def fmt(e) -> str:
        return sp.latex(e) if latex else sp.sstr(e)

    def show(label: str, e) -> str:
        if latex:
            return f"\\[ {label} = {fmt(e)} \\]" if label else f"\\[ {fmt(e)} \\]"
        return f"  {label} = {fmt(e)}" if label else f"  {fmt(e)}"

    def text(t: str) -> str:
        return f"% {t}" if latex else t

    R, Rs = d.residual, d.residual_s
    c = d.scale
    lines = []
    title = f"certify derive: depth N = {N}, {loss} loss (SPEC S1, S2.1, S2.2); valid for all widths"
    lines.append(text(title))
    lines.append(text("=" * len(title)) if not latex else "")
    if latex:
        lines = [ln for ln in lines if ln]
    lines.append(text("Loss (S1), with <A,B> = tr(A^T B) and ||A||_F^2 = tr(A^T A):"))
    lines.append(show("R", R))
    lines.append(show("f", c * tr(L.T(R) * R)))
    if loss == "square":
        lines.append(text("  (X: d_0 x m samples, Y: d_N x m targets)"))
    lines.append(text("Along the line W_j -> W_j + s D_j:"))
    lines.append(show("R(s)", Rs))
    lines.append(show("f(s)", c * tr(L.T(Rs) * Rs)))
    lines.append(text("First derivative, sympy.diff in s at s = 0 (traces in canonical form):"))
    lines.append(show("f'(0)", d.first_derived))
    lines.append(text("S2.1: grad_{W_j} f = W_{N:j+1}^T G W_{j-1:1}^T with"))
    lines.append(show("G", ctx.G))
    for j, g in enumerate(d.grads, start=1):
        lines.append(show(f"grad_W{j}" if not latex else f"\\nabla_{{W_{{{j}}}}} f", g))
    lines.append(show("sum_j <grad_j, D_j>" if not latex else r"\sum_j \langle \nabla_{W_j} f, D_j \rangle",
                      d.first_formula))
    diff1 = d.first_difference
    lines.append(show("f'(0) - sum_j <grad_j, D_j>" if not latex
                      else r"f'(0) - \sum_j \langle \nabla_{W_j} f, D_j \rangle", diff1))
    lines.append(text("  => S2.1 holds" if d.first_ok else "  => MISMATCH: S2.1 does not follow"))
    lines.append(text("Second derivative, sympy.diff twice in s at s = 0:"))
    lines.append(show("f''(0)", d.second_derived))
    E = sum((ctx.W(N, j + 1) * ctx.Ds[j - 1] * ctx.W(j - 1, 1) for j in range(1, N + 1)), sp.S.Zero)
    lines.append(text("S2.2: Hf[D,D] = Hl[E,E] + 2 sum_{i<j} <G, W_{N:j+1} D_j W_{j-1:i+1} D_i W_{i-1:1}> with"))
    lines.append(show("E", E))
    lines.append(show("Hl[E,E]", ctx.hl(E)))
    lines.append(show("Hf[D,D]", d.second_formula))
    diff2 = d.second_difference
    lines.append(show("f''(0) - Hf[D,D]", diff2))
    lines.append(text("  => S2.2 holds" if d.second_ok else "  => MISMATCH: S2.2 does not follow"))
    n1, n2 = len(sp.Add.make_args(d.first_derived)), len(sp.Add.make_args(d.second_derived))
    lines.append(text(f"({n1} trace terms in f'(0), {n2} in f''(0); both differences simplify to "
                      f"{'zero' if d.first_ok and d.second_ok else 'NONZERO'})"))
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------
# Route 2: entrywise, exact
# ---------------------------------------------------------------------------


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
