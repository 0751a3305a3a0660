"""S4.6-exp: the float64 exp/expm1 kernel of certify/losses/_kernels.py and its proven error bound."""

from __future__ import annotations

import math
import random
from fractions import Fraction

from . import ProofFailure

LEMMA = "S4.6-exp"
TITLE = "Rigorous float64 exp/expm1: Cody-Waite reduction, degree-14 Taylor, Horner error recursion (<= 10.1 ulp wide)"
STATEMENT = (
    "In IEEE binary64 with round to nearest (u = 2^-53), for every double x with |x| <= 746, the kernel of "
    "certify.losses._kernels (k = rint(fl(x INV_LN2)), t = x - k C1, r = fl(t - fl(k C2)), q = Horner of "
    "c_j = fl(1/j!), j = 1..14, y = fl(fl(q r) + 1), hi = ldexp(fl(y F_UP), k), lo = ldexp(fl(y F_DN), k)) "
    "satisfies lo <= exp(x) <= hi, and hi - lo <= 10.1 u exp(x) when the results are normal (subnormal "
    "results: one extra subnormal step outward; overflow: hi = inf, lo = DBL_MAX). Precisely: (i) k C1 and "
    "x - k C1 are exact, |k| <= 1100, |r| <= rho = 45/128 and |r - (x - k ln2)| <= u|r| + delta0; (ii) "
    "|q - q(r)| <= E_q for q(r) = (e^r - 1)/r, where E_q bounds truncation (e^rho rho^14/15!), coefficient "
    "rounding and the Horner recursion e_i <= rho e_{i+1} + u(2+u) rho (B_{i+1} + e_{i+1}) + u c_{i+1} + "
    "2.01 2^-1075; (iii) F_UP >= (1 + u + A/y_min)(1 + D + D^2)/(1 - u) and F_DN <= (1 - u - A/y_min)(1 - D)/(1 + u) "
    "with A = rho E_q + u rho max|q| + 2^-1075, y_min = (e^-rho - A)/(1 + u), D = u rho + delta0; likewise "
    "for expm1 (2^-54 <= |r| <= rho): G_UP >= 1/((1 - theta)(1 - u)^2), G_DN <= 1/((1 + theta)(1 + u)^2), "
    "theta = E_q/q(-rho). Also: e^-746 < 2^-1076 and e^746 > DBL_MAX (the clamped branches), "
    "LN2_LO < ln2 < LN2_HI."
)
HYPOTHESES = (
    "IEEE binary64, round to nearest, each numpy ufunc call rounds once (no contraction across calls; an "
    "FMA would only remove roundings); |fl(z) - z| <= u|z| + 2^-1075 for products, <= u|z| for sums "
    "(Higham 2002, Thm 2.2; S4.6 (a)); ldexp exact for normal results and faithful otherwise."
)
PROOF = """\
(i) ln2 is enclosed by the partial sums of ln2 = sum_k 1/(k 2^k) (tail <= 1/((n+1) 2^n)).  C1 = M/2^41 with
M = floor(ln2 2^41) < 2^41, so |k| M < 1100 * 2^41 < 2^53: k C1 is exact.  |fl(x INV) - x/ln2| <= eps :=
746 |INV - 1/ln2| + u 746 INV + 2^-1075, so |x/ln2 - k| <= 1/2 + eps, |k| <= 746/ln2 + 1/2 + eps <= 1100 and
|t| = |x - k C1| <= ln2 (1/2 + eps) + 1100 |ln2 - C1| < 0.35.  If k != 0 then |fl(x INV)| >= 1/2, so
|x| >= (1/2 - 2^-1075)/(INV (1 + u)) > 1/4.  Exactness of t: if |x| >= 1/2, x and k C1 are multiples of
2^-53 (x has exponent >= -1, C1 is a multiple of 2^-41) and |t| < 1 = 2^53 2^-53, so t is a double; if
1/4 <= |x| < 1/2 both are multiples of 2^-54 and |t| < 1/2; if |x| < 1/4 then k = 0 and t = x.  Then
r = fl(t - p), p = fl(k C2): |r - (t - k C2)| <= u|r| + u|k C2|, and t - k C2 - (x - k ln2) = k C3; so
|r - (x - k ln2)| <= u|r| + delta0 with delta0 = 1100 (u|C2| + |C3|), and |r| <= (ln2(1/2 + eps) + delta0)/(1 - u)
<= rho.  (ii) Lagrange: |q(r) - Q_14(r)| = |sum_{j>14} r^(j-1)/j!| <= e^rho rho^14/15! (sum of the remainder
of e^r divided by r).  The coefficients c_j = fl(1/j!) differ from 1/j! by at most u/j!; the computed Horner
value differs from the exact polynomial with the c_j by e_0, where e_i obeys the recursion of the statement
(one product and one sum per level, each with the model above; |y_i| <= B_i + e_i with B_i the level sums at
rho); solved exactly in rationals.  (iii) |fl(fl(q r) + 1) - (q r + 1)| <= u|y| + u rho max|q| + 2^-1075 and
|q r + 1 - e^r| <= rho E_q, so |y - e^r| <= A + u y, y >= y_min; e^x = 2^k e^r e^(x - k ln2 - r) with
|x - k ln2 - r| <= D gives 2^k y F_dn <= e^x <= 2^k y F_up; the final product with F_UP (F_DN) is rounded to
nearest, which the factor 1/(1 - u) (1/(1 + u)) pays for; scaling by 2^k is exact for normal results.
Width: hi - lo <= (F_UP (1 + u) - F_DN (1 - u)) y 2^k <= (F_UP (1 + u) - F_DN (1 - u))/F_dn e^x, checked
<= 10.1 u e^x.  expm1: m = fl(r q) = r q (1 + d); q/q(r) in [1 - theta, 1 + theta] since q(r) >= q(-rho)
(q increasing); the G constants pay for the last rounding the same way.
Every inequality is checked below in exact rational arithmetic; e^rho and e^-rho by Taylor partial sums with
a bounded tail / alternating-series bounds.  Finally (not part of the proof) 3000 doubles, including range-
reduction ties x = (k + 1/2) ln2, tiny and subnormal x, are enclosed and compared with exact rationals for
t and with 60-digit mpmath for exp(x).
"""

U = Fraction(1, 2**53)
ETA = Fraction(1, 2**1075)


def _ln2_bounds(n: int = 200):
    s = sum(Fraction(1, k * 2**k) for k in range(1, n + 1))
    return s, s + Fraction(1, (n + 1) * 2**n)


def _exp_upper(x: Fraction, terms: int = 40) -> Fraction:
    """e^x <= sum_{j<=terms} x^j/j! + 2 x^(terms+1)/(terms+1)! for 0 <= x <= 1."""
    return sum(x**j / math.factorial(j) for j in range(terms + 1)) + 2 * x ** (terms + 1) / math.factorial(terms + 1)


def _exp_neg_lower(x: Fraction, terms: int = 41) -> Fraction:
    """e^-x >= sum_{j<=terms} (-x)^j/j! for 0 <= x <= 1 and odd ``terms`` (alternating, decreasing)."""
    return sum((-x) ** j / math.factorial(j) for j in range(terms + 1))


def constants(*, degree: int = 14, rho: Fraction = Fraction(45, 128), c1_bits: int = 41):
    """The exact rational constants of the analysis (a dict); raises ProofFailure on any broken step."""
    from certify.losses import _kernels as K

    L_lo, L_hi = _ln2_bounds()
    M = math.floor(L_lo * 2**c1_bits)
    if M != math.floor(L_hi * 2**c1_bits):
        raise ProofFailure("ln2 enclosure too wide to fix C1")
    C1 = Fraction(M, 2**c1_bits)
    if K.K_MAX * M >= 2**53:  # |k| M < 2^53: k C1 = k M 2^-c1_bits is a double
        raise ProofFailure(f"with a {c1_bits}-bit C1, k C1 is not exact: K_MAX * M = {K.K_MAX * M} >= 2^53")
    if Fraction(K.LN2_C1) != C1:
        raise ProofFailure(f"LN2_C1 = {K.LN2_C1.hex()} is not floor(ln2 2^{c1_bits})/2^{c1_bits}")
    C2 = Fraction(K.LN2_C2)
    # C2 is the double nearest ln2 - C1 (so |C3| is tiny): check the rounding claim exactly
    ulp2 = Fraction(2) ** (math.frexp(K.LN2_C2)[1] - 53)
    if max(abs(L_lo - C1 - C2), abs(L_hi - C1 - C2)) > ulp2 / 2 + (L_hi - L_lo):
        raise ProofFailure("LN2_C2 is not fl(ln2 - C1)")
    C3 = max(abs(L_lo - C1 - C2), abs(L_hi - C1 - C2))
    INV = Fraction(K.INV_LN2)
    XM = Fraction(K.X_MAX)
    eps = XM * max(abs(INV - 1 / L_lo), abs(INV - 1 / L_hi)) + U * XM * INV + ETA
    kmax = XM / L_lo + Fraction(1, 2) + eps
    if kmax > K.K_MAX:
        raise ProofFailure(f"|k| may reach {float(kmax)} > K_MAX = {K.K_MAX}")
    t_max = L_hi * (Fraction(1, 2) + eps) + K.K_MAX * max(abs(L_lo - C1), abs(L_hi - C1))
    if not t_max < Fraction(1, 2):
        raise ProofFailure(f"|t| <= {float(t_max)} is not < 1/2: the exactness argument fails")
    x_k_nonzero = (Fraction(1, 2) - ETA) / (INV * (1 + U))
    if not x_k_nonzero > Fraction(1, 4):
        raise ProofFailure("k != 0 does not imply |x| > 1/4")
    delta0 = K.K_MAX * (U * abs(C2) + C3)
    r_max = (L_hi * (Fraction(1, 2) + eps) + delta0) / (1 - U)
    if r_max > rho:
        raise ProofFailure(f"|r| <= {float(r_max)} exceeds rho = {float(rho)}")
    if Fraction(K.RHO) > rho:
        raise ProofFailure(f"the kernel's RHO = {K.RHO} exceeds the analysed rho = {rho}")
    # (ii) coefficients, truncation, Horner recursion
    c = [Fraction(1.0 / math.factorial(j)) for j in range(1, degree + 1)]
    for j, cj in enumerate(c, start=1):
        if abs(cj - Fraction(1, math.factorial(j))) > U / math.factorial(j):
            raise ProofFailure(f"fl(1/{j}!) is not within u/{j}! of 1/{j}!")
    n = len(c)
    B = [sum(c[l] * rho ** (l - i) for l in range(i, n)) for i in range(n)]
    e = [Fraction(0)] * n
    for i in range(n - 2, -1, -1):
        yb = B[i + 1] + e[i + 1]
        e[i] = rho * e[i + 1] + U * (2 + U) * rho * yb + U * c[i] + 2 * ETA + U * ETA
    coef_err = sum(abs(c[i] - Fraction(1, math.factorial(i + 1))) * rho**i for i in range(n))
    trunc = _exp_upper(rho) * rho**degree / math.factorial(degree + 1)
    E_q = e[0] + coef_err + trunc
    q_max = B[0] + e[0]
    A = rho * E_q + U * rho * q_max + ETA
    y_min = (_exp_neg_lower(rho) - A) / (1 + U)
    D = U * rho + delta0
    F_up = (1 + U + A / y_min) * (1 + D + D * D)
    F_dn = (1 - U - A / y_min) * (1 - D)
    q_min = sum((-rho) ** j / math.factorial(j + 1) for j in range(42))  # alternating, ends negative
    theta = E_q / q_min
    G_up = 1 / ((1 - theta) * (1 - U))
    G_dn = 1 / ((1 + theta) * (1 + U))
    return dict(C1=C1, C2=C2, C3=C3, eps=eps, delta0=delta0, r_max=r_max, t_max=t_max, E_q=E_q, trunc=trunc,
                horner=e[0], coef_err=coef_err, A=A, y_min=y_min, F_up=F_up, F_dn=F_dn, theta=theta,
                G_up=G_up, G_dn=G_dn, L_lo=L_lo, L_hi=L_hi)


def _sample_check(rng: random.Random, samples: int) -> float:
    """Enclose random doubles (ties of the reduction, tiny and subnormal inputs, the clamped
    branches) and compare with exact t and 60-digit exp; returns the worst width in units of u."""
    import mpmath
    import numpy as np

    from certify.losses import _kernels as K

    xs = [rng.uniform(-746, 746) for _ in range(samples // 2)]
    xs += [rng.uniform(-2, 2) * 2.0 ** rng.randint(-1074, 0) for _ in range(samples // 4)]
    xs += [(k + 0.5) * math.log(2) for k in range(-1075, 1025, 7)]
    xs += [0.0, 5e-324, -5e-324, 0.25, -0.25, 0.5, -0.5, 709.78, 709.79, -744.44, -745.2, 746.0, -746.0, 746.5, -746.5]
    x = np.array(xs)
    # exactness of the reduction, in rationals
    xc = np.clip(x, -K.X_MAX, K.X_MAX)
    k = np.rint(xc * K.INV_LN2)
    t = xc - k * K.LN2_C1
    for xi, ki, ti in zip(xc[:800], k[:800], t[:800]):
        if Fraction(float(ti)) != Fraction(float(xi)) - int(ki) * Fraction(K.LN2_C1):
            raise ProofFailure(f"x - k C1 was rounded for x = {float(xi)!r}")
    lo, hi = K.exp_enclosure(x)
    worst = 0.0
    with mpmath.workdps(60):
        for xi, l, h in zip(x, lo, hi):
            ex = mpmath.exp(mpmath.mpf(float(xi)))
            if not (mpmath.mpf(float(l)) <= ex <= mpmath.mpf(float(h))):
                raise ProofFailure(f"exp({float(xi)!r}) = {ex} outside [{float(l)!r}, {float(h)!r}]")
            if 1e-300 < l and h < 1e300:
                worst = max(worst, float((mpmath.mpf(float(h)) - mpmath.mpf(float(l))) / ex * 2**53))
    return worst


def check(*, degree: int = 14, rho: Fraction = Fraction(45, 128), c1_bits: int = 41, f_up: float | None = None,
          f_dn: float | None = None, g_up: float | None = None, g_dn: float | None = None,
          samples: int = 3000, seed: int = 46) -> str:
    """Overrides: ``degree`` (the Taylor degree the constants must cover), ``rho``, ``c1_bits`` (the split of
    ln2), and the four folded constants ``f_up``, ``f_dn``, ``g_up``, ``g_dn`` (default: the kernel's)."""
    from certify.losses import _kernels as K

    if degree > K.DEGREE:
        raise ProofFailure(f"the kernel evaluates degree {K.DEGREE}, not {degree}")
    cs = constants(degree=degree, rho=rho, c1_bits=c1_bits)
    FU = Fraction(K.F_UP if f_up is None else f_up)
    FD = Fraction(K.F_DN if f_dn is None else f_dn)
    GU = Fraction(K.G_UP if g_up is None else g_up)
    GD = Fraction(K.G_DN if g_dn is None else g_dn)
    if FU < cs["F_up"] / (1 - U):
        raise ProofFailure(f"F_UP = 1 + {float((FU - 1) / U):.3f} u < F_up/(1-u) = 1 + {float((cs['F_up'] / (1 - U) - 1) / U):.3f} u")
    if FD > cs["F_dn"] / (1 + U):
        raise ProofFailure(f"F_DN = 1 - {float((1 - FD) / U):.3f} u > F_dn/(1+u) = 1 - {float((1 - cs['F_dn'] / (1 + U)) / U):.3f} u")
    if GU < cs["G_up"] / (1 - U):
        raise ProofFailure("G_UP does not cover the expm1 bound")
    if GD > cs["G_dn"] / (1 + U):
        raise ProofFailure("G_DN does not cover the expm1 bound")
    width = (FU * (1 + U) - FD * (1 - U)) / cs["F_dn"]
    if width > Fraction(K.EXP_REL_WIDTH):
        raise ProofFailure(f"width factor {float(width / U):.3f} u exceeds EXP_REL_WIDTH = {K.EXP_REL_WIDTH / 2**-53:.2f} u")
    # the clamped branches and the fallback constants
    L_lo, L_hi = cs["L_lo"], cs["L_hi"]
    if not Fraction(K.X_MAX) > 1076 * L_hi:  # x < -746: e^x < e^(-1076 ln2) = 2^-1076 <= hi = 2^-1074
        raise ProofFailure("e^-746 < 2^-1076 does not follow")
    if not Fraction(K.X_MAX) > 1024 * L_hi:  # DBL_MAX < 2^1024 = e^(1024 ln2)
        raise ProofFailure("e^746 > DBL_MAX does not follow")
    if not (Fraction(K.LN2_LO) < L_lo and L_hi < Fraction(K.LN2_HI)):
        raise ProofFailure("LN2_LO < ln2 < LN2_HI fails")
    worst = _sample_check(random.Random(seed), samples) if samples else float("nan")
    return (f"|r| <= {float(cs['r_max']):.6f} <= 45/128; E_q = {float(cs['E_q'] / U):.3f} u (Horner {float(cs['horner'] / U):.3f} u, "
            f"truncation {float(cs['trunc'] / U):.1e} u); F_up/(1-u) = 1 + {float((cs['F_up'] / (1 - U) - 1) / U):.2f} u <= F_UP = 1 + 4u; "
            f"width <= {float(width / U):.2f} u exp(x); {samples} samples: worst {worst:.2f} u")
