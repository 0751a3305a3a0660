"""Built-in problems, addressed as ``builtin:NAME``.  Each is an ordinary
problem specification (the JSON contract), so it goes through the same loader."""

from __future__ import annotations

import copy

from ._errors import ProblemError

_BUILTINS: dict[str, dict] = {
    # The embedded default: depth 3, whitened, 44 parameters; runs in seconds.
    "demo": {
        "dims": [3, 4, 4, 3],
        "loss": {
            "kind": "whitened",
            "target": [[1.5, 0.25, -0.5], [0.0, 1.0, 0.75], [-0.25, 0.5, 1.25]],
        },
        "init": {"scheme": "balanced", "scale": 0.5, "seed": 1},
    },
    # Real data, regression (scikit-learn's bundled diabetes set).
    "diabetes": {
        "dims": [10, 8, 8, 1],
        "loss": {"kind": "square", "dataset": "diabetes", "samples": 442},
        "init": {"scheme": "balanced", "scale": 0.1, "seed": 0},
    },
    # Real data, classification as regression on one-hot targets (8x8 digits),
    # 5,280 parameters.  Near-zero balanced initialisation: the regime where
    # the curvature along GF is favourable (PAPER.md section 3); the paper's
    # Xavier initialisation is {"scheme": "xavier", "scale": 1.0} in a file.
    "digits": {
        "dims": [64, 64, 16, 10],
        "loss": {"kind": "square", "dataset": "digits", "samples": 500},
        "init": {"scheme": "balanced", "scale": 0.1, "seed": 0},
    },
    # The paper's experiment (Elkabetz & Cohen 2021, PAPER.md section 5) on bundled
    # data: the first 1000 of scikit-learn's 8x8 digits, pixels / 16, one-hot
    # targets, the paper's fully connected linear 64-50-50-10 network (6,200
    # parameters), Xavier-uniform initialisation (seed 0), square loss instead
    # of the paper's cross-entropy.  `certify gap builtin:paper --eta 1e-3
    # --steps 10000` is the paper's step size and horizon (t = 10).
    "paper": {
        "dims": [64, 50, 50, 10],
        "loss": {"kind": "square", "dataset": "digits", "samples": 1000},
        "init": {"scheme": "xavier", "scale": 1.0, "seed": 0},
    },
    # builtin:paper with the paper's loss: softmax cross-entropy on the same one-hot digits
    # (PAPER.md section 5; certified gap: gap-v2.md section 8).
    "paper-ce": {
        "dims": [64, 50, 50, 10],
        "loss": {"kind": "cross_entropy", "dataset": "digits", "samples": 1000},
        "init": {"scheme": "xavier", "scale": 1.0, "seed": 0},
    },
    # The paper's exact network size, 784-50-50-10 (42,200 parameters): the same
    # 1000 digits upsampled from 8x8 to 28x28 (MNIST's input size) by linear
    # interpolation with dyadic weights (certify._problem.upsample_matrix), / 16.
    "paper-784": {
        "dims": [784, 50, 50, 10],
        "loss": {"kind": "square", "dataset": "digits28", "samples": 1000},
        "init": {"scheme": "xavier", "scale": 1.0, "seed": 0},
    },
    # builtin:paper-784 with the paper's loss (softmax cross-entropy on the one-hot digits)
    "paper-784-ce": {
        "dims": [784, 50, 50, 10],
        "loss": {"kind": "cross_entropy", "dataset": "digits28", "samples": 1000},
        "init": {"scheme": "xavier", "scale": 1.0, "seed": 0},
    },
    # A bounded saddle escape (PAPER.md section 2): depth 2, started next to the
    # strict saddle at 0, where lambda_min(Hf) = -1; GD must resolve the
    # exponential escape, so its step must be small in exp(int m).
    "saddle": {
        "dims": [2, 2, 2],
        "loss": {"kind": "whitened", "target": [[1.0, 0.0], [0.0, 0.5]]},
        "init": {"weights": [[[0.01, 0.0], [0.0, 0.01]], [[0.01, 0.0], [0.0, 0.01]]]},
    },
}


def builtin_names() -> list[str]:
    return sorted(_BUILTINS)


def builtin_spec(name: str) -> dict:
    if name not in _BUILTINS:
        raise ProblemError(
            f"unknown built-in {name!r}; choose one of {', '.join('builtin:' + n for n in builtin_names())}",
            "problem",
        )
    return copy.deepcopy(_BUILTINS[name])
