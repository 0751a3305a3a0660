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
# # When GD needs an exponentially small step
#
# PAPER.md section 2 (EC21, "[EC21-informal]"): for any `m > 0` there are
# non-convex objectives on which GD does not track GF up to time `t` unless
# `eta = O(exp(-m t))`.  The mechanism is negative curvature along the flow:
# errors grow like `exp(int_0^t m)`, so the step has to shrink by that factor.
#
# Three cases, every gap *certified*:
#
# 1. the **concave quadratic** `f(theta) = -mu theta^2 / 2` (not a network; the
#    paper's example): GF `theta0 exp(mu t)`, GD `theta0 (1 + eta mu)^k`, the
#    gap evaluated in Arb ball arithmetic (`certify.concave_gap`);
# 2. **`builtin:saddle`**, a depth-2 linear network started next to the strict
#    saddle at the origin: the same mechanism while it escapes, but bounded,
#    because the escape ends at the minimum;
# 3. **`builtin:demo`**, a depth-3 linear network started at a generic point:
#    the favourable case of PAPER.md section 3, where the required step does not
#    shrink with the horizon.
#
# **Size switch.** `CERTIFY_NOTEBOOK_SIZE=ci` uses horizon 4 and steps down to
# `2^-9`; `full` (the default) horizon 8 and steps down to `2^-12`.

# %%
import math
import os
from pathlib import Path

import numpy as np
from IPython.display import Image, display
from matplotlib.figure import Figure

import certify

SIZE = os.environ.get("CERTIFY_NOTEBOOK_SIZE", "full")
assert SIZE in ("ci", "full"), f"CERTIFY_NOTEBOOK_SIZE must be ci or full, got {SIZE!r}"
FIGURES = Path(os.environ.get("CERTIFY_NOTEBOOK_FIGURES", "."))
FIGURES.mkdir(parents=True, exist_ok=True)

MU, THETA0 = 1.0, 0.01  # the concave quadratic
if SIZE == "ci":
    HORIZON, EPS_NET, J_MAX, T_REQ = 4, 2e-3, 9, (1.0, 2.0, 4.0, 8.0)
else:
    HORIZON, EPS_NET, J_MAX, T_REQ = 8, 1e-3, 12, (1.0, 2.0, 4.0, 8.0, 12.0, 16.0)
EPS_QUAD = 1e-3
print(f"size {SIZE}: horizon {HORIZON} for the networks, eps = {EPS_NET:g}, steps 2^-3 .. 2^-{J_MAX}")

# %% [markdown]
# ## 1. The concave quadratic: the largest step is exponentially small
#
# `certify.required_eta(mu, theta0, t, eps)` returns the largest `eta = t / k`
# (`k` a positive integer) whose certified gap at time `k eta` is at most
# `eps`, its `k`, and the [derived] estimate `2 eps exp(-mu t) / (theta0 mu^2 t)`
# (from the first-order expansion of the gap; an *estimate*).
#
# The notebook re-certifies both sides of "largest": with `k` steps the
# certified **upper** bound of the gap is `<= eps`, and with `k - 1` steps the
# certified **lower** bound is `> eps`, so the next coarser step on the grid
# `t / k` certainly fails.

# %%
req = []
print(f"f = -{MU:g} theta^2 / 2 from theta0 = {THETA0:g}, eps = {EPS_QUAD:g}")
print(f"{'t':>5} {'largest eta (cert.)':>20} {'k':>9} {'estimate':>12} {'eta/estimate':>13} "
      f"{'gap at k (cert. upper)':>23} {'gap at k-1 (cert. lower)':>25}")
for t in T_REQ:
    eta, k, est = certify.required_eta(MU, THETA0, t, EPS_QUAD)
    lo_k, hi_k = certify.concave_gap(MU, THETA0, eta, k)
    assert hi_k <= EPS_QUAD, (t, hi_k)
    if k > 1:
        lo_prev, _ = certify.concave_gap(MU, THETA0, t / (k - 1), k - 1)
        assert lo_prev > EPS_QUAD, (t, lo_prev)
    else:
        lo_prev = float("nan")
    req.append((t, eta, k, est))
    print(f"{t:5g} {eta:20.6e} {k:9d} {est:12.6e} {eta / est:13.6f} {hi_k:23.6e} {lo_prev:25.6e}")

# %% [markdown]
# The certified step follows the estimate `exp(-mu t) / t` ever more closely as
# `t` grows (the estimate is first order in `eta`, and `eta` gets small): from
# `t = 1` to `t = 16` it falls by a factor of about `10^7`.

# %%
ts = np.array([r[0] for r in req])
etas = np.array([r[1] for r in req])
slope = np.polyfit(ts[ts >= 2], np.log(etas[ts >= 2]), 1)[0]
print(f"log-slope d log(eta) / dt over t >= 2: {slope:.3f} (fit to certified values; -mu = {-MU:g}, "
      f"the 1/t factor makes it a little steeper)")
assert -1.5 * MU < slope < -0.9 * MU
for t, eta, k, est in req:
    if t >= 4:
        assert abs(eta / est - 1) < 0.05, (t, eta, est)
assert etas[-1] / etas[0] < math.exp(-0.8 * MU * (ts[-1] - ts[0]))

# %% [markdown]
# ## 2. Deep linear networks: next to a saddle, and the favourable case
#
# The deep-linear problems' gaps come from `certify.certify_gap` (SPEC S4.4:
# exact-arithmetic GD against the exact flow).  First the gap against `t` at a
# fixed step (`certify.gap_against_t`): next to the saddle it grows by orders
# of magnitude while the flow escapes, then settles once the loss has dropped;
# on `builtin:demo` it stays flat.

# %%
ETA_FIXED = 0.01
rows_t = certify.gap_against_t(eta=ETA_FIXED, horizon=float(HORIZON), points=HORIZON)
print(f"certified gap ||theta_k - theta(k eta)|| at eta = {ETA_FIXED:g}:")
print(f"{'problem':>15} {'t':>5} {'gap lower (cert.)':>18} {'gap upper (cert.)':>18}")
for name, t, lo_, hi_ in rows_t:
    print(f"{name:>15} {t:5g} {lo_:18.6e} {hi_:18.6e}")
    assert 0 < lo_ <= hi_


def gap_at(name, t):
    return next((lo_, hi_) for n, tt, lo_, hi_ in rows_t if n == name and abs(tt - t) < 1e-9)


grow_saddle = gap_at("builtin:saddle", 4.0)[0] / gap_at("builtin:saddle", 1.0)[1]
grow_demo = gap_at("builtin:demo", 4.0)[1] / gap_at("builtin:demo", 1.0)[0]
print(f"gap(t=4) / gap(t=1): saddle >= {grow_saddle:.1f}, demo <= {grow_demo:.2f} (ratios of certified bounds)")
assert grow_saddle > 20 and grow_demo < 1.5

# %% [markdown]
# The growth is the negative curvature along the flow.  `certify.curvature_profile`
# bounds `m(t) = max(0, -lambda_min(Hf(theta(t))))` on every step of the
# certified GF enclosure (S3.1; certified), beside a dense-eigenvalue
# *estimate* of the true `m`.  Next to the saddle `m` is about `mu = 1` until
# the escape; on `builtin:demo` the estimate decays quickly (the certified S3.1
# bound is looser there: it bounds all directions at once).

# %%
prof = {n: certify.curvature_profile(certify.load_problem(n), 4.0, 8) for n in ("builtin:saddle", "builtin:demo")}
for n, p in prof.items():
    print(f"{n:>15}: int_0^4 m <= {p['int_m_upper']:.3f} (certified, S3.1), int_0^4 m ~ {p['int_m_est']:.3f} "
          f"(estimate: dense eigenvalues at the centres)")
    assert p["int_m_est"] <= p["int_m_upper"] * (1 + 1e-9)
assert prof["builtin:saddle"]["int_m_est"] > 2 * prof["builtin:demo"]["int_m_est"]

# %% [markdown]
# ## 3. The largest step for a given accuracy, on the networks
#
# For a tolerance `eps` and times `t = 1, ..., HORIZON`, the largest step on the
# grid `eta = 2^-j` (dyadic, so `t = k eta` exactly) whose certified gap upper
# bound at `t` is at most `eps`.  One certified run per `eta` gives the gap at
# every `t`.  When the next larger grid step's certified *lower* bound exceeds
# `eps` it certainly fails (marked `!`).

# %%
def largest_dyadic_eta(name, eps, horizon, j_max):
    prob = certify.load_problem(name)
    best, fails_lo = {}, {}
    for j in range(3, j_max + 1):
        eta = 2.0 ** -j
        cert = certify.certify_gap(prob, eta, horizon * 2 ** j, every=2 ** j)
        for c in cert.checkpoints[1:]:
            t = int(c.t)
            assert c.t == t
            if t not in best and c.gap_upper <= eps:
                best[t] = eta
            elif t not in best:
                fails_lo[t] = c.gap_lower  # the last failing (larger) step's certified lower bound
        if len(best) == horizon:
            break
    return best, fails_lo


req_net = {}
for name in ("builtin:saddle", "builtin:demo"):
    best, fails_lo = largest_dyadic_eta(name, EPS_NET, HORIZON, J_MAX)
    req_net[name] = best
    print(f"{name}: largest eta = 2^-j with certified gap <= {EPS_NET:g} at t")
    for t in range(1, HORIZON + 1):
        eta = best.get(t)
        sure = "!" if fails_lo.get(t, 0) > EPS_NET else " "
        print(f"   t = {t}: " + (f"eta = 2^{int(math.log2(eta))} = {eta:.3e} (certified){sure}" if eta else
                                  f"below 2^-{J_MAX} (not reached on this grid)"))
saddle, demo = req_net["builtin:saddle"], req_net["builtin:demo"]
assert all(t in saddle and t in demo for t in range(1, 5)), "the grid should reach eps up to t = 4"
print(f"from t = 1 to t = 4 the required step shrinks by {saddle[1] / saddle[4]:g}x next to the saddle, "
      f"{demo[1] / demo[4]:g}x on builtin:demo (ratios of certified grid steps)")
assert saddle[1] / saddle[4] >= 16 and demo[1] / demo[4] <= 2

# %% [markdown]
# ## 4. Certified gaps against the step
#
# `certify.gap_table` evaluates the certified gap at a fixed horizon for a few
# step sizes on all three problems; the gap is first order in `eta`.
# `certify.plot_smallstep` draws section 1's required step beside these gaps.

# %%
rows = certify.gap_table(etas=(0.1, 0.03, 0.01), horizon=float(min(HORIZON, 4)), mu=MU, theta0=THETA0)
print(f"certified gap at t = k eta, k = round({min(HORIZON, 4)} / eta), against eta:")
for r in rows:
    print(f"  {r.problem:>18}  eta = {r.eta:<5g} t = {r.t:<5.4g} gap in [{r.gap_lower:.6e}, {r.gap_upper:.6e}]  "
          f"gap/eta <= {r.gap_upper / r.eta:.4f}   ({r.source})")
for name in {r.problem for r in rows}:
    rs = sorted((r for r in rows if r.problem == name), key=lambda r: -r.eta)
    assert all(a.gap_lower > b.gap_upper for a, b in zip(rs, rs[1:])), name  # smaller step, smaller gap
certify.plot_smallstep(req, rows, FIGURES / "03_plot_smallstep.png")
display(Image(filename=str(FIGURES / "03_plot_smallstep.png")))

# %% [markdown]
# ## 5. One picture
#
# Left: the required step against the horizon, all certified: the concave
# quadratic (`eps = 1e-3`), the saddle and the favourable demo (`eps` above);
# the dashed line is the [derived] estimate for the quadratic.  Right: the
# certified gap against `t` at `eta = 0.01`.

# %%
fig = Figure(figsize=(11, 4))
a1, a2 = fig.subplots(1, 2)
a1.semilogy([r[0] for r in req], [r[1] for r in req], "o-", color="tab:red", label="concave quadratic (certified)")
a1.semilogy([r[0] for r in req], [r[3] for r in req], "--", color="tab:red", lw=1,
            label="2 eps exp(-mu t)/(theta0 mu^2 t) (estimate)")
for name, col in (("builtin:saddle", "tab:purple"), ("builtin:demo", "tab:green")):
    tt = sorted(req_net[name])
    a1.semilogy(tt, [req_net[name][t] for t in tt], "s-", color=col, label=f"{name} (certified, eta = 2^-j)")
a1.set_xlabel("horizon t")
a1.set_ylabel("largest eta with gap <= eps at t")
a1.set_title("the step GD needs to track GF up to t", fontsize=10)
a1.legend(fontsize=7)
for name, col in (("builtin:saddle", "tab:purple"), ("builtin:demo", "tab:green")):
    pts = [(t, lo_, hi_) for n, t, lo_, hi_ in rows_t if n == name]
    a2.fill_between([p[0] for p in pts], [p[1] for p in pts], [p[2] for p in pts], color=col, alpha=0.4)
    a2.semilogy([p[0] for p in pts], [p[2] for p in pts], "o-", color=col, ms=3, label=f"{name} (certified band)")
a2.set_xlabel("t")
a2.set_ylabel(f"||theta_k - theta(k eta)||, eta = {ETA_FIXED:g}")
a2.set_title("GD-GF gap: escaping a saddle vs the favourable case", fontsize=10)
a2.legend(fontsize=7)
fig.tight_layout()
fig.savefig(FIGURES / "03_small_step_needed.png", dpi=110)
display(Image(filename=str(FIGURES / "03_small_step_needed.png")))

# %% [markdown]
# **Reading.** On the concave quadratic the step must shrink like `exp(-mu t)`
# for as long as one wants GD to track GF: no step works for all horizons.
# Next to a saddle, a deep linear network shows the same exponential shrinking
# while the flow escapes (the curvature is about `-mu` there), but only inside
# that bounded phase: once the flow leaves the saddle region the gap stops
# growing.  Started at a generic point (`builtin:demo`), the required step
# hardly depends on the horizon, which is EC21's favourable case (PAPER.md
# section 3): along the flow the curvature is almost non-negative, so a
# moderately small step suffices for all times.
