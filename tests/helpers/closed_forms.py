"""Reference solutions of gradient flow (and gradient descent) known
independently of certify's code, at 50+ digits.

Every instance is returned as a problem specification (a dict for
:func:`certify.problem_from_dict`) whose numbers are the binary64 values the
truth is computed for: all entries are dyadic rationals, built with exact
:class:`fractions.Fraction` arithmetic and checked to be exactly
representable (:func:`exact_doubles`).  The truths use only mpmath
(closed forms, ``mpmath.quad`` + ``mpmath.findroot``, ``mpmath.odefun``,
``mpmath.eigsy``) and never certify's derivatives, series or integrators.

Families:

- :class:`Depth1Instance`, whitened (S1): ``W(t) = Phi + (W0 - Phi) e^{-t}``;
  exact GD iterates ``W_k = Phi + (1 - eta)^k (W0 - Phi)``.
- :class:`Depth1Instance`, square loss: ``W' = -(W Sxx - Syx)``, so
  ``W(t) = W0 E(t) + Syx J(t)`` with ``E = exp(-Sxx t)``,
  ``J = int_0^t exp(-Sxx s) ds``, through mpmath's symmetric eigensolver.
- :class:`DiagonalInstance` (any depth, widths up to 8):
  ``W_j(0) = U_j D_j U_{j-1}^T`` with ``D_j`` (rectangular) diagonal and the
  same entry ``a_k`` in every layer for mode ``k`` (exactly balanced, S2.4),
  ``Phi = U_N diag(phi) U_0^T``.  The ``U_j`` are *dyadic* orthogonal matrices
  (signed permutations times 4x4 Hadamard blocks ``H_4 / 2`` on coordinate
  quadruples), so every stored double is the intended number.  The gradient
  (S2.1) keeps the form ``U_j (diagonal) U_{j-1}^T`` and each mode's scalar
  obeys ``a' = -a^{N-1} (a^N - phi)``; modes ``k >= min(dims)`` are 0 and
  stay 0.  Optionally a square loss with ``Sxx = I`` and ``Syx = Phi``
  (``X`` = rows of the Sylvester-Hadamard matrix ``H_8``, ``Y = Phi X``),
  which has the same flow.

The scalar mode ``a(t)`` (``a0 > 0``, ``phi > 0``) is computed by
:func:`mode_closed_form` (``N = 1``; ``N = 2`` via ``u = a^2``:
``u(t) = phi u0 / (u0 + (phi - u0) e^{-2 phi t})``), :func:`mode_implicit`
(any ``N``: ``t = int_{a0}^{a} dx / (x^{N-1} (phi - x^N))``, the logarithmic
singularity at ``a* = phi^{1/N}`` split off analytically, the rest by
tanh-sinh quadrature without cancellation; solved for ``log|a* - a|`` by
Newton's method) and :func:`mode_odefun` (mpmath's own Taylor integrator).
``tests/test_closed_forms.py`` checks these against each other.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction
from functools import lru_cache
from typing import Sequence

import mpmath
import numpy as np

from hypothesis import strategies as st

__all__ = [
    "Depth1Instance", "DiagonalInstance", "depth1_instances", "diagonal_instances",
    "make_depth1_instance", "make_diagonal_instance",
    "dyadic_orthogonal", "exact_doubles", "mode_closed_form", "mode_implicit", "mode_odefun",
    "to_mpf",
]

H4 = np.array([[1, 1, 1, 1], [1, -1, 1, -1], [1, 1, -1, -1], [1, -1, -1, 1]])


# ---------------------------------------------------------------------------
# exact dyadic helpers
# ---------------------------------------------------------------------------


def to_mpf(x):
    """An int, Fraction, float, decimal string or mpf as an mpf at the current precision."""
    if isinstance(x, mpmath.mpf):
        return +x
    if isinstance(x, str):
        x = Fraction(x)
    if isinstance(x, (int, np.integer)):
        return mpmath.mpf(int(x))
    if isinstance(x, float):
        return mpmath.mpf(x)
    x = Fraction(x)
    return mpmath.mpf(x.numerator) / x.denominator


def exact_doubles(a) -> list:
    """The Fraction matrix ``a`` as nested lists of floats; raises if any entry
    is not exactly a binary64 value (the guarantee the truths rest on)."""
    a = np.asarray(a, dtype=object)
    out = []
    for row in a:
        r = []
        for x in row:
            f = float(x)
            if Fraction(f) != Fraction(x):
                raise AssertionError(f"{x} is not exactly representable as a double")
            r.append(f)
        out.append(r)
    return out


def _fr_matmul(A, B):
    return np.dot(np.asarray(A, dtype=object), np.asarray(B, dtype=object))


def _signed_perm(d: int, rng: np.random.Generator):
    P = np.zeros((d, d), dtype=object)
    P[...] = Fraction(0)
    for i, j in enumerate(rng.permutation(d)):
        P[i, j] = Fraction(int(rng.choice([-1, 1])))
    return P


def dyadic_orthogonal(d: int, rng: np.random.Generator, rounds: int = 2):
    """A ``d x d`` orthogonal matrix with dyadic entries (object array of
    Fractions): signed permutations interleaved with ``H_4 / 2`` blocks on
    random coordinate quadruples (dense for ``d >= 4``; a signed permutation
    for ``d <= 3``, where no other dyadic orthogonal matrices exist)."""
    Q = _signed_perm(d, rng)
    # two blocks on the same quadruple may cancel: add blocks until Q is more
    # than a signed permutation
    done = 0
    while d >= 4 and (done < rounds or all(x == 0 or abs(x) == 1 for x in Q.reshape(-1))):
        done += 1
        idx = rng.choice(d, 4, replace=False)
        B = np.zeros((d, d), dtype=object)
        B[...] = Fraction(0)
        for i in range(d):
            B[i, i] = Fraction(1)
        for r in range(4):
            for c in range(4):
                B[idx[r], idx[c]] = Fraction(int(H4[r, c]), 2)
        Q = _fr_matmul(_fr_matmul(B, Q), _signed_perm(d, rng))
    QtQ = _fr_matmul(Q.T, Q)
    assert all(QtQ[i, j] == (1 if i == j else 0) for i in range(d) for j in range(d))
    return Q


def _rect_diag(rows: int, cols: int, vals: Sequence):
    D = np.zeros((rows, cols), dtype=object)
    D[...] = Fraction(0)
    for k, v in enumerate(vals[: min(rows, cols)]):
        D[k, k] = Fraction(v)
    return D


def _hadamard8():
    H = np.array([[1]])
    for _ in range(3):
        H = np.block([[H, H], [H, -H]])
    return H


def _time(t):
    return to_mpf(t)


# ---------------------------------------------------------------------------
# scalar mode solutions  a' = -a^{N-1} (a^N - phi),  a0 >= 0, phi > 0
# ---------------------------------------------------------------------------


def mode_closed_form(N: int, a0, phi, t):
    """Closed form for ``N = 1`` and ``N = 2`` (at the current mpmath precision)."""
    a0, phi, t = to_mpf(a0), to_mpf(phi), to_mpf(t)
    if N == 1:
        return phi + (a0 - phi) * mpmath.exp(-t)
    if N == 2:
        u0 = a0 * a0
        if u0 == 0:
            return mpmath.mpf(0)
        return mpmath.sqrt(phi * u0 / (u0 + (phi - u0) * mpmath.exp(-2 * phi * t)))
    raise ValueError(f"no closed form for N={N}")


def _smooth_part(N, astar):
    """``h(x) = 1/(x^{N-1}(phi - x^N)) - K/(a* - x)`` as a sum of positive
    terms over ``p(x) p(a*)`` (no cancellation; ``phi = a*^N``)."""
    p_star = N * astar ** (2 * N - 2)

    def h(x):
        # phi - x^N = (a* - x) q(x), q(x) = sum_k x^k a*^{N-1-k}; p(x) = x^{N-1} q(x)
        px = sum(x ** (N - 1 + k) * astar ** (N - 1 - k) for k in range(N))
        # (p(a*) - p(x)) / (a* - x) = sum_k a*^{N-1-k} sum_{l < N-1+k} a*^l x^{N-2+k-l}
        num = mpmath.mpf(0)
        for k in range(N):
            m = N - 1 + k
            num += astar ** (N - 1 - k) * sum(astar**l * x ** (m - 1 - l) for l in range(m))
        return num / (px * p_star)

    return h, 1 / p_star


def mode_implicit(N: int, a0, phi, t):
    """``a(t)`` from ``t = int_{a0}^{a} dx/(x^{N-1}(phi - x^N))`` (quadrature +
    Newton on ``y = log|a* - a|``), at the current mpmath precision."""
    a0, phi, t = to_mpf(a0), to_mpf(phi), to_mpf(t)
    if t == 0 or (a0 == 0 and N >= 2):
        return a0
    astar = mpmath.root(phi, N)
    if a0 == astar:
        return a0
    sigma = 1 if a0 < astar else -1
    h, K = _smooth_part(N, astar)
    L0 = mpmath.log(abs(astar - a0))
    H = lambda a: mpmath.quad(h, [a0, a])

    def F(y):  # time to reach a(y) minus t
        return H(astar - sigma * mpmath.exp(y)) + K * (L0 - y) - t

    def dF(y):
        a = astar - sigma * mpmath.exp(y)
        return -sigma * mpmath.exp(y) * h(a) - K

    y = min(L0, L0 - (t - H(astar)) / K)  # asymptotically exact start
    tol = mpmath.mpf(2) ** (-mpmath.mp.prec + 8)
    for _ in range(200):
        step = F(y) / dF(y)
        y_new = min(y - step, L0)
        if abs(y_new - y) <= tol * (1 + abs(y)):
            y = y_new
            break
        y = y_new
    else:  # pragma: no cover - Newton on a monotone convex-ish function
        raise ArithmeticError("mode_implicit: Newton did not converge")
    return astar - sigma * mpmath.exp(y)


def mode_odefun(N: int, a0, phi, ts: Sequence):
    """``a(t)`` for each ``t`` in ``ts`` by ``mpmath.odefun`` (its own Taylor
    method), at the current mpmath precision; slow (seconds at 50 digits)."""
    a0, phi = to_mpf(a0), to_mpf(phi)
    f = lambda s, y: [-(y[0] ** (N - 1)) * (y[0] ** N - phi)]
    sol = mpmath.odefun(f, 0, [a0], tol=mpmath.mpf(2) ** (-mpmath.mp.prec + 10))
    return [sol(_time(t))[0] for t in ts]


@lru_cache(maxsize=4096)
def _mode_cached(N, a0: Fraction, phi: Fraction, t: Fraction | str, dps: int, method: str):
    with mpmath.workdps(dps):
        if method == "closed":
            return mode_closed_form(N, a0, phi, t)
        if method == "implicit":
            return mode_implicit(N, a0, phi, t)
        if method == "odefun":
            return mode_odefun(N, a0, phi, [t])[0]
    raise ValueError(f"unknown method {method!r}")


def _tkey(t):
    """A hashable exact key for a time (Fraction, or the mpf's exact value)."""
    if isinstance(t, mpmath.mpf):
        man, exp = mpmath.mpf(t).man_exp
        return Fraction(int(man)) * Fraction(2) ** int(exp)
    return Fraction(t) if not isinstance(t, float) else Fraction(t)


# ---------------------------------------------------------------------------
# instances
# ---------------------------------------------------------------------------


@dataclass
class DiagonalInstance:
    """Exactly balanced diagonal instance (see module docstring)."""

    N: int
    dims: tuple
    a0: tuple  # Fractions, one per mode k < r = min(dims)
    phi: tuple  # Fractions, one per mode k < min(d_0, d_N)
    U: list  # dyadic orthogonal d_j x d_j, j = 0..N
    loss: str = "whitened"
    spec: dict = field(default_factory=dict)

    @property
    def r(self) -> int:
        return min(self.dims)

    def default_method(self) -> str:
        return "closed" if self.N <= 2 else "implicit"

    def modes_at(self, t, dps: int = 50, method: str | None = None) -> list:
        """``a_k(t)`` for ``k < r`` (mpf at ``dps`` digits; computed with 20 more)."""
        method = method or self.default_method()
        key = _tkey(t)
        with mpmath.workdps(dps):
            return [+_mode_cached(self.N, a, p, key, dps + 20, method) for a, p in zip(self.a0, self.phi)]

    def weights_at(self, t, dps: int = 50, method: str | None = None) -> list:
        """The weight matrices at time ``t`` (mpmath matrices)."""
        modes = self.modes_at(t, dps, method)
        with mpmath.workdps(dps + 10):
            out = []
            for j in range(self.N):
                rows, cols = self.dims[j + 1], self.dims[j]
                D = mpmath.zeros(rows, cols)
                for k, a in enumerate(modes):
                    D[k, k] = a
                Uj1 = mpmath.matrix([[to_mpf(x) for x in row] for row in self.U[j + 1]])
                Uj = mpmath.matrix([[to_mpf(x) for x in row] for row in self.U[j]])
                out.append(Uj1 * D * Uj.T)
            return out

    def theta_at(self, t, dps: int = 50, method: str | None = None) -> list:
        """``theta(t)`` flattened per S1 (list of mpf, ``dps`` digits)."""
        Ws = self.weights_at(t, dps, method)
        with mpmath.workdps(dps):
            return [+W[r, c] for W in Ws for r in range(W.rows) for c in range(W.cols)]

    def loss_at(self, t, dps: int = 50, method: str | None = None):
        """``f(theta(t)) = 1/2 sum_k (a_k^N - phi_k)^2`` (the constant of the
        square loss is the same: ``tr(Y Y^T)/(2m) = ||Phi||^2/2``)."""
        modes = self.modes_at(t, dps, method)
        with mpmath.workdps(dps + 10):
            s = mpmath.mpf(0)
            for k, p in enumerate(self.phi):
                a = modes[k] if k < len(modes) else mpmath.mpf(0)
                s += (a**self.N - to_mpf(p)) ** 2
            return s / 2

    def gd_theta(self, eta, k: int, dps: int = 50) -> list:
        """Exact-arithmetic GD iterate ``k`` (to ``dps`` digits): each mode
        follows ``a <- a - eta a^{N-1}(a^N - phi)`` (the structure and the
        per-mode balance are preserved exactly by GD too)."""
        with mpmath.workdps(dps + 20):
            e = to_mpf(Fraction(eta))
            modes = []
            for a0, p in zip(self.a0, self.phi):
                a, ph = to_mpf(a0), to_mpf(p)
                for _ in range(k):
                    a = a - e * a ** (self.N - 1) * (a**self.N - ph)
                modes.append(a)
            out = []
            for j in range(self.N):
                rows, cols = self.dims[j + 1], self.dims[j]
                D = mpmath.zeros(rows, cols)
                for i, a in enumerate(modes):
                    D[i, i] = a
                W = mpmath.matrix([[to_mpf(x) for x in row] for row in self.U[j + 1]]) * D * \
                    mpmath.matrix([[to_mpf(x) for x in row] for row in self.U[j]]).T
                out.extend(W[r, c] for r in range(W.rows) for c in range(W.cols))
        with mpmath.workdps(dps):
            return [+x for x in out]


def make_diagonal_instance(dims: Sequence[int], a0: Sequence, phi: Sequence, seed: int,
                           loss: str = "whitened", rounds: int = 2) -> DiagonalInstance:
    """Build a :class:`DiagonalInstance`.  ``a0``: ``min(dims)`` positive
    dyadics; ``phi``: ``min(d_0, d_N)`` positive dyadics; ``seed`` draws the
    orthogonal factors.  ``loss``: ``whitened`` or ``square`` (``d_0 <= 8``)."""
    dims = tuple(int(d) for d in dims)
    N = len(dims) - 1
    r, rphi = min(dims), min(dims[0], dims[-1])
    a0 = tuple(Fraction(x) for x in a0)
    phi = tuple(Fraction(x) for x in phi)
    if len(a0) != r or len(phi) != rphi:
        raise ValueError(f"need {r} initial modes and {rphi} target modes, got {len(a0)}, {len(phi)}")
    if any(a <= 0 for a in a0) or any(p <= 0 for p in phi):
        raise ValueError("modes and targets must be positive")
    rng = np.random.default_rng(seed)
    U = [dyadic_orthogonal(d, rng, rounds) for d in dims]
    Ws = [_fr_matmul(_fr_matmul(U[j + 1], _rect_diag(dims[j + 1], dims[j], a0)), U[j].T) for j in range(N)]
    Phi = _fr_matmul(_fr_matmul(U[N], _rect_diag(dims[N], dims[0], phi)), U[0].T)
    spec = {"dims": list(dims), "init": {"weights": [exact_doubles(W) for W in Ws]}}
    if loss == "whitened":
        spec["loss"] = {"kind": "whitened", "target": exact_doubles(Phi)}
    elif loss == "square":
        if dims[0] > 8:
            raise ValueError("square-loss diagonal instances need d_0 <= 8")
        H = _hadamard8()
        rows = rng.choice(8, dims[0], replace=False)
        X = np.array([[Fraction(int(v)) for v in H[i]] for i in rows], dtype=object)
        Y = _fr_matmul(Phi, X)
        spec["loss"] = {"kind": "square", "X": exact_doubles(X), "Y": exact_doubles(Y)}
    else:
        raise ValueError(f"unknown loss {loss!r}")
    return DiagonalInstance(N, dims, a0, phi, U, loss, spec)


@dataclass
class Depth1Instance:
    """Depth-1 instance, whitened or square loss (see module docstring)."""

    W0: np.ndarray  # Fractions, d1 x d0
    Phi: np.ndarray | None = None  # whitened
    X: np.ndarray | None = None  # square
    Y: np.ndarray | None = None
    spec: dict = field(default_factory=dict)

    @property
    def loss(self) -> str:
        return "whitened" if self.Phi is not None else "square"

    def theta_at(self, t, dps: int = 50) -> list:
        """``W(t)`` flattened row-major (list of mpf)."""
        with mpmath.workdps(dps + 20):
            T = to_mpf(t)
            W0 = mpmath.matrix([[to_mpf(x) for x in row] for row in self.W0])
            if self.Phi is not None:
                Phi = mpmath.matrix([[to_mpf(x) for x in row] for row in self.Phi])
                W = Phi + (W0 - Phi) * mpmath.exp(-T)
            else:
                m = self.X.shape[1]
                Sxx = _fr_matmul(self.X, self.X.T) / m
                Syx = _fr_matmul(self.Y, self.X.T) / m
                S = mpmath.matrix([[to_mpf(x) for x in row] for row in Sxx])
                B = mpmath.matrix([[to_mpf(x) for x in row] for row in Syx])
                lam, Q = mpmath.eigsy(S)
                n = S.rows
                E = mpmath.zeros(n, n)
                J = mpmath.zeros(n, n)
                for i in range(n):
                    E[i, i] = mpmath.exp(-lam[i] * T)
                    # int_0^T e^{-lam s} ds = -expm1(-lam T)/lam (-> T at lam = 0)
                    J[i, i] = T if lam[i] == 0 else -mpmath.expm1(-lam[i] * T) / lam[i]
                W = W0 * (Q * E * Q.T) + B * (Q * J * Q.T)
        with mpmath.workdps(dps):
            return [+W[r, c] for r in range(W.rows) for c in range(W.cols)]

    def gd_theta(self, eta, k: int) -> list:
        """Exact GD iterate ``W_k = Phi + (1 - eta)^k (W0 - Phi)`` (whitened;
        Fractions, ``eta`` taken exactly)."""
        if self.Phi is None:
            raise ValueError("the GD closed form is for the whitened loss")
        c = (1 - Fraction(eta)) ** k
        W = self.Phi + (self.W0 - self.Phi) * c
        return [x for row in W for x in row]


def make_depth1_instance(d0: int, d1: int, seed: int, loss: str = "whitened", m: int = 3,
                         denominator: int = 16) -> Depth1Instance:
    """Random dyadic depth-1 instance (entries ``k / denominator``, ``|k| <= 2 denominator``)."""
    rng = np.random.default_rng(seed)
    q = Fraction(1, denominator)
    draw = lambda r, c: np.array([[q * int(v) for v in row] for row in rng.integers(-2 * denominator, 2 * denominator + 1, (r, c))], dtype=object)
    W0 = draw(d1, d0)
    spec = {"dims": [d0, d1], "init": {"weights": [exact_doubles(W0)]}}
    if loss == "whitened":
        Phi = draw(d1, d0)
        spec["loss"] = {"kind": "whitened", "target": exact_doubles(Phi)}
        return Depth1Instance(W0, Phi=Phi, spec=spec)
    X, Y = draw(d0, m), draw(d1, m)
    spec["loss"] = {"kind": "square", "X": exact_doubles(X), "Y": exact_doubles(Y)}
    return Depth1Instance(W0, X=X, Y=Y, spec=spec)


# ---------------------------------------------------------------------------
# hypothesis strategies (integers only: shrinking gives readable instances)
# ---------------------------------------------------------------------------


@st.composite
def diagonal_instances(draw, *, min_depth: int = 1, max_depth: int = 5, max_width: int = 8,
                       losses=("whitened", "square"), max_mode: int = 20, min_mode: int = 4,
                       rectangular: bool = True):
    """:class:`DiagonalInstance` values: modes ``a0 = k/16`` with
    ``min_mode <= k <= max_mode``, targets ``phi = k/16``, ``8 <= k <= 24``."""
    N = draw(st.integers(min_depth, max_depth))
    if rectangular:
        dims = draw(st.lists(st.integers(1, max_width), min_size=N + 1, max_size=N + 1))
    else:
        dims = [draw(st.integers(1, max_width))] * (N + 1)
    r, rphi = min(dims), min(dims[0], dims[-1])
    a0 = [Fraction(k, 16) for k in draw(st.lists(st.integers(min_mode, max_mode), min_size=r, max_size=r))]
    phi = [Fraction(k, 16) for k in draw(st.lists(st.integers(8, 24), min_size=rphi, max_size=rphi))]
    loss = draw(st.sampled_from(tuple(losses)))
    seed = draw(st.integers(0, 2**32 - 1))
    return make_diagonal_instance(dims, a0, phi, seed, loss)


@st.composite
def depth1_instances(draw, *, max_width: int = 8, losses=("whitened", "square")):
    d0, d1 = draw(st.integers(1, max_width)), draw(st.integers(1, max_width))
    loss = draw(st.sampled_from(tuple(losses)))
    return make_depth1_instance(d0, d1, draw(st.integers(0, 2**32 - 1)), loss, m=draw(st.integers(1, 5)))
