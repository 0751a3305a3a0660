"""Rigorous enclosures over a box of parameters (SPEC S3.2, S4.6), in Arb balls.

- :func:`hessian_ball`: an ``arb_mat`` containing ``Hf(z)`` for every ``z`` with
  ``|z_i - theta_i| <= radius``: column ``i`` is the Hessian-vector product
  ``Hf[e_i]``, the order-1 coefficient of the gradient along ``W + s E_i``
  (the Cauchy-product recursion of S2.3, :class:`certify.flow.series.GradientSeries`),
  in ball arithmetic.
- :func:`lambda_min_enclosure` (S3.2): certified ``[lo, hi]`` with
  ``lo <= lambda_min(H) <= hi`` for every ``H`` in the ball matrix.  For the
  midpoint ``M`` (symmetric, exact), an approximate eigen-decomposition
  ``M X ~ X Lambda`` (LAPACK) gives, with ``R = M X - X Lambda`` and
  ``||X^T X - I||_2 <= alpha < 1`` (both enclosed in Arb), every eigenvalue of
  ``M`` within ``delta = ||R||_2 sqrt(1 + alpha) / (1 - alpha)`` of some
  ``Lambda_i`` (Bauer-Fike for ``M = X Lambda X^-1 + R X^-1``, ``kappa(X) /
  sigma_min(X)``); the upper end is the Rayleigh quotient of the computed
  eigenvector, and Weyl's inequality adds ``||H - M||_2 <= ||rad||_F``.
- :func:`s31_vs_s32`: the certified S3.1 bound at a point beside the S3.2
  enclosure (how loose S3.1 is).

Kernel losses (cross-entropy, logistic; issue 12, gap-v2.md section 8): ``G = grad l`` over
the ball end-to-end product is the loss's own Arb enclosure (Arb's ``exp``), and the order-1
coefficient of ``G`` along ``W + s E_i`` is ``Hl(P)[P_1]`` (no longer linear in ``P_1`` alone):
:class:`KernelHessian` encloses ``Hl(P)`` over a ball ``P`` in Arb, with the formulas derived by
sympy in :mod:`certify.symbolic.cross_entropy` and proved in ``proofs/ce_hessian_psd.py``:
cross-entropy ``Hl[E] = (1/m) U X^T``, ``U[:, i] = s_i p_i * (v_i - p_i . v_i)``, ``v_i = E x_i``,
``p_i = softmax(P x_i)``; logistic ``U[0, i] = sigma'(t_i) v_i``, ``sigma' = 1/(4 cosh(z/2)^2)``.
So ``Hf = J^T Hl J + (G-terms)`` is enclosed column by column as for the square losses.
"""

from __future__ import annotations

import math

import numpy as np

from .._claims import ARB_PREC
from .._claims import hi, lo
from .._errors import TooLargeError
from .._problem import Problem
from ..flow.series import GradientSeries

MAX_S32_PARAMS = 400
#: kernel losses: the dense Hessian touches every sample once per column (``n d_N m`` ball
#: operations in Python); above this, :class:`TooLargeError`
MAX_KERNEL_HESSIAN_WORK = 4_000_000


def _require(problem: Problem, thing: str) -> None:
    """The one-line refusal of a loss this module cannot enclose; the kernel losses are
    handled here (:class:`KernelHessian`), whatever ``certified_for`` says."""
    if not problem.loss.is_kernel:
        problem.loss.require_certified(thing)


class KernelHessian:
    """Arb enclosures of the kernel loss's curvature ``Hl(P')`` for every ``P'`` in the ball matrix
    ``P`` (``d_N x d_0`` ``arb_mat``), in the current Arb precision (module docstring).

    Per sample ``i``: cross-entropy ``p_ci = 1 / (1 + R_ci / e_ci)`` with ``e_ki = exp(z_ki - M_i)``
    (Arb's ``exp``; ``M_i`` the exact largest midpoint), ``R_ci = sum_{k != c} e_ki`` (``e_ci``
    appears once: no dependency), and ``s_i = sum_c Y_ci`` in Arb (exactly 1 for one-hot columns);
    logistic ``w_i = sigma(t_i)(1 - sigma(t_i)) = 1 / (4 cosh(z_i / 2)^2)`` (even in ``z``: the label's
    sign drops out).  ``loss`` is the :mod:`certify.losses` object (``problem.loss.kernel``)."""

    def __init__(self, loss, P):
        from flint import arb, arb_mat

        self.loss = loss
        self.ce = loss.kind == "cross_entropy"
        self.m = m = loss.m
        self.Xa = arb_mat(np.asarray(loss.X, dtype=np.float64).tolist())
        self.XTa = self.Xa.transpose()
        Z = P * self.Xa
        d = Z.nrows()
        self.d = d
        if not self.ce:
            self.w = [1 / (4 * (Z[0, i] / 2).cosh() ** 2) for i in range(m)]
            return
        Y = np.asarray(loss.Y, dtype=np.float64)
        self.s = [arb(1) if loss.one_hot else sum((arb(float(Y[k, i])) for k in range(d)), arb(0)) for i in range(m)]
        self.p = []
        zero = arb(0)
        for i in range(m):
            z = [Z[k, i] for k in range(d)]
            M = arb(max(float(x.mid()) for x in z))  # exact (a double); any value is sound
            e = [(x - M).exp() for x in z]
            pre = [zero]
            for k in range(d - 1):
                pre.append(pre[-1] + e[k])
            suf = [zero] * d
            for k in range(d - 2, -1, -1):
                suf[k] = suf[k + 1] + e[k + 1]
            self.p.append([1 / (1 + (pre[c] + suf[c]) / e[c]) for c in range(d)])

    def _logit_directions(self, E):
        V = E * self.Xa
        return [[V[k, i] for k in range(self.d)] for i in range(self.m)]

    def apply(self, E):
        """``arb_mat`` (``d_N x d_0``) containing ``Hl(P')[E']`` (the matrix ``H`` with ``<H, F> =
        Hl(P')[E', F]``) for every ``P'`` in the ball and ``E'`` in the ball matrix ``E``."""
        from flint import arb, arb_mat

        d, m = self.d, self.m
        U = arb_mat(d, m)
        for i, v in enumerate(self._logit_directions(E)):
            if self.ce:
                p, s = self.p[i], self.s[i]
                q = sum((pc * vc for pc, vc in zip(p, v)), arb(0))
                for c in range(d):
                    U[c, i] = s * p[c] * (v[c] - q)
            else:
                U[0, i] = self.w[i] * v[0]
        return (U * self.XTa) / m

    def form(self, E):
        """``arb`` containing ``Hl(P')[E', E']`` (``>= 0``, S2.2-ce-psd) for every ``P'``, ``E'``:
        ``(1/m) sum_i s_i sum_c p_ci (v_ci - p_i . v_i)^2`` (cross-entropy), ``(1/m) sum_i w_i v_i^2``."""
        from flint import arb

        total = arb(0)
        for i, v in enumerate(self._logit_directions(E)):
            if self.ce:
                p = self.p[i]
                q = sum((pc * vc for pc, vc in zip(p, v)), arb(0))
                total += self.s[i] * sum((pc * (vc - q) ** 2 for pc, vc in zip(p, v)), arb(0))
            else:
                total += self.w[i] * v[0] ** 2
        total = total / self.m
        if not total.lower() >= 0:  # every term is a nonnegative variance: clamp the ball at 0
            u = total.upper()
            total = arb(u / 2, u / 2) if u >= 0 else arb(0)
        return total


def _ctx_prec(prec):
    """A python-flint precision scope (the arb backend's context)."""
    from ..arith import get_context

    return get_context("arb", prec=prec)


def _ball_layers(problem: Problem, theta, radius: float):
    from flint import arb, arb_mat

    dims, N = problem.dims, problem.depth
    rad = arb(0, radius) if radius > 0 else arb(0)
    Ws, i = [], 0
    for j in range(N):
        r, c = dims[j + 1], dims[j]
        M = arb_mat(np.asarray(theta[i:i + r * c], dtype=np.float64).reshape(r, c).tolist())
        if radius > 0:
            M = M + arb_mat([[rad] * c for _ in range(r)])
        Ws.append(M)
        i += r * c
    return Ws


def _end_to_end(Ws):
    P = Ws[0]
    for W in Ws[1:]:
        P = W * P
    return P


def _kernel_maps(problem: Problem, Ws, prec: int, hessian: bool):
    """``(g0, glin)`` for a kernel loss: ``G`` over the ball end-to-end product ``P`` of the ball
    layers ``Ws`` (the GradientSeries' ``P_N[0]`` is the same product, so ``g0`` returns it for any
    argument) and, with ``hessian``, ``G_1 = Hl(P)[P_1]`` (:class:`KernelHessian`)."""
    kernel = problem.loss.kernel
    P = _end_to_end(Ws)
    G = _Wrap(kernel.arb_gradient(P, prec=prec).a)
    if not hessian:
        return (lambda _P: G), None
    K = KernelHessian(kernel, P)
    return (lambda _P: G), (lambda P1: _Wrap(K.apply(P1.a)))


def _loss_maps(problem: Problem):
    from flint import arb_mat

    loss = problem.loss
    loss.require_certified("gradient and Hessian enclosure")
    if loss.has_stats:
        Sxx, Syx, _ = loss.exact_stats
        Sxx, Syx = arb_mat(Sxx), arb_mat(Syx)
        return _wrap_loss(lambda P: P * Sxx - Syx), _wrap_loss(lambda P: P * Sxx)
    Phi = arb_mat(np.asarray(loss.target, dtype=np.float64).tolist())
    return _wrap_loss(lambda P: P - Phi), (lambda P: P)


def gradient_ball(problem: Problem, theta: np.ndarray, radius: float = 0.0, prec: int = ARB_PREC) -> list:
    """Per layer, an ``arb_mat`` containing ``grad_j f(z)`` (S2.1) for every ``z`` in
    the box ``|z_i - theta_i| <= radius``."""
    _require(problem, "gradient and Hessian enclosure")
    with _ctx_prec(prec):
        Ws = _ball_layers(problem, theta, radius)
        g0, glin = _kernel_maps(problem, Ws, prec, False) if problem.loss.is_kernel else _loss_maps(problem)
        gs = GradientSeries(problem.depth, g0, glin)
        for j, W in enumerate(Ws):
            gs.W[j].append(_Wrap(W))
        return [g.a for g in gs.advance()]


def hessian_ball(problem: Problem, theta: np.ndarray, radius: float = 0.0, prec: int = ARB_PREC):
    """``arb_mat`` enclosing ``Hf(z)`` for all ``z`` in the box of half-width ``radius``."""
    from flint import arb_mat

    _require(problem, "Hessian enclosure")
    n = problem.n_params
    if n > MAX_S32_PARAMS:
        raise TooLargeError(f"the dense Hessian enclosure is limited to {MAX_S32_PARAMS} parameters, got {n}")
    if problem.loss.is_kernel:
        work = n * problem.dims[-1] * problem.loss.m
        if work > MAX_KERNEL_HESSIAN_WORK:
            raise TooLargeError(f"the dense Hessian enclosure of the {problem.loss.kind} loss touches every sample "
                                f"once per parameter: n d_N m = {work} exceeds {MAX_KERNEL_HESSIAN_WORK}")
    with _ctx_prec(prec):
        dims, N = problem.dims, problem.depth
        Ws = _ball_layers(problem, theta, radius)
        shapes, off = [], 0
        for j in range(N):
            shapes.append((dims[j + 1], dims[j], off))
            off += dims[j + 1] * dims[j]
        g0, glin = _kernel_maps(problem, Ws, prec, True) if problem.loss.is_kernel else _loss_maps(problem)
        H = arb_mat(n, n)
        for col in range(n):
            gs = GradientSeries(N, g0, glin)
            for j, (r, c, off) in enumerate(shapes):
                E = arb_mat(r, c)
                if off <= col < off + r * c:
                    E[(col - off) // c, (col - off) % c] = 1
                gs.W[j].append(_Wrap(Ws[j]))
                gs.W[j].append(_Wrap(E))
            gs.advance()
            g1 = gs.advance()
            row = 0
            for j in range(N):
                for x in g1[j].a.entries():
                    H[row, col] = x
                    row += 1
        return H


class _Wrap:
    """python-flint ``arb_mat`` with the ``@``/``.T`` interface GradientSeries uses."""

    __slots__ = ("a",)

    def __init__(self, a):
        self.a = a

    def __matmul__(self, o):
        return _Wrap(self.a * o.a)

    def __add__(self, o):
        return _Wrap(self.a + o.a)

    def __sub__(self, o):
        return _Wrap(self.a - o.a)

    @property
    def T(self):
        return _Wrap(self.a.transpose())


def _wrap_loss(fn):
    return lambda P: _Wrap(fn(P.a))


def lambda_min_enclosure(H, prec: int = ARB_PREC) -> tuple[float, float]:
    """Certified ``[lo, hi]`` containing ``lambda_min`` of every symmetric matrix in
    the ball matrix ``H`` (python-flint ``arb_mat``); see the module docstring."""
    from flint import arb, arb_mat

    with _ctx_prec(prec):
        n = H.nrows()
        mid = np.array([float(H[i, j].mid()) for i in range(n) for j in range(n)]).reshape(n, n)
        Ms = (mid + mid.T) / 2  # an exact symmetric float matrix (Ms - H is bounded below)
        lam, X = np.linalg.eigh(Ms)
        Xa = arb_mat(X.tolist())
        Ma = arb_mat(Ms.tolist())
        Ra = Ma * Xa - Xa * arb_mat(np.diag(lam).tolist())
        Ga = Xa.transpose() * Xa - arb_mat(np.eye(n).tolist())
        rn = arb(0)
        for x in Ra.entries():
            rn += x * x
        gn = arb(0)
        for x in Ga.entries():
            gn += x * x
        alpha = gn.sqrt()
        if not hi(alpha) < 1:
            raise ArithmeticError("the computed eigenvectors are not nearly orthonormal")
        delta = rn.sqrt() * (1 + alpha).sqrt() / (1 - alpha)
        # ||H - Ms||_2 <= Frobenius norm of the ball's deviation from Ms
        dev = arb(0)
        for i in range(n):
            for j in range(n):
                d = abs(H[i, j] - arb(Ms[i, j]))
                u = arb(d.upper())
                dev += u * u
        dev = dev.sqrt()
        low = arb(float(lam[0])) - delta - dev
        v = arb_mat([[float(x)] for x in X[:, 0]])
        rq = (v.transpose() * Ma * v)[0, 0] / (v.transpose() * v)[0, 0]
        high = rq + dev
        return lo(low), hi(high)


def s31_vs_s32(problem: Problem, theta: np.ndarray) -> dict:
    """Certified S3.1 bound ``mu`` of ``m = max(0, -lambda_min(Hf))`` at ``theta``
    beside the S3.2 enclosure of ``m``; ``ratio = mu / m_upper``.  Kernel losses: S3.1 with
    ``s_G`` (``certify._lossdata.data_bounds``) and ``G`` over the ball product (``Hl >= 0``,
    proofs/ce_hessian_psd.py, so S3.1 holds unchanged)."""
    from .._lossdata import BackendLoss
    from ..bounds.s31 import s31_on_tube
    from ..arith import get_context

    _require(problem, "S3.1 and S3.2 curvature bounds")
    ctx = get_context("float64")
    with ctx:
        model = BackendLoss(problem, ctx)
        dims, N, i = problem.dims, problem.depth, 0
        W0 = []
        for j in range(N):
            r, c = dims[j + 1], dims[j]
            W0.append(ctx.matrix(np.asarray(theta[i:i + r * c], dtype=np.float64).reshape(r, c)))
            i += r * c
        mu = s31_on_tube(model, W0, [0.0] * N)
    H = hessian_ball(problem, theta)
    l_lo, l_hi = lambda_min_enclosure(H)
    m_lo, m_hi = max(0.0, -l_hi), max(0.0, -l_lo)
    return {"s31_mu": mu, "lambda_min": (l_lo, l_hi), "m": (m_lo, m_hi),
            "ratio": mu / m_hi if m_hi > 0 else math.inf}
