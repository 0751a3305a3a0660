"""``certify gap``, ``certify distance`` and ``certify demo``."""

from __future__ import annotations

import time
from pathlib import Path

import certify

from ..._errors import UsageError
from ..output import console, partial, progress_bar, table, thin


def print_gap_table(out, cert, most=None) -> None:
    rows = []
    for c in cert.checkpoints:
        ratio = c.gap_upper / c.gap_lower if c.gap_lower > 0 else float("inf")
        s42 = f"{c.gap_upper_s42:.4e}" if c.gap_upper_s42 != float("inf") else "-"
        rows.append((c.k, f"{float(c.t):.6g}", f"{c.loss:.6e}", f"{c.gap_lower:.6e}", f"{c.gap_upper:.6e}",
                     f"{ratio:.9f}" if ratio != float("inf") else "-", s42))
    shown = thin(rows, most) if most else rows
    out.print(table(["k", "t", "loss (estimate)", "gap lower", "gap upper", "upper/lower", "S4.2 upper"], shown))
    if len(shown) < len(rows):
        out.print(f"({len(shown)} of {len(rows)} checkpoints shown; the certificate holds them all)")


def _run_gap(problem, eta, steps, every, refresh, partial=False, stop_when_vacuous=False):
    with progress_bar() as bar:
        return certify.certify_gap(problem, eta, steps, every=every, refresh=refresh, progress=bar,
                                   partial=partial, stop_when_vacuous=stop_when_vacuous)


def cmd_gap(args) -> int:
    prob = certify.load_problem(args.problem)
    t0 = time.perf_counter()
    cert = _run_gap(prob, args.eta, args.steps, args.every, args.refresh, partial=args.partial,
                    stop_when_vacuous=not args.allow_vacuous)
    elapsed = time.perf_counter() - t0
    certify.write_json_atomic(args.out, cert.to_json())
    if args.plot:
        certify.plot_gap(cert, args.plot)
    out = console()
    out.print(f"certified GD-vs-GF gap on {prob.name or args.problem}: eta={args.eta:g}, {cert.steps} steps "
              f"(t up to {args.eta * cert.steps:g}), {elapsed:.2f}s")
    print_gap_table(out, cert, most=21)
    end = "the whole run" if cert.s42_end >= cert.steps else f"steps < {cert.s42_end}"
    out.print(f"all bounds certified (exact GD vs exact GF); S4.2 one-sided bound valid for {end}; "
              f"max gap upper bound {cert.max_gap_upper:.6e}")
    out.print(f"wrote {args.out} (schema certify/gap-v2)" + (f" and {args.plot}" if args.plot else ""))
    if cert.partial:
        partial(f"certified up to step {cert.steps} only; {cert.partial['reason']}")
        return 4
    return 0


def cmd_distance(args) -> int:
    prob = certify.load_problem(args.problem)
    t0 = time.perf_counter()
    with progress_bar() as bar:
        cert = certify.certify_distance(prob, args.eta, args.steps, args.ratios, every=args.every,
                                        refresh=args.refresh, progress=bar)
    elapsed = time.perf_counter() - t0
    certify.write_json_atomic(args.out, cert.to_json())
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
    out.print(table(cols, rows))
    out.print(f"all distances certified (exact GD iterates); max distance upper bound {cert.max_dist_upper:.6e}")
    out.print(f"wrote {args.out} (schema certify/distance-v1)")
    return 0


def cmd_demo(args) -> int:
    out = console()
    prob = certify.load_problem("builtin:demo")
    out.print(f"[bold]certify demo[/bold]: {prob.name} (dims {list(prob.dims)}, {prob.n_params} parameters, "
              "whitened loss)")
    v = certify.verify_derivatives(prob)
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
    certify.write_json_atomic(cpath, cert.to_json())
    certify.plot_gap(cert, ppath)
    out.print(f"2. certified gap between exact GD (eta={args.eta:g}) and exact GF, {args.steps} steps, "
              f"{elapsed:.2f}s:")
    print_gap_table(out, cert)
    worst = max((c.gap_upper / c.gap_lower for c in cert.checkpoints if c.gap_lower > 0), default=float("inf"))
    out.print(f"   two-sided bounds (S4.4) bracket the gap to a relative width <= {worst - 1:.1e}; "
              f"the one-sided S4.2 bound lasts {min(cert.s42_end, args.steps)} steps.")
    out.print(f"   wrote {cpath} and {ppath}")
    t1 = time.perf_counter()
    report = certify.check_file(cpath)
    out.print(f"3. independent checker: {'VALID' if report.valid else 'INVALID'} ({report.checked} claims "
              f"confirmed, {time.perf_counter() - t1:.2f}s)" + ("" if report.valid else f": {report.failures[0]}"))
    return 0 if (v["ok"] and report.valid) else 1
