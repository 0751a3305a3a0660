"""Regression tests of issue 13 (reliability): false Arb balls in flow-v1,
converge-v1 statement and extra fields, scale-aware prescaling, crashes on
hostile input.  Resource limits: tests/test_limits.py."""

from __future__ import annotations

import json
import math
from fractions import Fraction

import numpy as np
import pytest

from certify import BlowUpError
from certify.arith import get_context


# ---------------------------------------------------------------- arb backend refuses inf/NaN


@pytest.mark.parametrize("backend", ["float64", "iv", "arb"])
@pytest.mark.parametrize("bad", [math.inf, -math.inf, math.nan])
def test_ball_matrices_refuse_nonfinite_entries(backend, bad):
    ctx = get_context(backend)
    with ctx:
        with pytest.raises(BlowUpError):
            ctx.matrix(np.array([[1.0, bad]]))


@pytest.mark.parametrize("backend", ["float64", "arb"])
def test_ball_matrices_refuse_nonfinite_radii(backend):
    ctx = get_context(backend)
    with ctx:
        with pytest.raises(BlowUpError):
            ctx.matrix(np.array([[1.0, 2.0]]), rad=math.inf)
