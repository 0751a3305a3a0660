"""Symbolic derivations of SPEC S2 with sympy (``certify derive``, proofs/, tests).

Two independent routes from the loss to its derivatives:

1. **Matrix level** (:mod:`.matrix`: :func:`derive_matrix_level`; the
   vocabulary in :mod:`.base`; the text of ``certify derive`` in :mod:`.report`).
   The weights are *noncommutative* sympy symbols ``W_1..W_N`` (with partners
   ``W_j^T``), so one computation covers every choice of widths.  The loss
   ``f = 1/2 tr(R^T R)``, ``R = W_N...W_1 - Phi`` (whitened) or
   ``f = 1/(2m) tr(R^T R)``, ``R = W_N...W_1 X - Y`` (square, S1), is evaluated
   along ``W_j -> W_j + s D_j`` and differentiated once and twice in ``s`` at
   ``s = 0`` with ``sympy.diff``.  The results are traces of words in the
   letters; every word is brought to a canonical form with the two identities
   ``tr(AB) = tr(BA)`` and ``tr(A^T) = tr(A)`` (valid for all shapes that make
   the products defined), so an expression that *canonicalises to zero* is zero
   for every width.  The S2.1 / S2.2 formulas are built the same way and the
   difference is shown to vanish.

2. **Entrywise** (:mod:`.entrywise`: :func:`entrywise_reference`).  For given
   small widths every weight entry is a scalar symbol (flattened per S1), the loss is the scalar
   polynomial written from its definition in S1 (``1/(2m) ||W X - Y||_F^2``
   with the samples themselves, not the statistics ``Sxx``/``Syx``), and every
   partial derivative is obtained by symbolic differentiation.  Evaluation at
   rational points is exact (:class:`fractions.Fraction`).  This is the exact
   reference the numeric kernels of :mod:`certify._derivatives` are tested
   against; it shares no code with them.

The cross-entropy and logistic losses are not polynomials: :mod:`.cross_entropy`
checks their derivatives entrywise at small sizes (``exp(z)`` as positive
symbols, and sympy against the float64 implementation).
"""

from .base import Letters, MatrixContext, s21_gradient, s22_hessian_form
from .cross_entropy import LossDerivation, ce_formulas, derive_loss, implementation_check, logistic_formulas
from .entrywise import (
    EntrywiseReference, entrywise_reference, random_rational_instance, random_rational_matrix, rational_context,
)
from .matrix import MatrixDerivation, derive_matrix_level
from .report import derivation_report

__all__ = [
    "Letters",
    "LossDerivation",
    "MatrixContext",
    "MatrixDerivation",
    "EntrywiseReference",
    "ce_formulas",
    "derivation_report",
    "derive_loss",
    "derive_matrix_level",
    "entrywise_reference",
    "implementation_check",
    "logistic_formulas",
    "random_rational_instance",
    "random_rational_matrix",
    "rational_context",
    "s21_gradient",
    "s22_hessian_form",
]
