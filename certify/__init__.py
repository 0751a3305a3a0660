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
    NotCertified,
    ProblemError,
    TooLargeError,
    UsageError,
)
from ._gd import GDRun, run_gd
from ._problem import Problem, flatten, init_scheme, load_problem, problem_from_dict, unflatten
from ._flow import enclose_flow, flow_to_json
from ._gap import GapCertificate, certify_gap
from ._distance import DistanceCertificate, certify_distance
from .api import evaluate_derivatives, verify_derivatives

__version__ = "0.1.0"

__all__ = [
    "BlowUpError", "CertificateError", "CertifyError", "DistanceCertificate", "EnclosureError", "GDRun", "Objective",
    "GapCertificate", "NotCertified", "Problem", "ProblemError", "TooLargeError", "UsageError", "certify_distance", "certify_gap",
    "enclose_flow", "evaluate_derivatives", "flow_to_json",
    "flatten", "init_scheme", "load_problem", "problem_from_dict", "run_gd", "unflatten",
    "verify_derivatives",
]
