"""``certify derive`` (sympy's gradient and Hessian) and ``certify proofs`` (the lemma checks)."""

from __future__ import annotations

import json
import sys
import time

import numpy as np

import certify

from ... import _limits
from ..._errors import UsageError
from ..output import console, table


def _eval(args) -> int:
    if args.problem is None:
        raise UsageError("--eval needs a PROBLEM (its initial point is where derivatives are evaluated)")
    res = certify.evaluate_derivatives(args.problem)
    if args.json:
        sys.stdout.write(json.dumps(res, allow_nan=False) + "\n")
    else:
        out = console()
        out.print(f"loss = {res['loss']!r}")
        out.print(f"||grad|| = {sum(g * g for g in res['grad']) ** 0.5!r}")
        if "hessian" in res:
            ev = np.linalg.eigvalsh(np.array(res["hessian"]))
            out.print(f"Hessian eigenvalues (estimate): min {ev[0]!r}, max {ev[-1]!r}")
    return 0


def cmd_derive(args) -> int:
    if args.problem is None and args.dims is None:
        raise UsageError("give a PROBLEM or --dims d0,...,dN (see 'certify derive --help')")
    if args.problem is not None and args.dims is not None:
        raise UsageError("give either a PROBLEM or --dims, not both")
    if args.eval:
        return _eval(args)
    if args.json:
        raise UsageError("--json goes with --eval")
    if args.problem is not None:
        prob = certify.load_problem(args.problem)
        N, loss = prob.depth, args.loss or prob.loss.kind
        _limits.check("derive-depth", N, f"the depth of {args.problem}")
    else:
        N, loss = len(args.dims) - 1, args.loss or "whitened"
    sys.stdout.write(certify.derivation_report(N, loss, latex=args.latex).rstrip("\n") + "\n")
    return 0


def cmd_proofs(args) -> int:
    from certify import proofs

    t0 = time.perf_counter()
    results = proofs.run_all()
    ok = all(r.status == "pass" for r in results)
    if args.json:
        sys.stdout.write(json.dumps([r.__dict__ for r in results], indent=1) + "\n")
    else:
        out = console()
        rows = [(r.lemma, r.title, r.status, f"{r.seconds:.2f}s", r.detail[:90]) for r in results]
        out.print("proofs/: each lemma's statement with its exact or symbolic check")
        out.print(table(["lemma", "statement", "status", "time", "what"], rows))
        out.print(f"{sum(r.status == 'pass' for r in results)}/{len(results)} lemmas pass "
                  f"({time.perf_counter() - t0:.1f}s)")
    return 0 if ok else 1
