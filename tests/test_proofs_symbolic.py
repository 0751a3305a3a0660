"""The symbolic lemmas (proofs/s2_*.py, s3_1_curvature.py, s4_1_gronwall.py): each passes, and each
rejects a deliberately wrong formula."""

from fractions import Fraction

import pytest
import sympy as sp

from certify import proofs
from certify.proofs import (
    s2_1_gradient, s2_2_hessian, s2_3_degree, s2_4_balancedness, s2_5_end_to_end, s3_1_curvature, s4_1_gronwall,
)

MODULES = [s2_1_gradient, s2_2_hessian, s2_3_degree, s2_4_balancedness, s2_5_end_to_end, s3_1_curvature,
           s4_1_gronwall]


@pytest.mark.parametrize("mod", MODULES, ids=lambda m: m.LEMMA)
def test_lemma_check_passes(mod):
    r = proofs.run(mod)
    assert r.status == "pass", r.detail
    assert r.lemma == mod.LEMMA and r.detail


def test_modules_are_registered_with_unique_lemmas():
    mods = proofs.modules()
    lemmas = [m.LEMMA for m in mods]
    assert len(lemmas) == len(set(lemmas)), lemmas
    for m in MODULES:
        assert m in mods
        for attr in ("TITLE", "STATEMENT", "HYPOTHESES", "PROOF"):
            assert isinstance(getattr(m, attr), str) and getattr(m, attr).strip()
    assert {"S2.1", "S2.2", "S2.3", "S2.4", "S2.5", "S3.1", "S4.1"} <= set(lemmas)


def _no_right_factor(ctx, j):  # grad_j = W_{N:j+1}^T G: forgets W_{j-1:1}^T
    return ctx.T(ctx.W(ctx.N, j + 1)) * ctx.G


def _twice(ctx, j):
    return 2 * ctx.T(ctx.W(ctx.N, j + 1)) * ctx.G * ctx.T(ctx.W(j - 1, 1))


def _no_transpose(ctx, j):  # W_{N:j+1} instead of its transpose (shapes are not checked symbolically)
    return ctx.W(ctx.N, j + 1) * ctx.G * ctx.T(ctx.W(j - 1, 1))


@pytest.mark.parametrize(
    "mod, overrides",
    [
        (s2_1_gradient, {"grad_formula": _no_right_factor}),
        (s2_1_gradient, {"grad_formula": _no_transpose}),
        (s2_1_gradient, {"grad_formula": _twice, "depths": ()}),  # the entrywise part alone catches it
        (s2_2_hessian, {"cross_factor": 1}),
        (s2_2_hessian, {"cross_factor": 1, "depths": ()}),
        (s2_2_hessian, {"hess_formula": lambda c: c.hl(c.Ds[0]) if c.N == 1 else 0 * c.hl(c.Ds[0])}),
        (s2_3_degree, {"claimed_degree": lambda N: 2 * N - 1}),
        (s2_3_degree, {"claimed_degree": lambda N: N + 1}),  # right for N = 1 only
        (s2_3_degree, {"scale": lambda x, k: x}),  # W[i+1] = -grad[i] without 1/(i+1)
        (s2_4_balancedness, {"invariant": lambda Wj, Wj1, T: T(Wj1) * Wj1 - T(Wj) * Wj}),
        (s2_4_balancedness, {"invariant": lambda Wj, Wj1, T: Wj1 * T(Wj1) - Wj * T(Wj), "depths": ()}),
        (s2_4_balancedness, {"grad_formula": _no_right_factor, "entrywise": False}),
        (s2_5_end_to_end, {"exponents": lambda j, N: (Fraction(j - 1, N), Fraction(N - j + 1, N))}),
        (s2_5_end_to_end, {"exponents": lambda j, N: (Fraction(j, N), Fraction(N - j, N)), "depths_symbolic": ()}),
        (s3_1_curvature, {"bound_scale": 0.99}),
        (s3_1_curvature, {"c_entry": lambda nrm, N, i, j: nrm(j - 1, i + 1)}),
        (s4_1_gronwall, {"delta_scale": 0}),
        (s4_1_gronwall, {"closed_form": lambda mu, d, e0, t: e0 + d * (sp.exp(mu * t) - 1) / mu}),
        (s4_1_gronwall, {"closed_form": lambda mu, d, e0, t: sp.exp(mu * t) * e0 + d * t}),
    ],
    ids=lambda x: x.LEMMA if hasattr(x, "LEMMA") else ",".join(x) if isinstance(x, dict) else str(x),
)
def test_lemma_check_rejects_wrong_formula(mod, overrides):
    r = proofs.run(mod, **overrides)
    assert r.status == "FAIL", r.detail
    assert r.detail


def test_swapping_the_kronecker_exponents_is_a_reindexing_not_an_error():
    """sum_j (W^T W)^{(N-j)/N} (x) (W W^T)^{(j-1)/N} is the same sum (j -> N+1-j)."""
    r = proofs.run(s2_5_end_to_end, exponents=lambda j, N: (Fraction(N - j, N), Fraction(j - 1, N)))
    assert r.status == "pass", r.detail
