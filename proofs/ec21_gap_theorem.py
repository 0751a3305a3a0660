"""PAPER.md section 1 [derived]: GD as a numerical integrator of GF, with explicit constants."""

from __future__ import annotations

import math
import random
from fractions import Fraction

import mpmath
import numpy as np

from . import ProofFailure
from ._instances import mpf_q

LEMMA = "P1-EC21"
TITLE = "Explicit GD-GF gap theorem: ||theta_k - theta(k eta)|| <= beta (G + beta eps) eta J(k eta) <= eps"
STATEMENT = (
    "Let f be C^3, theta the GF solution on [0,T], eps > 0, D = {z : dist(z, theta([0,T])) <= eps}. Suppose "
    "beta >= sup_D ||Hf||_2; gamma(t) is a Lipschitz constant of Hf on the ball B(theta(t), eps) (e.g. the "
    "constant gamma of PAPER.md on D); G >= sup_{t<=T} ||grad f(theta(t))||; m(t) >= max(0, -lambda_min(Hf("
    "theta(t)))) integrable. Put a(t) = m(t) + gamma(t) eps / 2, J(t) = int_0^t exp(int_s^t a) ds and "
    "c = beta (G + beta eps). If eta c J(T) <= eps, i.e. eta <= eps / (c J(T)), then GD theta_{k+1} = theta_k - "
    "eta grad f(theta_k), theta_0 = theta(0), satisfies ||theta_k - theta(k eta)|| <= c eta J(k eta) <= eps "
    "for every k with k eta <= T."
)
HYPOTHESES = (
    "f twice continuously differentiable with locally Lipschitz Hessian (a polynomial here); the GF solution "
    "exists on [0, T]; the constants are valid bounds on the stated sets."
)
PROOF = """\
Let v be the piecewise-linear GD interpolant: v(t) = theta_k - (t - k eta) grad f(theta_k) on [k eta, (k+1) eta],
so v(k eta) = theta_k, v is continuous and v'(t) = -grad f(theta_k) there.  Let e(t) = v(t) - theta(t) and
t* = sup{t in [0, T] : ||e(s)|| <= eps for all s <= t} (e(0) = 0, e continuous, so t* > 0 and ||e|| <= eps on
[0, t*]).  For t in [k eta, (k+1) eta] with t <= t*:
  e'(t) = -(grad f(v(t)) - grad f(theta(t))) + d(t),   d(t) := grad f(v(t)) - grad f(theta_k).
(1) Defect.  The segment [theta_k, v(t)] is {v(s) : k eta <= s <= t}, and v(s) lies in B(theta(s), eps), a
subset of D.  By the mean value theorem ||d(t)|| <= beta ||v(t) - theta_k|| <= beta eta ||grad f(theta_k)||.
Since theta_k = v(k eta) lies in the convex ball B(theta(k eta), eps) (inside D), ||grad f(theta_k)|| <=
||grad f(theta(k eta))|| + beta ||e(k eta)|| <= G + beta eps.  So ||d(t)|| <= c eta.
(2) Curvature.  grad f(v) - grad f(theta) = Hbar e with Hbar = int_0^1 Hf(theta(t) + s e(t)) ds; the segment
lies in B(theta(t), eps).  e^T Hbar e = e^T Hf(theta(t)) e + int_0^1 e^T (Hf(theta + s e) - Hf(theta)) e ds
>= -m(t) |e|^2 - int_0^1 gamma(t) s |e| |e|^2 ds = -(m(t) + gamma(t) |e| / 2) |e|^2 >= -a(t) |e|^2.
(3) Gronwall.  For |e| > 0, d/dt |e| = e.e'/|e| <= a(t)|e| + c eta; at zeros of e the upper Dini derivative
of |e| is <= ||e'|| <= ||d|| <= c eta (the first term vanishes), so the same inequality holds for the upper
right Dini derivative everywhere on [0, t*].  With |e(0)| = 0 the comparison lemma gives |e(t)| <= B(t) :=
c eta J(t) on [0, t*].
(4) Continuation.  B is non-decreasing (B' = c eta + a B >= 0).  If t* < T then |e(t*)| <= B(t*) <= B(T) <= eps
and, when c > 0, B(t*) < B(T) because B' >= c eta > 0, so |e(t*)| < eps and by continuity |e| <= eps a little
beyond t*, contradicting the definition of t*.  (If c = 0 then grad f vanishes along theta, theta is a
stationary point and theta_k = theta(k eta) for all k.)  Hence t* = T and ||theta_k - theta(k eta)|| =
|e(k eta)| <= c eta J(k eta) <= eps for k eta <= T.  With a piecewise-constant a (per segment [t_i, t_{i+1}]),
J(t_{i+1}) = exp(a_i dt_i) J(t_i) + (exp(a_i dt_i) - 1)/a_i (dt_i when a_i = 0): certify.conditions.gronwall_J.
The check: (a) f = lambda theta^2/2 (closed-form GD and GF; the bound is within a factor ~2.1 of the true
gap, so a defect constant 0.4 c fails); (b) f = -mu theta^2/2 at the largest admissible eta (gap <= bound <=
eps); (c) step (2) on deep linear networks with the exact e^T Hbar e = e.(grad f(theta + e) - grad f(theta))
(exact rationals), m from 50-digit Hessian eigenvalues and gamma from proofs/s2_2_hessian_lipschitz.py as
certify.conditions.tube_constants computes it; gamma = 0 fails; (d) gronwall_J against mpmath quadrature;
(e) end to end on deep linear networks: the certified constants of certify.conditions on the certified GF
tube, eta = the largest admissible eta, true gap from float GD and a 30-digit Taylor GF (estimates).
"""


def _bound_1d(c, eta, J):
    return c * eta * J


def _check_convex(defect_scale: float) -> float:
    """(a) f = lam theta^2 / 2: beta = lam, gamma = 0, m = 0, G = lam |theta0|, J(t) = t."""
    worst = math.inf
    with mpmath.workdps(40):
        for lam, theta0, eta, K in ((1, 1, 1e-3, 50), (2, 1, 1e-3, 40), (0.5, 2, 1e-2, 20)):
            lam, theta0, eta = mpmath.mpf(lam), mpmath.mpf(theta0), mpmath.mpf(eta)
            eps = mpmath.mpf(10) ** -6
            c = lam * (lam * abs(theta0) + lam * eps)
            for k in range(1, K + 1):
                t = k * eta
                gap = abs(theta0 * (1 - eta * lam) ** k - theta0 * mpmath.exp(-lam * t))
                bound = defect_scale * _bound_1d(c, eta, t)
                if gap > bound:
                    raise ProofFailure(f"(a) convex quadratic: gap {mpmath.nstr(gap, 8)} > bound "
                                       f"{mpmath.nstr(bound, 8)} at k={k}")
                worst = min(worst, float(bound / gap))
    return worst


def _check_concave(defect_scale: float) -> None:
    """(b) f = -mu theta^2/2: beta = mu, gamma = 0, m = mu, G = mu theta0 e^{mu T}."""
    with mpmath.workdps(40):
        for mu, theta0, T, eps in ((1, 1, 2, mpmath.mpf("0.01")), (3, mpmath.mpf("0.1"), 1, mpmath.mpf("0.05"))):
            mu, theta0, T = mpmath.mpf(mu), mpmath.mpf(theta0), mpmath.mpf(T)
            G = mu * theta0 * mpmath.exp(mu * T)
            c = mu * (G + mu * eps)
            J = lambda t: (mpmath.exp(mu * t) - 1) / mu
            eta_max = eps / (c * J(T))
            for eta in (eta_max, eta_max / 3):
                K = int(mpmath.floor(T / eta))
                for k in sorted({1, K // 4, K // 2, K}):
                    if k < 1:
                        continue
                    t = k * eta
                    gap = abs(theta0 * (1 + eta * mu) ** k - theta0 * mpmath.exp(mu * t))
                    bound = defect_scale * c * eta * J(t)
                    if gap > bound or bound > eps * (1 + mpmath.mpf(10) ** -30):
                        raise ProofFailure(f"(b) concave quadratic: gap {mpmath.nstr(gap, 8)}, bound "
                                           f"{mpmath.nstr(bound, 8)}, eps {mpmath.nstr(eps, 4)} at k={k}")


def _specs(rng: random.Random, count: int):
    from ._instances import dyadic_spec

    out = []
    for k in range(count):
        N = 2 + k % 2
        out.append(dyadic_spec(rng, [rng.randint(1, 2) for _ in range(N + 1)]))
    return out


def _check_curvature_step(gamma_scale: float, rng: random.Random) -> int:
    """(c) -e^T Hbar e <= (m + gamma |e| / 2) |e|^2; returns how many cases needed the gamma term."""
    from certify.conditions import tube_constants
    from certify.conditions.trajectory import _g_frobenius, _s_G
    from certify._derivatives import Objective
    from certify.gap.blocks import make_ref
    from certify._problem import problem_from_dict
    from certify.arith import get_context

    needed = 0
    ctx = get_context("float64")
    with mpmath.workdps(50):
        for spec in _specs(rng, 8):
            p = problem_from_dict(spec)
            ex = Objective(p, "exact")
            th = np.array([Fraction(float(x)) for x in p.theta0], dtype=object)
            H = ex.hessian(th)
            Hm = mpmath.matrix([[mpmath.mpf(x.numerator) / x.denominator for x in row] for row in H])
            ev, V = mpmath.eigsy(Hm)
            i0 = min(range(len(ev)), key=lambda i: ev[i])
            m = max(mpmath.mpf(0), -ev[i0])
            vmin = np.array([float(V[r, i0]) for r in range(len(ev))])
            ref = make_ref(0, [np.array(w) for w in p.weights], p, ctx)
            gF = _g_frobenius(p, list(p.weights), ctx)
            for s in (0.05, 0.2, 0.5):
                for sign in (1, -1):
                    e = np.array([Fraction(float(sign * s * x)) for x in vmin], dtype=object)
                    ee = sum(x * x for x in e)
                    ne = mpmath.sqrt(mpmath.mpf(ee.numerator) / ee.denominator)
                    lhs_q = -sum(a * b for a, b in zip(e, ex.grad(th + e) - ex.grad(th)))  # -e^T Hbar e, exact
                    lhs = mpmath.mpf(lhs_q.numerator) / lhs_q.denominator
                    radius = float(ne) * (1 + 1e-12)
                    gam = tube_constants(ref, [radius] * p.depth, _s_G(p), gF)["gamma"] * gamma_scale
                    rhs = (m + mpmath.mpf(gam) * ne / 2) * ne ** 2
                    if lhs > rhs * (1 + mpmath.mpf(10) ** -25) + mpmath.mpf(10) ** -40:
                        raise ProofFailure(f"(c) -e^T Hbar e = {mpmath.nstr(lhs, 10)} > (m + gamma|e|/2)|e|^2 = "
                                           f"{mpmath.nstr(rhs, 10)} (dims {list(p.dims)}, |e| = {float(ne):.3g})")
                    if lhs > m * ne ** 2:
                        needed += 1
    return needed


def _check_gronwall_J(rng: random.Random) -> None:
    """(d) the closed-form piecewise recursion against quadrature."""
    from certify.conditions import gronwall_J
    from certify.conditions._numeric import _prec
    from certify._claims import hi, lo

    with _prec(128), mpmath.workdps(30):
        for _ in range(5):
            n = rng.randint(1, 5)
            rates = [rng.choice([0.0, rng.uniform(0, 3)]) for _ in range(n)]
            dts = [Fraction(rng.randint(1, 8), 8) for _ in range(n)]
            Js = gronwall_J(rates, dts)
            ts = [Fraction(0)]
            for dt in dts:
                ts.append(ts[-1] + dt)

            tsm, ratesm = [mpf_q(x) for x in ts], [mpf_q(a) for a in rates]

            def a_int(s, t):  # int_s^t a
                tot = mpmath.mpf(0)
                for i in range(n):
                    l, r = max(s, tsm[i]), min(t, tsm[i + 1])
                    if r > l:
                        tot += ratesm[i] * (r - l)
                return tot

            for i in range(1, n + 1):
                t = ts[i]
                val = mpmath.quad(lambda s: mpmath.exp(a_int(s, mpf_q(t))), [mpf_q(x) for x in ts[: i + 1]])
                if not (lo(Js[i]) - 1e-12 <= float(val) <= hi(Js[i]) + 1e-12):
                    raise ProofFailure(f"(d) gronwall_J {Js[i]} does not enclose the quadrature value {val}")


def _check_end_to_end(defect_scale: float, rng: random.Random) -> float:
    """(e) the whole theorem on deep linear networks with certified constants."""
    from certify.conditions import ec21_bound
    from certify.conditions._numeric import _prec
    from certify.conditions.trajectory import _trajectory
    from certify._gd import run_gd
    from certify._problem import problem_from_dict
    from certify.flow.estimate import integrate_gf

    worst = 0.0
    specs = [
        {"dims": [2, 2, 2], "loss": {"kind": "whitened", "target": [[1.0, 0.25], [-0.5, 0.75]]},
         "init": {"weights": [[[0.5, 0.125], [0.0, 0.375]], [[0.25, -0.25], [0.5, 0.5]]]}},
        {"dims": [2, 2, 1, 1], "loss": {"kind": "whitened", "target": [[0.75, -0.5]]},
         "init": {"weights": [[[0.25, 0.5], [-0.25, 0.125]], [[0.5, 0.25]], [[0.75]]]}},
    ]
    for spec in specs:
        p = problem_from_dict(spec)
        T, eps = Fraction(1, 2), 0.05
        with _prec(128):
            traj = _trajectory(p, T, [T * Fraction(k, 16) for k in range(1, 17)])
            res = ec21_bound(traj, eps)
            eta = float(res["eta_max_lower"])
            K = int(Fraction(T) / Fraction(eta))
            eta_q = Fraction(eta)
            res = ec21_bound(traj, eps, eta)
            # B(t) is non-decreasing: bound at t <= t_i by the value at the next partition time
            bounds = res["bounds"]
        if not res["applies"]:
            raise ProofFailure("(e) the largest admissible eta is not admitted")
        ks = sorted({K // 8 * j for j in range(1, 9)} | {K})
        gd = run_gd(p, eta, K, every=1)
        est = integrate_gf(p, eta_q * K, dps=30, checkpoints=[eta_q * k for k in ks])
        gf = {t: np.array([float(x) for x in th]) for t, th in zip(est.times, est.thetas)}
        for k in ks:
            t = eta_q * k
            gap = float(np.linalg.norm(gd.thetas[k] - gf[t]))
            b_next = min(b for (tt, b) in bounds if tt >= t) * defect_scale
            if gap > b_next or b_next > eps * (1 + 1e-9) * defect_scale:
                raise ProofFailure(f"(e) gap {gap:.6g} > bound {b_next:.6g} (or bound > eps) at k={k}")
            worst = max(worst, gap / b_next)
    return worst


def check(*, defect_scale: float = 1.0, gamma_scale: float = 1.0, seed: int = 21,
          end_to_end: bool = True) -> str:
    rng = random.Random(seed)
    ratio = _check_convex(defect_scale)
    _check_concave(defect_scale)
    needed = _check_curvature_step(gamma_scale, rng)
    _check_gronwall_J(rng)
    e2e = _check_end_to_end(defect_scale, rng) if end_to_end else float("nan")
    return (f"(a) tightest bound/gap {ratio:.3f} (convex); (b) concave at eta_max; (c) {needed} cases need the "
            f"gamma term; (d) J recursion; (e) worst gap/bound {e2e:.2e} on certified deep-linear tubes")
