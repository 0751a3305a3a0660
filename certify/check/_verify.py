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

A claim that is not confirmed is reported to the check's tally
(:meth:`certify.check._report.Tally.fail`, naming the claim by its JSON path)
and the check goes on; :class:`Invalid` stops it where going on is
meaningless (the certificate's structure: which steps, blocks, checkpoints
and evaluations there are).

:class:`Loss`, :func:`gd_block` and :func:`strict_rounds` live in
:mod:`._gdstep` and are re-exported here.
"""

from __future__ import annotations

import math
import re
from fractions import Fraction

import numpy as np

from .._errors import CertificateError
from . import _arith as A
from ._gdstep import Loss, gd_block, strict_rounds  # noqa: F401  (re-exported: the checker's GD kernel)

BAND = 3e-11


class Invalid(Exception):
    """A claim that the checker cannot confirm and after which it cannot go on
    (the certificate's structure; exit code 1)."""


# ---------------------------------------------------------------------------
# small helpers
# ---------------------------------------------------------------------------


def truth(where: str, claim: float, bound: float, tally) -> None:
    """The claim is an upper bound at least the checker's own rigorous bound."""
    tally.n += 1
    if not (bound <= claim):
        tally.fail(f"{where}: claimed {claim!r} < certified {bound!r}")


def consistent_up(where: str, claim: float, x: float, tally) -> None:
    """Derived upper bound: ``x <= claim <= up12(x)(1 + 3e-11)``."""
    tally.n += 1
    if not (x <= claim):
        tally.fail(f"{where}: claimed {claim!r} < replayed {x!r}")
        return
    # up12(x (1 + 1e-10)) <= x (1 + 1e-10)(1 + 1e-11): one unit in the 12th digit
    top = x * (1.0 + 1.0e-10 + 1.0e-11 + BAND) + 2.0**-1070
    if not (claim <= top):
        tally.fail(f"{where}: claimed {claim!r} is inconsistent with the replayed value {x!r}")


def consistent_down(where: str, claim: float, x: float, tally) -> None:
    tally.n += 1
    if not (claim <= x):
        tally.fail(f"{where}: claimed {claim!r} > certified {x!r}")
        return
    bot = x * (1.0 - 1.0e-10 - 1.0e-11 - BAND) - 2.0**-1070 if x > 0 else 0.0
    if not (claim >= bot):
        tally.fail(f"{where}: claimed {claim!r} is inconsistent with the replayed value {x!r}")


def dist_bounds(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """Rigorous ``(lo, hi)`` of ``||a - b||_2`` (float vectors taken as exact):
    ``|d_i| = |fl(d_i)| / |1 + e_i|`` with ``|e_i| <= u``, the sum of squares
    within ``gamma_{n+1}`` plus the squares' underflow; the two ends separately
    (no square root of a negative number)."""
    from flint import arb

    d = a - b
    n = d.size
    S = arb(float(d @ d)) * arb(1, A.gamma(n + 1)) + arb(0, n * 2.0**-1070)
    d_hi = A.hi(arb(A.hi(S)).sqrt() / (1 - arb(A.U)))
    d_lo = max(0.0, A.lo(arb(max(0.0, A.lo(S))).sqrt() / (1 + arb(A.U))))
    return d_lo, d_hi


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


def widen_u(sig: dict, moved: dict, un: dict) -> dict:
    """``||Z_{b:1} u||`` bounds over the moving base set: each grows by what the
    product ``(b, 1)`` grew (``||Z u - Z_0 u|| <= ||Z - Z_0||_2``, ``||u|| <= 1``)."""
    return {b: v + (moved[(b, 1)] - sig[(b, 1)]) for b, v in un.items()}


def weighted_norms(Ws, G, N: int) -> dict:
    """S3.1-G (gap-v2.md section 2): ``>= ||W_{N:j+1}^T G W_{i-1:1}^T||_2`` at the
    float point ``Ws`` for every ``1 <= i < j <= N`` but ``(1, N)``, from the
    checker's own ball products; ``G = (Gm, Gr)`` its ball of the exact ``G``.
    Each matrix is multiplied from the ``G`` side (``B^T (A^T G)`` is never formed
    twice: the order of the products is free, every product is an enclosure)."""
    Gm, Gr = G
    out = {}
    for j in range(2, N + 1):
        L, Lr = Gm, Gr  # W_{N:j+1}^T G
        for l in range(N - 1, j - 1, -1):
            L, Lr = A.mm(Ws[l].T, None, L, Lr)
        R, Rr = L, Lr  # ... times W_{i-1:1}^T, i = 1, 2, ...
        for i in range(1, j):
            if i > 1:
                R, Rr = A.mm(R, Rr, Ws[i - 2].T, None)
            if (i, j) != (1, N):
                out[(i, j)] = A.spec2_up(R, Rr)
    return out


def weighted_claims(ref: dict, where: str, N: int, own: dict, tally) -> dict | None:
    """The reference's claimed ``gw_norm2`` rows ``[i, j, value]`` (S3.1-G), each
    against the checker's own bound ``own``; ``None`` when not claimed."""
    if "gw_norm2" not in ref:
        return None
    rows = field(ref, "gw_norm2", where, list)
    out = {}
    for m_i, row in enumerate(rows):
        if not isinstance(row, list) or len(row) != 3:
            raise CertificateError(f"{where}.gw_norm2[{m_i}]: expected [i, j, value]")
        i, j, v = row
        if (i, j) not in own or (i, j) in out:
            raise Invalid(f"{where}.gw_norm2[{m_i}]: unexpected pair ({i}, {j})")
        out[(i, j)] = num({"x": v}, "x", f"{where}.gw_norm2[{m_i}]")
        truth(f"{where}.gw_norm2[{m_i}][2]", out[(i, j)], own[(i, j)], tally)
    if set(out) != set(own):
        raise Invalid(f"{where}.gw_norm2: missing pairs {sorted(set(own) - set(out))}")
    return out


def tube(sig: dict, x, N: int, *, s_G=None, c=None, s_r=None, un=None, gw=None):
    """S3.1 pieces on the points within ``x[l]`` of a base set with norm bounds
    ``sig`` (1-based ``(b, a)``, ``(l, l)`` the layers): ``(lamC, dE, a2, gn)`` with
    ``lamC >= lambda_max(C)`` (float), ``dE = prod(nu + x) - prod nu``,
    ``a2 = sum_j (||Z_{N:j+1}||_2 ||Z_{j-1:1}||_2)^2`` (arb) and, given a data
    split (``c``, ``s_r``, ``un[b] >= ||Z_{b:1} u||`` on the base set), the
    data-weighted Gauss-Newton bound ``gn`` (gap-v2.md section 2, S3.4-data),
    else ``None``.  ``gw = (w, g0, sig0)``: S3.1-G's weighted norms ``w[(i, j)]``,
    ``||G||_2`` and the norms ``sig0`` at the base set's origin; then a sixth
    part ``(C, D)`` (the matrix is ``g_t C + D``, see :func:`mu_beta`)."""
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
    CD = None
    if N > 1:
        C = [[arb(0)] * N for _ in range(N)]
        for i in range(1, N + 1):
            for j in range(i + 1, N + 1):
                C[i - 1][j - 1] = C[j - 1][i - 1] = pn(N, j + 1) * pn(j - 1, i + 1) * pn(i - 1, 1)
        lam = lam_upper(C)
        if gw is not None:
            # ||A^T G B^T|| <= w + pn(A) g_t pn(B) - s0(A) g0 s0(B) on the tube (expanded around
            # the origin), times pn(M): the entry is g_t C_ij + D_ij, D_ij = min(0, w - s0 g0 s0) pn(M)
            w, g0, s0 = gw
            one = lambda b, a: arb(1) if b < a else arb(s0[(b, a)])
            D = [[arb(0)] * N for _ in range(N)]
            for (i, j), v in w.items():
                d = arb(v) - one(N, j + 1) * arb(g0) * one(i - 1, 1)
                if A.hi(d) < 0:
                    D[i - 1][j - 1] = D[j - 1][i - 1] = d * pn(j - 1, i + 1)
            CD = (C, D, {})  # the last: lambda_max(g_t C + D) by g (one per block, see mu_beta)
    a2 = arb(0)
    for j in range(1, N + 1):
        aj = pn(N, j + 1) * pn(j - 1, 1)
        a2 += aj * aj
    gn = None
    if un is not None:
        sG, cc, sr = arb(s_G), arb(c), arb(s_r)
        gn = pn(N, 2) ** 2 * sG
        for j in range(2, N + 1):
            b2 = pn(j - 1, 1) ** 2
            v = un[j - 1] + (pn(j - 1, 1) - sig[(j - 1, 1)])  # ||Z_{j-1:1} u|| on the tube
            w, plain = cc * v * v + sr * b2, sG * b2
            gn += pn(N, j + 1) ** 2 * (w if A.hi(w) < A.hi(plain) else plain)
    return (lam, dE, a2, gn) if CD is None else (lam, dE, a2, gn, CD)


def mu_beta(parts, g, s_G: float, N: int, gdiff=None) -> tuple[float, float]:
    """``(mu, beta)`` upper floats from :func:`tube` parts and ``g >= ||G||_2`` on
    the base set: ``mu = (g + s_G dE) lamC`` (0 when N = 1), ``beta = s_G a2 + mu``.
    With S3.1-G parts, ``g - g0`` must bound ``G``'s motion from the origin and
    ``mu = lambda_max(g_t C + D)`` (``g_t = g + s_G dE``), the smaller of the two;
    ``gdiff`` (a further motion of ``G``, as at a GD iterate of a block) then adds
    ``gdiff lamC`` (Weyl: ``lambda_max`` is subadditive on symmetric matrices), so
    that one ``lambda_max`` serves a whole block."""
    from flint import arb

    lam, dE, a2, gn = parts[:4]
    hl = arb(s_G) * a2 if gn is None else gn  # the Hl part: S3.1, or data-weighted (S3.4-data)
    if N == 1:  # f is convex
        return 0.0, A.hi(hl)
    g_t = arb(g) + arb(s_G) * dE
    mu = g_t * arb(lam)
    if len(parts) > 4:
        C, D, memo = parts[4]
        key = (A.lo(g_t), A.hi(g_t))
        if key not in memo:
            memo[key] = arb(lam_upper([[g_t * C[a][b] + D[a][b] for b in range(N)] for a in range(N)]))
        w = memo[key]
        if A.hi(w) < A.hi(mu):
            mu = w
    if gdiff is not None:
        mu = mu + arb(gdiff) * arb(lam)
    return A.hi(mu), A.hi(hl + mu)
