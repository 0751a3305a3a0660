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
from ._problem import Problem, flatten, load_problem, problem_from_dict, unflatten
from ._datasets import init_scheme
from .flow import enclose_flow, flow_to_json
from .gap import DistanceCertificate, GapCertificate, certify_distance, certify_gap
from .api import evaluate_derivatives, verify_derivatives
from ._builtins import builtin_names
from ._converge import (Acgh19Step, ConvergeResult, GFTime, Outcome, Translation, acgh19_eta, gf_time_to_eps,
                        largest_eta, translate)
from .conditions import ConditionsReport, check_conditions, format_hypotheses
from .curvature.profile import CurvatureScaleRow, curvature_by_scale, curvature_estimate, curvature_profile
from .gap import SmallStepStudy, concave_gap, gap_against_t, gap_table, required_eta, smallstep_study
from .symbolic import derivation_report
from .curvature.s32 import gradient_ball, hessian_ball, lambda_min_enclosure, s31_vs_s32
from .flow.estimate import FlowEstimate, integrate_gf
from .certificates.writing import dumps_json, write_bytes_atomic, write_json_atomic
from ._progress import NullProgress, Progress, RelabelledProgress, RichProgress
from ._plot import plot_conditions, plot_curvature, plot_flow, plot_gap, plot_smallstep
from .check import CheckReport, check_certificate, check_file, format_report, schema

from ._version import __version__

__all__ = [
    # errors
    "BlowUpError", "CertificateError", "CertifyError", "EnclosureError", "NotCertified", "ProblemError",
    "TooLargeError", "UsageError",
    # problems
    "Problem", "builtin_names", "flatten", "init_scheme", "load_problem", "problem_from_dict", "unflatten",
    # derivatives and GD
    "GDRun", "Objective", "derivation_report", "evaluate_derivatives", "run_gd", "verify_derivatives",
    # flow: certified enclosure and high-precision estimate
    "FlowEstimate", "enclose_flow", "flow_to_json", "integrate_gf",
    # gap and distance between runs
    "DistanceCertificate", "GapCertificate", "certify_distance", "certify_gap",
    # small steps (PAPER.md section 2)
    "SmallStepStudy", "concave_gap", "gap_against_t", "gap_table", "required_eta", "smallstep_study",
    # EC21 translation and the largest certified eta
    "Acgh19Step", "ConvergeResult", "GFTime", "Outcome", "Translation", "acgh19_eta", "gf_time_to_eps",
    "largest_eta", "translate",
    # conditions
    "ConditionsReport", "check_conditions", "format_hypotheses",
    # curvature: S3.2 enclosures and the profile along GF
    "CurvatureScaleRow", "curvature_by_scale", "curvature_estimate", "curvature_profile", "gradient_ball", "hessian_ball", "lambda_min_enclosure", "s31_vs_s32",
    # checker
    "CheckReport", "check_certificate", "check_file", "format_report",
    # certificate formats (JSON Schemas shipped in certify/schemas/)
    "schema",
    # progress (one protocol: start/update/close)
    "NullProgress", "Progress", "RelabelledProgress", "RichProgress",
    # output
    "dumps_json", "plot_conditions", "plot_curvature", "plot_flow", "plot_gap", "plot_smallstep", "write_bytes_atomic", "write_json_atomic",
]
