"""Softmax cross-entropy of the end-to-end matrix (SPEC S1):

    l(W) = -(1/m) sum_i sum_c Y_ci log softmax(W x_i)_c,     X: d_0 x m,  Y: d_N x m,

with the columns of ``Y`` probability vectors (usually one-hot).  With ``z_i = W x_i``,
``p_i = softmax(z_i)`` and ``s_i = sum_c Y_ci`` (exactly 1 for one-hot columns; the exact sum of
the given doubles otherwise, which every formula below uses):

- ``l(W) = (1/m) sum_i (s_i LSE(z_i) - <y_i, z_i>)``;
- ``grad l(W) = (1/m) (P diag(s) - Y) X^T`` (``P`` the softmax columns; ``(P - Y) X^T / m`` for
  probability columns);
- ``Hl(W)[E,E] = (1/m) sum_i s_i v_i^T (diag(p_i) - p_i p_i^T) v_i``, ``v_i = E x_i``: PSD
  (``proofs/ce_hessian_psd.py``), at most ``(max_i s_i / 2) ||E X||_F^2 / m``
  (``proofs/ce_hessian_bound.py``), and Lipschitz in ``W`` with constant
  ``(max_i s_i / sqrt 2) K_X`` (``proofs/ce_hessian_lipschitz.py``).

No sufficient statistics exist: every evaluation touches all ``m`` samples, as batched matrix
products (``O(m d_0 d_N)``) and elementwise kernels; no Python loop over samples in the float64
paths.  The Arb path loops over the entries of ``W X`` in Python (python-flint has no vectorised
``exp``); it is the tight reference, not the fast path.

Rigorous float64 path, per sample ``i`` with reference class ``c_i = argmax_c Y_ci`` (the label):
``z = W x_i`` as a ball (Higham's ``gamma_{d_0} |W||X|``), ``v = z - z_{c_i}`` (exact zero at
``c_i``) and ``L_i = LSE(z) - z_{c_i} = log sum_c exp(v_c)`` by :func:`._lse.diff_lse`; then
``loss_i = s_i L_i - sum_c Y_ci v_c`` (``= L_i`` for one-hot columns: no cancellation, so a loss
of 1e-30 is enclosed with relative accuracy), ``(P diag(s) - Y)_{ci} = s_i p_ci - Y_ci`` for
``c != c_i`` and ``(s_i - Y_{c_i i}) - s_i (1 - p_{c_i i})`` at the label, ``1 - p`` from the
non-label sum directly.
"""

from __future__ import annotations

import numpy as np

from .._claims import up
from .._errors import ProblemError
from ._kernels import U, nd, nu, sum_nonneg, sum_signed
from ._lse import diff_lse, difference_ball
from .base import Loss, as_data_matrix

# 1/sqrt(2) rounded up (proofs/ce_hessian_lipschitz.py checks INV_SQRT2_UP^2 >= 1/2 exactly)
INV_SQRT2_UP = float.fromhex("0x1.6a09e667f3bcdp-1")


class CrossEntropy(Loss):
    """Softmax cross-entropy; ``X`` (``d_0 x m``), ``Y`` (``d_N x m``, columns probability
    vectors: nonnegative, summing to 1 within ``1e-9``).

    >>> import numpy as np
    >>> loss = CrossEntropy(np.eye(2), np.eye(2))
    >>> lo, hi = loss.enclose_value(np.zeros((2, 2)))
    >>> bool(lo <= np.log(2) <= hi)
    True
    """

    kind = "cross_entropy"
    lemmas = ("S2.2-ce-psd", "S2.2-ce-bound", "S2.2-ce-lip", "S2.2-ce-gradlip", "S4.6-exp", "S4.6-ce-fast")

    def __init__(self, X, Y, *, sum_tolerance: float = 1e-9):
        self.X = as_data_matrix(X, "X")
        self.d_in, self.m = self.X.shape
        self.Y = as_data_matrix(Y, "Y")
        if self.Y.shape[1] != self.m:
            raise ProblemError(f"Y has {self.Y.shape[1]} columns but X has {self.m} samples", "Y")
        self.d_out = self.Y.shape[0]
        if np.any(self.Y < 0):
            i, j = np.argwhere(self.Y < 0)[0]
            raise ProblemError(f"entries must be nonnegative (probabilities), Y[{i}][{j}] = {self.Y[i, j]!r}", "Y")
        s = self.Y.sum(axis=0)
        bad = np.abs(s - 1.0) > sum_tolerance
        if np.any(bad):
            j = int(np.argmax(bad))
            raise ProblemError(f"columns must be probability vectors (sum 1); column {j} sums to {s[j]!r}", "Y")
        self.labels = np.argmax(self.Y, axis=0)
        cols = np.arange(self.m)
        self.one_hot = bool(np.all(self.Y[self.labels, cols] == 1.0) and np.count_nonzero(self.Y) == self.m)
        if self.one_hot:
            self.s_lo = self.s_hi = np.ones(self.m)
            self.rest_lo = self.rest_hi = np.zeros(self.m)
        else:
            self.s_lo, self.s_hi = sum_nonneg(self.Y, self.Y, axis=0)
            rest = self.Y.copy()
            rest[self.labels, cols] = 0.0
            self.rest_lo, self.rest_hi = sum_nonneg(rest, rest, axis=0)  # s_i - Y_{c_i i}, exactly
        self.s = s

    # ---- estimates ----
    def _logits_softmax(self, W):
        Z = W @ self.X
        Zs = Z - Z.max(axis=0)
        E = np.exp(Zs)
        S = E.sum(axis=0)
        return Z, Zs, E / S, np.log(S)

    def _value(self, W):
        Z, Zs, _, logS = self._logits_softmax(W)
        # -sum_c Y log p = sum_c Y (log S - Zs)
        return float(np.sum(self.Y * (logS - Zs)) / self.m)

    def _gradient(self, W):
        _, _, P, _ = self._logits_softmax(W)
        return (P * self.s - self.Y) @ self.X.T / self.m

    def _value_and_gradient(self, W):
        _, Zs, P, logS = self._logits_softmax(W)
        return float(np.sum(self.Y * (logS - Zs)) / self.m), (P * self.s - self.Y) @ self.X.T / self.m

    def _hvp(self, W, E):
        _, _, P, _ = self._logits_softmax(W)
        V = E @ self.X
        PV = P * V
        U_ = self.s * (PV - P * PV.sum(axis=0))
        return U_ @ self.X.T / self.m

    # ---- rigorous float64 ----
    def _core(self, W, rad):
        Zm, Zr = self._logits_ball(W, rad)
        Vm, Vr = difference_ball(Zm, Zr, self.labels)
        return Vm, Vr, diff_lse(Vm, Vr, self.labels)

    def _value_from(self, Vm, Vr, core):
        if self.one_hot:
            lo, hi = sum_nonneg(core.L_lo, core.L_hi, axis=0)
        else:
            t1_lo = nd(self.s_lo * core.L_lo)
            t1_hi = nu(self.s_hi * core.L_hi)
            # sum_c Y_c v_c: an inner product of d_N terms with exact nonnegative Y (Higham)
            d = self.d_out
            P = self.Y * Vm
            g = d * U / (1 - d * U) * (1 + 4 * U)
            t2m = P.sum(axis=0)
            t2r = up(g * np.abs(P).sum(axis=0) + (self.Y * Vr).sum(axis=0) + d * 2.0**-1074, d + 4)
            t2_lo, t2_hi = nd(t2m - t2r), nu(t2m + t2r)
            lo, hi = sum_signed(nd(t1_lo - t2_hi), nu(t1_hi - t2_lo), axis=0)
        return max(0.0, float(nd(lo / self.m))), float(nu(hi / self.m))  # the loss is >= 0

    def _gradient_from(self, core):
        (P_lo, P_hi), (C_lo, C_hi) = core.softmax()
        cols = np.arange(self.m)
        lab = self.labels
        if self.one_hot:
            Q_lo, Q_hi = P_lo, P_hi  # c != label: p_c - 0
            Q_lo[lab, cols] = -C_hi  # label: p - 1 = -(1 - p)
            Q_hi[lab, cols] = -C_lo
        else:
            Q_lo = nd(nd(self.s_lo * P_lo) - self.Y)
            Q_hi = nu(nu(self.s_hi * P_hi) - self.Y)
            Q_lo[lab, cols] = nd(self.rest_lo - nu(self.s_hi * C_hi))
            Q_hi[lab, cols] = nu(self.rest_hi - nd(self.s_lo * C_lo))
        return self._gradient_ball(Q_lo, Q_hi)

    def _enclose_value(self, W, rad):
        return self._value_from(*self._core(W, rad))

    def _enclose_gradient(self, W, rad):
        return self._gradient_from(self._core(W, rad)[2])

    def _enclose_both(self, W, rad):
        Vm, Vr, core = self._core(W, rad)
        return self._value_from(Vm, Vr, core), self._gradient_from(core)

    # ---- Arb ----
    def _arb_terms(self, Wa, want_grad: bool):
        from flint import arb, arb_mat

        Xa, _ = self._arb_data()
        Z = Wa * Xa
        d, m = self.d_out, self.m
        Y = self.Y
        total = arb(0)
        Q = arb_mat(d, m) if want_grad else None
        zero = arb(0)
        for i in range(m):
            c = int(self.labels[i])
            zc = Z[c, i]
            v = [zero if k == c else Z[k, i] - zc for k in range(d)]
            mx = max(float(x.mid()) for x in v)
            M = arb(mx) if mx > 0 else zero  # exact (a double), any value is sound
            e = [(x - M).exp() for x in v]
            R = sum((e[k] for k in range(d) if k != c), zero)
            S = e[c] + R
            L = R.log1p() if mx <= 0 else M + S.log()
            if self.one_hot:
                total += L
            else:
                s_i = sum((arb(float(Y[k, i])) for k in range(d)), zero)
                total += s_i * L - sum((arb(float(Y[k, i])) * v[k] for k in range(d) if Y[k, i]), zero)
            if want_grad:
                s_i = arb(1) if self.one_hot else sum((arb(float(Y[k, i])) for k in range(d)), zero)
                for k in range(d):
                    if k == c:
                        rest = sum((arb(float(Y[j, i])) for j in range(d) if j != c), zero)
                        Q[k, i] = rest - s_i * (R / S)
                    else:
                        Q[k, i] = s_i * (e[k] / S) - arb(float(Y[k, i]))
        return total, Q

    def _arb_value(self, Wa):
        total, _ = self._arb_terms(Wa, False)
        return total / self.m

    def _arb_gradient(self, Wa):
        _, Q = self._arb_terms(Wa, True)
        _, XT = self._arb_data()
        return (Q * XT) / self.m

    # ---- constants ----
    def hessian_bound(self) -> float:
        """``max_i s_i / 2`` (``1/2`` for probability columns), rounded up
        (``proofs/ce_hessian_bound.py``)."""
        return 0.5 if self.one_hot else float(nu(0.5 * float(self.s_hi.max())))

    def hessian_lipschitz(self) -> float:
        """``(max_i s_i / sqrt 2) K_X`` (``proofs/ce_hessian_lipschitz.py``), rounded up."""
        smax = 1.0 if self.one_hot else float(self.s_hi.max())
        return float(nu(up(smax * INV_SQRT2_UP * self.data_cubic_moment_upper(), 2)))


def cross_entropy_from_labels(X, labels, classes: int | None = None) -> CrossEntropy:
    """One-hot :class:`CrossEntropy` from integer labels ``0..classes-1``."""
    lab = np.asarray(labels)
    if lab.ndim != 1 or not np.issubdtype(lab.dtype, np.integer):
        raise ProblemError("expected a 1-d array of integer class labels", "labels")
    k = int(lab.max()) + 1 if classes is None else int(classes)
    if lab.min() < 0 or lab.max() >= k:
        raise ProblemError(f"labels must lie in 0..{k - 1}", "labels")
    Y = np.zeros((k, lab.size))
    Y[lab, np.arange(lab.size)] = 1.0
    return CrossEntropy(X, Y)


__all__ = ["CrossEntropy", "cross_entropy_from_labels"]
