"""Hypothesis strategies for property-testing conjectures about deep linear
networks (exported API).

>>> from hypothesis import given
>>> from certify.strategies import problems
>>> @given(problems(max_depth=3, max_width=3))
... def test_loss_is_nonnegative(problem):
...     from certify import Objective
...     assert Objective(problem, "exact").loss(problem.theta0) >= 0

Values are dyadic rationals drawn through integers (``k / 2^e``), so every
entry is exactly a double, exact arithmetic applies, and shrinking gives
small, readable counterexamples.
"""

from __future__ import annotations

from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from ._problem import Problem, problem_from_dict

__all__ = ["dims", "dyadic_matrices", "problem_specs", "problems"]


def _check_range(name, lo, hi, minimum):
    if not isinstance(lo, int) or not isinstance(hi, int):
        raise InvalidArgument(f"min_{name} and max_{name} must be integers, got {lo!r}, {hi!r}")
    if lo < minimum:
        raise InvalidArgument(f"min_{name}={lo} must be >= {minimum}")
    if lo > hi:
        raise InvalidArgument(f"min_{name}={lo} is larger than max_{name}={hi}")


def dims(*, min_depth: int = 1, max_depth: int = 4, min_width: int = 1, max_width: int = 4):
    """Width tuples ``(d_0, ..., d_N)`` with ``N`` in ``[min_depth, max_depth]``."""
    _check_range("depth", min_depth, max_depth, 1)
    _check_range("width", min_width, max_width, 1)
    return st.integers(min_depth, max_depth).flatmap(
        lambda N: st.lists(st.integers(min_width, max_width), min_size=N + 1, max_size=N + 1).map(tuple)
    )


def dyadic_matrices(rows: int, cols: int, *, max_abs_numerator: int = 16, denominator_exp: int = 3):
    """``rows x cols`` lists of dyadic rationals ``k / 2^denominator_exp`` with
    ``|k| <= max_abs_numerator`` (exactly representable doubles)."""
    if rows < 1 or cols < 1:
        raise InvalidArgument(f"rows={rows} and cols={cols} must be >= 1")
    if max_abs_numerator < 0 or denominator_exp < 0:
        raise InvalidArgument("max_abs_numerator and denominator_exp must be >= 0")
    scale = 2.0 ** (-denominator_exp)
    entry = st.integers(-max_abs_numerator, max_abs_numerator).map(lambda k: k * scale)
    return st.lists(st.lists(entry, min_size=cols, max_size=cols), min_size=rows, max_size=rows)


@st.composite
def problem_specs(draw, *, min_depth=1, max_depth=4, min_width=1, max_width=4,
                  losses=("whitened", "square"), max_samples=5):
    """Problem specifications (the JSON contract) with explicit dyadic weights."""
    if not losses or any(l not in ("whitened", "square") for l in losses):
        raise InvalidArgument(f"losses must be a non-empty subset of ('whitened', 'square'), got {losses!r}")
    if max_samples < 1:
        raise InvalidArgument(f"max_samples={max_samples} must be >= 1")
    d = draw(dims(min_depth=min_depth, max_depth=max_depth, min_width=min_width, max_width=max_width))
    kind = draw(st.sampled_from(tuple(losses)))
    if kind == "whitened":
        loss = {"kind": "whitened", "target": draw(dyadic_matrices(d[-1], d[0]))}
    else:
        m = draw(st.integers(1, max_samples))
        loss = {"kind": "square", "X": draw(dyadic_matrices(d[0], m)), "Y": draw(dyadic_matrices(d[-1], m))}
    weights = [draw(dyadic_matrices(d[j + 1], d[j])) for j in range(len(d) - 1)]
    return {"dims": list(d), "loss": loss, "init": {"weights": weights}}


def problems(**kwargs) -> st.SearchStrategy[Problem]:
    """:class:`certify.Problem` instances (see :func:`problem_specs` for arguments)."""
    return problem_specs(**kwargs).map(problem_from_dict)
