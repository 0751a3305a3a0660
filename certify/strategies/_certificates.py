"""``certify/gap-v2`` documents written by the public producer on small problems
(:func:`certificates`), for testing checkers."""

from __future__ import annotations

from fractions import Fraction

from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from ._checks import LOSSES, _check_fraction, _check_losses, _check_range
from ._shapes import problems
from ._steps import step_sizes
from ._structured import balanced_problems, near_saddle_problems


def certificates(*, min_depth: int = 1, max_depth: int = 2, min_width: int = 1, max_width: int = 2,
                 losses=LOSSES, min_steps: int = 1, max_steps: int = 16, max_ratio=Fraction(1, 2),
                 kinds=("generic", "balanced", "near_saddle")):
    """``certify/gap-v2`` documents (dicts) written by the public producer
    ``certify.certify_gap(problem, eta, steps).to_json()`` on small problems
    (from :func:`problems`, :func:`balanced_problems` or
    :func:`near_saddle_problems`, per ``kinds``), with step sizes from
    :func:`step_sizes` (``max_ratio`` of the certain edge of stability) and
    ``steps`` in ``[min_steps, max_steps]``.  Every document should check;
    for testing checkers, falsify them.  Draws on which the producer raises a
    :class:`certify.CertifyError` (e.g. a flow enclosure it cannot validate) are
    rejected (``assume``).

    >>> from hypothesis import given, settings
    >>> from certify import check_certificate
    >>> @settings(max_examples=3, deadline=None)
    ... @given(certificates(max_steps=8))
    ... def test_checker_accepts(doc):
    ...     assert check_certificate(doc).valid
    >>> test_checker_accepts()
    """
    _check_range("depth", min_depth, max_depth, 1)
    _check_range("width", min_width, max_width, 1)
    losses = _check_losses(losses)
    _check_range("steps", min_steps, max_steps, 1)
    r = _check_fraction("max_ratio", max_ratio)
    if not 0 < r <= 1:
        raise InvalidArgument(f"max_ratio={max_ratio} must be in (0, 1]")
    if isinstance(kinds, str):
        kinds = (kinds,)
    kinds = tuple(kinds)
    allowed = ("generic", "balanced", "near_saddle")
    if not kinds or any(k not in allowed for k in kinds):
        raise InvalidArgument(f"kinds={kinds!r} must be a non-empty subset of {allowed}")
    if kinds == ("near_saddle",) and max_depth < 2:
        raise InvalidArgument(f"kinds=('near_saddle',) needs max_depth >= 2, got max_depth={max_depth}")
    if kinds == ("near_saddle",) and "whitened" not in losses:
        raise InvalidArgument("kinds=('near_saddle',) needs 'whitened' in losses")

    common = dict(min_depth=min_depth, max_depth=max_depth, min_width=min_width, max_width=max_width)
    sources = []
    if "generic" in kinds:
        sources.append(problems(losses=losses, max_samples=3, max_abs_numerator=8, **common))
    if "balanced" in kinds:
        sources.append(balanced_problems(losses=losses, max_samples=3, max_abs_numerator=8, **common))
    if "near_saddle" in kinds and max_depth >= 2 and "whitened" in losses:
        sources.append(near_saddle_problems(min_depth=max(2, min_depth), max_depth=max_depth,
                                            min_width=min_width, max_width=max_width, max_distance_exp=8))

    @st.composite
    def doc(draw):
        from hypothesis import assume

        import certify

        prob = draw(st.one_of(*sources))
        eta = draw(step_sizes(prob, min_ratio=Fraction(1, 64), max_ratio=r))
        steps = draw(st.integers(min_steps, max_steps))
        every = draw(st.integers(1, steps))
        try:
            cert = certify.certify_gap(prob, eta, steps, every=every)
        except certify.CertifyError:
            assume(False)
        return cert.to_json()

    return doc()
