"""``certify smallstep``: GD may need exponentially small steps (PAPER.md section 2)."""

from __future__ import annotations

import certify

from ..output import console, table


def cmd_smallstep(args) -> int:
    study = certify.smallstep_study(mu=args.mu, theta0=args.theta0, eps=args.eps)
    out = console()
    out.print(f"concave quadratic f = -{args.mu:g} theta^2/2 from theta0 = {args.theta0:g}: largest eta = t/k with "
              f"certified gap <= {args.eps:g} at time t (source \\{study.source})")
    out.print(table(["t", "largest eta", "k", "estimate", "eta/estimate"],
                    [(f"{t:g}", f"{e:.6e}", k, f"{s:.6e}", f"{e / s:.6f}") for t, e, k, s in study.required]))
    rows = study.gaps
    out.print(f"certified gap at t = {rows[0].t:g} against eta (lower..upper):")
    out.print(table(["problem", "eta", "gap lower", "gap upper"],
                    [(r.problem, f"{r.eta:g}", f"{r.gap_lower:.6e}", f"{r.gap_upper:.6e}") for r in rows]))
    out.print("certified gap against t at eta = 0.01 (the saddle's gap grows with the escape, exp(int m)):")
    out.print(table(["problem", "t", "gap lower", "gap upper"],
                    [(n, f"{t:g}", f"{lo_:.6e}", f"{hi_:.6e}") for n, t, lo_, hi_ in study.gaps_against_t]))
    if args.plot:
        certify.plot_smallstep(study.required, study.gaps, args.plot)
        out.print(f"wrote {args.plot}")
    return 0
