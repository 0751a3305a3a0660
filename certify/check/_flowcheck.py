"""The checker's verification of the GF enclosure (schemas/gap-v2.md, section 4).

For each flow step the checker rebuilds the float candidate through its own
center (the op order the contract prescribes, so that centers agree bit for
bit on the same machine), then bounds, with its own Taylor models in float
mid-rad arithmetic, the defect ``sup ||y' + grad f(y)||`` (compared with the
claimed ``delta``), the S3.1 curvature on the tube (claimed ``mu``), the
re-centering error (claimed ``jump``), and at evaluation times the distance
of ``y`` to the stored GF center (claimed ``radius``).
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from . import _arith as A


# ---------------------------------------------------------------------------
# the float candidate (contract section 4: the recursion of certify/_series.py)
# ---------------------------------------------------------------------------


def _cauchy(a, b, i):
    return np.matmul(a[: i + 1], b[i::-1]).sum(axis=0)


def candidate(W0, p: int, loss):
    """Taylor coefficients ``a[j]`` (array ``(p+1, m, n)``) of GF through ``W0``:
    ``a_{i+1} = -grad_i / (i+1)`` with the gradient series by Cauchy products
    (prefix ``P``, suffix ``S``, ``G``, ``Q = G P^T``, ``grad = S^T Q``)."""
    N = len(W0)
    cap = p + 2
    st = lambda shape: np.empty((cap,) + shape)
    W = [st(w.shape) for w in W0]
    P = [st((W0[j].shape[0], W0[0].shape[1])) for j in range(N)]
    PT = [st((W0[0].shape[1], W0[j].shape[0])) for j in range(N)]
    S = [st((W0[N - 1].shape[0], W0[j].shape[1])) for j in range(N)]
    ST = [st((W0[j].shape[1], W0[N - 1].shape[0])) for j in range(N)]
    G = st((W0[N - 1].shape[0], W0[0].shape[1]))
    Q = [st((W0[N - 1].shape[0], W0[j - 1].shape[0] if j else W0[0].shape[1])) for j in range(N)]
    for j in range(N):
        W[j][0] = W0[j]
    series = loss.kernel.float_series() if loss.kernel is not None else None  # section 8: the loss's gradient series
    for i in range(p):
        P[0][i] = W[0][i]
        for j in range(1, N):
            P[j][i] = _cauchy(W[j], P[j - 1], i)
        for j in range(N):
            PT[j][i] = P[j][i].T
        S[N - 1][i] = W[N - 1][i]
        for j in range(N - 2, -1, -1):
            S[j][i] = _cauchy(S[j + 1], W[j], i)
        for j in range(N):
            ST[j][i] = S[j][i].T
        if series is not None:
            G[i] = series.push(P[N - 1][i])
        elif loss.square:
            G[i] = (P[N - 1][0] @ loss.Sxx_f - loss.Syx_f) if i == 0 else P[N - 1][i] @ loss.Sxx_f
        else:
            G[i] = (P[N - 1][0] - loss.Phi) if i == 0 else P[N - 1][i]
        for j in range(N):
            q = G[i] if j == 0 else _cauchy(G, PT[j - 1], i)
            Q[j][i] = q
            g = q if j == N - 1 else _cauchy(ST[j + 1], Q[j], i)
            W[j][i + 1] = (-g) / (i + 1)
    return [w[: p + 1] for w in W]


# ---------------------------------------------------------------------------
# Taylor models: coefficients 0..q enclosed (mid, rad), remainder bound on [0, h]
# ---------------------------------------------------------------------------


class TM:
    __slots__ = ("m", "r", "rem", "_alpha")

    def __init__(self, m, r, rem):
        self.m, self.r, self.rem = m, r, rem
        self._alpha = None

    def alpha(self, hp):
        """``alpha_i >= sup ||c_i||_F h^i`` (upper)."""
        if self._alpha is None:
            a = np.abs(self.m) if self.r is None else A.infl(np.abs(self.m) + self.r, 1)
            ss = np.einsum("ijk,ijk->i", a, a)
            n = np.nextafter(np.sqrt(A.infl(ss, a[0].size + 2)), np.inf)
            self._alpha = A.infl(n * hp, 2)
        return self._alpha

    def T(self):
        return TM(np.swapaxes(self.m, 1, 2), None if self.r is None else np.swapaxes(self.r, 1, 2), self.rem)


def _pairs(q):
    L, J = [], []
    for i in range(q + 1):
        for l in range(i + 1):
            L.append(l)
            J.append(i - l)
    return np.array(L), np.array(J)


_STARTS = np.array([i * (i + 1) // 2 for i in range(64)])


def _tm_remainder(X: TM, Y: TM, hp) -> float:
    """``sup_{[0,h]} ||tail of X Y||_F`` (proofs/s4_3_taylor_model.py): the orders
    ``> q`` of the truncated parts through norms, plus the remainders' products."""
    q = X.m.shape[0] - 1
    a, b = X.alpha(hp), Y.alpha(hp)
    tail_b = np.concatenate([np.cumsum(b[::-1])[::-1], [0.0]])  # tail_b[s] = sum_{j >= s} b_j
    high = float(np.sum(a * tail_b[q + 1 - np.arange(q + 1)]))
    sa, sb = float(np.sum(a)), float(np.sum(b))
    return float(A.infl(high + X.rem * (sb + Y.rem) + sa * Y.rem, 4 * q + 12))


def tm_mul_arb(X: TM, Y: TM, hp, pairs) -> TM:
    """``--strict``: as :func:`tm_mul`, the orders ``<= q`` computed in Arb balls at
    the current precision (inputs enclosed exactly: ``arb(mid, rad)``), then
    re-enclosed in float mid-rad (midpoint to nearest, radius rounded up)."""
    from flint import arb, arb_mat

    q = X.m.shape[0] - 1

    def balls(T):
        out = []
        for i in range(q + 1):
            rows, cols = T.m[i].shape
            M = arb_mat(rows, cols)
            for r in range(rows):
                for c in range(cols):
                    M[r, c] = arb(float(T.m[i, r, c]), 0.0 if T.r is None else float(T.r[i, r, c]))
            out.append(M)
        return out

    xb, yb = balls(X), balls(Y)
    shape = (q + 1, X.m.shape[1], Y.m.shape[2])
    C, R = np.empty(shape), np.empty(shape)
    for i in range(q + 1):
        acc = xb[0] * yb[i]
        for l in range(1, i + 1):
            acc = acc + xb[l] * yb[i - l]
        for r in range(shape[1]):
            for c in range(shape[2]):
                x = acc[r, c]
                m = float(x.mid())
                C[i, r, c] = m
                R[i, r, c] = A.hi(abs(x - arb(m)))
    return TM(C, R, _tm_remainder(X, Y, hp))


def tm_mul(X: TM, Y: TM, hp, pairs) -> TM:
    """Product of Taylor models: orders ``<= q`` enclosed entrywise, the rest
    bounded through norms (proofs/s4_3_taylor_model.py).  Order ``i`` is one
    matrix product ``[X_0 .. X_i] @ [Y_i; ..; Y_0]`` (inner dimension
    ``(i+1) k``): each entry is a sum of ``(i+1) k`` products, so
    ``gamma_{(i+1)k}`` bounds its rounding in any summation order (Higham
    Thm 3.5)."""
    q1, m, k = X.m.shape
    n = Y.m.shape[2]
    cat = lambda Z: np.ascontiguousarray(np.swapaxes(Z, 0, 1).reshape(m, q1 * k))  # [Z_0 .. Z_q]
    rev = lambda Z: np.ascontiguousarray(Z[::-1].reshape(q1 * k, n))  # [Z_q; ..; Z_0]
    aX, aY = np.abs(X.m), np.abs(Y.m)
    Xc, aXc, Yv, aYv = cat(X.m), cat(aX), rev(Y.m), rev(aY)
    Yrv = None if Y.r is None else rev(Y.r)
    Xrc = None if X.r is None else cat(X.r)
    bYv = None if X.r is None else (aYv if Y.r is None else rev(aY + Y.r))
    C = np.empty((q1, m, n))
    R = np.empty((q1, m, n))
    for i in range(q1):
        a, b = slice(0, (i + 1) * k), slice((q1 - 1 - i) * k, q1 * k)
        C[i] = Xc[:, a] @ Yv[b]
        t = A.gamma((i + 1) * k) * (aXc[:, a] @ aYv[b])
        if Yrv is not None:
            t = t + aXc[:, a] @ Yrv[b]
        if Xrc is not None:
            t = t + Xrc[:, a] @ bYv[b]
        R[i] = t
    R = A.infl(R + q1 * k * A.UF, 2 * q1 * k + 8)
    return TM(C, R, _tm_remainder(X, Y, hp))


def tm_lin(X: TM, Mm, Mr, mnorm2: float) -> TM:
    """``X(s) @ M`` for a constant enclosed matrix ``M`` (``||M||_2 <= mnorm2``)."""
    C, R = A.mm(X.m, X.r, Mm, Mr) if X.r is not None or Mr is not None else A.mm(X.m, None, Mm, None)
    return TM(C, R, float(A.infl(X.rem * mnorm2, 2)))


def tm_shift0(X: TM, Bm, Br) -> TM:
    """``X - B`` on the constant coefficient."""
    C = X.m.copy()
    R = np.zeros_like(C) if X.r is None else X.r.copy()
    c0, r0 = A.addsub(X.m[0], None if X.r is None else X.r[0], Bm, Br, -1)
    C[0], R[0] = c0, r0
    return TM(C, R, X.rem)


def hpowers(h: Fraction, q: int) -> np.ndarray:
    """``hp_i >= h^i`` exactly rounded up."""
    out, x = [], Fraction(1)
    for _ in range(q + 1):
        out.append(A.frac_up(x))
        x *= h
    return np.array(out)


def defect_bound(a, p: int, h: Fraction, loss, strict: bool = False) -> tuple[float, tuple]:
    """``delta >= sup_{[0,h]} ||y'(s) + grad f(y(s))||`` for the polynomial
    ``y(s) = sum a_i s^i`` (coefficients exact floats), and the motions over
    the step (S3.3): per layer ``sum_{i>=1} ||a_{j,i}|| h^i``, per prefix
    ``(b, 1)`` and suffix ``(N, a)`` product and for ``G`` the sup of
    ``||X(s) - X(0)||_F`` from their Taylor models (orders ``>= 1`` plus the
    remainder)."""
    N = len(a)
    q = p
    hp = hpowers(h, q)
    pairs = _pairs(q)
    tm_mul_ = tm_mul_arb if strict else tm_mul
    Wt = [TM(x, None, 0.0) for x in a]
    P = [Wt[0]]
    for j in range(1, N):
        P.append(tm_mul_(Wt[j], P[j - 1], hp, pairs))
    S = [None] * N
    S[N - 1] = Wt[N - 1]
    for j in range(N - 2, -1, -1):
        S[j] = tm_mul_(S[j + 1], Wt[j], hp, pairs)
    if loss.kernel is not None:
        # section 8: G along the truncated product polynomial (coefficient balls, Lagrange
        # remainder) plus s_F times the product's own remainder
        PN = P[N - 1]
        G = TM(*loss.kernel.grad_tm(PN.m, PN.r, PN.rem, h))
    elif loss.square:
        G = tm_lin(P[N - 1], loss.Sxx_f, loss.Esxx, loss.sxx_norm2)
        G = tm_shift0(G, loss.Syx_f, loss.Esyx)
    else:
        G = tm_shift0(P[N - 1], loss.Phi, None)
    deltas = []
    for j in range(N):
        Qj = G if j == 0 else tm_mul_(G, P[j - 1].T(), hp, pairs)
        gj = Qj if j == N - 1 else tm_mul_(S[j + 1].T(), Qj, hp, pairs)
        # D_i = (i+1) a_{i+1} + grad_i (a_{p+1} = 0)
        sc = a[j][1:] * np.arange(1, p + 1)[:, None, None]
        D = gj.m.copy()
        D[:p] = sc + gj.m[:p]
        R = A.U * np.abs(D) + (0.0 if gj.r is None else gj.r)
        R[:p] = R[:p] + A.U * np.abs(sc)
        R = A.infl(R, 4)
        dn = TM(D, R, 0.0).alpha(hp)
        deltas.append(float(A.infl(float(np.sum(dn)) + gj.rem, q + 4)))
    delta = A.vec_norm_up(deltas)
    yrange = []
    for j in range(N):
        al = TM(a[j], None, 0.0).alpha(hp)
        yrange.append(float(A.infl(float(np.sum(al[1:])), q + 2)))
    mot = lambda X: float(A.infl(float(np.sum(X.alpha(hp)[1:])) + X.rem, q + 4))
    prods = {(b, 1): mot(P[b - 1]) for b in range(2, N)}
    prods.update({(N, a_): mot(S[a_ - 1]) for a_ in range(2, N)})
    return delta, (yrange, prods, mot(G))


# ---------------------------------------------------------------------------
# evaluation of y(s) (the producer's Horner order) with a rigorous radius
# ---------------------------------------------------------------------------


def horner(a, s: Fraction):
    """``(mid, rad)`` per layer with ``|y(s) - mid| <= rad`` entrywise; the
    midpoints are ``fl(fl(acc * s_f) + a_i)`` with ``s_f`` the nearest float to ``s``."""
    sf = float(s)
    es = abs(Fraction(sf) - s)
    es = A.frac_up(es) if es else 0.0
    out = []
    for layer in a:
        m = layer[-1].copy()
        r = np.zeros_like(m)
        for c in layer[-2::-1]:
            t = m * sf
            new = t + c
            r = A.infl(r * (abs(sf) + es) + np.abs(m) * es + A.U * np.abs(t) + A.TINY + A.U * np.abs(new), 8)
            m = new
        out.append((m, r))
    return out


# ---------------------------------------------------------------------------
# S3.1 on the tube around the candidate (section 4)
# ---------------------------------------------------------------------------


def s31_mu(W0, motion, rho: float, loss, s_G: float) -> float:
    """Upper bound of ``-lambda_min(Hf(z))`` for every ``z`` within ``rho`` of the
    candidate's range on the step (S3.3): spectral bounds of the center's
    partial products and of ``G(c)``, widened by the step's motions
    (:func:`defect_bound`), then S3.1 on the tube of thickness ``rho``
    (``lambda_max(C)`` by the largest row sum or Collatz-Wielandt)."""
    from flint import arb

    from . import _verify as V

    N = len(W0)
    if N == 1:
        return 0.0
    layer_m, prod_m, g_m = motion
    sig = {}
    P = None
    for a_ in range(1, N + 1):
        M, Mr = W0[a_ - 1], None
        sig[(a_, a_)] = arb(A.spec2_up(M))
        for b in range(a_ + 1, N + 1):
            M, Mr = A.mm(W0[b - 1], None, M, Mr)
            if (b, a_) != (N, 1):
                sig[(b, a_)] = arb(A.spec2_up(M, Mr))
            elif a_ == 1:
                P = (M, Mr)
    Gm, Gr = loss.G_ball(*P)
    g0 = A.spec2_up(Gm, Gr)
    g = arb(g0) + arb(g_m)  # g - g0 = g_m bounds G's motion from the center (S3.1-G needs it)
    moved = V.widen(sig, [arb(x) for x in layer_m], prod_m)
    gw = (V.weighted_norms(W0, (Gm, Gr), N), g0, sig)  # S3.1-G at the center
    mu, _ = V.mu_beta(V.tube(moved, [arb(rho)] * N, N, gw=gw), g, s_G, N)
    return mu


# ---------------------------------------------------------------------------
# one validated step (gap-v2 section 4; also flow-v1 files)
# ---------------------------------------------------------------------------


def verify_step(st, sw: str, first: bool, t: Fraction, T: Fraction, order, centers, e0_x: float, loss, s_G: float,
                strict: bool, tally):
    """Confirm one flow step's claims from the checker's own candidate through
    ``centers``: contiguity (``t0 = t``, ``t0 + h <= T``), ``order`` (when
    given), ``e0`` (0 first, else the replayed ``e0_x``), ``delta``, ``mu``,
    ``e1`` and the tube ``e1 < rho``.  Returns ``(t0, h, candidate, e1)``.
    Contiguity and an overflowing candidate stop the check (:class:`Invalid`);
    the other claims go to ``tally``."""
    from flint import arb

    from .._errors import CertificateError
    from . import _verify as V

    if not isinstance(st, dict):
        raise CertificateError(f"{sw}: expected an object")
    t0, h = V.frac(st.get("t0"), f"{sw}.t0"), V.frac(st.get("h"), f"{sw}.h")
    tally.n += 1
    if t0 != t or not h > 0 or t0 + h > T:
        raise V.Invalid(f"{sw}: the steps do not cover [0, {float(T)!r}] contiguously (t0 = {st.get('t0')}, "
                        f"h = {st.get('h')})")
    p = V.integer(st, "order", sw, 1)
    if order is not None and p != order:
        tally.fail(f"{sw}.order: differs from flow.order")
    e0 = V.num(st, "e0", sw)
    if first:
        tally.n += 1
        if e0 != 0.0:
            tally.fail(f"{sw}.e0: the flow starts at the initial point (e0 must be 0)")
    else:
        V.consistent_up(f"{sw}.e0", e0, e0_x, tally)
    a = candidate(centers, p, loss)
    if any(A.nonfinite(x) for x in a):
        raise V.Invalid(f"{sw}: the Taylor candidate overflows")
    delta_own, motion = defect_bound(a, p, h, loss, strict)
    delta, rho, mu = V.num(st, "delta", sw), V.num(st, "rho", sw), V.num(st, "mu", sw)
    V.truth(f"{sw}.delta", delta, delta_own, tally)
    V.truth(f"{sw}.mu", mu, s31_mu(centers, motion, rho, loss, s_G), tally)
    Hq, M = A.qarb(h), arb(mu)
    growth = Hq if mu == 0 else (M * Hq).expm1() / M
    e1 = V.num(st, "e1", sw)
    V.consistent_up(f"{sw}.e1", e1, A.hi((M * Hq).exp() * arb(e0) + arb(delta) * growth), tally)
    tally.n += 1
    if not e1 < rho:
        tally.fail(f"{sw}.rho: the tube is not valid (e1 = {e1!r} >= rho = {rho!r})")
    return t0, h, a, e1


def verify_step_end(st, sw: str, a, h: Fraction, e1: float, tally):
    """The re-centering: ``jump >= ||y(h) - c'||`` with ``c'`` the checker's own
    midpoint of ``y(h)``; returns ``(next centers, next e0 = e1 + jump)``."""
    from flint import arb

    from . import _verify as V

    yb = horner(a, h)
    jump = V.num(st, "jump", sw)
    V.truth(f"{sw}.jump", jump, A.vec_norm_up([A.fro_up(np.zeros_like(r), r) for _, r in yb]), tally)
    return [m for m, _ in yb], A.hi(arb(e1) + arb(jump))
