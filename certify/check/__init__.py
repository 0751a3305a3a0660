"""The independent checker of ``certify/gap-v2`` certificates (the trusted kernel).

It shares only the problem loader with the producer; the float GD iterates,
every rounding bound, spectral bound, S3.1 tube bound, Taylor model, Gronwall
and recursion replay are re-derived here with the checker's own arithmetic
(``_arith``: entrywise float64 mid-rad with a-posteriori bounds, python-flint
``arb`` scalars).  What each claim means and how it is confirmed is fixed by
``certify/schemas/gap-v2.md``.

>>> from certify.check import check_file            # doctest: +SKIP
>>> rep = check_file("certify-demo/gap.json")        # doctest: +SKIP
>>> rep.valid, rep.checked                           # doctest: +SKIP
(True, 61234)

Every kind the checker reads (gap-v2, distance-v1, flow-v1, converge-v1) is
first validated against its JSON Schema, shipped in ``certify/schemas/``
(:func:`schema`; :mod:`._schema`): a field the schema does not name, or a
statement other than its constant, is a claim not confirmed (exit 1); a
missing field or a wrong type is malformed (exit 2).

Exit codes of ``certify check``: 0 valid, 1 a claim fails (named), 2 the file
is unreadable or malformed (:class:`certify.CertificateError`).
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field as dc_field
from fractions import Fraction
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

from .._errors import CertificateError, CertifyError
from . import _arith as A
from . import _distance_check as D
from . import _flowfile_check as FF
from . import _flowcheck as F
from . import _schema as SC
from . import _verify as V
from ._schema import schema, schema_kinds, schema_text

SCHEMA = "certify/gap-v2"
STATEMENT = (
    "for each checkpoint k: gap_lower <= ||theta_k - theta(k eta)||_2 <= gap_upper, where "
    "theta_k is exact-arithmetic gradient descent with step eta and theta(t) the exact "
    "gradient flow, both from the problem's initial point (flattened per S1)"
)
CONVERGE_SCHEMA = "certify/converge-v1"
DISTANCE_SCHEMA = D.SCHEMA
ITERATE_TOL = 1e-9

__all__ = ["CheckReport", "check_certificate", "check_file", "format_report", "schema", "schema_kinds",
           "schema_text"]


@dataclass
class CheckReport:
    valid: bool
    checked: int
    failures: list = dc_field(default_factory=list)
    seconds: float = 0.0
    strict: bool = False
    summary: dict = dc_field(default_factory=dict)


def check_file(path, strict: bool = False) -> CheckReport:
    """Read and check a certificate file; :class:`CertificateError` when it is
    unreadable or malformed."""
    from .. import _limits

    p = Path(path)
    try:
        if p.is_dir():
            raise CertificateError(f"cannot read certificate {p}: it is a folder")
        if p.exists():
            try:
                _limits.check_text_size(p.stat().st_size, str(p))
            except _limits.ResourceLimitError as e:
                raise CertificateError(str(e)) from e
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise CertificateError(f"cannot read certificate {p}: {e.strerror if isinstance(e, OSError) else e}") from e

    def bad_constant(c):
        raise CertificateError(f"{p}: non-finite number {c} in the certificate")

    def no_duplicates(pairs):
        keys = [k for k, _ in pairs]
        if len(set(keys)) != len(keys):
            dup = next(k for k in keys if keys.count(k) > 1)
            raise CertificateError(f"{p}: duplicate key {dup!r} (a reader could see another claim than the one checked)")
        return dict(pairs)

    try:
        # nesting, integer sizes and file size are refused before any work (certify/_limits.py)
        doc = _limits.loads_json(text, str(p), CertificateError, parse_constant=bad_constant,
                                 object_pairs_hook=no_duplicates)
    except json.JSONDecodeError as e:
        raise CertificateError(f"{p}: not valid JSON ({e.msg} at line {e.lineno})") from e
    return check_certificate(doc, strict=strict)


def check_certificate(doc, strict: bool = False) -> CheckReport:
    """Re-verify every claim of a ``certify/gap-v2 (or distance-v1, converge-v1)`` document (never modifies it).
    ``strict``: the rounding bound of every GD step from an Arb enclosure of
    the exact step, the flow's Taylor-model products in Arb balls (instead of
    float mid-rad a-posteriori bounds), all scalar recursions in Arb at 256
    bits instead of 128."""
    from flint import ctx

    t0 = time.perf_counter()
    if not isinstance(doc, dict):
        raise CertificateError("certificate: expected a JSON object")
    if doc.get("schema") not in (SCHEMA, CONVERGE_SCHEMA, DISTANCE_SCHEMA, FF.SCHEMA):
        raise CertificateError(f"certificate: unknown schema {doc.get('schema')!r} (this checker reads {SCHEMA}, "
                               f"{DISTANCE_SCHEMA}, {CONVERGE_SCHEMA} and {FF.SCHEMA})")
    from ._precheck import precheck

    precheck(doc)  # steps, flow steps, order, checkpoints within the resource limits, before any work
    stats = [0]
    old = ctx.prec
    ctx.prec = 256 if strict else 128
    try:
        # one BLAS thread: the checker's many mid-sized products run several times
        # faster than with OpenBLAS threads on a shared 2-core machine (the bounds
        # are rigorous for any BLAS and any thread count)
        with np.errstate(over="ignore", invalid="ignore", under="ignore"), threadpool_limits(1):
            if doc["schema"] == CONVERGE_SCHEMA:
                summary = _check_converge(doc, stats, strict)
            elif doc["schema"] == FF.SCHEMA:
                summary = FF.check_flowfile(doc, stats, strict, _explicit_problem)
            elif doc["schema"] == DISTANCE_SCHEMA:
                summary = D.check_distance(doc, stats, strict, _explicit_problem, _data_norm, _blocks, _check_gd)
            else:
                summary = _check(doc, stats, strict)
        rep = CheckReport(True, stats[0], [], 0.0, strict, summary)
    except V.Invalid as e:
        rep = CheckReport(False, stats[0], [str(e)], 0.0, strict)
    except CertifyError:
        raise
    except (KeyError, TypeError, ValueError, IndexError, AttributeError, ZeroDivisionError, OverflowError) as e:
        raise CertificateError(f"certificate: malformed ({type(e).__name__}: {e})") from e
    finally:
        ctx.prec = old
    rep.seconds = time.perf_counter() - t0
    return rep


def format_report(rep: CheckReport) -> str:
    if rep.valid and "flow" in rep.summary:
        s = rep.summary
        return (f"VALID: all {rep.checked} claims confirmed in {rep.seconds:.2f}s ({s['flow_steps']} flow steps, "
                f"{s['checkpoints']} checkpoints to t = {s['t_end']:g}; largest radius {s['max_radius']:.3e})")
    if rep.valid and "distance" in rep.summary:
        s = rep.summary
        return (f"VALID: all {rep.checked} claims confirmed in {rep.seconds:.2f}s ({s['runs']} GD runs, "
                f"{s['steps']} GD steps; max distance upper bound {s['max_dist_upper']:.6e})")
    if rep.valid and "converge" in rep.summary:
        s = rep.summary
        return (f"VALID: all {rep.checked} claims confirmed in {rep.seconds:.2f}s: exact GD with eta = {s['eta']!r} "
                f"has loss <= {s['gd_loss_upper']:.6g} <= eps = {s['eps']:g} at step K = {s['K']} "
                f"(GF loss <= {s['gf_loss_upper']:.6g} at K eta; {s['converge']})")
    if rep.valid:
        s = rep.summary
        return (f"VALID: all {rep.checked} claims confirmed in {rep.seconds:.2f}s "
                f"({s.get('steps', '?')} GD steps, {s.get('flow_steps', '?')} flow steps, "
                f"{s.get('checkpoints', '?')} checkpoints; max gap upper bound {s.get('max_gap_upper', float('nan')):.6e})")
    return f"INVALID: {rep.failures[0]}"


# ---------------------------------------------------------------------------


def _explicit_problem(doc: dict):
    """The certificate's problem; it must be explicit: weights and data, not a
    seed or a dataset name whose meaning depends on the local random generator,
    LAPACK or data files."""
    from .._problem import problem_from_dict

    pspec = V.field(doc, "problem", "certificate", dict)
    if "weights" not in V.field(pspec, "init", "problem", dict):
        raise CertificateError("certificate.problem.init: explicit weights are required")
    if "dataset" in V.field(pspec, "loss", "problem", dict):
        raise CertificateError("certificate.problem.loss: explicit X and Y are required, not a dataset name")
    return problem_from_dict(pspec, name="certificate.problem")


def _data_norm(doc, loss, stats) -> float:
    """``s_G``: 1 (whitened) or the claimed ``sxx.norm2 >= ||Sxx||_2`` (truth side)."""
    if not loss.square:
        return 1.0
    sx = V.field(doc, "sxx", "certificate", dict)
    s_G = V.num(sx, "norm2", "sxx")
    V.truth("sxx.norm2", s_G, loss.sxx_norm2, stats)
    return s_G


def _blocks(refs, K: int, R: int, stats, pre=""):
    """Block starts ``[refs[i].k]``: from 0, at most ``R`` steps each, ending at ``K``."""
    starts = [r.get("k") if isinstance(r, dict) else None for r in refs]
    stats[0] += 1
    if (not starts or starts[0] != 0 or any(not isinstance(k, int) or isinstance(k, bool) for k in starts)
            or any(not 0 < b - a <= R for a, b in zip(starts, starts[1:] + [K]))):
        raise V.Invalid(f"{pre}refs: the reference points {starts[:5]}... do not split [0, {K}) into blocks of <= {R} steps")
    return starts


def _check(doc: dict, stats, strict: bool = False) -> dict:
    from flint import arb

    from .._problem import problem_from_dict

    problem = _explicit_problem(doc)
    SC.validate(doc, V.Invalid, "gap-v2")  # the structure (schemas/gap-v2.json): unknown keys refused
    N = problem.depth
    eta = V.num(doc, "eta", "certificate")
    if eta <= 0:
        raise CertificateError(f"certificate.eta: must be > 0, got {eta!r}")
    stats[0] += 1
    if doc.get("eta_hex") != eta.hex():
        raise V.Invalid(f"eta_hex: {doc.get('eta_hex')!r} does not match eta = {eta!r}")
    K = V.integer(doc, "steps", "certificate", 1)
    every = V.integer(doc, "every", "certificate", 1)
    R = V.integer(doc, "refresh", "certificate", 1)
    claims = V.field(doc, "claims", "certificate", dict)
    stats[0] += 1
    if claims.get("statement") != STATEMENT:
        raise V.Invalid("claims.statement: not the statement of certify/gap-v2 (the checker confirms only that one)")
    cps = V.field(claims, "checkpoints", "claims", list)
    segs = V.field(doc, "segments", "certificate", list)
    refs = V.field(doc, "refs", "certificate", list)
    flow = V.field(doc, "flow", "certificate", dict)
    s42_end = V.integer(doc, "s42_end", "certificate", 0)
    if len(segs) != K:
        raise V.Invalid(f"segments: {len(segs)} entries for {K} steps")
    if "partial" in doc:  # a certified prefix (certify gap --partial): K is where it ends
        part = V.field(doc, "partial", "certificate", dict)
        stats[0] += 1
        if (set(part) != {"requested_steps", "stopped_at_step", "reason"}
                or V.integer(part, "requested_steps", "partial", 1) <= K
                or not K < V.integer(part, "stopped_at_step", "partial", 1) <= part["requested_steps"]
                or not isinstance(part["reason"], str)):
            raise V.Invalid("partial: must say requested_steps > steps, steps < stopped_at_step <= requested_steps "
                            "and the reason")
    ks = sorted(set(range(0, K + 1, every)) | {K})
    ks_set = set(ks)
    if [c.get("k") if isinstance(c, dict) else None for c in cps] != ks:
        bad = next((i for i, (c, k) in enumerate(zip(cps, ks)) if not isinstance(c, dict) or c.get("k") != k), len(ks))
        raise V.Invalid(f"claims.checkpoints[{bad}].k: expected the checkpoints {ks[:4]}... every {every} steps")
    stats[0] += len(ks)
    starts = _blocks(refs, K, R, stats)
    eta_q = Fraction(eta)
    loss = V.Loss(problem)
    s_G = _data_norm(doc, loss, stats)
    n_params = problem.n_params
    shapes = [w.shape for w in problem.weights]

    def split(theta):
        out, i = [], 0
        for sh in shapes:
            n = sh[0] * sh[1]
            out.append(theta[i:i + n].reshape(sh))
            i += n
        return out

    iterates, r_claim, e_claim = _check_gd(problem, loss, s_G, eta, K, refs, segs, starts, ks, s42_end, stats, strict)
    # ------------------------------------------------------------------ flow
    gf = _check_flow(flow, problem, loss, s_G, eta_q, K, ks, cps, N, n_params, stats, strict)
    # ------------------------------------------------------------------ checkpoints
    max_up = 0.0
    for i, (c, k) in enumerate(zip(cps, ks)):
        cw = f"claims.checkpoints[{i}]"
        t_exact = V.frac(c.get("t_exact"), f"{cw}.t_exact")
        stats[0] += 2
        if t_exact != eta_q * k:
            raise V.Invalid(f"{cw}.t_exact: {c.get('t_exact')} is not k * eta")
        if V.num(c, "t", cw) != float(eta_q * k):
            raise V.Invalid(f"{cw}.t: {c.get('t')!r} is not k * eta rounded to nearest")
        stored = V.hexvec(c.get("theta_hex"), n_params, f"{cw}.theta_hex")
        own = np.concatenate([w.reshape(-1) for w in iterates[k]])
        stats[0] += 1
        dev = A.fro_diff_up(own, stored)
        if not dev <= ITERATE_TOL * (1 + float(np.linalg.norm(stored))):
            raise V.Invalid(f"{cw}.theta_hex: the stored iterate differs from the recomputed one by {dev:.3g}")
        center, radius = gf[k]
        gcen = V.hexvec(c.get("gf_center_hex"), n_params, f"{cw}.gf_center_hex")
        stats[0] += 2
        if not np.array_equal(gcen, center):
            raise V.Invalid(f"{cw}.gf_center_hex: differs from flow.evals' center for k = {k}")
        if V.num(c, "gf_radius", cw) != radius:
            raise V.Invalid(f"{cw}.gf_radius: differs from flow.evals' radius for k = {k}")
        # dist = ||theta^_k - gf_center||, rigorous interval
        # exact |d_i| = |fl(d_i)| / |1 + e_i|, |e_i| <= u; sum of squares within gamma_{n+1}
        # plus the squares' underflow; upper and lower ends separately (no sqrt of negatives)
        d = own - gcen
        s = float(d @ d)
        nn = d.size
        gam = A.gamma(nn + 1)
        S = arb(s) * arb(1, gam) + arb(0, nn * 2.0**-1070)
        dist_hi = A.hi(arb(A.hi(S)).sqrt() / (1 - arb(A.U)))
        dist_lo = max(0.0, A.lo(arb(max(0.0, A.lo(S))).sqrt() / (1 + arb(A.U))))
        r_k = r_claim[k]
        two = A.hi(arb(dist_hi) + arb(radius) + arb(r_k))
        s42 = A.hi(arb(e_claim[k]) + arb(r_k)) if k <= s42_end else math.inf
        gu = V.num(c, "gap_upper", cw)
        V.consistent_up(f"{cw}.gap_upper", gu, min(two, s42), stats)
        gl = V.num(c, "gap_lower", cw)
        V.consistent_down(f"{cw}.gap_lower", gl, max(0.0, A.lo(arb(dist_lo) - arb(radius) - arb(r_k))), stats)
        g42 = c.get("gap_upper_s42")
        if k <= s42_end:
            V.consistent_up(f"{cw}.gap_upper_s42", V.num(c, "gap_upper_s42", cw), s42, stats)
        elif g42 is not None:
            raise V.Invalid(f"{cw}.gap_upper_s42: claimed after s42_end = {s42_end}")
        # the loss is an estimate (float evaluation at the float iterate)
        own_loss = _float_loss(iterates[k], loss, problem)
        stats[0] += 1
        if not abs(V.num(c, "loss", cw) - own_loss) <= 1e-9 * max(1.0, abs(own_loss)):
            raise V.Invalid(f"{cw}.loss: {c.get('loss')!r} is not the loss at the iterate ({own_loss!r})")
        max_up = max(max_up, gu)
    stats[0] += 1
    if V.num(claims, "max_gap_upper", "claims") != max_up:
        raise V.Invalid(f"claims.max_gap_upper: {claims.get('max_gap_upper')!r} is not the largest gap_upper ({max_up!r})")
    return {"steps": K, "flow_steps": len(flow["steps"]), "checkpoints": len(ks), "max_gap_upper": max_up}


def _check_gd(problem, loss, s_G, eta, K, refs, segs, starts, ks, s42_end, stats, strict, pre=""):
    """Sections 1-3 for one GD run: recompute the float iterates block by block,
    confirm every segment claim and replay the S4.5 / S4.2 recursions.  Returns
    ``(iterates at ks, r_k claims, e_k claims)``; ``pre`` prefixes the field
    names in messages (``runs[1].`` in a distance certificate)."""
    from flint import arb

    N = problem.depth
    ks_set = set(ks)
    # ------------------------------------------------------------------ GD
    Ws = [np.array(w, dtype=np.float64) for w in problem.weights]
    iterates = {}
    r_claim = {0: 0.0}
    e_claim = {0: 0.0}
    r_prev, e_prev = 0.0, 0.0
    alive = True
    H = arb(eta)
    for bi, k0 in enumerate(starts):
        k1 = starts[bi + 1] if bi + 1 < len(starts) else K
        ref = refs[bi]
        where = f"{pre}refs[{bi}]"
        if not isinstance(ref, dict) or ref.get("k") != k0:
            raise V.Invalid(f"{where}.k: expected {k0}")
        # reference bounds (section 3) at the checker's own iterate
        n = [V.num({"x": x}, "x", f"{where}.layer_norm2") for x in V.field(ref, "layer_norm2", where, list)]
        if len(n) != N:
            raise CertificateError(f"{where}.layer_norm2: expected {N} numbers")
        for l in range(N):
            V.truth(f"{where}.layer_norm2[{l}]", n[l], A.spec2_up(Ws[l]), stats)
        pi = {}
        want = {(b, a) for a in range(1, N + 1) for b in range(a + 1, N + 1)} - {(N, 1)}
        rows = V.field(ref, "prod_norm2", where, list)
        for m_i, row in enumerate(rows):
            if not isinstance(row, list) or len(row) != 3:
                raise CertificateError(f"{where}.prod_norm2[{m_i}]: expected [b, a, value]")
            b, a, v = row
            if (b, a) not in want or (b, a) in pi:
                raise V.Invalid(f"{where}.prod_norm2[{m_i}]: unexpected partial product ({b}, {a})")
            pi[(b, a)] = V.num({"x": v}, "x", f"{where}.prod_norm2[{m_i}]")
        if set(pi) != want:
            raise V.Invalid(f"{where}.prod_norm2: missing partial products {sorted(want - set(pi))}")
        prods = {}
        for a in range(1, N + 1):
            M, Mr = Ws[a - 1], None
            for b in range(a + 1, N + 1):
                M, Mr = A.mm(Ws[b - 1], None, M, Mr)
                prods[(b, a)] = (M, Mr)
        for m_i, (b, a) in enumerate(sorted(pi)):
            V.truth(f"{where}.prod_norm2[{m_i}]", pi[(b, a)], A.spec2_up(*prods[(b, a)]), stats)
        if N == 1:
            P, Pr = Ws[0], None
        else:
            P, Pr = prods[(N, 1)]
        Gm, Gr = loss.G_ball(P, Pr)
        g = V.num(ref, "G_norm2", where)
        V.truth(f"{where}.G_norm2", g, A.spec2_up(Gm, Gr), stats)
        drift_max = [V.num({"x": x}, "x", f"{where}.drift_max") for x in V.field(ref, "drift_max", where, list)]
        step_max = [V.num({"x": x}, "x", f"{where}.step_max") for x in V.field(ref, "step_max", where, list)]
        if len(drift_max) != N or len(step_max) != N:
            raise CertificateError(f"{where}: drift_max and step_max need {N} entries")
        r_block = V.num(ref, "r_block", where)
        # the block's S3.1 pieces (section 2): the claimed reference norms, widened
        # by the block's drift, on the ball of radius r_block around each iterate
        sig = {(l + 1, l + 1): arb(n[l]) for l in range(N)}
        sig.update({ba: arb(v) for ba, v in pi.items()})
        moved = V.widen(sig, [arb(x) for x in drift_max])
        parts_r = V.tube(moved, [arb(r_block)] * N, N)
        s42_cache = {}
        its, new_Ws, rounds, steps_l, drifts, gdiffs = V.gd_block(Ws, eta, loss, N, k1 - k0)
        if any(A.nonfinite(w) for w in new_Ws) or not np.all(np.isfinite(rounds)):
            raise V.Invalid(f"{pre}segments[{k0}..{k1 - 1}]: the float GD iterates overflow")
        if strict:
            rounds = V.strict_rounds(its, its[1:] + [new_Ws], eta, loss, problem, N)
        for l in range(N):
            V.truth(f"{where}.drift_max[{l}]", drift_max[l], float(drifts[:, l].max()), stats)
            V.truth(f"{where}.step_max[{l}]", step_max[l], float(steps_l[:, l].max()), stats)
        for k in range(k0, k1):
            seg = segs[k]
            sw = f"{pre}segments[{k}]"
            if not isinstance(seg, dict) or seg.get("k") != k:
                raise V.Invalid(f"{sw}.k: expected {k}")
            if k in ks_set:
                iterates[k] = its[k - k0]
            rnd = V.num(seg, "round", sw)
            V.truth(f"{sw}.round", rnd, float(rounds[k - k0]), stats)
            dnorm = V.num(seg, "dnorm", sw)
            V.truth(f"{sw}.dnorm", dnorm, A.vec_norm_up([float(x) for x in steps_l[k - k0]]), stats)
            V.truth(f"{where}.r_block (at step {k})", r_block, r_prev, stats)
            gdiff = V.num(seg, "gdiff", sw)
            V.truth(f"{sw}.gdiff", gdiff, float(gdiffs[k - k0]), stats)
            g_k = arb(g) + arb(gdiff)  # >= ||G(theta^_k)||_2
            mu_r, beta_r = V.num(seg, "mu_r", sw), V.num(seg, "beta_r", sw)
            mu_r_x, beta_r_x = V.mu_beta(parts_r, g_k, s_G, N)
            V.truth(f"{sw}.mu_r", mu_r, mu_r_x, stats)
            V.truth(f"{sw}.beta_r", beta_r, beta_r_x, stats)
            # S4.5 recursion
            q = max(A.hi(1 + H * arb(mu_r)), A.hi(H * arb(beta_r) - 1))
            r_x = A.hi(arb(q) * arb(r_prev) + arb(rnd))
            r_new = V.num(seg, "r", sw)
            V.consistent_up(f"{sw}.r", r_new, r_x, stats)
            # S4.2 while alive
            has = all(key in seg for key in ("rho", "mu", "beta", "e"))
            if k < s42_end:
                if not has:
                    raise V.Invalid(f"{sw}: missing the S4.2 claims (s42_end = {s42_end})")
                rho = V.num(seg, "rho", sw)
                if rho not in s42_cache:
                    s42_cache[rho] = V.tube(moved, [arb(y) + arb(rho) for y in step_max], N)
                mu_x, beta_x = V.mu_beta(s42_cache[rho], g_k, s_G, N)
                mu, beta = V.num(seg, "mu", sw), V.num(seg, "beta", sw)
                V.truth(f"{sw}.mu", mu, mu_x, stats)
                V.truth(f"{sw}.beta", beta, beta_x, stats)
                e_x = A.hi((arb(mu) * H).exp() * (arb(e_prev) + arb(rnd) + H * arb(beta) * arb(dnorm) / 2))
                e_new = V.num(seg, "e", sw)
                V.consistent_up(f"{sw}.e", e_new, e_x, stats)
                stats[0] += 1
                if not e_new < rho:
                    raise V.Invalid(f"{sw}.rho: the S4.2 tube is not valid (e = {e_new!r} >= rho = {rho!r})")
                e_prev = e_new
                e_claim[k + 1] = e_new
            elif has or any(key in seg for key in ("rho", "mu", "beta", "e")):
                raise V.Invalid(f"{sw}: S4.2 claims after s42_end = {s42_end}")
            r_prev = r_new
            r_claim[k + 1] = r_new
        Ws = new_Ws
    if K in ks:
        iterates[K] = [w.copy() for w in Ws]
    if s42_end > K:
        raise V.Invalid(f"{pre}s42_end: {s42_end} > steps = {K}")
    return iterates, r_claim, e_claim


def _float_loss(Ws, loss, problem) -> float:
    P = Ws[0]
    for w in Ws[1:]:
        P = w @ P
    if loss.square:
        c = problem.loss.float_stats[2]
        return 0.5 * float(np.vdot(P @ loss.Sxx_f, P)) - float(np.vdot(P, loss.Syx_f)) + c
    D = P - loss.Phi
    return 0.5 * float(np.vdot(D, D))


def _check_flow(flow, problem, loss, s_G, eta_q, K, ks, cps, N, n_params, stats, strict=False) -> dict:
    """Section 4: returns ``{k: (gf_center, radius)}`` for the checkpoints."""
    from flint import arb

    p = V.integer(flow, "order", "flow", 1)
    steps = V.field(flow, "steps", "flow", list)
    evals = V.field(flow, "evals", "flow", list)
    if not steps:
        raise V.Invalid("flow.steps: no steps")
    T = eta_q * K
    if len(evals) != len(ks) or [e.get("k") if isinstance(e, dict) else None for e in evals] != ks:
        raise V.Invalid("flow.evals: one evaluation per checkpoint is required, in order")
    by_step = {}
    for i, ev in enumerate(evals):
        by_step.setdefault(V.integer(ev, "step", f"flow.evals[{i}]", 0), []).append(i)
    centers = [np.array(w, dtype=np.float64) for w in problem.weights]
    t = Fraction(0)
    e0_x = 0.0
    out = {}
    for n_i, st in enumerate(steps):
        sw = f"flow.steps[{n_i}]"
        t0, h, a, e1 = F.verify_step(st, sw, n_i == 0, t, T, p, centers, e0_x, loss, s_G, strict, stats)
        for i in by_step.get(n_i, []):
            ev = evals[i]
            k = ks[i]
            tk = eta_q * k
            stats[0] += 1
            if not t0 <= tk <= t0 + h:
                raise V.Invalid(f"flow.evals[{i}].step: k eta = {float(tk)!r} is not in step {n_i}")
            gc = V.hexvec(cps[i].get("gf_center_hex"), n_params, f"claims.checkpoints[{i}].gf_center_hex")
            radius = V.num(ev, "radius", f"flow.evals[{i}]")
            if tk == 0:
                own = np.concatenate([c.reshape(-1) for c in centers])
                req = A.fro_diff_up(own, gc)
            else:
                yb = F.horner(a, tk - t0)
                mid = np.concatenate([m.reshape(-1) for m, _ in yb])
                dev = A.vec_norm_up([A.fro_up(np.zeros_like(r), r) for _, r in yb])
                req = A.hi(arb(e1) + arb(A.fro_diff_up(mid, gc)) + arb(dev))
            V.truth(f"flow.evals[{i}].radius", radius, req, stats)
            out[k] = (gc, radius)
        centers, e0_x = F.verify_step_end(st, sw, a, h, e1, stats)
        t = t0 + h
    stats[0] += 1
    if t != T:
        raise V.Invalid(f"flow.steps: the enclosure ends at t = {float(t)!r}, not at K eta = {float(T)!r}")
    missing = [k for k in ks if k not in out]
    if missing:
        raise V.Invalid(f"flow.evals: no verified evaluation for checkpoint k = {missing[0]}")
    return out


def _check_converge(doc: dict, stats, strict: bool) -> dict:
    """``certify/converge-v1``: the shape (JSON Schema ``schemas/converge-v1.json``:
    no field the schema does not name, anywhere; the statement and source are
    its constants), the embedded gap certificate in full, then the loss bounds
    on the two balls with the checker's own box evaluation."""
    from flint import arb

    from . import _converge_check as CC

    stats[0] += 1
    CC.validate(doc, V.Invalid)
    eps = V.num(doc, "eps", "certificate")
    eta = V.num(doc, "eta", "certificate")
    K = V.integer(doc, "K", "certificate", 1)
    gap = V.field(doc, "gap", "certificate", dict)
    if gap.get("schema") != SCHEMA:
        raise CertificateError(f"certificate.gap: expected a {SCHEMA} document")
    claims = V.field(doc, "claims", "certificate", dict)
    if not eps > 0:
        raise CertificateError("certificate.eps: must be > 0")
    summary = _check(gap, stats, strict)
    stats[0] += 2
    if gap.get("eta") != eta or gap.get("steps") != K:
        raise V.Invalid("eta/K: differ from the embedded gap certificate's eta/steps")
    from .._problem import problem_from_dict

    problem = problem_from_dict(gap["problem"], name="certificate.gap.problem")
    last = gap["claims"]["checkpoints"][-1]
    if last["k"] != K:
        raise V.Invalid("gap: its last checkpoint is not step K")
    center = V.hexvec(last["gf_center_hex"], problem.n_params, "gap checkpoint K gf_center_hex")
    rho, gu = float(last["gf_radius"]), float(last["gap_upper"])
    R = V.num(claims, "ball_radius", "claims")
    V.truth("claims.ball_radius", R, A.hi(arb(rho) + arb(gu)), stats)
    gf = V.num(claims, "gf_loss_upper", "claims")
    V.truth("claims.gf_loss_upper", gf, _loss_box_upper(problem, center, rho), stats)
    gd = V.num(claims, "gd_loss_upper", "claims")
    V.truth("claims.gd_loss_upper", gd, _loss_box_upper(problem, center, R), stats)
    stats[0] += 2
    if not gf <= eps / 2:
        raise V.Invalid(f"claims.gf_loss_upper: {gf!r} > eps/2 = {eps / 2!r}")
    if not gd <= eps:
        raise V.Invalid(f"claims.gd_loss_upper: {gd!r} > eps = {eps!r}")
    summary.update({"converge": "translation verified", "eps": eps, "eta": eta, "K": K,
                    "gf_loss_upper": gf, "gd_loss_upper": gd})
    return summary


def _loss_box_upper(problem, center: np.ndarray, radius: float) -> float:
    """Upper bound of the loss over the ball ``||theta - center|| <= radius``, in
    the checker's float mid-rad arithmetic: the smaller of the box evaluation
    (the box ``|theta_i - c_i| <= radius`` contains the ball) and the centred
    form ``f(c) + ||grad f(c)|| rho + beta rho^2 / 2`` with the S4.5 (a) bound
    ``beta`` on the ball (layers within ``rho`` of ``c``)."""
    from flint import arb

    from .._problem import SquareLoss

    i, Ws = 0, []
    for j in range(problem.depth):
        r, c = problem.dims[j + 1], problem.dims[j]
        Ws.append(center[i:i + r * c].reshape(r, c))
        i += r * c
    rad = float(radius)
    square = isinstance(problem.loss, SquareLoss)

    def residual(Wm, Wr):
        P, Pr = Wm[0], Wr[0]
        Ps = [(P, Pr)]
        for W, R in zip(Wm[1:], Wr[1:]):
            P, Pr = A.mm(W, R, P, Pr)
            Ps.append((P, Pr))
        if square:
            X = np.asarray(problem.loss.X, dtype=np.float64)
            Y = np.asarray(problem.loss.Y, dtype=np.float64)
            Rm, Rr = A.mm(P, Pr, X, None)
            Rm, Rr = A.addsub(Rm, Rr, Y, None, -1)
            return Rm, Rr, 2.0 * problem.loss.m, Ps
        Rm, Rr = A.addsub(P, Pr, np.asarray(problem.loss.target, dtype=np.float64), None, -1)
        return Rm, Rr, 2.0, Ps

    def sq_up(m, r):
        a = A.abs_up(m, r).ravel()
        return float(A.infl(float(a @ a), a.size + 2))

    Rm, Rr, div, _ = residual(Ws, [np.full(w.shape, rad) for w in Ws])
    box = math.nextafter(float(A.infl(sq_up(Rm, Rr) / div, 1)), math.inf)
    # centred form
    N = problem.depth
    Rm, Rr, div, Ps = residual(Ws, [None] * N)
    f0 = math.nextafter(float(A.infl(sq_up(Rm, Rr) / div, 1)), math.inf)
    loss = V.Loss(problem)
    if square:
        X = np.asarray(problem.loss.X, dtype=np.float64)
        Gm, Gr = A.mm(Rm, Rr, X.T, None)
        m = float(problem.loss.m)
        Gm, Gr = Gm / m, A.infl(Gr / m + A.U * np.abs(Gm / m) + A.TINY, 3)
        s_G = loss.sxx_norm2
    else:
        Gm, Gr = Rm, Rr
        s_G = 1.0
    g2 = 0.0
    for j in range(N):
        L, Lr = Gm, Gr
        for k in range(N - 1, j, -1):
            L, Lr = A.mm(Ws[k].T, None, L, Lr)
        if j > 0:
            P, Pr = Ps[j - 1]
            L, Lr = A.mm(L, Lr, P.T, None if Pr is None else Pr.T)
        g2 += sq_up(L, Lr)
    gnorm = math.nextafter(math.sqrt(float(A.infl(g2, 2 * N + 2))), math.inf)
    n = [A.spec2_up(w) for w in Ws]
    pi = {}
    for a in range(1, N + 1):
        M, Mr = Ws[a - 1], None
        for b in range(a + 1, N + 1):
            M, Mr = A.mm(Ws[b - 1], None, M, Mr)
            if (b, a) != (N, 1):
                pi[(b, a)] = A.spec2_up(M, Mr)
    P, Pr = Ps[-1]
    GGm, GGr = loss.G_ball(P, Pr)
    g = A.spec2_up(GGm, GGr)
    sig = {(l + 1, l + 1): arb(n[l]) for l in range(N)}
    sig.update({ba: arb(v) for ba, v in pi.items()})
    _, beta = V.mu_beta(V.tube(sig, [arb(rad)] * N, N), g, s_G, N)
    Rb = arb(rad)
    centred = A.hi(arb(f0) + arb(gnorm) * Rb + beta * Rb * Rb / 2)
    return min(box, centred)
