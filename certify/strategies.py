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

from __future__ import annotations

import math
from fractions import Fraction

from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from ._problem import Problem, problem_from_dict

__all__ = [
    "balanced_problems", "certificates", "dims", "dyadic_matrices", "lambda_max_estimate",
    "lambda_max_upper", "near_saddle_problems", "problem_specs", "problems", "step_sizes",
]

LOSSES = ("whitened", "square")
LAMBDA_FLOOR = 2.0**-10  # step_sizes treats lambda_max as at least this (steps <= 2^11)


# ---------------------------------------------------------------------------
# argument validation (eager, hypothesis.extra.numpy style)
# ---------------------------------------------------------------------------


def _check_int(name: str, value, minimum: int | None = None) -> None:
    if not isinstance(value, int) or isinstance(value, bool):
        raise InvalidArgument(f"{name}={value!r} must be an integer")
    if minimum is not None and value < minimum:
        raise InvalidArgument(f"{name}={value!r} must be >= {minimum}")


def _check_range(name: str, lo, hi, minimum: int) -> None:
    _check_int(f"min_{name}", lo, minimum)
    _check_int(f"max_{name}", hi, minimum)
    if lo > hi:
        raise InvalidArgument(f"min_{name}={lo} is larger than max_{name}={hi}")


def _check_losses(losses) -> tuple:
    if isinstance(losses, str):
        losses = (losses,)
    try:
        losses = tuple(losses)
    except TypeError:
        raise InvalidArgument(f"losses={losses!r} must be a non-empty subset of {LOSSES}") from None
    if not losses or any(l not in LOSSES for l in losses):
        raise InvalidArgument(f"losses={losses!r} must be a non-empty subset of {LOSSES}")
    return losses


def _check_fraction(name: str, value) -> Fraction:
    if isinstance(value, bool) or not isinstance(value, (int, float, Fraction)):
        raise InvalidArgument(f"{name}={value!r} must be a real number")
    if isinstance(value, float) and not math.isfinite(value):
        raise InvalidArgument(f"{name}={value!r} must be finite")
    return Fraction(value)


# ---------------------------------------------------------------------------
# shapes and matrices
# ---------------------------------------------------------------------------


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


def _validate_common(min_depth, max_depth, min_width, max_width, losses, min_samples, max_samples,
                     max_abs_numerator, denominator_exp):
    _check_range("depth", min_depth, max_depth, 1)
    _check_range("width", min_width, max_width, 1)
    losses = _check_losses(losses)
    _check_range("samples", min_samples, max_samples, 1)
    _check_int("max_abs_numerator", max_abs_numerator, 0)
    _check_int("denominator_exp", denominator_exp, 0)
    if denominator_exp > 60:
        raise InvalidArgument(f"denominator_exp={denominator_exp} must be <= 60")
    return losses


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


# ---------------------------------------------------------------------------
# structured initialisations
# ---------------------------------------------------------------------------


def _signed_permutations(d: int):
    """``d x d`` signed permutation matrices (Fractions), shrinking to the identity."""
    return st.tuples(st.permutations(list(range(d))),
                     st.lists(st.booleans(), min_size=d, max_size=d)).map(
        lambda ps: [[Fraction(-1 if ps[1][i] else 1) if ps[0][i] == j else Fraction(0) for j in range(d)]
                    for i in range(d)])


def _mul(A, B):
    return [[sum((A[i][k] * B[k][j] for k in range(len(B))), Fraction(0)) for j in range(len(B[0]))]
            for i in range(len(A))]


def _T(A):
    return [list(r) for r in zip(*A)]


def _floats(A):
    out = []
    for row in A:
        r = []
        for x in row:
            f = float(x)
            if Fraction(f) != x:  # pragma: no cover - dyadic inputs stay dyadic
                raise AssertionError(f"{x} is not exactly a double")
            r.append(f)
        out.append(r)
    return out


def _diag(rows, cols, vals):
    return [[Fraction(vals[i]) if i == j and i < len(vals) else Fraction(0) for j in range(cols)]
            for i in range(rows)]


def balanced_problems(*, min_depth: int = 1, max_depth: int = 4, min_width: int = 1, max_width: int = 4,
                      losses=LOSSES, min_samples: int = 1, max_samples: int = 5,
                      max_abs_numerator: int = 16, denominator_exp: int = 3):
    """Problems whose initial point is *exactly* balanced (SPEC S2.4):
    ``W_j = P_j D P_{j-1}^T`` with signed permutations ``P_j`` and the same
    dyadic singular values ``s_k = k_k / 2^denominator_exp`` (``0 <= k_k <=
    max_abs_numerator``, ``k < min(dims)``) in every layer, so
    ``W_{j+1}^T W_{j+1} - W_j W_j^T = 0`` in exact arithmetic.  The loss is
    drawn as in :func:`problem_specs`.

    >>> balanced_problems(min_depth=2, max_depth=2, max_width=2).example()  # doctest: +SKIP
    Problem(dims=(2, 2, 1), ...)
    """
    losses = _validate_common(min_depth, max_depth, min_width, max_width, losses, min_samples,
                              max_samples, max_abs_numerator, denominator_exp)
    num, dexp = max_abs_numerator, denominator_exp

    @st.composite
    def spec(draw):
        d = draw(dims(min_depth=min_depth, max_depth=max_depth, min_width=min_width, max_width=max_width))
        r = min(d)
        s = [Fraction(k, 2**dexp) for k in draw(st.lists(st.integers(0, num), min_size=r, max_size=r))]
        P = [draw(_signed_permutations(w)) for w in d]
        Ws = [_floats(_mul(_mul(P[j + 1], _diag(d[j + 1], d[j], s)), _T(P[j]))) for j in range(len(d) - 1)]
        loss = draw(_loss_strategy(d, losses, min_samples, max_samples, num, dexp))
        return {"dims": list(d), "loss": loss, "init": {"weights": Ws}}

    return spec().map(problem_from_dict)


def near_saddle_problems(*, min_depth: int = 2, max_depth: int = 4, min_width: int = 1, max_width: int = 4,
                         saddles=("origin", "partial"), min_distance_exp: int = 4,
                         max_distance_exp: int = 12, max_abs_numerator: int = 8, denominator_exp: int = 2):
    """Whitened problems started within a small dyadic distance of a saddle
    point, where the curvature is adverse.

    The target is ``Phi = P_N diag(c_k^N) P_0^T`` (signed permutations ``P``,
    dyadic ``c_k = i_k / 2^denominator_exp``, ``1 <= i_k <= max_abs_numerator``).
    The saddle ``theta*`` is either the origin (``"origin"``) or a critical
    point with some modes learned and at least one not (``"partial"``:
    ``W_j* = P_j diag(c_k [k in S]) P_{j-1}^T`` with ``S`` a proper subset of the
    modes; ``grad f = 0`` there and it is a saddle since the missing mode
    can grow).  The initial point is ``theta* + 2^-e Z`` with ``e`` in
    ``[min_distance_exp, max_distance_exp]`` and ``Z`` having integer entries
    in ``[-2, 2]``, not all zero on the missing modes.  Depth ``N >= 2`` (depth 1
    is convex: no saddles).

    >>> near_saddle_problems(max_depth=2, max_width=2).example()  # doctest: +SKIP
    Problem(dims=(2, 1, 2), ...)
    """
    _check_range("depth", min_depth, max_depth, 2)
    _check_range("width", min_width, max_width, 1)
    _check_range("distance_exp", min_distance_exp, max_distance_exp, 0)
    if max_distance_exp > 200:
        raise InvalidArgument(f"max_distance_exp={max_distance_exp} must be <= 200")
    _check_int("max_abs_numerator", max_abs_numerator, 1)
    _check_int("denominator_exp", denominator_exp, 0)
    if isinstance(saddles, str):
        saddles = (saddles,)
    saddles = tuple(saddles)
    if not saddles or any(s not in ("origin", "partial") for s in saddles):
        raise InvalidArgument(f"saddles={saddles!r} must be a non-empty subset of ('origin', 'partial')")
    num, dexp = max_abs_numerator, denominator_exp

    @st.composite
    def spec(draw):
        d = draw(dims(min_depth=min_depth, max_depth=max_depth, min_width=min_width, max_width=max_width))
        N = len(d) - 1
        rphi = min(d[0], d[-1])
        r = min(d)
        c = [Fraction(i, 2**dexp) for i in draw(st.lists(st.integers(1, num), min_size=rphi, max_size=rphi))]
        P = [draw(_signed_permutations(w)) for w in d]
        Phi = _mul(_mul(P[N], _diag(d[N], d[0], [x**N for x in c])), _T(P[0]))
        kind = draw(st.sampled_from(saddles))
        if kind == "partial" and r >= 2:
            learned = draw(st.lists(st.booleans(), min_size=r, max_size=r).filter(lambda b: not all(b)))
        else:
            learned = [False] * r
        a = [c[k] if learned[k] else Fraction(0) for k in range(r)]
        e = draw(st.integers(min_distance_exp, max_distance_exp))
        eps = Fraction(1, 2**e)
        Ws = []
        for j in range(N):
            Z = draw(st.lists(st.lists(st.integers(-2, 2), min_size=d[j], max_size=d[j]),
                              min_size=d[j + 1], max_size=d[j + 1]))
            if j == 0 and all(v == 0 for row in Z for v in row):
                Z[0][0] = 1  # a nonzero perturbation: not exactly at the saddle
            base = _mul(_mul(P[j + 1], _diag(d[j + 1], d[j], a)), _T(P[j]))
            Ws.append(_floats([[base[i][k] + eps * Z[i][k] for k in range(d[j])] for i in range(d[j + 1])]))
        return {"dims": list(d), "loss": {"kind": "whitened", "target": _floats(Phi)}, "init": {"weights": Ws}}

    return spec().map(problem_from_dict)


# ---------------------------------------------------------------------------
# step sizes
# ---------------------------------------------------------------------------


def lambda_max_upper(problem: Problem) -> float:
    """A rigorous upper bound of ``lambda_max(Hf(theta_0))`` (and of
    ``||Hf(theta_0)||_2``), in Arb from the exact stored doubles.

    From S2.2 with ``n_l >= ||W_l||_2`` (Frobenius norms):
    ``|Hf[D,D]| <= s ||E||^2 + ||G||_2 lambda_max(C) ||D||^2`` and
    ``||E|| <= sqrt(sum_j a_j^2) ||D||`` with ``a_j = prod_{l != j} n_l``
    (Cauchy-Schwarz), ``s = ||Sxx||_2 <= ||Sxx||_F`` (1 for the whitened loss),
    ``lambda_max(C) <= max_i sum_k C_ik`` (``C >= 0``, S3.1)."""
    from flint import arb, fmpq

    problem.loss.require_certified("lambda_max bound")

    def q(x):
        f = Fraction(float(x))
        return arb(fmpq(f.numerator, f.denominator))

    def fro(M):
        s = arb(0)
        for row in M:
            for x in row:
                s += x * x
        return s.sqrt()

    def mat(a):
        return [[q(x) for x in row] for row in a.tolist()]

    def mmul(A, B):
        return [[sum((A[i][k] * B[k][j] for k in range(len(B))), arb(0)) for j in range(len(B[0]))]
                for i in range(len(A))]

    Ws = [mat(w) for w in problem.weights]
    N = problem.depth
    n = [fro(W) for W in Ws]
    P = Ws[0]
    for W in Ws[1:]:
        P = mmul(W, P)
    if problem.loss.has_stats:
        Sxx, Syx, _ = problem.loss.exact_stats
        S = [[arb(Sxx[i, j]) for j in range(Sxx.ncols())] for i in range(Sxx.nrows())]
        B = [[arb(Syx[i, j]) for j in range(Syx.ncols())] for i in range(Syx.nrows())]
        PS = mmul(P, S)
        G = [[PS[i][j] - B[i][j] for j in range(len(B[0]))] for i in range(len(B))]
        s = fro(S)
    else:
        T = mat(problem.loss.target)
        G = [[P[i][j] - T[i][j] for j in range(len(T[0]))] for i in range(len(T))]
        s = arb(1)
    a2 = arb(0)
    for j in range(N):
        a = arb(1)
        for l in range(N):
            if l != j:
                a *= n[l]
        a2 += a * a
    # C_ij <= prod_{l not in {i, j}} n_l (submultiplicativity); row sums bound lambda_max(C)
    lam_C = arb(0)
    for i in range(N):
        row = arb(0)
        for j in range(N):
            if j != i:
                p = arb(1)
                for l in range(N):
                    if l not in (i, j):
                        p *= n[l]
                row += p
        lam_C = max(lam_C, row, key=lambda x: float(x.upper()))
    bound = s * a2 + fro(G) * lam_C
    v = float(bound.upper())
    return math.nextafter(v, math.inf)


def lambda_max_estimate(problem: Problem) -> float:
    """An ESTIMATE (float64 dense eigen-solve, no rounding control) of
    ``lambda_max(Hf(theta_0))``; at most 2000 parameters."""
    import numpy as np

    from ._derivatives import Objective

    H = Objective(problem).hessian(problem.theta0)
    return float(np.linalg.eigvalsh(H)[-1])


def _pow2_floor(x: Fraction) -> Fraction:
    """The largest power of two ``<= x`` (``x > 0``), exactly."""
    e = x.numerator.bit_length() - x.denominator.bit_length()
    p = Fraction(2) ** e
    while p > x:
        p /= 2
    while p * 2 <= x:
        p *= 2
    return p


def step_sizes(problem: Problem, *, min_ratio=Fraction(1, 64), max_ratio=1, lambda_max: str = "upper",
               resolution_exp: int = 6):
    """Dyadic step sizes ``eta = k 2^-e`` with ``eta lambda / 2`` in
    ``[min_ratio, max_ratio]``, ``lambda`` the largest Hessian eigenvalue at
    ``theta_0``: ``max_ratio = 1`` is the edge of stability ``eta = 2 /
    lambda``, ``max_ratio < 1`` is below it.  ``2^-e`` is the largest power of
    two ``<= (2/lambda) 2^-resolution_exp``; shrinking goes to the smallest step.
``lambda`` is taken as at least ``LAMBDA_FLOOR = 2^-10`` (so ``eta <= 2^11``
even where the Hessian vanishes).

    ``lambda_max="upper"`` (default) uses the rigorous bound
    :func:`lambda_max_upper`, so ``eta lambda_max(Hf(theta_0)) <= 2 max_ratio``
    is *certain*; ``"estimate"`` uses the float dense-eigenvalue ESTIMATE
    :func:`lambda_max_estimate` (tighter: "near the edge" means near the
    estimated edge, which may lie slightly on either side of the true one).

    >>> step_sizes(certify.load_problem("builtin:saddle"), max_ratio=0.5).example()  # doctest: +SKIP
    0.0234375
    """
    if not isinstance(problem, Problem):
        raise InvalidArgument(f"problem={problem!r} must be a certify.Problem")
    lo_r, hi_r = _check_fraction("min_ratio", min_ratio), _check_fraction("max_ratio", max_ratio)
    if lo_r <= 0:
        raise InvalidArgument(f"min_ratio={min_ratio} must be > 0")
    if lo_r > hi_r:
        raise InvalidArgument(f"min_ratio={min_ratio} is larger than max_ratio={max_ratio}")
    if lambda_max not in ("upper", "estimate"):
        raise InvalidArgument(f"lambda_max={lambda_max!r} must be 'upper' or 'estimate'")
    _check_int("resolution_exp", resolution_exp, 0)
    if resolution_exp > 40:
        raise InvalidArgument(f"resolution_exp={resolution_exp} must be <= 40")
    if lambda_max == "estimate" and problem.n_params > 2000:
        raise InvalidArgument(f"lambda_max='estimate' needs a dense Hessian: {problem.n_params} > 2000 parameters")
    lam = lambda_max_upper(problem) if lambda_max == "upper" else lambda_max_estimate(problem)
    if not math.isfinite(lam):
        raise InvalidArgument(f"lambda_max of the problem is not finite ({lam}): the problem is too large")
    # a (near-)zero lambda puts the edge at (near) infinity: cap the steps at 2 / LAMBDA_FLOOR
    # (a larger lambda only makes the steps smaller, so "below the edge" stays certain)
    lam = max(lam, LAMBDA_FLOOR)
    edge = Fraction(2) / Fraction(lam)  # exact rational 2/lambda of the double lambda
    unit = _pow2_floor(edge / 2**resolution_exp)
    k_lo = math.ceil(lo_r * edge / unit)
    k_hi = math.floor(hi_r * edge / unit)
    if k_hi < max(k_lo, 1):
        raise InvalidArgument(
            f"no dyadic step with resolution {float(unit):g} in [min_ratio={min_ratio}, max_ratio={max_ratio}] "
            f"of 2/lambda = {float(edge):.6g}; increase resolution_exp or widen the ratio range")
    return st.integers(max(k_lo, 1), k_hi).map(lambda k: float(k * unit))


# ---------------------------------------------------------------------------
# certificates
# ---------------------------------------------------------------------------


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
