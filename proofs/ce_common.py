"""Shared by proofs/ce_*.py (no lemma of its own): the per-sample cross-entropy and logistic losses
written from their definitions in SPEC S1 as sympy expressions, their derivatives by
``sympy.diff``, and the substitution that turns every identity into one between rational functions.

The derivatives of ``log sum_k exp(z_k)`` contain only the atoms ``exp(z_k)`` (``z = W x``, ``W``,
``x`` real symbols), so replacing each atom by a positive symbol ``e_k`` makes the derivative a
rational function of ``(e, W, x, y, directions)``; two such expressions agree for all real inputs
iff their difference cancels to 0 (``sympy.cancel``), since ``(e_1..e_d)`` ranges over an open set.
The definition ``-sum_c y_c log(exp(z_c)/S)`` is brought to ``sum_c y_c (log S - z_c)`` by
``expand_log(force=True)``, valid for real ``z`` and ``S > 0``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import sympy as sp


@dataclass
class SampleCE:
    dN: int
    d0: int
    W: sp.Matrix
    x: sp.Matrix
    y: list
    e: list  # positive symbols standing for exp(z_k)
    rep: dict  # exp(z_k) -> e_k
    loss: sp.Expr  # per-sample loss (definition, log expanded)
    grad: sp.Matrix  # d loss / d W, by sympy.diff
    p: list  # softmax in terms of e
    s: sp.Expr  # sum_c y_c

    def directional(self, E: sp.Matrix, order: int) -> sp.Expr:
        """``d^order/dt^order loss(W + t E)`` at ``t = 0`` (sympy.diff), with exp atoms replaced."""
        t = sp.Symbol("t", real=True)
        lt = sp.expand_log(_ce_loss(self.W + t * E, self.x, self.y, self.dN), force=True)
        return self.rational(sp.diff(lt, t, order).subs(t, 0))

    def mixed3(self, A: sp.Matrix, B: sp.Matrix) -> sp.Expr:
        """``D^3 loss(W)[A, B, B]`` = d/ds d^2/dt^2 loss(W + s A + t B) at 0."""
        s_, t = sp.Symbol("s_", real=True), sp.Symbol("t", real=True)
        lt = sp.expand_log(_ce_loss(self.W + s_ * A + t * B, self.x, self.y, self.dN), force=True)
        return self.rational(sp.diff(sp.diff(lt, t, 2), s_).subs({s_: 0, t: 0}))

    def rational(self, expr):
        """``expr`` with ``exp(z_k)`` -> ``e_k`` (a rational function of the symbols)."""
        z = self.W * self.x
        return exp_atoms_to_symbols(expr, [(z[k], self.e[k]) for k in range(self.dN)])


def _ce_loss(Wm, x, y, dN):
    z = Wm * x
    S = sum(sp.exp(z[k]) for k in range(dN))
    return -sum(y[c] * sp.log(sp.exp(z[c]) / S) for c in range(dN))  # S1, per sample


def exp_atoms_to_symbols(expr, bases):
    """Replace every ``exp(n * b)`` (``n`` an integer, ``(b, sym)`` in ``bases``) by ``sym**n``;
    sympy may merge ``exp(b)**2`` into ``exp(2 b)``, so a plain ``xreplace`` is not enough.  Raises
    if an exponential of anything else is left (the identity would not be rational)."""
    def conv(e):
        for b, sym in bases:
            n = sp.cancel(e.args[0] / b)
            if n.is_Integer:
                return sym**n
        return e

    out = expr.replace(lambda e: isinstance(e, sp.exp), conv)
    if out.atoms(sp.exp):
        raise ValueError(f"unexpected exponentials left: {out.atoms(sp.exp)}")
    return out


def matrix_symbols(name: str, r: int, c: int) -> sp.Matrix:
    return sp.Matrix(r, c, lambda i, j: sp.Symbol(f"{name}{i}_{j}", real=True))


@lru_cache(maxsize=None)
def sample_ce(dN: int, d0: int) -> SampleCE:
    W = matrix_symbols("w", dN, d0)
    x = sp.Matrix(d0, 1, lambda i, j: sp.Symbol(f"x{i}", real=True))
    y = [sp.Symbol(f"y{c}", real=True) for c in range(dN)]
    loss = sp.expand_log(_ce_loss(W, x, y, dN), force=True)
    z = W * x
    e = [sp.Symbol(f"e{k}", positive=True) for k in range(dN)]
    rep = {sp.exp(z[k]): e[k] for k in range(dN)}
    grad = sp.Matrix(dN, d0, lambda i, j: sp.diff(loss, W[i, j]))
    S = sum(e)
    return SampleCE(dN, d0, W, x, y, e, rep, loss, grad, [ek / S for ek in e], sum(y))


@dataclass
class SampleLogistic:
    d0: int
    w: sp.Matrix  # 1 x d0
    x: sp.Matrix
    y: sp.Symbol
    loss: sp.Expr
    grad: sp.Matrix
    z: sp.Expr
    q: sp.Symbol  # positive symbol standing for exp(-y z)
    rep: dict

    @property
    def sigma(self):
        """``sigma(t) = 1/(1 + exp(-t))`` at ``t = -y z``, in terms of ``q = exp(-y z)``."""
        return self.q / (1 + self.q)

    def directional(self, E: sp.Matrix, order: int) -> sp.Expr:
        t = sp.Symbol("t", real=True)
        zt = ((self.w + t * E) * self.x)[0]
        return self.rational(sp.diff(sp.log(1 + sp.exp(-self.y * zt)), t, order).subs(t, 0))

    def rational(self, expr):
        """``expr`` with ``exp(-y z)`` -> ``q`` (a rational function of the symbols)."""
        return exp_atoms_to_symbols(expr, [(-self.y * self.z, self.q)])

    def mixed3(self, A: sp.Matrix, B: sp.Matrix) -> sp.Expr:
        s_, t = sp.Symbol("s_", real=True), sp.Symbol("t", real=True)
        zt = ((self.w + s_ * A + t * B) * self.x)[0]
        d = sp.diff(sp.diff(sp.log(1 + sp.exp(-self.y * zt)), t, 2), s_)
        return self.rational(d.subs({s_: 0, t: 0}))


@lru_cache(maxsize=None)
def sample_logistic(d0: int) -> SampleLogistic:
    w = matrix_symbols("w", 1, d0)
    x = sp.Matrix(d0, 1, lambda i, j: sp.Symbol(f"x{i}", real=True))
    y = sp.Symbol("y", real=True)
    z = (w * x)[0]
    loss = sp.log(1 + sp.exp(-y * z))  # S1, per sample
    grad = sp.Matrix(1, d0, lambda i, j: sp.diff(loss, w[0, j]))
    q = sp.Symbol("q", positive=True)
    return SampleLogistic(d0, w, x, y, loss, grad, z, q, {sp.exp(-y * z): q})


@dataclass
class CEFunctions:
    """mpmath functions (lambdified sympy expressions; no code shared with certify.losses) of
    ``(W rows, x, y[, E rows])``: per-sample loss, gradient (rows), d^2/dt^2 and D^3[A,B,B]."""

    value: object
    grad: object
    hess: object
    third: object


class _Lazy:
    """A function built on first call (the third derivatives are only needed by one module)."""

    def __init__(self, build):
        self._build, self._f = build, None

    def __call__(self, *args):
        if self._f is None:
            self._f = self._build()
        return self._f(*args)


@lru_cache(maxsize=None)
def ce_functions(dN: int, d0: int) -> CEFunctions:

    sc = sample_ce(dN, d0)
    E = matrix_symbols("E", dN, d0)
    A = matrix_symbols("A", dN, d0)
    args = list(sc.W) + list(sc.x) + list(sc.y)
    z = sc.W * sc.x
    back = {sc.e[k]: sp.exp(z[k]) for k in range(dN)}
    val = sp.lambdify(args, sc.loss, modules="mpmath")
    grad = sp.lambdify(args, list(sc.grad), modules="mpmath")
    hess = sp.lambdify(args + list(E), sc.directional(E, 2).xreplace(back), modules="mpmath")
    third = _Lazy(lambda: sp.lambdify(args + list(A) + list(E), sc.mixed3(A, E).xreplace(back), modules="mpmath"))

    def flat(Wr, x, y):
        return [v for row in Wr for v in row] + list(x) + list(y)

    def g(Wr, x, y):
        out = grad(*flat(Wr, x, y))
        return [out[a * d0:(a + 1) * d0] for a in range(dN)]

    return CEFunctions(
        value=lambda Wr, x, y: val(*flat(Wr, x, y)),
        grad=g,
        hess=lambda Wr, x, y, Er: hess(*flat(Wr, x, y), *[v for row in Er for v in row]),
        third=lambda Wr, x, y, Ar, Er: third(*flat(Wr, x, y), *[v for row in Ar for v in row],
                                             *[v for row in Er for v in row]),
    )


@lru_cache(maxsize=None)
def logistic_functions(d0: int) -> CEFunctions:
    sl = sample_logistic(d0)
    E = matrix_symbols("E", 1, d0)
    A = matrix_symbols("A", 1, d0)
    args = list(sl.w) + list(sl.x) + [sl.y]
    back = {sl.q: sp.exp(-sl.y * sl.z)}
    val = sp.lambdify(args, sl.loss, modules="mpmath")
    grad = sp.lambdify(args, list(sl.grad), modules="mpmath")
    hess = sp.lambdify(args + list(E), sl.directional(E, 2).xreplace(back), modules="mpmath")
    third = _Lazy(lambda: sp.lambdify(args + list(A) + list(E), sl.mixed3(A, E).xreplace(back), modules="mpmath"))

    def flat(Wr, x, y):
        return list(Wr[0]) + list(x) + [y]

    return CEFunctions(
        value=lambda Wr, x, y: val(*flat(Wr, x, y)),
        grad=lambda Wr, x, y: [list(grad(*flat(Wr, x, y)))],
        hess=lambda Wr, x, y, Er: hess(*flat(Wr, x, y), *Er[0]),
        third=lambda Wr, x, y, Ar, Er: third(*flat(Wr, x, y), *Ar[0], *Er[0]),
    )


def hessian_matrix(f, Wm, cols, dN, d0, logistic=False):
    """The full Hessian of ``(1/m) sum_i f(W x_i, y_i)`` in mpmath at ``Wm``: the basis
    directions on the diagonal, polarisation off it (shared by the ce_ proofs)."""
    import mpmath

    n = dN * d0
    m = len(cols)
    basis = [[[mpmath.mpf(int(a * d0 + b == k)) for b in range(d0)] for a in range(dN)] for k in range(n)]

    def hf(D):
        return sum(f.hess(Wm, x, y, D) for x, y in cols) / m

    H = mpmath.matrix(n, n)
    for k in range(n):
        H[k, k] = hf(basis[k])
    for k in range(n):
        for l2 in range(k + 1, n):
            Dk = [[basis[k][a][b] + basis[l2][a][b] for b in range(d0)] for a in range(dN)]
            H[k, l2] = H[l2, k] = (hf(Dk) - H[k, k] - H[l2, l2]) / 2
    return H
