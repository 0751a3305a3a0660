"""Independent truths for the soundness tests (no certify code at all).

Everything here works on a problem *specification* (the JSON dict) and plain
Python numbers: :class:`fractions.Fraction` (exact), ``mpmath.mpf`` (50+
digits) or the exact hyper-dual numbers below.  The loss is evaluated from
its definition (S1: ``1/2 ||W - Phi||^2`` or ``1/(2m) ||W X - Y||^2`` with the
raw data, never the statistics), derivatives by forward-mode automatic
differentiation of that definition (exact for a polynomial), the gradient
flow by ``mpmath.odefun`` (mpmath's own Taylor integrator), gradient descent
in exact rational arithmetic.
"""

from __future__ import annotations

from fractions import Fraction

import mpmath
import numpy as np

# ---------------------------------------------------------------------------
# specs as exact numbers
# ---------------------------------------------------------------------------


def fr(x) -> Fraction:
    return Fraction(x) if not isinstance(x, float) else Fraction(x)


def fr_mat(a):
    return [[fr(x) for x in row] for row in a]


def flatten(Ws):
    """S1 flattening: W_1 row-major, then W_2, ..."""
    return [x for W in Ws for row in W for x in row]


def unflatten(theta, dims):
    out, i = [], 0
    for j in range(len(dims) - 1):
        r, c = dims[j + 1], dims[j]
        out.append([list(theta[i + a * c:i + (a + 1) * c]) for a in range(r)])
        i += r * c
    return out


def theta0(spec):
    return flatten(fr_mat(W) for W in spec["init"]["weights"])


# ---------------------------------------------------------------------------
# generic matrix arithmetic (any number type with + - *)
# ---------------------------------------------------------------------------


def mmul(A, B):
    n = len(B)
    return [[sum((A[i][k] * B[k][j] for k in range(1, n)), A[i][0] * B[0][j]) for j in range(len(B[0]))]
            for i in range(len(A))]


def transpose(A):
    return [list(r) for r in zip(*A)]


def sub(A, B):
    return [[a - b for a, b in zip(ra, rb)] for ra, rb in zip(A, B)]


def end_to_end(Ws):
    P = Ws[0]
    for W in Ws[1:]:
        P = mmul(W, P)
    return P


def _sumsq(M):
    s = None
    for row in M:
        for x in row:
            s = x * x if s is None else s + x * x
    return s


def loss(spec, theta, conv=fr):
    """The loss from its definition (S1), in the number type of ``theta``."""
    Ws = unflatten(theta, spec["dims"])
    W = end_to_end(Ws)
    L = spec["loss"]
    if L["kind"] == "whitened":
        return _sumsq(sub(W, [[conv(x) for x in row] for row in L["target"]])) * conv(Fraction(1, 2))
    X = [[conv(x) for x in row] for row in L["X"]]
    Y = [[conv(x) for x in row] for row in L["Y"]]
    m = len(L["X"][0])
    return _sumsq(sub(mmul(W, X), Y)) * conv(Fraction(1, 2 * m))


# ---------------------------------------------------------------------------
# exact forward-mode AD: hyper-dual numbers a + b e1 + c e2 + d e1 e2
# ---------------------------------------------------------------------------


class HD:
    __slots__ = ("a", "b", "c", "d")

    def __init__(self, a, b=0, c=0, d=0):
        self.a, self.b, self.c, self.d = a, b, c, d

    def __add__(self, o):
        if not isinstance(o, HD):
            return HD(self.a + o, self.b, self.c, self.d)
        return HD(self.a + o.a, self.b + o.b, self.c + o.c, self.d + o.d)

    __radd__ = __add__

    def __sub__(self, o):
        if not isinstance(o, HD):
            return HD(self.a - o, self.b, self.c, self.d)
        return HD(self.a - o.a, self.b - o.b, self.c - o.c, self.d - o.d)

    def __rsub__(self, o):
        return HD(o - self.a, -self.b, -self.c, -self.d)

    def __mul__(self, o):
        if not isinstance(o, HD):
            return HD(self.a * o, self.b * o, self.c * o, self.d * o)
        return HD(self.a * o.a, self.a * o.b + self.b * o.a, self.a * o.c + self.c * o.a,
                  self.a * o.d + self.d * o.a + self.b * o.c + self.c * o.b)

    __rmul__ = __mul__


def _hd_conv(x):
    return HD(Fraction(x))


def grad_ad(spec, theta):
    """Exact gradient by forward-mode AD of the loss definition (Fractions)."""
    n = len(theta)
    out = []
    for i in range(n):
        th = [HD(Fraction(x), 1 if j == i else 0) for j, x in enumerate(theta)]
        out.append(loss(spec, th, _hd_conv).b)
    return out


def hessian_ad(spec, theta):
    """Exact dense Hessian (list of lists of Fractions) by hyper-dual AD."""
    n = len(theta)
    H = [[Fraction(0)] * n for _ in range(n)]
    for i in range(n):
        for j in range(i, n):
            th = [HD(Fraction(x), 1 if k == i else 0, 1 if k == j else 0) for k, x in enumerate(theta)]
            H[i][j] = H[j][i] = loss(spec, th, _hd_conv).d
    return H


# ---------------------------------------------------------------------------
# gradient by S2.1 in any number type (fast; checked against grad_ad in tests)
# ---------------------------------------------------------------------------


def grad_s21(spec, theta, conv=fr):
    dims = spec["dims"]
    Ws = unflatten(theta, dims)
    N = len(Ws)
    W = end_to_end(Ws)
    L = spec["loss"]
    if L["kind"] == "whitened":
        G = sub(W, [[conv(x) for x in row] for row in L["target"]])
    else:
        X = [[conv(x) for x in row] for row in L["X"]]
        Y = [[conv(x) for x in row] for row in L["Y"]]
        m = len(L["X"][0])
        R = sub(mmul(W, X), Y)
        G = [[x * conv(Fraction(1, m)) for x in row] for row in mmul(R, transpose(X))]
    one = conv(1)
    zero = conv(0)

    def eye(d):
        return [[one if i == j else zero for j in range(d)] for i in range(d)]

    pre = [eye(dims[0])]  # pre[j] = W_{j:1}
    for Wj in Ws:
        pre.append(mmul(Wj, pre[-1]))
    suf = [eye(dims[N])]  # suf[k] = W_{N:N-k+1}
    for Wj in reversed(Ws):
        suf.append(mmul(suf[-1], Wj))
    out = []
    for j in range(1, N + 1):
        left = transpose(suf[N - j])  # W_{N:j+1}^T
        right = transpose(pre[j - 1])  # W_{j-1:1}^T
        out.append(mmul(mmul(left, G), right))
    return flatten(out)


# ---------------------------------------------------------------------------
# exact GD and high-precision GF
# ---------------------------------------------------------------------------


def gd_exact(spec, eta, k: int):
    """Exact-arithmetic GD iterates ``theta_0 .. theta_k`` (Fractions; ``eta`` the
    double taken exactly)."""
    e = Fraction(eta)
    th = theta0(spec)
    out = [th]
    for _ in range(k):
        g = grad_s21(spec, th)
        th = [x - e * gx for x, gx in zip(th, g)]
        out.append(th)
    return out


def mpf_of(x):
    x = Fraction(x)
    return mpmath.mpf(x.numerator) / x.denominator


def gf_odefun(spec, times, dps: int = 40):
    """``theta(t)`` for each ``t`` in ``times`` (exact rationals or floats) by
    ``mpmath.odefun`` at ``dps`` digits (tolerance ``10^-(dps+2)``); lists of mpf."""
    th0 = theta0(spec)
    with mpmath.workdps(dps + 10):
        y0 = [mpf_of(x) for x in th0]

        def rhs(t, y):
            return [-g for g in grad_s21(spec, list(y), mpf_of)]

        sol = mpmath.odefun(rhs, 0, y0, tol=mpmath.mpf(10) ** (-(dps + 2)))
        out = []
        for t in times:
            out.append([+v for v in sol(mpf_of(t))])
    return out


def as_mpf(x):
    return mpf_of(x) if isinstance(x, (Fraction, int)) else mpmath.mpf(x)


def dist(a, b):
    """Euclidean distance of two vectors of Fractions / floats / mpf (as mpf, current precision)."""
    return mpmath.sqrt(mpmath.fsum((as_mpf(x) - as_mpf(y)) ** 2 for x, y in zip(a, b)))


def balancedness(Ws):
    """``[W_{j+1}^T W_{j+1} - W_j W_j^T for j]`` (S2.4)."""
    return [sub(mmul(transpose(Ws[j + 1]), Ws[j + 1]), mmul(Ws[j], transpose(Ws[j]))) for j in range(len(Ws) - 1)]


# ---------------------------------------------------------------------------
# reading certify's ball matrices exactly (their stored endpoints, via
# python-flint / mpmath number representations; no certify function is called)
# ---------------------------------------------------------------------------


def _mpf_tuple_to_fraction(t) -> Fraction:
    sign, man, exp, _ = t
    v = Fraction(int(man)) * (Fraction(2) ** int(exp))
    return -v if sign else v


def _arb_to_fraction(x) -> Fraction:
    man, exp = x.man_exp()
    return Fraction(int(man)) * Fraction(2) ** int(exp)


def ball_entries(M) -> list[tuple[Fraction, Fraction]]:
    """Exact ``(lo, hi)`` of every entry (row-major) of a certify.arith matrix
    (float64 ``m +- r`` arrays, Arb ``mid +- rad``, mpmath interval endpoints)."""
    kind = type(M).__name__
    out = []
    if kind == "F64Mat":
        r = np.zeros(M.m.shape) if M.r is None else M.r
        for m, rr in zip(M.m.ravel(), r.ravel()):
            c, d = Fraction(float(m)), Fraction(float(rr))
            out.append((c - d, c + d))
    elif kind == "ArbMat":
        for x in M.a.entries():
            c, d = _arb_to_fraction(x.mid()), _arb_to_fraction(x.rad())
            out.append((c - d, c + d))
    elif kind == "IvMat":
        for v in M.x.ravel():
            a, b = v._mpi_
            out.append((_mpf_tuple_to_fraction(a), _mpf_tuple_to_fraction(b)))
    else:  # pragma: no cover
        raise TypeError(kind)
    return out
