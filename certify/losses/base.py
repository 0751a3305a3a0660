"""The interface a loss of the end-to-end matrix implements (SPEC S1: "other convex losses").

A loss ``l(W)`` is a function of the end-to-end matrix ``W = W_{N:1}`` (``d_N x d_0``) and of the
data ``X`` (``d_0 x m``), and is convex in ``W``.  Everything the deep-linear machinery needs from
it (S2.1's ``G = grad l(W)``, S2.2's ``Hl[E,E]``, S3.1's ``Hl >= 0``, the Hessian bounds of S4.5
and the Hessian-Lipschitz constant of the conditions checker) is one method here.

Rules for implementers (the public methods do the bookkeeping, then call the ``_*`` methods):

1. ``__init__`` validates and stores the data as float64 arrays (exact binary values: data given
   as decimals is enclosed *as the doubles*, like ``arb(0.1)``); an invalid field raises
   :class:`certify.ProblemError` naming it.  Set ``d_in``, ``d_out``, ``m`` and ``X``.
2. *Estimates* (plain float64, no guarantee; labelled estimates wherever they are shown):
   ``_value``, ``_gradient`` (``d_N x d_0``), ``_hvp`` (the matrix ``H`` with
   ``<H, F> = Hl(W)[E, F]``; ``hessian_form`` is ``<E, hvp(W, E)>``).  Vectorised over the
   samples; numerically stable for logits of any size.
3. *Float64 enclosures*: ``_enclose_value(W, rad) -> (lo, hi)`` floats with
   ``lo <= l(W') <= hi`` for every ``W'`` with ``|W' - W| <= rad`` entrywise (``rad`` None: the
   point ``W``); ``_enclose_gradient(W, rad)`` an :class:`certify.arith._float64.F64Mat` ball
   containing ``grad l(W')`` for every such ``W'``.  Rounding is accounted for (S4.6); the
   transcendental functions go through :mod:`certify.losses._kernels` (proven bounds), never
   through numpy's ``exp``/``log`` unverified.
4. *Arb enclosures* (python-flint balls, any precision): ``_arb_value(Wa) -> arb`` and
   ``_arb_gradient(Wa) -> arb_mat`` for an ``arb_mat`` ``Wa`` (balls allowed), computed with
   Arb's own ``exp``/``log``/``log1p``, inside ``with ArbContext(prec)``.
5. *Constants* (rigorous float upper bounds, valid for every ``W``):
   ``hessian_bound()`` = ``c`` with ``0 <= Hl(W)[E,E] <= c ||E X||_F^2 / m``;
   ``hessian_norm_upper()`` >= ``sup_W ||Hl(W)||_2`` (``c ||X||_2^2 / m``);
   ``gradient_lipschitz_2()`` >= the spectral Lipschitz constant of ``grad l`` (S3.1's ``s_G``);
   ``hessian_lipschitz()`` >= a Lipschitz constant of ``W -> Hl(W)`` in the operator norm
   induced by the Frobenius norm.  Each cites its proof module in ``lemmas``.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np

from .._claims import ARB_PREC
from .._errors import BlowUpError, ProblemError, UsageError


def _spectral_upper(M) -> float:
    """Rigorous ``sup ||.||_2`` over a float64 ball (the project's spectral bound, wherever it lives)."""
    from ..bounds.spectral import spectral_upper

    return spectral_upper(M)


def as_data_matrix(a, field: str, rows: int | None = None) -> np.ndarray:
    """A finite float64 2-d array (a copy), or :class:`ProblemError` naming ``field``."""
    try:
        arr = np.array(a, dtype=np.float64)
    except (TypeError, ValueError) as e:
        raise ProblemError(f"expected a matrix of numbers ({e})", field) from e
    if arr.ndim != 2 or arr.size == 0:
        raise ProblemError(f"expected a nonempty 2-d matrix, got shape {arr.shape}", field)
    if rows is not None and arr.shape[0] != rows:
        raise ProblemError(f"expected {rows} rows, got {arr.shape[0]}", field)
    if not np.all(np.isfinite(arr)):
        raise ProblemError("entries must be finite (no NaN or inf)", field)
    return arr


class Loss:
    """Base class of the losses of the end-to-end matrix (see the module docstring)."""

    kind = "base"
    #: proof modules (``proofs/``) whose lemmas the constants and formulas rest on
    lemmas: tuple = ()
    d_in: int
    d_out: int
    m: int
    X: np.ndarray

    # ---- bookkeeping ----
    def _check_W(self, W, what: str = "W") -> np.ndarray:
        Wf = np.asarray(W, dtype=np.float64)
        if Wf.shape != (self.d_out, self.d_in):
            raise UsageError(f"{what} must have shape ({self.d_out}, {self.d_in}) (d_N x d_0), got {Wf.shape}")
        if not np.all(np.isfinite(Wf)):
            raise BlowUpError(f"non-finite entry in {what}")
        return Wf

    def _check_rad(self, rad):
        if rad is None:
            return None
        r = np.array(np.broadcast_to(np.asarray(rad, dtype=np.float64), (self.d_out, self.d_in)))
        if not np.all(np.isfinite(r)) or np.any(r < 0):
            raise UsageError("rad must be finite and nonnegative")
        return r if np.any(r) else None

    def _abs_data(self):
        """``(|X|, X^T, |X^T|)`` (contiguous, cached: the data never change)."""
        if getattr(self, "_abs_cache", None) is None:
            XT = np.ascontiguousarray(self.X.T)
            self._abs_cache = (np.abs(self.X), XT, np.abs(XT))
        return self._abs_cache

    @staticmethod
    def _ball_product(Am: np.ndarray, Ar: np.ndarray | None, B: np.ndarray, aB: np.ndarray):
        """``(C, R)`` with ``|a b - C| <= R`` entrywise for every ``a`` with ``|a - Am| <= Ar`` and
        the exact float matrix ``b = B``: the bound of :class:`certify.arith._float64.F64Mat`
        (``gamma_k |Am||B| + Ar |B| + k 2^-1074``, Higham Thm 3.5, S4.6) written as one product
        ``(gamma_k |Am| + Ar) |B|``, inflated by :func:`certify._claims.up` for its ``k + 3``
        roundings; ``|B|`` is cached by the caller."""
        from .._claims import up
        from ..arith import ETA, gamma, require_finite

        k = Am.shape[1]
        with np.errstate(over="ignore", invalid="ignore"):
            C = Am @ B
            A = gamma(k) * np.abs(Am)
            if Ar is not None:
                A = A + Ar
            R = up(A @ aB + k * ETA, k + 8)
        require_finite(C, R)
        return C, R

    def _logits_ball(self, W, rad):
        """``W X`` as a ball ``(Zm, Zr)`` for ``W`` within ``rad`` of the given doubles."""
        aX, _, _ = self._abs_data()
        return self._ball_product(W, rad, self.X, aX)

    def _gradient_ball(self, Q_lo: np.ndarray, Q_hi: np.ndarray):
        """``(1/m) Q X^T`` as an :class:`F64Mat`, for ``Q`` in ``[Q_lo, Q_hi]`` entrywise (Higham's
        ``gamma_m |Q||X^T|`` bound; ``1/m`` enclosed as a rational by ``F64Mat * Fraction``)."""
        from ..arith._float64 import F64Mat

        _, XT, aXT = self._abs_data()
        Qm = 0.5 * (Q_lo + Q_hi)
        Qr = np.maximum(np.nextafter(Q_hi - Qm, np.inf), np.nextafter(Qm - Q_lo, np.inf))
        C, R = self._ball_product(Qm, np.maximum(Qr, 0.0), XT, aXT)
        return F64Mat(C, R) * Fraction(1, self.m)

    # ---- estimates (float64, not rigorous) ----
    def value(self, W) -> float:
        """The loss at ``W`` (float64 estimate)."""
        return float(self._value(self._check_W(W)))

    def gradient(self, W) -> np.ndarray:
        """``grad l(W)`` (``d_N x d_0``, float64 estimate)."""
        return self._gradient(self._check_W(W))

    def value_and_gradient(self, W) -> tuple[float, np.ndarray]:
        """:meth:`value` and :meth:`gradient` from one evaluation of the shared terms (float64
        estimates; what a GD step needs)."""
        v, g = self._value_and_gradient(self._check_W(W))
        return float(v), g

    def _value_and_gradient(self, W):
        return self._value(W), self._gradient(W)

    def hvp(self, W, E) -> np.ndarray:
        """The Hessian applied to the direction ``E``: the matrix ``H`` with ``<H, F> = Hl(W)[E, F]``
        for all ``F`` (float64 estimate)."""
        return self._hvp(self._check_W(W), self._check_W(E, "E"))

    def hessian_form(self, W, E) -> float:
        """``Hl(W)[E, E]`` (float64 estimate)."""
        Ef = self._check_W(E, "E")
        return float(np.sum(Ef * self._hvp(self._check_W(W), Ef)))

    # ---- float64 enclosures ----
    def enclose_value(self, W, rad=None) -> tuple[float, float]:
        """``(lo, hi)`` with ``lo <= l(W') <= hi`` for all ``|W' - W| <= rad`` (entrywise)."""
        lo, hi = self._enclose_value(self._check_W(W), self._check_rad(rad))
        if not (math.isfinite(lo) and math.isfinite(hi)):
            raise BlowUpError("the loss enclosure left the float64 range")
        return lo, hi

    def enclose_gradient(self, W, rad=None):
        """An :class:`certify.arith._float64.F64Mat` ball containing ``grad l(W')`` for all
        ``|W' - W| <= rad`` (entrywise)."""
        return self._enclose_gradient(self._check_W(W), self._check_rad(rad))

    def enclose_value_and_gradient(self, W, rad=None):
        """``((lo, hi), G)``: :meth:`enclose_value` and :meth:`enclose_gradient` from one
        evaluation of the shared kernels (what an integrator step needs)."""
        Wf, r = self._check_W(W), self._check_rad(rad)
        (lo, hi), G = self._enclose_both(Wf, r)
        if not (math.isfinite(lo) and math.isfinite(hi)):
            raise BlowUpError("the loss enclosure left the float64 range")
        return (lo, hi), G

    def _enclose_both(self, W, rad):
        return self._enclose_value(W, rad), self._enclose_gradient(W, rad)

    # ---- Arb enclosures ----
    def _arb_input(self, W):
        from flint import arb_mat

        from ..arith._arb import ArbMat

        if isinstance(W, ArbMat):
            W = W.a
        if isinstance(W, arb_mat):
            if (W.nrows(), W.ncols()) != (self.d_out, self.d_in):
                raise UsageError(f"W must have shape ({self.d_out}, {self.d_in}), got ({W.nrows()}, {W.ncols()})")
            if not all(x.is_finite() for x in W.entries()):
                raise BlowUpError("non-finite ball in W")
            return W
        a = np.asarray(W)
        if a.dtype == object:  # exact rationals
            if a.shape != (self.d_out, self.d_in):
                raise UsageError(f"W must have shape ({self.d_out}, {self.d_in}), got {a.shape}")
            from flint import arb, fmpq

            M = arb_mat(self.d_out, self.d_in)
            for (i, j), x in np.ndenumerate(a):
                q = Fraction(x)
                M[i, j] = arb(fmpq(q.numerator, q.denominator))
            return M
        Wf = self._check_W(a)
        return arb_mat(Wf.tolist())

    def _arb_data(self):
        """``X`` and ``X^T`` as exact ``arb_mat`` (doubles are exact at any precision), cached."""
        if getattr(self, "_arb_cache", None) is None:
            from flint import arb_mat

            self._arb_cache = (arb_mat(self.X.tolist()), arb_mat(self.X.T.tolist()))
        return self._arb_cache

    def arb_value(self, W, prec: int = ARB_PREC):
        """The loss as a python-flint ``arb`` ball containing ``l(W')`` for every ``W'`` in the
        balls ``W`` (an ``arb_mat``, :class:`ArbMat`, float array or ``Fraction`` array)."""
        from ..arith._arb import ArbContext

        with ArbContext(prec):
            v = self._arb_value(self._arb_input(W))
        if not v.is_finite():
            raise BlowUpError("non-finite ball for the loss in Arb arithmetic")
        return v

    def arb_gradient(self, W, prec: int = ARB_PREC):
        """``grad l`` as an :class:`certify.arith._arb.ArbMat` (balls containing the gradient at
        every point of the input balls)."""
        from ..arith._arb import ArbContext, ArbMat

        with ArbContext(prec):
            g = self._arb_gradient(self._arb_input(W))
        if not all(x.is_finite() for x in g.entries()):
            raise BlowUpError("non-finite ball in the gradient in Arb arithmetic")
        return ArbMat(g)

    # ---- constants ----
    def hessian_bound(self) -> float:
        """``c`` with ``0 <= Hl(W)[E,E] <= c ||E X||_F^2 / m`` for all ``W``, ``E`` (rigorous)."""
        raise NotImplementedError

    def hessian_form_upper(self, E) -> float:
        """A rigorous upper bound of ``sup_W Hl(W)[E,E] = c ||E X||_F^2 / m``."""
        from ..arith._float64 import F64Mat

        from .._claims import up

        Ef = self._check_W(E, "E")
        n = (F64Mat(Ef) @ F64Mat(self.X)).norm_f_upper()
        return float(np.nextafter(up(self.hessian_bound() * n * n, 2) / self.m, np.inf))

    def hessian_norm_upper(self) -> float:
        """A rigorous upper bound of ``sup_W ||Hl(W)||_2 <= c ||X||_2^2 / m`` (``||X||_2`` by
        :func:`certify.bounds.spectral.spectral_upper`)."""
        from .._claims import up
        from ..arith._float64 import F64Mat

        s = _spectral_upper(F64Mat(self.X))
        return float(np.nextafter(up(self.hessian_bound() * s * s, 2) / self.m, np.inf))

    def gradient_lipschitz_2(self) -> float:
        """A rigorous upper bound ``s_G`` of ``sup ||grad l(W + E) - grad l(W)||_2 / ||E||_2`` (spectral
        norms; lemma ``S2.2-ce-gradlip``, ``proofs/ce_gradient_lipschitz.py``):
        ``c ||X||_2 min(||X||_F, sqrt(min(d_0, d_N)) ||X||_2) / m`` with ``c`` = :meth:`hessian_bound`.
        It is also ``>= sup ||Hl||_2`` (:meth:`hessian_norm_upper`), the part ``||Sxx||_2`` plays for
        the square loss in S3.1 (gap-v2.md section 8)."""
        from .._claims import fro_up, up
        from ..arith._float64 import F64Mat

        s = _spectral_upper(F64Mat(self.X))
        f = fro_up(self.X)
        k = min(self.d_in, self.d_out)
        r = math.isqrt(k)
        rk = float(r) if r * r == k else float(np.nextafter(math.sqrt(k), np.inf))  # >= sqrt(k)
        w = min(f, up(rk * s, 1))
        return float(np.nextafter(up(self.hessian_bound() * s * w, 2) / self.m, np.inf))

    def data_cubic_moment_upper(self) -> float:
        """A rigorous upper bound of ``K_X = min(mean_i ||x_i||^3, max_i ||x_i|| ||X||_2^2 / m)``
        (the data factor of the Hessian-Lipschitz constants)."""
        from .._claims import up
        from ..arith._float64 import F64Mat

        X = self.X
        sq = up(np.einsum("ij,ij->j", X, X), X.shape[0] + 1)  # ||x_i||^2, inner product of d_0 terms
        nrm = np.nextafter(np.sqrt(sq), np.inf)
        cube = up(nrm * nrm * nrm, 2)
        mean3 = float(np.nextafter(up(float(cube.sum()), self.m + 1) / self.m, np.inf))
        s = _spectral_upper(F64Mat(X))
        alt = float(np.nextafter(up(float(nrm.max()) * s * s, 2) / self.m, np.inf))
        return min(mean3, alt)

    def hessian_lipschitz(self) -> float:
        """A rigorous upper bound of a Lipschitz constant of ``W -> Hl(W)``:
        ``||Hl(W) - Hl(W')||_2 <= L ||W - W'||_F``."""
        raise NotImplementedError

    # ---- to implement ----
    def _value(self, W):  # pragma: no cover - interface
        raise NotImplementedError

    def _gradient(self, W):  # pragma: no cover - interface
        raise NotImplementedError

    def _hvp(self, W, E):  # pragma: no cover - interface
        raise NotImplementedError

    def _enclose_value(self, W, rad):  # pragma: no cover - interface
        raise NotImplementedError

    def _enclose_gradient(self, W, rad):  # pragma: no cover - interface
        raise NotImplementedError

    def _arb_value(self, Wa):  # pragma: no cover - interface
        raise NotImplementedError

    def _arb_gradient(self, Wa):  # pragma: no cover - interface
        raise NotImplementedError
