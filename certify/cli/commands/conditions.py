"""``certify conditions``: certified verdicts on the paper's hypotheses."""

from __future__ import annotations

import json
import sys

import certify

from ..output import console, table


def cmd_conditions(args) -> int:
    from rich.markup import escape

    prob = certify.load_problem(args.problem)
    rep = certify.check_conditions(prob, eta=args.eta, eps=args.eps, t_end=args.t_end)
    if args.plot:
        certify.plot_conditions(rep, args.plot)
    if args.json:
        sys.stdout.write(json.dumps(rep.to_json(), allow_nan=False) + "\n")
        return 0
    out = console()
    given = ", ".join(f"{k}={v:g}" for k, v in (("eta", args.eta), ("eps", args.eps), ("T", args.t_end))
                      if v is not None) or "no eta/eps/T given"
    out.print(f"hypotheses of {prob.name or args.problem} ({given}; horizon {rep.horizon:g}), "
              f"{rep.seconds:.2f}s")
    rows = [[escape(str(x)) for x in r] for r in certify.format_hypotheses(rep)]
    out.print(table(["name", "source", "status", "margin", "what"], rows))
    for h in rep.hypotheses:
        if h.warning:
            out.print(f"[bold red]WARNING[/bold red] {h.name}: {escape(h.warning)}")
    for h in rep.hypotheses:
        if h.reason:
            out.print(f"  {h.name}: {escape(h.reason)}")
    out.print("'holds' only with a certified margin > 0, 'fails' only with a certified margin < 0; "
              "[EC21-informal] quantities are reported, never verdicts. --json for every number.")
    if args.plot:
        out.print(f"wrote {args.plot}")
    return 0
