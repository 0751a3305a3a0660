"""S4.1: the a-posteriori Gronwall bound with a logarithmic norm (one-sided Lipschitz constant)."""

from __future__ import annotations

import random
from fractions import Fraction
from math import comb

from . import ProofFailure
from ._instances import mpf_q

LEMMA = "S4.1"
TITLE = "Gronwall bound with a logarithmic norm on a tube (continuation argument)"
STATEMENT = (
    "Let y be piecewise C^1 on [0,T] with delta(t) >= ||y'(t) + grad f(y(t))||, and suppose "
    "-lambda_min(Hf(z)) <= mu(t) whenever ||z - y(t)|| <= rho.  Let e solve e' = mu(t) e + delta(t), "
    "e(0) >= ||theta(0) - y(0)||.  If e(t) < rho on [0,T], then ||theta(t) - y(t)|| <= e(t) on [0,T] "
    "(theta the GF solution).  Explicitly e(t) = exp(M(t)) (e(0) + int_0^t exp(-M(s)) delta(s) ds), "
    "M(t) = int_0^t mu; for constant mu, delta on a step of length h: "
    "e(h) = exp(mu h) e(0) + delta (exp(mu h) - 1)/mu (delta h at mu = 0; mu may be negative)."
)
HYPOTHESES = (
    "f is C^2 (here a polynomial, S2.3), so GF has a unique C^1 solution while it stays bounded; mu, delta "
    "piecewise continuous; rho > 0."
)
PROOF = """\
Write u(t) = theta(t) - y(t).  Where y is C^1:
u' = -grad f(theta) - y' = -(grad f(theta) - grad f(y)) - (y' + grad f(y)).
Suppose ||u(s)|| <= rho on [0, t].  The segment [y(t), theta(t)] then lies in the ball of radius rho
around y(t), and grad f(theta) - grad f(y) = H u with H = int_0^1 Hf(y + a u) da, a symmetric matrix
with lambda_min(H) >= min_a lambda_min(Hf(y + a u)) >= -mu(t).  Hence
d/dt (1/2 ||u||^2) = <u, u'> = -<u, H u> - <u, y' + grad f(y)> <= mu ||u||^2 + delta ||u||.
For ||u|| > 0 this is D^+ ||u|| <= mu ||u|| + delta (also at ||u|| = 0, where D^+||u|| <= ||u'|| <= delta,
using ||u'|| <= ||grad f(theta) - grad f(y)|| + delta = delta at u = 0).  The comparison lemma for the
scalar linear ODE (e - ||u|| has D^+ (e - ||u||) >= mu (e - ||u||), so exp(-M)(e - ||u||) is
nondecreasing) gives ||u(s)|| <= e(s) on [0, t]; at the breakpoints of y, u is continuous and the
argument restarts.
Continuation: let t* = sup{t <= T : ||u|| <= e on [0, t]}.  ||u(0)|| <= e(0) < rho, so t* > 0 by
continuity (||u|| < rho near 0 and the inequality holds there).  If t* < T then ||u(t*)|| <= e(t*) < rho,
so ||u|| < rho on [0, t* + eps] by continuity, the argument above applies on [0, t* + eps] and gives
||u|| <= e there, contradicting the definition of t*.  So ||u|| <= e on [0, T].  (GF cannot blow up on
[0, T]: it stays within distance rho of the bounded curve y.)
The explicit solution: with M' = mu, (exp(-M) e)' = exp(-M)(e' - mu e) = exp(-M) delta; integrate.
For constant mu, delta: int_0^h exp(mu (h - s)) delta ds = delta (exp(mu h) - 1)/mu.
Check: (a) sympy: the general variation-of-constants formula solves e' = mu(t) e + delta(t) for
undefined functions mu, delta; the constant-coefficient closed form solves e' = mu e + delta, has e(0) =
e0 and tends to e0 + delta t as mu -> 0.  (b) mpmath.odefun on random mu(t) (of both signs) and
delta(t) >= 0 agrees with the formula (quadrature) to 1e-15, and a sub-solution u' = mu u + delta - h,
h >= 0, u(0) <= e(0) stays below e.  (c) end to end on a depth-2 scalar network
f = 1/2 (w2 w1 - phi)^2: y = piecewise-linear interpolation of the GD iterates rounded to 2^-50 (as a
floating-point run would give), delta_k from Bernstein bounds of the exact polynomial defect on each
step, mu_k from S3.1 on the tube of radius rho, e_k by the closed form; the GF solution
(mpmath.odefun, 20 digits) satisfies ||theta(k eta) - y(k eta)|| <= e_k < rho at every step.
"""


def _default_closed_form(mu, delta, e0, t):
    import sympy as sp

    return sp.exp(mu * t) * e0 + delta * (sp.exp(mu * t) - 1) / mu


def _bernstein_max(coeffs):
    """max |p| on [0,1] bound: the largest |Bernstein coefficient| of p(x) = sum_i coeffs[i] x^i."""
    n = len(coeffs) - 1
    if n < 0:
        return Fraction(0)
    b = [sum(Fraction(comb(k, i), comb(n, i)) * coeffs[i] for i in range(k + 1)) for k in range(n + 1)]
    return max(abs(x) for x in b)


def check(*, closed_form=None, delta_scale=1, mu_scale=1, steps: int = 8, seed: int = 41) -> str:
    """``closed_form(mu, delta, e0, t)`` replaces the constant-coefficient solution (sympy);
    ``delta_scale`` / ``mu_scale`` multiply the defect and curvature bounds in (c)."""
    import mpmath
    import sympy as sp

    cf = closed_form or _default_closed_form
    # (a) symbolic
    t, s, r = sp.symbols("t s r", real=True)
    mu_f, de_f = sp.Function("mu"), sp.Function("delta")
    e0 = sp.Symbol("e0", real=True)
    M = lambda x: sp.Integral(mu_f(r), (r, 0, x))  # noqa: E731
    e_gen = sp.exp(M(t)) * (e0 + sp.Integral(sp.exp(-M(s)) * de_f(s), (s, 0, t)))
    if sp.simplify(sp.diff(e_gen, t) - mu_f(t) * e_gen - de_f(t)) != 0 or sp.simplify(e_gen.subs(t, 0) - e0) != 0:
        raise ProofFailure("(a) the variation-of-constants formula does not solve e' = mu e + delta")
    mu, de = sp.symbols("mu delta", real=True, nonzero=True)
    e_c = cf(mu, de, e0, t)
    if sp.simplify(sp.diff(e_c, t) - mu * e_c - de) != 0:
        raise ProofFailure(f"(a) closed form {e_c} does not solve e' = mu e + delta")
    if sp.simplify(e_c.subs(t, 0) - e0) != 0:
        raise ProofFailure(f"(a) closed form {e_c} does not start at e0")
    if sp.simplify(sp.limit(e_c, mu, 0) - (e0 + de * t)) != 0:
        raise ProofFailure("(a) the mu -> 0 limit of the closed form is not e0 + delta t")
    closed = sp.lambdify((mu, de, e0, t), e_c, "mpmath")

    rng = random.Random(seed)
    worst_b = mpmath.mpf(0)
    with mpmath.workdps(20):
        # (b) variable coefficients: odefun vs the formula, and a sub-solution
        for _ in range(3):
            # mu(t) = a + b t + c t^2 (either sign), delta(t) = p + q t^2 >= 0, h(t) = q t^2 / 2 >= 0
            a, b, c = (mpmath.mpf(rng.uniform(-1, 1)) for _ in range(3))
            p, q = mpmath.mpf(rng.uniform(0, 1)), mpmath.mpf(rng.uniform(0, 1))
            muf = lambda x: a + x * (b + c * x)  # noqa: E731
            def_ = lambda x: p + q * x * x  # noqa: E731
            h = lambda x: q * x * x / 2  # noqa: E731
            E0 = mpmath.mpf(rng.uniform(0, 1))
            sol = mpmath.odefun(lambda x, y: [muf(x) * y[0] + def_(x), muf(x) * y[1] + def_(x) - h(x)],
                                0, [E0, E0 * mpmath.mpf("0.9")])
            Mi = lambda x: x * (a + x * (b / 2 + c * x / 3))  # noqa: E731  (int_0^x mu)
            for T in (mpmath.mpf("0.5"), mpmath.mpf(1), mpmath.mpf("1.5")):
                formula = mpmath.exp(Mi(T)) * (E0 + mpmath.quad(lambda x: mpmath.exp(-Mi(x)) * def_(x), [0, T]))
                y = sol(T)
                err = abs(y[0] - formula)
                worst_b = max(worst_b, err)
                if err > mpmath.mpf(10) ** -15 * (1 + abs(formula)):
                    raise ProofFailure(f"(b) odefun {y[0]} vs variation of constants {formula}")
                if y[1] > y[0]:
                    raise ProofFailure("(b) a sub-solution exceeded the comparison solution")
        # constant-coefficient closed form vs odefun on each step (mu of both signs)
        for _ in range(4):
            m_, d_, E0, hh = (mpmath.mpf(rng.uniform(-2, 2)), mpmath.mpf(rng.uniform(0, 1)),
                              mpmath.mpf(rng.uniform(0, 1)), mpmath.mpf(rng.uniform(0.1, 1)))
            sol = mpmath.odefun(lambda x, y: m_ * y + d_, 0, E0)
            if abs(sol(hh) - closed(m_, d_, E0, hh)) > mpmath.mpf(10) ** -15:
                raise ProofFailure(f"(b) closed form {closed(m_, d_, E0, hh)} != odefun {sol(hh)} at mu={m_}")

        # (c) end to end on f = 1/2 (w2 w1 - phi)^2, GD vs GF
        phi = Fraction(1)
        eta = Fraction(1, 8)
        rho = Fraction(1, 2)
        th = [Fraction(1, 4), Fraction(-1, 8)]
        grad = lambda w: ((w[0] * w[1] - phi) * w[1], (w[0] * w[1] - phi) * w[0])  # noqa: E731
        iters = [tuple(th)]
        rnd = lambda x: Fraction(round(x * 2**50), 2**50)  # noqa: E731  (iterates as computed: rounded)
        for _ in range(steps):
            g = grad(iters[-1])
            iters.append((rnd(iters[-1][0] - eta * g[0]), rnd(iters[-1][1] - eta * g[1])))
        phm = mpmath.mpf(phi.numerator) / phi.denominator
        gf = mpmath.odefun(lambda x, y: [-(y[0] * y[1] - phm) * y[1], -(y[0] * y[1] - phm) * y[0]], 0,
                           [mpmath.mpf(th[0].numerator) / th[0].denominator,
                            mpmath.mpf(th[1].numerator) / th[1].denominator])
        tau = sp.Symbol("tau")
        e = mpmath.mpf(0)
        worst_c = mpmath.mpf(0)
        for k in range(steps):
            a0, a1 = iters[k], iters[k + 1]
            D = (a1[0] - a0[0], a1[1] - a0[1])
            Q = lambda x: sp.Rational(x.numerator, x.denominator)  # noqa: E731
            y = [Q(a0[i]) + tau * Q(D[i]) for i in range(2)]
            gy = ((y[0] * y[1] - Q(phi)) * y[1], (y[0] * y[1] - Q(phi)) * y[0])
            # the defect y' + grad f(y) on the step, an exact polynomial in tau = (t - k eta)/eta in [0, 1]
            comps = [sp.Poly(sp.expand(Q(D[i]) / Q(eta) + gy[i]), tau) for i in range(2)]
            sup = [_bernstein_max([Fraction(int(c.p), int(c.q)) for c in reversed(p.all_coeffs())]) for p in comps]
            delta_k = mpmath.sqrt(mpf_q(sup[0] ** 2 + sup[1] ** 2) * (1 + mpmath.mpf(10) ** -15)) * delta_scale
            resid = sp.Poly(sp.expand(y[0] * y[1] - Q(phi)), tau)
            g_sup = _bernstein_max([Fraction(int(c.p), int(c.q)) for c in reversed(resid.all_coeffs())])
            ymax = [max(abs(a0[i]), abs(a1[i])) for i in range(2)]
            # S3.1 (N = 2, widths 1: C = [[0,1],[1,0]]) on the tube: -lambda_min <= |z1 z2 - phi|
            mu_k = mpf_q(g_sup + rho * (ymax[0] + ymax[1]) + rho * rho) * mu_scale
            h = mpmath.mpf(eta.numerator) / eta.denominator
            e = mpmath.exp(mu_k * h) * e + (delta_k * (mpmath.exp(mu_k * h) - 1) / mu_k if mu_k else delta_k * h)
            if not e < mpf_q(rho):
                raise ProofFailure(f"(c) e_{k + 1} = {mpmath.nstr(e, 6)} left the tube rho = {rho}: no conclusion")
            exact = gf((k + 1) * h)
            gap = mpmath.sqrt((exact[0] - mpmath.mpf(a1[0].numerator) / a1[0].denominator) ** 2 +
                              (exact[1] - mpmath.mpf(a1[1].numerator) / a1[1].denominator) ** 2)
            if gap > e:
                raise ProofFailure(f"(c) ||theta(t) - theta_k|| = {mpmath.nstr(gap, 8)} > e_k = {mpmath.nstr(e, 8)} "
                                   f"at k = {k + 1}")
            worst_c = max(worst_c, gap / e)
    return (f"sympy closed forms; odefun to {mpmath.nstr(worst_b, 2)}; GD vs GF, {steps} steps: "
            f"gap/e_k <= {mpmath.nstr(worst_c, 3)}")
