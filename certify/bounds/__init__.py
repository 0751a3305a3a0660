"""Rigorous bounds the flow, the gap and the conditions share (SPEC S3.1, S4.1, S4.6): spectral norms
of ball matrices (:mod:`certify.bounds.spectral`), the S3.1 curvature family
(:mod:`certify.bounds.s31`) and the Gronwall step (:mod:`certify.bounds.gronwall`).  Every number
returned is an upper bound, rounded outward."""

from .gronwall import gronwall_update
from .s31 import BaseNorms, DataSplit, Tube, base_at_point, center_norms, mu_upper, s31_on_tube
from .spectral import spectral_upper

__all__ = ["BaseNorms", "DataSplit", "Tube", "base_at_point", "center_norms", "gronwall_update",
           "mu_upper", "s31_on_tube", "spectral_upper"]
