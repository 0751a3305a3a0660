"""Re-verification of a ``certify/gap-v2`` certificate (certify/schemas/gap-v2.md).

Everything here is the checker's own code: it shares only the problem loader
with the producer.  Each claim is confirmed in one of two ways:

- *truth side*: the checker derives its own rigorous bound ``b`` (own
  float mid-rad arithmetic, ``arb`` scalars) and requires ``b <= claim``
  (``round``, ``dnorm``, reference norms, drifts, flow ``delta``, ``mu``,
  ``jump``, evaluation radii);
- *consistency*: a derived value (recursions, block tube constants, Gronwall
  radii, checkpoint bounds) is recomputed from the claimed inputs and must
  satisfy ``x <= claim <= up12(x (1 + 1e-10)) (1 + 3e-11)`` for upper bounds,
  mirrored for lower bounds: the claim is both true and the one the contract
  defines, so tightening or loosening it is caught.

The first failure raises :class:`Invalid` naming the claim.
"""

from __future__ import annotations

import math
import re
from fractions import Fraction

import numpy as np

from .._errors import CertificateError
from . import _arith as A

BAND = 3e-11


class Invalid(Exception):
    """A claim that the checker cannot confirm (exit code 1)."""


# ---------------------------------------------------------------------------
# small helpers
# ---------------------------------------------------------------------------


def truth(where: str, claim: float, bound: float, stats) -> None:
    """The claim is an upper bound at least the checker's own rigorous bound."""
    stats[0] += 1
    if not (bound <= claim):
        raise Invalid(f"{where}: claimed {claim!r} < certified {bound!r}")


def consistent_up(where: str, claim: float, x: float, stats) -> None:
    """Derived upper bound: ``x <= claim <= up12(x)(1 + 3e-11)``."""
    stats[0] += 1
    if not (x <= claim):
        raise Invalid(f"{where}: claimed {claim!r} < replayed {x!r}")
    # up12(x (1 + 1e-10)) <= x (1 + 1e-10)(1 + 1e-11): one unit in the 12th digit
    top = x * (1.0 + 1.0e-10 + 1.0e-11 + BAND) + 2.0**-1070
    if not (claim <= top):
        raise Invalid(f"{where}: claimed {claim!r} is inconsistent with the replayed value {x!r}")


def consistent_down(where: str, claim: float, x: float, stats) -> None:
    stats[0] += 1
    if not (claim <= x):
        raise Invalid(f"{where}: claimed {claim!r} > certified {x!r}")
    bot = x * (1.0 - 1.0e-10 - 1.0e-11 - BAND) - 2.0**-1070 if x > 0 else 0.0
    if not (claim >= bot):
        raise Invalid(f"{where}: claimed {claim!r} is inconsistent with the replayed value {x!r}")


_FRAC = re.compile(r"^-?\d+(/\d+)?$")


def frac(s, where: str) -> Fraction:
    if not isinstance(s, str) or not _FRAC.match(s):
        raise CertificateError(f"{where}: expected an exact rational 'p/q', got {s!r}")
    num_, _, den = s.partition("/")
    if den and int(den) == 0:
        raise CertificateError(f"{where}: zero denominator in {s!r}")
    return Fraction(s)


def num(d: dict, key: str, where: str, *, nonneg: bool = True) -> float:
    if key not in d:
        raise CertificateError(f"{where}: missing field '{key}'")
    v = d[key]
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise CertificateError(f"{where}.{key}: expected a number, got {v!r}")
    try:
        v = float(v)
    except OverflowError as e:
        raise CertificateError(f"{where}.{key}: number beyond binary64") from e
    if not math.isfinite(v) or (nonneg and v < 0):
        raise CertificateError(f"{where}.{key}: expected a finite {'nonnegative ' if nonneg else ''}number, got {v!r}")
    return v


def integer(d: dict, key: str, where: str, lo: int = 0) -> int:
    v = d.get(key)
    if isinstance(v, bool) or not isinstance(v, int) or v < lo:
        raise CertificateError(f"{where}.{key}: expected an integer >= {lo}, got {v!r}")
    return v


def field(d, key, where, typ):
    if not isinstance(d, dict) or key not in d:
        raise CertificateError(f"{where}: missing field '{key}'")
    v = d[key]
    if not isinstance(v, typ):
        raise CertificateError(f"{where}.{key}: expected {typ.__name__ if isinstance(typ, type) else typ}")
    return v


def hexvec(lst, n: int, where: str) -> np.ndarray:
    if not isinstance(lst, list) or len(lst) != n:
        raise CertificateError(f"{where}: expected a list of {n} hex floats")
    try:
        v = np.array([float.fromhex(s) for s in lst])
    except (TypeError, ValueError) as e:
        raise CertificateError(f"{where}: not a hex float ({e})") from e
    if not np.all(np.isfinite(v)):
        raise CertificateError(f"{where}: non-finite value")
    return v


# ---------------------------------------------------------------------------
# the float GD step and its rounding bound (sections 1, 2)
# ---------------------------------------------------------------------------


class Loss:
    """The problem's loss for the checker: float data (as the contract says)
    and entrywise enclosures of the exact statistics."""

    def __init__(self, problem):
        from .._problem import SquareLoss

        self.square = isinstance(problem.loss, SquareLoss)
        if self.square:
            Sxx_f, Syx_f, _ = problem.loss.float_stats
            eSxx, eSyx, _ = problem.loss.exact_stats
            self.Sxx_f, self.Syx_f = Sxx_f, Syx_f
            m, self.Esxx = A.exact_enclosure(eSxx)
            m2, self.Esyx = A.exact_enclosure(eSyx)
            if not (np.array_equal(m, Sxx_f) and np.array_equal(m2, Syx_f)):
                raise CertificateError("problem: inconsistent data statistics")
            self.sxx_norm2 = A.spec2_up(Sxx_f, self.Esxx)
            # ||Sxx_f||_F and ||Sxx_f - Sxx||_F, ||Syx_f - Syx||_F (entrywise radii) upper
            self.n_sxx = A.fro_up(Sxx_f)
            self.e_sxx = 0.0 if self.Esxx is None else A.fro_up(self.Esxx)
            self.e_syx = 0.0 if self.Esyx is None else A.fro_up(self.Esyx)
        else:
            self.Phi = np.asarray(problem.loss.target, dtype=np.float64)

    def G_ball(self, P, Pr):
        """Enclosure of the exact ``grad l`` at the exact product ``P`` (in the ball)."""
        if self.square:
            Am, Ar = A.mm(P, Pr, self.Sxx_f, self.Esxx)
            return A.addsub(Am, Ar, self.Syx_f, self.Esyx, -1)
        return A.addsub(P, Pr, self.Phi, None, -1)


def gd_block(Ws, eta, loss, N: int, nsteps: int):
    """``nsteps`` float GD steps exactly as section 1 prescribes, then the
    checker's own bounds for all of them at once (batched over the steps).

    Returns ``(iterates, new, rounds, steps, drifts, gdiffs)``: the iterates at
    the start of each step, the iterate after the last, per step an upper bound
    of ``||theta^_{k+1} - (theta^_k - eta grad f(theta^_k))||`` (exact gradient,
    exact eta; the checker's own norm-wise a-priori bounds of section 2, batched
    over the steps), per step and
    layer upper bounds of ``||W^_l(k+1) - W^_l(k)||`` and of the drift
    ``||W^_l(k) - W^_l(block start)||``, and per step an upper bound of
    ``||G(theta^_k) - G(theta^_start)||_F`` (exact G at both float iterates)."""
    shapes = [w.shape for w in Ws]
    d0, dN = shapes[0][1], shapes[-1][0]
    # per-step records, preallocated (index t = step); P[j] is W_j..W_1, S[j] is W_N..W_j
    W = [np.empty((nsteps,) + sh) for sh in shapes]
    P = [W[0]] + [np.empty((nsteps, shapes[j][0], d0)) for j in range(1, N)]
    S = [np.empty((nsteps, dN, shapes[j][1])) for j in range(N - 1)] + [W[N - 1]]
    G = np.empty((nsteps, dN, d0))
    Q = [np.empty((nsteps, shapes[j + 1][1], d0)) for j in range(N - 1)] + [G]
    sg = [np.empty((nsteps,) + sh) for sh in shapes]
    new = [np.empty((nsteps,) + sh) for sh in shapes]
    its = []
    for t in range(nsteps):
        its.append(Ws)
        for j in range(N):
            W[j][t] = Ws[j]
        Pt = [Ws[0]]
        for j in range(1, N):
            Pt.append(Ws[j] @ Pt[-1])
            P[j][t] = Pt[-1]
        St = [None] * N
        St[N - 1] = Ws[N - 1]
        for j in range(N - 2, -1, -1):
            St[j] = St[j + 1] @ Ws[j]
            S[j][t] = St[j]
        if loss.square:
            Gt = (Pt[-1] @ loss.Sxx_f) - loss.Syx_f
        else:
            Gt = Pt[-1] - loss.Phi
        G[t] = Gt
        Qt = [St[j + 1].T @ Gt if j < N - 1 else Gt for j in range(N)]
        for j in range(N - 1):
            Q[j][t] = Qt[j]
        gt = [Qt[j] @ Pt[j - 1].T if j > 0 else Qt[j] for j in range(N)]
        sgt = [eta * x for x in gt]
        nw = [w_ - x for w_, x in zip(Ws, sgt)]
        for j in range(N):
            sg[j][t] = sgt[j]
            new[j][t] = nw[j]
        Ws = nw
    # ---- own norm-wise a-priori bounds (section 2, S4.6; exact W, exact eta), batched ----
    # E(X) >= ||X^ - X||_F per step (vectors over the steps), from the Frobenius
    # norms of the computed arrays: for C^ = fl(A^ B^), inner dimension k,
    # E(C) <= E(A)(||B^|| + E(B)) + ||A^|| E(B) + gamma_k ||A^|| ||B^|| + uf;
    # each expression has at most 8 roundings on any path (infl(., 10)).
    infl, gam, U = A.infl, A.gamma, A.U
    nrm = _fro_rows  # >= ||X_t||_F per slice (scale-aware)
    nW = [nrm(w) for w in W]
    nP = [nW[0]] + [nrm(P[j]) for j in range(1, N)]
    nS = [nrm(S[j]) for j in range(N - 1)] + [nW[N - 1]]
    nG = nrm(G)
    zero = np.zeros(nsteps)

    def prod_err(eA, nA, eB, nB, k, size):
        return infl(eA * (nB + eB) + nA * eB + gam(k) * nA * nB + _uf(k, size), 10)

    EP = [zero]
    for j in range(1, N):
        EP.append(prod_err(zero, nW[j], EP[-1], nP[j - 1], W[j].shape[2], P[j][0].size))
    ES = [None] * N
    ES[N - 1] = zero
    for j in range(N - 2, -1, -1):
        ES[j] = prod_err(ES[j + 1], nS[j + 1], zero, nW[j], W[j].shape[1], S[j][0].size)
    if loss.square:
        k = loss.Sxx_f.shape[0]
        EA = prod_err(EP[-1], nP[-1], loss.e_sxx, loss.n_sxx, k, G[0].size)
        EG = infl(EA + loss.e_syx + U * nG, 4)
    else:
        EG = infl(EP[-1] + U * nG, 3)
    # ||G(k) - G(start)||_F <= ||fl(G^_k - G^_0)|| (1 + 2u) + E(G)_k + E(G)_0
    gdiffs = infl(_fro_rows(G - G[0]) + EG + EG[0], 3)
    ss = np.zeros(nsteps)
    for j in range(N):
        if j < N - 1:
            EQ = prod_err(ES[j + 1], nS[j + 1], EG, nG, G.shape[1], Q[j][0].size)
        else:
            EQ = EG
        if j > 0:
            nQ = nG if j == N - 1 else nrm(Q[j])
            Eg = prod_err(EQ, nQ, EP[j - 1], nP[j - 1], Q[j].shape[2], sg[j][0].size)
        else:
            Eg = EQ
        # ||W'^ - (W - eta g)|| <= u ||W'^|| + eta E(g) + u ||fl(eta g^)|| + sqrt(mn) 2^-1073
        rj = infl(U * nrm(new[j]) + eta * Eg + U * nrm(sg[j]) + _uf(1, sg[j][0].size), 6)
        ss = ss + rj * rj
    rounds = np.nextafter(np.sqrt(infl(ss, 2 * N + 2)), np.inf)
    steps = np.stack([_fro_rows(new[j] - W[j]) for j in range(N)], axis=1)
    drifts = np.stack([_fro_rows(W[j] - W[j][0]) for j in range(N)], axis=1)
    return its, Ws, rounds, steps, drifts, gdiffs


def _uf(k: int, size: int) -> float:
    """``>= k sqrt(size) 2^-1073`` (the underflow allowance of a product with
    inner dimension ``k``), exact: an integer times 2^-1073 is a double."""
    return math.ldexp(float(math.ceil(k * math.sqrt(size) * (1.0 + 1e-12))), -1073)


def _fro_rows(D) -> np.ndarray:
    """Per-slice upper bounds of ``||a - b||_F`` given ``D = fl(a - b)``
    (scale-aware: :func:`certify.check._arith.fro_diff_rows_up`)."""
    return A.fro_diff_rows_up(D)


# ---------------------------------------------------------------------------
# S3.1 on a set of layers within d_l of a reference (section 2)
# ---------------------------------------------------------------------------


def lam_upper(C) -> float:
    """``>= lambda_max(C)`` for a symmetric nonnegative arb matrix: the largest
    row sum, or Collatz-Wielandt ``max_i (Cx)_i / x_i`` with the midpoint's
    Perron vector (any ``x > 0``), the smaller."""
    from flint import arb

    N = len(C)
    lam = max(A.hi(sum(C[i], arb(0))) for i in range(N))
    Cmid = np.array([[float(c.mid()) for c in row] for row in C])
    if not np.all(np.isfinite(Cmid)):
        return lam
    try:
        _, Vec = np.linalg.eigh(Cmid)
    except np.linalg.LinAlgError:
        return lam
    x = np.abs(Vec[:, -1])
    if not np.all(x > 0):
        return lam
    cw = 0.0
    for i in range(N):
        s = arb(0)
        for k in range(N):
            s += C[i][k] * arb(float(x[k]))
        cw = max(cw, A.hi(s / arb(float(x[i]))))
    return min(lam, cw)


def widen(sig: dict, motion, prod_motion=None) -> dict:
    """Norm bounds over a moving base set (section 2, S3.3): layer ``l`` moves by
    ``motion[l]``; product ``(b, a)`` by ``prod_motion[(b, a)]`` when given (the
    smaller of that and ``prod(n + m) - prod n``)."""
    from flint import arb

    m = [arb(x) if isinstance(x, float) else x for x in motion]
    out = {}
    for (b, a), v in sig.items():
        up_p, lo_p = arb(1), arb(1)
        for l in range(a - 1, b):
            up_p *= sig[(l + 1, l + 1)] + m[l]
            lo_p *= sig[(l + 1, l + 1)]
        w = up_p - lo_p
        if prod_motion is not None and a < b and (b, a) in prod_motion:
            own = arb(prod_motion[(b, a)])
            if A.hi(own) < A.hi(w):
                w = own
        out[(b, a)] = v + w
    return out


def tube(sig: dict, x, N: int):
    """S3.1 pieces on the points within ``x[l]`` of a base set with norm bounds
    ``sig`` (1-based ``(b, a)``, ``(l, l)`` the layers): ``(lamC, dE, a2)`` with
    ``lamC >= lambda_max(C)`` (float), ``dE = prod(nu + x) - prod nu`` and
    ``a2 = sum_j (||Z_{N:j+1}||_2 ||Z_{j-1:1}||_2)^2`` (arb)."""
    from flint import arb

    X = [arb(v) if isinstance(v, float) else v for v in x]
    nu = [sig[(l, l)] for l in range(1, N + 1)]
    memo = {}

    def pn(b, a):
        if b < a:
            return arb(1)
        if (b, a) not in memo:
            up_p, lo_p = arb(1), arb(1)
            for l in range(a - 1, b):
                up_p *= nu[l] + X[l]
                lo_p *= nu[l]
            memo[(b, a)] = sig[(b, a)] + (up_p - lo_p)
        return memo[(b, a)]

    up_p, lo_p = arb(1), arb(1)
    for l in range(N):
        up_p *= nu[l] + X[l]
        lo_p *= nu[l]
    dE = up_p - lo_p
    lam = 0.0
    if N > 1:
        C = [[arb(0)] * N for _ in range(N)]
        for i in range(1, N + 1):
            for j in range(i + 1, N + 1):
                C[i - 1][j - 1] = C[j - 1][i - 1] = pn(N, j + 1) * pn(j - 1, i + 1) * pn(i - 1, 1)
        lam = lam_upper(C)
    a2 = arb(0)
    for j in range(1, N + 1):
        aj = pn(N, j + 1) * pn(j - 1, 1)
        a2 += aj * aj
    return lam, dE, a2


def mu_beta(parts, g, s_G: float, N: int) -> tuple[float, float]:
    """``(mu, beta)`` upper floats from :func:`tube` parts and ``g >= ||G||_2`` on
    the base set: ``mu = (g + s_G dE) lamC`` (0 when N = 1), ``beta = s_G a2 + mu``."""
    from flint import arb

    lam, dE, a2 = parts
    if N == 1:  # f is convex
        return 0.0, A.hi(arb(s_G) * a2)
    mu = (arb(g) + arb(s_G) * dE) * arb(lam)
    return A.hi(mu), A.hi(arb(s_G) * a2 + mu)


def strict_rounds(its, news, eta, loss, problem, N: int, prec: int = 256) -> np.ndarray:
    """``--strict``: the exact GD step at each float iterate enclosed in Arb
    balls at the current precision (python-flint ``arb_mat``; inputs are exact
    doubles and exact rational statistics), and ``round`` bounded by
    ``||W'^ - enclosure||`` taken entrywise at the ball's far end (``prec`` bits)."""
    from flint import ctx

    old = ctx.prec
    ctx.prec = max(prec, old)
    try:
        return _strict_rounds(its, news, eta, loss, problem, N)
    finally:
        ctx.prec = old


def _strict_rounds(its, news, eta, loss, problem, N: int) -> np.ndarray:
    from flint import arb, arb_mat

    if loss.square:
        eSxx, eSyx, _ = problem.loss.exact_stats
        Sxx, Syx = arb_mat(eSxx), arb_mat(eSyx)
    else:
        Phi = arb_mat(loss.Phi.tolist())
    E = arb(eta)
    out = np.empty(len(its))
    for t, (Ws, new) in enumerate(zip(its, news)):
        B = [arb_mat(w.tolist()) for w in Ws]
        P = [B[0]]
        for j in range(1, N):
            P.append(B[j] * P[-1])
        S = [None] * N
        S[N - 1] = B[N - 1]
        for j in range(N - 2, -1, -1):
            S[j] = S[j + 1] * B[j]
        G = P[-1] * Sxx - Syx if loss.square else P[-1] - Phi
        s = arb(0)
        for j in range(N):
            Q = S[j + 1].transpose() * G if j < N - 1 else G
            g = Q * P[j - 1].transpose() if j > 0 else Q
            D = arb_mat(new[j].tolist()) - (B[j] - g * E)
            for x in D.entries():
                a = abs(x).upper()
                s += a * a
        out[t] = A.hi(s.sqrt())
    return out
