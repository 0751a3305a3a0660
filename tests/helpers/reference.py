"""Reference computations shared by several test files (independent of certify)."""

import mpmath
import numpy as np


def naive_loss(spec, theta):
    """The loss straight from S1's definition, in mpmath, independent of certify."""
    d = spec["dims"]
    pos, W = 0, None
    for j in range(len(d) - 1):
        r, c = d[j + 1], d[j]
        M = mpmath.matrix(r, c)
        for a in range(r):
            for b in range(c):
                M[a, b] = theta[pos]
                pos += 1
        W = M if W is None else M * W
    L = spec["loss"]
    if L["kind"] == "whitened":
        R = W - mpmath.matrix(L["target"])
        return sum(R[i, j] ** 2 for i in range(R.rows) for j in range(R.cols)) / 2
    X, Y = mpmath.matrix(L["X"]), mpmath.matrix(L["Y"])
    R = W * X - Y
    return sum(R[i, j] ** 2 for i in range(R.rows) for j in range(R.cols)) / (2 * X.cols)


def fd_grad(spec, theta, h):
    g = []
    for i in range(len(theta)):
        tp, tm = list(theta), list(theta)
        tp[i] += h
        tm[i] -= h
        g.append((naive_loss(spec, tp) - naive_loss(spec, tm)) / (2 * h))
    return g



def signed_perm(d, rng):
    P = np.zeros((d, d))
    P[np.arange(d), rng.permutation(d)] = rng.choice([-1.0, 1.0], d)
    return P


def diagonal_instance(N, d, seed, well_conditioned=False):
    rng = np.random.default_rng(seed)
    if well_conditioned:  # every mode starts within a factor 2 of its target
        phi = rng.integers(6, 11, d) / 8.0  # dyadic, in [0.75, 1.25]
        a0 = phi ** (1.0 / N) * rng.integers(6, 10, d) / 8.0
        a0 = np.round(a0 * 64) / 64  # dyadic
    else:
        a0 = rng.integers(2, 9, d) / 8.0  # dyadic, in [0.25, 1]
        phi = rng.integers(4, 13, d) / 8.0  # dyadic, in [0.5, 1.5]
    U = [signed_perm(d, rng) for _ in range(N + 1)]
    Ws = [U[j + 1] @ np.diag(a0) @ U[j].T for j in range(N)]
    Phi = U[N] @ np.diag(phi) @ U[0].T
    spec = {"dims": [d] * (N + 1), "loss": {"kind": "whitened", "target": Phi.tolist()},
            "init": {"weights": [w.tolist() for w in Ws]}}
    return spec, a0, phi, U
