"""The certified GD-vs-GF gap (SPEC S4.2, S4.4, S4.5) and what is built on the same GD balls.

- :func:`certify_gap` (:mod:`certify.gap.run`): a :class:`GapCertificate` (``certify/gap-v2``, the
  contract ``certify/schemas/gap-v2.md``), two-sided brackets of ``||theta_k - theta(k eta)||``;
  :func:`gd_balls` the exact GD in certified balls around its float iterates, without the flow.
- :mod:`certify.gap.stepper` the float GD step with its rounding bound; :mod:`certify.gap.blocks`
  reference points, tube bounds and the segment claims; :mod:`certify.gap.certificate` the
  certificate object.
- :func:`certify_distance` (:mod:`certify.gap.distance`): two GD runs, certified distance.
- :mod:`certify.gap.smallstep`: closed-form gap studies (how small a step is needed).
"""

from .blocks import Reference, make_ref, tube_bounds
from .certificate import SCHEMA, GapCertificate, GapCheckpoint
from .distance import DistanceCertificate, certify_distance
from .run import certify_gap, gd_balls
from .smallstep import SmallStepStudy, concave_gap, gap_against_t, gap_table, required_eta, smallstep_study

__all__ = ["DistanceCertificate", "GapCertificate", "GapCheckpoint", "Reference", "SCHEMA", "SmallStepStudy",
           "certify_distance", "certify_gap", "concave_gap", "gap_against_t", "gap_table", "gd_balls", "make_ref",
           "required_eta", "smallstep_study", "tube_bounds"]
