"""The arithmetic interface (one API, several backends), after mpmath's contexts.

A *context* creates *ball matrices*; every operation on ball matrices returns
a ball matrix that contains the exact result of the operation applied to any
points of the operands (an *enclosure*).  Rules for implementers:

1. ``ctx.matrix(a, rad=None)`` encloses ``a`` exactly: float64 arrays are
   exact binary64 values; object arrays of ``Fraction``/``int`` are exact
   rationals, enclosed with whatever radius the backend needs.
2. ``A @ B``, ``A + B``, ``A - B``, ``-A``, ``A * s`` (``s`` int, float or
   Fraction), ``A.T``: enclosures; each implementation documents its bound.
3. ``norm_f_upper()``, ``norm_2_upper()``, ``rad_max()``, ``abs_upper()``
   return floats that are rigorous upper bounds over the whole ball.
4. ``mid()`` (float64 midpoints) is for display and float centers only:
   it is not rigorous.  ``center()`` is the zero-radius ball at the exact
   midpoint.
5. Overflow raises :class:`certify.BlowUpError`, never returns inf silently.
6. All operations run inside ``with ctx:`` (which sets and restores the
   working precision; nothing changes at import).
"""

from __future__ import annotations


class Context:
    name = "base"
    prec = 53

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def matrix(self, a, rad=None):  # pragma: no cover - interface
        raise NotImplementedError

    def zeros(self, r: int, c: int):
        import numpy as np

        return self.matrix(np.zeros((r, c)))

    def eye(self, n: int):
        import numpy as np

        return self.matrix(np.eye(n))
