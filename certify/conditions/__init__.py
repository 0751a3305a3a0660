"""Hypotheses of the paper's theorems with certified verdicts (``certify conditions``;
PAPER.md sections 1, 3, 4; schema ``certify/conditions-v1``): a family with one
module per hypothesis group, :mod:`.base` for the results and the verdict rule,
:mod:`._numeric` for the exact/ball arithmetic and :mod:`.run` for
:func:`check_conditions`.

Every hypothesis gets a *margin*, a real number whose sign decides it, and a
rigorous enclosure ``[margin_lower, margin_upper]`` of it (python-flint ``arb``
balls and exact rationals; conversions to floats are rounded outward with
:func:`certify._claims.hi`/``lo`` and then ``claim_down``/``claim_up``):

- ``holds`` only if ``margin_lower > 0``; ``fails`` only if ``margin_upper < 0``;
  anything else is ``undetermined``.  Two hypotheses are *equalities*
  (exact balancedness, an initialisation exactly on the bad ray): their margin is
  computed in exact rational arithmetic, and the equality is reported only when
  the exact value is ``0`` (``"exact": true``).
- ``margin`` is the certified bound on the side of the verdict: ``margin_upper``
  when the status is ``fails``, ``margin_lower`` otherwise.
- ``[EC21-informal]`` statements are never "holds": their quantities are
  reported (``"reported": true``) with status ``undetermined``.

Source tags (PAPER.md): ``[ACGH19]`` published theorem and constants,
``[derived]`` proved in ``proofs/``, ``[EC21-informal]`` the paper's informal claim.

The hypotheses (name: margin):

- ``balancedness`` [ACGH19] (:mod:`.balancedness`): ``-delta``, ``delta = max_j ||W_{j+1}^T W_{j+1} - W_j W_j^T||_F``
  (exact rationals); holds iff ``delta = 0`` exactly.
- ``deficiency_margin`` [ACGH19] (:mod:`.deficiency`): ``c = sigma_min(Phi) - ||W_{N:1}(0) - Phi||_F``;
  ``sigma_min(Phi)^2 = lambda_min(Gram)`` enclosed by a verified positive
  definiteness test of ``Gram - s I`` (LDL^T in Arb: every pivot certainly
  positive) from below and an exact Rayleigh quotient from above.  For the data
  loss, ``Phi = Syx`` when ``Sxx = I`` exactly, else undetermined.
- ``acgh19_balancedness`` [ACGH19] (:mod:`.acgh19`): ``min(c, delta_max - delta)``, ``delta_max =
  c^2 / (256 N^3 ||Phi||_F^(2(N-1)/N))`` (the theorem needs ``c > 0`` and ``delta <= delta_max``).
- ``acgh19_step_size`` [ACGH19] (:mod:`.acgh19`): ``min(c, eta_max - eta)``, ``eta_max = c^((4N-2)/N) /
  (6144 N^3 ||Phi||_F^((6N-4)/N))``; with the guaranteed iteration count
  ``log(l(0)/eps) / (eta c^(2(N-1)/N))`` (``eps`` a loss level here; the
  excess loss for whitened data).  Thresholds use ``c_+ = max(c, 0)``.
- ``smoothness`` [derived] (S4.5 (a); :mod:`.smoothness`): ``2 - eta beta_D`` with ``beta_D >= sup_D ||Hf||_2``
  on the tube ``D`` (all points within ``eps`` of the GF trajectory on ``[0, T]``);
  the upper end uses certified lower bounds of ``lambda_max(Hf)`` at points of ``D``.
- ``curvature`` [EC21-informal] (PAPER.md 3; :mod:`.curvature`): reported ``m(t)`` (S3.1 on the
  certified GF tube), ``int_0^T m``, and the section-3 [derived] bound
  ``(N-1) rho^(N-2) ||grad l||_F`` integrated (proofs/s3_homogeneous.py).
- ``edge_of_stability`` [derived] (:mod:`.edge_of_stability`): ``2 - eta max_k lambda_max(Hf(theta_k))`` along exact GD:
  lower end from the gap certificate's per-step smoothness bounds (S4.5),
  upper end from certified Rayleigh quotients at GD checkpoints.
- ``ec21_gap_theorem`` [derived] (PAPER.md 1, proofs/ec21_gap_theorem.py; :mod:`.ec21`): ``eta_max - eta``
  with ``eta_max = eps / (beta (G + beta eps) int_0^T exp(int_s^T (m + gamma eps/2)) ds)``;
  ``gamma`` from proofs/s2_2_hessian_lipschitz.py.  Its a-priori bound is set
  against the certified gap (``certify_gap``).
- ``scalar_output_bad_set`` [derived] (PAPER.md 4; :mod:`.scalar_output`): the angle between ``W_{N:1}(0)``
  and ``-Phi`` (``d_N = 1``); a verdict only when its preconditions are certified (a whitened
  target, exact balancedness), else ``undetermined`` with the angle reported.

Kernel losses (cross-entropy, logistic; issue 12): ``balancedness`` is about the weights
alone; ``deficiency_margin``, ``acgh19_*`` and ``scalar_output_bad_set`` assume the whitened
square loss (ACGH19 Theorem 1 and the bad ray are statements about its target ``Phi``) and are
``undetermined`` with that reason; ``smoothness``, ``edge_of_stability``, ``curvature`` and
``ec21_gap_theorem`` are checked: PAPER.md section 1's theorem holds for any C^3 objective, S4.5 (a)
and S3.1 need only ``s_G >= sup ||Hl||_2`` and ``Hl >= 0`` (gap-v2.md section 8,
proofs/ce_hessian_psd.py), and ``gamma`` adds ``L_H A^3`` for the third derivative of the loss
(:func:`tube_constants`; ``L_H`` the Lipschitz constant of ``Hl``, lemma S2.2-ce-lip).  Loss values
and Hessian forms on boxes use the loss's Arb enclosures (Arb's ``exp``).

Trajectory-based quantities (:mod:`.trajectory`) use a partition ``0 = t_0 < ... < t_M = T``, the
validated GF enclosure ``theta(t_i) in B(c_i, r_i)`` (S4.3) and the motion bound
``||theta(t) - theta(t_i)|| <= sqrt((t_{i+1} - t_i)(f_up(t_i) - f_lo(t_{i+1})))``
on ``[t_i, t_{i+1}]`` (Cauchy-Schwarz and ``int ||theta'||^2 = f(t_i) - f(t)``,
``f`` non-increasing along GF; ``f_up``/``f_lo`` interval evaluations of the
loss on the enclosing boxes).  On segment ``i`` every trajectory point lies within
``rho_i = r_i + motion_i`` of ``c_i``, so S3.1 / S4.5 / the Lipschitz lemma with
per-layer radius ``rho_i (+ eps)`` give ``m``, ``G``, ``beta``, ``gamma``.
"""

from .base import NAMES, SCHEMA, SOURCES, STATUSES, ConditionsReport, Hypothesis, Status
from .run import check_conditions, format_hypotheses
from .trajectory import ec21_bound, gronwall_J, tube_constants

__all__ = [
    "NAMES", "SCHEMA", "SOURCES", "STATUSES", "ConditionsReport", "Hypothesis", "Status",
    "check_conditions", "ec21_bound", "format_hypotheses", "gronwall_J", "tube_constants",
]
