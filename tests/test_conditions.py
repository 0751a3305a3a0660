"""certify conditions (certify.conditions): verdicts and certified margins on instances whose margins are
known exactly, against independent exact / 50-digit computations; nothing failing is reported as holds;
the explicit GD-GF theorem (PAPER.md section 1) against the certified gap; the CLI contract; the proofs."""

import json
import math
from fractions import Fraction

import mpmath
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from certify import proofs
from certify.conditions import NAMES, SCHEMA, SOURCES, STATUSES, Hypothesis, Status, check_conditions
from certify._errors import UsageError
from certify.gap.run import certify_gap
from certify._problem import problem_from_dict
from certify.cli import main
from certify.strategies import problem_specs
from certify.proofs import ec21_gap_theorem, s2_2_hessian_lipschitz, s3_homogeneous

# ---------------------------------------------------------------------------
# independent reference computations (Fractions / mpmath at 50 digits)
# ---------------------------------------------------------------------------


def F(x):
    return Fraction(x)


def fmat(rows):
    return [[F(x) for x in r] for r in rows]


def matmul(A, B):
    return [[sum(A[i][k] * B[k][j] for k in range(len(B))) for j in range(len(B[0]))] for i in range(len(A))]


def transpose(A):
    return [list(r) for r in zip(*A)]


def fro2(A):
    return sum(x * x for r in A for x in r)


def exact_delta2(weights):
    """max_j ||W_{j+1}^T W_{j+1} - W_j W_j^T||_F^2 exactly."""
    Ws = [fmat(w) for w in weights]
    best = Fraction(0)
    for a, b in zip(Ws, Ws[1:]):
        D = [[x - y for x, y in zip(r1, r2)] for r1, r2 in zip(matmul(transpose(b), b), matmul(a, transpose(a)))]
        best = max(best, fro2(D))
    return best


def end_to_end(weights):
    Ws = [fmat(w) for w in weights]
    P = Ws[0]
    for W in Ws[1:]:
        P = matmul(W, P)
    return P


def mp(x):
    return mpmath.mpf(x.numerator) / x.denominator if isinstance(x, Fraction) else mpmath.mpf(x)


def sigma_min_mp(Phi):
    A = mpmath.matrix([[mp(F(x)) for x in r] for r in Phi])
    G = A * A.T if A.rows <= A.cols else A.T * A
    return mpmath.sqrt(max(min(mpmath.eigsy(G, eigvals_only=True)), 0))


def deficiency_mp(spec):
    Phi = spec["loss"]["target"]
    W = end_to_end(spec["init"]["weights"])
    dist = mpmath.sqrt(mp(fro2([[a - F(b) for a, b in zip(r1, r2)] for r1, r2 in zip(W, Phi)])))
    return sigma_min_mp(Phi) - dist, dist


def spec_of(dims, target, weights):
    return {"dims": dims, "loss": {"kind": "whitened", "target": target}, "init": {"weights": weights}}


def brackets(h, value, rel=1e-9, absolute=1e-300):
    """The certified enclosure contains the independent value and is tight."""
    v = float(value)
    assert h.margin_lower is not None and h.margin_upper is not None, h
    assert h.margin_lower <= v <= h.margin_upper, (h.name, h.margin_lower, v, h.margin_upper)
    assert h.margin_upper - h.margin_lower <= rel * max(abs(v), 1e-12) + absolute, (h.name, h.margin_lower,
                                                                                     h.margin_upper)


def consistent(h):
    """The status follows from the certified margin (module conventions)."""
    assert h.status in STATUSES and h.source in SOURCES
    if h.status == "holds":
        assert h.source != "[EC21-informal]"
        if h.exact:
            assert h.margin_lower == 0.0 == h.margin_upper
        else:
            assert h.margin_lower is not None and h.margin_lower > 0 and h.margin == h.margin_lower
    if h.status == "fails":
        if h.exact:
            assert h.margin_upper == 0.0
        elif h.margin_upper is not None:
            assert h.margin_upper < 0 and h.margin == h.margin_upper
        else:
            assert h.reason  # a failed precondition, stated


# ---------------------------------------------------------------------------
# balancedness
# ---------------------------------------------------------------------------


def test_balanced_diagonal_instance_holds_exactly():
    # W_1 (2x3) = [diag(a, b) | 0], W_2 = W_3 = diag(a, b): W_{j+1}^T W_{j+1} = W_j W_j^T = diag(a^2, b^2)
    a, b = 1.25, 0.375
    spec = spec_of([3, 2, 2, 2], [[1.0, 0, 0], [0, 1.0, 0]],
                   [[[a, 0, 0], [0, b, 0]], [[a, 0], [0, b]], [[a, 0], [0, b]]])
    h = check_conditions(problem_from_dict(spec), trajectory=False)["balancedness"]
    assert h.status == "holds" and h.exact and h.margin == 0.0
    assert exact_delta2(spec["init"]["weights"]) == 0


@pytest.mark.parametrize("pert", [2.0**-5, -0.375, 1e-9])
def test_perturbed_instance_has_known_delta(pert):
    a, b = 1.25, 0.375
    ws = [[[a, 0, 0], [0, b, 0]], [[a, pert], [0, b]], [[a, 0], [0, b]]]
    spec = spec_of([3, 2, 2, 2], [[1.0, 0, 0], [0, 1.0, 0]], ws)
    h = check_conditions(problem_from_dict(spec), trajectory=False)["balancedness"]
    delta = mpmath.sqrt(mp(exact_delta2(ws)))
    assert h.status == "fails" and not h.exact
    brackets(h, -delta)


# ---------------------------------------------------------------------------
# deficiency margin and ACGH19 Theorem 1
# ---------------------------------------------------------------------------

# rotation with cos = 3/5, sin = 4/5: Phi = R diag(2, 0.75) R^T has sigma_min = 0.75 exactly
R = [[0.6, -0.8], [0.8, 0.6]]
PHI_ROT = [[sum(R[i][k] * [2.0, 0.75][k] * R[j][k] for k in range(2)) for j in range(2)] for i in range(2)]


@pytest.mark.parametrize(
    "target, weights, sign",
    [
        ([[2.0, 0.0], [0.0, 0.75]], [[[1.25, 0], [0, 0.5]], [[1.5, 0], [0, 1.0]]], +1),   # c = 0.75 - 0.2795
        ([[2.0, 0.0], [0.0, 0.75]], [[[1.25, 0], [0, 0.5]], [[1.0, 0], [0, 1.0]]], -1),   # c = 0.75 - 0.7906
        (PHI_ROT, [[[1.0, 0.25], [0.0, 1.0]], [[1.5, 0.0], [0.25, 0.75]]], -1),
        ([[1.0, 0.5, 0.0], [0.0, 1.0, 0.25]], [[[0.75, 0.5, 0.0], [0.0, 0.75, 0.25]], [[1.0, 0], [0, 1.25]]], +1),
    ],
)
def test_deficiency_margin_known_sign(target, weights, sign):
    dims = [len(target[0]), len(weights[0]), len(target)]
    spec = spec_of(dims, target, weights)
    h = check_conditions(problem_from_dict(spec), trajectory=False)["deficiency_margin"]
    with mpmath.workdps(50):
        c, _ = deficiency_mp(spec)
    assert (c > 0) == (sign > 0)
    assert h.status == ("holds" if sign > 0 else "fails")
    brackets(h, c, rel=1e-8)


def test_sigma_min_of_rotated_target_is_exact_value():
    spec = spec_of([2, 2, 2], PHI_ROT, [[[1.0, 0], [0, 1.0]], [[1.0, 0], [0, 1.0]]])
    q = check_conditions(problem_from_dict(spec), trajectory=False)["deficiency_margin"].quantities
    lo_, hi_ = q["sigma_min_Phi"]
    # PHI_ROT is only nearly R diag R^T in binary64; the 50-digit value is the reference
    with mpmath.workdps(50):
        s = sigma_min_mp(PHI_ROT)
    assert lo_ <= float(s) <= hi_ and hi_ - lo_ < 1e-9 and abs(float(s) - 0.75) < 1e-12


def _acgh19_reference(spec, eta):
    N = len(spec["dims"]) - 1
    with mpmath.workdps(50):
        c, dist = deficiency_mp(spec)
        phiF = mpmath.sqrt(mp(fro2(fmat(spec["loss"]["target"]))))
        delta = mpmath.sqrt(mp(exact_delta2(spec["init"]["weights"])))
        dmax = c**2 / (256 * N**3 * phiF ** (mpmath.mpf(2 * (N - 1)) / N))
        emax = c ** (mpmath.mpf(4 * N - 2) / N) / (6144 * N**3 * phiF ** (mpmath.mpf(6 * N - 4) / N))
        return c, delta, dmax, emax, dist**2 / 2


@pytest.mark.parametrize("factor, expect", [(0.5, "holds"), (2.0, "fails")])
def test_acgh19_conditions_on_balanced_instance(factor, expect):
    # exactly balanced (delta = 0), W = diag(1.5^2, 0.75^2) near Phi = diag(2.25, 0.75): c = 0.5625
    spec = spec_of([2, 2, 2], [[2.25, 0.0], [0.0, 0.75]], [[[1.5, 0], [0, 0.75]], [[1.5, 0], [0, 0.75]]])
    c, delta, dmax, emax, l0 = _acgh19_reference(spec, None)
    eta = float(emax) * factor
    eps = 1e-3
    rep = check_conditions(problem_from_dict(spec), eta=eta, eps=eps, trajectory=False)
    hb, hs = rep["acgh19_balancedness"], rep["acgh19_step_size"]
    assert delta == 0 and hb.status == "holds"
    brackets(hb, min(c, dmax - delta), rel=1e-8)
    assert hs.status == expect
    with mpmath.workdps(50):
        brackets(hs, min(c, emax - mpmath.mpf(eta)), rel=1e-8)
        lo_, hi_ = hs.quantities["eta_max"]
        assert lo_ <= float(emax) <= hi_ and hs.quantities["largest_admissible_eta"] <= float(emax)
        if expect == "holds":
            N = 2
            k = mpmath.log(l0 / eps) / (mpmath.mpf(eta) * c ** (mpmath.mpf(2 * (N - 1)) / N))
            it = hs.quantities["iterations_for_eps"]["at_eta"]
            assert it == math.ceil(float(k)) or it == math.ceil(float(k)) + 1
            assert hs.quantities["guarantee_applies"]
        else:
            assert hs.quantities["iterations_for_eps"]["at_eta"] is None


def test_acgh19_fails_without_deficiency_margin():
    rep = check_conditions("builtin:demo", trajectory=False)
    assert rep["deficiency_margin"].status == "fails"
    for name in ("acgh19_balancedness", "acgh19_step_size"):
        assert rep[name].status == "fails" and rep[name].margin_upper < 0
    # c < 0 certified: c_+ = 0, so both thresholds are exactly 0 (not [0, 1e-323])
    assert rep["acgh19_step_size"].quantities["eta_max"] == [0.0, 0.0]
    assert rep["acgh19_balancedness"].quantities["delta_max"] == [0.0, 0.0]
    assert rep["acgh19_step_size"].quantities["largest_admissible_eta"] is None


def test_exact_zeros_are_reported_as_exact_zeros():
    # exactly balanced and W_{N:1}(0) = Phi: delta = 0, ||W(0) - Phi|| = 0 and l(0) = 0 are exact balls 0
    spec = spec_of([2, 2, 2], [[2.25, 0.0], [0.0, 0.5625]], [[[1.5, 0], [0, 0.75]], [[1.5, 0], [0, 0.75]]])
    rep = check_conditions(problem_from_dict(spec), eta=1e-8, eps=1e-3, trajectory=False)  # eta_max ~ 1.2e-7
    q = rep["balancedness"].quantities
    assert q["delta_upper"] == 0.0 == q["delta_lower"] and q["per_layer_pair_upper"] == [0.0]
    assert rep["acgh19_balancedness"].quantities["delta"] == [0.0, 0.0]
    assert rep["deficiency_margin"].quantities["distance_W0_Phi"] == [0.0, 0.0]
    hs = rep["acgh19_step_size"]
    assert hs.status == "holds" and hs.quantities["l0"] == [0.0, 0.0]
    assert hs.quantities["iterations_for_eps"]["at_eta"] == 0  # l(0) = 0 <= eps already
    lo_, hi_ = hs.quantities["eta_max"]
    assert 0 < lo_ <= hi_


def test_data_loss_not_whitened_is_undetermined():
    spec = {"dims": [2, 2, 1], "loss": {"kind": "square", "X": [[1.0, 0.5, -1.0], [0.25, 1.0, 0.0]],
                                        "Y": [[1.0, 0.0, 0.5]]},
            "init": {"weights": [[[0.5, 0.25], [0.0, 0.5]], [[0.5, 0.25]]]}}
    rep = check_conditions(problem_from_dict(spec), trajectory=False)
    for name in ("deficiency_margin", "acgh19_balancedness", "acgh19_step_size", "scalar_output_bad_set"):
        assert rep[name].status == "undetermined" and rep[name].margin is None
    for name in ("deficiency_margin", "scalar_output_bad_set"):
        assert "whitened" in rep[name].reason
    for name in ("acgh19_balancedness", "acgh19_step_size"):
        assert "deficiency margin" in rep[name].reason


def test_whitened_data_uses_induced_target():
    # X X^T / m = I exactly (m = 2, X = sqrt(2) I is not dyadic; use m = 4 with +-1 columns)
    X = [[1.0, -1.0, 1.0, -1.0], [1.0, 1.0, -1.0, -1.0]]
    Y = [[2.0, 0.0, 1.0, -1.0]]
    spec = {"dims": [2, 1, 1], "loss": {"kind": "square", "X": X, "Y": Y},
            "init": {"weights": [[[0.5, -0.25]], [[1.0]]]}}
    h = check_conditions(problem_from_dict(spec), trajectory=False)["deficiency_margin"]
    Phi = [[sum(F(Y[0][k]) * F(X[i][k]) for k in range(4)) / 4 for i in range(2)]]  # Syx
    with mpmath.workdps(50):
        c, _ = deficiency_mp(spec_of([2, 1, 1], Phi, spec["init"]["weights"]))
    assert h.quantities["target"].startswith("Syx")
    brackets(h, c, rel=1e-8)


# ---------------------------------------------------------------------------
# scalar output: the angle to the bad ray
# ---------------------------------------------------------------------------


# W_2 = ||w_1|| makes the network exactly balanced (W_2^T W_2 = W_1 W_1^T): the ray statement applies
CLOSE = [[-(0.5 - 2.0**-53), 2.0**-26]]  # ||CLOSE|| = 0.5 + 2^-53 exactly (a scaled Pythagorean triple)
SCALAR_CASES = [
    ([[-0.375, 0.5]], 0.625, "holds", mpmath.atan2(0.8, 0.6)),    # cos = 0.6 to -Phi
    ([[0.375, 0.5]], 0.625, "holds", mpmath.pi - mpmath.atan2(0.8, 0.6)),
    ([[1.0, 0.0]], 1.0, "holds", mpmath.pi),                        # along +Phi
    ([[-0.5, 0.0]], 0.5, "fails", 0),                               # exactly on the bad ray
    ([[0.0, 0.0]], 0.0, "fails", 0),                                # the saddle itself
    (CLOSE, 0.5 + 2.0**-53, "holds", mpmath.atan2(2.0**-26, 0.5 - 2.0**-53)),  # very close, still certified
]


@pytest.mark.parametrize("w1, w2, expect, angle", SCALAR_CASES)
def test_scalar_output_angle(w1, w2, expect, angle):
    spec = spec_of([2, 1, 1], [[1.0, 0.0]], [w1, [[w2]]])
    rep = check_conditions(problem_from_dict(spec), trajectory=False)
    assert rep["balancedness"].status == "holds" and rep["balancedness"].exact
    h = rep["scalar_output_bad_set"]
    assert h.status == expect and h.quantities.get("exactly_balanced", True)
    consistent(h)
    if expect == "fails":
        assert h.exact and h.margin == 0.0
    else:
        with mpmath.workdps(50):
            brackets(h, angle, rel=1e-9)


@pytest.mark.parametrize("w1, w2, expect, angle", SCALAR_CASES)
def test_scalar_output_needs_certified_balancedness(w1, w2, expect, angle):
    """PAPER.md 4: the ray statement is proved for exactly balanced initialisations; without
    certified balancedness the angle is reported but the verdict is undetermined (never holds/fails)."""
    spec = spec_of([2, 1, 1], [[1.0, 0.0]], [w1, [[w2 + 0.25]]])  # ||w_1|| != w2 + 1/4: not balanced
    rep = check_conditions(problem_from_dict(spec), trajectory=False)
    assert rep["balancedness"].status == "fails"
    h = rep["scalar_output_bad_set"]
    assert h.status == "undetermined" and "not exactly balanced" in h.reason
    consistent(h)
    if expect == "fails":
        assert h.exact and h.margin == 0.0 == h.margin_lower == h.margin_upper
    else:
        assert h.quantities["exactly_balanced"] is False and h.margin == h.margin_lower
        with mpmath.workdps(50):
            brackets(h, angle, rel=1e-9)


def test_scalar_output_approximately_balanced_is_undetermined():
    # W_2 = ||w_1|| (1 + 2^-40): delta ~ 2^-40, certified nonzero; the angle is certainly > 0
    spec = spec_of([2, 1, 1], [[1.0, 0.0]], [[[-0.375, 0.5]], [[0.625 * (1 + 2.0**-40)]]])
    rep = check_conditions(problem_from_dict(spec), trajectory=False)
    assert rep["balancedness"].status == "fails" and rep["balancedness"].margin > -1e-11
    h = rep["scalar_output_bad_set"]
    assert h.margin_lower > 0.9 and h.status == "undetermined"


def test_scalar_output_not_applicable():
    rep = check_conditions("builtin:demo", trajectory=False)
    h = rep["scalar_output_bad_set"]
    assert h.status == "undetermined" and "d_N" in h.reason and h.margin is None


# ---------------------------------------------------------------------------
# smoothness and edge of stability: N = 1 has Hf = I exactly
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("eta, expect", [(2.5, "fails"), (1.5, "holds")])
def test_smoothness_and_edge_of_stability_known_margin(eta, expect):
    spec = spec_of([2, 2], [[1.0, 0.5], [0.0, 1.0]], [[[0.25, 0.0], [0.5, 0.25]]])
    rep = check_conditions(problem_from_dict(spec), eta=eta, t_end=1.0)
    for name in ("smoothness", "edge_of_stability"):
        h = rep[name]
        assert h.status == expect, (name, h)
        brackets(h, 2 - eta, rel=1e-8)
        consistent(h)
    eos = rep["edge_of_stability"]
    assert (eos.warning is not None) == (expect == "fails")
    if expect == "fails":
        assert "EDGE OF STABILITY" in eos.warning


def test_demo_with_paper_step():
    rep = check_conditions("builtin:demo", eta=1e-3)
    assert rep["edge_of_stability"].status == "holds" and rep["edge_of_stability"].warning is None
    assert rep["smoothness"].status == "holds"
    q = rep["ec21_gap_theorem"].quantities
    # the theorem's largest eta on the demo is below the paper's 1e-3: no a-priori bound there
    assert q["largest_eta"] < 1e-3 and rep["ec21_gap_theorem"].status == "undetermined"
    c = rep["curvature"]
    assert c.reported and c.status == "undetermined" and c.quantities["int_m_upper"] >= 0
    for h in rep.hypotheses:
        consistent(h)


# ---------------------------------------------------------------------------
# nothing failing is reported as holds (property test against exact references)
# ---------------------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(spec=problem_specs(min_depth=1, max_depth=3, max_width=3),
       eta=st.sampled_from([None, 1e-9, 1e-3, 0.5]), eps=st.sampled_from([None, 1e-3, 1.0]))
def test_never_holds_when_false(spec, eta, eps):
    rep = check_conditions(problem_from_dict(spec), eta=eta, eps=eps, trajectory=False)
    for h in rep.hypotheses:
        consistent(h)
    ws = spec["init"]["weights"]
    d2 = exact_delta2(ws)
    hb = rep["balancedness"]
    assert (hb.status == "holds") == (d2 == 0)
    with mpmath.workdps(50):
        if d2 > 0:
            brackets(hb, -mpmath.sqrt(mp(d2)), rel=1e-8)
        if spec["loss"]["kind"] == "whitened":
            c, dist = deficiency_mp(spec)
            h = rep["deficiency_margin"]
            assert h.margin_lower <= float(c) + 1e-12 and float(c) - 1e-12 <= h.margin_upper
            if c <= 0:
                for name in ("deficiency_margin", "acgh19_balancedness", "acgh19_step_size"):
                    assert rep[name].status != "holds"
        if spec["dims"][-1] == 1 and len(spec["dims"]) > 2 and spec["loss"]["kind"] == "whitened":
            w = end_to_end(ws)[0]
            phi = [F(x) for x in spec["loss"]["target"][0]]
            dot = sum(a * b for a, b in zip(w, phi))
            cross = sum(a * a for a in w) * sum(b * b for b in phi) - dot * dot
            h = rep["scalar_output_bad_set"]
            on_ray = any(w) and any(phi) and cross == 0 and dot < 0
            if d2 != 0:  # not exactly balanced: the ray statement does not apply (PAPER.md 4)
                assert h.status == "undetermined"
            if on_ray or (not any(w) and any(phi)):
                assert h.status == ("fails" if d2 == 0 else "undetermined") and h.exact
            elif any(phi):
                ang = mpmath.atan2(mpmath.sqrt(mp(cross)), -mp(dot))
                assert h.status == ("holds" if d2 == 0 else "undetermined")
                assert h.margin_lower <= float(ang) <= h.margin_upper


@settings(max_examples=6, deadline=None)
@given(spec=problem_specs(min_depth=2, max_depth=3, max_width=2, losses=("whitened",)),
       eta=st.sampled_from([0.01, 0.05, 1.5]))
def test_trajectory_verdicts_consistent(spec, eta):
    from certify._errors import CertifyError

    try:
        rep = check_conditions(problem_from_dict(spec), eta=eta, t_end=0.25)
    except CertifyError:
        return
    for h in rep.hypotheses:
        consistent(h)
    assert rep["curvature"].status == "undetermined"


# ---------------------------------------------------------------------------
# the explicit GD-GF theorem against the certified gap
# ---------------------------------------------------------------------------

EC21_INSTANCES = [
    spec_of([2, 2, 2], [[1.0, 0.25], [-0.5, 0.75]], [[[0.5, 0.125], [0.0, 0.375]], [[0.25, -0.25], [0.5, 0.5]]]),
    spec_of([2, 2, 1, 1], [[0.75, -0.5]], [[[0.25, 0.5], [-0.25, 0.125]], [[0.5, 0.25]], [[0.75]]]),
    spec_of([1, 2, 2, 1], [[1.5]], [[[0.5], [0.25]], [[0.25, 0.5], [-0.5, 0.25]], [[0.5, -0.25]]]),
]


def _random_ec21_spec(seed):
    rng = np.random.default_rng(seed)
    N = 2 + seed % 2
    dims = [int(x) for x in rng.integers(1, 3, N + 1)]
    q = lambda r, c, s: (np.round(rng.standard_normal((r, c)) * s * 8) / 8).tolist()
    return spec_of(dims, q(dims[-1], dims[0], 1.0), [q(dims[j + 1], dims[j], 0.5) for j in range(N)])


@pytest.mark.parametrize("spec", EC21_INSTANCES + [_random_ec21_spec(s) for s in range(4)],
                         ids=[f"fixed{i}" for i in range(3)] + [f"random{s}" for s in range(4)])
def test_ec21_bound_dominates_certified_gap(spec):
    """The a-priori bound of PAPER.md section 1 (certified constants) is >= the certified lower bound of
    the true gap at every checkpoint, and <= eps, at half the largest admissible eta."""
    p = problem_from_dict(spec)
    T = 1.0
    first = check_conditions(p, t_end=T)
    eta = first["ec21_gap_theorem"].quantities["largest_eta"]
    assert eta > 0
    eta = max(eta / 2, T / 3000)  # keep the run short; the theorem may then not apply
    rep = check_conditions(p, eta=eta, t_end=T)
    h = rep["ec21_gap_theorem"]
    consistent(h)
    assert h.status == "holds", h.reason
    rows = h.quantities["checkpoints"]
    assert len(rows) >= 10
    for r in rows:
        assert r["bound"] >= r["gap_lower"], r
        assert r["bound"] <= h.quantities["eps"] * (1 + 1e-9)
    assert h.quantities["slack_T"] >= 1
    # the same gap from an independent run of the certificate
    K = int(round(rep.horizon / eta))
    cert = certify_gap(p, eta, K, every=max(1, K // 20))
    assert abs(cert.checkpoints[-1].gap_lower - h.quantities["gap_lower_T"]) <= 1e-12


# ---------------------------------------------------------------------------
# input validation and the CLI
# ---------------------------------------------------------------------------


def test_status_enum_values_are_the_json_strings():
    assert STATUSES == ("holds", "fails", "undetermined") == tuple(s.value for s in Status)
    assert Status("fails") is Status.FAILS and Status.HOLDS == "holds"
    assert json.dumps(Status.UNDETERMINED) == '"undetermined"' and f"{Status.HOLDS}" == "holds"
    assert {"fails": 1}.get(Status.FAILS) == 1  # usable as a key where plain strings are expected
    h = Hypothesis("x", "[derived]", "holds", "example")  # plain strings are coerced
    assert h.status is Status.HOLDS and h.to_json()["status"] == "holds" and type(h.to_json()["status"]) is str



@pytest.mark.parametrize("kw", [{"eta": 0}, {"eta": -1.0}, {"eps": float("nan")}, {"t_end": float("inf")},
                                {"eta": "x"}])
def test_bad_arguments(kw):
    with pytest.raises(UsageError):
        check_conditions("builtin:demo", trajectory=False, **kw)


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_json_schema(capsys):
    code, out, err = run(capsys, "conditions", "builtin:demo", "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["schema"] == SCHEMA
    assert [h["name"] for h in doc["hypotheses"]] == list(NAMES)
    for h in doc["hypotheses"]:
        assert h["source"] in SOURCES and h["status"] in STATUSES
        assert h["margin"] is None or isinstance(h["margin"], float)
        assert isinstance(h["meaning"], str) and h["meaning"]
    assert doc["hypotheses"][NAMES.index("curvature")]["source"] == "[EC21-informal]"
    assert doc["hypotheses"][NAMES.index("curvature")]["status"] == "undetermined"


def test_cli_table(capsys):
    code, out, err = run(capsys, "conditions", "builtin:demo", "--t-end", "0.5")
    assert code == 0, err
    for name in NAMES:
        assert name in out
    assert "[derived]" in out and "[ACGH19]" in out and "[EC21-informal]" in out


@pytest.mark.parametrize("argv", [["--eta", "0"], ["--eta", "-1"], ["--eps", "nan"], ["--t-end", "0"]])
def test_cli_bad_input_exit_2(capsys, argv):
    code, out, err = run(capsys, "conditions", "builtin:demo", *argv)
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and err.startswith("certify: error:")


def test_cli_unknown_problem_exit_2(capsys):
    code, out, err = run(capsys, "conditions", "builtin:nope")
    assert code == 2 and len(err.strip().splitlines()) == 1


# ---------------------------------------------------------------------------
# the proofs behind the [derived] verdicts
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("mod", [ec21_gap_theorem, s2_2_hessian_lipschitz, s3_homogeneous], ids=lambda m: m.LEMMA)
def test_proof_checks_pass(mod):
    r = proofs.run(mod)
    assert r.status == "pass", r.detail
    for attr in ("STATEMENT", "HYPOTHESES", "PROOF", "TITLE"):
        assert getattr(mod, attr)


@pytest.mark.parametrize(
    "mod, overrides",
    [
        (ec21_gap_theorem, {"defect_scale": 0.4, "end_to_end": False}),   # defect constant too small
        (ec21_gap_theorem, {"gamma_scale": 0.0, "end_to_end": False}),    # ignoring the Hessian's variation
        (s2_2_hessian_lipschitz, {"lip_factor": 1}),                       # 3 s A lambda -> s A lambda
        (s2_2_hessian_lipschitz, {"drop_third": True}),                    # dropping the third-order term
        (s3_homogeneous, {"constant": lambda N: (N - 1) / 2}),             # half the constant
        (s3_homogeneous, {"rho_power_offset": 1}),                         # rho^(N-1) instead of rho^(N-2)
    ],
)
def test_proof_checks_reject_wrong_constants(mod, overrides):
    assert proofs.run(mod, **overrides).status == "FAIL"


def test_large_problem_estimates_are_reproducible_across_processes():
    """Above 1500 parameters the top Hessian eigenvector comes from ARPACK, whose default start
    vector is random per process: the report (its estimates and the certified lower bound
    built on the test vector) must not change from one run to the next."""
    import subprocess
    import sys

    code = ("import json, numpy as np, certify\n"
            "from certify.conditions import check_conditions\n"
            "rng = np.random.default_rng(3)\n"
            "q = lambda r, c, s: (np.round(rng.standard_normal((r, c)) * s * 64) / 64).tolist()\n"
            "spec = {'dims': [40, 30, 20], 'loss': {'kind': 'whitened', 'target': q(20, 40, 1.0)},\n"
            "        'init': {'weights': [q(30, 40, 0.2), q(20, 30, 0.2)]}}\n"
            "p = certify.problem_from_dict(spec)\n"
            "assert p.n_params > 1500\n"
            "h = check_conditions(p, eta=0.01, trajectory=False)['edge_of_stability']\n"
            "print(json.dumps([h.quantities, h.margin_lower, h.margin_upper]))\n")
    outs = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
            for _ in range(2)}
    assert len(outs) == 1, outs
