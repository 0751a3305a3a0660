"""Resource limits (README "Resource limits") and output paths, checked before any work."""

from __future__ import annotations

import math

from .._claims import ARB_PREC
from .. import _limits as L
from ..certificates.writing import check_writable
from .._errors import UsageError

# which --max-... options each command has
LIMIT_OPTIONS = {
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


def add_limit_options(sub, positive_float) -> None:
    """A ``--max-NAME N`` option for every limit of every command in :data:`LIMIT_OPTIONS`."""
    for cmd, names in LIMIT_OPTIONS.items():
        parser = sub.choices.get(cmd)
        if parser is None:
            continue
        group = parser.add_argument_group("resource limits (README 'Resource limits')")
        for name in names:
            lim = L.LIMITS[name]
            group.add_argument(lim.option, dest="max_" + name.replace("-", "_"), type=positive_float(lim.option),
                               metavar="N", help=f"refuse more {lim.what} than N (default {lim.default:g}; "
                               f"env {lim.env})")


def _outputs(*paths) -> None:
    for p in paths:
        if p:
            check_writable(p)


def _shortest(t, what) -> None:  # the flow enclosure cannot end a step sooner than 2^-60 after it starts
    if t < 2.0**-60:
        raise UsageError(f"{what} = {t:.3g} is below the flow enclosure's time resolution 2^-60 = "
                         f"{2.0**-60:.3g}; use {what} >= 2^-60")


def preflight(args) -> None:
    """Refuse, before any work, inputs beyond a resource limit (one line naming
    the limit and how to raise it) and output paths that cannot be written.
    Fills in the defaults that depend on other options (``--checkpoints`` of
    flow, ``--every`` of gap)."""
    L.reset_overrides()  # each run decides its limits from its own options
    for name in L.LIMITS:
        v = getattr(args, "max_" + name.replace("-", "_"), None)
        if v is not None:
            L.set_override(name, v)
    check = _CHECKS.get(args.command)
    if check is not None:
        check(args)


def _flow(args) -> None:
    if args.checkpoints is None:  # dense checkpoints for a smooth plot
        args.checkpoints = 50 if args.plot else 10
    L.check("checkpoints", args.checkpoints, "--checkpoints")
    L.check("horizon", args.t_end, "--t-end")
    _shortest(args.t_end / args.checkpoints, "--t-end / --checkpoints")
    prec = (args.prec or ARB_PREC) if args.backend == "arb" else 53  # (--prec with float64: refused by the command)
    if args.backend == "arb":
        L.check("prec", prec, "--prec")
    order = args.order or (16 if args.backend == "float64" else max(16, int(0.55 * prec * math.log10(2))))
    L.check("order", order, "--order" if args.order else f"the default Taylor order at {prec} bits")
    L.check_min_order(order, prec)
    _outputs(args.out, args.plot)


def _gap_or_demo(args) -> None:
    L.check("steps", args.steps, "--steps")
    L.check("horizon", args.eta * args.steps, "the horizon --eta x --steps")
    if args.command == "gap":
        if args.every is None:  # dense checkpoints for a smooth plot
            args.every = max(1, args.steps // (200 if args.plot else 20))
        L.check("checkpoints", args.steps // args.every + 1, "checkpoints (--steps / --every + 1)")
        _outputs(args.out, args.plot)


def _converge(args) -> None:
    L.check("horizon", args.t_max, "--t-max")
    if args.eta is not None:  # K >= 1 steps: the gap runs the flow to K eta >= eta
        L.check("horizon", args.eta, "--eta (the gap's horizon K eta is at least eta)")
    _outputs(args.out)


def _conditions(args) -> None:
    T = args.t_end if args.t_end is not None else 1.0
    L.check("horizon", T, "--t-end")
    _shortest(T, "--t-end")
    if args.eta is not None:
        q = T / args.eta  # inf for a subnormal --eta: beyond any limit, not an internal error
        L.check("steps", math.floor(q) if math.isfinite(q) else q, "GD steps floor(T / --eta)")
        # at least one GD step: the trajectory runs to eta when eta > T
        L.check("horizon", max(T, args.eta), "the horizon max(--t-end, --eta)")
    _outputs(args.plot)


def _curvature(args) -> None:
    L.check("horizon", args.t_end, "--t-end")
    L.check("rows", args.checkpoints, "--checkpoints")
    _shortest(args.t_end / args.checkpoints, "--t-end / --checkpoints")
    _outputs(args.plot)


def _distance(args) -> None:
    ratios = list(args.ratios) if args.ratios else []
    L.check("steps", args.steps * max([1] + ratios), "GD steps of the longest run --steps x max(--ratios)")
    L.check("horizon", args.eta * args.steps, "the horizon --eta x --steps")
    every = args.every or max(1, args.steps // 20)
    L.check("checkpoints", args.steps // every + 1, "checkpoints (--steps / --every + 1)")
    _outputs(args.out)


def _derive(args) -> None:
    if args.dims is not None and not args.eval:
        L.check("derive-depth", len(args.dims) - 1, "the depth of --dims")


def _smallstep(args) -> None:
    # the closed forms and the estimate 2 eps exp(-mu t) / (theta0 mu^2 t) stay in binary64
    for opt, v in (("--mu", args.mu), ("--theta0", args.theta0), ("--eps", args.eps)):
        if not 1e-100 <= v <= 1e100:
            raise UsageError(f"{opt} = {v:g} is outside [1e-100, 1e100], where the closed forms of smallstep "
                             "stay within binary64")
    _outputs(args.plot)


_CHECKS = {"flow": _flow, "gap": _gap_or_demo, "demo": _gap_or_demo, "converge": _converge,
           "conditions": _conditions, "curvature": _curvature, "distance": _distance, "derive": _derive,
           "smallstep": _smallstep}
