"""S2.3: f is a polynomial of degree 2N; GF is a polynomial ODE of degree 2N - 1 whose Taylor
coefficients follow exactly from Cauchy products."""

from __future__ import annotations

import random
from fractions import Fraction

import numpy as np

from . import ProofFailure

LEMMA = "S2.3"
TITLE = "Degree 2N of f, degree 2N-1 of grad f; exact Cauchy-product Taylor coefficients of GF"
STATEMENT = (
    "(i) For depth N and any widths, f(theta) is a polynomial in the entries of theta of total degree exactly "
    "2N (generic target / data), and every component of grad f has degree exactly 2N - 1, so GF "
    "theta' = -grad f(theta) is a polynomial ODE of degree 2N - 1.  (ii) The Taylor coefficients "
    "W_j[i] of the GF solution through theta_0 satisfy W_j[i+1] = -grad_j[i] / (i + 1), where grad_j[i] is "
    "the i-th coefficient of grad_{W_j} f(W(t)), computed by Cauchy products of the power series of the "
    "partial products (certify.flow.series) with no truncation error up to the order chosen."
)
HYPOTHESES = "Losses of S1 with the target Phi or the data (X, Y) as free symbols (generic); theta_0 rational."
PROOF = """\
(i) W_{N:1} has entries that are sums of products of exactly one entry of each W_j: homogeneous of
degree N.  f = 1/2 ||W_{N:1} - Phi||^2 (or 1/(2m) ||W_{N:1} X - Y||^2) is a polynomial of degree <= 2N
whose homogeneous part of degree 2N is 1/2 ||W_{N:1}||^2 (1/(2m) ||W_{N:1} X||^2), a nonzero polynomial
(it is positive where W_{N:1} X != 0), so the degree is exactly 2N.  Each partial derivative of that
top part is nonzero (the top part is a non-constant polynomial of every weight entry, since W_{N:1} is
affine and non-constant in each entry), so each gradient component has degree exactly 2N - 1.
(ii) theta(t) is analytic (polynomial vector field); writing theta(t) = sum_i theta[i] t^i and
grad f(theta(t)) = sum_i g[i] t^i, the ODE gives (i+1) theta[i+1] = -g[i].  g[i] depends only on
theta[0..i]: the products W_{b:a}(t) are Cauchy products of the layer series and G(t) is affine in
W_{N:1}(t) (S2.1), so the recursion is exact in exact arithmetic.
Check (sympy): (i) sympy Poly total degrees of f and of every sympy.diff partial derivative in the
weight symbols, data symbolic, depths 1..4, both losses; (ii) exact rational Taylor coefficients up to
order 6 from certify.flow.series.gf_taylor equal those of the Picard iteration theta <- theta_0 +
int_0^t -grad f(theta) built from sympy's derivatives of the scalar loss (exact power series).
"""

_DEGREE_CASES = [
    ((2, 2), "whitened"), ((2, 3), "square"),
    ((2, 1, 2), "whitened"), ((1, 2, 2), "square"),
    ((1, 2, 1, 2), "whitened"), ((2, 1, 1, 1), "square"),
    ((1, 2, 1, 1, 2), "whitened"), ((1, 1, 2, 1, 1), "square"),
]


def _series_eval(poly, values, K):
    """``poly`` (sparse ring element over ZZ/QQ) at power series ``values`` truncated at order K."""
    out = [Fraction(0)] * (K + 1)
    for mon, c in poly.items():
        term = [Fraction(int(c.numerator), int(c.denominator)) if hasattr(c, "denominator") else Fraction(int(c))]
        term += [Fraction(0)] * K
        for i, e in enumerate(mon):
            for _ in range(e):
                v = values[i]
                term = [sum(term[a] * v[k - a] for a in range(k + 1)) for k in range(K + 1)]
        out = [x + y for x, y in zip(out, term)]
    return out


def check(*, claimed_degree=None, scale=None, order: int = 6, taylor_cases: int = 5, seed: int = 23) -> str:
    """``claimed_degree(N)`` replaces 2N; ``scale(x, k)`` replaces the recursion's division by k."""
    import sympy as sp

    from certify.flow.series import gf_taylor
    from certify.symbolic import entrywise_reference, random_rational_instance

    deg = claimed_degree or (lambda N: 2 * N)
    # (i) degrees
    for dims, kind in _DEGREE_CASES:
        N = len(dims) - 1
        ref = entrywise_reference(dims, kind)
        f = ref.loss_expr(m=2)
        d_f = sp.Poly(f, *ref.symbols).total_degree()
        if d_f != deg(N):
            raise ProofFailure(f"(i) dims={dims}, {kind}: deg f = {d_f}, claimed {deg(N)}")
        for w in ref.symbols:
            d_g = sp.Poly(sp.diff(f, w), *ref.symbols).total_degree()
            if d_g != deg(N) - 1:
                raise ProofFailure(f"(i) dims={dims}, {kind}: deg df/d{w} = {d_g}, claimed {deg(N) - 1}")
    # (ii) Taylor coefficients: Cauchy recursion vs Picard iteration with sympy's gradient
    rng = random.Random(seed)
    K = order
    div = scale or (lambda x, k: x / k)
    for c in range(taylor_cases):
        N = 1 + c % 3
        dims = tuple(rng.randint(1, 2) for _ in range(N + 1))
        kind = ("whitened", "square")[c % 2]
        Ws, data = random_rational_instance(rng, dims, kind, denominators=(1, 2, 3), max_abs=1)
        ref = entrywise_reference(dims, kind)
        _, gens, F, divisor = ref.loss_polynomial(data)
        grads = [F.diff(x) for x in gens]
        th0 = [x for W in Ws for row in W for x in row]
        series = [[v] + [Fraction(0)] * K for v in th0]
        for _ in range(K + 1):  # each Picard sweep fixes one more order
            new = []
            for a, g in enumerate(grads):
                gs = _series_eval(g, series, K)
                new.append([th0[a]] + [-gs[k - 1] / (divisor * k) for k in range(1, K + 1)])
            series = new
        W0 = [np.array(W, dtype=object) for W in Ws]
        if kind == "whitened":
            Phi = np.array(data, dtype=object)
            g0, glin = (lambda P: P - Phi), (lambda P: P)
        else:
            X, Y = np.array(data[0], dtype=object), np.array(data[1], dtype=object)
            m = X.shape[1]
            Sxx, Syx = (X @ X.T) / m, (Y @ X.T) / m
            g0, glin = (lambda P: P @ Sxx - Syx), (lambda P: P @ Sxx)
        W, _ = gf_taylor(W0, K, g0, glin, div)
        for i in range(K + 1):
            flat = [x for j in range(N) for x in np.asarray(W[j][i]).reshape(-1)]
            exact = [series[a][i] for a in range(len(th0))]
            if any(Fraction(x) != y for x, y in zip(flat, exact)):
                raise ProofFailure(f"(ii) dims={dims}, {kind}: Taylor coefficient {i} from Cauchy products "
                                   f"{flat} != Picard {exact}")
    return (f"deg f = 2N, deg grad = 2N-1 ({len(_DEGREE_CASES)} cases, N=1..4); "
            f"{taylor_cases} GF series to order {K}: exact")
