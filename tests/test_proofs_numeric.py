"""The numeric lemmas behind the certificates (proofs/s3_1_g_weighted.py, proofs/s3_1_tube.py, proofs/s3_4_data_weighted.py,
proofs/s4_3_taylor_model.py, proofs/s4_5_segment.py, proofs/s4_6_rounding.py): each passes, and each
rejects a deliberately wrong formula."""

import pytest

from certify import proofs
from fractions import Fraction

from certify.proofs import (ce_fast_gradient, s3_1_g_weighted, s3_1_tube, s3_4_data_weighted, s4_3_taylor_model,
                            s4_5_segment, s4_6_rounding)


@pytest.mark.parametrize("mod", [ce_fast_gradient, s3_1_g_weighted, s3_1_tube, s3_4_data_weighted, s4_3_taylor_model,
                                 s4_5_segment, s4_6_rounding],
                         ids=lambda m: m.LEMMA)
def test_lemma_check_passes(mod):
    r = proofs.run(mod)
    assert r.status == "pass", r.detail


@pytest.mark.parametrize(
    "mod, overrides",
    [
        (s3_1_tube, {"drop_perturbation": True}),   # ||prod(W+E)|| <= ||prod W|| alone is false
        (s3_1_tube, {"exponent_scale": 0.5}),       # wrong root in the power bound
        (s3_1_g_weighted, {"middle": False}),       # C^G without the middle product's norm
        (s3_1_g_weighted, {"g_motion": False}),     # the origin's ||G|| in place of g_t on the tube
        (s3_4_data_weighted, {"drop_rest": True}),   # the split without its remainder ||Sxx - c u u^T||
        (s3_4_data_weighted, {"one_layer_only": True}),  # only the first layer's Gauss-Newton term
        (s4_3_taylor_model, {"drop_tail": True}),   # forgetting the truncated orders
        (s4_3_taylor_model, {"gamma_scale": 0.0}),  # forgetting rounding
        (s4_5_segment, {"beta_formula": lambda a2, cross: cross}),  # dropping the Hl part of ||Hf||
        (s4_5_segment, {"defect_factor": 0.5}),     # a defect bound too small by half
        (s4_6_rounding, {"up": lambda c, n: Fraction(c)}),  # no inflation for the roundings
        (s4_6_rounding, {"up": lambda c, n: Fraction(c) * (1 + Fraction(n, 2**53))}),  # n u instead of 2(n+2)u
        (s4_6_rounding, {"gamma_factor": 0.0}),     # products without Higham's gamma_k
        (ce_fast_gradient, {"drop": ("softmax",), "implementation": False}),  # exp/sum/division errors of P
        (ce_fast_gradient, {"drop": ("logits",), "implementation": False}),  # the rounding of W X
    ],
)
def test_lemma_check_rejects_wrong_formula(mod, overrides):
    r = proofs.run(mod, **overrides)
    assert r.status == "FAIL"
