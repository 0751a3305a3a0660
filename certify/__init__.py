"""certify: certified, re-checkable numbers about GD versus GF on deep linear networks.

Public API (see README): problems (:func:`load_problem`, :class:`Problem`),
derivatives (:class:`Objective`), gradient descent (:func:`run_gd`), and the
error types.  Numbers called *certified* are rigorous; everything else is an
estimate and says so.
"""

from ._derivatives import Objective
from ._errors import (
    BlowUpError,
    CertificateError,
    CertifyError,
    EnclosureError,
    ProblemError,
    TooLargeError,
    UsageError,
)
from ._gd import GDRun, run_gd
from ._problem import Problem, flatten, init_scheme, load_problem, problem_from_dict, unflatten
from .api import demo_report, evaluate_derivatives, verify_derivatives

__version__ = "0.1.0"

__all__ = [
    "BlowUpError", "CertificateError", "CertifyError", "EnclosureError", "GDRun", "Objective",
    "Problem", "ProblemError", "TooLargeError", "UsageError", "demo_report", "evaluate_derivatives",
    "flatten", "init_scheme", "load_problem", "problem_from_dict", "run_gd", "unflatten",
    "verify_derivatives",
]
