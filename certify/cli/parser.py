"""The argument parser: one small function per command's arguments.

Every converter refuses a bad value with one line naming the option and what
was expected (exit 2).  ``experiment`` and ``sweep`` are added by
:func:`certify.experiments.commands.add_parsers`; the ``--max-...`` options
of the resource limits by :func:`.preflight.add_limit_options`.
"""

from __future__ import annotations

import argparse

import certify
from certify.experiments.commands import add_parsers as add_experiment_parsers

from .._argtypes import positive_float, positive_int, ratios
from .._errors import UsageError
from .commands import check, conditions, converge, curvature, derive, flow, gap, smallstep
from .preflight import add_limit_options

EPILOG = """\
PROBLEM is a JSON/TOML problem file or builtin:NAME ({builtins}).
Exit codes: 0 success, 1 a check failed, 2 bad input or usage, 3 internal error,
4 could not certify (the bounds stopped being useful before the requested horizon).
Docs: README.md. Every number printed as *certified* is a rigorous bound
(rounding accounted for); everything else is labelled an estimate.
"""

RAW = argparse.RawDescriptionHelpFormatter


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (exit 2)."""

    def error(self, message):  # noqa: D401 - argparse API
        raise UsageError(f"{message} (see '{self.prog} --help')")


def dims(s):
    try:
        ds = [int(x) for x in s.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"--dims must be comma-separated integers, got {s!r}")
    if len(ds) < 2 or min(ds) < 1:
        raise argparse.ArgumentTypeError(f"--dims needs at least two positive widths d0,...,dN, got {s!r}")
    return ds


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="certify",
        description=(
            "Certified, re-checkable numbers about gradient descent (GD) versus "
            "gradient flow (GF) on deep linear networks (SPEC S1-S6)."
        ),
        epilog=EPILOG.format(builtins=", ".join("builtin:" + n for n in certify.builtin_names())),
        formatter_class=RAW,
    )
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for add in (_add_demo, _add_derive, _add_proofs, _add_flow, _add_gap, _add_distance, _add_check,
                _add_converge, _add_smallstep, _add_curvature):
        add(sub)
    add_experiment_parsers(sub)
    _add_conditions(sub)
    _add_schema(sub)
    add_limit_options(sub, positive_float)
    return p


def _add_demo(sub) -> None:
    d = sub.add_parser(
        "demo",
        help="the main job on the embedded default problem (builtin:demo)",
        description="The main job on builtin:demo (depth 3, whitened, 40 parameters): verify the "
        "derivative kernels against exact rational arithmetic, certify the GD-vs-GF gap at the paper's "
        "step size, write the certificate and a plot into a folder, and re-verify the certificate with "
        "the independent checker.",
    )
    d.add_argument("--eta", type=positive_float("--eta"), default=1e-3, help="GD step size (default 1e-3)")
    d.add_argument("--steps", type=positive_int("--steps"), default=10_000, help="GD steps (default 10000: t = 10)")
    d.add_argument("--every", type=positive_int("--every"), default=1000, help="checkpoint every S steps (default 1000)")
    d.add_argument("--out-dir", default="certify-demo", help="folder for gap.json and gap.png (default ./certify-demo)")
    d.set_defaults(func=gap.cmd_demo)


def _add_derive(sub) -> None:
    dv = sub.add_parser(
        "derive",
        help="derive gradient and Hessian with sympy; evaluate them at a problem's initial point",
        description="Print the gradient (S2.1) and Hessian quadratic form (S2.2) derived by sympy from "
        "the loss itself, for a problem or for --dims.  With --eval --json, print the loss, the "
        "gradient (flattened per S1) and the dense Hessian (up to 2000 parameters) at the problem's "
        "initial point, computed in float64.",
        epilog="examples:\n  certify derive --dims 2,3,2 --latex\n  certify derive builtin:demo --eval --json",
        formatter_class=RAW,
    )
    dv.add_argument("problem", nargs="?", metavar="PROBLEM")
    dv.add_argument("--dims", type=dims, help="widths d0,d1,...,dN (instead of PROBLEM)")
    dv.add_argument("--loss", choices=["whitened", "square"], help="loss (default: the problem's, else whitened)")
    dv.add_argument("--latex", action="store_true", help="LaTeX instead of plain text")
    dv.add_argument("--eval", action="store_true", help="evaluate at the problem's initial point")
    dv.add_argument("--json", action="store_true", help="with --eval: JSON output")
    dv.set_defaults(func=derive.cmd_derive)


def _add_proofs(sub) -> None:
    pr = sub.add_parser(
        "proofs",
        help="run every lemma check in proofs/ and print a table",
        description="Run the symbolic/exact check of every lemma the tool relies on (proofs/). "
        "Exit 0 only if all pass.",
    )
    pr.add_argument("--json", action="store_true", help="JSON output")
    pr.set_defaults(func=derive.cmd_proofs)


def _add_flow(sub) -> None:
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
        formatter_class=RAW,
    )
    fl.add_argument("problem", metavar="PROBLEM")
    fl.add_argument("--t-end", type=positive_float("--t-end"), required=True, help="horizon T > 0")
    fl.add_argument("--checkpoints", type=positive_int("--checkpoints"),
                    help="number K of equally spaced checkpoints (default 10; 50 with --plot, for smooth curves)")
    fl.add_argument("--backend", choices=["float64", "arb"], default="float64",
                    help="float64 (fast, radii near 1e-13) or arb (Arb balls, any precision)")
    fl.add_argument("--prec", type=positive_int("--prec"), help="bits of precision for --backend arb (default 128)")
    fl.add_argument("--order", type=positive_int("--order"), help="Taylor order (default: by precision)")
    fl.add_argument("--out", required=True, metavar="ENC.json", help="output file (written atomically)")
    fl.add_argument("--plot", metavar="FLOW.png",
                    help="also plot the certified radius (every integrator step) and the loss (estimate) against t")
    fl.set_defaults(func=flow.cmd_flow)


def _add_gap(sub) -> None:
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
        formatter_class=RAW,
    )
    gp.add_argument("problem", metavar="PROBLEM")
    gp.add_argument("--eta", type=positive_float("--eta"), required=True, help="GD step size > 0")
    gp.add_argument("--steps", type=positive_int("--steps"), required=True, help="number K of GD steps")
    gp.add_argument("--every", type=positive_int("--every"),
                    help="checkpoint every S steps (default K/20; K/200 with --plot, for smooth curves)")
    gp.add_argument("--refresh", type=positive_int("--refresh"), default=100,
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
    gp.set_defaults(func=gap.cmd_gap)


def _add_distance(sub) -> None:
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
        formatter_class=RAW,
    )
    ds.add_argument("problem", metavar="PROBLEM")
    ds.add_argument("--eta", type=positive_float("--eta"), required=True, help="base step size eta > 0")
    ds.add_argument("--steps", type=positive_int("--steps"), required=True, help="steps K of the base run")
    ds.add_argument("--ratios", type=ratios, default=[2, 5, 10, 20], metavar="R1,R2,...",
                    help="integers r >= 2: runs with step eta/r for r*K steps (default 2,5,10,20, the paper's)")
    ds.add_argument("--every", type=positive_int("--every"), help="checkpoint every S base steps (default K/20)")
    ds.add_argument("--refresh", type=positive_int("--refresh"), default=100,
                    help="at most this many steps between reference points (default 100)")
    ds.add_argument("--out", required=True, metavar="DIST.json", help="certificate (written atomically)")
    ds.set_defaults(func=gap.cmd_distance)


def _add_check(sub) -> None:
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
    ck.set_defaults(func=check.cmd_check)


def _add_converge(sub) -> None:
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
        formatter_class=RAW,
    )
    cv.add_argument("problem", metavar="PROBLEM")
    cv.add_argument("--eps", type=positive_float("--eps"), required=True, help="target loss eps > 0")
    cv.add_argument("--eta", type=positive_float("--eta"), help="GD step size (default: search for the largest)")
    cv.add_argument("--t-max", type=positive_float("--t-max"), default=200.0,
                    help="give up if GF does not certifiably reach eps/2 by this time (default 200)")
    cv.add_argument("--out", required=True, metavar="CERT.json", help="certificate (written atomically)")
    cv.set_defaults(func=converge.cmd_converge)


def _add_smallstep(sub) -> None:
    ss = sub.add_parser(
        "smallstep",
        help="certified evidence that GD may need exponentially small steps (concave quadratic, saddle)",
        description="PAPER.md section 2: on f = -mu theta^2/2 ('concave-quadratic', closed forms in Arb) the "
        "largest eta whose certified gap at time t is <= eps decays like exp(-mu t); on builtin:saddle (a "
        "deep linear net started next to a strict saddle) the certified gaps are larger than on the "
        "favourable builtin:demo at the same eta.",
    )
    ss.add_argument("--eps", type=positive_float("--eps"), default=1e-3, help="gap tolerance (default 1e-3)")
    ss.add_argument("--mu", type=positive_float("--mu"), default=1.0, help="negative curvature mu (default 1)")
    ss.add_argument("--theta0", type=positive_float("--theta0"), default=0.01, help="start (default 0.01)")
    ss.add_argument("--plot", metavar="FILE.png", help="also plot both panels")
    ss.set_defaults(func=smallstep.cmd_smallstep)


def _add_curvature(sub) -> None:
    cu = sub.add_parser(
        "curvature",
        help="negative curvature m(t) along the certified GF trajectory and its integral",
        description="PAPER.md section 3: along the validated GF enclosure, a certified upper bound of "
        "m(t) = max(0, -lambda_min(Hf(theta(t)))) on every integrator step (S3.1 on the tube) and of "
        "int_0^T m; beside it the dense-eigenvalue estimate and the [derived] bound "
        "(N-1) rho^(N-2) ||grad l||_F (estimates), and int m for other initialisation scales.",
    )
    cu.add_argument("problem", metavar="PROBLEM")
    cu.add_argument("--t-end", type=positive_float("--t-end"), default=10.0, help="horizon T (default 10)")
    cu.add_argument("--checkpoints", type=positive_int("--checkpoints"), default=10, help="table rows (default 10)")
    cu.add_argument("--scales", default="1,0.1,0.01",
                    help="factors c for the int m comparison: every layer of the initial point is multiplied by "
                    "c^(1/N), so the end-to-end matrix scales by c and balancedness is kept (default 1,0.1,0.01; "
                    "'' for none)")
    cu.add_argument("--plot", metavar="FILE.png",
                    help="also plot the certified m(t) against the estimates (PNG, written atomically)")
    cu.set_defaults(func=curvature.cmd_curvature)


def _add_conditions(sub) -> None:
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
        formatter_class=RAW,
    )
    c.add_argument("problem", metavar="PROBLEM")
    c.add_argument("--eta", type=positive_float("--eta"), help="GD step size > 0 (step-size conditions, GD)")
    c.add_argument("--eps", type=positive_float("--eps"),
                   help="loss level for ACGH19's iteration count and GD-GF distance radius for the EC21 "
                   "theorem (default: the theorem picks the best radius on a grid)")
    c.add_argument("--t-end", type=positive_float("--t-end"),
                   help="horizon T of the trajectory quantities (default 1; with --eta: floor(T/eta) steps)")
    c.add_argument("--json", action="store_true", help="JSON output (schema certify/conditions-v1)")
    c.add_argument("--plot", metavar="FILE.png",
                   help="also plot every hypothesis's certified margin interval, coloured by verdict (PNG)")
    c.set_defaults(func=conditions.cmd_conditions)


def _add_schema(sub) -> None:
    sc = sub.add_parser(
        "schema",
        help="print the JSON Schema of a certificate kind (gap, distance, flow, converge, conditions)",
        description="Print the JSON Schema (Draft 2020-12) of a certificate or report kind, as shipped in "
        "certify/schemas/ (every object closed: additionalProperties false); the contracts, what each field "
        "claims and how certify check confirms it, are the .md files beside them.",
        epilog="examples:\n  certify schema gap > gap-v2.json\n  certify schema --list",
        formatter_class=RAW,
    )
    sc.add_argument("kind", nargs="?", metavar="KIND",
                    help="gap, distance, flow, converge, conditions (the current version) or with the version "
                    "(gap-v2, distance-v1, flow-v1, converge-v1, conditions-v1)")
    sc.add_argument("--list", action="store_true", help="list the kinds and their titles")
    sc.set_defaults(func=check.cmd_schema)
