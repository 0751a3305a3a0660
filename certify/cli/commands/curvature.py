"""``certify curvature``: negative curvature along the certified gradient flow."""

from __future__ import annotations

import certify

from ..._errors import UsageError
from ..output import console, table


def _scales(text: str) -> list[float]:
    try:
        scales = [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise UsageError(f"--scales must be a comma-separated list of numbers, got {text!r}")
    if any(not (x > 0) or x == float("inf") for x in scales):
        raise UsageError("--scales must be positive numbers")
    return scales


def cmd_curvature(args) -> int:
    prob = certify.load_problem(args.problem)
    scales = _scales(args.scales)
    out = console()
    prof = certify.curvature_profile(prob, args.t_end, args.checkpoints)
    out.print(f"negative curvature along the gradient flow of {prob.name or args.problem} (T = {args.t_end:g}):")
    rows = [(f"{r['t']:g}", f"{r['loss_estimate']:.4e}", f"{r['m_cert']:.4e}", f"{r['m_est']:.4e}",
             f"{r['bound_est']:.4e}", f"{r['bound_balanced_est']:.4e}") for r in prof["rows"]]
    out.print(table(["t", "loss (estimate)", "m upper (certified)", "m (estimate)",
                     "derived bound (estimate)", "balanced form (estimate)"], rows))
    out.print(f"int_0^T m <= {prof['int_m_upper']:.6g} (certified; GF enclosure radius at T {prof['radius']:.2e}); "
              f"estimates (trapezoid over the rows): int m ~ {prof['int_m_est']:.4g}, derived bound "
              f"~ {prof['int_bound_est']:.4g}, its balanced-trajectory form ~ {prof['int_bound_balanced_est']:.4g}")
    if scales:
        srows = [(f"{r.scale:g}", f"{r.int_m_upper:.6g}", f"{r.loss_estimate:.3e}") if r.int_m_upper is not None
                 else (f"{r.scale:g}", "not certified", r.reason[:60])
                 for r in certify.curvature_by_scale(prob, args.t_end, scales)]
        out.print("int_0^T m against the initialisation scale (initial end-to-end matrix times c) "
                  "\\[EC21-informal: near-zero initialisation gives almost non-negative curvature]:")
        out.print(table(["c", "int m upper (certified)", "loss at T (estimate)"], srows))
    if args.plot:
        certify.plot_curvature(prof, args.plot)
        out.print(f"wrote {args.plot}")
    return 0
