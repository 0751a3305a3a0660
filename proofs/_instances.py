"""Random small problem specifications with dyadic entries (multiples of 1/8 in
[-1.5, 1.5]), shared by the proof checks that sample instances."""

from __future__ import annotations

import random


def dyadic_spec(rng: random.Random, d: list, square: bool = False, m=2) -> dict:
    """A problem with widths ``d``: the weights first, then the target (whitened)
    or ``X``, ``Y`` with ``m`` samples (square loss), all drawn from ``rng``;
    ``m`` may be a callable, drawn after the weights."""
    q = lambda: rng.randint(-12, 12) / 8
    N = len(d) - 1
    ws = [[[q() for _ in range(d[j])] for _ in range(d[j + 1])] for j in range(N)]
    if square:
        m = m() if callable(m) else m
        loss = {"kind": "square", "X": [[q() for _ in range(m)] for _ in range(d[0])],
                "Y": [[q() for _ in range(m)] for _ in range(d[-1])]}
    else:
        loss = {"kind": "whitened", "target": [[q() for _ in range(d[0])] for _ in range(d[-1])]}
    return {"dims": d, "loss": loss, "init": {"weights": ws}}
