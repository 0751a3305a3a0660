"""Structured initialisations: exactly balanced (:func:`balanced_problems`, SPEC
S2.4) and near a saddle point (:func:`near_saddle_problems`)."""

from __future__ import annotations

from fractions import Fraction

from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from .._problem import problem_from_dict
from ._checks import LOSSES, _check_int, _check_range, _validate_common
from ._shapes import _loss_strategy, dims


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
