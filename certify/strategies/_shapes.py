"""Widths, dyadic matrices and problems with explicit dyadic weights
(:func:`dims`, :func:`dyadic_matrices`, :func:`problem_specs`, :func:`problems`)."""

from __future__ import annotations

from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from .._problem import Problem, problem_from_dict
from ._checks import LOSSES, _check_int, _check_range, _validate_common


def dims(*, min_depth: int = 1, max_depth: int = 4, min_width: int = 1, max_width: int = 4):
    """Width tuples ``(d_0, ..., d_N)`` with ``N`` in ``[min_depth, max_depth]``
    and every ``d_j`` in ``[min_width, max_width]``.

    >>> dims(min_depth=2, max_depth=2, max_width=3).example()  # doctest: +SKIP
    (3, 1, 2)
    """
    _check_range("depth", min_depth, max_depth, 1)
    _check_range("width", min_width, max_width, 1)
    return st.integers(min_depth, max_depth).flatmap(
        lambda N: st.lists(st.integers(min_width, max_width), min_size=N + 1, max_size=N + 1).map(tuple)
    )


def dyadic_matrices(rows: int, cols: int, *, max_abs_numerator: int = 16, denominator_exp: int = 3):
    """``rows x cols`` nested lists of dyadic rationals ``k / 2^denominator_exp``
    with ``|k| <= max_abs_numerator`` (exactly representable doubles).

    >>> dyadic_matrices(2, 1, max_abs_numerator=4, denominator_exp=2).example()  # doctest: +SKIP
    [[0.75], [-0.25]]
    """
    _check_int("rows", rows, 1)
    _check_int("cols", cols, 1)
    _check_int("max_abs_numerator", max_abs_numerator, 0)
    _check_int("denominator_exp", denominator_exp, 0)
    if denominator_exp > 1000:
        raise InvalidArgument(f"denominator_exp={denominator_exp} must be <= 1000 (binary64 range)")
    if max_abs_numerator >= 2**53:
        raise InvalidArgument(f"max_abs_numerator={max_abs_numerator} must be < 2^53 (exact doubles)")
    scale = 2.0 ** (-denominator_exp)
    entry = st.integers(-max_abs_numerator, max_abs_numerator).map(lambda k: k * scale)
    return st.lists(st.lists(entry, min_size=cols, max_size=cols), min_size=rows, max_size=rows)


def _loss_strategy(d, losses, min_samples, max_samples, num, dexp):
    """The ``loss`` field for widths ``d`` (a strategy)."""
    def build(kind):
        if kind == "whitened":
            return dyadic_matrices(d[-1], d[0], max_abs_numerator=num, denominator_exp=dexp).map(
                lambda T: {"kind": "whitened", "target": T})
        return st.integers(min_samples, max_samples).flatmap(lambda m: st.tuples(
            dyadic_matrices(d[0], m, max_abs_numerator=num, denominator_exp=dexp),
            dyadic_matrices(d[-1], m, max_abs_numerator=num, denominator_exp=dexp),
        ).map(lambda XY: {"kind": "square", "X": XY[0], "Y": XY[1]}))

    return st.sampled_from(tuple(losses)).flatmap(build)


def problem_specs(*, min_depth: int = 1, max_depth: int = 4, min_width: int = 1, max_width: int = 4,
                  losses=LOSSES, min_samples: int = 1, max_samples: int = 5,
                  max_abs_numerator: int = 16, denominator_exp: int = 3):
    """Problem specifications (the JSON contract, dicts for
    :func:`certify.problem_from_dict`) with explicit dyadic weights, target and data:
    every entry is ``k / 2^denominator_exp`` with ``|k| <= max_abs_numerator``.
    ``losses``: a subset of ``("whitened", "square")``; square losses have
    ``m`` in ``[min_samples, max_samples]`` samples.

    >>> problem_specs(max_depth=2, max_width=2, losses=("square",)).example()  # doctest: +SKIP
    {'dims': [1, 2], 'loss': {'kind': 'square', 'X': [[0.5]], 'Y': [[0.0], [1.25]]}, 'init': ...}
    """
    losses = _validate_common(min_depth, max_depth, min_width, max_width, losses, min_samples,
                              max_samples, max_abs_numerator, denominator_exp)
    num, dexp = max_abs_numerator, denominator_exp

    @st.composite
    def spec(draw):
        d = draw(dims(min_depth=min_depth, max_depth=max_depth, min_width=min_width, max_width=max_width))
        loss = draw(_loss_strategy(d, losses, min_samples, max_samples, num, dexp))
        weights = [draw(dyadic_matrices(d[j + 1], d[j], max_abs_numerator=num, denominator_exp=dexp))
                   for j in range(len(d) - 1)]
        return {"dims": list(d), "loss": loss, "init": {"weights": weights}}

    return spec()


def problems(**kwargs) -> st.SearchStrategy[Problem]:
    """:class:`certify.Problem` instances (arguments: :func:`problem_specs`).

    >>> problems(min_depth=2, max_depth=3, losses=("whitened",)).example()  # doctest: +SKIP
    Problem(dims=(2, 1, 3), ...)
    """
    return problem_specs(**kwargs).map(problem_from_dict)
