"""Problem model (S1): loading, validation, initialisation schemes, datasets."""

import json
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from certify import ProblemError, TooLargeError, flatten, init_scheme, load_problem, problem_from_dict, unflatten
from certify.strategies import dims as dims_strategy

BASE = {
    "dims": [2, 3, 2],
    "loss": {"kind": "whitened", "target": [[1.0, 0.0], [0.5, 2.0]]},
    "init": {"scheme": "gaussian", "scale": 0.1, "seed": 3},
}


def test_s1_flattening_is_row_major_layer_by_layer():
    W1 = np.arange(6.0).reshape(3, 2)
    W2 = 10 + np.arange(6.0).reshape(2, 3)
    theta = flatten([W1, W2])
    assert theta.tolist() == [0, 1, 2, 3, 4, 5, 10, 11, 12, 13, 14, 15]
    back = unflatten(theta, [2, 3, 2])
    assert np.array_equal(back[0], W1) and np.array_equal(back[1], W2)


@given(dims_strategy(max_depth=5, max_width=6), st.integers(0, 2**31))
def test_balanced_init_is_balanced_and_has_the_drawn_end_to_end(d, seed):
    ws = init_scheme("balanced", d, 0.3, seed)
    for j in range(len(d) - 2):
        D = ws[j + 1].T @ ws[j + 1] - ws[j] @ ws[j].T
        assert np.linalg.norm(D) <= 1e-13
    # end-to-end equals the rank-min(d) truncation of the drawn Gaussian matrix
    rng = np.random.default_rng(seed)
    W = 0.3 * rng.standard_normal((d[-1], d[0]))
    U, S, Vt = np.linalg.svd(W, full_matrices=False)
    r = min(d)
    Wr = (U[:, :r] * S[:r]) @ Vt[:r]
    E = ws[0]
    for w in ws[1:]:
        E = w @ E
    assert np.linalg.norm(E - Wr) <= 1e-12 * max(1.0, np.linalg.norm(Wr))


def test_xavier_bounds_and_gaussian_scale():
    ws = init_scheme("xavier", (50, 40, 30), 1.0, 0)
    for w, (o, i) in zip(ws, [(40, 50), (30, 40)]):
        a = np.sqrt(6 / (o + i))
        assert np.abs(w).max() <= a and np.abs(w).max() > 0.9 * a
    g = init_scheme("gaussian", (200, 200), 0.5, 0)[0]
    assert abs(g.std() - 0.5) < 0.01


def test_seed_determinism():
    a = load_problem(BASE).theta0
    b = load_problem(json.loads(json.dumps(BASE))).theta0
    assert np.array_equal(a, b)
    other = dict(BASE, init={"scheme": "gaussian", "scale": 0.1, "seed": 4})
    assert not np.array_equal(a, load_problem(other).theta0)


@pytest.mark.parametrize(
    "mutate, field",
    [
        (lambda s: s.pop("dims"), "dims"),
        (lambda s: s.__setitem__("dims", [2, 0, 2]), "dims[1]"),
        (lambda s: s.__setitem__("dims", [2]), "dims"),
        (lambda s: s.__setitem__("dims", "2,3"), "dims"),
        (lambda s: s["loss"].__setitem__("kind", "hinge"), "loss.kind"),
        (lambda s: s["loss"].__setitem__("target", [[1.0, 0.0]]), "loss.target"),
        (lambda s: s["loss"].__setitem__("target", [[1.0, float("nan")], [0.0, 1.0]]), "loss.target"),
        (lambda s: s["loss"].__setitem__("target", [[1.0, "a"], [0.0, 1.0]]), "loss.target"),
        (lambda s: s["loss"].__setitem__("target", [[1.0], [0.0, 1.0]]), "loss.target"),
        (lambda s: s.__setitem__("loss", {"kind": "square", "dataset": "mnist", "samples": 3}), "loss.dataset"),
        (lambda s: s.__setitem__("loss", {"kind": "square", "X": [[1.0]], "Y": [[1.0]]}), "loss.X"),
        (lambda s: s.__setitem__("init", {"scheme": "he"}), "init.scheme"),
        (lambda s: s.__setitem__("init", {"weights": [[[1.0, 2.0]]]}), "init.weights"),
        (lambda s: s.__setitem__("init", {"weights": [[[1.0, 2.0]] * 3, [[1.0, 2.0]] * 2]}), "init.weights[1]"),
        (lambda s: s.__setitem__("init", {"scheme": "gaussian", "scale": float("inf")}), "init.scale"),
        (lambda s: s.pop("init"), "init"),
        (lambda s: s.__setitem__("extra", 1), "problem"),
    ],
)
def test_bad_specs_name_the_field(mutate, field):
    spec = json.loads(json.dumps(BASE))
    mutate(spec)
    with pytest.raises(ProblemError) as e:
        problem_from_dict(spec)
    assert e.value.field == field
    assert "\n" not in str(e.value)


def test_too_large_is_refused_with_reason():
    with pytest.raises(TooLargeError, match="parameters"):
        problem_from_dict({"dims": [3000, 3000, 3000], "loss": {"kind": "whitened", "target": [[0.0]]}, "init": {"scheme": "gaussian"}})


def test_digits_dataset_scaling_and_onehot():
    p = load_problem("builtin:digits")
    X, Y = p.loss.X, p.loss.Y
    assert X.shape == (64, 500) and Y.shape == (10, 500)
    assert X.min() >= 0 and X.max() <= 1 and np.all(X * 16 == np.round(X * 16))
    assert np.array_equal(Y.sum(axis=0), np.ones(500)) and set(np.unique(Y)) == {0.0, 1.0}
    assert p.n_params >= 5000


def test_diabetes_is_standardised():
    p = load_problem("builtin:diabetes")
    X, Y = p.loss.X, p.loss.Y
    assert np.allclose(X.mean(axis=1), 0, atol=1e-12) and np.allclose(X.std(axis=1), 1, atol=1e-12)
    assert abs(Y.mean()) < 1e-12 and abs(Y.std() - 1) < 1e-12


def test_exact_statistics_are_exact():
    spec = {"dims": [2, 1], "loss": {"kind": "square", "X": [[1.0, 0.5, 0.1], [2.0, -1.0, 3.0]], "Y": [[0.25, 1.0, -2.0]]},
            "init": {"weights": [[[0.0, 1.0]]]}}
    p = problem_from_dict(spec)
    Sxx, Syx, c = p.loss.exact_stats
    X = [[Fraction(x) for x in row] for row in spec["loss"]["X"]]
    Y = [[Fraction(y) for y in row] for row in spec["loss"]["Y"]]
    m = 3
    for i in range(2):
        for j in range(2):
            v = Sxx[i, j]
            assert Fraction(int(v.p), int(v.q)) == sum(X[i][k] * X[j][k] for k in range(m)) / m
        v = Syx[0, i]
        assert Fraction(int(v.p), int(v.q)) == sum(Y[0][k] * X[i][k] for k in range(m)) / m
    assert Fraction(int(c.p), int(c.q)) == sum(y * y for y in Y[0]) / (2 * m)


def test_files_json_toml_and_bad_files(tmp_path):
    f = tmp_path / "p.json"
    f.write_text(json.dumps(BASE))
    assert load_problem(str(f)).dims == (2, 3, 2)
    t = tmp_path / "p.toml"
    t.write_text('dims = [1, 1]\n[loss]\nkind = "whitened"\ntarget = [[2.0]]\n[init]\nweights = [[[0.5]]]\n')
    assert load_problem(str(t)).weights[0][0, 0] == 0.5
    bad = tmp_path / "bad.json"
    bad.write_text('{"dims": [1, 1], "loss": {"kind": "whitened", "target": [[NaN]]}, "init": {"weights": [[[1.0]]]}}')
    with pytest.raises(ProblemError, match="non-finite"):
        load_problem(str(bad))
    (tmp_path / "trunc.json").write_text('{"dims": [1, ')
    with pytest.raises(ProblemError, match="not valid JSON"):
        load_problem(str(tmp_path / "trunc.json"))
    with pytest.raises(ProblemError, match="unknown built-in"):
        load_problem("builtin:nope")
