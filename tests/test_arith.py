"""Containment tests for the arithmetic backends (SPEC S4.6): float64, arb, iv.

Every input float is an exact rational, so the exact result of each operation
is computed here in :class:`fractions.Fraction` arithmetic (2-norms: a Rayleigh
quotient ``||Q v||^2 / ||v||^2`` with ``v`` an mpmath eigenvector at 120 digits,
evaluated exactly in Fractions, which is a rigorous *lower* bound of
``||Q||_2^2`` whatever ``v`` is).  Each backend's result must contain it:
checked both with the backend's own ``contains`` and, independently, against
the ball's exact endpoints read here from its representation (``bounds``).

Inputs cover ordinary values, a 2^+-40 exponent spread, ~1e-300 values whose
products underflow, subnormals, ~1e300 values times bounded ones, exact
rationals such as 1/3 (not floats), radius-carrying operands (the exact point
is a vertex, the center or a random point of the ball), and cancellation
(rows like ``[1e16, 1, -1e16]`` against nearly equal columns, differences of
neighbouring floats).  Example counts scale with the hypothesis profile:
``ci`` (default, 100) keeps the file under a minute, ``campaign`` (2000)
runs 20 times as many.
"""

from __future__ import annotations

import math
from fractions import Fraction

import flint
import mpmath
import numpy as np
import pytest
from hypothesis import assume, given, note, settings
from hypothesis import strategies as st

from certify import BlowUpError, UsageError

from helpers.independent import mpf_of
from certify.arith import BACKENDS, get_context
from certify.arith._arb import ArbMat
from certify.arith._float64 import F64Mat
from certify.arith._iv import IvMat

CONFIGS = [("float64", None), ("arb", 53), ("arb", 256), ("iv", 53), ("iv", 128)]
IDS = [n if p is None else f"{n}{p}" for n, p in CONFIGS]
DBL_MAX = Fraction(np.finfo(np.float64).max)
ETA = Fraction(1, 2**1074)
_PROFILE_N = settings.default.max_examples  # 100 under "ci", 2000 under "campaign"


def n_examples(frac: float) -> int:
    """``frac`` of the profile's example count (so ``campaign`` scales every test)."""
    return max(5, int(_PROFILE_N * frac))


def ctx_of(cfg):
    name, prec = cfg
    return get_context(name, prec)


# ---------------------------------------------------------------- exact helpers
F0 = Fraction(0)


def fr(a) -> np.ndarray:
    """Exact Fraction array of a float or Fraction/int array."""
    a = np.asarray(a)
    out = np.empty(a.shape, dtype=object)
    for idx, v in np.ndenumerate(a):
        out[idx] = Fraction(v) if a.dtype == object else Fraction(float(v))
    return out


def fmm(P, Q) -> np.ndarray:
    m, k = P.shape
    k2, n = Q.shape
    assert k == k2
    out = np.empty((m, n), dtype=object)
    for i in range(m):
        for j in range(n):
            out[i, j] = sum((P[i, l] * Q[l, j] for l in range(k)), F0)
    return out


def _mpf_tuple_to_fraction(v) -> Fraction:
    sign, man, exp, bc = v
    assert man or (exp == 0 and bc == 0), f"non-finite endpoint {v}"
    q = Fraction(man) * Fraction(2) ** exp
    return -q if sign else q


def _arb_part(x) -> Fraction:
    man, exp = x.man_exp()
    return Fraction(int(man)) * Fraction(2) ** int(exp)


def bounds(M):
    """Exact (lo, hi) Fraction arrays of a backend matrix, read from its representation."""
    r, c = M.shape
    lo = np.empty((r, c), dtype=object)
    hi = np.empty((r, c), dtype=object)
    if isinstance(M, F64Mat):
        rad = np.zeros(M.m.shape) if M.r is None else M.r
        for idx in np.ndindex(r, c):
            m, rr = Fraction(float(M.m[idx])), Fraction(float(rad[idx]))
            assert rr >= 0
            lo[idx], hi[idx] = m - rr, m + rr
    elif isinstance(M, ArbMat):
        for i in range(r):
            for j in range(c):
                x = M.a[i, j]
                assert x.is_finite(), f"non-finite arb ball {x}"
                m, rr = _arb_part(x.mid()), _arb_part(x.rad())
                lo[i, j], hi[i, j] = m - rr, m + rr
    elif isinstance(M, IvMat):
        for idx in np.ndindex(r, c):
            a, b = M.x[idx]._mpi_
            lo[idx], hi[idx] = _mpf_tuple_to_fraction(a), _mpf_tuple_to_fraction(b)
    else:  # pragma: no cover
        raise TypeError(type(M))
    return lo, hi


def centers(M) -> np.ndarray:
    lo, hi = bounds(M)
    return (lo + hi) / 2


def assert_contains(M, Q, what=""):
    """``M`` contains the exact Fraction matrix ``Q``: backend ``contains`` and exact endpoints."""
    Q = np.asarray(Q, dtype=object)
    assert M.shape == Q.shape, (what, M.shape, Q.shape)
    lo, hi = bounds(M)
    for idx in np.ndindex(*Q.shape):
        assert lo[idx] <= Q[idx] <= hi[idx], (
            f"{what}: entry {idx}: exact {float(Q[idx])!r} not in "
            f"[{float(lo[idx])!r}, {float(hi[idx])!r}]; miss by "
            f"{float(max(lo[idx] - Q[idx], Q[idx] - hi[idx]))!r}"
        )
    assert M.contains(Q), f"{what}: backend contains() says no"


def spectral_lower_sq(Q) -> Fraction:
    """A rigorous lower bound of ``||Q||_2^2``: the exact Rayleigh quotient of the
    top eigenvector of ``Q^T Q`` computed by mpmath at 120 digits."""
    Q = np.asarray(Q, dtype=object)
    if all(v == 0 for v in Q.ravel()):
        return F0
    scale = max(abs(v) for v in Q.ravel())
    with mpmath.mp.workdps(120):
        M = mpmath.matrix([[mpf_of(v / scale) for v in row] for row in Q])
        E, V = mpmath.eigsy(M.T * M)
        j = max(range(len(E)), key=lambda i: E[i])
        v = [_mpf_tuple_to_fraction(V[i, j]._mpf_) for i in range(V.rows)]
    vv = sum((x * x for x in v), F0)
    if vv == 0:  # pragma: no cover
        return F0
    Qv = [sum((Q[i, l] * v[l] for l in range(Q.shape[1])), F0) for i in range(Q.shape[0])]
    return sum((x * x for x in Qv), F0) / vv


# ---------------------------------------------------------------- strategies
def scaled(e_lo: int, e_hi: int):
    """Floats ``+-m 2^e`` with a random 53-bit ``m`` and ``2^e_lo <= |x| < 2^(e_hi + 1)``."""
    return st.builds(
        lambda s, m, e: s * math.ldexp(m, e - 52),
        st.sampled_from([-1, 1]),
        st.integers(2**52, 2**53 - 1),
        st.integers(e_lo, e_hi),
    )


ELEMS = {
    "unit": st.floats(-4, 4, allow_nan=False, allow_infinity=False),
    "bounded": st.floats(-1, 1, allow_nan=False, allow_infinity=False),
    "wide": scaled(-40, 40),
    "tiny": scaled(-1000, -990),
    "subnormal": st.integers(-(2**52 - 1), 2**52 - 1).map(lambda n: n * 2.0**-1074),
    "huge": scaled(990, 1000),
    "rational": st.fractions(min_value=-1000, max_value=1000, max_denominator=10**6),
}
ELEMS["mixed"] = st.one_of(ELEMS["unit"], ELEMS["wide"], ELEMS["tiny"], ELEMS["subnormal"])
# products of these pairs stay far from overflow (|A||B| <= 4 * 2^1001)
MATMUL_PAIRS = [
    ("unit", "unit"), ("wide", "wide"), ("mixed", "mixed"), ("tiny", "tiny"), ("tiny", "unit"),
    ("subnormal", "unit"), ("subnormal", "subnormal"), ("subnormal", "tiny"), ("huge", "bounded"),
    ("bounded", "huge"), ("huge", "tiny"), ("huge", "subnormal"), ("rational", "unit"),
    ("rational", "rational"), ("rational", "tiny"),
]
ADD_REGIMES = ["unit", "wide", "mixed", "tiny", "subnormal", "huge", "rational"]


class Operand:
    """An input matrix ``arr`` (float array or Fraction object array), optional radii
    ``rad`` (floats) and an exact point ``pt`` of the ball ``arr +- rad``."""

    def __init__(self, arr, rad, pt):
        self.arr, self.rad, self.pt = arr, rad, pt

    def make(self, ctx):
        return ctx.matrix(self.arr, rad=self.rad)

    def __repr__(self):
        return f"Operand(arr={self.arr!r}, rad={self.rad!r}, pt={self.pt!r})"


def _array(draw, regime, shape):
    r, c = shape
    vals = draw(st.lists(ELEMS[regime], min_size=r * c, max_size=r * c))
    if regime == "rational":
        return np.array(vals, dtype=object).reshape(shape)
    return np.array(vals, dtype=np.float64).reshape(shape)


@st.composite
def operands(draw, regime, shape, radius=True):
    arr = _array(draw, regime, shape)
    pt = fr(arr)
    rad = None
    if radius and draw(st.booleans()):
        mag = np.abs(np.array([float(v) for v in arr.ravel()])).reshape(shape)
        shifts = np.array(draw(st.lists(st.integers(1, 60), min_size=arr.size, max_size=arr.size)))
        rad = np.ldexp(mag, -shifts.reshape(shape))
        if draw(st.booleans()):  # some radius on zero / tiny entries too
            rad = rad + draw(st.sampled_from([2.0**-1074, 2.0**-1000, 2.0**-30]))
        ts = draw(st.lists(
            st.one_of(st.sampled_from([Fraction(-1), F0, Fraction(1)]),
                      st.fractions(min_value=-1, max_value=1, max_denominator=1000)),
            min_size=arr.size, max_size=arr.size))
        pt = pt + np.array(ts, dtype=object).reshape(shape) * fr(rad)
    return Operand(arr, rad, pt)


dims = st.integers(1, 4)


@st.composite
def matmul_case(draw):
    if draw(st.integers(0, 4)) == 0:
        return draw(cancel_case())
    ra, rb = draw(st.sampled_from(MATMUL_PAIRS))
    m, k, n = draw(dims), draw(dims), draw(dims)
    return draw(operands(ra, (m, k))), draw(operands(rb, (k, n)))


@st.composite
def cancel_case(draw):
    """``A = [X, s, -X]`` (X ~ 2^20..2^60), ``B = [Y; w; Y']`` with ``Y'`` within a few
    ulps of ``Y``, inner index permuted: the exact product is tiny next to ``|A||B|``."""
    p, m, n = draw(st.integers(1, 2)), draw(dims), draw(dims)
    X = np.array(draw(st.lists(scaled(20, 60), min_size=m * p, max_size=m * p))).reshape(m, p)
    s = _array(draw, "unit", (m, 1))
    Y = np.array(draw(st.lists(st.floats(0.5, 2), min_size=p * n, max_size=p * n))).reshape(p, n)
    w = _array(draw, "unit", (1, n))
    steps = draw(st.lists(st.integers(-2, 2), min_size=p * n, max_size=p * n))
    Y2 = Y.copy().ravel()
    for i, st_ in enumerate(steps):
        for _ in range(abs(st_)):
            Y2[i] = math.nextafter(Y2[i], math.copysign(math.inf, st_))
    Y2 = Y2.reshape(p, n)
    A = np.hstack([X, s, -X])
    B = np.vstack([Y, w, Y2])
    perm = draw(st.permutations(range(2 * p + 1)))
    A, B = A[:, perm], B[perm, :]
    return Operand(A, None, fr(A)), Operand(B, None, fr(B))


@st.composite
def add_case(draw):
    m, n = draw(dims), draw(dims)
    if draw(st.integers(0, 3)) == 0:  # cancellation: B within a few ulps of A
        A = _array(draw, draw(st.sampled_from(["unit", "wide", "tiny", "huge"])), (m, n))
        steps = draw(st.lists(st.integers(-3, 3), min_size=m * n, max_size=m * n))
        B = A.copy().ravel()
        for i, s in enumerate(steps):
            for _ in range(abs(s)):
                B[i] = math.nextafter(B[i], math.copysign(math.inf, s))
        B = B.reshape(m, n) * draw(st.sampled_from([1.0, -1.0]))
        return Operand(A, None, fr(A)), Operand(B, None, fr(B))
    ra, rb = draw(st.sampled_from(ADD_REGIMES)), draw(st.sampled_from(ADD_REGIMES))
    return draw(operands(ra, (m, n))), draw(operands(rb, (m, n)))


scalars = st.one_of(
    st.floats(-8, 8, allow_nan=False, allow_infinity=False),
    scaled(-100, 100),
    scaled(-1074, -1000),  # down to subnormal scalars
    st.integers(-10, 10),
    st.integers(2**53 + 1, 2**70) | st.integers(-(2**70), -(2**53) - 1),  # not exact doubles
    st.fractions(min_value=-10, max_value=10, max_denominator=10**9),
    st.sampled_from([Fraction(1, 3), Fraction(-2, 7), Fraction(1, 10)]),
)


def rel_scale(pa, pb) -> np.ndarray:
    """``|A||B|`` exactly."""
    return fmm(np.abs(pa), np.abs(pb))


# ---------------------------------------------------------------- containment
@pytest.mark.parametrize("cfg", CONFIGS, ids=IDS)
@settings(max_examples=n_examples(1.0))
@given(case=matmul_case())
def test_matmul_encloses_exact_product(cfg, case):
    A, B = case
    ctx = ctx_of(cfg)
    with ctx:
        P = A.make(ctx) @ B.make(ctx)
    exact = fmm(A.pt, B.pt)
    assert_contains(P, exact, "A @ B")
    if A.rad is None and B.rad is None:
        # not vacuous: radius <= 2^-40 |A||B| + 2^-1000 (float64: gamma_k |A||B| + k eta)
        lo, hi = bounds(P)
        S = rel_scale(A.pt, B.pt)
        for idx in np.ndindex(*P.shape):
            assert (hi[idx] - lo[idx]) / 2 <= S[idx] / 2**40 + Fraction(1, 2**1000), idx


@pytest.mark.parametrize("cfg", CONFIGS, ids=IDS)
@settings(max_examples=n_examples(0.6))
@given(case=add_case())
def test_add_sub_neg_enclose_exact(cfg, case):
    A, B = case
    ctx = ctx_of(cfg)
    with ctx:
        MA, MB = A.make(ctx), B.make(ctx)
        S, D, N = MA + MB, MA - MB, -MA
    assert_contains(MA, A.pt, "matrix(a, rad)")
    assert_contains(S, A.pt + B.pt, "A + B")
    assert_contains(D, A.pt - B.pt, "A - B")
    assert_contains(N, -A.pt, "-A")


@pytest.mark.parametrize("cfg", CONFIGS, ids=IDS)
@settings(max_examples=n_examples(0.6))
@given(data=st.data(), regime=st.sampled_from(ADD_REGIMES), s=scalars,
       shape=st.tuples(dims, dims))
def test_scalar_multiple_and_transpose_enclose_exact(cfg, data, regime, s, shape):
    A = data.draw(operands(regime, shape))
    bound = max((abs(v) for v in A.pt.ravel()), default=F0) * abs(Fraction(s))
    assume(bound < 2**1020)  # huge * large scalar would overflow binary64 honestly
    ctx = ctx_of(cfg)
    with ctx:
        MA = A.make(ctx)
        R, L, T = MA * s, s * MA, MA.T
    exact = A.pt * Fraction(s)
    assert_contains(R, exact, "A * s")
    assert_contains(L, exact, "s * A")
    assert_contains(T, A.pt.T, "A.T")
    assert T.shape == (shape[1], shape[0])


@pytest.mark.parametrize("cfg", CONFIGS, ids=IDS)
@settings(max_examples=n_examples(0.4))
@given(data=st.data(), regime=st.sampled_from(["unit", "wide", "mixed", "tiny", "rational"]),
       s=scalars, m=dims, k=dims, n=dims, p=dims)
def test_chained_operations_on_balls(cfg, data, regime, s, m, k, n, p):
    """Operands with radii produced by earlier operations: ((A@B)@C + D) * s - E, transposed."""
    A = data.draw(operands(regime, (m, k)))
    B = data.draw(operands("unit", (k, n)))
    C = data.draw(operands(regime, (n, p)))
    D = data.draw(operands(regime, (m, p)))
    E = data.draw(operands("unit", (m, p)))
    ctx = ctx_of(cfg)
    with ctx:
        P = A.make(ctx) @ B.make(ctx)
        Q = P @ C.make(ctx) + D.make(ctx)
        R = (Q * s - E.make(ctx)).T
        Z = P.T @ R.T  # (n x m) @ (m x p)
        Cn = -R.center()
    eP = fmm(A.pt, B.pt)
    eQ = fmm(eP, C.pt) + D.pt
    eR = (eQ * Fraction(s) - E.pt).T
    assert_contains(P, eP, "A@B")
    assert_contains(Q, eQ, "(A@B)@C + D")
    assert_contains(R, eR, "((A@B)@C + D) s - E, transposed")
    assert_contains(Z, fmm(eP.T, eR.T), "P.T @ R.T")
    # center(): zero radius at the exact center of R
    assert_contains(Cn, -centers(R), "-center(R)")
    lo, hi = bounds(Cn)
    assert all(l == h for l, h in zip(lo.ravel(), hi.ravel())), "center() has a radius"


# ---------------------------------------------------------------- norms and queries
def _query(fn, allowed_blowup: bool, what: str):
    """Run a query; a BlowUpError is acceptable only when the quantity is near overflow."""
    try:
        return fn()
    except BlowUpError:
        assert allowed_blowup, f"{what}: BlowUpError on a representable bound"
        return None


@st.composite
def norm_case(draw):
    """A ball from ``matrix(a, rad)`` or from a product (wider, computed radii)."""
    if draw(st.booleans()):
        regime = draw(st.sampled_from(ADD_REGIMES))
        return draw(operands(regime, (draw(dims), draw(dims)))), None
    return draw(matmul_case())


@pytest.mark.parametrize("cfg", CONFIGS, ids=IDS)
@settings(max_examples=n_examples(0.6))
@given(case=norm_case())
def test_norm_and_abs_bounds_are_upper_bounds_over_the_ball(cfg, case):
    A, B = case
    ctx = ctx_of(cfg)
    with ctx:
        M = A.make(ctx) if B is None else A.make(ctx) @ B.make(ctx)
        exact = A.pt if B is None else fmm(A.pt, B.pt)
        lo, hi = bounds(M)
        X = np.vectorize(lambda l, h: max(abs(l), abs(h)), otypes=[object])(lo, hi)
        corner = np.vectorize(lambda l, h: h if abs(h) >= abs(l) else l, otypes=[object])(lo, hi)
        sumsq = sum((v * v for v in X.ravel()), F0)
        xmax = max(X.ravel())
        # float64 squares entries before the square root: may honestly overflow above ~1e154
        fro_blowup_ok = sumsq > (DBL_MAX / 16 if cfg[0] == "float64" else DBL_MAX**2 / 4)
        au = _query(M.abs_upper, xmax > DBL_MAX / 2, "abs_upper")
        rm = _query(M.rad_max, xmax > DBL_MAX / 2, "rad_max")
        nf = _query(M.norm_f_upper, fro_blowup_ok, "norm_f_upper")
        n2 = _query(M.norm_2_upper, fro_blowup_ok, "norm_2_upper")
    note(f"xmax={float(xmax)!r} au={au!r} rm={rm!r} nf={nf!r} n2={n2!r}")
    if au is not None:
        assert au.shape == M.shape
        for idx in np.ndindex(*M.shape):
            assert math.isfinite(au[idx]) and Fraction(float(au[idx])) >= X[idx], ("abs_upper", idx)
    if rm is not None:
        half = max((h - l) / 2 for l, h in zip(lo.ravel(), hi.ravel()))
        assert math.isfinite(rm) and Fraction(rm) >= half, ("rad_max", rm, float(half))
    if nf is not None:
        assert math.isfinite(nf) and Fraction(nf) ** 2 >= sumsq, ("norm_f_upper", nf, math.sqrt(float(sumsq)))
    if n2 is not None:
        assert math.isfinite(n2)
        n2sq = Fraction(n2) ** 2
        for what, Q in (("exact point", exact), ("abs-max corner", corner)):
            low = spectral_lower_sq(Q)
            assert n2sq >= low, ("norm_2_upper", what, n2, math.sqrt(float(low)))
        assert n2sq >= max(v * v for v in X.ravel())  # ||.||_2 >= max entry


# ---------------------------------------------------------------- cross-backend agreement
CROSS = [("float64", None), ("arb", 256), ("iv", 128)]


@settings(max_examples=n_examples(0.8))
@given(case=matmul_case(), add=add_case(), s=scalars,
       op=st.sampled_from(["matmul", "add", "sub", "scal", "chain"]))
def test_backends_agree(case, add, s, op):
    """The three backends' results overlap entrywise (all contain the exact value),
    and the 256-bit arb midpoint lies in the float64 ball."""
    A, B = case
    amax = max((abs(v) for v in A.pt.ravel()), default=F0)
    bmax = max((abs(v) for v in B.pt.ravel()), default=F0)
    if op == "scal":
        assume(amax * abs(Fraction(s)) < 2**1020)
    if op == "chain":  # |(AB)^T A| <= k^2 max|A|^2 max|B|: keep clear of binary64 overflow
        assume(16 * amax * amax * bmax < 2**1020)
    results = {}
    for cfg in CROSS:
        ctx = ctx_of(cfg)
        with ctx:
            MA, MB = A.make(ctx), B.make(ctx)
            if op == "matmul":
                R, exact = MA @ MB, fmm(A.pt, B.pt)
            elif op == "add":
                R, exact = add[0].make(ctx) + add[1].make(ctx), add[0].pt + add[1].pt
            elif op == "sub":
                R, exact = add[0].make(ctx) - add[1].make(ctx), add[0].pt - add[1].pt
            elif op == "scal":
                R, exact = MA * s, A.pt * Fraction(s)
            else:
                R = (MA @ MB).T @ MA - (MB.T @ MA.T) @ MA * 2
                P = fmm(A.pt, B.pt).T
                exact = fmm(P, A.pt) - fmm(P, A.pt) * 2
        results[cfg[0]] = R
        assert_contains(R, exact, f"{cfg[0]} {op}")
    b = {k: bounds(v) for k, v in results.items()}
    shape = results["float64"].shape
    for idx in np.ndindex(*shape):
        low = max(lo[idx] for lo, _ in b.values())
        high = min(hi[idx] for _, hi in b.values())
        assert low <= high, (op, idx, "balls do not overlap")
    arb_mid = centers(results["arb"])
    flo, fhi = b["float64"]
    for idx in np.ndindex(*shape):
        assert flo[idx] <= arb_mid[idx] <= fhi[idx], (op, idx, "arb midpoint outside the float64 ball")


# ---------------------------------------------------------------- deterministic cases
@pytest.mark.parametrize("cfg", CONFIGS, ids=IDS)
def test_textbook_cancellation_and_underflow(cfg):
    ctx = ctx_of(cfg)
    with ctx:
        # float64 computes 1e16 + 1 - 1e16 = 0; the exact value is 1
        P = ctx.matrix(np.array([[1e16, 1.0, -1e16]])) @ ctx.matrix(np.ones((3, 1)))
        # (1e-300)^2 = 1e-600 underflows to 0 in binary64
        U = ctx.matrix(np.full((2, 3), 1e-300)) @ ctx.matrix(np.full((3, 2), 1e-300))
        # subnormal * subnormal
        S = ctx.matrix(np.array([[5e-324, -5e-324]])) @ ctx.matrix(np.array([[5e-324], [5e-324]]))
        # a third is not a float
        T = ctx.matrix(np.array([[Fraction(1, 3)]], dtype=object)) * 3
    assert_contains(P, [[Fraction(1)]], "[1e16, 1, -1e16] @ 1")
    assert_contains(U, np.full((2, 2), 3 * Fraction(1e-300) ** 2, dtype=object), "1e-300 products")
    assert_contains(S, [[F0]], "subnormal products")
    assert_contains(T, [[Fraction(1)]], "(1/3) * 3")
    if cfg[0] != "float64" and cfg[1] >= 64:  # 1e16 + 1 has 54 bits: exact at >= 64 bits
        lo, hi = bounds(P)
        assert lo[0, 0] == hi[0, 0] == 1


@pytest.mark.parametrize("cfg", CONFIGS, ids=IDS)
def test_contains_rejects_points_outside(cfg):
    """``contains`` and the endpoints are not vacuous: a point a little outside is rejected."""
    ctx = ctx_of(cfg)
    with ctx:
        M = ctx.matrix(np.array([[Fraction(1, 3), 2.0], [-1e-300, 0.0]], dtype=object), rad=2.0**-20)
        P = M @ M
        for X in (M, P):
            lo, hi = bounds(X)
            assert X.contains(centers(X))
            for idx in np.ndindex(*X.shape):
                w = hi[idx] - lo[idx]
                for out in (hi[idx] + w / 1000 + ETA, lo[idx] - w / 1000 - ETA):
                    Q = centers(X).copy()
                    Q[idx] = out
                    assert not X.contains(Q), (idx, float(out))


@pytest.mark.parametrize("cfg", CONFIGS, ids=IDS)
def test_overflow_raises_blowup_never_inf(cfg):
    """SPEC rule 5: overflow raises BlowUpError; a float query never returns inf/nan."""
    ctx = ctx_of(cfg)
    with ctx:
        H = ctx.matrix(np.full((2, 2), 1e300))
        try:
            P = H @ H  # 2e600
        except BlowUpError:
            return
        for name in ("abs_upper", "rad_max", "norm_f_upper", "norm_2_upper"):
            try:
                v = getattr(P, name)()
            except BlowUpError:
                continue
            assert np.all(np.isfinite(v)), f"{name} returned {v} without BlowUpError"


@pytest.mark.parametrize("cfg", CONFIGS, ids=IDS)
def test_context_sets_and_restores_precision(cfg):
    from mpmath import iv

    name, prec = cfg
    ctx = ctx_of(cfg)
    before = (mpmath.mp.prec, flint.ctx.prec, iv.prec)
    with ctx:
        if name == "arb":
            assert flint.ctx.prec == prec
        if name == "iv":
            assert iv.prec == prec
        with ctx:  # re-entrant
            pass
        with pytest.raises(ZeroDivisionError):
            with ctx:
                1 / 0
        if name == "iv":
            assert iv.prec == prec
    assert (mpmath.mp.prec, flint.ctx.prec, iv.prec) == before


def test_iv_backend_registered_and_checked():
    from mpmath import iv

    assert "iv" in BACKENDS
    assert get_context("iv").prec == 128 and get_context("iv", 300).prec == 300
    with pytest.raises(UsageError):
        get_context("iv", 40)
    ctx = get_context("iv", 64)
    with ctx:
        with pytest.raises(UsageError):
            ctx.matrix(np.ones((1, 1)), rad=-1.0)
        with pytest.raises(BlowUpError):
            ctx.matrix(np.array([[math.inf]]))
        with pytest.raises(TypeError):
            ctx.matrix(np.ones((1, 1))) * ctx.matrix(np.ones((1, 1)))
        with pytest.raises(ValueError):
            ctx.matrix(np.ones((1, 2))) @ ctx.matrix(np.ones((3, 1)))
        # outward float conversion: 1/3 at 64 bits -> the next float up from the upper endpoint
        X = ctx.matrix(np.array([[Fraction(1, 3)]], dtype=object))
        b = Fraction(X.bounds()[1][0, 0])
        (a,) = X.abs_upper().ravel()
        assert Fraction(a) >= b and Fraction(math.nextafter(a, 0)) < b
        # below the subnormal range: the smallest subnormal, not 0
        Y = ctx.matrix(np.array([[Fraction(1, 2**1100)]], dtype=object))
        assert Y.abs_upper()[0, 0] == 5e-324 and Y.norm_f_upper() == 5e-324
        assert iv.prec == 64
        assert ctx.matrix(np.array([[3.0, 4.0]])).norm_f_upper() == 5.0  # tight when exact
        assert ctx.matrix_from_strings([["0.1", "2"]]).contains([[Fraction(1, 10), 2]])
        Z = ctx.matrix(np.array([[0.5, -3.0]]), rad=0.25)
        assert Z.mid().tolist() == [[0.5, -3.0]] and Z.mid_strings(3) == [["0.5", "-3.0"]]
        assert Z.rad_max() == 0.25 and Z.abs_upper().tolist() == [[0.75, 3.25]]
        assert Z.norm_2_upper() <= Z.norm_f_upper()


def test_float64_overflow_of_exact_inputs_is_a_blowup_error():
    from fractions import Fraction

    import pytest

    from certify import BlowUpError
    from certify.arith import get_context

    ctx = get_context("float64")
    with ctx:
        with pytest.raises(BlowUpError):
            ctx.matrix(np.array([[Fraction(10) ** 400]], dtype=object))
        A = ctx.matrix(np.eye(2))
        with pytest.raises(BlowUpError):
            A * 10**400
