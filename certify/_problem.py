"""The problem model (SPEC S1): widths, loss, initial weights, flattening.

A :class:`Problem` is immutable.  All numbers are binary64 values: a problem
file's ``0.1`` means the double nearest to 1/10, and the mathematical problem
the tool certifies is the one with exactly these doubles.  Data losses keep
``X`` and ``Y``; their second-moment statistics (S1) are computed *exactly*
as rationals (python-flint ``fmpq_mat``) so that every backend can enclose
them rigorously.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any, Sequence, Union

import numpy as np

from ._datasets import CLASS_DATASETS, DATASETS, SCHEMES, init_scheme, load_dataset
from ._errors import ProblemError, TooLargeError
from ._losskinds import CE_SUM_TOLERANCE, LOSS_KINDS, CrossEntropyLoss, LogisticLoss, LossData, SquareLoss, WhitenedLoss

# Size limits (documented in README).  A float64 parameter vector of 5e6
# entries is 40 MB; the GD runner and the integrators keep O(10) of them.
MAX_PARAMS = 5_000_000
MAX_DATA_ENTRIES = 50_000_000
MAX_DIM = 100_000
MAX_DEPTH = 64


# --------------------------------------------------------------------------
# Losses
# --------------------------------------------------------------------------


# --------------------------------------------------------------------------
# Problem
# --------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Problem:
    """A deep linear network problem (SPEC S1).

    ``dims = (d_0, ..., d_N)``; ``weights[j-1]`` is ``W_j`` of shape
    ``(d_j, d_{j-1})``; ``loss`` is a :class:`LossData` (:class:`WhitenedLoss`,
    :class:`SquareLoss`, :class:`CrossEntropyLoss` or :class:`LogisticLoss`).
    ``name`` is informational (e.g. ``builtin:demo``).
    """

    dims: tuple[int, ...]
    loss: LossData
    weights: tuple[np.ndarray, ...]
    name: str = ""
    spec: dict = field(default_factory=dict, repr=False)  # the specification it came from

    @property
    def depth(self) -> int:
        return len(self.dims) - 1

    @property
    def shapes(self) -> list[tuple[int, int]]:
        return [(self.dims[j + 1], self.dims[j]) for j in range(self.depth)]

    @property
    def n_params(self) -> int:
        return sum(a * b for a, b in self.shapes)

    @property
    def theta0(self) -> np.ndarray:
        """The initial point, flattened per S1."""
        return flatten(self.weights)

    def unflatten(self, theta) -> list:
        return unflatten(theta, self.dims)

    def to_json(self) -> dict:
        """The resolved problem with explicit weights: self-contained and exact
        (floats are written as round-trip reprs), so a certificate can be
        re-checked with nothing else."""
        return {
            "dims": list(self.dims),
            "loss": self.loss.to_json(),
            "init": {"weights": [w.tolist() for w in self.weights]},
            "name": self.name,
        }

    def with_weights(self, weights: Sequence[np.ndarray]) -> "Problem":
        ws = tuple(np.array(w, dtype=np.float64) for w in weights)
        _check_weights(ws, self.dims)
        return Problem(self.dims, self.loss, ws, self.name, self.spec)


#: what every API entry point accepts as a problem (:func:`load_problem` resolves it)
ProblemLike = Union["Problem", str, Path, dict]


def flatten(weights: Sequence) -> np.ndarray:
    """S1 flattening: ``W_1`` row-major, then ``W_2``, ..., then ``W_N``."""
    return np.concatenate([np.asarray(w).reshape(-1) for w in weights])


def unflatten(theta, dims: Sequence[int]) -> list:
    """Inverse of :func:`flatten` for widths ``dims``."""
    theta = np.asarray(theta)
    out, pos = [], 0
    for j in range(len(dims) - 1):
        r, c = dims[j + 1], dims[j]
        out.append(theta[pos : pos + r * c].reshape(r, c))
        pos += r * c
    if pos != theta.shape[0]:
        raise ProblemError(f"expected {pos} parameters, got {theta.shape[0]}", "theta")
    return out


# --------------------------------------------------------------------------
# Loading and validation
# --------------------------------------------------------------------------


def _matrix(value: Any, fld: str, shape: tuple[int, int] | None = None) -> np.ndarray:
    if not isinstance(value, list) or not value or not all(isinstance(r, list) for r in value):
        raise ProblemError("expected a non-empty list of rows", fld)
    ncols = len(value[0])
    for i, row in enumerate(value):
        if len(row) != ncols:
            raise ProblemError(f"row {i} has {len(row)} entries, row 0 has {ncols}", fld)
        for x in row:
            if isinstance(x, bool) or not isinstance(x, (int, float)):
                raise ProblemError(f"entries must be numbers, got {x!r}", fld)
    try:
        a = np.array(value, dtype=np.float64)
    except (ValueError, OverflowError) as e:
        raise ProblemError(f"not a numeric matrix ({e})", fld) from e
    if not np.all(np.isfinite(a)):
        raise ProblemError("contains NaN or infinite entries", fld)
    if shape is not None and a.shape != shape:
        raise ProblemError(f"has shape {a.shape[0]}x{a.shape[1]}, expected {shape[0]}x{shape[1]}", fld)
    return a


def _check_weights(ws: Sequence[np.ndarray], dims: Sequence[int]) -> None:
    for j, w in enumerate(ws):
        exp = (dims[j + 1], dims[j])
        if w.shape != exp:
            raise ProblemError(f"has shape {w.shape}, expected {exp}", f"init.weights[{j}]")
        if not np.all(np.isfinite(w)):
            raise ProblemError("contains NaN or infinite entries", f"init.weights[{j}]")


def _int(value: Any, fld: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        else:
            raise ProblemError(f"expected an integer, got {value!r}", fld)
    if value < minimum:
        raise ProblemError(f"must be >= {minimum}, got {value}", fld)
    return value


def _number(value: Any, fld: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ProblemError(f"expected a number, got {value!r}", fld)
    try:
        v = float(value)
    except OverflowError:  # an integer beyond binary64 (TOML has no digit limit of its own)
        raise ProblemError(f"must be finite, got an integer of {len(str(abs(value)))} digits", fld) from None
    if not math.isfinite(v):
        raise ProblemError(f"must be finite, got {value!r}", fld)
    return v


def check_size(dims: Sequence[int], m: int = 0) -> None:
    """Refuse problems that would exhaust the machine (2 cores, 24 GiB)."""
    n = sum(dims[j] * dims[j + 1] for j in range(len(dims) - 1))
    if n > MAX_PARAMS:
        raise TooLargeError(
            f"problem has {n:,} parameters; at most {MAX_PARAMS:,} fit this tool's memory budget"
        )
    if m and (dims[0] + dims[-1]) * m > MAX_DATA_ENTRIES:
        raise TooLargeError(
            f"data has {(dims[0] + dims[-1]) * m:,} entries; at most {MAX_DATA_ENTRIES:,} are supported"
        )


def _init_weights(init: dict, dims: Sequence[int]) -> tuple[np.ndarray, ...]:
    if not isinstance(init, dict):
        raise ProblemError("expected an object", "init")
    if "weights" in init:
        ws = init["weights"]
        if not isinstance(ws, list) or len(ws) != len(dims) - 1:
            raise ProblemError(f"expected a list of {len(dims) - 1} matrices", "init.weights")
        out = tuple(
            _matrix(w, f"init.weights[{j}]", (dims[j + 1], dims[j])) for j, w in enumerate(ws)
        )
        return out
    scheme = init.get("scheme")
    if scheme not in SCHEMES:
        raise ProblemError(
            f"expected 'weights' or 'scheme' in {{{', '.join(SCHEMES)}}}, got {scheme!r}", "init.scheme"
        )
    scale = _number(init.get("scale", 1.0 if scheme == "xavier" else 0.1), "init.scale")
    if scale < 0:
        raise ProblemError(f"must be >= 0, got {scale}", "init.scale")
    seed = _int(init.get("seed", 0), "init.seed", 0)
    return init_scheme(scheme, dims, scale, seed)


def problem_from_dict(spec: Any, name: str = "") -> Problem:
    """Validate a problem specification (the JSON contract in README) and build it."""
    if not isinstance(spec, dict):
        raise ProblemError("a problem must be a JSON object", "problem")
    unknown = set(spec) - {"dims", "loss", "init", "name", "comment"}
    if unknown:
        raise ProblemError(f"unknown field(s) {', '.join(sorted(unknown))}", "problem")
    if "dims" not in spec:
        raise ProblemError("missing", "dims")
    dims = spec["dims"]
    if not isinstance(dims, list) or len(dims) < 2:
        raise ProblemError("expected a list [d0, ..., dN] with N >= 1", "dims")
    dims = tuple(_int(d, f"dims[{i}]", 1) for i, d in enumerate(dims))
    if len(dims) - 1 > MAX_DEPTH:
        raise TooLargeError(f"depth {len(dims) - 1} exceeds the supported maximum {MAX_DEPTH}")
    if max(dims) > MAX_DIM:
        raise TooLargeError(f"width {max(dims)} exceeds the supported maximum {MAX_DIM}")
    check_size(dims)
    loss_spec = spec.get("loss")
    if not isinstance(loss_spec, dict):
        raise ProblemError("missing or not an object", "loss")
    loss = _loss_from_spec(loss_spec, dims)
    if "init" not in spec:
        raise ProblemError("missing", "init")
    weights = _init_weights(spec["init"], dims)
    _check_weights(weights, dims)
    _check_scale(loss, weights)
    return Problem(dims, loss, weights, name or str(spec.get("name", "")), spec)


def _loss_from_spec(loss_spec: dict, dims: tuple[int, ...]) -> LossData:
    kind = loss_spec.get("kind")
    if kind not in LOSS_KINDS:
        raise ProblemError(f"expected one of {', '.join(LOSS_KINDS)}, got {kind!r}", "loss.kind")
    if kind == "whitened":
        if "target" not in loss_spec:
            raise ProblemError("missing", "loss.target")
        return WhitenedLoss(_matrix(loss_spec["target"], "loss.target", (dims[-1], dims[0])))
    if kind == "cross_entropy":
        return _cross_entropy_from_spec(loss_spec, dims)
    if kind == "logistic":
        return _logistic_from_spec(loss_spec, dims)
    if "dataset" in loss_spec:
        ds = loss_spec["dataset"]
        if ds not in DATASETS:
            raise ProblemError(f"unknown dataset {ds!r}; choose one of {', '.join(DATASETS)}", "loss.dataset")
        samples = _int(loss_spec.get("samples", 0), "loss.samples", 1)
        check_size(dims, samples)
        X, Y = load_dataset(ds, samples, dims[0], dims[-1])
        return SquareLoss(X, Y, dataset=ds)
    if "X" not in loss_spec or "Y" not in loss_spec:
        raise ProblemError("needs 'X' and 'Y', or 'dataset'", "loss")
    X = _data_X(loss_spec, dims)
    Y = _matrix(loss_spec["Y"], "loss.Y", (dims[-1], X.shape[1]))
    return SquareLoss(X, Y)


def _data_X(loss_spec: dict, dims) -> np.ndarray:
    X = _matrix(loss_spec["X"], "loss.X")
    if X.shape[0] != dims[0]:
        raise ProblemError(f"has {X.shape[0]} rows, expected d0 = {dims[0]}", "loss.X")
    check_size(dims, X.shape[1])
    return X


def _only_fields(loss_spec: dict, allowed: set, what: str) -> None:
    unknown = set(loss_spec) - allowed - {"kind"}
    if unknown:
        raise ProblemError(f"unknown field(s) {', '.join(sorted(unknown))} ({what})", "loss")


def _cross_entropy_from_spec(loss_spec: dict, dims) -> CrossEntropyLoss:
    """``{"kind": "cross_entropy", "X": ..., "Y": ...}`` or ``{..., "dataset": "digits", "samples": m}``.

    Rules for ``Y`` (``d_N x m``): finite numbers, every entry ``>= 0``, and every column's
    *exact* sum (of the doubles as given, not a float sum) within ``2^-30`` of 1.  A column
    such as ``[1/3, 1/3, 1/3]`` (whose doubles sum to ``1 - 2^-54``) is accepted and used as
    given: the loss is the formula with these exact doubles."""
    if "dataset" in loss_spec:
        _only_fields(loss_spec, {"dataset", "samples"}, "cross_entropy takes X and Y, or dataset and samples")
        ds = loss_spec["dataset"]
        if ds not in CLASS_DATASETS:
            raise ProblemError(f"no class labels in dataset {ds!r} for the cross_entropy loss; choose one of "
                               f"{', '.join(CLASS_DATASETS)}", "loss.dataset")
        samples = _int(loss_spec.get("samples", 0), "loss.samples", 1)
        check_size(dims, samples)
        X, Y = load_dataset(ds, samples, dims[0], dims[-1])  # one-hot targets, pixels / 16
        return CrossEntropyLoss(X, Y, dataset=ds)
    _only_fields(loss_spec, {"X", "Y"}, "cross_entropy takes X and Y, or dataset and samples")
    if "X" not in loss_spec or "Y" not in loss_spec:
        raise ProblemError("cross_entropy needs 'X' and 'Y', or 'dataset'", "loss")
    X = _data_X(loss_spec, dims)
    Y = _matrix(loss_spec["Y"], "loss.Y", (dims[-1], X.shape[1]))
    neg = np.argwhere(Y < 0)
    if neg.size:
        i, j = (int(v) for v in neg[0])
        raise ProblemError(f"entries must be >= 0 (probabilities), Y[{i}][{j}] = {float(Y[i, j])!r}", "loss.Y")
    bad = _columns_off_one(Y)
    if bad is not None:
        j, s = bad
        raise ProblemError(f"columns must be probability vectors: column {j} sums to {s!r}, not 1 "
                           f"(within 2^-30)", "loss.Y")
    return CrossEntropyLoss(X, Y)


def _columns_off_one(Y: np.ndarray):
    """``(j, sum)`` of the first column of the nonnegative ``Y`` whose exact sum differs from 1 by
    more than :data:`CE_SUM_TOLERANCE`, else None.  Vectorised: the float sum decides every
    column whose distance from the threshold exceeds its rounding bound (a ``d``-term sum of
    nonnegative doubles is within ``gamma_{d-1} s`` of the exact ``s``); the rest are summed
    exactly as rationals."""
    d = Y.shape[0]
    s = Y.sum(axis=0)
    u = 2.0**-53
    err = 1.01 * (d * u / (1 - d * u)) * s + 2.0**-1070  # >= the rounding error, with room to spare
    dist = np.abs(s - 1.0)
    maybe_bad = dist + err > CE_SUM_TOLERANCE
    for j in np.flatnonzero(maybe_bad):
        if dist[j] - err[j] > CE_SUM_TOLERANCE or abs(sum(Fraction(float(v)) for v in Y[:, j]) - 1) > \
                Fraction(CE_SUM_TOLERANCE):
            return int(j), float(math.fsum(Y[:, j]))
    return None


def _logistic_from_spec(loss_spec: dict, dims) -> LogisticLoss:
    """``{"kind": "logistic", "X": ..., "y": [...]}``: ``d_N = 1``, ``X`` (``d_0 x m``), ``m``
    labels each exactly ``-1`` or ``+1`` (integers or floats; not booleans)."""
    _only_fields(loss_spec, {"X", "y"}, "logistic takes X and y")
    if dims[-1] != 1:
        raise ProblemError(f"the logistic loss needs a scalar output (d_N = 1), got d_N = {dims[-1]}", "dims")
    if "X" not in loss_spec or "y" not in loss_spec:
        raise ProblemError("logistic needs 'X' and 'y'", "loss")
    X = _data_X(loss_spec, dims)
    y = loss_spec["y"]
    if not isinstance(y, list):
        raise ProblemError("expected a list of labels -1/+1", "loss.y")
    if len(y) != X.shape[1]:
        raise ProblemError(f"has {len(y)} labels, expected one per column of X ({X.shape[1]})", "loss.y")
    for j, v in enumerate(y):
        if isinstance(v, bool) or not isinstance(v, (int, float)) or v not in (-1, 1):
            raise ProblemError(f"labels must be -1 or +1, y[{j}] = {v!r}", "loss.y")
    return LogisticLoss(X, np.array(y, dtype=np.float64))


# the GD runs refuse iterates whose loss exceeds this (certify._gd.BLOWUP_LOSS): a problem
# that starts there is out of binary64 range for the bounds, not a case of a too large eta
MAX_INITIAL_LOSS = 1e150


def _check_scale(loss, weights) -> None:
    """Refuse a problem whose initial loss (float64 estimate) is beyond
    ``MAX_INITIAL_LOSS`` or overflows: its gradient, curvature and Hessian
    bounds leave the binary64 range, whatever the step size."""
    with np.errstate(all="ignore"):
        P = weights[0]
        for w in weights[1:]:
            P = w @ P
        val = loss.value_estimate(P)
    if not val <= MAX_INITIAL_LOSS:
        what = f"is about {val:.3g}" if math.isfinite(val) else "overflows binary64"
        raise TooLargeError(
            f"problem: the initial loss {what}, beyond {MAX_INITIAL_LOSS:g}: the entries are too large for "
            "binary64 bounds on the gradient and curvature (whatever the step size); rescale the weights "
            "and the target/data")


def load_problem(source: str | Path | dict | Problem) -> Problem:
    """Load a problem from ``builtin:NAME``, a JSON (or TOML) file, or a dict."""
    if isinstance(source, Problem):
        return source
    if isinstance(source, dict):
        return problem_from_dict(source)
    s = str(source)
    if s.startswith("builtin:"):
        from ._builtins import builtin_spec

        return problem_from_dict(builtin_spec(s[len("builtin:") :]), name=s)
    from . import _limits

    path = Path(s)
    bad = lambda msg: ProblemError(msg, "problem")  # noqa: E731
    try:
        if path.is_dir():
            raise ProblemError(f"{s} is a folder, not a problem file", "problem")
        if path.exists():
            size = path.stat().st_size
            try:
                _limits.check_text_size(size, s)
            except _limits.ResourceLimitError as e:
                raise bad(str(e)) from e
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as e:
        raise ProblemError(f"no such file: {s}", "problem") from e
    except (OSError, UnicodeDecodeError) as e:
        raise ProblemError(f"cannot read {s}: {getattr(e, 'strerror', None) or e}", "problem") from e
    if path.suffix.lower() == ".toml":
        import tomllib

        try:
            spec = _limits.loads_toml(text, s, bad)
        except tomllib.TOMLDecodeError as e:
            raise ProblemError(f"{s} is not valid TOML ({e})", "problem") from e
    else:
        try:
            spec = _limits.loads_json(text, s, bad, parse_constant=_reject_constant)
        except json.JSONDecodeError as e:
            raise ProblemError(f"{s} is not valid JSON ({e.msg} at line {e.lineno})", "problem") from e
        except ProblemError:
            raise
        except ValueError as e:
            raise ProblemError(f"{s}: {e}", "problem") from e
    return problem_from_dict(spec, name=str(spec.get("name", path.name)) if isinstance(spec, dict) else "")


def _reject_constant(name: str):
    raise ValueError(f"non-finite number {name} is not allowed")
