"""Independent high-precision references for tiny cross-entropy / logistic deep linear problems (issue 12, "Done
when": a flow known to 40 digits, exact GD at 60 digits).

Only :func:`certify.load_problem` is used, to read the problem's ``X``, ``Y`` (or ``y``) and initial weights (the
doubles, converted exactly).  Everything else is written here from SPEC S1 / S2.1 with mpmath:

- the loss ``l(W) = -(1/m) sum_i sum_c Y_ci log softmax(W x_i)_c`` (logistic ``(1/m) sum_i log(1 + exp(-y_i W x_i))``)
  and its gradient ``G = (1/m) (softmax(W X) diag(s) - Y) X^T`` (logistic ``-(1/m) sum_i y_i sigma(-y_i W x_i) x_i^T``),
  softmax with the column maximum subtracted;
- ``f(W_1..W_N) = l(W_N...W_1)`` and ``grad_j = (W_N..W_{j+1})^T G (W_{j-1}..W_1)^T`` (S2.1, chain rule);
- GD ``theta_{k+1} = theta_k - eta grad f(theta_k)`` at ``mp.dps = 60`` (:meth:`Reference.gd`);
- the gradient flow by ``mpmath.odefun`` (mpmath's Taylor-series ODE solver) at ``dps`` digits, tolerance
  ``10^-(dps+2)`` at ``dps + 10`` working digits (:meth:`Reference.flow`), and a classical RK4 with a fixed step for
  cross-checks (:meth:`Reference.rk4`);
- the true gap ``||theta_k - theta(k eta)||`` (:meth:`Reference.gaps`).

Parameter vectors are flattened as in S1 (``W_1`` row-major, then ``W_2``, ...), as lists of mpf.
"""

from __future__ import annotations

from fractions import Fraction

import mpmath

GD_DPS = 60
FLOW_DPS = 40


def _mpf(v) -> mpmath.mpf:
    """A double (or Fraction / int) as an mpf, exactly (doubles have at most 53 bits)."""
    if isinstance(v, mpmath.mpf):
        return v
    q = Fraction(v) if not isinstance(v, Fraction) else v
    return mpmath.mpf(q.numerator) / q.denominator if q.denominator != 1 else mpmath.mpf(q.numerator)


class Reference:
    """The problem's data read once through certify's loader; every computation below is this module's own."""

    def __init__(self, spec):
        import certify

        p = certify.load_problem(spec)
        self.dims = [int(d) for d in p.dims]
        self.N = len(self.dims) - 1
        self.kind = p.loss.kind
        if self.kind not in ("cross_entropy", "logistic"):
            raise ValueError(f"only cross_entropy / logistic problems, got {self.kind}")
        # exact rationals of the doubles
        self.X = [[Fraction(float(v)) for v in row] for row in p.loss.X.tolist()]
        self.m = len(self.X[0])
        if self.kind == "cross_entropy":
            self.Y = [[Fraction(float(v)) for v in row] for row in p.loss.Y.tolist()]
        else:
            self.y = [int(v) for v in p.loss.y.tolist()]
        self.weights = [[[Fraction(float(v)) for v in row] for row in w.tolist()] for w in p.weights]

    # ---- layout ----
    def theta0(self) -> list:
        return [_mpf(v) for w in self.weights for row in w for v in row]

    def unflatten(self, theta) -> list:
        out, pos = [], 0
        for j in range(self.N):
            r, c = self.dims[j + 1], self.dims[j]
            M = mpmath.matrix(r, c)
            for a in range(r):
                for b in range(c):
                    M[a, b] = theta[pos]
                    pos += 1
            out.append(M)
        return out

    @staticmethod
    def flatten(Ws) -> list:
        return [M[a, b] for M in Ws for a in range(M.rows) for b in range(M.cols)]

    def _Xm(self):
        return mpmath.matrix([[_mpf(v) for v in row] for row in self.X])

    # ---- the loss of the end-to-end matrix (S1) ----
    def loss_W(self, W) -> mpmath.mpf:
        Z = W * self._Xm()
        tot = mpmath.mpf(0)
        for i in range(self.m):
            if self.kind == "logistic":
                tot += mpmath.log1p(mpmath.exp(-self.y[i] * Z[0, i]))
                continue
            zmax = max(Z[c, i] for c in range(Z.rows))
            lse = zmax + mpmath.log(mpmath.fsum(mpmath.exp(Z[c, i] - zmax) for c in range(Z.rows)))
            tot += mpmath.fsum(_mpf(self.Y[c][i]) * (lse - Z[c, i]) for c in range(Z.rows))
        return tot / self.m

    def grad_W(self, W):
        """``G = grad l(W)`` (d_N x d_0)."""
        Xm = self._Xm()
        Z = W * Xm
        R = mpmath.matrix(Z.rows, self.m)  # d l_i / d z_i
        for i in range(self.m):
            if self.kind == "logistic":
                t = -self.y[i] * Z[0, i]
                R[0, i] = -self.y[i] / (1 + mpmath.exp(-t))  # -y sigma(t)
                continue
            zmax = max(Z[c, i] for c in range(Z.rows))
            ex = [mpmath.exp(Z[c, i] - zmax) for c in range(Z.rows)]
            S = mpmath.fsum(ex)
            s = sum(self.Y[c][i] for c in range(Z.rows))
            for c in range(Z.rows):
                R[c, i] = _mpf(s) * ex[c] / S - _mpf(self.Y[c][i])
        return R * Xm.T / self.m

    # ---- the deep linear objective (S1, S2.1) ----
    def end_to_end(self, Ws):
        P = Ws[0]
        for M in Ws[1:]:
            P = M * P
        return P

    def loss(self, theta) -> mpmath.mpf:
        return self.loss_W(self.end_to_end(self.unflatten(theta)))

    def grad(self, theta) -> list:
        Ws = self.unflatten(theta)
        G = self.grad_W(self.end_to_end(Ws))
        out = []
        for j in range(self.N):  # grad_j = W_{N:j+2}^T G W_{j:1}^T (0-based layer j)
            left = _prod(Ws[j + 1:], self.dims[j + 1])
            right = _prod(Ws[:j], self.dims[0])
            out.append(left.T * G * right.T)
        return self.flatten(out)

    # ---- GD at 60 digits ----
    def gd(self, eta, ks, dps: int = GD_DPS) -> dict:
        """``{k: theta_k}`` for ``k`` in ``ks`` (exact GD at ``dps`` digits; ``eta`` a double or Fraction, exact)."""
        ks = sorted(set(int(k) for k in ks))
        out = {}
        with mpmath.workdps(dps):
            e = _mpf(eta)
            th = self.theta0()
            for k in range(ks[-1] + 1):
                if k in ks:
                    out[k] = list(th)
                if k == ks[-1]:
                    break
                g = self.grad(th)
                th = [a - e * b for a, b in zip(th, g)]
        return out

    # ---- GF ----
    def flow(self, times, dps: int = FLOW_DPS, degree: int | None = None) -> list:
        """``theta(t)`` for each ``t`` (mpmath.odefun at ``dps + 10`` working digits, tolerance ``10^-(dps+2)``,
        Taylor degree ``dps`` by default: odefun's own default, ``3 + 1.5 (dps + 10)``, takes twice as long here)."""
        with mpmath.workdps(dps + 10):
            sol = mpmath.odefun(lambda t, y: [-g for g in self.grad(list(y))], 0, self.theta0(),
                                tol=mpmath.mpf(10) ** (-(dps + 2)), degree=degree or dps)
            return [[+v for v in sol(_mpf(t))] for t in times]

    def rk4(self, t_end, n: int, dps: int = GD_DPS) -> list:
        """``theta(t_end)`` by ``n`` classical RK4 steps (global error O((t_end/n)^4))."""
        with mpmath.workdps(dps):
            h = _mpf(t_end) / n
            y = self.theta0()

            def F(v):
                return [-g for g in self.grad(v)]

            for _ in range(n):
                k1 = F(y)
                k2 = F([a + h / 2 * b for a, b in zip(y, k1)])
                k3 = F([a + h / 2 * b for a, b in zip(y, k2)])
                k4 = F([a + h * b for a, b in zip(y, k3)])
                y = [a + h / 6 * (b + 2 * c + 2 * d + e) for a, b, c, d, e in zip(y, k1, k2, k3, k4)]
            return y

    def gaps(self, eta, ks, dps: int = FLOW_DPS) -> dict:
        """``{k: ||theta_k - theta(k eta)||}`` (60-digit GD against the ``dps``-digit flow)."""
        ks = sorted(set(int(k) for k in ks))
        gd = self.gd(eta, ks)
        e = Fraction(eta)
        gf = self.flow([e * k for k in ks], dps=dps)
        with mpmath.workdps(dps + 10):
            return {k: dist(gd[k], th) for k, th in zip(ks, gf)}

    def balancedness(self, theta) -> list:
        """``W_{j+1}^T W_{j+1} - W_j W_j^T`` (S2.4), flattened."""
        Ws = self.unflatten(theta)
        out = []
        for j in range(self.N - 1):
            D = Ws[j + 1].T * Ws[j + 1] - Ws[j] * Ws[j].T
            out += [D[a, b] for a in range(D.rows) for b in range(D.cols)]
        return out


def _prod(Ms, d):
    """``M_last ... M_first`` (identity of size ``d`` when empty)."""
    P = mpmath.eye(d)
    for M in Ms:
        P = M * P
    return P


def dist(a, b) -> mpmath.mpf:
    return mpmath.sqrt(mpmath.fsum((_mpf(x) - _mpf(y)) ** 2 for x, y in zip(a, b)))


def to_mpf(v) -> mpmath.mpf:
    """A certify center entry (a binary64 float or an exact decimal string) as an mpf, exactly."""
    return mpmath.mpf(v) if isinstance(v, str) else _mpf(float(v))
