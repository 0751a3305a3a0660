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
# # certify in five minutes
#
# `certify` gives rigorous bounds on the distance between **gradient descent**
# (GD, step `eta`, in exact arithmetic) and **gradient flow** (GF, the ODE
# `theta' = -grad f(theta)`) on deep linear networks, and writes each result as
# a certificate that an independent checker re-verifies.
#
# This notebook walks through the whole loop on the embedded problem
# `builtin:demo` (what `certify demo` does on the command line):
#
# 1. load a problem;
# 2. derive its gradient and Hessian (symbolically, then the float64 kernels
#    checked against exact rational arithmetic);
# 3. certify the GD-GF gap;
# 4. re-check the certificate with the independent checker;
# 5. plot.
#
# **Labels.** Every number printed below says whether it is *certified* (a
# rigorous bound: rounding accounted for) or an *estimate* (plain float64, or
# a high-precision computation without an error bound).
#
# **Size switch.** `CERTIFY_NOTEBOOK_SIZE=ci` (used by the test suite) runs a
# horizon of `t = 2`; `full` (the default) the paper's step size `eta = 1e-3`
# for 10,000 steps (`t = 10`).  Figures are written as PNG into
# `CERTIFY_NOTEBOOK_FIGURES` (default: the current folder).

# %%
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import mpmath
import numpy as np
from IPython.display import Image, display
from matplotlib.figure import Figure

import certify

SIZE = os.environ.get("CERTIFY_NOTEBOOK_SIZE", "full")
assert SIZE in ("ci", "full"), f"CERTIFY_NOTEBOOK_SIZE must be ci or full, got {SIZE!r}"
FIGURES = Path(os.environ.get("CERTIFY_NOTEBOOK_FIGURES", "."))
FIGURES.mkdir(parents=True, exist_ok=True)

ETA = 1e-3
STEPS = 2_000 if SIZE == "ci" else 10_000
EVERY = STEPS // 20
print(f"size {SIZE}: eta = {ETA}, {STEPS} steps (t = {STEPS * ETA:g}), checkpoint every {EVERY} steps")

# %% [markdown]
# ## 1. A problem
#
# A problem is a network shape `dims = (d_0, ..., d_N)`, a loss (here the
# *whitened* loss `l(W) = ||W - Phi||_F^2 / 2` of the end-to-end matrix
# `W = W_N ... W_1`) and the initial weights.  `certify.load_problem` accepts a
# `builtin:NAME`, a JSON/TOML path or a dict (README, "Problems").  The
# problem certified is the one with exactly these binary64 numbers.

# %%
print("builtin problems:", ", ".join(certify.builtin_names()))
prob = certify.load_problem("builtin:demo")
print(f"{prob.name}: dims {prob.dims}, depth {prob.depth}, {prob.n_params} parameters, loss {type(prob.loss).__name__}")
for j, W in enumerate(prob.weights, 1):
    print(f"  W_{j}: shape {W.shape}, ||W_{j}||_2 = {np.linalg.norm(W, 2):.4f} (estimate: float64 SVD)")
assert prob.dims == (3, 4, 4, 3) and prob.n_params == 40

# %% [markdown]
# ## 2. Derivatives
#
# **Symbolically.** `certify derive` lets sympy differentiate the loss
# expression itself along a line `W_j + s D_j` and verifies that the result
# equals the SPEC's gradient (S2.1) and Hessian quadratic form (S2.2), for all
# widths at this depth.  (This is a command-line feature; the Python API has no
# public function for it, so we call the command.)

# %%
CLI = Path(sys.executable).with_name("certify")
CLI = str(CLI) if CLI.exists() else shutil.which("certify")
derive = subprocess.run([CLI, "derive", "builtin:demo"], capture_output=True, text=True, timeout=300)
keep = ("certify derive", "S2.1:", "grad_W", "S2.2:", "=>", "trace terms")
print("\n".join(line for line in derive.stdout.splitlines() if any(k in line for k in keep)))
assert derive.returncode == 0, derive.stderr
assert "=> S2.1 holds" in derive.stdout and "=> S2.2 holds" in derive.stdout

# %% [markdown]
# **Numerically.** `certify.Objective` evaluates the loss, the gradient (S2.1:
# `O(N)` matrix products) and Hessian-vector products (S2.2) in float64 (or
# `mpf`, or exact rationals).  `certify.verify_derivatives` compares the
# float64 kernels against exact rational arithmetic at `theta_0`: the relative
# errors are float64 rounding, about `1e-16`.

# %%
obj = certify.Objective(prob)
loss0, grad0 = obj.loss_and_grad(prob.theta0)
hv = obj.hvp(prob.theta0, grad0)
print(f"loss(theta_0)          = {loss0:.10f}   (estimate: float64)")
print(f"||grad f(theta_0)||    = {np.linalg.norm(grad0):.10f}   (estimate: float64)")
print(f"g^T Hf g / ||g||^2     = {grad0 @ hv / (grad0 @ grad0):.10f}   (estimate: float64)")

exact = certify.Objective(prob, "exact")
loss_exact = exact.loss(exact.convert(prob.theta0))
print(f"loss(theta_0) exactly  = {float(loss_exact):.10f}   (exact rational, rounded to print)")

check = certify.verify_derivatives(prob)
print(f"float64 vs exact rationals: loss rel. err {check['loss_rel_err']:.1e}, gradient {check['grad_rel_err']:.1e}, "
      f"Hessian {check['hessian_rel_err']:.1e} (measured) -> {'verified' if check['ok'] else 'MISMATCH'}")
assert check["ok"]
assert abs(loss0 - float(loss_exact)) <= 1e-14 * abs(float(loss_exact))

# %% [markdown]
# ## 3. A certified gap
#
# `certify.certify_gap(prob, eta, steps, every=...)` runs GD in float64 while
# carrying a certified ball around every float iterate that contains the
# exact-arithmetic GD iterate (SPEC S4.5), encloses the exact GF in certified
# balls (S4.3), and at every checkpoint brackets
# `gap_k = ||theta_k - theta(k eta)||` between `gap_lower` and `gap_upper`
# (S4.4).  Both ends are certified.

# %%
cert = certify.certify_gap(prob, ETA, STEPS, every=EVERY)
cps = [c for c in cert.checkpoints if c.k > 0]
print(f"{'k':>6} {'t':>5} {'loss (estimate)':>16} {'gap lower (cert.)':>18} {'gap upper (cert.)':>18} "
      f"{'upper/lower':>12}")
shown = sorted({c.k for c in cps[1::2]} | {cps[-1].k})
for c in cps:
    if c.k in shown:
        print(f"{c.k:6d} {float(c.t):5.2f} {c.loss:16.6e} {c.gap_lower:18.6e} {c.gap_upper:18.6e} "
              f"{c.gap_upper / c.gap_lower:12.9f}")
worst = max(c.gap_upper / c.gap_lower for c in cps)
print(f"max gap upper bound {cert.max_gap_upper:.6e} (certified); widest bracket: upper/lower = {worst:.9f} "
      f"(ratio of certified bounds)")
assert not cert.partial
assert all(0 < c.gap_lower <= c.gap_upper for c in cps)
assert worst < 1.001, "the two-sided bracket should be tight on this problem"
assert cert.max_gap_upper < 1e-3, "GD at eta = 1e-3 stays within 1e-3 of GF on builtin:demo"

# %% [markdown]
# The gap is of order `eta`: GD at `eta = 1e-3` stays within about `4e-4` of
# the flow on this problem, and the bracket is so narrow (relative width about
# `1e-7` at `t = 2`, `1e-6` at `t = 10`) that the gap is known to six digits.
# If the bounds stop being useful before the horizon, `certify_gap` raises
# `certify.NotCertified` (with the step, the time, the reason and the knob to
# turn), or returns the certified prefix with `partial=True`.
#
# **A sanity check against an independent estimate.**
# `certify.integrate_gf` integrates GF with a high-order Taylor method at 30
# digits (an *estimate*: no error bound, but an independent code path).  The
# float GD iterate is within the certified radius `r_k` of the exact one, so
# its distance from the estimated flow must lie in
# `[gap_lower - r_k, gap_upper + r_k]` up to the estimate's own error.

# %%
est = certify.integrate_gf(prob, cps[-1].t, dps=30, checkpoints=[c.t for c in cps])
inside = 0
for c, t_est, th in zip(cps, est.times[1:], est.thetas[1:]):
    assert t_est == c.t
    d = float(mpmath.sqrt(mpmath.fsum((mpmath.mpf(float(a)) - b) ** 2 for a, b in zip(c.theta, th))))
    assert c.gap_lower - c.r - 1e-20 <= d <= c.gap_upper + c.r + 1e-20, (c.k, c.gap_lower, d, c.gap_upper)
    inside += 1
print(f"||float GD - 30-digit GF|| (estimate) inside the certified bracket at all {inside} checkpoints; "
      f"at t = {float(cps[-1].t):g}: {d:.9e} in [{cps[-1].gap_lower:.9e}, {cps[-1].gap_upper:.9e}] (certified)")

# %% [markdown]
# ## 4. The independent checker
#
# The certificate is a JSON document (`certify/gap-v2`).  The checker
# (`certify.check_file`, sharing only the problem loader with the producer)
# recomputes the float iterates, re-derives every constant with its own
# rigorous arithmetic, and confirms every claim.  We write the certificate to
# a file, as the command line does, and check the file.

# %%
cert_path = FIGURES / "01_quickstart_gap.json"
certify.write_json_atomic(cert_path, cert.to_json())
report = certify.check_file(cert_path)
print(certify.format_report(report))
assert report.valid and report.checked > 0

# %% [markdown]
# A tampered certificate is rejected: shrink the last checkpoint's claimed
# upper bound by 0.1% (below what the checker can derive) and the checker
# names the failing claim.

# %%
doc = json.loads(cert_path.read_text())
print("schema:", doc["schema"], "| claims:", ", ".join(doc["claims"]))
doc["claims"]["checkpoints"][-1]["gap_upper"] *= 0.999
bad = certify.check_certificate(doc)
print("tampered certificate:", "VALID" if bad.valid else "INVALID")
print("  first failure:", str(bad.failures[0])[:300] if bad.failures else "-")
assert not bad.valid
cert_path.unlink()

# %% [markdown]
# ## 5. Plots
#
# Left: the loss along GD (an estimate: float64 at the float iterates).
# Right: the certified gap band `[gap_lower, gap_upper]` against `t = k eta`
# (the band is narrower than the line) beside the certified radii of the GF
# enclosure and of the exact-GD ball.  `certify.plot_gap` draws the same band
# together with the one-sided S4.2 bound; its PNG is shown at the end.

# %%
t = np.array([float(c.t) for c in cps])
fig = Figure(figsize=(10, 3.8))
a1, a2 = fig.subplots(1, 2)
a1.semilogy(t, [c.loss for c in cps], "o-", ms=3, color="tab:green")
a1.set_xlabel("t = k eta")
a1.set_ylabel("loss f(theta_k) (estimate)")
a1.set_title(f"{prob.name}: GD loss, eta = {ETA:g}", fontsize=10)
a2.fill_between(t, [c.gap_lower for c in cps], [c.gap_upper for c in cps], color="tab:blue", alpha=0.4,
                label="gap ||theta_k - theta(k eta)|| (certified band)")
a2.plot(t, [c.gap_upper for c in cps], color="tab:blue", lw=1)
a2.plot(t, [c.gf_radius for c in cps], ":", color="tab:gray", label="GF enclosure radius (certified)")
a2.plot(t, [c.r for c in cps], "--", color="tab:red", lw=1, label="exact-GD ball radius r_k (certified)")
a2.set_yscale("log")
a2.set_xlabel("t = k eta")
a2.set_ylabel("distance")
a2.set_title("exact GD vs exact GF: certified", fontsize=10)
a2.legend(fontsize=7)
fig.tight_layout()
fig.savefig(FIGURES / "01_quickstart.png", dpi=110)
print("wrote", FIGURES / "01_quickstart.png")
display(Image(filename=str(FIGURES / "01_quickstart.png")))

# %%
certify.plot_gap(cert, FIGURES / "01_quickstart_plot_gap.png")
assert (FIGURES / "01_quickstart_plot_gap.png").stat().st_size > 0
print("wrote", FIGURES / "01_quickstart_plot_gap.png")
display(Image(filename=str(FIGURES / "01_quickstart_plot_gap.png")))

# %% [markdown]
# Next: `02_paper_figure` (the paper's experiment, certified),
# `03_small_step_needed` (when GD needs exponentially small steps),
# `04_deep_linear_theorem` (convergence theorems checked on instances),
# `05_property_testing` (your own conjectures with `certify.strategies`).
