"""certify.symbolic: the sympy derivations (matrix level, ``certify derive``) and the exact entrywise
reference, against which the numeric kernels of certify._derivatives are compared."""

from __future__ import annotations

import math
import time
from fractions import Fraction

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings

from certify import Objective
from certify._problem import problem_from_dict
from certify.symbolic import (
    derivation_report, derive_matrix_level, entrywise_reference, s21_gradient,
)
from certify.cli import main
from certify.strategies import problems


def _data(problem):
    loss = problem.loss
    return loss.target if loss.kind == "whitened" else (loss.X, loss.Y)


def _exact(problem):
    return entrywise_reference(problem.dims, problem.loss.kind).evaluate(problem.theta0, _data(problem))


def _magnitude(problem) -> float:
    """A-priori size of the terms the kernels add up (products of norms): the scale of their
    rounding errors, used only as an absolute floor where the exact value cancels to ~0."""
    s = 1.0
    for W in problem.weights:
        s *= (1.0 + np.linalg.norm(W)) ** 2
    if problem.loss.kind == "whitened":
        return s * (1.0 + np.linalg.norm(problem.loss.target)) ** 2
    X, Y = problem.loss.X, problem.loss.Y
    m = X.shape[1]
    nx, ny = np.linalg.norm(X), np.linalg.norm(Y)
    return s * (1.0 + (nx * nx + ny * ny + nx * ny) / m)


def _assert_close(numeric, exact, scale, what):
    numeric = np.asarray(numeric, dtype=np.float64)
    exact_f = np.asarray([float(x) for x in np.asarray(exact, dtype=object).reshape(-1)]).reshape(numeric.shape)
    err = float(np.linalg.norm(numeric - exact_f))
    ref = float(np.linalg.norm(exact_f))
    tol = 1e-10 * ref + 1e-13 * scale
    assert err <= tol, f"{what}: |float - exact| = {err:.3e} > {tol:.3e} (|exact| = {ref:.3e})"


# ---------------------------------------------------------------------------
# float64 kernels vs the exact sympy reference
# ---------------------------------------------------------------------------


@settings(max_examples=40)
@given(problems(min_depth=1, max_depth=4, min_width=1, max_width=3, max_samples=4))
def test_float64_kernels_match_exact_reference(problem):
    L, g, H = _exact(problem)
    obj = Objective(problem, "float64")
    theta = problem.theta0
    scale = _magnitude(problem)
    _assert_close(obj.loss(theta), L, scale, "loss")
    _assert_close(obj.grad(theta), g, scale, "gradient")
    _assert_close(obj.hessian(theta), H, scale, "Hessian")
    assert g.shape == (problem.n_params,) and H.shape == (problem.n_params, problem.n_params)


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("kind", ["whitened", "square"])
def test_float64_kernels_match_exact_reference_non_dyadic(seed, kind):
    """Gaussian weights and data: every double has a long mantissa, so products round."""
    rng = np.random.default_rng(seed)
    N = 1 + seed % 4
    dims = [int(d) for d in rng.integers(1, 4, N + 1)]
    if kind == "whitened":
        loss = {"kind": "whitened", "target": rng.standard_normal((dims[-1], dims[0])).tolist()}
    else:
        m = 3
        loss = {"kind": "square", "X": rng.standard_normal((dims[0], m)).tolist(),
                "Y": (rng.standard_normal((dims[-1], m)) / 3).tolist()}
    p = problem_from_dict({"dims": dims, "loss": loss, "init": {"scheme": "gaussian", "scale": 0.7, "seed": seed}})
    L, g, H = _exact(p)
    obj = Objective(p, "float64")
    scale = _magnitude(p)
    _assert_close(obj.loss(p.theta0), L, scale, "loss")
    _assert_close(obj.grad(p.theta0), g, scale, "gradient")
    _assert_close(obj.hessian(p.theta0), H, scale, "Hessian")


@settings(max_examples=15)
@given(problems(min_depth=1, max_depth=3, min_width=1, max_width=3, max_samples=3))
def test_exact_kernels_equal_reference_exactly(problem):
    L, g, H = _exact(problem)
    ex = Objective(problem, "exact")
    theta = problem.theta0
    assert ex.loss(theta) == L
    assert list(ex.grad(theta)) == list(g)
    assert (ex.hessian(theta) == H).all()


# ---------------------------------------------------------------------------
# the reference itself
# ---------------------------------------------------------------------------


def _loss_by_definition(dims, kind, theta, data):
    """S1 directly, in Fractions: 1/2 ||W_{N:1} - Phi||^2 or 1/(2m) ||W_{N:1} X - Y||^2."""
    N = len(dims) - 1
    Ws, pos = [], 0
    for j in range(N):
        r, c = dims[j + 1], dims[j]
        Ws.append(np.array(theta[pos:pos + r * c], dtype=object).reshape(r, c))
        pos += r * c
    P = Ws[0]
    for W in Ws[1:]:
        P = W @ P
    if kind == "whitened":
        R = P - np.array(data, dtype=object)
        return sum(x * x for x in R.reshape(-1)) / 2
    X, Y = (np.array(a, dtype=object) for a in data)
    R = P @ X - Y
    return sum(x * x for x in R.reshape(-1)) / (2 * X.shape[1])


def _derivative_at_zero(values, nodes, order):
    """Exact ``order``-th derivative at 0 of the polynomial through (nodes, values) (Lagrange)."""
    n = len(nodes)
    # coefficients by solving the Vandermonde system exactly
    V = sp.Matrix(n, n, lambda i, k: sp.Rational(nodes[i]) ** k)
    c = V.LUsolve(sp.Matrix([sp.Rational(v.numerator, v.denominator) for v in values]))
    return Fraction(int((c[order] * math.factorial(order)).p), int((c[order] * math.factorial(order)).q))


@pytest.mark.parametrize("dims, kind", [((2, 3), "whitened"), ((1, 2, 2), "square"), ((2, 1, 2, 1), "whitened"),
                                        ((1, 2, 1, 1, 2), "square")])
def test_reference_derivatives_by_exact_interpolation(dims, kind):
    """Independent of sympy: f along a line is a polynomial of degree 2N, so 2N+1 exact loss values
    determine its derivatives at 0 exactly (gradient: direction e_a; Hessian: e_a + e_b)."""
    import random

    rng = random.Random(sum(dims))
    n = sum(dims[j] * dims[j + 1] for j in range(len(dims) - 1))
    theta = [Fraction(rng.randint(-6, 6), rng.choice((1, 2, 3))) for _ in range(n)]
    if kind == "whitened":
        data = [[Fraction(rng.randint(-4, 4), 3) for _ in range(dims[0])] for _ in range(dims[-1])]
    else:
        data = ([[Fraction(rng.randint(-4, 4), 3) for _ in range(2)] for _ in range(dims[0])],
                [[Fraction(rng.randint(-4, 4), 5) for _ in range(2)] for _ in range(dims[-1])])
    L, g, H = entrywise_reference(dims, kind).evaluate(theta, data)
    assert L == _loss_by_definition(dims, kind, theta, data)
    deg = 2 * (len(dims) - 1)
    nodes = list(range(-(deg // 2), deg - deg // 2 + 1))

    def along(v, order):
        vals = [_loss_by_definition(dims, kind, [t + s * x for t, x in zip(theta, v)], data) for s in nodes]
        return _derivative_at_zero(vals, nodes, order)

    for a in range(n):
        e = [0] * n
        e[a] = 1
        assert along(e, 1) == g[a]
        assert along(e, 2) == H[a, a]
    for a in range(n):
        for b in range(a + 1, n):
            e = [0] * n
            e[a] = e[b] = 1
            assert along(e, 2) == H[a, a] + H[b, b] + 2 * H[a, b]


def test_reference_sympy_diff_expressions_agree_with_fast_evaluation():
    ref = entrywise_reference((2, 1, 2), "square")
    theta = [Fraction(1, 2), Fraction(-1, 3), Fraction(2), Fraction(-3, 4)]
    X = [[Fraction(1), Fraction(-1, 2)], [Fraction(1, 3), Fraction(2)]]
    Y = [[Fraction(1, 5), Fraction(0)], [Fraction(-1), Fraction(1, 7)]]
    L, g, H = ref.evaluate(theta, (X, Y))
    subs = dict(zip(ref.symbols, [sp.Rational(t.numerator, t.denominator) for t in theta]))
    ge = ref.gradient_exprs(data=(X, Y))
    He = ref.hessian_exprs(data=(X, Y))
    assert ref.loss_expr(data=(X, Y)).subs(subs) == L
    assert [e.subs(subs) for e in ge] == list(g)
    assert all(He[a, b].subs(subs) == H[a, b] for a in range(4) for b in range(4))
    # symbolic data: the same expressions, with the data substituted afterwards
    ge_sym = ref.gradient_exprs(m=2)
    Xs, Ys = ref.data_symbols(2)
    dsubs = {Xs[i][k]: X[i][k] for i in range(2) for k in range(2)}
    dsubs.update({Ys[i][k]: Y[i][k] for i in range(2) for k in range(2)})
    dsubs.update(subs)
    assert [e.subs(dsubs) for e in ge_sym] == list(g)


def test_reference_rejects_bad_input():
    ref = entrywise_reference((2, 2), "whitened")
    with pytest.raises(ValueError):
        ref.evaluate([1, 2, 3], [[1, 2], [3, 4]])
    with pytest.raises(ValueError):
        ref.evaluate([1, 2, 3, 4], [[1, 2, 3]])
    with pytest.raises(ValueError):
        entrywise_reference((2, 2), "logistic")


# ---------------------------------------------------------------------------
# the matrix-level derivation and its report
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("latex", [False, True])
@pytest.mark.parametrize("loss", ["whitened", "square"])
@pytest.mark.parametrize("N", [1, 2, 3, 4, 5])
def test_derivation_report(N, loss, latex):
    t0 = time.process_time()
    rep = derivation_report(N, loss, latex=latex)
    assert time.process_time() - t0 < 2.0
    assert "S2.1 holds" in rep and "S2.2 holds" in rep and "MISMATCH" not in rep and "NONZERO" not in rep
    w_last = f"W_{{{N}}}" if latex else f"W_{N}"
    assert w_last in rep and (f"W_{N + 1}" not in rep)
    if latex:
        assert r"\operatorname{tr}" in rep and r"\[" in rep
    else:
        assert "tr(" in rep and r"\[" not in rep
    assert ("Y" in rep and "X" in rep) == (loss == "square")
    if not latex:  # the report states the differences are zero; so does the derivation object
        d = derive_matrix_level(N, loss)
        assert d.first_ok and d.second_ok
        assert sp.expand(d.first_derived) != 0 and len(sp.Add.make_args(d.second_derived)) >= N


def test_derivation_report_depth_6_is_quick():
    for loss in ("whitened", "square"):
        t0 = time.process_time()
        rep = derivation_report(6, loss)
        assert time.process_time() - t0 < 2.0
        assert "S2.2 holds" in rep


def test_matrix_level_detects_wrong_formulas():
    wrong_grad = lambda c, j: c.G * c.T(c.W(j - 1, 1))  # noqa: E731 (drops W_{N:j+1}^T)
    d = derive_matrix_level(3, "whitened", grad_formula=wrong_grad)
    assert not d.first_ok and d.second_ok
    d = derive_matrix_level(2, "square", hess_formula=lambda c: c.hl(c.Ds[1] * c.Ws[0] + c.Ws[1] * c.Ds[0]))
    assert d.first_ok and not d.second_ok  # the cross term 2<G, D_2 D_1> is missing
    d = derive_matrix_level(1, "whitened", grad_formula=lambda c, j: 2 * s21_gradient(c, j))
    assert not d.first_ok


def test_derive_cli_prints_the_report(capsys):
    assert main(["derive", "--dims", "2,3,2", "--loss", "square"]) == 0
    out = capsys.readouterr().out
    assert "depth N = 2, square loss" in out and "S2.1 holds" in out and "S2.2 holds" in out
    assert main(["derive", "--dims", "2,3,2", "--latex"]) == 0
    out = capsys.readouterr().out
    assert "whitened" in out and r"\operatorname{tr}" in out
