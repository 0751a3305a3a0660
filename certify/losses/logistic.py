"""Logistic loss of a scalar-output end-to-end matrix (SPEC S1, ``d_N = 1``, labels ``y_i = +-1``):

    l(W) = (1/m) sum_i log(1 + exp(-y_i W x_i)) = (1/m) sum_i softplus(t_i),   t_i = -y_i z_i,

``grad l(W) = -(1/m) sum_i y_i sigma(t_i) x_i^T`` and
``Hl(W)[E,E] = (1/m) sum_i sigma(t_i)(1 - sigma(t_i)) (E x_i)^2 <= ||E X||^2 / (4m)``
(``proofs/ce_hessian_bound.py``); the third derivative is
``-(1/m) sum_i y_i sigma(1 - sigma)(1 - 2 sigma) (A x_i)(B x_i)^2`` with
``|sigma(1-sigma)(1-2 sigma)| <= sqrt(3)/18``, so ``Hl`` is Lipschitz with constant
``(sqrt(3)/18) K_X`` (``proofs/ce_hessian_lipschitz.py``).

Rigorous float64 path: ``t`` as a ball, then for ``mid(t) <= 0``:
``softplus(t) = log1p(e)``, ``sigma(t) = e/(1 + e)`` with ``e = exp(t)``; for ``mid(t) > 0``:
``softplus(t) = t + log1p(e)``, ``sigma(t) = 1/(1 + e)`` with ``e = exp(-t)``.  Both identities
hold for every real ``t``, so the branch (chosen at the midpoint) only affects tightness; ``e`` is
enclosed over the whole ball by :func:`._kernels.exp_ball` and the monotone maps are evaluated at
the endpoints, rounded outward.  A well-fit sample (``t << 0``) gets relative accuracy in both
``softplus`` and ``sigma``.
"""

from __future__ import annotations

import numpy as np

from .._claims import up
from .._errors import ProblemError
from ._kernels import _log1p_bounds, exp_ball, nd, nu, sum_nonneg
from .base import Loss, as_data_matrix

# sqrt(3)/18 rounded up (proofs/ce_hessian_lipschitz.py checks SQRT3_18_UP^2 >= 3/324 exactly)
SQRT3_18_UP = float.fromhex("0x1.8a2345cc04426p-4")


class Logistic(Loss):
    """Logistic loss; ``X`` (``d_0 x m``), ``y`` (``m`` labels, each exactly ``-1`` or ``+1``).

    >>> import numpy as np
    >>> loss = Logistic([[1.0, 2.0]], [1, -1])
    >>> lo, hi = loss.enclose_value(np.zeros((1, 1)))
    >>> bool(lo <= np.log(2) <= hi)
    True
    """

    kind = "logistic"
    lemmas = ("S2.2-ce-psd", "S2.2-ce-bound", "S2.2-ce-lip", "S2.2-ce-gradlip", "S4.6-exp", "S4.6-ce-fast")

    def __init__(self, X, y):
        self.X = as_data_matrix(X, "X")
        self.d_in, self.m = self.X.shape
        self.d_out = 1
        try:
            yy = np.array(y, dtype=np.float64).reshape(-1)
        except (TypeError, ValueError) as e:
            raise ProblemError(f"expected a list of labels -1/+1 ({e})", "y") from e
        if yy.size != self.m:
            raise ProblemError(f"expected {self.m} labels (one per column of X), got {yy.size}", "y")
        if not np.all((yy == 1.0) | (yy == -1.0)):
            j = int(np.argmax(~((yy == 1.0) | (yy == -1.0))))
            raise ProblemError(f"labels must be -1 or +1, y[{j}] = {yy[j]!r}", "y")
        self.y = yy

    # ---- estimates ----
    def _t(self, W):
        return -self.y * (W @ self.X)[0]

    @staticmethod
    def _sigma(t):
        e = np.exp(-np.abs(t))
        return np.where(t <= 0, e / (1 + e), 1 / (1 + e))

    def _value(self, W):
        t = self._t(W)
        return float(np.mean(np.maximum(t, 0) + np.log1p(np.exp(-np.abs(t)))))

    def _gradient(self, W):
        t = self._t(W)
        return ((-self.y * self._sigma(t)) @ self.X.T / self.m)[None, :]

    def _hvp(self, W, E):
        s = self._sigma(self._t(W))
        v = (E @ self.X)[0]
        return ((s * (1 - s) * v) @ self.X.T / self.m)[None, :]

    # ---- rigorous float64 ----
    def _core(self, W, rad):
        Zm, Zr = self._logits_ball(W, rad)
        tm = -self.y * Zm[0]  # exact
        tr = Zr[0]
        neg = tm <= 0
        e_lo, e_hi = exp_ball(np.where(neg, tm, -tm), tr)
        return tm, tr, neg, e_lo, e_hi

    def _value_from(self, tm, tr, neg, e_lo, e_hi):
        l_lo, l_hi = _log1p_bounds(e_lo, e_hi)
        sp_lo = np.where(neg, l_lo, nd(nd(tm - tr) + l_lo))
        sp_hi = np.where(neg, l_hi, nu(nu(tm + tr) + l_hi))
        lo, hi = sum_nonneg(np.maximum(sp_lo, 0.0), sp_hi, axis=0)
        return max(0.0, float(nd(lo / self.m))), float(nu(hi / self.m))  # the loss is >= 0

    def _gradient_from(self, tm, tr, neg, e_lo, e_hi):
        with np.errstate(under="ignore"):
            # t <= 0 branch: e/(1+e), increasing in e; t > 0 branch: 1/(1+e), decreasing in e
            s_lo = np.where(neg, nd(e_lo / nu(1.0 + e_lo)), nd(1.0 / nu(1.0 + e_hi)))
            s_hi = np.where(neg, nu(e_hi / nd(1.0 + e_hi)), nu(1.0 / nd(1.0 + e_lo)))
        s_lo = np.clip(s_lo, 0.0, 1.0)
        s_hi = np.clip(s_hi, 0.0, 1.0)
        pos_label = self.y > 0
        q_lo = np.where(pos_label, -s_hi, s_lo)  # q = -y sigma(t)
        q_hi = np.where(pos_label, -s_lo, s_hi)
        return self._gradient_ball(q_lo[None, :], q_hi[None, :])

    def _enclose_value(self, W, rad):
        return self._value_from(*self._core(W, rad))

    def _enclose_gradient(self, W, rad):
        return self._gradient_from(*self._core(W, rad))

    def _enclose_both(self, W, rad):
        c = self._core(W, rad)
        return self._value_from(*c), self._gradient_from(*c)

    # ---- Arb ----
    def _arb_terms(self, Wa, want_grad: bool):
        from flint import arb, arb_mat

        Xa, _ = self._arb_data()
        Z = Wa * Xa
        total = arb(0)
        Q = arb_mat(1, self.m) if want_grad else None
        for i in range(self.m):
            t = -Z[0, i] if self.y[i] > 0 else Z[0, i]
            if float(t.mid()) <= 0:
                e = t.exp()
                total += e.log1p()
                sig = e / (1 + e)
            else:
                e = (-t).exp()
                total += t + e.log1p()
                sig = 1 / (1 + e)
            if want_grad:
                Q[0, i] = -sig if self.y[i] > 0 else sig
        return total, Q

    def _arb_value(self, Wa):
        return self._arb_terms(Wa, False)[0] / self.m

    def _arb_gradient(self, Wa):
        _, Q = self._arb_terms(Wa, True)
        _, XT = self._arb_data()
        return (Q * XT) / self.m

    # ---- constants ----
    def hessian_bound(self) -> float:
        """``1/4`` (``sigma (1 - sigma) <= 1/4``, ``proofs/ce_hessian_bound.py``)."""
        return 0.25

    def hessian_lipschitz(self) -> float:
        """``(sqrt(3)/18) K_X`` (``proofs/ce_hessian_lipschitz.py``), rounded up."""
        return float(nu(up(SQRT3_18_UP * self.data_cubic_moment_upper(), 1)))


__all__ = ["Logistic"]
