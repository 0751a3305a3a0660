# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Testing your own conjecture with `certify.strategies`
#
# `certify.strategies` provides [hypothesis](https://hypothesis.readthedocs.io)
# strategies that draw deep linear network problems whose numbers are small
# dyadic rationals (`k / 2^e`): exact rational arithmetic applies to the
# problem as stored, and hypothesis's *shrinking* ends at small, readable
# counterexamples.  The strategies: `dims`, `dyadic_matrices`,
# `problem_specs` / `problems` (any depth, whitened or square loss),
# `balanced_problems` (exactly balanced starts, SPEC S2.4),
# `near_saddle_problems` (adverse curvature), `step_sizes(problem)` (dyadic
# steps at a chosen fraction of the edge of stability; certainly below it with
# the default rigorous bound `lambda_max_upper`) and `certificates`.
#
# Three conjectures:
#
# 1. **false**: "gradient descent preserves exact balancedness" (gradient
#    *flow* does, S2.4); hypothesis finds a counterexample and shrinks it;
# 2. **true**: the exact identity that explains it: one GD step changes the
#    balancedness matrix `B_j = W_{j+1}^T W_{j+1} - W_j W_j^T` by exactly
#    `eta^2 (g_{j+1}^T g_{j+1} - g_j g_j^T)`, `g_j = grad_{W_j} f`;
# 3. **true**, about the certificates themselves: the certified GD-GF bracket
#    contains an independent 40-digit *estimate* of the gap.
#
# Runs are derandomised (`derandomize=True`, no example database), so the
# notebook is reproducible.  **Size switch.** `CERTIFY_NOTEBOOK_SIZE=ci` runs
# fewer examples than `full` (the default).

# %%
import os
import time
from fractions import Fraction
from pathlib import Path

import mpmath
import numpy as np
from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st
from IPython.display import Image, display
from matplotlib.figure import Figure

import certify
from certify.strategies import balanced_problems, near_saddle_problems, problems, step_sizes

SIZE = os.environ.get("CERTIFY_NOTEBOOK_SIZE", "full")
assert SIZE in ("ci", "full"), f"CERTIFY_NOTEBOOK_SIZE must be ci or full, got {SIZE!r}"
FIGURES = Path(os.environ.get("CERTIFY_NOTEBOOK_FIGURES", "."))
FIGURES.mkdir(parents=True, exist_ok=True)
N_IDENTITY, N_BRACKET = (40, 12) if SIZE == "ci" else (300, 100)
SETTINGS = dict(database=None, derandomize=True, deadline=None, print_blob=False,
                suppress_health_check=[HealthCheck.too_slow])
print(f"size {SIZE}: {N_IDENTITY} examples for the identity, {N_BRACKET} for the certified bracket")


def balancedness(weights):
    """B_j = W_{j+1}^T W_{j+1} - W_j W_j^T, j = 1..N-1 (exact if the entries are Fractions)."""
    return [weights[j + 1].T @ weights[j + 1] - weights[j] @ weights[j].T for j in range(len(weights) - 1)]


def one_exact_gd_step(problem, eta):
    """theta_0, theta_1 = theta_0 - eta grad f(theta_0) and the gradient, in exact rational arithmetic."""
    f = certify.Objective(problem, "exact")
    theta = f.convert(problem.theta0)
    g = f.grad(theta)
    return theta, theta - f.convert(eta) * g, g


# %% [markdown]
# ## 1. A false conjecture, shrunk
#
# Gradient flow keeps `B_j` constant (S2.4).  Does gradient descent keep an
# exactly balanced start exactly balanced?  Everything below is exact rational
# arithmetic (`certify.Objective(problem, "exact")`), so a non-zero drift is a
# fact, not rounding.
#
# The test records every failing example; hypothesis replays the shrunk one
# last, so the last record is the minimal counterexample.  We catch the
# failure instead of letting it stop the notebook.

# %%
failing = []


@settings(max_examples=300, **SETTINGS)
@given(st.data(), balanced_problems(min_depth=2, max_depth=3, max_width=3))
def test_gd_preserves_exact_balancedness(data, problem):
    eta = data.draw(step_sizes(problem, max_ratio=0.5), label="eta")
    theta0, theta1, _ = one_exact_gd_step(problem, eta)
    B0 = balancedness(certify.unflatten(theta0, problem.dims))
    B1 = balancedness(certify.unflatten(theta1, problem.dims))
    assert all((b == 0).all() for b in B0)  # the strategy's promise: exactly balanced
    drift = [b1 - b0 for b0, b1 in zip(B0, B1)]
    if any((d != 0).any() for d in drift):
        failing.append((problem, eta, drift))
    assert all((d == 0).all() for d in drift), "GD changed the balancedness"


t0 = time.perf_counter()
try:
    test_gd_preserves_exact_balancedness()
    raise RuntimeError("expected a counterexample")
except AssertionError as e:
    failure = e
print(f"conjecture 1 FALSIFIED after {time.perf_counter() - t0:.1f}s; hypothesis's report:")
for note in getattr(failure, "__notes__", []):
    print("   ", note)
assert failing

# %%
first, shrunk = failing[0], failing[-1]
for label, (p, eta, drift) in (("first counterexample found", first), ("shrunk counterexample", shrunk)):
    print(f"{label}: dims {p.dims}, {p.n_params} parameters, eta = {eta!r}, loss {type(p.loss).__name__}")
p, eta, drift = shrunk
print("shrunk problem (the JSON contract; reload it with certify.problem_from_dict):", p.to_json())
print("exact drift B_j(theta_1) - B_j(theta_0):", [[[str(x) for x in row] for row in d] for d in drift])
assert p.n_params <= first[0].n_params
assert p.n_params <= 4, "hypothesis should shrink to a tiny network"

# the counterexample is standalone: reload it and recompute
again = certify.problem_from_dict(p.to_json())
_, theta1, _ = one_exact_gd_step(again, eta)
assert any((d != 0).any() for d in balancedness(certify.unflatten(theta1, again.dims)))

# %% [markdown]
# The minimal counterexample needs a width of 2 somewhere: with all widths 1
# (scalars) GD does preserve balancedness, since
# `w_2'^2 - w_1'^2 = (1 - eta^2 g^2)(w_2^2 - w_1^2)`.

# %% [markdown]
# ## 2. The true statement behind it
#
# The first-order terms cancel exactly (`W_{j+1}^T g_{j+1} = g_j W_j^T`, both
# equal `W_{N:j+1}^T G W_{j:1}^T` by S2.1), which is why the flow conserves
# `B_j`; what is left after one step of size `eta` is
#
# `B_j(theta_1) - B_j(theta_0) = eta^2 (g_{j+1}^T g_{j+1} - g_j g_j^T)`
#
# on *any* problem, balanced or not, whitened or square loss.  Hypothesis
# tries to break it on general problems, in exact arithmetic, and cannot.

# %%
identity_sizes = []


@settings(max_examples=N_IDENTITY, **SETTINGS)
@given(st.data(), problems(min_depth=2, max_depth=4, max_width=3))
def test_balancedness_drift_identity(data, problem):
    eta = data.draw(step_sizes(problem, max_ratio=0.5), label="eta")
    theta0, theta1, g = one_exact_gd_step(problem, eta)
    B0 = balancedness(certify.unflatten(theta0, problem.dims))
    B1 = balancedness(certify.unflatten(theta1, problem.dims))
    G = certify.unflatten(g, problem.dims)
    e2 = Fraction(eta) ** 2
    for j, (b0, b1) in enumerate(zip(B0, B1)):
        predicted = e2 * (G[j + 1].T @ G[j + 1] - G[j] @ G[j].T)
        assert ((b1 - b0) == predicted).all(), j
    identity_sizes.append(problem.n_params)


t0 = time.perf_counter()
test_balancedness_drift_identity()
print(f"conjecture 2 held on all {len(identity_sizes)} examples (exact rational arithmetic; "
      f"{min(identity_sizes)}-{max(identity_sizes)} parameters), {time.perf_counter() - t0:.1f}s")
assert len(identity_sizes) >= N_IDENTITY // 2

# the identity accounts for the shrunk counterexample of section 1 too
_, _, g = one_exact_gd_step(p, eta)
G = certify.unflatten(g, p.dims)
assert all((d == Fraction(eta) ** 2 * (G[j + 1].T @ G[j + 1] - G[j] @ G[j].T)).all() for j, d in enumerate(drift))

# %% [markdown]
# ## 3. A conjecture about the certificates
#
# On random small problems and on problems next to a saddle, with a step at
# most a quarter of the (certain) edge of stability and up to 32 steps: the
# certified bracket `[gap_lower, gap_upper]` of `||theta_k - theta(k eta)||`
# from `certify.certify_gap`, widened by the certified radius `r_k` of the
# exact-GD ball (the float iterate is within `r_k` of the exact one), must
# contain the distance of the float iterate from a 40-digit Taylor *estimate*
# of the flow (`certify.integrate_gf`, an independent code path).  Draws on
# which the producer declines to certify (`certify.CertifyError`) are
# rejected rather than counted.

# %%
positions = []


@settings(max_examples=N_BRACKET, **SETTINGS)
@given(st.data(), st.one_of(problems(max_depth=3, max_width=3), near_saddle_problems(max_depth=3, max_width=3)),
       st.integers(1, 32))
def test_certified_bracket_contains_the_estimate(data, problem, steps):
    eta = data.draw(step_sizes(problem, max_ratio=0.25), label="eta")
    try:
        cert = certify.certify_gap(problem, eta, steps, every=steps)
    except certify.CertifyError:
        reject()
    c = cert.checkpoints[-1]
    est = certify.integrate_gf(problem, c.t, dps=40)
    assert est.times[-1] == c.t
    d = mpmath.sqrt(mpmath.fsum((mpmath.mpf(float(a)) - b) ** 2 for a, b in zip(c.theta, est.thetas[-1])))
    slack = est.error_estimate + 1e-15 * float(d)  # the estimate's own error, and float rounding of the bounds
    assert c.gap_lower - c.r - slack <= d <= c.gap_upper + c.r + slack, (c.gap_lower, float(d), c.gap_upper)
    if c.gap_upper > c.gap_lower:
        positions.append((float(d), c.gap_lower, c.gap_upper))


t0 = time.perf_counter()
test_certified_bracket_contains_the_estimate()
print(f"conjecture 3 held on all {len(positions)} non-degenerate examples ({time.perf_counter() - t0:.1f}s): "
      "the 40-digit estimate always lies inside the certified bracket")
widths = [(hi - lo) / hi for _, lo, hi in positions if lo > 0]
one_sided = sum(1 for _, lo, _ in positions if lo == 0)
if widths:
    print(f"relative bracket widths (upper - lower)/upper: median {np.median(widths):.1e}, max {max(widths):.1e} "
          f"(ratios of certified bounds); {one_sided} bracket(s) one-sided (certified lower bound 0: the gap "
          "is not resolved above the radii there, e.g. a stationary start where it is 0)")
assert positions

# %% [markdown]
# ## Pictures
#
# Left: the exact one-step drift `(sum_j ||B_j(theta_1) - B_j(theta_0)||_F^2)^(1/2)` of the
# shrunk counterexample against `eta`: a line of slope 2 (exact values, drawn
# as floats).  Right: where the 40-digit estimate falls inside each certified
# bracket of conjecture 3 (0 = lower end, 1 = upper end).

# %%
etas = [2.0 ** -j for j in range(1, 11)]
drifts = []
for e in etas:
    th0, th1, _ = one_exact_gd_step(p, e)
    B0, B1 = (balancedness(certify.unflatten(th, p.dims)) for th in (th0, th1))
    drifts.append(float(sum(x * x for b0, b1 in zip(B0, B1) for x in (b1 - b0).flat)) ** 0.5)
slope = np.polyfit(np.log(etas), np.log(drifts), 1)[0]
print(f"one-step drift against eta on the shrunk counterexample: log-log slope {slope:.6f} (exact values)")
assert abs(slope - 2) < 0.05

fig = Figure(figsize=(10, 3.8))
a1, a2 = fig.subplots(1, 2)
a1.loglog(etas, drifts, "o-", color="tab:red", label="exact one-step drift")
a1.loglog(etas, [drifts[0] * (e / etas[0]) ** 2 for e in etas], ":", color="gray", label="slope 2")
a1.set_xlabel("eta")
a1.set_ylabel("||B(theta_1) - B(theta_0)||_F (exact)")
a1.set_title(f"shrunk counterexample, dims {p.dims}", fontsize=10)
a1.legend(fontsize=8)
rel = [(d - lo) / (hi - lo) for d, lo, hi in positions]
a2.plot(range(len(rel)), rel, "o", ms=4, color="tab:blue")
a2.axhline(0, color="k", lw=0.8)
a2.axhline(1, color="k", lw=0.8)
a2.set_ylim(-0.1, 1.1)
a2.set_xlabel("example")
a2.set_ylabel("(estimate - lower) / (upper - lower)")
a2.set_title("40-digit GF estimate inside the certified bracket", fontsize=10)
fig.tight_layout()
fig.savefig(FIGURES / "05_property_testing.png", dpi=110)
display(Image(filename=str(FIGURES / "05_property_testing.png")))

# %% [markdown]
# To keep a conjecture, put the decorated function in a test file: pytest runs
# it, and hypothesis stores every counterexample it finds in its database and
# replays it first next time.  `certify.strategies.certificates()` draws
# complete certificates, for testing a checker of your own.
