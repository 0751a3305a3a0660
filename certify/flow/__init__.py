"""The gradient flow (SPEC S2.3, S4.1, S4.3): the Taylor series recursion, the validated enclosure and a
high-precision estimate.

- :func:`enclose_flow` (rigorous): a :class:`FlowEnclosure`, balls that provably contain the GF solution
  at the checkpoints; :func:`flow_to_json` its ``certify/flow-v1`` document.  Built from
  :mod:`certify.flow.series` (the Cauchy-product recursion), the steppers
  (:mod:`certify.flow.base`, :mod:`certify.flow.float_step`, :mod:`certify.flow.ball_step`) and
  :mod:`certify.flow.tube` (Taylor-model norms, tube, Gronwall).
- :func:`integrate_gf` (estimate, :mod:`certify.flow.estimate`): the flow at high precision without a
  guarantee, to compare against.
"""

from .estimate import FlowEstimate, integrate_gf
from .series import GradientSeries, gf_taylor
from .validated import FlowCheckpoint, FlowEnclosure, FlowStep, enclose_flow, flow_to_json

__all__ = ["FlowCheckpoint", "FlowEnclosure", "FlowEstimate", "FlowStep", "GradientSeries", "enclose_flow",
           "flow_to_json", "gf_taylor", "integrate_gf"]
