"""Curvature along the way (SPEC S3.1, S3.2): S3.2 enclosures of gradients, Hessians and their smallest
eigenvalue on balls (:mod:`certify.curvature.s32`, rigorous, Arb), the S3.1-vs-S3.2 comparison, and the
curvature profile along the flow (:mod:`certify.curvature.profile`)."""

from .profile import CurvatureScaleRow, curvature_by_scale, curvature_estimate, curvature_profile
from .s32 import gradient_ball, hessian_ball, lambda_min_enclosure, s31_vs_s32

__all__ = ["CurvatureScaleRow", "curvature_by_scale", "curvature_estimate", "curvature_profile", "gradient_ball",
           "hessian_ball", "lambda_min_enclosure", "s31_vs_s32"]
