"""Data and initial weights for problems (SPEC S1): scikit-learn's bundled datasets (no download at run
time), the upsampled ``digits28``, and the initialisation schemes."""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Sequence

import numpy as np

from ._errors import ProblemError


SCHEMES = ("balanced", "gaussian", "xavier")


DATASETS = ("diabetes", "digits", "digits28")


#: bundled datasets with class labels (one-hot targets), usable by the cross-entropy loss
CLASS_DATASETS = ("digits", "digits28")


def upsample_matrix(n: int, m: int) -> np.ndarray:
    """``R`` (``m x n``): linear interpolation from ``n`` to ``m`` equally spaced
    samples (output ``i`` at input position ``i (n-1)/(m-1)``), weights rounded
    to multiples of 1/16 so that upsampled pixels stay exact dyadic doubles.
    ``digits28`` images are ``R img R^T`` for the 8x8 digits (then / 16)."""
    R = np.zeros((m, n))
    for i in range(m):
        x = Fraction(i * (n - 1), m - 1)
        a = min(int(x), n - 2)
        w = Fraction(round((x - a) * 16), 16)
        R[i, a] += float(1 - w)
        R[i, a + 1] += float(w)
    return R


def load_dataset(name: str, samples: int, d0: int, dN: int) -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's bundled datasets (no download).  Returns ``X`` (d_0 x m)
    and ``Y`` (d_N x m).

    ``diabetes``: 10 standardised features (mean 0, variance 1 over the
    chosen samples), target centred and scaled to unit variance.
    ``digits``: 64 pixels divided by 16, one-hot targets over 10 classes.
    ``digits28``: the same images upsampled to 28 x 28 (784 pixels, the
    paper's MNIST input size) by :func:`upsample_matrix`, then divided by 16.
    """
    if name == "diabetes":
        from sklearn.datasets import load_diabetes

        data = load_diabetes(scaled=False)
        X, y = data.data.astype(np.float64), data.target.astype(np.float64)
        total, nfeat, nout = X.shape[0], 10, 1
    elif name in ("digits", "digits28"):
        from sklearn.datasets import load_digits

        data = load_digits()
        X, y = data.data.astype(np.float64), data.target
        total, nfeat, nout = X.shape[0], 64, 10
        if name == "digits28":
            R = upsample_matrix(8, 28)
            X = np.einsum("ia,nab,jb->nij", R, X.reshape(-1, 8, 8), R).reshape(-1, 784)
            nfeat = 784
    else:
        raise ProblemError(f"unknown dataset {name!r}; choose one of {', '.join(DATASETS)}", "loss.dataset")
    if samples > total:
        raise ProblemError(f"dataset {name} has {total} samples, {samples} requested", "loss.samples")
    if d0 != nfeat:
        raise ProblemError(f"dataset {name} has {nfeat} features but dims[0] = {d0}", "dims")
    if dN != nout:
        raise ProblemError(f"dataset {name} has {nout} outputs but dims[-1] = {dN}", "dims")
    X, y = X[:samples], y[:samples]
    if name == "diabetes":
        sd = X.std(axis=0)
        if samples < 2 or np.any(sd == 0):
            raise ProblemError("need at least 2 samples with non-constant features", "loss.samples")
        X = (X - X.mean(axis=0)) / sd
        ysd = y.std()
        if ysd == 0:
            raise ProblemError("target is constant on the chosen samples", "loss.samples")
        Y = ((y - y.mean()) / ysd)[None, :]
        return np.ascontiguousarray(X.T), np.ascontiguousarray(Y)
    X = X / 16.0
    Y = np.zeros((10, samples))
    Y[y, np.arange(samples)] = 1.0
    return np.ascontiguousarray(X.T), Y


def init_scheme(scheme: str, dims: Sequence[int], scale: float, seed: int) -> tuple[np.ndarray, ...]:
    """Random initialisations (all from ``numpy.random.default_rng(seed)``).

    - ``gaussian``: iid ``N(0, scale^2)`` entries.
    - ``xavier``: iid uniform on ``[-a, a]``, ``a = scale * sqrt(6/(fan_in+fan_out))``
      (Glorot & Bengio; the paper's experiments use scale 1).
    - ``balanced``: draw the end-to-end matrix ``W`` with iid ``N(0, scale^2)``
      entries, take its SVD ``W = U S V^T`` (rank ``r`` = smallest width), and set
      ``W_1 = P_1 S^{1/N} V^T``, ``W_j = P_j S^{1/N} P_{j-1}^T``,
      ``W_N = U S^{1/N} P_{N-1}^T`` with random orthonormal ``P_j`` (``d_j x r``):
      then ``W_{j+1}^T W_{j+1} = P_j S^{2/N} P_j^T = W_j W_j^T`` and
      ``W_{N:1} = W`` (up to rounding).
    """
    rng = np.random.default_rng(seed)
    N = len(dims) - 1
    shapes = [(dims[j + 1], dims[j]) for j in range(N)]
    if scheme == "gaussian":
        return tuple(scale * rng.standard_normal(s) for s in shapes)
    if scheme == "xavier":
        return tuple(
            rng.uniform(-1.0, 1.0, s) * (scale * math.sqrt(6.0 / (s[0] + s[1]))) for s in shapes
        )
    if scheme == "balanced":
        W = scale * rng.standard_normal((dims[-1], dims[0]))
        U, S, Vt = np.linalg.svd(W, full_matrices=False)
        r = min(dims)
        U, S, Vt = U[:, :r], S[:r], Vt[:r, :]
        root = S ** (1.0 / N)
        P = [Vt.T]  # P_0 := V (d_0 x r)
        for j in range(1, N):
            q, _ = np.linalg.qr(rng.standard_normal((dims[j], r)))
            P.append(q[:, :r])
        P.append(U)  # P_N := U
        return tuple((P[j + 1] * root) @ P[j].T for j in range(N))
    raise ProblemError(f"unknown scheme {scheme!r}", "init.scheme")
