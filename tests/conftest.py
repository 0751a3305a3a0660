"""Shared test configuration: strict numerics, hypothesis profiles, precision hygiene."""

import os

import mpmath
import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci", deadline=None, suppress_health_check=[HealthCheck.too_slow], print_blob=True
)
settings.register_profile(
    "campaign", deadline=None, max_examples=2000, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("CERTIFY_HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(autouse=True)
def _precision_hygiene():
    """Every test must leave mpmath and python-flint precision as it found them."""
    import flint

    mp_prec, flint_prec = mpmath.mp.prec, flint.ctx.prec
    yield
    leaked = (mpmath.mp.prec, flint.ctx.prec) != (mp_prec, flint_prec)
    mpmath.mp.prec, flint.ctx.prec = mp_prec, flint_prec
    assert not leaked, "a test leaked mpmath or python-flint precision"
