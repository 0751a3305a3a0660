"""S2.2-ce-gradlip: the spectral Lipschitz constant s_G of G = grad l for softmax cross-entropy and the logistic loss
(S3.1's s_G; certify.losses.Loss.gradient_lipschitz_2, gap-v2.md section 8)."""

from __future__ import annotations

import random
from fractions import Fraction
from functools import lru_cache

import sympy as sp

from . import ProofFailure

# "S2.2-ce-lip" is the Hessian-Lipschitz lemma (proofs/ce_hessian_lipschitz.py); this is the gradient's.
LEMMA = "S2.2-ce-gradlip"
TITLE = ("Gradient Lipschitz (spectral): ||G(W+E) - G(W)||_2 <= s_G ||E||_2, "
         "s_G = c ||X||_2 min(||X||_F, sqrt(min(d_0, d_N)) ||X||_2) / m")
STATEMENT = (
    "Let l(W) = (1/m) sum_i phi_i(W x_i) (W in R^{d_N x d_0}, X = (x_1..x_m) in R^{d_0 x m}) with phi_i twice "
    "continuously differentiable and 0 <= H_i(z) = d^2 phi_i / dz^2 <= c I for all z. Then G = grad l satisfies, for "
    "all W and E, ||G(W + E) - G(W)||_2 <= s_G ||E||_2 (spectral norms) with "
    "s_G = c ||X||_2 min(||X||_F, sqrt(min(d_0, d_N)) ||X||_2) / m, and s_G >= c ||X||_2^2 / m >= sup_W ||Hl(W)||_2. "
    "Softmax cross-entropy (phi_i(z) = -sum_c Y_ci log softmax(z)_c, Y >= 0, s_i = sum_c Y_ci): "
    "H_i(z) = s_i (diag p - p p^T), p = softmax(z), so c = max_i s_i / 2; logistic (d_N = 1, "
    "phi_i(z) = log(1 + exp(-y_i z)), y_i = +-1): H_i = sigma (1 - sigma), c = 1/4. The constant c cannot be lowered "
    "(d_0 = 1 instances reach ratio 1), and for d_N >= 3 the factor min(..) / ||X||_2 is needed: an instance with "
    "d_N = 3, d_0 = m = 2, X = I has sup ||DG(W)[E]||_2 / ||E||_2 >= cos(pi/12) sqrt(3/2) c ||X||_2^2 / m "
    "(= 1.1830 c ||X||_2^2 / m)."
)
HYPOTHESES = ("Y >= 0 entrywise (probability columns in S1); labels exactly +-1; real W, E, X; the Hessian formulas "
              "of S2.2-ce-psd and the bound lambda_max(diag p - p p^T) <= 1/2 of S2.2-ce-bound.")
PROOF = """\
Fix W, E and let D(tau) = DG(W + tau E)[E].  G is C^1, so (fundamental theorem of calculus, entrywise)
G(W + E) - G(W) = int_0^1 D(tau) dtau and ||G(W + E) - G(W)||_2 <= sup_tau ||D(tau)||_2 (a norm of an integral is at
most the integral of the norm).  At any point V: G(V) = (1/m) sum_i g_i(V x_i) x_i^T with g_i = grad phi_i, so
DG(V)[E] = (1/m) sum_i H_i(V x_i) (E x_i) x_i^T = (1/m) Delta X^T, Delta = (H_1 E x_1, ..., H_m E x_m) (d_N x m).
Then ||Delta X^T||_2 <= ||Delta||_2 ||X||_2 <= ||Delta||_F ||X||_2; ||H_i||_2 <= c (0 <= H_i <= c I) gives
||Delta||_F^2 = sum_i ||H_i E x_i||^2 <= c^2 sum_i ||E x_i||^2 = c^2 ||E X||_F^2; and ||E X||_F <= ||E||_2 ||X||_F,
||E X||_F <= ||E||_F ||X||_2 <= sqrt(rank E) ||E||_2 ||X||_2 with rank E <= min(d_0, d_N) (||E||_F^2 is the sum of
the squared singular values, at most rank E of them, each <= ||E||_2^2).  Together
||D(tau)||_2 <= c ||X||_2 min(||X||_F, sqrt(min(d_0, d_N)) ||X||_2) ||E||_2 / m = s_G ||E||_2.  Since ||X||_F >= ||X||_2
and sqrt(k) >= 1, s_G >= c ||X||_2^2 / m, which bounds sup ||Hl||_2 (S2.2-ce-bound).  The logit Hessians: per sample
phi(z) = sum_c y_c (log S - z_c), S = sum_k e^{z_k}, so d^2 phi / dz^2 = s (diag p - p p^T) with s = sum_c y_c, PSD
with lambda_max <= s/2 (S2.2-ce-psd, S2.2-ce-bound); logistic d^2/dz^2 log(1 + e^{-y z}) = y^2 sigma (1 - sigma) <= 1/4.
Lower bounds.  (1) d_0 = 1, W = 0: CE with d_N = 2, E = eps (1, -1)^T: DG(0)[E] = (1/4) (1,-1)^T X X^T eps / m, ratio
exactly c ||X||_2^2 / m = s_G; logistic with E = eps: (1/4) E X X^T / m, the same.  So c is sharp.  (2) d_N = 3,
X = I_2, W = (z_1, z_2) with z_1 = (0, 0, -L), z_2 = (0, -L, 0): as L -> oo, H_1 -> (1/2) a a^T, H_2 -> (1/2) b b^T with
a = (1,-1,0)/sqrt 2, b = (1,0,-1)/sqrt 2 (a.b = 1/2).  With E's orthonormal columns v_1, v_2 in the plane orthogonal
to (1,1,1) at angles -15 and 75 degrees from a (b at 60), Delta = (1/2) cos 15 (a, b) and ||(a, b)||_2 =
sqrt(1 + a.b), so ||DG[E]||_2 = (1/4) cos(15 deg) sqrt(3/2) ||E||_2 = 1.1830 c ||X||_2^2 / m ||E||_2 (c = 1/2, m = 2):
the naive constant c ||X||_2^2 / m (the Frobenius one, S4.3-ce-series (iii)) is not a spectral Lipschitz constant.
(For d_N = 2 every H_i is a multiple of the same projector (1,-1)(1,-1)^T / 2, and c ||X||_2^2 / m would suffice there.)
Check: (a) sympy: for CE (d_N, d_0) in {(2,1), (2,2), (3,1), (3,2)} the logit Hessian of phi (sympy.hessian of S1's
per-sample loss in z) equals s (diag p - p p^T), and the directional derivative of the sympy gradient,
sum_{a,b} d grad / d W_ab E_ab, equals (H E x) x^T (exp atoms -> positive symbols, differences cancel to 0);
logistic d_0 = 1, 2: y^2 sigma (1 - sigma) (E x) x^T.  (b) 50 digits (mpmath): on random instances (one-hot and soft
labels, column sums s_i != 1, logits up to ~10^3, exact and near ties 1e-30 apart, segments crossing a tie, E from
1e-20 to 10, rank one and full rank) and on the adversarial and tight instances: ||G(W+E) - G(W)||_2 <= s_G ||E||_2
with G the sympy gradient (allowance: G's own 50-digit rounding, 1e-45 (1 + ||G||_F)); each link of the chain at
tau in {0, 1/2, 1}, D(tau) from the lambdified sympy derivative of (a) (relative allowance 1e-40 for the norms of E
and E X, 1e-30 of s_G ||E||_2 for those of DG and Delta, which cancel when softmax saturates); the integral identity
<R, G(W+E) - G(W)> = int_0^1 <R, D(tau)> dtau (mpmath.quad) on two instances.  (c) The adversarial instance reaches
>= 1.18 c ||X||_2^2 / m (a formula without the min factor fails) and the tight ones reach ratio 1 - 1e-15 (a
smaller c fails).  (d) The implementation: CrossEntropy / Logistic .gradient_lipschitz_2() >= s_G (50 digits) and
>= c ||X||_2^2 / m on random and the special instances.
"""


def _default_s(c, x2, xf, k, m):
    import mpmath

    return c * x2 * min(xf, mpmath.sqrt(k) * x2) / m


# ---- (a) sympy ----


def _logit_hessian_ce(dN: int) -> None:
    z = sp.Matrix(dN, 1, lambda i, j: sp.Symbol(f"z{i}", real=True))
    y = [sp.Symbol(f"y{c}", real=True) for c in range(dN)]
    S = sum(sp.exp(z[k]) for k in range(dN))
    phi = sp.expand_log(-sum(y[c] * sp.log(sp.exp(z[c]) / S) for c in range(dN)), force=True)
    H = sp.hessian(phi, list(z))
    e = [sp.Symbol(f"e{k}", positive=True) for k in range(dN)]
    from .ce_common import exp_atoms_to_symbols

    Hr = H.applyfunc(lambda v: exp_atoms_to_symbols(v, [(z[k], e[k]) for k in range(dN)]))
    p = sp.Matrix([ek / sum(e) for ek in e])
    ref = sum(y) * (sp.diag(*p) - p * p.T)
    for a in range(dN):
        for b in range(dN):
            if sp.cancel(Hr[a, b] - ref[a, b]) != 0:
                raise ProofFailure(f"(a) d_N={dN}: logit Hessian entry ({a},{b}) is not s (diag p - p p^T)")


@lru_cache(maxsize=None)
def _dgrad_ce(dN: int, d0: int):
    """The sympy directional derivative sum_{a,b} d grad / d W_ab E_ab of the CE gradient (exp form)."""
    from .ce_common import matrix_symbols, sample_ce

    sc = sample_ce(dN, d0)
    E = matrix_symbols("E", dN, d0)
    D = sp.Matrix(dN, d0, lambda a, b: sum(sp.diff(sc.grad[a, b], sc.W[i, j]) * E[i, j]
                                           for i in range(dN) for j in range(d0)))
    return sc, E, D


def _verify_dgrad_ce(dN: int, d0: int, hl_matrix=None) -> None:
    """(a): the sympy DG[E] equals (H E x) x^T with H = s (diag p - p p^T) (or ``hl_matrix(s, p)``)."""
    sc, E, D = _dgrad_ce(dN, d0)
    p = sp.Matrix(sc.p)
    H = hl_matrix(sc.s, p) if hl_matrix else sc.s * (sp.diag(*p) - p * p.T)
    ref = (H * E * sc.x) * sc.x.T
    for a in range(dN):
        for b in range(d0):
            if sp.cancel(sp.together(sc.rational(D[a, b]) - ref[a, b])) != 0:
                raise ProofFailure(f"(a) d_N={dN}, d_0={d0}: DG[E] entry ({a},{b}) is not (H E x) x^T")


@lru_cache(maxsize=None)
def _dgrad_logistic(d0: int):
    from .ce_common import matrix_symbols, sample_logistic

    sl = sample_logistic(d0)
    E = matrix_symbols("E", 1, d0)
    D = sp.Matrix(1, d0, lambda a, b: sum(sp.diff(sl.grad[0, b], sl.w[0, j]) * E[0, j] for j in range(d0)))
    sg = sl.sigma
    v = (E * sl.x)[0]
    for b in range(d0):
        if sp.cancel(sp.together(sl.rational(D[0, b]) - sl.y**2 * sg * (1 - sg) * v * sl.x[b])) != 0:
            raise ProofFailure(f"(a) logistic d_0={d0}: DG[E] entry {b} is not y^2 sigma (1 - sigma) (E x) x^T")
    return sl, E, D


# ---- (b) 50-digit numerics ----


class _Inst:
    """A cross-entropy (``Y`` a d_N x m list) or logistic (``y`` a list of +-1) instance; numbers are Fractions
    (dyadic where the implementation is compared) or mpf."""

    def __init__(self, name, kind, W, X, labels, E, cover=True):
        self.name, self.kind, self.W, self.X, self.labels, self.E = name, kind, W, X, labels, E
        self.cover = cover  # compare with the implementation (float data)
        self.dN, self.d0, self.m = len(W), len(W[0]), len(X[0])


def _mpq(v):
    import mpmath

    if isinstance(v, Fraction):
        return mpmath.mpf(v.numerator) / v.denominator
    return mpmath.mpf(v)


def _mat(rows):
    import mpmath

    return mpmath.matrix([[_mpq(v) for v in r] for r in rows])


def _spec(M):
    from ._instances import mp_spec

    return mp_spec(M)


def _fro(M):
    import mpmath

    return mpmath.sqrt(sum(M[i, j] ** 2 for i in range(M.rows) for j in range(M.cols)))


def _gradient(fns, inst, Wm):
    """``G(W)`` (mpmath matrix) from the sympy gradient (proofs/ce_common.py), summed over the samples."""
    import mpmath

    G = mpmath.matrix(inst.dN, inst.d0)
    Xm = [[_mpq(v) for v in r] for r in inst.X]
    Wr = [[Wm[a, b] for b in range(inst.d0)] for a in range(inst.dN)]
    for i in range(inst.m):
        x = [Xm[b][i] for b in range(inst.d0)]
        y = inst.labels[i] if inst.kind == "logistic" else [_mpq(inst.labels[c][i]) for c in range(inst.dN)]
        g = fns.grad(Wr, x, y)
        for a in range(inst.dN):
            for b in range(inst.d0):
                G[a, b] += g[a][b]
    return G / inst.m


def _delta(inst, Vm, Em):
    """``Delta = (H_i E x_i)_i`` from the logit-Hessian formula (a), and ``DG(V)[E] = Delta X^T / m``."""
    import mpmath

    Xm = _mat(inst.X)
    Z = Vm * Xm
    EX = Em * Xm
    Delta = mpmath.matrix(inst.dN, inst.m)
    for i in range(inst.m):
        if inst.kind == "logistic":
            t = -inst.labels[i] * Z[0, i]
            sg = 1 / (1 + mpmath.exp(-t))
            Delta[0, i] = sg * (1 - sg) * EX[0, i]
            continue
        zmax = max(Z[c, i] for c in range(inst.dN))
        ex = [mpmath.exp(Z[c, i] - zmax) for c in range(inst.dN)]
        p = [v / sum(ex) for v in ex]
        s = sum(_mpq(inst.labels[c][i]) for c in range(inst.dN))
        pv = sum(p[c] * EX[c, i] for c in range(inst.dN))
        for c in range(inst.dN):
            Delta[c, i] = s * p[c] * (EX[c, i] - pv)
    return Delta, Delta * Xm.T / inst.m


def _dgrad_numeric(lam, inst, Vm, Em):
    """``DG(V)[E]`` from the lambdified sympy directional derivative (summed over the samples)."""
    import mpmath

    D = mpmath.matrix(inst.dN, inst.d0)
    Xm = [[_mpq(v) for v in r] for r in inst.X]
    Vf = [Vm[a, b] for a in range(inst.dN) for b in range(inst.d0)]
    Ef = [Em[a, b] for a in range(inst.dN) for b in range(inst.d0)]
    for i in range(inst.m):
        x = [Xm[b][i] for b in range(inst.d0)]
        y = [inst.labels[i]] if inst.kind == "logistic" else [_mpq(inst.labels[c][i]) for c in range(inst.dN)]
        out = lam(*Vf, *x, *y, *Ef)
        for a in range(inst.dN):
            for b in range(inst.d0):
                D[a, b] += out[a * inst.d0 + b]
    return D / inst.m


def _rank(M, tol):
    import mpmath

    if M.rows == 0:
        return 0
    ev = mpmath.eigsy(M.T * M, eigvals_only=True)
    top = max(max(ev), 0)
    return sum(1 for v in ev if v > tol * top) if top > 0 else 0


class _GradFn:
    def __init__(self, f, rows, cols):
        self.f, self.rows, self.cols = f, rows, cols

    def grad(self, Wr, x, y):
        out = self.f(*[v for r in Wr for v in r], *x, *(y if isinstance(y, list) else [y]))
        return [out[a * self.cols:(a + 1) * self.cols] for a in range(self.rows)]


@lru_cache(maxsize=None)
def _grad_function(kind, dN, d0):
    """The per-sample gradient by ``sympy.diff`` of S1's definition (proofs/ce_common.py), lambdified to mpmath."""
    from .ce_common import sample_ce, sample_logistic

    if kind == "logistic":
        sl = sample_logistic(d0)
        return _GradFn(sp.lambdify(list(sl.w) + list(sl.x) + [sl.y], list(sl.grad), modules="mpmath"), 1, d0)
    sc = sample_ce(dN, d0)
    return _GradFn(sp.lambdify(list(sc.W) + list(sc.x) + list(sc.y), list(sc.grad), modules="mpmath"), dN, d0)


class _Checker:
    def __init__(self, s_formula, ce_constant, logistic_constant, dims=()):
        self.s_formula, self.dims = s_formula, set(dims)
        self.ce_constant, self.logistic_constant = ce_constant, logistic_constant
        self.lams = {}

    def lam(self, inst):
        """The lambdified sympy ``DG[E]`` for the dimensions (a) verified (None for the others: the chain then
        starts from the formula ``Delta X^T / m``, which (a) verified in those dimensions)."""
        key = (inst.kind, inst.dN, inst.d0)
        if key not in self.lams:
            if inst.kind == "logistic":
                sl, E, D = _dgrad_logistic(inst.d0) if inst.d0 in (1, 2) and self.dims else (None, None, None)
                args = None if D is None else list(sl.w) + list(sl.x) + [sl.y] + list(E)
            elif (inst.dN, inst.d0) in self.dims:
                sc, E, D = _dgrad_ce(inst.dN, inst.d0)
                args = list(sc.W) + list(sc.x) + list(sc.y) + list(E)
            else:
                D = None
            self.lams[key] = None if D is None else sp.lambdify(args, list(D), modules="mpmath")
        return self.lams[key]

    def fns(self, inst):
        return _grad_function(inst.kind, inst.dN, inst.d0)

    def constants(self, inst):
        import mpmath

        Xm = _mat(inst.X)
        x2, xf = _spec(Xm), _fro(Xm)
        k = min(inst.d0, inst.dN)
        if inst.kind == "logistic":
            c = _mpq(Fraction(self.logistic_constant))
        else:
            smax = max(sum(_mpq(inst.labels[c][i]) for c in range(inst.dN)) for i in range(inst.m))
            c = _mpq(Fraction(self.ce_constant)) * smax
        return c, x2, xf, k, mpmath.mpf(inst.m)

    def run(self, inst, chain=True, quad=False):
        """The ratio ``||G(W+E) - G(W)||_2 / (s_G ||E||_2)`` (must be <= 1) and the naive ratio
        ``... / (c ||X||_2^2 / m ||E||_2)``; raises on a broken link of the chain."""
        import mpmath

        c, x2, xf, k, m = self.constants(inst)
        sG = self.s_formula(c, x2, xf, k, m)
        Wm, Em = _mat(inst.W), _mat(inst.E)
        e2, ef = _spec(Em), _fro(Em)
        fns = self.fns(inst)
        G0 = _gradient(fns, inst, Wm)
        dG = _gradient(fns, inst, Wm + Em) - G0
        lhs = _spec(dG)
        # the difference carries the absolute rounding of G at 50 digits, ~1e-50 (1 + ||G||_F)
        g_round = mpmath.mpf(10) ** -45 * (1 + _fro(G0))
        if lhs > sG * e2 + g_round:
            raise ProofFailure(f"(b) {inst.name}: ||G(W+E) - G(W)||_2 = {mpmath.nstr(lhs, 12)} > s_G ||E||_2 = "
                               f"{mpmath.nstr(sG * e2, 12)}")
        if chain:
            lam = self.lam(inst)
            Xm = _mat(inst.X)
            EX = Em * Xm
            r = _rank(Em, mpmath.mpf(10) ** -40)  # squared singular values below 1e-40 top: rounding zeros
            tol = mpmath.mpf(10) ** -40  # relative, for the chain's norms of E and E X (no cancellation)
            # DG[E] and Delta are sums of O(||E||)-sized terms that cancel when softmax saturates: their absolute
            # rounding is ~1e-50 of the natural scale s_G ||E||_2 (resp. c ||E X||_F), not of their own size
            t_dg, t_delta = mpmath.mpf(10) ** -30 * sG * e2, mpmath.mpf(10) ** -30 * c * _fro(EX)
            for tau in (0, mpmath.mpf(1) / 2, 1):
                V = Wm + tau * Em
                Delta, D2 = _delta(inst, V, Em)
                D = D2 if lam is None else _dgrad_numeric(lam, inst, V, Em)
                nd = _spec(D)
                rel = lambda left, right: tol * (abs(left) + abs(right))  # noqa: E731
                links = [  # (what, left, right, allowance): left <= right + allowance
                    ("DG[E] = Delta X^T / m", _fro(D - D2), 0, t_dg),
                    ("||DG[E]||_2 <= ||Delta||_F ||X||_2 / m", nd, _fro(Delta) * x2 / m, t_dg),
                    ("||Delta||_F <= c ||E X||_F", _fro(Delta), c * _fro(EX), t_delta),
                    ("||E X||_F <= ||E||_2 ||X||_F", _fro(EX), e2 * xf, rel(_fro(EX), e2 * xf)),
                    ("||E X||_F <= ||E||_F ||X||_2", _fro(EX), ef * x2, rel(_fro(EX), ef * x2)),
                    ("||E||_F <= sqrt(rank E) ||E||_2", ef, mpmath.sqrt(r) * e2, rel(ef, e2)),
                    ("rank E <= min(d_0, d_N)", r, k, 0),
                    ("||DG[E]||_2 <= s_G ||E||_2", nd, sG * e2, t_dg),
                ]
                for what, left, right, allow in links:
                    if left > right + allow:
                        raise ProofFailure(f"(b) {inst.name}, tau={mpmath.nstr(tau, 3)}: {what} fails: "
                                           f"{mpmath.nstr(left, 12)} > {mpmath.nstr(right, 12)}")
            if quad and lam is not None:
                rng = random.Random(len(inst.name))
                R = mpmath.matrix([[mpmath.mpf(rng.randint(-8, 8)) / 4 for _ in range(inst.d0)] for _ in range(inst.dN)])

                def inner(tau):
                    D = _dgrad_numeric(lam, inst, Wm + tau * Em, Em)
                    return sum(R[a, b] * D[a, b] for a in range(inst.dN) for b in range(inst.d0))

                integral = mpmath.quad(inner, [0, 1])
                direct = sum(R[a, b] * dG[a, b] for a in range(inst.dN) for b in range(inst.d0))
                size = sum(abs(R[a, b] * dG[a, b]) for a in range(inst.dN) for b in range(inst.d0))
                if abs(integral - direct) > mpmath.mpf(10) ** -30 * size + g_round:
                    raise ProofFailure(f"(b) {inst.name}: <R, G(W+E) - G(W)> = {direct} but the integral of "
                                       f"<R, DG[E]> is {integral}")
        naive = c * x2 * x2 / m
        if sG * e2 == 0:  # X = 0 or E = 0: G(W + E) = G(W) (checked above: lhs <= 0)
            return mpmath.mpf(0), mpmath.mpf(0)
        return lhs / (sG * e2), lhs / (naive * e2)


def _q(rng, lo, hi, den):
    return Fraction(rng.randint(lo, hi), den)


def adversarial_instance(L: int = 60, eps_exp: int = -20) -> _Inst:
    """d_N = 3, d_0 = m = 2, X = I: the rank-one logit Hessians (1/2) a a^T and (1/2) b b^T (a.b = 1/2) and E's
    orthonormal columns at -15 / 75 degrees from a, scaled by 10^eps_exp (see PROOF, lower bound (2))."""
    import mpmath

    with mpmath.workdps(60):
        a = [mpmath.mpf(1) / mpmath.sqrt(2), -1 / mpmath.sqrt(2), mpmath.mpf(0)]
        b = [mpmath.mpf(1) / mpmath.sqrt(2), mpmath.mpf(0), -1 / mpmath.sqrt(2)]
        ab = sum(x * y for x, y in zip(a, b))
        perp = [y - ab * x for x, y in zip(a, b)]
        n = mpmath.sqrt(sum(v * v for v in perp))
        perp = [v / n for v in perp]
        ang1, ang2 = -mpmath.pi / 12, 5 * mpmath.pi / 12
        v1 = [mpmath.cos(ang1) * x + mpmath.sin(ang1) * y for x, y in zip(a, perp)]
        v2 = [mpmath.cos(ang2) * x + mpmath.sin(ang2) * y for x, y in zip(a, perp)]
        eps = mpmath.mpf(10) ** eps_exp
        E = [[v1[r] * eps, v2[r] * eps] for r in range(3)]
    W = [[Fraction(0), Fraction(0)], [Fraction(0), Fraction(-L)], [Fraction(-L), Fraction(0)]]
    X = [[Fraction(1), Fraction(0)], [Fraction(0), Fraction(1)]]
    Y = [[Fraction(1), Fraction(1)], [Fraction(0), Fraction(0)], [Fraction(0), Fraction(0)]]
    return _Inst("adversarial d_N=3", "ce", W, X, Y, E, cover=True)


def tight_instances() -> list:
    """d_0 = 1, W = 0 (ties: p = (1/2, 1/2), sigma = 1/2), E along the Hessian's top direction, tiny: ratio -> 1."""
    eps = Fraction(1, 2**40)
    X = [[Fraction(1), Fraction(-2), Fraction(1, 2)]]
    ce = _Inst("tight CE d_0=1", "ce", [[Fraction(0)], [Fraction(0)]], X,
               [[Fraction(1), Fraction(0), Fraction(1)], [Fraction(0), Fraction(1), Fraction(0)]], [[eps], [-eps]])
    lg = _Inst("tight logistic", "logistic", [[Fraction(0), Fraction(0)]],
               [[Fraction(1), Fraction(-2), Fraction(1, 2)], [Fraction(1), Fraction(-2), Fraction(1, 2)]],
               [1, -1, 1], [[eps, eps]])
    return [ce, lg]


def random_instances(rng: random.Random, count: int) -> list:
    out = []
    for k in range(count):
        logistic = k % 4 == 3
        dN = 1 if logistic else rng.randint(2, 4)
        d0, m = rng.randint(1, 3), rng.randint(1, 5)
        wscale = rng.choice([Fraction(1, 8), Fraction(1), Fraction(8), Fraction(200)])
        escale = rng.choice([Fraction(1, 2**66), Fraction(1, 1000), Fraction(1), Fraction(10)])
        X = [[_q(rng, -8, 8, 4) for _ in range(m)] for _ in range(d0)]
        W = [[_q(rng, -8, 8, 8) * wscale for _ in range(d0)] for _ in range(dN)]
        tie = rng.random() < 0.3
        if tie:  # every class (nearly) tied: all rows equal, then 1e-30-sized perturbations
            W = [list(W[0]) for _ in range(dN)]
            W = [[v + Fraction(rng.randint(-1, 1), 10**30) for v in row] for row in W]
        if rng.random() < 0.3:  # rank one E
            u = [_q(rng, -4, 4, 4) for _ in range(dN)]
            v = [_q(rng, -4, 4, 4) for _ in range(d0)]
            E = [[ua * vb * escale for vb in v] for ua in u]
        else:
            E = [[_q(rng, -8, 8, 4) * escale for _ in range(d0)] for _ in range(dN)]
        if not any(v for row in E for v in row):
            E[0][0] = escale
        if not any(v for row in X for v in row):
            X[0][0] = Fraction(1)
        if not logistic and rng.random() < 0.25:  # the segment W -> W + E crosses the tie W = 0
            W = [[-v / 2 for v in row] for row in E]
        cover = True
        if logistic:
            labels = [rng.choice((-1, 1)) for _ in range(m)]
        elif rng.random() < 0.5:
            labels = [[Fraction(0)] * m for _ in range(dN)]
            for i in range(m):
                labels[rng.randrange(dN)][i] = Fraction(1)
        else:  # soft labels; sometimes with column sums s_i != 1 (the lemma allows any Y >= 0)
            raw = [[Fraction(rng.randint(0, 4)) for _ in range(m)] for _ in range(dN)]
            for i in range(m):
                if not any(raw[c][i] for c in range(dN)):
                    raw[0][i] = Fraction(1)
            unnormalised = rng.random() < 0.5
            if unnormalised:
                labels = [[v / 2 for v in row] for row in raw]
                cover = False  # certify's CrossEntropy wants probability columns
            else:
                tot = [sum(raw[c][i] for c in range(dN)) for i in range(m)]
                labels = [[raw[c][i] / tot[i] for i in range(m)] for c in range(dN)]
                cover = all(t & (t - 1) == 0 for t in (int(v) for v in tot))  # dyadic (exact doubles)
        out.append(_Inst(f"random {k} ({'logistic' if logistic else 'CE'} {dN}x{d0}, m={m}{', tie' if tie else ''})",
                         "logistic" if logistic else "ce", W, X, labels, E, cover))
    return out


def _check_implementation(insts, ce_constant, logistic_constant, s_formula) -> str:
    import mpmath
    import numpy as np

    from certify.losses import CrossEntropy, Logistic

    worst = mpmath.mpf(0)
    count = 0
    chk = _Checker(s_formula, ce_constant, logistic_constant)
    for inst in insts:
        if not inst.cover:
            continue
        X = np.array([[float(v) for v in r] for r in inst.X])
        if any(Fraction(float(v)) != v for r in inst.X for v in r):
            continue
        if inst.kind == "logistic":
            loss = Logistic(X, [float(v) for v in inst.labels])
        else:
            Y = np.array([[float(v) for v in r] for r in inst.labels])
            if any(Fraction(float(v)) != v for r in inst.labels for v in r):
                continue
            loss = CrossEntropy(X, Y)
        impl = mpmath.mpf(loss.gradient_lipschitz_2())
        c, x2, xf, k, m = chk.constants(inst)
        sG = s_formula(c, x2, xf, k, m)
        if impl < sG:
            raise ProofFailure(f"(d) {inst.name}: gradient_lipschitz_2() = {float(impl)!r} < s_G = {mpmath.nstr(sG, 20)}")
        if impl < c * x2 * x2 / m:
            raise ProofFailure(f"(d) {inst.name}: gradient_lipschitz_2() < c ||X||_2^2 / m")
        worst = max(worst, impl / sG)
        count += 1
    return f"{count} instances, gradient_lipschitz_2() / s_G <= {mpmath.nstr(worst, 8)}"


def check(*, s_formula=None, ce_constant=Fraction(1, 2), logistic_constant=Fraction(1, 4), hl_matrix=None,
          dims=((2, 1), (2, 2), (3, 1), (3, 2)), points: int = 16, symbolic: bool = True,
          implementation: bool = True, seed: int = 224) -> str:
    """``s_formula(c, ||X||_2, ||X||_F, min(d_0, d_N), m)`` replaces s_G's formula; ``ce_constant`` replaces 1/2 in
    c = (1/2) max_i s_i and ``logistic_constant`` replaces 1/4 (smaller ones must fail, and so must a formula without
    the min factor); ``hl_matrix(s, p)`` replaces the logit Hessian s (diag p - p p^T) in (a).  ``symbolic=False``
    skips (a) (for tests that inject a wrong constant): the chain in (b) then starts from the formula
    DG[E] = Delta X^T / m instead of the sympy derivative."""
    import mpmath

    sf = s_formula or _default_s
    # (a) sympy
    if symbolic:
        for dN in sorted({d for d, _ in dims}):
            _logit_hessian_ce(dN)
        for dN, d0 in dims:
            _verify_dgrad_ce(dN, d0, hl_matrix)
        for d0 in (1, 2):
            _dgrad_logistic(d0)
    # (b), (c) at 50 digits; the special instances first (a wrong constant fails fast)
    rng = random.Random(seed)
    chk = _Checker(sf, ce_constant, logistic_constant, dims if symbolic else ())
    adv = adversarial_instance()
    tight = tight_instances()
    rand = random_instances(rng, points)
    worst = mpmath.mpf(0)
    with mpmath.workdps(50):
        r_adv, naive_adv = chk.run(adv, chain=True)
        tight_ratios = [chk.run(t, chain=True)[0] for t in tight]
        quads = 0
        for inst in rand:
            q = quads < 2 and chk.lam(inst) is not None  # the integral identity on the first two (a) verified
            quads += q
            ratio, _ = chk.run(inst, chain=True, quad=q)
            worst = max(worst, ratio)
        if naive_adv < mpmath.mpf("1.18"):
            raise ProofFailure(f"(c) the adversarial instance reaches only {mpmath.nstr(naive_adv, 8)} c ||X||_2^2 / m "
                               "(expected 1.1830)")
        for t, r in zip(tight, tight_ratios):
            if r < 1 - mpmath.mpf(10) ** -15:
                raise ProofFailure(f"(c) {t.name} reaches only ratio {mpmath.nstr(r, 20)} (expected 1 - O(eps^2))")
        detail = (f"(a) dims {list(dims)} + logistic: logit Hessians and DG[E] = (H E x) x^T cancel to 0; "
                  f"(b) {len(rand)} random instances ({quads} integral identities), worst ||dG||_2 / (s_G ||E||_2) = {mpmath.nstr(worst, 6)}; "
                  f"(c) adversarial {mpmath.nstr(naive_adv, 6)} c||X||_2^2/m ({mpmath.nstr(r_adv, 6)} s_G), "
                  f"tight ratios {', '.join(mpmath.nstr(r, 15) for r in tight_ratios)}")
        if implementation:
            detail += "; (d) " + _check_implementation(rand + [adv] + tight, ce_constant, logistic_constant, sf)
    return detail
