"""Issue 12 item 4 for the curvature family and the conditions checker on the kernel losses (cross-entropy,
logistic): the Arb enclosures of ``Hf`` (S3.2: ``hessian_ball``, ``lambda_min_enclosure``), S3.1 with ``s_G``
(``s31_vs_s32``), ``gradient_ball``, the certified ``m(t)`` of ``curvature_profile``, and the verdicts of
``check_conditions``, against an independent 50-digit truth.

The truth is this file's own (mpmath, finite formulas; certify is used only to read the problem, through
tests/helpers/ce_reference.py): ``Hl[E, F] = (1/m) sum_i (E x_i)^T A_i (F x_i)`` with ``A_i = s_i (diag(p_i) -
p_i p_i^T)``, ``p_i = softmax(W x_i)`` (logistic ``A_i = sigma(t_i)(1 - sigma(t_i))``, ``t_i = -y_i W x_i``), and
``Hf`` from S2.2 (``Hf[a, b] = Hl[J_a, J_b] + <G, W_{N:j+1} E_a W_{j-1:i+1} E_b W_{i-1:1}>`` for ``a`` in layer
``j > i``, ``b`` in layer ``i``), itself checked against central differences of the reference gradient."""

from __future__ import annotations

import json
from fractions import Fraction
from functools import lru_cache

import mpmath
import numpy as np
import pytest
from flint import arb

import certify
from certify.curvature.s32 import KernelHessian, gradient_ball, hessian_ball, lambda_min_enclosure, s31_vs_s32
from certify.cli import main
from helpers.ce_reference import Reference, _prod

DPS = 50

SOFT_CE = {  # soft labels (columns sum to 1), d_N = 3
    "dims": [3, 4, 3],
    "loss": {"kind": "cross_entropy",
             "X": [[1.0, 2.0, 0.5, -1.0], [0.0, 1.0, 2.0, 3.0], [0.25, -2.0, 1.0, 1.0]],
             "Y": [[1.0, 0.0, 0.5, 0.25], [0.0, 1.0, 0.25, 0.25], [0.0, 0.0, 0.25, 0.5]]},
    "init": {"scheme": "gaussian", "scale": 0.7, "seed": 3},
}
OFF_SUM_CE = {  # columns summing to 1 + 2^-31 and 1 - 2^-31 (accepted: within 2^-30), so s_i != 1 exactly
    "dims": [2, 3, 3],
    "loss": {"kind": "cross_entropy", "X": [[1.0, 0.5, -1.0], [0.0, 1.0, 0.5]],
             "Y": [[0.5, 0.0, 0.25], [0.5 + 2.0**-31, 1.0 - 2.0**-31, 0.25], [0.0, 0.0, 0.5]]},
    "init": {"weights": [[[0.5, -0.25], [0.25, 0.75], [-1.0, 0.5]], [[0.5, 0.5, -0.25], [-0.5, 0.25, 1.0],
                                                                      [0.25, -0.75, 0.5]]]},
}
ONE_HOT_CE = {  # depth 3, one-hot labels
    "dims": [2, 2, 3, 3],
    "loss": {"kind": "cross_entropy", "X": [[1.0, 0.5, -1.0, 0.25, 2.0], [0.0, 1.0, 0.5, -0.75, 1.0]],
             "Y": [[1.0, 0.0, 0.0, 1.0, 0.0], [0.0, 1.0, 0.0, 0.0, 0.0], [0.0, 0.0, 1.0, 0.0, 1.0]]},
    "init": {"weights": [[[0.5, -0.25], [0.25, 0.75]], [[0.5, 0.5], [-0.5, 0.25], [0.25, -0.75]],
                         [[0.75, -0.5, 0.25], [0.125, 0.5, -0.25], [-0.5, 0.25, 1.0]]]},
}
DEPTH1_CE = {
    "dims": [2, 3],
    "loss": {"kind": "cross_entropy", "X": [[1.0, 0.5, -1.0], [0.0, 1.0, 0.5]],
             "Y": [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]},
    "init": {"weights": [[[0.5, -0.25], [0.25, 0.75], [-1.0, 0.5]]]},
}
LOGISTIC = {
    "dims": [2, 3, 1],
    "loss": {"kind": "logistic", "X": [[1.0, 2.0, 0.5, -1.0], [0.0, 1.0, 2.0, 3.0]], "y": [1, -1, 1.0, -1]},
    "init": {"scheme": "gaussian", "scale": 0.7, "seed": 3},
}
LOGISTIC3 = {
    "dims": [3, 2, 2, 1],
    "loss": {"kind": "logistic",
             "X": [[1.0, 0.5, -1.0, 2.0, 0.25], [0.0, 1.0, 0.5, -0.5, 1.5], [0.5, -0.25, 1.0, 0.0, -1.0]],
             "y": [1, -1, 1, -1, -1]},
    "init": {"weights": [[[0.5, -0.25, 0.125], [0.25, 0.75, -0.5]], [[0.5, 0.25], [-0.75, 0.5]], [[0.5, -0.75]]]},
}
INSTANCES = {"soft-ce": SOFT_CE, "off-sum-ce": OFF_SUM_CE, "one-hot-ce-depth3": ONE_HOT_CE, "ce-depth1": DEPTH1_CE,
             "logistic": LOGISTIC, "logistic-depth3": LOGISTIC3}


def scaled(spec, c):
    """``spec`` with every layer multiplied by ``c^(1/N)`` (end-to-end times ``c``): large logits."""
    p = certify.load_problem(spec)
    out = json.loads(json.dumps(p.to_json()))
    f = c ** (1.0 / p.depth)
    out["init"] = {"weights": [(np.asarray(w) * f).tolist() for w in p.weights]}
    return out


def zero_end_to_end(spec):
    """``spec`` with the last layer 0: every logit 0 (all classes tied)."""
    p = certify.load_problem(spec)
    out = json.loads(json.dumps(p.to_json()))
    out["init"] = {"weights": [w.tolist() for w in p.weights[:-1]] + [np.zeros_like(p.weights[-1]).tolist()]}
    return out


# ---------------------------------------------------------------------------
# the 50-digit truth
# ---------------------------------------------------------------------------


def _mp(x) -> mpmath.mpf:
    q = Fraction(float(x))
    return mpmath.mpf(q.numerator) / q.denominator


def mp_curvature(ref: Reference, W) -> list:
    """Per sample ``A_i`` (``d_N x d_N`` mpmath matrices): the logit Hessian of sample ``i``'s loss at ``W x_i``."""
    Xm = mpmath.matrix([[_mp(v) for v in row] for row in ref.X])
    Z = W * Xm
    d = Z.rows
    out = []
    for i in range(ref.m):
        A = mpmath.matrix(d, d)
        if ref.kind == "logistic":
            sg = 1 / (1 + mpmath.exp(ref.y[i] * Z[0, i]))  # sigma(t), t = -y z
            A[0, 0] = sg * (1 - sg)
        else:
            zmax = max(Z[c, i] for c in range(d))
            ex = [mpmath.exp(Z[c, i] - zmax) for c in range(d)]
            S = mpmath.fsum(ex)
            p = [e / S for e in ex]
            s = _mp(sum(ref.Y[c][i] for c in range(d)))
            for a in range(d):
                for b in range(d):
                    A[a, b] = s * ((p[a] if a == b else 0) - p[a] * p[b])
        out.append(A)
    return out


def mp_hl(ref: Reference, A, E, F) -> mpmath.mpf:
    """``Hl[E, F] = (1/m) sum_i (E x_i)^T A_i (F x_i)``."""
    Xm = mpmath.matrix([[_mp(v) for v in row] for row in ref.X])
    VE, VF = E * Xm, F * Xm
    tot = mpmath.mpf(0)
    for i in range(ref.m):
        tot += (VE[:, i].T * A[i] * VF[:, i])[0, 0]
    return tot / ref.m


def _unit(r, c, a, b):
    E = mpmath.matrix(r, c)
    E[a, b] = 1
    return E


def mp_hessian(ref: Reference, theta) -> mpmath.matrix:
    """``Hf(theta)`` (S2.2, polarised) at ``theta`` (floats or mpf), 50 digits."""
    with mpmath.workdps(DPS):
        th = [x if isinstance(x, mpmath.mpf) else _mp(x) for x in theta]
        Ws = ref.unflatten(th)
        dims, N = ref.dims, ref.N
        P = ref.end_to_end(Ws)
        G = ref.grad_W(P)
        A = mp_curvature(ref, P)
        params = [(j, a, b) for j in range(N) for a in range(dims[j + 1]) for b in range(dims[j])]
        J = [_prod(Ws[j + 1:], dims[j + 1]) * _unit(dims[j + 1], dims[j], a, b) * _prod(Ws[:j], dims[0])
             for j, a, b in params]
        n = len(params)
        H = mpmath.matrix(n, n)
        for u in range(n):
            for v in range(u, n):
                val = mp_hl(ref, A, J[u], J[v])
                (ju, au, bu), (jv, av, bv) = params[u], params[v]
                if ju != jv:
                    (hi_, ha, hb), (lo_, la, lb) = max(params[u], params[v]), min(params[u], params[v])
                    T = (_prod(Ws[hi_ + 1:], dims[hi_ + 1]) * _unit(dims[hi_ + 1], dims[hi_], ha, hb)
                         * _prod(Ws[lo_ + 1:hi_], dims[lo_ + 1]) * _unit(dims[lo_ + 1], dims[lo_], la, lb)
                         * _prod(Ws[:lo_], dims[0]))
                    val += mpmath.fsum(G[r, c] * T[r, c] for r in range(G.rows) for c in range(G.cols))
                H[u, v] = H[v, u] = val
        return H


def mp_eigs(H) -> list:
    with mpmath.workdps(DPS):
        return sorted(mpmath.eigsy(H, eigvals_only=True))


@lru_cache(maxsize=None)
def reference(name) -> Reference:
    return Reference(INSTANCES[name])


def problem(name):
    return certify.load_problem(INSTANCES[name])


def truth_ball(x):
    """The 50-digit value as a ball of radius 1e-40 (its own error is ~1e-48)."""
    return arb(mpmath.nstr(x, 48), 1e-40)


# ---------------------------------------------------------------------------
# the truth is right: S2.2's assembled Hessian against central differences of the gradient
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["soft-ce", "one-hot-ce-depth3", "logistic-depth3"])
def test_truth_hessian_is_the_derivative_of_the_reference_gradient(name):
    ref = reference(name)
    th0 = ref.theta0()
    H = mp_hessian(ref, th0)
    with mpmath.workdps(70):
        h = mpmath.mpf(10) ** -25  # central differences: error ~h^2 = 1e-50
        scale = max(abs(H[i, j]) for i in range(H.rows) for j in range(H.cols))
        for col in range(0, len(th0), 3):
            up = list(th0)
            dn = list(th0)
            up[col] += h
            dn[col] -= h
            fd = [(a - b) / (2 * h) for a, b in zip(ref.grad(up), ref.grad(dn))]
            assert max(abs(fd[r] - H[r, col]) for r in range(len(th0))) <= mpmath.mpf(10) ** -40 * scale


# ---------------------------------------------------------------------------
# S3.2: hessian_ball and lambda_min_enclosure
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(INSTANCES))
def test_hessian_ball_contains_the_50_digit_hessian_at_the_point(name):
    p, ref = problem(name), reference(name)
    H = hessian_ball(p, p.theta0)
    T = mp_hessian(ref, p.theta0)
    n = p.n_params
    assert (H.nrows(), H.ncols()) == (n, n)
    for i in range(n):
        for j in range(n):
            assert H[i, j].overlaps(truth_ball(T[i, j])), (i, j)
            assert float(H[i, j].rad()) <= 1e-28 * (1 + abs(float(T[i, j])))  # not vacuous
    lo, hi = lambda_min_enclosure(H)
    lam = mp_eigs(T)[0]
    assert lo <= lam <= hi
    assert hi - lo <= 1e-12 * (1 + abs(float(lam)))


@pytest.mark.parametrize("name", ["soft-ce", "one-hot-ce-depth3", "logistic", "logistic-depth3"])
@pytest.mark.parametrize("radius", [1e-6, 1e-2])
def test_hessian_ball_contains_the_hessian_anywhere_in_the_box(name, radius):
    p, ref = problem(name), reference(name)
    H = hessian_ball(p, p.theta0, radius)
    lo, hi = lambda_min_enclosure(H)
    rng = np.random.default_rng(7)
    n = p.n_params
    for z in (p.theta0 + rng.uniform(-radius, radius, n), p.theta0 + radius * rng.choice([-1.0, 1.0], n)):
        T = mp_hessian(ref, z)
        for i in range(n):
            for j in range(n):
                assert H[i, j].overlaps(truth_ball(T[i, j])), (i, j)
        assert lo <= mp_eigs(T)[0] <= hi
    # the box's width is the radius's doing, not a vacuous enclosure
    assert max(float(H[i, j].rad()) for i in range(n) for j in range(n)) <= 1e3 * radius * (1 + float(abs(hi)))


@pytest.mark.parametrize("make", [lambda s: scaled(s, 40.0), zero_end_to_end], ids=["large-logits", "ties"])
@pytest.mark.parametrize("base", [SOFT_CE, ONE_HOT_CE, LOGISTIC])
def test_extreme_logits(make, base):
    """Large logits (end-to-end times 40: softmax entries down to e^-100) and exact ties (every logit 0)."""
    spec = make(base)
    p, ref = certify.load_problem(spec), Reference(spec)
    H = hessian_ball(p, p.theta0)
    T = mp_hessian(ref, p.theta0)
    n = p.n_params
    scale = max(1.0, max(abs(float(T[i, j])) for i in range(n) for j in range(n)))
    for i in range(n):
        for j in range(n):
            assert H[i, j].overlaps(truth_ball(T[i, j])), (i, j)
            assert float(H[i, j].rad()) <= 1e-25 * scale
    lo, hi = lambda_min_enclosure(H)
    assert lo <= mp_eigs(T)[0] <= hi


def test_kernel_hessian_apply_and_form_against_the_truth():
    """KernelHessian over a ball ``P +- r`` contains ``Hl(P')[E]`` and ``Hl(P')[E, E]`` at points ``P'`` of the ball,
    and its form is >= 0 (clamped: every sample's term is a variance)."""
    from flint import arb_mat

    from certify.arith import get_context

    rng = np.random.default_rng(3)
    for spec in (SOFT_CE, OFF_SUM_CE, LOGISTIC3, scaled(ONE_HOT_CE, 30.0)):
        p, ref = certify.load_problem(spec), Reference(spec)
        P = p.weights[0]
        for w in p.weights[1:]:
            P = w @ P
        E = rng.standard_normal(P.shape)
        Ea = arb_mat(E.tolist())
        for r in (0.0, 1e-3):
            with get_context("arb", prec=128):  # KernelHessian works in the caller's Arb precision
                Pa = arb_mat([[arb(float(x), r) for x in row] for row in P])
                K = KernelHessian(p.loss.kernel, Pa)
                HE, form = K.apply(Ea), K.form(Ea)
            assert form.lower() >= 0
            if r == 0:
                assert float(form.rad()) <= 1e-30 * float(abs(form.mid()))
            _check_kernel_hessian(ref, HE, form, E, [P] if r == 0 else [P, P + rng.uniform(-r, r, P.shape)])


def _check_kernel_hessian(ref, HE, form, E, points):
    for Pz in points:
        with mpmath.workdps(DPS):
            Wm = mpmath.matrix([[_mp(x) for x in row] for row in Pz])
            Em = mpmath.matrix([[_mp(x) for x in row] for row in E])
            A = mp_curvature(ref, Wm)
            assert form.overlaps(truth_ball(mp_hl(ref, A, Em, Em)))
            for a in range(E.shape[0]):
                for b in range(E.shape[1]):
                    assert HE[a, b].overlaps(truth_ball(mp_hl(ref, A, Em, _unit(E.shape[0], E.shape[1], a, b))))


@pytest.mark.parametrize("name", ["soft-ce", "logistic-depth3"])
@pytest.mark.parametrize("radius", [0.0, 1e-3])
def test_gradient_ball_contains_the_50_digit_gradient(name, radius):
    p, ref = problem(name), reference(name)
    G = gradient_ball(p, p.theta0, radius)
    z = p.theta0 + np.random.default_rng(1).uniform(-radius, radius, p.n_params)
    with mpmath.workdps(DPS):
        g = ref.grad([_mp(x) for x in z])
    flat = [x for M in G for x in M.entries()]
    assert len(flat) == len(g)
    for enc, x in zip(flat, g):
        assert enc.overlaps(truth_ball(x))
        if radius == 0:
            assert float(enc.rad()) <= 1e-30 * (1 + abs(float(x)))


# ---------------------------------------------------------------------------
# S3.1 with s_G
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(INSTANCES))
def test_s31_bounds_the_negative_curvature_at_random_points(name):
    p, ref = problem(name), reference(name)
    rng = np.random.default_rng(11)
    for k in range(3):
        theta = p.theta0 if k == 0 else p.theta0 + rng.standard_normal(p.n_params) * 0.5 * k
        r = s31_vs_s32(p, theta)
        lam = mp_eigs(mp_hessian(ref, theta))[0]
        m = max(mpmath.mpf(0), -lam)
        assert r["lambda_min"][0] <= lam <= r["lambda_min"][1]
        assert r["m"][0] <= m <= r["m"][1]
        assert r["s31_mu"] >= m - mpmath.mpf(10) ** -40  # S3.1 bounds m (Hl >= 0; depth 1: m = 0, eigsy's ~1e-51)
        assert r["s31_mu"] <= 50 * float(m) + 1.0  # and not vacuous on these instances


# ---------------------------------------------------------------------------
# the curvature profile (certify curvature)
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["soft-ce", "logistic"])
def test_curvature_profile_m_cert_bounds_m_at_the_enclosure_centers(name):
    p, ref = problem(name), reference(name)
    prof = certify.curvature_profile(p, 0.5, 2)
    assert prof["int_m_upper"] > 0 and prof["radius"] < 1e-6
    enc = certify.enclose_flow(p, 0.5, checkpoints=2)
    for row, cp in zip(prof["rows"], enc.checkpoints):
        m = max(mpmath.mpf(0), -mp_eigs(mp_hessian(ref, np.asarray(cp.center, dtype=np.float64)))[0])
        assert m <= row["m_cert"], row  # the center lies in its step's tube
        assert abs(row["m_est"] - float(m)) <= 1e-9 * (1 + float(m))
    # int m <= certified integral; trapezoid estimate below it
    assert prof["int_m_est"] <= prof["int_m_upper"] * (1 + 1e-9)
    rows = certify.curvature_by_scale(p, 0.5, (1.0, 0.1))
    assert [r.scale for r in rows] == [1.0, 0.1] and all(r.int_m_upper is not None and r.int_m_upper >= 0
                                                          for r in rows)


# ---------------------------------------------------------------------------
# conditions
# ---------------------------------------------------------------------------

WHITENED_ONLY = ("deficiency_margin", "acgh19_balancedness", "acgh19_step_size", "scalar_output_bad_set")


@lru_cache(maxsize=None)
def report(name, eta, eps, t_end):
    return certify.check_conditions(INSTANCES[name], eta=eta, eps=eps, t_end=t_end)


@pytest.mark.parametrize("name", ["soft-ce", "logistic"])
def test_conditions_statuses_as_decided(name):
    p, ref = problem(name), reference(name)
    rep = report(name, 1e-2, 0.1, 1.0)
    kind = p.loss.kind
    for n in WHITENED_ONLY:
        h = rep[n]
        assert h.status == "undetermined" and h.margin is None, n
        if n == "scalar_output_bad_set" and p.dims[-1] != 1:
            assert h.reason == f"not applicable: d_N = {p.dims[-1]} (scalar output needs d_N = 1)"
        else:
            assert h.reason.startswith("assumes the whitened square loss") and f"the {kind} loss has no target" in \
                h.reason, (n, h.reason)
    # smoothness and edge of stability: checked, certified, and sound against the truth at theta_0
    lam = mp_eigs(mp_hessian(ref, p.theta0))
    for n in ("smoothness", "edge_of_stability"):
        h = rep[n]
        assert h.status == "holds" and h.margin_lower > 0 and h.reason is None, n
    q = rep["smoothness"].quantities
    assert q["lambda_max_lower"] <= q["beta_upper"] and lam[-1] <= q["beta_upper"]
    q = rep["edge_of_stability"].quantities
    assert q["lambda_max_theta0_lower"] <= lam[-1] <= q["beta_along_gd_upper"]
    assert q["lambda_max_theta0_lower"] >= float(lam[-1]) * (1 - 1e-12)  # the Rayleigh quotient is tight here
    # curvature: reported, the certified m on the first segment bounds the true m at theta_0
    h = rep["curvature"]
    assert h.status == "undetermined" and h.reported
    assert h.quantities["m_segments"][0][2] >= max(0.0, -float(lam[0]))
    assert h.quantities["int_m_upper"] > 0
    # ec21 at eta = 1e-2 > its largest eta: undetermined, with the reason
    ec = rep["ec21_gap_theorem"]
    assert ec.status == "undetermined" and "exceeds the largest eta" in ec.reason
    assert any(f"the {kind} loss:" in note for note in rep.notes)
    import jsonschema

    jsonschema.validate(json.loads(json.dumps(rep.to_json(), allow_nan=False)), certify.schema("conditions"))


def test_conditions_ec21_holds_on_the_logistic_instance_and_bounds_the_gap():
    rep = report("logistic", 1e-4, 1e-3, 0.05)
    ec = rep["ec21_gap_theorem"]
    assert ec.status == "holds" and ec.margin_lower > 0, ec.reason
    q = ec.quantities
    assert q["largest_eta"] >= 1e-4 and q["bound_T"] <= 1e-3
    assert len(q["checkpoints"]) >= 10
    for row in q["checkpoints"]:
        assert row["bound"] >= row["gap_lower"] >= 0  # the a-priori bound >= the true gap >= its certified lower end
        if row["k"] > 0:
            assert row["bound"] >= row["gap_upper"]
    assert q["slack_T"] >= 1


def _layer_perturbation(rng, dims, d):
    """A parameter perturbation with every layer's Frobenius norm <= d."""
    out = []
    for j in range(len(dims) - 1):
        D = rng.standard_normal((dims[j + 1], dims[j]))
        out.append((D / np.linalg.norm(D) * d * rng.uniform(0.3, 1.0)).reshape(-1))
    return np.concatenate(out)


@pytest.mark.parametrize("name", ["ce-depth1", "soft-ce", "logistic"])
def test_gamma_is_a_lipschitz_constant_of_the_hessian_on_the_tube(name):
    """``||Hf(x) - Hf(y)||_2 <= gamma ||x - y||`` for x, y in the tube of a trajectory segment (every layer within
    ``rho + eps`` of the segment's center); at depth 1 the square-loss lemma's constant is 0 (``Hl`` constant): the
    kernel term ``L_H A^3`` is what bounds the change, so a gamma without it fails."""
    from certify.conditions.trajectory import _trajectory, tube_constants

    p, ref = problem(name), reference(name)
    traj = _trajectory(p, Fraction(1, 4), [Fraction(1, 8), Fraction(1, 4)])
    eps = 0.05
    seg = traj.segments[0]
    gamma = seg.at(eps, traj.s_G)["gamma"]
    rng = np.random.default_rng(5)
    d = seg.rho + eps
    worst = 0.0
    for _ in range(3):
        x = seg.center + _layer_perturbation(rng, p.dims, d)
        y = seg.center + _layer_perturbation(rng, p.dims, d)
        Hx, Hy = mp_hessian(ref, x), mp_hessian(ref, y)
        with mpmath.workdps(DPS):
            ev = mp_eigs(Hx - Hy)
            ratio = max(abs(ev[0]), abs(ev[-1])) / mpmath.sqrt(mpmath.fsum((_mp(a) - _mp(b)) ** 2
                                                                            for a, b in zip(x, y)))
        assert ratio <= gamma, (ratio, gamma)
        worst = max(worst, float(ratio))
    without = tube_constants(seg.ref, [d] * p.depth, traj.s_G, seg.gF)["gamma"]  # hess_lip = 0
    assert without < gamma
    if p.depth == 1:
        assert without <= 1e-300 and worst > 1e-3  # the square-loss lemma's gamma is 0 here


# ---------------------------------------------------------------------------
# the CLI on a cross-entropy problem file
# ---------------------------------------------------------------------------


@pytest.fixture
def ce_file(tmp_path):
    f = tmp_path / "ce.json"
    f.write_text(json.dumps(SOFT_CE))
    return f


def test_cli_curvature_on_a_cross_entropy_problem(capsys, tmp_path, ce_file):
    code = main(["curvature", str(ce_file), "--t-end", "0.5", "--checkpoints", "2", "--scales", "1,0.1",
                 "--plot", str(tmp_path / "c.png")])
    out, err = capsys.readouterr()
    assert code == 0 and not err
    assert "m upper (certified)" in out and "int_0^T m <=" in out and "not certified" not in out
    assert (tmp_path / "c.png").stat().st_size > 1000


def test_cli_conditions_on_a_cross_entropy_problem(capsys, ce_file):
    code = main(["conditions", str(ce_file), "--eta", "1e-2", "--t-end", "0.5"])
    out, err = capsys.readouterr()
    assert code == 0 and not err
    assert "smoothness" in out and "assumes the whitened square loss" in out
    code = main(["conditions", str(ce_file), "--eta", "1e-2", "--t-end", "0.5", "--json"])
    out, err = capsys.readouterr()
    assert code == 0 and not err
    doc = json.loads(out)
    import jsonschema

    jsonschema.validate(doc, certify.schema("conditions"))
    st = {h["name"]: h["status"] for h in doc["hypotheses"]}
    assert st["smoothness"] == st["edge_of_stability"] == "holds"
    assert all(st[n] == "undetermined" for n in WHITENED_ONLY)
