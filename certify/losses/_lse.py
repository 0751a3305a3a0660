"""Rigorous float64 log-sum-exp and softmax, columnwise (one column per sample), vectorised.

The core works with *differences to a reference row*: for a column ``z`` and a reference class
``c``, ``v = z - z_c`` has ``v_c = 0`` exactly, and

    L_c(z) = LSE(z) - z_c = log sum_{c'} exp(v_{c'}) = M + log(exp(-M) + R),
    R = sum_{c' != c} exp(v_{c'} - M),   M = max(0, max_{c'} mid(v_{c'})) >= 0.

Any float ``M`` gives the same value (only tightness depends on it); with this ``M`` every
exponent is ``<= rad`` so nothing overflows.  When ``M = 0`` (the reference is the midpoint
argmax) ``L_c = log1p(R)`` is enclosed by the log1p kernel with *relative* accuracy: a loss of
``1e-30`` is enclosed to ~1e-45, not to ``u``.  When ``M > 0``, ``L_c >= log 2 - rad``-ish, so the
absolute accuracy of ``log`` is relative accuracy too.  ``softmax_c = exp(-M)/S`` and
``1 - softmax_c = R/S`` (``S = exp(-M) + R``), both without cancellation, and
``softmax_{c'} = exp(v_{c'} - M)/S``.

Every operation is an enclosure (see :mod:`certify.losses._kernels`); inputs are balls
``|v - Vm| <= Vr`` entrywise.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._claims import up
from .._errors import BlowUpError
from ._kernels import U, _log1p_bounds, _log_bounds, exp_ball, nd, nu, sum_nonneg


@dataclass
class DiffLSE:
    """Enclosures (``*_lo <= exact <= *_hi``, arrays over the columns unless noted) for one
    reference class per column.  ``E_lo``/``E_hi`` (``d x m``): ``exp(v - M)``; ``R``: the sum
    over the non-reference classes; ``S = exp(-M) + R``; ``L = log sum exp(v)``."""

    ref: np.ndarray
    M: np.ndarray
    E_lo: np.ndarray
    E_hi: np.ndarray
    R_lo: np.ndarray
    R_hi: np.ndarray
    S_lo: np.ndarray
    S_hi: np.ndarray
    L_lo: np.ndarray
    L_hi: np.ndarray

    def softmax(self):
        """``(P_lo, P_hi)`` (``d x m``) and ``(C_lo, C_hi)``: the softmax, and ``1 - softmax`` at
        the reference class (no cancellation)."""
        m = self.M.shape[0]
        cols = np.arange(m)
        with np.errstate(under="ignore"):
            P_lo = nd(self.E_lo / self.S_hi)
            P_hi = np.minimum(nu(self.E_hi / self.S_lo), 1.0)
            C_lo = nd(self.R_lo / self.S_hi)
            C_hi = np.minimum(nu(self.R_hi / self.S_lo), 1.0)
        P_lo = np.maximum(P_lo, 0.0)
        C_lo = np.maximum(C_lo, 0.0)
        # the reference entry: exactly 1 when R = 0 (a single class)
        one = self.R_hi == 0.0
        P_lo[self.ref, cols] = np.where(one, 1.0, P_lo[self.ref, cols])
        P_hi[self.ref, cols] = np.where(one, 1.0, P_hi[self.ref, cols])
        return (P_lo, P_hi), (C_lo, C_hi)


def diff_lse(Vm: np.ndarray, Vr: np.ndarray, ref: np.ndarray) -> DiffLSE:
    """The core: ``Vm``, ``Vr`` (``d x m``) a ball of difference logits with
    ``Vm[ref[i], i] == Vr[ref[i], i] == 0`` (exact zeros, checked)."""
    d, m = Vm.shape
    cols = np.arange(m)
    if np.any(Vm[ref, cols] != 0.0) or np.any(Vr[ref, cols] != 0.0):
        raise ValueError("diff_lse: the reference entries must be exact zeros")
    M = np.maximum(Vm.max(axis=0), 0.0)
    shifted = M > 0.0
    if shifted.any():
        Wm = Vm - M  # exact in the unshifted columns; at the reference -M (exact)
        # |fl(a - b) - (a - b)| <= u |fl(a - b)| (a difference of floats, exact when subnormal)
        Wr = np.where(shifted, up(Vr + U * np.abs(Wm), 2), Vr)
        Wr[ref, cols] = 0.0
    else:
        Wm, Wr = Vm, Vr
    E_lo, E_hi = exp_ball(Wm, Wr)
    O_lo, O_hi = E_lo[ref, cols].copy(), E_hi[ref, cols].copy()  # exp(-M); exactly 1 where M = 0
    E_lo[ref, cols] = 0.0
    E_hi[ref, cols] = 0.0
    R_lo, R_hi = sum_nonneg(E_lo, E_hi, axis=0)
    E_lo[ref, cols] = O_lo
    E_hi[ref, cols] = O_hi
    S_lo = np.where(R_lo == 0.0, O_lo, nd(O_lo + R_lo))
    S_hi = np.where(R_hi == 0.0, O_hi, nu(O_hi + R_hi))
    if not (np.all(np.isfinite(S_hi)) and np.all(S_lo > 0.0)):  # pragma: no cover - M makes S <= d e^rad
        raise BlowUpError("log-sum-exp enclosure: the shifted sum left the float64 range")
    if not shifted.any():
        L_lo, L_hi = _log1p_bounds(R_lo, R_hi)
    else:
        L_lo = np.empty(m)
        L_hi = np.empty(m)
        a = ~shifted
        if a.any():
            L_lo[a], L_hi[a] = _log1p_bounds(R_lo[a], R_hi[a])
        lg_lo, lg_hi = _log_bounds(S_lo[shifted], S_hi[shifted])
        L_lo[shifted] = nd(M[shifted] + lg_lo)
        L_hi[shifted] = nu(M[shifted] + lg_hi)
    L_lo = np.maximum(L_lo, 0.0)  # L = log sum_c exp(v_c) >= log exp(v_ref) = 0
    return DiffLSE(ref, M, E_lo, E_hi, R_lo, R_hi, S_lo, S_hi, L_lo, L_hi)


def difference_ball(Zm: np.ndarray, Zr: np.ndarray | None, ref: np.ndarray):
    """``V = Z - Z[ref]`` columnwise as a ball, with exact zeros at the reference entries."""
    d, m = Zm.shape
    cols = np.arange(m)
    Vm = Zm - Zm[ref, cols]
    base = U * np.abs(Vm)
    if Zr is not None:
        base = Zr + Zr[ref, cols] + base
    Vr = up(base, 3)
    Vm[ref, cols] = 0.0
    Vr[ref, cols] = 0.0
    return Vm, Vr


def _as_ball(Z, Zr):
    from ._kernels import _as_float_array

    Zm = _as_float_array(Z, "log-sum-exp")
    column = Zm.ndim == 1
    if column:
        Zm = Zm[:, None]
    if Zm.ndim != 2 or Zm.shape[0] < 1:
        raise ValueError(f"expected a (classes x samples) array, got shape {Zm.shape}")
    if Zr is None:
        return Zm, None
    R = _as_float_array(Zr, "log-sum-exp")
    if column and R.ndim == 1:
        R = R[:, None]
    R = np.array(np.broadcast_to(R, Zm.shape), dtype=np.float64)
    if np.any(R < 0):
        raise ValueError("radii must be nonnegative")
    return Zm, R


def logsumexp_enclosure(Z, Zr=None):
    """``(lo, hi)`` with ``lo <= log sum_c exp(z_c) <= hi`` for each column ``z`` of ``Z``
    (``classes x samples``; a 1-d array is one column), for every ``z`` within ``Zr`` of ``Z``
    entrywise.  LSE is increasing and 1-Lipschitz in the max norm, so it is enclosed at the exact
    midpoint, plus/minus ``max_c Zr``; at the midpoint, ``LSE = z_ref + log1p(R)`` with ``ref``
    the midpoint argmax (so ``R <= d - 1``: no overflow for logits of any size).

    >>> lo, hi = logsumexp_enclosure([[0.0], [0.0]])
    >>> bool(lo[0] <= 0.6931471805599453 <= hi[0])
    True
    """
    Zm, Zr = _as_ball(Z, Zr)
    ref = np.argmax(Zm, axis=0)
    cols = np.arange(Zm.shape[1])
    Vm, Vr = difference_ball(Zm, None, ref)
    core = diff_lse(Vm, Vr, ref)
    top = Zm[ref, cols]
    with np.errstate(over="ignore"):
        lo = nd(top + core.L_lo)
        hi = nu(top + core.L_hi)
        if Zr is not None:
            r = up(Zr.max(axis=0), 0)
            lo, hi = nd(lo - r), nu(hi + r)
    if not (np.all(np.isfinite(lo)) and np.all(np.isfinite(hi))):
        raise BlowUpError("log-sum-exp beyond the float64 range")
    return lo, hi


def softmax_enclosure(Z, Zr=None):
    """``(lo, hi)`` (``classes x samples``) enclosing ``softmax(z)`` columnwise, for every ``z``
    within ``Zr`` of ``Z``: ``exp(v - M)/S`` with ``v = z - z_ref`` (the midpoint argmax), every
    quotient of enclosures rounded outward.  Ties and all-equal columns are exact cases
    (``v = 0``: the entries are ``1/S`` with ``S`` enclosing the number of tied classes)."""
    Zm, Zr = _as_ball(Z, Zr)
    ref = np.argmax(Zm, axis=0)
    Vm, Vr = difference_ball(Zm, Zr, ref)
    (P_lo, P_hi), _ = diff_lse(Vm, Vr, ref).softmax()
    return P_lo, P_hi
