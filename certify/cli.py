"""The ``certify`` command line: a thin layer over the Python API.

Every subcommand lives in one ``_cmd_*`` function that parses nothing itself
and calls the API.  Errors the user can cause print one line on stderr and
exit 2; tables go to stdout, progress bars to stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np

from ._errors import CertifyError, UsageError

EPILOG = """\
PROBLEM is a JSON/TOML problem file or builtin:NAME ({builtins}).
Exit codes: 0 success, 1 a check failed, 2 bad input or usage, 3 internal error,
4 could not certify (the bounds stopped being useful before the requested horizon).
Docs: README.md. Every number printed as *certified* is a rigorous bound
(rounding accounted for); everything else is labelled an estimate.
"""


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (exit 2)."""

    def error(self, message):  # noqa: D401 - argparse API
        raise UsageError(f"{message} (see '{self.prog} --help')")


def _positive_float(name):
    def conv(s):
        try:
            v = float(s)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} must be a number, got {s!r}")
        if not (v > 0) or v == float("inf"):
            raise argparse.ArgumentTypeError(f"{name} must be a finite number > 0, got {s!r}")
        return v

    return conv


def _positive_int(name):
    def conv(s):
        try:
            v = int(s)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} must be an integer, got {s!r}")
        if v < 1:
            raise argparse.ArgumentTypeError(f"{name} must be >= 1, got {v}")
        return v

    return conv


def _ratios(s):
    try:
        rs = [int(x) for x in s.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"--ratios must be comma-separated integers >= 2, got {s!r}") from None
    if not rs or any(r < 2 for r in rs) or len(rs) > 16:
        raise argparse.ArgumentTypeError(f"--ratios must be 1 to 16 integers >= 2, got {s!r}")
    return rs


def _dims(s):
    try:
        dims = [int(x) for x in s.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"--dims must be comma-separated integers, got {s!r}")
    if len(dims) < 2 or min(dims) < 1:
        raise argparse.ArgumentTypeError(f"--dims needs at least two positive widths d0,...,dN, got {s!r}")
    return dims


def build_parser() -> argparse.ArgumentParser:
    from ._builtins import builtin_names

    p = _Parser(
        prog="certify",
        description=(
            "Certified, re-checkable numbers about gradient descent (GD) versus "
            "gradient flow (GF) on deep linear networks (SPEC S1-S6)."
        ),
        epilog=EPILOG.format(builtins=", ".join("builtin:" + n for n in builtin_names())),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    d = sub.add_parser(
        "demo",
        help="the main job on the embedded default problem (builtin:demo)",
        description="The main job on builtin:demo (depth 3, whitened, 40 parameters): verify the "
        "derivative kernels against exact rational arithmetic, certify the GD-vs-GF gap at the paper's "
        "step size, write the certificate and a plot into a folder, and re-verify the certificate with "
        "the independent checker.",
    )
    d.add_argument("--eta", type=_positive_float("--eta"), default=1e-3, help="GD step size (default 1e-3)")
    d.add_argument("--steps", type=_positive_int("--steps"), default=10_000, help="GD steps (default 10000: t = 10)")
    d.add_argument("--every", type=_positive_int("--every"), default=1000, help="checkpoint every S steps (default 1000)")
    d.add_argument("--out-dir", default="certify-demo", help="folder for gap.json and gap.png (default ./certify-demo)")
    d.set_defaults(func=_cmd_demo)

    dv = sub.add_parser(
        "derive",
        help="derive gradient and Hessian with sympy; evaluate them at a problem's initial point",
        description="Print the gradient (S2.1) and Hessian quadratic form (S2.2) derived by sympy from "
        "the loss itself, for a problem or for --dims.  With --eval --json, print the loss, the "
        "gradient (flattened per S1) and the dense Hessian (up to 2000 parameters) at the problem's "
        "initial point, computed in float64.",
        epilog="examples:\n  certify derive --dims 2,3,2 --latex\n  certify derive builtin:demo --eval --json",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    dv.add_argument("problem", nargs="?", metavar="PROBLEM")
    dv.add_argument("--dims", type=_dims, help="widths d0,d1,...,dN (instead of PROBLEM)")
    dv.add_argument("--loss", choices=["whitened", "square"], help="loss (default: the problem's, else whitened)")
    dv.add_argument("--latex", action="store_true", help="LaTeX instead of plain text")
    dv.add_argument("--eval", action="store_true", help="evaluate at the problem's initial point")
    dv.add_argument("--json", action="store_true", help="with --eval: JSON output")
    dv.set_defaults(func=_cmd_derive)

    pr = sub.add_parser(
        "proofs",
        help="run every lemma check in proofs/ and print a table",
        description="Run the symbolic/exact check of every lemma the tool relies on (proofs/). "
        "Exit 0 only if all pass.",
    )
    pr.add_argument("--json", action="store_true", help="JSON output")
    pr.set_defaults(func=_cmd_proofs)

    fl = sub.add_parser(
        "flow",
        help="validated enclosure of the gradient flow (certified balls at checkpoints)",
        description="Enclose the exact gradient-flow solution theta(t) of PROBLEM on [0, T] (SPEC S4.1 + "
        "S4.3): Taylor-polynomial candidates, rigorous defect bounds, S3.1 curvature on a tube and a "
        "Gronwall update.  At every checkpoint the output holds a ball (center, radius) that provably "
        "contains theta(t); radii are certified upper bounds in the 2-norm of the flattened parameters.",
        epilog="examples:\n  certify flow builtin:demo --t-end 3 --out enc.json\n"
        "  certify flow builtin:demo --t-end 1 --backend arb --prec 256 --out enc256.json\n"
        "  certify flow builtin:demo --t-end 3 --out enc.json --plot flow.png",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    fl.add_argument("problem", metavar="PROBLEM")
    fl.add_argument("--t-end", type=_positive_float("--t-end"), required=True, help="horizon T > 0")
    fl.add_argument("--checkpoints", type=_positive_int("--checkpoints"),
                    help="number K of equally spaced checkpoints (default 10; 50 with --plot, for smooth curves)")
    fl.add_argument("--backend", choices=["float64", "arb"], default="float64",
                    help="float64 (fast, radii near 1e-13) or arb (Arb balls, any precision)")
    fl.add_argument("--prec", type=_positive_int("--prec"), help="bits of precision for --backend arb (default 128)")
    fl.add_argument("--order", type=_positive_int("--order"), help="Taylor order (default: by precision)")
    fl.add_argument("--out", required=True, metavar="ENC.json", help="output file (written atomically)")
    fl.add_argument("--plot", metavar="FLOW.png",
                    help="also plot the certified radius (every integrator step) and the loss (estimate) against t")
    fl.set_defaults(func=_cmd_flow)

    gp = sub.add_parser(
        "gap",
        help="certified bounds on the GD-GF gap, with a re-checkable certificate",
        description="Certify, at every checkpoint k, lower and upper bounds on ||theta_k - theta(k eta)||: "
        "theta_k is exact-arithmetic GD with step eta, theta(t) the exact gradient flow, both from the "
        "problem's initial point.  Float GD iterates are centers with certified balls (S4.5), the "
        "one-sided bound comes from S4.2 and the two-sided one from the validated GF enclosure (S4.3, "
        "S4.4).  Writes a certify/gap-v2 certificate that 'certify check' re-verifies independently.  "
        "Where the bounds stop being useful (a radius cannot be bounded, or a vacuous bracket) the run stops "
        "with one line naming the step, the time and the reason, exit code 4; --partial then writes the "
        "certified prefix.",
        epilog="examples:\n  certify gap builtin:demo --eta 1e-3 --steps 10000 --out gap.json --plot gap.png\n"
        "  certify gap builtin:paper --eta 1e-3 --steps 10000 --every 500 --out paper.json   # the paper's setup\n"
        "  certify check gap.json",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    gp.add_argument("problem", metavar="PROBLEM")
    gp.add_argument("--eta", type=_positive_float("--eta"), required=True, help="GD step size > 0")
    gp.add_argument("--steps", type=_positive_int("--steps"), required=True, help="number K of GD steps")
    gp.add_argument("--every", type=_positive_int("--every"),
                    help="checkpoint every S steps (default K/20; K/200 with --plot, for smooth curves)")
    gp.add_argument("--refresh", type=_positive_int("--refresh"), default=100,
                    help="at most this many steps between reference points for the curvature bounds (default 100)")
    gp.add_argument("--partial", action="store_true",
                    help="if the bounds stop being useful before K (exit 4), still write the certificate of the "
                    "certified prefix (up to the last good checkpoint; it says where and why it ends)")
    gp.add_argument("--allow-vacuous", action="store_true",
                    help="keep going when a checkpoint's bracket is vacuous (lower bound 0 although the float "
                    "iterate and the GF center differ); by default that stops the run with exit 4")
    gp.add_argument("--out", required=True, metavar="CERT.json", help="certificate (written atomically)")
    gp.add_argument("--plot", metavar="GAP.png",
                    help="also plot the certified band, the one-sided S4.2 bound, the radii and the loss (estimate) "
                    "against t (PNG, written atomically)")
    gp.set_defaults(func=_cmd_gap)

    ds = sub.add_parser(
        "distance",
        help="certified distance between GD runs with step eta and eta/r (the paper's plot)",
        description="The paper plots the distance between the run with step eta and the runs with eta/r "
        "(r times the steps: the same continuous time) at common times, beside the distance from the "
        "initialisation.  Exact GD with each step lies in certified balls around its float iterates "
        "(S4.5), so both distances are bracketed (S4.7).  Writes certify/distance-v1, which 'certify check' "
        "re-verifies (every run is recomputed).",
        epilog="examples:\n  certify distance builtin:demo --eta 1e-3 --steps 10000 --ratios 2,5 --out dist.json\n"
        "  certify distance builtin:paper --eta 1e-3 --steps 10000 --every 500 --out paper-dist.json\n"
        "  certify check dist.json",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ds.add_argument("problem", metavar="PROBLEM")
    ds.add_argument("--eta", type=_positive_float("--eta"), required=True, help="base step size eta > 0")
    ds.add_argument("--steps", type=_positive_int("--steps"), required=True, help="steps K of the base run")
    ds.add_argument("--ratios", type=_ratios, default=[2, 5, 10, 20], metavar="R1,R2,...",
                    help="integers r >= 2: runs with step eta/r for r*K steps (default 2,5,10,20, the paper's)")
    ds.add_argument("--every", type=_positive_int("--every"), help="checkpoint every S base steps (default K/20)")
    ds.add_argument("--refresh", type=_positive_int("--refresh"), default=100,
                    help="at most this many steps between reference points (default 100)")
    ds.add_argument("--out", required=True, metavar="DIST.json", help="certificate (written atomically)")
    ds.set_defaults(func=_cmd_distance)

    ck = sub.add_parser(
        "check",
        help="independently re-verify a certificate (exit 0 valid, 1 invalid, 2 unreadable)",
        description="Re-verify every claim of a certificate (certify/gap-v2, distance-v1, flow-v1 or converge-v1; `certify schema --list`) with the independent checker "
        "(certify.check): recompute the float iterates, re-derive every per-segment constant with its "
        "own implementation of the named lemma in rigorous arithmetic, replay the recursions with "
        "outward rounding and confirm every checkpoint claim.",
    )
    ck.add_argument("certificate", metavar="CERT.json")
    ck.add_argument("--strict", action="store_true",
                    help="GD rounding bounds and the flow's Taylor-model products in Arb balls, scalars at 256 bits "
                    "(slower; the default uses float64 mid-rad bounds, rigorous too)")
    ck.add_argument("-v", "--verbose", action="store_true",
                    help="list every failing claim, one a line (the first 100 in document order, then a count)")
    ck.set_defaults(func=_cmd_check)

    cv = sub.add_parser(
        "converge",
        help="certify that GD reaches loss <= eps, translated from certified GF convergence (EC21)",
        description="EC21's translation on the instance ([derived], PAPER.md section 4): certify that gradient "
        "flow reaches loss <= eps/2 by some time T (validated enclosure), then that GD with step eta stays "
        "close enough to GF up to K = ceil(T/eta) steps for its loss to be <= eps there (certified gap).  "
        "Without --eta, search (every trial certified) for the largest eta that succeeds.  Writes a "
        "certify/converge-v1 certificate that 'certify check' verifies.",
        epilog="examples:\n  certify converge builtin:demo --eps 1e-3 --out conv.json\n"
        "  certify converge builtin:demo --eps 1e-3 --eta 2e-3 --out conv.json && certify check conv.json",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    cv.add_argument("problem", metavar="PROBLEM")
    cv.add_argument("--eps", type=_positive_float("--eps"), required=True, help="target loss eps > 0")
    cv.add_argument("--eta", type=_positive_float("--eta"), help="GD step size (default: search for the largest)")
    cv.add_argument("--t-max", type=_positive_float("--t-max"), default=200.0,
                    help="give up if GF does not certifiably reach eps/2 by this time (default 200)")
    cv.add_argument("--out", required=True, metavar="CERT.json", help="certificate (written atomically)")
    cv.set_defaults(func=_cmd_converge)

    ss = sub.add_parser(
        "smallstep",
        help="certified evidence that GD may need exponentially small steps (concave quadratic, saddle)",
        description="PAPER.md section 2: on f = -mu theta^2/2 ('concave-quadratic', closed forms in Arb) the "
        "largest eta whose certified gap at time t is <= eps decays like exp(-mu t); on builtin:saddle (a "
        "deep linear net started next to a strict saddle) the certified gaps are larger than on the "
        "favourable builtin:demo at the same eta.",
    )
    ss.add_argument("--eps", type=_positive_float("--eps"), default=1e-3, help="gap tolerance (default 1e-3)")
    ss.add_argument("--mu", type=_positive_float("--mu"), default=1.0, help="negative curvature mu (default 1)")
    ss.add_argument("--theta0", type=_positive_float("--theta0"), default=0.01, help="start (default 0.01)")
    ss.add_argument("--plot", metavar="FILE.png", help="also plot both panels")
    ss.set_defaults(func=_cmd_smallstep)

    cu = sub.add_parser(
        "curvature",
        help="negative curvature m(t) along the certified GF trajectory and its integral",
        description="PAPER.md section 3: along the validated GF enclosure, a certified upper bound of "
        "m(t) = max(0, -lambda_min(Hf(theta(t)))) on every integrator step (S3.1 on the tube) and of "
        "int_0^T m; beside it the dense-eigenvalue estimate and the [derived] bound "
        "(N-1) rho^(N-2) ||grad l||_F (estimates), and int m for other initialisation scales.",
    )
    cu.add_argument("problem", metavar="PROBLEM")
    cu.add_argument("--t-end", type=_positive_float("--t-end"), default=10.0, help="horizon T (default 10)")
    cu.add_argument("--checkpoints", type=_positive_int("--checkpoints"), default=10, help="table rows (default 10)")
    cu.add_argument("--scales", default="1,0.1,0.01",
                    help="factors c for the int m comparison: every layer of the initial point is multiplied by "
                    "c^(1/N), so the end-to-end matrix scales by c and balancedness is kept (default 1,0.1,0.01; "
                    "'' for none)")
    cu.add_argument("--plot", metavar="FILE.png",
                    help="also plot the certified m(t) against the estimates (PNG, written atomically)")
    cu.set_defaults(func=_cmd_curvature)
    from .experiments.commands import add_parsers as _add_experiment_parsers
    _add_experiment_parsers(sub)

    for register in _EXTRA_COMMANDS:
        register(sub)
    return p


# Later modules (flow, gap, conditions, check) register their subcommands here.
_EXTRA_COMMANDS: list = []


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        if not getattr(args, "command", None):
            parser.print_help()
            return 2
        _preflight(args)  # resource limits and output paths, before any work
        with np.errstate(all="ignore"):  # every result is checked for finiteness explicitly
            return int(args.func(args) or 0)
    except CertifyError as e:
        print(f"certify: error: {e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print("certify: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as e:  # never a traceback for the user
        if os.environ.get("CERTIFY_DEBUG"):
            raise
        msg = str(e).splitlines()[0] if str(e) else ""
        print(
            f"certify: internal error: {type(e).__name__}: {msg} "
            "(a bug; rerun with CERTIFY_DEBUG=1 for the traceback)",
            file=sys.stderr,
        )
        return 3
    finally:
        from . import _limits

        _limits.reset_overrides()  # --max-... options hold for this run only, not for later API calls


# ---------------------------------------------------------------------------
# output helpers
# ---------------------------------------------------------------------------


def console(stderr=False):
    from rich.console import Console

    return Console(stderr=stderr, highlight=False, soft_wrap=False, width=200 if not stderr else None)


def table(title, columns, rows):
    """A plain-text table (title printed by the caller on its own line)."""
    from rich.table import Table

    t = Table(box=None, pad_edge=False, header_style="bold")
    for c in columns:
        t.add_column(c, justify="right" if c not in ("lemma", "statement", "status", "name", "what") else "left")
    for r in rows:
        t.add_row(*[str(x) for x in r])
    return t


def progress_bar(total, description):
    """A rich progress bar on stderr (silent when stderr is not a terminal)."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    return Progress(
        TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(), TimeRemainingColumn(), console=console(stderr=True), transient=True,
        disable=not sys.stderr.isatty(),
    )


# ---------------------------------------------------------------------------
# commands
# ---------------------------------------------------------------------------


def _cmd_demo(args) -> int:
    from pathlib import Path

    from ._atomic import write_json_atomic
    from ._plot import plot_gap
    from ._problem import load_problem
    from .api import verify_derivatives

    out = console()
    prob = load_problem("builtin:demo")
    out.print(f"[bold]certify demo[/bold]: {prob.name} (dims {list(prob.dims)}, {prob.n_params} parameters, "
              "whitened loss)")
    v = verify_derivatives(prob)
    out.print(
        f"1. derivatives (S2.1, S2.2): float64 kernel vs exact rational arithmetic at theta_0: "
        f"loss rel. err {v['loss_rel_err']:.1e}, gradient {v['grad_rel_err']:.1e}, "
        f"Hessian {v['hessian_rel_err']:.1e} -> {'verified' if v['ok'] else 'MISMATCH'}"
    )
    folder = Path(args.out_dir)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UsageError(f"cannot create folder {folder}: {e}") from e
    t0 = time.perf_counter()
    cert = _run_gap(prob, args.eta, args.steps, args.every, 100)
    elapsed = time.perf_counter() - t0
    cpath, ppath = folder / "gap.json", folder / "gap.png"
    write_json_atomic(cpath, cert.to_json())
    plot_gap(cert, ppath)
    out.print(f"2. certified gap between exact GD (eta={args.eta:g}) and exact GF, {args.steps} steps, "
              f"{elapsed:.2f}s:")
    print_gap_table(out, cert)
    worst = max((c.gap_upper / c.gap_lower for c in cert.checkpoints if c.gap_lower > 0), default=float("inf"))
    out.print(f"   two-sided bounds (S4.4) bracket the gap to a relative width <= {worst - 1:.1e}; "
              f"the one-sided S4.2 bound lasts {min(cert.s42_end, args.steps)} steps.")
    out.print(f"   wrote {cpath} and {ppath}")
    from .check import check_file

    t1 = time.perf_counter()
    report = check_file(cpath)
    out.print(f"3. independent checker: {'VALID' if report.valid else 'INVALID'} ({report.checked} claims "
              f"confirmed, {time.perf_counter() - t1:.2f}s)" + ("" if report.valid else f": {report.failures[0]}"))
    return 0 if (v["ok"] and report.valid) else 1


def _cmd_derive(args) -> int:
    from . import api

    if args.problem is None and args.dims is None:
        raise UsageError("give a PROBLEM or --dims d0,...,dN (see 'certify derive --help')")
    if args.problem is not None and args.dims is not None:
        raise UsageError("give either a PROBLEM or --dims, not both")
    if args.eval:
        if args.problem is None:
            raise UsageError("--eval needs a PROBLEM (its initial point is where derivatives are evaluated)")
        res = api.evaluate_derivatives(args.problem)
        if args.json:
            sys.stdout.write(json.dumps(res, allow_nan=False) + "\n")
        else:
            out = console()
            out.print(f"loss = {res['loss']!r}")
            out.print(f"||grad|| = {sum(g * g for g in res['grad']) ** 0.5!r}")
            if "hessian" in res:
                import numpy as np

                ev = np.linalg.eigvalsh(np.array(res["hessian"]))
                out.print(f"Hessian eigenvalues (estimate): min {ev[0]!r}, max {ev[-1]!r}")
        return 0
    if args.json:
        raise UsageError("--json goes with --eval")
    if args.problem is not None:
        from ._problem import load_problem

        from . import _limits

        prob = load_problem(args.problem)
        N, loss = prob.depth, args.loss or prob.loss.kind
        _limits.check("derive-depth", N, f"the depth of {args.problem}")
    else:
        N, loss = len(args.dims) - 1, args.loss or "whitened"
    from ._symbolic import derivation_report

    sys.stdout.write(derivation_report(N, loss, latex=args.latex).rstrip("\n") + "\n")
    return 0


def _cmd_flow(args) -> int:
    from . import _limits
    from ._atomic import write_json_atomic
    from ._flow import enclose_flow, flow_to_json
    from ._problem import load_problem

    if args.backend == "float64" and args.prec not in (None, 53):
        raise UsageError("--prec applies to --backend arb (float64 has 53 bits)")
    if args.prec is not None and args.prec < 53:
        raise UsageError(f"--prec must be >= 53, got {args.prec}")
    prob = load_problem(args.problem)
    prec = args.prec or (128 if args.backend == "arb" else None)
    t0 = time.perf_counter()
    with progress_bar(args.t_end, "flow") as bar:
        task = bar.add_task(f"enclosing GF on [0, {args.t_end:g}]", total=args.t_end)
        try:
            enc = enclose_flow(prob, args.t_end, checkpoints=args.checkpoints, backend=args.backend, prec=prec,
                               order=args.order, progress=lambda t: bar.update(task, completed=t), slack=1.0,
                               max_steps=int(_limits.get("flow-steps")))
        except CertifyError as e:
            msg = str(e)
            if msg.startswith("maximum number of steps") and "; increase max_steps" in msg:
                raise _limits.ResourceLimitError(msg.replace(
                    "; increase max_steps", f" (resource limit 'flow-steps'; {_limits.how_to_raise('flow-steps')})")
                ) from e
            raise
    doc = flow_to_json(enc)
    write_json_atomic(args.out, doc)
    out = console()
    out.print(f"certified GF enclosure of {prob.name or args.problem} on [0, {args.t_end:g}], backend "
              f"{args.backend} ({enc.prec} bits), {len(enc.steps)} steps, {time.perf_counter() - t0:.2f}s")
    rows = [(f"{float(c.t):.6g}", f"{c.loss:.6e}", f"{c.radius:.3e}", c.steps) for c in enc.checkpoints]
    out.print(table(None, ["t", "loss (estimate)", "radius (certified)", "steps"], _thin(rows)))
    if args.plot:
        from ._plot import plot_flow

        plot_flow(enc, args.plot)
    out.print(f"wrote {args.out} (schema certify/flow-v1)" + (f" and {args.plot}" if args.plot else ""))
    return 0


def _thin(rows, most: int = 21):
    """At most ``most`` rows, evenly spaced, first and last kept (dense plots, short tables)."""
    if len(rows) <= most:
        return rows
    idx = sorted({round(i * (len(rows) - 1) / (most - 1)) for i in range(most)})
    return [rows[i] for i in idx]


def print_gap_table(out, cert, most=None):
    rows = []
    for c in cert.checkpoints:
        ratio = c.gap_upper / c.gap_lower if c.gap_lower > 0 else float("inf")
        s42 = f"{c.gap_upper_s42:.4e}" if c.gap_upper_s42 != float("inf") else "-"
        rows.append((c.k, f"{float(c.t):.6g}", f"{c.loss:.6e}", f"{c.gap_lower:.6e}", f"{c.gap_upper:.6e}",
                     f"{ratio:.9f}" if ratio != float("inf") else "-", s42))
    shown = _thin(rows, most) if most else rows
    out.print(table(None, ["k", "t", "loss (estimate)", "gap lower", "gap upper", "upper/lower",
                           "S4.2 upper"], shown))
    if len(shown) < len(rows):
        out.print(f"({len(shown)} of {len(rows)} checkpoints shown; the certificate holds them all)")


def _run_gap(problem, eta, steps, every, refresh, partial=False, stop_when_vacuous=False):
    from ._gap import certify_gap

    with progress_bar(1.0, "gap") as bar:
        tf = bar.add_task("GF enclosure", total=1.0)
        tg = bar.add_task("GD + segment claims", total=1.0)

        def prog(what, frac):
            bar.update(tf if what == "flow" else tg, completed=min(frac, 1.0))

        return certify_gap(problem, eta, steps, every=every, refresh=refresh, progress=prog, partial=partial,
                           stop_when_vacuous=stop_when_vacuous)


def _cmd_gap(args) -> int:
    from ._atomic import write_json_atomic
    from ._problem import load_problem

    prob = load_problem(args.problem)
    t0 = time.perf_counter()
    cert = _run_gap(prob, args.eta, args.steps, args.every, args.refresh, partial=args.partial,
                    stop_when_vacuous=not args.allow_vacuous)
    elapsed = time.perf_counter() - t0
    write_json_atomic(args.out, cert.to_json())
    if args.plot:
        from ._plot import plot_gap

        plot_gap(cert, args.plot)
    out = console()
    out.print(f"certified GD-vs-GF gap on {prob.name or args.problem}: eta={args.eta:g}, {cert.steps} steps "
              f"(t up to {args.eta * cert.steps:g}), {elapsed:.2f}s")
    print_gap_table(out, cert, most=21)
    end = "the whole run" if cert.s42_end >= cert.steps else f"steps < {cert.s42_end}"
    out.print(f"all bounds certified (exact GD vs exact GF); S4.2 one-sided bound valid for {end}; "
              f"max gap upper bound {cert.max_gap_upper:.6e}")
    out.print(f"wrote {args.out} (schema certify/gap-v2)" + (f" and {args.plot}" if args.plot else ""))
    if cert.partial:
        print(f"certify: partial: certified up to step {cert.steps} only; {cert.partial['reason']}", file=sys.stderr)
        return 4
    return 0


def _cmd_distance(args) -> int:
    from ._atomic import write_json_atomic
    from ._distance import certify_distance
    from ._problem import load_problem

    prob = load_problem(args.problem)
    t0 = time.perf_counter()
    with progress_bar(1.0, "distance") as bar:
        tasks = [bar.add_task(f"GD eta/{r}" if r > 1 else "GD eta", total=1.0) for r in [1] + args.ratios]

        def prog(i, frac):
            bar.update(tasks[i], completed=min(frac, 1.0))

        cert = certify_distance(prob, args.eta, args.steps, args.ratios, every=args.every, refresh=args.refresh,
                                progress=prog)
    elapsed = time.perf_counter() - t0
    write_json_atomic(args.out, cert.to_json())
    out = console()
    out.print(f"certified distances between exact GD runs on {prob.name or args.problem}: eta={args.eta:g} "
              f"({args.steps} steps) and eta/r for r = {', '.join(map(str, cert.ratios[1:]))}, {elapsed:.2f}s")
    cols = ["k", "t", "from init (eta) lower", "upper"] + [f"dist to eta/{r} lower..upper" for r in cert.ratios[1:]]
    rows = []
    for j, p in enumerate(cert.points[0]):
        row = [p.k, f"{float(p.t):.6g}", f"{p.from_init[0]:.6e}", f"{p.from_init[1]:.6e}"]
        for pts in cert.points[1:]:
            row.append(f"{pts[j].dist[0]:.4e}..{pts[j].dist[1]:.4e}")
        rows.append(row)
    out.print(table(None, cols, rows))
    out.print(f"all distances certified (exact GD iterates); max distance upper bound {cert.max_dist_upper:.6e}")
    out.print(f"wrote {args.out} (schema certify/distance-v1)")
    return 0


def _cmd_converge(args) -> int:
    from ._atomic import write_json_atomic
    from ._converge import gf_time_to_eps, largest_eta, translate
    from ._problem import load_problem

    prob = load_problem(args.problem)
    out = console()
    t0 = time.perf_counter()
    err = console(stderr=True)
    T, ub = gf_time_to_eps(prob, args.eps, args.t_max)
    out.print(f"1. gradient flow: certified loss <= {ub:.6g} <= eps/2 at t = {float(T):g}")
    if args.eta is not None:
        res, why = translate(prob, args.eps, args.eta, T)
        if res is None:
            out.print(f"2. GD with eta = {args.eta:g}: translation NOT certified ({why})")
            return 1
    else:
        def prog(e, ok):
            if sys.stderr.isatty():
                err.print(f"   trial eta = {e:.4g}: {'certified' if ok else 'not certified'}")

        res = largest_eta(prob, args.eps, progress=prog)
        rows = [(f"{e:.6g}", "yes" if ok else "no", why) for e, ok, why in res.trials]
        out.print("2. search for the largest eta (each trial is a full certification):")
        out.print(table(None, ["eta", "certified", "what"], rows))
        if res.acgh19_eta:
            out.print(f"   largest certified eta {res.eta:.4g} vs \\[ACGH19] Theorem 1's eta_max {res.acgh19_eta:.4g}: "
                      f"{res.eta / res.acgh19_eta:.3g} times larger")
        else:
            out.print(f"   \\[ACGH19]: {res.acgh19_reason}")
    write_json_atomic(args.out, res.to_json())
    out.print(f"3. exact GD with eta = {res.eta:.6g} has loss <= {res.gd_loss_upper:.6g} <= eps = {args.eps:g} "
              f"at step K = {res.K} (GF loss <= {res.gf_loss_upper:.6g} at K eta; ball radius "
              f"{res.ball_radius:.3g}); source \\[derived] EC21 translation; {time.perf_counter() - t0:.1f}s")
    out.print(f"wrote {args.out} (schema certify/converge-v1); verify with: certify check {args.out}")
    return 0


def _cmd_smallstep(args) -> int:
    from ._smallstep import SOURCE, gap_table, required_eta

    out = console()
    req = []
    for t in (1.0, 2.0, 4.0, 8.0, 12.0, 16.0):
        eta, k, est = required_eta(args.mu, args.theta0, t, args.eps)
        req.append((t, eta, k, est))
    out.print(f"concave quadratic f = -{args.mu:g} theta^2/2 from theta0 = {args.theta0:g}: largest eta = t/k with "
              f"certified gap <= {args.eps:g} at time t (source \\{SOURCE})")
    out.print(table(None, ["t", "largest eta", "k", "estimate", "eta/estimate"],
                    [(f"{t:g}", f"{e:.6e}", k, f"{s:.6e}", f"{e / s:.6f}") for t, e, k, s in req]))
    rows = gap_table(mu=args.mu, theta0=args.theta0)
    out.print(f"certified gap at t = {rows[0].t:g} against eta (lower..upper):")
    out.print(table(None, ["problem", "eta", "gap lower", "gap upper"],
                    [(r.problem, f"{r.eta:g}", f"{r.gap_lower:.6e}", f"{r.gap_upper:.6e}") for r in rows]))
    from ._smallstep import gap_against_t

    trows = gap_against_t()
    out.print("certified gap against t at eta = 0.01 (the saddle's gap grows with the escape, exp(int m)):")
    out.print(table(None, ["problem", "t", "gap lower", "gap upper"],
                    [(n, f"{t:g}", f"{lo_:.6e}", f"{hi_:.6e}") for n, t, lo_, hi_ in trows]))
    if args.plot:
        from ._plot import plot_smallstep

        plot_smallstep(req, rows, args.plot)
        out.print(f"wrote {args.plot}")
    return 0


def _cmd_curvature(args) -> int:
    from ._curvature import curvature_profile
    from ._problem import load_problem, problem_from_dict

    prob = load_problem(args.problem)
    try:
        scales = [float(x) for x in args.scales.split(",") if x.strip()]
    except ValueError:
        raise UsageError(f"--scales must be a comma-separated list of numbers, got {args.scales!r}")
    if any(not (x > 0) or x == float("inf") for x in scales):
        raise UsageError("--scales must be positive numbers")
    out = console()
    prof = curvature_profile(prob, args.t_end, args.checkpoints)
    out.print(f"negative curvature along the gradient flow of {prob.name or args.problem} (T = {args.t_end:g}):")
    rows = [(f"{r['t']:g}", f"{r['loss_estimate']:.4e}", f"{r['m_cert']:.4e}", f"{r['m_est']:.4e}",
             f"{r['bound_est']:.4e}", f"{r['bound_balanced_est']:.4e}") for r in prof["rows"]]
    out.print(table(None, ["t", "loss (estimate)", "m upper (certified)", "m (estimate)",
                           "derived bound (estimate)", "balanced form (estimate)"], rows))
    out.print(f"int_0^T m <= {prof['int_m_upper']:.6g} (certified; GF enclosure radius at T {prof['radius']:.2e}); "
              f"estimates (trapezoid over the rows): int m ~ {prof['int_m_est']:.4g}, derived bound "
              f"~ {prof['int_bound_est']:.4g}, its balanced-trajectory form ~ {prof['int_bound_balanced_est']:.4g}")
    if scales:
        spec = prob.to_json()
        srows = []
        for sc in scales:
            f = sc ** (1.0 / prob.depth)
            spec["init"] = {"weights": [(np.asarray(w) * f).tolist() for w in prob.weights]}
            try:
                p2 = problem_from_dict(spec, name=f"scale {sc:g}")
                pr = curvature_profile(p2, args.t_end, 1)
                srows.append((f"{sc:g}", f"{pr['int_m_upper']:.6g}", f"{pr['rows'][-1]['loss_estimate']:.3e}"))
            except CertifyError as e:
                srows.append((f"{sc:g}", "not certified", str(e)[:60]))
        out.print("int_0^T m against the initialisation scale (initial end-to-end matrix times c) "
                  "\\[EC21-informal: near-zero initialisation gives almost non-negative curvature]:")
        out.print(table(None, ["c", "int m upper (certified)", "loss at T (estimate)"], srows))
    if args.plot:
        from ._plot import plot_curvature

        plot_curvature(prof, args.plot)
        out.print(f"wrote {args.plot}")
    return 0


def _cmd_check(args) -> int:
    from .check import check_file, format_report

    report = check_file(args.certificate, strict=args.strict)
    sys.stdout.write(format_report(report, verbose=args.verbose).rstrip("\n") + "\n")
    return 0 if report.valid else 1


def _cmd_proofs(args) -> int:
    from . import proofs

    t0 = time.perf_counter()
    results = proofs.run_all()
    ok = all(r.status == "pass" for r in results)
    if args.json:
        sys.stdout.write(json.dumps([r.__dict__ for r in results], indent=1) + "\n")
    else:
        out = console()
        rows = [(r.lemma, r.title, r.status, f"{r.seconds:.2f}s", r.detail[:90]) for r in results]
        out.print("proofs/: each lemma's statement with its exact or symbolic check")
        out.print(table(None, ["lemma", "statement", "status", "time", "what"], rows))
        out.print(f"{sum(r.status == 'pass' for r in results)}/{len(results)} lemmas pass "
                  f"({time.perf_counter() - t0:.1f}s)")
    return 0 if ok else 1


# ---------------------------------------------------------------------------
# conditions (certify._conditions): registered through _EXTRA_COMMANDS
# ---------------------------------------------------------------------------


def _register_conditions(sub) -> None:
    c = sub.add_parser(
        "conditions",
        help="certified verdicts (holds/fails/undetermined) on the paper's hypotheses",
        description="Check the hypotheses of the theorems in PAPER.md for PROBLEM with rigorous arithmetic: "
        "balancedness, deficiency margin and ACGH19 Theorem 1's conditions, smoothness and curvature along "
        "the certified gradient flow, the edge of stability along GD, the explicit GD-GF gap theorem "
        "(PAPER.md section 1) and the scalar-output bad set.  Each line has a source tag ([ACGH19], "
        "[derived], [EC21-informal]), a verdict that is 'holds' only when proved, and its certified margin.",
        epilog="examples:\n  certify conditions builtin:demo\n"
        "  certify conditions builtin:demo --eta 1e-4 --t-end 1 --json\n"
        "  certify conditions builtin:demo --eta 1e-3 --plot margins.png",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    c.add_argument("problem", metavar="PROBLEM")
    c.add_argument("--eta", type=_positive_float("--eta"), help="GD step size > 0 (step-size conditions, GD)")
    c.add_argument("--eps", type=_positive_float("--eps"),
                   help="loss level for ACGH19's iteration count and GD-GF distance radius for the EC21 "
                   "theorem (default: the theorem picks the best radius on a grid)")
    c.add_argument("--t-end", type=_positive_float("--t-end"),
                   help="horizon T of the trajectory quantities (default 1; with --eta: floor(T/eta) steps)")
    c.add_argument("--json", action="store_true", help="JSON output (schema certify/conditions-v1)")
    c.add_argument("--plot", metavar="FILE.png",
                   help="also plot every hypothesis's certified margin interval, coloured by verdict (PNG)")
    c.set_defaults(func=_cmd_conditions)


_EXTRA_COMMANDS.append(_register_conditions)


def _register_schema(sub) -> None:
    sc = sub.add_parser(
        "schema",
        help="print the JSON Schema of a certificate kind (gap, distance, flow, converge, conditions)",
        description="Print the JSON Schema (Draft 2020-12) of a certificate or report kind, as shipped in "
        "certify/schemas/ (every object closed: additionalProperties false); the contracts, what each field "
        "claims and how certify check confirms it, are the .md files beside them.",
        epilog="examples:\n  certify schema gap > gap-v2.json\n  certify schema --list",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sc.add_argument("kind", nargs="?", metavar="KIND",
                    help="gap, distance, flow, converge, conditions (the current version) or with the version "
                    "(gap-v2, distance-v1, flow-v1, converge-v1, conditions-v1)")
    sc.add_argument("--list", action="store_true", help="list the kinds and their titles")
    sc.set_defaults(func=_cmd_schema)


def _cmd_schema(args) -> int:
    from .check import schema, schema_kinds, schema_text

    if args.list == (args.kind is not None):
        raise UsageError("give a KIND or --list (see 'certify schema --help')")
    if args.list:
        for kind in schema_kinds():
            sys.stdout.write(f"{kind:<15}{schema(kind)['title']}\n")
        return 0
    text = schema_text(args.kind)
    sys.stdout.write(text if text.endswith("\n") else text + "\n")
    return 0


_EXTRA_COMMANDS.append(_register_schema)


# ---------------------------------------------------------------------------
# resource limits (certify._limits; README "Resource limits")
# ---------------------------------------------------------------------------

# which --max-... options each command has
_LIMIT_OPTIONS = {
    "demo": ["steps", "horizon"],
    "derive": ["derive-depth"],
    "flow": ["checkpoints", "horizon", "order", "prec", "flow-steps"],
    "gap": ["steps", "horizon", "checkpoints"],
    "converge": ["steps", "horizon"],
    "curvature": ["horizon", "rows"],
    "conditions": ["horizon", "steps"],
    "check": ["steps", "flow-steps", "order", "checkpoints"],
    "distance": ["steps", "horizon", "checkpoints"],
}


def _register_limit_options(sub) -> None:
    from . import _limits

    for cmd, names in _LIMIT_OPTIONS.items():
        parser = sub.choices.get(cmd)
        if parser is None:
            continue
        group = parser.add_argument_group("resource limits (README 'Resource limits')")
        for name in names:
            lim = _limits.LIMITS[name]
            group.add_argument(lim.option, dest="max_" + name.replace("-", "_"), type=_positive_float(lim.option),
                               metavar="N", help=f"refuse more {lim.what} than N (default {lim.default:g}; "
                               f"env {lim.env})")


_EXTRA_COMMANDS.append(_register_limit_options)


def _preflight(args) -> None:
    """Refuse, before any work, inputs beyond a resource limit (one line naming
    the limit and how to raise it) and output paths that cannot be written."""
    import math

    from . import _limits as L
    from ._atomic import check_writable

    L.reset_overrides()  # each run decides its limits from its own options
    for name in L.LIMITS:
        v = getattr(args, "max_" + name.replace("-", "_"), None)
        if v is not None:
            L.set_override(name, v)
    cmd = args.command

    def outputs(*paths):
        for p in paths:
            if p:
                check_writable(p)

    def shortest(t, what):  # the flow enclosure cannot end a step sooner than 2^-60 after it starts
        if t < 2.0**-60:
            raise UsageError(f"{what} = {t:.3g} is below the flow enclosure's time resolution 2^-60 = "
                             f"{2.0**-60:.3g}; use {what} >= 2^-60")

    if cmd == "flow":
        if args.checkpoints is None:  # dense checkpoints for a smooth plot
            args.checkpoints = 50 if args.plot else 10
        L.check("checkpoints", args.checkpoints, "--checkpoints")
        L.check("horizon", args.t_end, "--t-end")
        shortest(args.t_end / args.checkpoints, "--t-end / --checkpoints")
        prec = (args.prec or 128) if args.backend == "arb" else 53  # (--prec with float64: refused by the command)
        if args.backend == "arb":
            L.check("prec", prec, "--prec")
        order = args.order or (16 if args.backend == "float64" else max(16, int(0.55 * prec * math.log10(2))))
        L.check("order", order, "--order" if args.order else f"the default Taylor order at {prec} bits")
        L.check_min_order(order, prec)
        outputs(args.out, args.plot)
    elif cmd in ("gap", "demo"):
        L.check("steps", args.steps, "--steps")
        L.check("horizon", args.eta * args.steps, "the horizon --eta x --steps")
        if cmd == "gap":
            if args.every is None:  # dense checkpoints for a smooth plot
                args.every = max(1, args.steps // (200 if args.plot else 20))
            L.check("checkpoints", args.steps // args.every + 1, "checkpoints (--steps / --every + 1)")
            outputs(args.out, args.plot)
    elif cmd == "converge":
        L.check("horizon", args.t_max, "--t-max")
        if args.eta is not None:  # K >= 1 steps: the gap runs the flow to K eta >= eta
            L.check("horizon", args.eta, "--eta (the gap's horizon K eta is at least eta)")
        outputs(args.out)
    elif cmd == "conditions":
        T = args.t_end if args.t_end is not None else 1.0
        L.check("horizon", T, "--t-end")
        shortest(T, "--t-end")
        if args.eta is not None:
            L.check("steps", math.floor(T / args.eta), "GD steps floor(T / --eta)")
            # at least one GD step: the trajectory runs to eta when eta > T
            L.check("horizon", max(T, args.eta), "the horizon max(--t-end, --eta)")
        outputs(args.plot)
    elif cmd == "curvature":
        L.check("horizon", args.t_end, "--t-end")
        L.check("rows", args.checkpoints, "--checkpoints")
        shortest(args.t_end / args.checkpoints, "--t-end / --checkpoints")
        outputs(args.plot)
    elif cmd == "distance":
        ratios = list(args.ratios) if args.ratios else []
        L.check("steps", args.steps * max([1] + ratios), "GD steps of the longest run --steps x max(--ratios)")
        L.check("horizon", args.eta * args.steps, "the horizon --eta x --steps")
        every = args.every or max(1, args.steps // 20)
        L.check("checkpoints", args.steps // every + 1, "checkpoints (--steps / --every + 1)")
        outputs(args.out)
    elif cmd == "derive":
        if args.dims is not None and not args.eval:
            L.check("derive-depth", len(args.dims) - 1, "the depth of --dims")
    elif cmd == "smallstep":
        # the closed forms and the estimate 2 eps exp(-mu t) / (theta0 mu^2 t) stay in binary64
        for opt, v in (("--mu", args.mu), ("--theta0", args.theta0), ("--eps", args.eps)):
            if not 1e-100 <= v <= 1e100:
                raise UsageError(f"{opt} = {v:g} is outside [1e-100, 1e100], where the closed forms of smallstep "
                                 "stay within binary64")
        outputs(args.plot)


def _cmd_conditions(args) -> int:
    from rich.markup import escape

    from .conditions import check_conditions, format_hypotheses
    from ._problem import load_problem

    prob = load_problem(args.problem)
    rep = check_conditions(prob, eta=args.eta, eps=args.eps, t_end=args.t_end)
    if args.plot:
        from ._plot import plot_conditions

        plot_conditions(rep, args.plot)
    if args.json:
        sys.stdout.write(json.dumps(rep.to_json(), allow_nan=False) + "\n")
        return 0
    out = console()
    given = ", ".join(f"{k}={v:g}" for k, v in (("eta", args.eta), ("eps", args.eps), ("T", args.t_end))
                      if v is not None) or "no eta/eps/T given"
    out.print(f"hypotheses of {prob.name or args.problem} ({given}; horizon {rep.horizon:g}), "
              f"{rep.seconds:.2f}s")
    rows = [[escape(str(x)) for x in r] for r in format_hypotheses(rep)]
    out.print(table(None, ["name", "source", "status", "margin", "what"], rows))
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


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
