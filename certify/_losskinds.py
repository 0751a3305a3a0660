"""The loss kinds of a problem (SPEC S1): the one loss-data object every consumer asks (``is_kernel``,
``certified_for``, ``require_certified``, the exact second-moment statistics of the square losses as
python-flint ``fmpq_mat``, the kernel losses' constants) instead of dispatching on the kind."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from functools import cached_property

import numpy as np

from ._errors import UsageError


LOSS_KINDS = ("whitened", "square", "cross_entropy", "logistic")


#: the loss kinds every certified part of the tool (gap, flow, distance, converge, curvature,
#: conditions, the checker) handles; the others have float64/mpf estimates only (issue 12)
CERTIFIED_LOSS_KINDS = ("whitened", "square")


#: a cross-entropy column of Y is accepted when the exact sum of its doubles is within this of 1
CE_SUM_TOLERANCE = 2.0**-30


class LossData:
    """What every loss-data object answers (one small class per loss kind; consumers ask it
    instead of testing its type).

    - ``kind``: the JSON ``loss.kind``;
    - ``certified``: whether the certified machinery handles this loss (gap, flow, distance,
      converge, curvature, conditions' whitened/square hypotheses, the checker);
      :meth:`require_certified` raises the one-line :class:`certify.UsageError` otherwise;
    - ``has_stats``: the loss sees the data only through the exact statistics
      ``exact_stats``/``float_stats`` (S1; the square loss);
    - :meth:`value_estimate`: ``l(W)`` in float64 (an estimate, used to refuse badly scaled
      problems);
    - :meth:`to_json`: the explicit specification (data written out, never a dataset name).
    """

    kind = "base"
    certified = True
    has_stats = False
    #: a loss evaluated by a :mod:`certify.losses` kernel on all samples (cross-entropy, logistic)
    is_kernel = False
    #: with ``certified`` False: the certified parts that do handle this loss already
    certified_for: frozenset = frozenset()

    def require_certified(self, thing: str, *, prefix: str = "certified ", key: str | None = None) -> None:
        """:class:`certify.UsageError` (exit 2), one line, unless ``certified`` (or ``key``,
        default ``thing``, is in ``certified_for``): ``"certified <thing> for the <kind> loss is
        not implemented yet (issue 12)"``."""
        if not (self.certified or (key or thing) in self.certified_for):
            raise UsageError(f"{prefix}{thing} for the {self.kind} loss is not implemented yet (issue 12)")

    def value_estimate(self, W: np.ndarray) -> float:  # pragma: no cover - interface
        raise NotImplementedError

    def to_json(self) -> dict:  # pragma: no cover - interface
        raise NotImplementedError


@dataclass(frozen=True, eq=False)
class WhitenedLoss(LossData):
    """``l(W) = 1/2 ||W - Phi||_F^2`` (S1)."""

    target: np.ndarray  # d_N x d_0, float64

    kind = "whitened"

    def value_estimate(self, W: np.ndarray) -> float:
        D = W - np.asarray(self.target, dtype=np.float64)
        return 0.5 * float(np.vdot(D, D))

    def to_json(self) -> dict:
        return {"kind": "whitened", "target": self.target.tolist()}


@dataclass(frozen=True, eq=False)
class SquareLoss(LossData):
    """``l(W) = 1/(2m) ||W X - Y||_F^2`` (S1), seen through exact statistics."""

    X: np.ndarray  # d_0 x m
    Y: np.ndarray  # d_N x m
    dataset: str | None = None

    kind = "square"
    has_stats = True

    @property
    def m(self) -> int:
        return self.X.shape[1]

    def value_estimate(self, W: np.ndarray) -> float:
        R = W @ self.X - self.Y
        return 0.5 * float(np.vdot(R, R)) / self.m

    @cached_property
    def exact_stats(self):
        """``(Sxx, Syx, c)`` as python-flint ``fmpq_mat``/``fmpq``, exactly:
        ``Sxx = X X^T/m``, ``Syx = Y X^T/m``, ``c = tr(Y Y^T)/(2m)``."""
        from flint import fmpq

        X = _fmpq_mat(self.X)
        Y = _fmpq_mat(self.Y)
        m = fmpq(self.m)
        Xt = X.transpose()
        Sxx = (X * Xt) / m
        Syx = (Y * Xt) / m
        yy = fmpq(0)
        for v in Y.entries():
            yy += v * v
        return Sxx, Syx, yy / (2 * m)

    @cached_property
    def float_stats(self):
        """Nearest-double statistics ``(Sxx, Syx, c)`` (used by float kernels)."""
        Sxx, Syx, c = self.exact_stats
        return _fmpq_to_float(Sxx), _fmpq_to_float(Syx), float(Fraction(int(c.p), int(c.q)))

    def to_json(self) -> dict:
        return {"kind": "square", "X": self.X.tolist(), "Y": self.Y.tolist()}


class _KernelLoss(LossData):
    """A loss evaluated by a :mod:`certify.losses` kernel on ``X`` (``d_0 x m``) and
    its labels: no sufficient statistics, every evaluation touches all ``m`` samples."""

    certified = False
    is_kernel = True
    #: the float64 GF enclosure and the GD-GF gap certificate (gap-v2.md section 8)
    certified_for = frozenset({"GF enclosure", "GD-GF gap", "GD balls", "data bounds", "distance between GD runs",
                               "paper experiment", "loss bound on a ball", "loss <= eps translation (converge)"})

    @property
    def m(self) -> int:
        return self.X.shape[1]

    @cached_property
    def constants(self) -> tuple[float, float]:
        """``(s_G, s_F)`` (gap-v2.md section 8): ``s_G`` the spectral Lipschitz constant of
        ``grad l`` (S3.1's ``||Sxx||_2``; lemma S2.2-ce-gradlip), ``s_F >= sup ||Hl||_2``; rigorous."""
        return self.kernel.gradient_lipschitz_2(), self.kernel.hessian_norm_upper()

    @cached_property
    def kernel(self):
        """The :mod:`certify.losses` kernel on these data (estimates and enclosures)."""
        from . import losses

        return getattr(losses, self._kernel)(self.X, self._labels())

    def value_estimate(self, W: np.ndarray) -> float:
        return float(self.kernel._value(np.asarray(W, dtype=np.float64)))

    def to_json(self) -> dict:
        return {"kind": self.kind, "X": self.X.tolist(), self._label_key: self._labels().tolist()}


@dataclass(frozen=True, eq=False)
class CrossEntropyLoss(_KernelLoss):
    """Softmax cross-entropy ``l(W) = -(1/m) sum_i sum_c Y_ci log softmax(W x_i)_c`` (S1).

    ``Y`` (``d_N x m``) has nonnegative entries and columns whose exact sum (of the doubles
    as given) is within :data:`CE_SUM_TOLERANCE` = 2^-30 of 1; such a column is used as it
    is (``s_i = sum_c Y_ci`` exactly; the kernels in :mod:`certify.losses` handle
    ``s_i != 1``).  Not certified yet (issue 12): float64 and mpf estimates only."""

    X: np.ndarray  # d_0 x m
    Y: np.ndarray  # d_N x m
    dataset: str | None = None

    kind = "cross_entropy"
    _kernel, _label_key = "CrossEntropy", "Y"

    def _labels(self):
        return self.Y


@dataclass(frozen=True, eq=False)
class LogisticLoss(_KernelLoss):
    """Logistic loss ``l(W) = (1/m) sum_i log(1 + exp(-y_i W x_i))`` for ``d_N = 1`` and
    labels ``y_i`` in ``{-1, +1}`` (S1).  Not certified yet (issue 12): estimates only."""

    X: np.ndarray  # d_0 x m
    y: np.ndarray  # m labels, each exactly -1.0 or +1.0

    kind = "logistic"
    _kernel, _label_key = "Logistic", "y"

    def _labels(self):
        return self.y


def _fmpq_mat(a: np.ndarray):
    from flint import fmpq, fmpq_mat, fmpz_mat

    a = np.asarray(a, dtype=np.float64)
    rows, cols = a.shape
    # dyadic data with a small common denominator 2^e (pixels / 16, upsampled): one
    # exact integer matrix instead of rows * cols Fraction conversions
    for e in (0, 4, 8, 12, 16, 24, 32):
        scaled = a * 2.0**e  # exact (a power of two), unless it overflows
        if np.all(np.isfinite(scaled)) and np.all(np.abs(scaled) < 2.0**53) and np.all(scaled == np.round(scaled)):
            Z = fmpz_mat([[int(v) for v in row] for row in scaled.astype(np.int64).tolist()])
            return fmpq_mat(Z) / fmpq(2**e)
    out = fmpq_mat(rows, cols)
    for i in range(rows):
        for j in range(cols):
            fr = Fraction(float(a[i, j]))
            out[i, j] = fmpq(fr.numerator, fr.denominator)
    return out


def _fmpq_to_float(M) -> np.ndarray:
    out = np.empty((M.nrows(), M.ncols()))
    for i in range(M.nrows()):
        for j in range(M.ncols()):
            v = M[i, j]
            out[i, j] = float(Fraction(int(v.p), int(v.q)))  # correctly rounded
    return out


def fmpq_to_fractions(M) -> np.ndarray:
    """An ``fmpq_mat`` as an object array of :class:`fractions.Fraction`."""
    out = np.empty((M.nrows(), M.ncols()), dtype=object)
    for i in range(M.nrows()):
        for j in range(M.ncols()):
            v = M[i, j]
            out[i, j] = Fraction(int(v.p), int(v.q))
    return out
