"""Cross-entropy and logistic problems (issue 12 items 1, 2 and the refusals of 4): parsing
and one-line errors, builtin:paper-ce, Objective's float64/mpf estimates against 50-digit
mpmath and sympy, run_gd on the new losses (an estimate check), and the clear refusal (exit 2,
one line, no traceback) of everything that cannot certify these losses yet."""

import copy
import json
from fractions import Fraction

import mpmath
import numpy as np
import pytest

import certify
from certify import ProblemError, UsageError
from certify.cli import main

NOT_YET = "not implemented yet (issue 12)"

CE = {
    "dims": [3, 4, 3],
    "loss": {"kind": "cross_entropy",
             "X": [[1.0, 2.0, 0.5, -1.0], [0.0, 1.0, 2.0, 3.0], [0.25, -2.0, 1.0, 1.0]],
             "Y": [[1.0, 0.0, 0.5, 0.25], [0.0, 1.0, 0.25, 0.25], [0.0, 0.0, 0.25, 0.5]]},
    "init": {"scheme": "gaussian", "scale": 0.7, "seed": 3},
}
LOGISTIC = {
    "dims": [2, 3, 1],
    "loss": {"kind": "logistic", "X": [[1.0, 2.0, 0.5, -1.0], [0.0, 1.0, 2.0, 3.0]], "y": [1, -1, 1.0, -1]},
    "init": {"scheme": "gaussian", "scale": 0.7, "seed": 3},
}


def spec(base, **loss):
    s = copy.deepcopy(base)
    s["loss"].update(loss)
    return s


@pytest.fixture(scope="module")
def paper_ce():
    return certify.load_problem("builtin:paper-ce")


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def one_line_error(err: str) -> str:
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("certify: error: ") and "Traceback" not in err, err
    return lines[0]


# ---------------------------------------------------------------------------
# parsing
# ---------------------------------------------------------------------------


def test_cross_entropy_and_logistic_specs_load_and_round_trip():
    p = certify.load_problem(CE)
    assert p.loss.kind == "cross_entropy" and not p.loss.certified and p.loss.m == 4
    np.testing.assert_array_equal(p.loss.Y, np.array(CE["loss"]["Y"]))
    q = certify.load_problem(LOGISTIC)
    assert q.loss.kind == "logistic" and q.loss.y.tolist() == [1.0, -1.0, 1.0, -1.0]
    for prob in (p, q):  # the explicit specification reads back to the same problem
        back = certify.problem_from_dict(prob.to_json())
        assert back.loss.kind == prob.loss.kind and back.loss.to_json() == prob.loss.to_json()
        assert all(np.array_equal(a, b) for a, b in zip(back.weights, prob.weights))


def test_probability_columns_exact_rule():
    third = 1.0 / 3.0  # three of them sum to 1 - 2^-54 exactly: accepted, used as given
    ok = spec(CE, X=[[1.0], [2.0], [3.0]], Y=[[third], [third], [third]])
    assert certify.load_problem(ok).loss.Y[0, 0] == third
    edge = spec(CE, X=[[1.0], [2.0], [3.0]], Y=[[0.5], [0.5 + 2.0**-30], [0.0]])  # exactly 1 + 2^-30
    certify.load_problem(edge)
    over = spec(CE, X=[[1.0], [2.0], [3.0]], Y=[[0.5], [0.5 + 2.0**-30 + 2.0**-52], [0.0]])
    with pytest.raises(ProblemError, match="loss.Y: columns must be probability vectors: column 0"):
        certify.load_problem(over)
    # the float sum 1 + 2^-30 hides the 2^-80: the exact sum is over the threshold
    hidden = spec(CE, X=[[1.0], [2.0], [3.0]], Y=[[1.0], [2.0**-30], [2.0**-80]])
    assert float(np.sum(hidden["loss"]["Y"])) == 1.0 + 2.0**-30
    with pytest.raises(ProblemError, match="loss.Y: columns must be probability vectors"):
        certify.load_problem(hidden)


BAD_CE = [
    (spec(CE, Y=[[1.0, 0.0, 0.5, 0.25], [0.0, 1.0, 0.75, 0.25], [0.0, 0.0, -0.25, 0.5]]),
     r"loss\.Y: entries must be >= 0 \(probabilities\), Y\[2\]\[2\] = -0\.25"),
    (spec(CE, Y=[[1.0, 0.0, 0.5, 0.25], [0.0, 1.0, 0.25, 0.25], [0.0, 0.0, 0.5, 0.5]]),
     r"loss\.Y: columns must be probability vectors: column 2 sums to 1\.25"),
    (spec(CE, Y=[[1.0, 0.0, 0.5, 0.25], [0.0, 1.0, 0.5, 0.75]]), r"loss\.Y: has shape 2x4, expected 3x4"),
    (spec(CE, Y=[[1.0, 0.0, 0.5], [0.0, 1.0, 0.25], [0.0, 0.0, 0.25]]), r"loss\.Y: has shape 3x3, expected 3x4"),
    (spec(CE, X=[[1.0, 2.0, 0.5, -1.0], [0.0, 1.0, 2.0, 3.0]]), r"loss\.X: has 2 rows, expected d0 = 3"),
    (spec(CE, Y=[[1.0, 0.0, float("nan"), 0.25], [0.0, 1.0, 0.25, 0.25], [0.0, 0.0, 0.25, 0.5]]),
     r"loss\.Y: contains NaN"),
    (spec(CE, X=[[1.0, 2.0, 0.5, float("nan")], [0.0, 1.0, 2.0, 3.0], [0.25, -2.0, 1.0, 1.0]]),
     r"loss\.X: contains NaN"),
    (spec(CE, y=[1, 1, 1, 1]), r"loss: unknown field\(s\) y \(cross_entropy takes X and Y"),
    ({**CE, "loss": {"kind": "cross_entropy", "X": CE["loss"]["X"]}}, r"loss: cross_entropy needs 'X' and 'Y'"),
    ({**CE, "loss": {"kind": "cross_entropy", "dataset": "diabetes", "samples": 10}},
     r"loss\.dataset: no class labels in dataset 'diabetes'"),
]
BAD_LOGISTIC = [
    (spec(LOGISTIC, y=[1, -1, 0, -1]), r"loss\.y: labels must be -1 or \+1, y\[2\] = 0"),
    (spec(LOGISTIC, y=[1, -1, 1, 2.5]), r"loss\.y: labels must be -1 or \+1, y\[3\] = 2\.5"),
    (spec(LOGISTIC, y=[1, -1, True, -1]), r"loss\.y: labels must be -1 or \+1, y\[2\] = True"),
    (spec(LOGISTIC, y=[1, -1, float("nan"), -1]), r"loss\.y: labels must be -1 or \+1, y\[2\] = nan"),
    (spec(LOGISTIC, y=[1, -1, 1]), r"loss\.y: has 3 labels, expected one per column of X \(4\)"),
    (spec(LOGISTIC, y=[[1, -1, 1, -1]]), r"loss\.y: has 1 labels, expected one per column of X \(4\)"),
    (spec(LOGISTIC, y=[[1], [-1], [1], [-1]]), r"loss\.y: labels must be -1 or \+1, y\[0\] = \[1\]"),
    ({**LOGISTIC, "dims": [2, 3, 2]}, r"dims: the logistic loss needs a scalar output \(d_N = 1\), got d_N = 2"),
    (spec(LOGISTIC, Y=[[1.0, 0.0, 1.0, 0.0]]), r"loss: unknown field\(s\) Y \(logistic takes X and y\)"),
]


@pytest.mark.parametrize("bad, message", BAD_CE + BAD_LOGISTIC)
def test_bad_specs_one_line_error_naming_the_field(bad, message):
    with pytest.raises(ProblemError, match=message) as e:
        certify.load_problem(bad)
    assert "\n" not in str(e.value)


@pytest.mark.parametrize("bad, message", [BAD_CE[0], BAD_CE[1], BAD_LOGISTIC[0], BAD_LOGISTIC[6]])
def test_bad_specs_through_the_cli(capsys, tmp_path, bad, message):
    import re

    f = tmp_path / "p.json"
    f.write_text(json.dumps(bad))
    code, out, err = run(capsys, "derive", f, "--eval", "--json")
    assert code == 2 and not out
    assert re.search(message, one_line_error(err))


def test_builtin_paper_ce(paper_ce):
    p = paper_ce
    assert p.name == "builtin:paper-ce" and p.dims == (64, 50, 50, 10) and p.n_params == 6200
    assert p.loss.kind == "cross_entropy" and p.loss.dataset == "digits" and p.loss.m == 1000
    sq = certify.load_problem("builtin:paper")  # the same network, data and initialisation
    np.testing.assert_array_equal(p.loss.X, sq.loss.X)  # pixels / 16, the square loss's loader
    np.testing.assert_array_equal(p.loss.Y, sq.loss.Y)  # one-hot
    assert all(np.array_equal(a, b) for a, b in zip(p.weights, sq.weights))
    assert np.all(p.loss.Y.sum(axis=0) == 1.0) and np.count_nonzero(p.loss.Y) == 1000
    assert "paper-ce" in certify.builtin_names()


# ---------------------------------------------------------------------------
# derivatives (estimates) against 50-digit truth
# ---------------------------------------------------------------------------


def _mp_end_to_end(prob, dps):
    with mpmath.workdps(dps):
        W = mpmath.matrix(prob.weights[0].tolist())
        for w in prob.weights[1:]:
            W = mpmath.matrix(w.tolist()) * W
        return W


def mp_cross_entropy(prob, dps=50):
    """The definition: -(1/m) sum_i sum_c Y_ci log softmax(W x_i)_c, sample by sample."""
    W = _mp_end_to_end(prob, dps)
    X, Y = prob.loss.X, prob.loss.Y
    with mpmath.workdps(dps):
        total = mpmath.mpf(0)
        for i in range(X.shape[1]):
            z = W * mpmath.matrix(X[:, i].tolist())
            den = mpmath.fsum(mpmath.exp(z[c]) for c in range(z.rows))
            total += mpmath.fsum(Y[c, i] * mpmath.log(mpmath.exp(z[c]) / den) for c in range(z.rows))
        return -total / X.shape[1]


def mp_logistic(prob, dps=50):
    W = _mp_end_to_end(prob, dps)
    X, y = prob.loss.X, prob.loss.y
    with mpmath.workdps(dps):
        s = mpmath.fsum(mpmath.log(1 + mpmath.exp(-y[i] * (W * mpmath.matrix(X[:, i].tolist()))[0]))
                        for i in range(X.shape[1]))
        return s / X.shape[1]


def sympy_gradient(prob, dps=50):
    """grad f at theta0 from sympy's derivative of the loss expression in the weight entries
    (S1 definition; the data and weights as exact rationals), evaluated to ``dps`` digits."""
    import sympy as sp

    dims, N = prob.dims, prob.depth
    syms = sp.symbols(f"t0:{prob.n_params}")
    Ws, pos = [], 0
    for j in range(N):
        r, c = dims[j + 1], dims[j]
        Ws.append(sp.Matrix(r, c, syms[pos:pos + r * c]))
        pos += r * c
    W = Ws[0]
    for M in Ws[1:]:
        W = M * W
    rat = lambda x: sp.Rational(Fraction(float(x)))  # noqa: E731
    X = sp.Matrix(prob.loss.X.shape[0], prob.loss.X.shape[1], [rat(x) for x in prob.loss.X.ravel()])
    m = X.shape[1]
    Z = W * X
    if prob.loss.kind == "cross_entropy":
        Y = prob.loss.Y
        f = -sum(rat(Y[c, i]) * (Z[c, i] - sp.log(sum(sp.exp(Z[k, i]) for k in range(Z.rows))))
                 for i in range(m) for c in range(Z.rows) if Y[c, i]) / m
    else:
        f = sum(sp.log(1 + sp.exp(-rat(prob.loss.y[i]) * Z[0, i])) for i in range(m)) / m
    point = {s: rat(v) for s, v in zip(syms, prob.theta0)}
    return [sp.diff(f, s).subs(point).evalf(dps) for s in syms]


@pytest.mark.parametrize("base, truth", [(CE, mp_cross_entropy), (LOGISTIC, mp_logistic)])
def test_loss_and_gradient_match_50_digits(base, truth):
    p = certify.load_problem(base)
    f64 = certify.Objective(p)
    mp = certify.Objective(p, "mpf", dps=50)
    theta = p.theta0
    with mpmath.workdps(50):
        true_loss = truth(p)
        true_grad = [mpmath.mpf(str(g)) for g in sympy_gradient(p)]
        loss_f, grad_f = f64.loss_and_grad(theta)
        assert abs(loss_f - true_loss) <= 1e-14 * abs(true_loss)
        assert abs(f64.loss(theta) - true_loss) <= 1e-14 * abs(true_loss)
        scale = max(abs(g) for g in true_grad)
        assert max(abs(g - t) for g, t in zip(grad_f, true_grad)) <= 1e-14 * scale
        # the mpf objective: 50 digits of the same numbers
        assert abs(mp.loss(theta) - true_loss) <= mpmath.mpf(10) ** -45 * abs(true_loss)
        assert max(abs(g - t) for g, t in zip(mp.grad(theta), true_grad)) <= mpmath.mpf(10) ** -45 * scale


@pytest.mark.parametrize("base", [CE, LOGISTIC])
def test_hvp_matches_the_mpf_hvp_and_differences(base):
    p = certify.load_problem(base)
    f64, mp = certify.Objective(p), certify.Objective(p, "mpf", dps=50)
    theta = p.theta0
    v = np.random.default_rng(1).standard_normal(p.n_params)
    hv = f64.hvp(theta, v)
    with mpmath.workdps(50):
        hv_mp = np.array([float(x) for x in mp.hvp(theta, v)])
    assert np.max(np.abs(hv - hv_mp)) <= 1e-13 * np.max(np.abs(hv_mp))
    h = 1e-5
    fd = (f64.grad(theta + h * v) - f64.grad(theta - h * v)) / (2 * h)
    assert np.linalg.norm(fd - hv) <= 1e-7 * np.linalg.norm(hv)
    H = f64.hessian(theta)
    assert np.allclose(H, H.T, rtol=0, atol=1e-12 * np.abs(H).max())


def test_paper_ce_gradient_matches_finite_differences(paper_ce):
    obj = certify.Objective(paper_ce)
    theta = paper_ce.theta0
    loss, g = obj.loss_and_grad(theta)
    assert loss == obj.loss(theta) and np.array_equal(g, obj.grad(theta))
    rng = np.random.default_rng(0)
    for _ in range(3):
        v = rng.standard_normal(theta.size)
        v /= np.linalg.norm(v)
        h = 1e-5
        fd = (obj.loss(theta + h * v) - obj.loss(theta - h * v)) / (2 * h)
        assert abs(fd - g @ v) <= 1e-7 * np.linalg.norm(g)


def test_exact_numbers_refused_for_transcendental_losses():
    for base in (CE, LOGISTIC):
        with pytest.raises(UsageError, match="number='exact' is impossible for the .* loss"):
            certify.Objective(certify.load_problem(base), "exact")


def test_run_gd_decreases_the_cross_entropy_loss(paper_ce):
    """An estimate check: float64 GD at eta = 1e-3 on builtin:paper-ce, 200 steps."""
    run = certify.run_gd(paper_ce, 1e-3, 200, every=20)
    assert run.ks == list(range(0, 201, 20))
    losses = np.array(run.losses)
    assert np.all(np.diff(losses) < 0)
    assert losses[-1] < 0.9 * losses[0]
    # the iterates are theta_{k+1} = theta_k - eta grad f(theta_k) with Objective's gradient
    obj = certify.Objective(paper_ce)
    theta = paper_ce.theta0
    for _ in range(20):
        theta = theta - 1e-3 * obj.grad(theta)
    np.testing.assert_allclose(run.thetas[1], theta, rtol=0, atol=1e-13)
    assert run.losses[0] == obj.loss(paper_ce.theta0)


def test_run_gd_logistic_and_divergence_reported():
    p = certify.load_problem(LOGISTIC)
    run = certify.run_gd(p, 0.05, 100, every=50)
    assert run.losses[-1] < run.losses[0]
    big = spec(LOGISTIC)
    big["init"] = {"scheme": "gaussian", "scale": 3.0, "seed": 0}
    with pytest.raises(certify.BlowUpError, match="gradient descent diverged"):
        certify.run_gd(certify.load_problem(big), 1e3, 50)


# ---------------------------------------------------------------------------
# refusals: nothing certified for these losses yet
# ---------------------------------------------------------------------------


def _api_refusals():
    from certify import strategies

    return [
        ("lambda_max bound", strategies.lambda_max_upper),
    ]


@pytest.mark.parametrize("i", range(len(_api_refusals())))
@pytest.mark.parametrize("base", [CE, LOGISTIC])
def test_api_refusals_one_line(base, i, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    p = certify.load_problem(base)
    thing, call = _api_refusals()[i]
    with pytest.raises(UsageError) as e:
        call(p)
    msg = str(e.value)
    assert msg.startswith(f"certified {thing}") and "\n" not in msg
    assert f"for the {p.loss.kind} loss is {NOT_YET}" in msg
    assert not any(tmp_path.iterdir())  # refused before writing anything


def test_integrate_gf_refuses():
    with pytest.raises(UsageError, match=r"^the high-precision Taylor GF estimate for the cross_entropy loss is "
                                         r"not implemented yet \(issue 12\)$"):
        certify.integrate_gf(certify.load_problem(CE), 0.1)


@pytest.fixture
def ce_file(tmp_path):
    f = tmp_path / "ce.json"
    f.write_text(json.dumps(CE))
    return f


def test_cli_refusals_exit_2_one_line(capsys, tmp_path, ce_file):
    cases = []
    for argv, thing in cases:
        code, out, err = run(capsys, *argv)
        line = one_line_error(err)
        assert code == 2, (argv, err)
        assert line.startswith(f"certify: error: certified {thing}") and line.endswith(
            f"for the cross_entropy loss is {NOT_YET}"), (argv, line)
    for name in ("g.json", "f.json", "d.json", "c.json", "ex", "sw"):
        assert not (tmp_path / name).exists(), name
    code, out, err = run(capsys, "derive", ce_file, "--eval", "--json")  # the float64 estimates work
    assert code == 0 and json.loads(out)["loss"] == certify.Objective(certify.load_problem(CE)).loss(
        certify.load_problem(CE).theta0)


@pytest.mark.parametrize("base", [CE, LOGISTIC])
def test_check_refuses_a_square_certificate_under_these_losses(capsys, tmp_path, base):
    demo = certify.load_problem({"dims": [3, 4, 1] if base is LOGISTIC else [3, 4, 3],
                                 "loss": {"kind": "whitened", "target": [[1.0, 0.5, 0.25]] * (
                                     1 if base is LOGISTIC else 3)},
                                 "init": {"scheme": "gaussian", "scale": 0.5, "seed": 0}})
    doc = certify.certify_gap(demo, 1e-2, 4, every=2).to_json()
    f = tmp_path / "ok.json"
    f.write_text(json.dumps(doc))
    assert run(capsys, "check", f)[0] == 0  # the square-loss certificate itself is valid
    ce = copy.deepcopy(base)
    ce["dims"] = list(demo.dims)
    ce["loss"]["X"] = ce["loss"]["X"] + [[0.5, 0.5, 0.5, 0.5]] * (3 - len(ce["loss"]["X"]))
    ce["init"] = doc["problem"]["init"]
    doc["problem"] = certify.problem_from_dict(ce).to_json()
    f.write_text(json.dumps(doc))
    code, out, err = run(capsys, "check", f)
    assert code == 2 and not out
    # a square-loss certificate under a kernel-loss problem: refused loudly (no kernel constants claimed)
    assert one_line_error(err) == "certify: error: certificate: missing field 'loss_bounds'"


@pytest.mark.parametrize("kind", ["distance", "flow", "converge"])
def test_check_refuses_other_certificate_kinds_swapped_to_these_losses(capsys, tmp_path, kind):
    demo = certify.load_problem("builtin:demo")
    ce = copy.deepcopy(CE)
    ce["dims"] = list(demo.dims)
    ce["init"] = {"weights": [w.tolist() for w in demo.weights]}
    cep = certify.problem_from_dict(ce).to_json()
    f = tmp_path / "c.json"
    if kind == "distance":
        doc = certify.certify_distance(demo, 1e-2, 4, ratios=(2,), every=2).to_json()
    elif kind == "flow":
        doc = certify.flow_to_json(certify.enclose_flow(demo, 0.1, checkpoints=2))
    else:
        assert run(capsys, "converge", "builtin:demo", "--eps", "1.0", "--out", f)[0] == 0
        doc = json.loads(f.read_text())
    f.write_text(json.dumps(doc))
    assert run(capsys, "check", f)[0] == 0
    (doc["gap"] if kind == "converge" else doc)["problem"] = cep
    f.write_text(json.dumps(doc))
    code, out, err = run(capsys, "check", f)
    # the checkers handle these losses now (gap-v2.md section 8): claims made for another problem are
    # refused loudly, as a malformed file (no kernel constants claimed: exit 2) or as false claims (exit 1)
    if code == 2:
        assert not out and one_line_error(err).endswith("missing field 'loss_bounds'")
    else:
        assert code == 1 and out.startswith("INVALID: ")


@pytest.mark.parametrize("base", [CE, LOGISTIC])
def test_conditions_undetermined_with_the_reason(capsys, base, tmp_path):
    p = certify.load_problem(base)
    rep = certify.check_conditions(p, eta=1e-2, eps=0.1)
    bal = rep["balancedness"]
    assert bal.status == "fails" and bal.margin < 0  # weights only: checked as for any loss
    whitened_only = ("deficiency_margin", "acgh19_balancedness", "acgh19_step_size", "scalar_output_bad_set")
    for h in rep.hypotheses:
        if h.name in whitened_only:
            assert h.status == "undetermined" and h.margin is None, h.name
            assert h.reason.startswith(("assumes the whitened square loss", "not applicable: d_N")), h.reason
    import jsonschema

    jsonschema.validate(json.loads(json.dumps(rep.to_json(), allow_nan=False)), certify.schema("conditions"))
    f = tmp_path / "p.json"
    f.write_text(json.dumps(base))
    code, out, err = run(capsys, "conditions", f, "--json")
    assert code == 0 and not err
    assert [h["status"] for h in json.loads(out)["hypotheses"] if h["name"] in whitened_only] == ["undetermined"] * 4


@pytest.mark.parametrize("base", [CE, LOGISTIC])
def test_loss_data_bounds_are_the_kernel_constants_not_the_whitened_answer(base):
    from certify._lossdata import data_bounds, data_split

    p = certify.load_problem(base)
    s_G, stats = data_bounds(p)
    assert stats is None and data_split(p) is None  # no statistics, no split
    assert s_G >= p.loss.constants[0] >= p.loss.constants[1] > 0 and s_G != 1.0  # S3.1's s_G (section 8)


# ---------------------------------------------------------------------------
# certify derive: sympy against the formulas and the implementation
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("loss", ["cross_entropy", "logistic"])
def test_sympy_derivatives_of_the_loss_match_the_formulas(loss):
    """S1's grad l and Hl[E,E] (the kernels' formulas) from sympy.diff of the definition."""
    from certify.symbolic.cross_entropy import derive_loss

    d = derive_loss(loss)
    assert d.grad_ok and d.hess_ok


def test_sympy_check_rejects_wrong_formulas():
    import sympy as sp

    from certify.symbolic.cross_entropy import ce_formulas, derive_loss, logistic_formulas

    def ce_without_s(W, E, X, Y):  # (P - Y) X^T / m: right only for columns summing to 1
        _, H = ce_formulas(W, E, X, Y)
        Z = W * X
        den = [sum(sp.exp(Z[k, i]) for k in range(Z.rows)) for i in range(Z.cols)]
        P = sp.Matrix(Z.rows, Z.cols, lambda c, i: sp.exp(Z[c, i]) / den[i])
        return (P - Y) * X.T / Z.cols, H

    def logistic_quarter(W, E, X, Y):  # the bound 1/4 instead of sigma (1 - sigma)
        G, _ = logistic_formulas(W, E, X, Y)
        V = E * X
        return G, sum(V[0, i] ** 2 for i in range(V.cols)) / (4 * V.cols)

    d = derive_loss("cross_entropy", ce_without_s)
    assert not d.grad_ok and d.hess_ok
    d = derive_loss("logistic", logistic_quarter)
    assert d.grad_ok and not d.hess_ok


@pytest.mark.parametrize("loss", ["cross_entropy", "logistic"])
def test_sympy_gradient_and_hvp_match_the_implementation(loss):
    from certify.symbolic.cross_entropy import IMPL_TOL, implementation_check

    for N in (1, 2):
        g, h = implementation_check(N, loss, seed=N)
        assert g <= IMPL_TOL and h <= IMPL_TOL, (N, g, h)


def test_certify_derive_on_a_cross_entropy_problem(capsys, ce_file):
    code, out, err = run(capsys, "derive", ce_file)
    assert code == 0 and not err
    assert "depth N = 2, cross_entropy loss" in out
    assert "=> grad l holds" in out and "=> Hl[E,E] holds" in out and "=> agree" in out
    assert "MISMATCH" not in out
