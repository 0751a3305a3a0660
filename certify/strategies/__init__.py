"""Hypothesis strategies for property-testing conjectures about deep linear
networks (exported API, in the style of ``hypothesis.extra.numpy``).

>>> from hypothesis import given, settings
>>> from certify.strategies import problems
>>> @settings(max_examples=20, deadline=None)
... @given(problems(max_depth=3, max_width=3))
... def test_loss_is_nonnegative(problem):
...     from certify import Objective
...     assert Objective(problem, "exact").loss(problem.theta0) >= 0
>>> test_loss_is_nonnegative()   # runs 20 examples; raises on a counterexample

Every strategy validates its arguments eagerly (when it is built, not when it
is drawn from) and raises :class:`hypothesis.errors.InvalidArgument` naming the
bad value.  Bounds are keyword-only ``min_*`` / ``max_*`` pairs.

Values are dyadic rationals drawn through integers (``k / 2^e``), so every
entry is exactly a double, exact rational arithmetic applies to the problem
as stored, and shrinking gives small, readable counterexamples (entries
shrink towards 0, depths and widths towards their minimum, step sizes towards
the smallest admissible one).

Strategies:

- :func:`dims`, :func:`dyadic_matrices`: widths and matrices.
- :func:`problem_specs` / :func:`problems`: any loss kind (``whitened``,
  ``square``), any depth, explicit dyadic weights.
- :func:`balanced_problems`: exactly balanced initialisations (SPEC S2.4:
  ``W_{j+1}^T W_{j+1} = W_j W_j^T`` in exact arithmetic).
- :func:`near_saddle_problems`: initialisations within a small dyadic
  distance of the origin or of another saddle point of the whitened loss,
  where the curvature is adverse.
- :func:`step_sizes`: dyadic step sizes below and near the edge of stability
  of a given problem (``eta lambda_max(Hf(theta_0)) <= 2``), from a rigorous
  upper bound of ``lambda_max`` (:func:`lambda_max_upper`) or from a
  dense-eigenvalue *estimate* (:func:`lambda_max_estimate`).
- :func:`certificates`: ``certify/gap-v2`` documents written by
  :func:`certify.certify_gap` on small problems, for testing checkers.
"""

from ._certificates import certificates
from ._checks import LOSSES  # noqa: F401 - module constants, as before the split into modules
from ._shapes import dims, dyadic_matrices, problem_specs, problems
from ._steps import LAMBDA_FLOOR, lambda_max_estimate, lambda_max_upper, step_sizes  # noqa: F401 - LAMBDA_FLOOR
from ._structured import balanced_problems, near_saddle_problems

__all__ = [
    "balanced_problems", "certificates", "dims", "dyadic_matrices", "lambda_max_estimate",
    "lambda_max_upper", "near_saddle_problems", "problem_specs", "problems", "step_sizes",
]
