"""S4.6-ce-fast: the a-priori rounding bound of the float64 kernel-loss gradient (certify/losses/fast.py)."""

from __future__ import annotations

import random

import mpmath

from . import ProofFailure

LEMMA = "S4.6-ce-fast"
TITLE = "Kernel-loss gradient in float64: ||G^ - grad l(W)||_F <= err (the seven-step chain of certify/losses/fast.py)"
STATEMENT = (
    "In Higham's model (every operation fl(a op b) = (a op b)(1 + d), |d| <= u; a product with inner dimension k "
    "errs by at most gamma_k |A||B| entrywise; the exp kernel errs by at most eps_e exp(x) relatively), the float "
    "gradient G^ of softmax cross-entropy computed as Z = fl(W X), V = fl(Z - colmax Z), E = exp~(V), "
    "S = fl(colsum E), P = fl(E / S), R = fl(P - Y) (one-hot Y), G^ = fl(fl(R X^T) / m) satisfies "
    "||G^ - grad l(W)||_F <= ((eP + 2u ||R||_F) ||X||_2 + gamma_m ||R||_F ||X||_F) (1 + u) / m + u ||G^||_F with "
    "eL = gamma_{d0} ||W||_F ||X||_F, eps_S = eps_e + gamma_{d-1} (1 + eps_e), "
    "eps_P = (1 + eps_e)(1 + u)/(1 - eps_S) - 1, eP = sqrt(m) eps_P + (u ||V||_F + eL)/2 (norms of the computed "
    "arrays; plus underflow terms in binary64).  certify.losses.fast implements it with u = 2^-53 and eps_e = 6u."
)
HYPOTHESES = ("Higham's model (IEEE binary64, round to nearest); softmax is 1/2-Lipschitz per column in the 2-norm "
              "(lambda_max(diag p - p p^T) <= 1/2, proofs/ce_hessian_bound.py); the exp kernel's bound "
              "(lemma S4.6-exp, proofs/ce_exp_kernel.py).")
PROOF = """\
Per step (certify/losses/fast.py's docstring): the logits err by gamma_{d0} |W||X| <= (Cauchy-Schwarz per entry)
norm-wise eL; the shift's subtraction by u |V|; softmax ignores the shift and is 1/2-Lipschitz, so these two move
P by at most (u ||V||_F + eL)/2.  With S = sum_c e^V_c >= 1 (the column maximum maps to exactly 1), the computed
sum has relative error eps_S, each computed p_c = (e_c (1 + a))(1 + d)/(S (1 + b)) has relative error at most eps_P
and, since ||p_i||_2 <= 1 per column, ||P^ - P(V)||_F <= sqrt(m) eps_P.  R = P - Y adds u |R^|, twice for
safety; the product R X^T errs by gamma_m |R||X^T| (Frobenius <= gamma_m ||R||_F ||X||_F) and propagates the
error of R through ||X||_2; the division by m rounds once.
Check (a model-level adversarial simulation at an inflated unit roundoff u = 2^-20, so that first-order terms
dominate): the chain is run in 50-digit arithmetic with every rounding replaced by an exact perturbation of
the maximal size allowed by the model, with sign patterns (all +, all -, alternating by class, random, and
patterns aligned with the error each step produces), on instances chosen to make each inequality nearly tight:
identical samples (Cauchy-Schwarz tight for X), two classes at W = 0 (softmax Jacobian 1/2), logits aligned with
the data, wide inputs (gamma_{d0} large), an inflated exp error eps_e = 200u (the exp term dominant) and an exact
exp with wide inputs (the logits' term dominant).  The bound must hold for every pattern.  Dropping the softmax
term or the logits term (override ``drop``) fails on these instances; the shift, residual, product and division
terms are each dominated by the others here (dropping one alone is not detected: the bound is loose by about 2x
in the worst pattern found).  (b) the
implementation at u = 2^-53: err >= the 50-digit distance on random instances (tests/test_ce_certified.py does
this with hypothesis, including logits of size 1e3 and ties).
"""


def _g(k, u):
    return k * u / (1 - k * u)


def _softmax_chain(W, X, Y, u, eps_e, signs, rng):
    """The computed gradient under adversarial rounding: each rounding replaced by (1 + sign u)."""
    d, d0 = len(W), len(W[0])
    m = len(X[0])

    def sg(key, i, c=0):
        s = signs.get(key)
        if s == "rand":
            return rng.choice((-1, 1))
        if s == "class":
            return 1 if c == 0 else -1
        return s

    Z = [[mpmath.fsum(W[c][j] * X[j][i] for j in range(d0)) for i in range(m)] for c in range(d)]
    absZ = [[mpmath.fsum(abs(W[c][j]) * abs(X[j][i]) for j in range(d0)) for i in range(m)] for c in range(d)]
    Zh = [[Z[c][i] + sg("Z", i, c) * _g(d0, u) * absZ[c][i] for i in range(m)] for c in range(d)]
    M = [max(Zh[c][i] for c in range(d)) for i in range(m)]
    V = [[(Zh[c][i] - M[i]) * (1 + sg("V", i, c) * u) for i in range(m)] for c in range(d)]
    E = [[mpmath.exp(V[c][i]) * (1 + sg("E", i, c) * eps_e) for i in range(m)] for c in range(d)]
    S = [mpmath.fsum(E[c][i] for c in range(d)) * (1 + sg("S", i) * _g(d - 1, u)) for i in range(m)]
    P = [[E[c][i] / S[i] * (1 + sg("P", i, c) * u) for i in range(m)] for c in range(d)]
    R = [[(P[c][i] - Y[c][i]) * (1 + sg("R", i, c) * u) for i in range(m)] for c in range(d)]
    G = [[(mpmath.fsum(R[c][i] * X[j][i] for i in range(m))
           + sg("G", j, c) * _g(m, u) * mpmath.fsum(abs(R[c][i]) * abs(X[j][i]) for i in range(m))) / m
          * (1 + sg("D", j, c) * u) for j in range(d0)] for c in range(d)]
    return G, V, R


def _exact_gradient(W, X, Y):
    d, d0, m = len(W), len(W[0]), len(X[0])
    G = [[mpmath.mpf(0)] * d0 for _ in range(d)]
    for i in range(m):
        z = [mpmath.fsum(W[c][j] * X[j][i] for j in range(d0)) for c in range(d)]
        mx = max(z)
        e = [mpmath.exp(v - mx) for v in z]
        s = mpmath.fsum(e)
        for c in range(d):
            r = e[c] / s - Y[c][i]
            for j in range(d0):
                G[c][j] += r * X[j][i] / m
    return G


def _fro(A):
    return mpmath.sqrt(mpmath.fsum(x * x for row in A for x in row))


def _spec2(X):
    return mpmath.sqrt(max(mpmath.eigsy(mpmath.matrix(X) * mpmath.matrix(X).T)[0]))


def bound(W, X, V, R, G, u, eps_e, drop=()):
    """The lemma's bound with the computed arrays' norms (terms named for ``drop``)."""
    d, d0, m = len(W), len(W[0]), len(X[0])
    x2, xf = _spec2(X), _fro(X)
    eL = 0 if "logits" in drop else _g(d0, u) * _fro(W) * xf
    eps_S = eps_e + _g(max(d - 1, 1), u) * (1 + eps_e)
    eps_P = (1 + eps_e) * (1 + u) / (1 - eps_S) - 1
    eP = (0 if "softmax" in drop else mpmath.sqrt(m) * eps_P) + ((0 if "shift" in drop else u * _fro(V)) + eL) / 2
    eR = eP + (0 if "residual" in drop else 2 * u * _fro(R))
    prod = 0 if "product" in drop else _g(m, u) * _fro(R) * xf
    return (eR * x2 + prod) * (1 + u) / m + (0 if "division" in drop else u * _fro(G))


def _instances(rng):
    mp = mpmath.mpf
    x = [mp(1), mp(2), mp(-1)]
    m = 3
    same = [[x[j]] * m for j in range(3)]  # identical samples: Cauchy-Schwarz tight
    y2 = [[mp(1)] * m, [mp(0)] * m]
    yield "W = 0, two classes, identical samples", [[mp(0)] * 3, [mp(0)] * 3], same, y2, 200
    a = mp(1) / 50
    xh = [v / mpmath.sqrt(6) for v in x]
    yield "logits aligned with the data", [[a * v for v in xh], [-a * v for v in xh]], same, y2, 6
    wide = 64
    xw = [[mp(1)] * 2 for _ in range(wide)]
    yield "wide inputs (gamma_d0)", [[mp(1) / 400] * wide, [mp(-1) / 400] * wide], xw, [[mp(1)] * 2, [mp(0)] * 2], 6
    # an exact exp (eps_e = 0) and wide inputs with logits +-0.4 (softmax Jacobian 0.43): the logits'
    # rounding gamma_d0 |W||X| dominates every other term
    d0 = 40
    yield ("exact exp, wide inputs, logits +-0.4", [[mp(2) / (5 * d0)] * d0, [mp(-2) / (5 * d0)] * d0],
           [[mp(1)] * 2 for _ in range(d0)], [[mp(1)] * 2, [mp(0)] * 2], 0)
    for _ in range(2):
        d, d0, mm = rng.randint(2, 4), rng.randint(1, 4), rng.randint(1, 4)
        W = [[mp(rng.uniform(-2, 2)) for _ in range(d0)] for _ in range(d)]
        X = [[mp(rng.uniform(-2, 2)) for _ in range(mm)] for _ in range(d0)]
        Y = [[mp(1 if c == rng.randrange(d) else 0) for _ in range(mm)] for c in range(d)]
        for i in range(mm):  # one-hot columns
            k = rng.randrange(d)
            for c in range(d):
                Y[c][i] = mp(1 if c == k else 0)
        yield "random", W, X, Y, 6


PATTERNS = (
    {k: 1 for k in "ZVESPRGD"}, {k: -1 for k in "ZVESPRGD"},
    {"Z": "class", "V": "class", "E": "class", "S": -1, "P": "class", "R": 1, "G": 1, "D": 1},
    {"Z": "class", "V": "class", "E": "class", "S": -1, "P": "class", "R": -1, "G": -1, "D": -1},
    {"Z": -1, "V": "class", "E": -1, "S": 1, "P": -1, "R": -1, "G": -1, "D": -1},
    {k: "rand" for k in "ZVESPRGD"},
)


def check(*, drop=(), u=None, seed: int = 4606, implementation: bool = True) -> str:
    with mpmath.workdps(50):
        return _check(drop, mpmath.mpf(2) ** -20 if u is None else mpmath.mpf(u), seed, implementation)


def _check(drop, u, seed, implementation) -> str:
    rng = random.Random(seed)
    worst = (0, "")
    for name, W, X, Y, eps_units in _instances(rng):
        eps_e = eps_units * u
        G0 = _exact_gradient(W, X, Y)
        for pat in PATTERNS:
            G, V, R = _softmax_chain(W, X, Y, u, eps_e, pat, rng)
            dist = _fro([[G[c][j] - G0[c][j] for j in range(len(G0[0]))] for c in range(len(G0))])
            b = bound(W, X, V, R, G, u, eps_e, drop)
            if dist > b:
                raise ProofFailure(f"{name}: realized error {mpmath.nstr(dist, 6)} > bound {mpmath.nstr(b, 6)} "
                                   f"(pattern {pat})")
            if dist / b > worst[0]:
                worst = (dist / b, name)
    if implementation:
        import numpy as np

        from certify.losses import CrossEntropy
        from certify.losses.fast import gradient_with_error

        nrng = np.random.default_rng(seed)
        for _ in range(20):
            Xn = nrng.normal(size=(3, 5))
            Yn = np.eye(3)[:, nrng.integers(0, 3, 5)]
            Wn = nrng.normal(size=(3, 3)) * 10.0 ** nrng.uniform(-2, 2)
            fg = gradient_with_error(CrossEntropy(X=Xn, Y=Yn), Wn)
            G0 = _exact_gradient([[mpmath.mpf(float(v)) for v in r] for r in Wn],
                                 [[mpmath.mpf(float(v)) for v in r] for r in Xn],
                                 [[mpmath.mpf(float(v)) for v in r] for r in Yn])
            dist = _fro([[mpmath.mpf(float(fg.G[c, j])) - G0[c][j] for j in range(3)] for c in range(3)])
            if not dist <= fg.err:
                raise ProofFailure(f"implementation: distance {mpmath.nstr(dist, 6)} > err {fg.err}")
    return (f"the bound holds under every adversarial rounding pattern on {len(PATTERNS)} patterns x 6 instances "
            f"(tightest realized/bound = {mpmath.nstr(worst[0], 3)} on '{worst[1]}')"
            + ("; the implementation's err contains the 50-digit distance on 20 random instances" if implementation else ""))
