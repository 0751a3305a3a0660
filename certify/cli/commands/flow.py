"""``certify flow``: the validated enclosure of the gradient flow."""

from __future__ import annotations

import time

import certify

from ..._claims import ARB_PREC
from ... import _limits
from ..._errors import CertifyError, UsageError
from ..output import console, progress_bar, table, thin


def _enclose(prob, args, prec):
    """:func:`certify.enclose_flow` under the ``flow-steps`` limit, with a progress bar."""
    with progress_bar() as bar:
        try:
            return certify.enclose_flow(prob, args.t_end, checkpoints=args.checkpoints, backend=args.backend,
                                        prec=prec, order=args.order, progress=bar, slack=1.0,
                                        max_steps=int(_limits.get("flow-steps")))
        except CertifyError as e:
            msg = str(e)
            if msg.startswith("maximum number of steps") and "; increase max_steps" in msg:
                raise _limits.ResourceLimitError(msg.replace(
                    "; increase max_steps", f" (resource limit 'flow-steps'; {_limits.how_to_raise('flow-steps')})")
                ) from e
            raise


def cmd_flow(args) -> int:
    if args.backend == "float64" and args.prec not in (None, 53):
        raise UsageError("--prec applies to --backend arb (float64 has 53 bits)")
    if args.prec is not None and args.prec < 53:
        raise UsageError(f"--prec must be >= 53, got {args.prec}")
    prob = certify.load_problem(args.problem)
    prec = args.prec or (ARB_PREC if args.backend == "arb" else None)
    t0 = time.perf_counter()
    enc = _enclose(prob, args, prec)
    doc = certify.flow_to_json(enc)
    certify.write_json_atomic(args.out, doc)
    out = console()
    out.print(f"certified GF enclosure of {prob.name or args.problem} on [0, {args.t_end:g}], backend "
              f"{args.backend} ({enc.prec} bits), {len(enc.steps)} steps, {time.perf_counter() - t0:.2f}s")
    rows = [(f"{float(c.t):.6g}", f"{c.loss:.6e}", f"{c.radius:.3e}", c.steps) for c in enc.checkpoints]
    out.print(table(["t", "loss (estimate)", "radius (certified)", "steps"], thin(rows)))
    if args.plot:
        certify.plot_flow(enc, args.plot)
    out.print(f"wrote {args.out} (schema certify/flow-v1)" + (f" and {args.plot}" if args.plot else ""))
    return 0
