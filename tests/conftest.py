"""Shared test configuration: strict numerics, hypothesis profiles, precision hygiene."""

import os

import mpmath
import pytest
from hypothesis import HealthCheck, settings

# Hypothesis profiles, chosen by CERTIFY_HYPOTHESIS_PROFILE (default "ci"):
# - "ci": part of the normal run (each property's own small budget);
# - "campaign": the soundness campaign (README "Soundness campaign"): every
#   other property runs 2000 examples; tests/test_soundness.py runs its
#   per-property campaign counts (>= 10^5 examples in total), scaled by
#   CERTIFY_CAMPAIGN_FRACTION for a measured sample.  Shard it with
#   pytest-xdist (``-n auto``).
PROFILES = ("ci", "campaign")
settings.register_profile(
    "ci", deadline=None, suppress_health_check=[HealthCheck.too_slow], print_blob=True
)
settings.register_profile(
    "campaign", deadline=None, max_examples=2000, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
)
_profile = os.environ.get("CERTIFY_HYPOTHESIS_PROFILE", "ci")
if _profile not in PROFILES:
    raise pytest.UsageError(f"CERTIFY_HYPOTHESIS_PROFILE={_profile!r}: choose one of {', '.join(PROFILES)}")
settings.load_profile(_profile)


@pytest.fixture(autouse=True)
def _precision_hygiene():
    """Every test must leave mpmath and python-flint precision as it found them."""
    import flint

    mp_prec, flint_prec = mpmath.mp.prec, flint.ctx.prec
    yield
    leaked = (mpmath.mp.prec, flint.ctx.prec) != (mp_prec, flint_prec)
    mpmath.mp.prec, flint.ctx.prec = mp_prec, flint_prec
    assert not leaked, "a test leaked mpmath or python-flint precision"
