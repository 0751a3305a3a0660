"""``check_conditions``: every hypothesis of the family on one problem, in the
order of :data:`certify.conditions.base.NAMES`, and the CLI table's rows."""

from __future__ import annotations

import time
from fractions import Fraction
from typing import NamedTuple

from .._claims import ARB_PREC
from .._errors import BlowUpError, EnclosureError, TooLargeError, UsageError
from .._problem import Problem, load_problem
from ._numeric import _exact_ok, _prec
from .acgh19 import check_acgh19
from .balancedness import check_balancedness
from .base import NAMES, ConditionsReport, Hypothesis, Status
from .curvature import check_curvature
from .deficiency import check_deficiency, whitened_only
from .ec21 import check_ec21
from .edge_of_stability import check_edge_of_stability
from .scalar_output import check_scalar_output
from .smoothness import check_smoothness
from .trajectory import _trajectory

PREC = ARB_PREC
SEGMENTS = 32  # uniform partition of [0, T] for the trajectory bounds (plus the gap checkpoints)
MAX_GAP_STEPS = 100_000
DEFAULT_T = 1.0


def check_conditions(problem, eta=None, eps=None, t_end=None, *, trajectory: bool = True,
                     segments: int = SEGMENTS) -> ConditionsReport:
    """Certified verdicts on the paper's hypotheses for ``problem`` (package docstring).

    ``eta``: GD step size (optional); ``eps``: a loss level for ACGH19's iteration
    count and the radius of the GD-GF distance for the EC21 theorem (optional: the
    theorem then uses the best ``eps`` on a grid); ``t_end``: horizon ``T`` of the
    trajectory-based quantities (default 1; with ``eta``, ``floor(T/eta)`` GD steps).
    ``trajectory=False`` skips everything that needs the GF enclosure or GD."""
    t_start = time.perf_counter()
    problem = load_problem(problem)
    eta = _check_pos(eta, "eta")
    eps = _check_pos(eps, "eps")
    t_end = _check_pos(t_end, "t_end")
    if not isinstance(segments, int) or segments < 1:
        raise UsageError(f"segments must be an integer >= 1, got {segments!r}")
    with _prec(PREC):
        rep = _run(problem, eta, eps, t_end, trajectory, segments)
    rep.seconds = time.perf_counter() - t_start
    return rep.seal()


def _check_pos(x, name):
    from .._gd import check_positive

    return None if x is None else check_positive(x, name)


class _Horizon(NamedTuple):
    T: Fraction  # the horizon: ``steps`` whole GD steps when the gap is certified, else ``t_end``
    steps: int | None  # GD steps for ``t_end`` (None without eta)
    eta_q: Fraction | None  # eta exactly
    run_gap: bool  # whether GD runs (and the gap is certified)


def _horizon(eta, t_end, want_traj: bool) -> _Horizon:
    T_user = Fraction(t_end if t_end is not None else DEFAULT_T)
    steps = None
    if eta is not None:
        ratio = float(T_user) / eta
        steps = max(1, int(round(ratio)) if abs(ratio - round(ratio)) <= 1e-9 * max(1.0, ratio) else int(ratio))
    eta_q = Fraction(eta) if eta is not None else None
    run_gap = want_traj and steps is not None and steps <= MAX_GAP_STEPS
    T = eta_q * steps if run_gap else T_user
    return _Horizon(T, steps, eta_q, run_gap)


def _run(problem: Problem, eta, eps, t_end, want_traj, nseg) -> ConditionsReport:
    exact = _exact_ok(problem)
    notes = []
    if not exact:
        notes.append("problem too large for exact rational products: Arb balls at 128 bits instead "
                     "(exact equalities cannot be confirmed)")
    hz = _horizon(eta, t_end, want_traj)
    rep = ConditionsReport(problem, eta, eps, t_end, float(hz.T), notes=notes)
    H = {}
    H["balancedness"], delta = check_balancedness(problem, exact)
    if not (problem.loss.certified or problem.loss.is_kernel):
        return _uncertified_loss(problem, rep, H)
    H["deficiency_margin"], d = check_deficiency(problem, exact)
    H["acgh19_balancedness"], H["acgh19_step_size"] = check_acgh19(problem.depth, d, delta, eta, eps)
    why = d.why
    if problem.loss.is_kernel:
        why = whitened_only(problem.loss.kind, "the bad ray W_{N:1} = -x Phi (PAPER.md section 4, [derived]) is "
                                               "a statement about the end-to-end flow of the whitened loss")
        rep.notes.append(KERNEL_NOTE.format(kind=problem.loss.kind))
    H["scalar_output_bad_set"] = check_scalar_output(problem, d.Phi, why, exact, H["balancedness"])
    traj, traj_reason, gap, gap_reason = _trajectory_and_gap(problem, hz, eta, want_traj, nseg)
    ec = check_ec21(traj, traj_reason, eps, eta, gap, gap_reason)
    eps_used = ec.quantities.get("eps")
    H["smoothness"] = check_smoothness(problem, traj, traj_reason, eps_used, eta)
    H["curvature"] = check_curvature(problem, traj, traj_reason)
    H["edge_of_stability"] = check_edge_of_stability(problem, eta, gap, gap_reason)
    H["ec21_gap_theorem"] = ec
    rep.hypotheses = [H[n] for n in NAMES]
    return rep


#: the source tag of each hypothesis (as its own module sets it)
SOURCE = {"balancedness": "[ACGH19]", "deficiency_margin": "[ACGH19]", "acgh19_balancedness": "[ACGH19]",
          "acgh19_step_size": "[ACGH19]", "smoothness": "[derived]", "curvature": "[EC21-informal]",
          "edge_of_stability": "[derived]", "ec21_gap_theorem": "[derived]", "scalar_output_bad_set": "[derived]"}


#: quantities every report carries (conditions-v1.json), null when not computed
UNKNOWN_QUANTITIES = {"edge_of_stability": ("lambda_max_theta0_estimate", "lambda_max_theta0_lower",
                                            "two_over_lambda_max_theta0_estimate")}


#: the report's note on a kernel loss (cross-entropy, logistic; issue 12)
KERNEL_NOTE = ("the {kind} loss: deficiency_margin, acgh19_* and scalar_output_bad_set assume the whitened square "
               "loss (undetermined); smoothness, edge_of_stability and ec21_gap_theorem ([derived]) hold for any "
               "C^3 objective and use the loss's s_G >= sup ||Hl||_2 (gap-v2.md section 8) and, with curvature "
               "(reported), Hl >= 0 (S2.2-ce-psd) in S3.1; gamma adds the third-derivative term L_H A^3 with L_H "
               "the Lipschitz constant of Hl (S2.2-ce-lip); loss values and Hessian forms on boxes use Arb's exp")


def _uncertified_loss(problem: Problem, rep: ConditionsReport, H: dict) -> ConditionsReport:
    """A loss the certified machinery does not handle (a safety net: every loss kind today is
    handled, the kernel losses since issue 12): balancedness (a property of the weights alone)
    is checked as usual; every other hypothesis is undetermined with the reason."""
    kind = problem.loss.kind
    for name in NAMES:
        if name not in H:
            h = Hypothesis(name, SOURCE[name], Status.UNDETERMINED, SHORT[name])
            h.reason = (f"assumes the whitened or square loss: certified {name} for the {kind} loss is not "
                        "implemented yet (issue 12)")
            h.quantities = dict.fromkeys(UNKNOWN_QUANTITIES.get(name, ()))  # the report's required keys, null
            H[name] = h
    rep.notes.append(f"the {kind} loss: only balancedness is checked (issue 12)")
    rep.hypotheses = [H[n] for n in NAMES]
    return rep


def _trajectory_and_gap(problem: Problem, hz: _Horizon, eta, want_traj: bool, nseg: int):
    """``(traj, traj_reason, gap, gap_reason)``: the certified GF on the partition (the
    uniform one plus the gap's checkpoints) and the certified GD-GF gap, or why not."""
    traj = gap = None
    traj_reason = gap_reason = None
    if not want_traj:
        traj_reason = gap_reason = "skipped (trajectory=False)"
        return traj, traj_reason, gap, gap_reason
    T, steps, eta_q = hz.T, hz.steps, hz.eta_q
    times = sorted({T * Fraction(k, nseg) for k in range(1, nseg + 1)})
    if hz.run_gap:
        every = max(1, steps // 20)
        ks = sorted(set(list(range(0, steps + 1, every)) + [steps]))
        times = sorted(set(times) | {eta_q * k for k in ks if k > 0})
        try:
            from ..gap.run import certify_gap

            gap = certify_gap(problem, eta, steps, every=every)
        except (BlowUpError, EnclosureError) as e:
            gap_reason = f"gap certificate failed: {e}"
    elif steps is not None:
        gap_reason = f"{steps} GD steps exceed {MAX_GAP_STEPS}: give a shorter --t-end"
    else:
        gap_reason = "no eta given"
    try:
        traj = _trajectory(problem, T, times)
    except (BlowUpError, EnclosureError, TooLargeError) as e:
        traj_reason = f"GF enclosure failed: {e}"
    return traj, traj_reason, gap, gap_reason


SHORT = {
    "balancedness": "-delta, delta = max_j ||W_{j+1}^T W_{j+1} - W_j W_j^T||_F; holds iff exactly balanced",
    "deficiency_margin": "c = sigma_min(Phi) - ||W_{N:1}(0) - Phi||_F > 0",
    "acgh19_balancedness": "min(c, delta_max(c) - delta): ACGH19 Thm 1 balancedness condition",
    "acgh19_step_size": "min(c, eta_max(c) - eta): ACGH19 Thm 1 step-size condition",
    "smoothness": "2 - eta beta_D, beta_D = sup ||Hf|| on the eps-tube D around GF",
    "curvature": "m(t), int_0^T m along GF (reported only)",
    "edge_of_stability": "2 - eta max_k lambda_max(Hf(theta_k)) along GD (< 0: edge of stability)",
    "ec21_gap_theorem": "eta_max(eps) - eta: the explicit GD-GF gap theorem applies",
    "scalar_output_bad_set": "angle between W_{N:1}(0) and -Phi (d_N = 1): distance from the bad ray",
}


def format_hypotheses(rep: ConditionsReport) -> list:
    """Rows (name, source, status, margin, what) for the CLI table."""
    rows = []
    for h in rep.hypotheses:
        m = "-" if h.margin is None else f"{h.margin:.6g}"
        if h.exact and h.margin is not None:
            m += " (exact)"
        st = Status(h.status)
        rows.append((h.name, h.source, st.value.upper() if st is Status.FAILS else st.value, m,
                     SHORT.get(h.name, h.meaning)))
    return rows
