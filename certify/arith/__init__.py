"""Rigorous arithmetic backends (SPEC S4.6): one interface, several backends.

- ``float64``: midpoint-radius numpy arrays with round-to-nearest a-priori
  error bounds (Higham's ``gamma_k |A||B|`` for products; no rounding-mode
  switching); fast, for large networks.
- ``arb``: python-flint ``arb_mat`` balls at any precision; tight.
- ``iv``: mpmath ``iv`` interval matrices at any precision (basic interval
  arithmetic only, exact rational conversions and norms); slow, the
  independent reference for tests.

>>> import numpy as np
>>> from certify.arith import get_context
>>> ctx = get_context("arb", prec=256)
>>> with ctx:
...     A = ctx.matrix(np.eye(2))
...     bound = A.norm_f_upper()   # a certified upper bound of ||I||_F = sqrt(2)
>>> 2**0.5 <= bound < 2**0.5 * (1 + 1e-15)
True
"""

from __future__ import annotations

from .._claims import ARB_PREC
from ._base import Context
from ._float64 import ETA, F64Mat, gamma, nearest_double, require_finite

BACKENDS = ("float64", "arb", "iv")


def get_context(name: str = "float64", prec: int | None = None) -> Context:
    from .._errors import UsageError

    if name == "float64":
        if prec not in (None, 53):
            raise UsageError(f"the float64 backend has 53 bits, got prec={prec}")
        from ._float64 import Float64Context

        return Float64Context()
    if name == "arb":
        from ._arb import ArbContext

        return ArbContext(ARB_PREC if prec is None else int(prec))
    if name == "iv":
        try:
            from ._iv import IvContext
        except ImportError as e:  # pragma: no cover
            raise UsageError("the iv backend is not available") from e
        return IvContext(ARB_PREC if prec is None else int(prec))
    raise UsageError(f"unknown backend {name!r}; choose one of {', '.join(BACKENDS)}")


__all__ = ["BACKENDS", "Context", "ETA", "F64Mat", "gamma", "get_context", "nearest_double", "require_finite"]
