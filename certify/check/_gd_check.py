"""The GD part of a certificate (certify/schemas/gap-v2.md, sections 1-3): the
checker recomputes the float iterates block by block, confirms each
reference point's norms and each segment's claims against its own bounds and
replays the S4.5 (``r``) and S4.2 (``e``) recursions from the claimed
inputs.  Shared by gap-v2 and every run of a distance-v1 certificate.

Every claim that is not confirmed goes to the tally and the replay goes on
with the claimed value; the block structure (which reference points and
segments there are) and an overflowing float iterate stop it (:class:`Invalid`).
"""

from __future__ import annotations

import numpy as np

from .._errors import CertificateError
from . import _arith as A
from . import _verify as V

_S42_KEYS = ("rho", "mu", "beta", "e")


def data_norm(doc, loss, tally) -> float:
    """``s_G``: 1 (whitened) or the claimed ``sxx.norm2 >= ||Sxx||_2`` (truth side).
    Also reads the optional ``data_split`` (section 3, S3.4-data) into
    ``loss.split``: ``(c, s_r, u)`` after confirming ``||u||_2 <= 1`` exactly and
    ``s_r >= ||Sxx - c u u^T||_2`` with the checker's own spectral bound."""
    loss.split = None
    if "data_split" in doc and not loss.square:
        raise V.Invalid("data_split: only the square loss has a data matrix to split")
    if loss.kernel is not None:
        return _kernel_bounds(doc, loss, tally)
    if "loss_bounds" in doc:
        raise V.Invalid("loss_bounds: only the cross-entropy and logistic losses have them (gap-v2.md section 8)")
    if not loss.square:
        return 1.0
    sx = V.field(doc, "sxx", "certificate", dict)
    s_G = V.num(sx, "norm2", "sxx")
    V.truth("sxx.norm2", s_G, loss.sxx_norm2, tally)
    if "data_split" in doc:
        loss.split = _split(V.field(doc, "data_split", "certificate", dict), loss, tally)
    return s_G


def _kernel_bounds(doc, loss, tally) -> float:
    """Kernel losses (gap-v2.md section 8): ``"sxx": null`` and the claimed ``loss_bounds``
    ``s_G``, ``s_F`` at least the checker's own (truth side); returns the claimed ``s_G``."""
    if doc.get("sxx") is not None:
        raise V.Invalid(f"sxx: must be null for the {loss.kernel.kind} loss (gap-v2.md section 8)")
    lb = V.field(doc, "loss_bounds", "certificate", dict)
    s_G, s_F = V.num(lb, "s_G", "loss_bounds"), V.num(lb, "s_F", "loss_bounds")
    V.truth("loss_bounds.s_G", s_G, loss.kernel.s_G, tally)
    V.truth("loss_bounds.s_F", s_F, loss.kernel.s_F, tally)
    return s_G


def _split(ds, loss, tally):
    """``data_split``: ``c >= 0``, ``u`` with ``sum u_i^2 <= 1`` in exact rationals, and
    the claimed ``s_r`` at least the checker's bound of ``||Sxx - c u u^T||_2``."""
    from fractions import Fraction

    d0 = loss.Sxx_f.shape[0]
    u = V.hexvec(V.field(ds, "u_hex", "data_split", list), d0, "data_split.u_hex")
    c, s_r = V.num(ds, "c", "data_split"), V.num(ds, "s_r", "data_split")
    tally.n += 2
    if not c >= 0.0:
        tally.fail(f"data_split.c: must be >= 0, got {c!r}")
    if sum(Fraction(float(x)) ** 2 for x in u) > 1:
        tally.fail("data_split.u_hex: ||u||_2 > 1")
    # the ball of c u u^T: (c u) rounded, with its error, times u^T
    cu = c * u
    cu_r = np.abs(cu) * 2.0**-52 + 2.0**-1074
    M, Mr = A.mm(cu.reshape(-1, 1), cu_r.reshape(-1, 1), u.reshape(1, -1), None)
    Rm, Rr = A.addsub(loss.Sxx_f, loss.Esxx, M, Mr, -1)
    V.truth("data_split.s_r", s_r, A.spec2_up(Rm, Rr), tally)
    return c, s_r, u


def _u_norms(ref, where: str, Ws, N: int, u, tally):
    """``u_norm2[b-1] >= ||W_{b:1} u||_2`` (b < N) at the reference, as arb."""
    from flint import arb

    vals = [V.num({"x": x}, "x", f"{where}.u_norm2") for x in V.field(ref, "u_norm2", where, list)]
    if len(vals) != N - 1:
        raise V.Invalid(f"{where}.u_norm2: expected {N - 1} numbers")
    M, Mr = u.reshape(-1, 1), None
    for b in range(1, N):
        M, Mr = A.mm(Ws[b - 1], None, M, Mr)
        V.truth(f"{where}.u_norm2[{b - 1}]", vals[b - 1], A.fro_up(M, Mr), tally)
    return {b: arb(v) for b, v in enumerate(vals, start=1)}


def blocks(refs, K: int, R: int, tally, pre=""):
    """Block starts ``[refs[i].k]``: from 0, at most ``R`` steps each, ending at ``K``."""
    starts = [r.get("k") if isinstance(r, dict) else None for r in refs]
    tally.n += 1
    if (not starts or starts[0] != 0 or any(not isinstance(k, int) or isinstance(k, bool) for k in starts)
            or any(not 0 < b - a <= R for a, b in zip(starts, starts[1:] + [K]))):
        raise V.Invalid(f"{pre}refs: the reference points {starts[:5]}... do not split [0, {K}) into blocks of <= {R} steps")
    return starts


def check_gd(problem, loss, s_G, eta, K, refs, segs, starts, ks, s42_end, tally, strict, pre=""):
    """Sections 1-3 for one GD run.  Returns ``(iterates at ks, r_k claims,
    e_k claims)``; ``pre`` prefixes the field names in messages (``runs[1].``
    in a distance certificate)."""
    run = _Replay(problem, loss, s_G, eta, s42_end, ks, tally, strict, pre)
    Ws = [np.array(w, dtype=np.float64) for w in problem.weights]
    for bi, k0 in enumerate(starts):
        k1 = starts[bi + 1] if bi + 1 < len(starts) else K
        Ws = run.block(Ws, refs[bi], f"{pre}refs[{bi}]", k0, k1, segs)
    if K in ks:
        run.iterates[K] = [w.copy() for w in Ws]
    if s42_end > K:
        tally.fail(f"{pre}s42_end: {s42_end} > steps = {K}")
    return run.iterates, run.r_claim, run.e_claim


def _reference(ref, where: str, Ws, N: int, loss, tally):
    """Section 3 at a block's start: the claimed layer, partial-product and
    ``G`` norms against the checker's own spectral bounds at its own iterate.
    Returns ``(sig, g, drift_max, step_max, r_block)``, ``sig`` the claimed
    norms as arb (``(l, l)`` the layers, ``(b, a)`` the partial products)."""
    from flint import arb

    n = [V.num({"x": x}, "x", f"{where}.layer_norm2") for x in V.field(ref, "layer_norm2", where, list)]
    if len(n) != N:
        raise CertificateError(f"{where}.layer_norm2: expected {N} numbers")
    for l in range(N):
        V.truth(f"{where}.layer_norm2[{l}]", n[l], A.spec2_up(Ws[l]), tally)
    pi, row_of = {}, {}
    want = {(b, a) for a in range(1, N + 1) for b in range(a + 1, N + 1)} - {(N, 1)}
    for m_i, row in enumerate(V.field(ref, "prod_norm2", where, list)):
        if not isinstance(row, list) or len(row) != 3:
            raise CertificateError(f"{where}.prod_norm2[{m_i}]: expected [b, a, value]")
        b, a, v = row
        if (b, a) not in want or (b, a) in pi:
            raise V.Invalid(f"{where}.prod_norm2[{m_i}]: unexpected partial product ({b}, {a})")
        pi[(b, a)] = V.num({"x": v}, "x", f"{where}.prod_norm2[{m_i}]")
        row_of[(b, a)] = m_i
    if set(pi) != want:
        raise V.Invalid(f"{where}.prod_norm2: missing partial products {sorted(want - set(pi))}")
    prods = {}
    for a in range(1, N + 1):
        M, Mr = Ws[a - 1], None
        for b in range(a + 1, N + 1):
            M, Mr = A.mm(Ws[b - 1], None, M, Mr)
            prods[(b, a)] = (M, Mr)
    for ba in sorted(pi):
        V.truth(f"{where}.prod_norm2[{row_of[ba]}][2]", pi[ba], A.spec2_up(*prods[ba]), tally)
    P, Pr = (Ws[0], None) if N == 1 else prods[(N, 1)]
    Gm, Gr = loss.G_ball(P, Pr)
    g = V.num(ref, "G_norm2", where)
    V.truth(f"{where}.G_norm2", g, A.spec2_up(Gm, Gr), tally)
    drift_max = [V.num({"x": x}, "x", f"{where}.drift_max") for x in V.field(ref, "drift_max", where, list)]
    step_max = [V.num({"x": x}, "x", f"{where}.step_max") for x in V.field(ref, "step_max", where, list)]
    if len(drift_max) != N or len(step_max) != N:
        raise CertificateError(f"{where}: drift_max and step_max need {N} entries")
    r_block = V.num(ref, "r_block", where)
    sig = {(l + 1, l + 1): arb(n[l]) for l in range(N)}
    sig.update({ba: arb(v) for ba, v in pi.items()})
    gw = None
    if "gw_norm2" in ref:  # S3.1-G: the weighted products at the reference
        w = V.weighted_claims(ref, where, N, V.weighted_norms(Ws, (Gm, Gr), N), tally)
        gw = (w, g, sig)
    return sig, g, drift_max, step_max, r_block, gw


class _Replay:
    """One GD run's replay: the checker's iterates at the checkpoints and the
    claimed ``r_k`` (S4.5) and ``e_k`` (S4.2) as the recursions go."""

    def __init__(self, problem, loss, s_G, eta, s42_end, ks, tally, strict, pre):
        from flint import arb

        self.problem, self.loss, self.s_G, self.eta = problem, loss, s_G, eta
        self.N, self.H = problem.depth, arb(eta)
        self.s42_end, self.ks_set, self.tally, self.strict, self.pre = s42_end, set(ks), tally, strict, pre
        self.iterates, self.r_claim, self.e_claim = {}, {0: 0.0}, {0: 0.0}
        self.r_prev, self.e_prev = 0.0, 0.0
        self.dw = None  # (split, moved u-norms) of the current block (S3.4-data)
        self.gw = None  # S3.1-G data of the current block's reference

    def _dw(self) -> dict:
        if self.dw is None:
            return {}
        (c, s_r, _), un = self.dw
        return {"s_G": self.s_G, "c": c, "s_r": s_r, "un": un}

    def block(self, Ws, ref, where: str, k0: int, k1: int, segs):
        """Steps ``k0 .. k1 - 1`` from the float iterate ``Ws`` at ``k0``; returns the iterate at ``k1``."""
        from flint import arb

        N, tally = self.N, self.tally
        if not isinstance(ref, dict) or ref.get("k") != k0:
            raise V.Invalid(f"{where}.k: expected {k0}")
        sig, g, drift_max, step_max, r_block, gw = _reference(ref, where, Ws, N, self.loss, tally)
        self.gw = gw
        split = getattr(self.loss, "split", None)
        if split is None and "u_norm2" in ref:
            raise V.Invalid(f"{where}.u_norm2: claimed without a data_split")
        # the block's S3.1 pieces (section 2): the claimed reference norms, widened
        # by the block's drift, on the ball of radius r_block around each iterate
        moved = V.widen(sig, [arb(x) for x in drift_max])
        if split is not None:  # S3.4-data: ||Z u|| widened with the product (b, 1)
            self.dw = (split, V.widen_u(sig, moved, _u_norms(ref, where, Ws, N, split[2], tally)))
        parts_r = V.tube(moved, [arb(r_block)] * N, N, gw=gw, **self._dw())
        its, new_Ws, rounds, steps_l, drifts, gdiffs = V.gd_block(Ws, self.eta, self.loss, N, k1 - k0)
        if any(A.nonfinite(w) for w in new_Ws) or not np.all(np.isfinite(rounds)):
            raise V.Invalid(f"{self.pre}segments[{k0}..{k1 - 1}]: the float GD iterates overflow")
        if self.strict:
            rounds = V.strict_rounds(its, its[1:] + [new_Ws], self.eta, self.loss, self.problem, N)
        for l in range(N):
            V.truth(f"{where}.drift_max[{l}]", drift_max[l], float(drifts[:, l].max()), tally)
            V.truth(f"{where}.step_max[{l}]", step_max[l], float(steps_l[:, l].max()), tally)
        tubes = {}  # S4.2 tube pieces by rho
        for k in range(k0, k1):
            seg, sw = segs[k], f"{self.pre}segments[{k}]"
            if not isinstance(seg, dict) or seg.get("k") != k:
                raise V.Invalid(f"{sw}.k: expected {k}")
            if k in self.ks_set:
                self.iterates[k] = its[k - k0]
            rnd = V.num(seg, "round", sw)
            V.truth(f"{sw}.round", rnd, float(rounds[k - k0]), tally)
            dnorm = V.num(seg, "dnorm", sw)
            V.truth(f"{sw}.dnorm", dnorm, A.vec_norm_up([float(x) for x in steps_l[k - k0]]), tally)
            V.truth(f"{where}.r_block (at step {k})", r_block, self.r_prev, tally)
            gdiff = V.num(seg, "gdiff", sw)
            V.truth(f"{sw}.gdiff", gdiff, float(gdiffs[k - k0]), tally)
            g_k = (g, gdiff)  # ||G(theta^_k)||_2 <= g + gdiff; gdiff bounds G's motion from the reference
            self._s45(seg, sw, k, rnd, g_k, parts_r)
            if k < self.s42_end:
                self._s42(seg, sw, k, rnd, dnorm, g_k, moved, step_max, tubes)
            elif any(key in seg for key in _S42_KEYS):
                tally.fail(f"{sw}: S4.2 claims after s42_end = {self.s42_end}")
        return new_Ws

    def _s45(self, seg, sw, k, rnd, g_k, parts_r):
        """The block tube constants ``mu_r``, ``beta_r`` and the S4.5 recursion ``r``."""
        from flint import arb

        mu_r, beta_r = V.num(seg, "mu_r", sw), V.num(seg, "beta_r", sw)
        mu_r_x, beta_r_x = V.mu_beta(parts_r, g_k[0], self.s_G, self.N, gdiff=g_k[1])
        V.truth(f"{sw}.mu_r", mu_r, mu_r_x, self.tally)
        V.truth(f"{sw}.beta_r", beta_r, beta_r_x, self.tally)
        H = self.H
        q = max(A.hi(1 + H * arb(mu_r)), A.hi(H * arb(beta_r) - 1))
        r_x = A.hi(arb(q) * arb(self.r_prev) + arb(rnd))
        r_new = V.num(seg, "r", sw)
        V.consistent_up(f"{sw}.r", r_new, r_x, self.tally)
        self.r_prev = self.r_claim[k + 1] = r_new

    def _s42(self, seg, sw, k, rnd, dnorm, g_k, moved, step_max, tubes):
        """While S4.2 is alive: ``mu``, ``beta`` on the tube of radius ``rho``, the recursion ``e`` and ``e < rho``."""
        from flint import arb

        if not all(key in seg for key in _S42_KEYS):
            raise V.Invalid(f"{sw}: missing the S4.2 claims (s42_end = {self.s42_end})")
        rho = V.num(seg, "rho", sw)
        if rho not in tubes:
            tubes[rho] = V.tube(moved, [arb(y) + arb(rho) for y in step_max], self.N, gw=self.gw, **self._dw())
        mu_x, beta_x = V.mu_beta(tubes[rho], g_k[0], self.s_G, self.N, gdiff=g_k[1])
        mu, beta = V.num(seg, "mu", sw), V.num(seg, "beta", sw)
        V.truth(f"{sw}.mu", mu, mu_x, self.tally)
        V.truth(f"{sw}.beta", beta, beta_x, self.tally)
        H = self.H
        e_x = A.hi((arb(mu) * H).exp() * (arb(self.e_prev) + arb(rnd) + H * arb(beta) * arb(dnorm) / 2))
        e_new = V.num(seg, "e", sw)
        V.consistent_up(f"{sw}.e", e_new, e_x, self.tally)
        self.tally.n += 1
        if not e_new < rho:
            self.tally.fail(f"{sw}.rho: the S4.2 tube is not valid (e = {e_new!r} >= rho = {rho!r})")
        self.e_prev = self.e_claim[k + 1] = e_new
