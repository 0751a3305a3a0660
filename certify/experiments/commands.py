"""The ``experiment`` and ``sweep`` sub-commands (wired into ``certify.cli.build_parser`` by :func:`add_parsers`)."""

from __future__ import annotations

import argparse
import functools
import sys
import time

import certify

from .._argtypes import positive_float, positive_int, ratios

EXPERIMENT_EPILOG = """\
examples:
  certify experiment paper                       # the paper's setup, folder ./certify-paper
  certify experiment paper --arch 784 --out-dir paper784
  certify experiment paper --steps 1000 --ratios 2,5 --check    # a quick look (T = 1), re-checked
  certify check certify-paper/distance.json

What is certified: every distance in panel (b) is a bracket [lower, upper]
about exact-arithmetic GD (S4.5, S4.7) and the exact gradient flow (S4.4);
the loss curves of panel (a) are float64 estimates (the exact GD iterate is
within the certified radius reported in report.txt).  Differs from the paper:
scikit-learn's 8x8 digits instead of MNIST, square loss instead of
cross-entropy (report.txt and the figure say so).
Exit codes: 0 done, 2 bad input, 4 a bracket is vacuous or a run cannot be certified.
"""

SWEEP_EPILOG = """\
grid file (TOML):
  [sweep]
  problems = ["builtin:demo", "tiny", "my-problem.json"]   # builtin:NAME, file (relative to the grid), or
  seeds = [0, 1, 2, 3]          # [problems.NAME]; optional seeds replace init.seed of scheme inits
  etas = [1e-3, 2e-3, 5e-3]     # step sizes
  horizons = [1.0, 3.0]         # T: each task certifies K = round(T / eta) GD steps
  checkpoints = 10              # optional, per task (default 10)
  allow_vacuous = false         # optional: a vacuous bracket fails the task (default)
  [problems.tiny]               # optional inline problem (README's problem format)
  dims = [2, 3, 2]
  loss = {kind = "whitened", target = [[1.0, 0.5], [0.0, 0.75]]}
  init = {scheme = "balanced", scale = 0.5, seed = 0}

outputs in --out-dir: certs/TASK.json (certify/gap-v2, re-check each with 'certify check';
the folder holds certificates only), status/TASK.json (each task's last outcome: seconds, or
the failure's reason), results.csv (one row per task: certified
gap bracket at T, max upper bound, loss estimate, seconds, status, reason), sweep.png.
A rerun skips every task whose certificate exists and loads; failed tasks are retried.

examples:
  certify sweep grid:example                     # the shipped 20-task grid, LocalCluster on all cores
  certify sweep grid:paper-seeds --out-dir sweep-paper      # the paper's eta0 run over 20 seeds
  certify sweep my-grid.toml --scheduler tcp://10.0.0.5:8786  # an existing Dask cluster (shared folder)

The Dask dashboard address is printed when the cluster is up (it needs the 'bokeh' package).
Limits: CERTIFY_MAX_STEPS etc. (README 'Resource limits') hold in the workers through the environment.
Exit codes: 0 every task certified, 2 bad grid or usage, 4 some task failed (the others finished).
"""


def add_parsers(sub) -> None:
    """Add ``experiment`` and ``sweep`` to the sub-parser object of ``certify.cli.build_parser``."""
    ex = sub.add_parser(
        "experiment",
        help="the paper's experiment (PAPER.md section 5) with certified bands: figure, CSV, certificates",
        description="Run the paper's experiment on builtin:paper: GD with eta0 = 1e-3 for K = 10^4 steps and "
        "with eta0/r (r = 2, 5, 10, 20) for r K steps (the same time T = 10).  Certifies each run's GD-GF gap "
        "(certify gap) and the distance between the eta0 run and each eta0/r run and from the initialisation "
        "(certify distance), and writes into one folder: the paper's figure with the certified bands on the "
        "same axes (paper.png), every plotted number with its certified bounds (paper.csv), the certificates "
        "(gap-r1.json ... gap-r20.json, distance.json) and report.txt.  Minutes on 2 cores (--arch 784: longer).",
        epilog=EXPERIMENT_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ex.add_argument("name", choices=["paper"], help="the experiment (paper: PAPER.md section 5)")
    ex.add_argument("--arch", choices=["64", "784"], default="64",
                    help="64: builtin:paper (64-50-50-10 on the 8x8 digits, default); 784: builtin:paper-784 "
                    "(784-50-50-10 on the digits upsampled to 28x28, the paper's size)")
    ex.add_argument("--loss", choices=["square", "cross_entropy"], default="square",
                    help="square (default: builtin:paper, builtin:paper-784) or cross_entropy, the paper's own "
                         "loss (builtin:paper-ce, builtin:paper-784-ce)")
    ex.add_argument("--problem", metavar="PROBLEM", help="run on this problem instead of the --arch one")
    ex.add_argument("--eta0", type=positive_float("--eta0"), default=1e-3, help="base step size (default 1e-3)")
    ex.add_argument("--steps", type=positive_int("--steps"), default=10_000,
                    help="steps K of the eta0 run (default 10000: T = 10); the eta0/r run takes r K")
    ex.add_argument("--ratios", type=functools.partial(ratios, allow_empty=True), default=[2, 5, 10, 20], metavar="R1,R2,...",
                    help="the r's (default 2,5,10,20, the paper's; '' for the eta0 run alone)")
    ex.add_argument("--every", type=positive_int("--every"),
                    help="checkpoint (a point of every curve) every S eta0-iterations (default K/40)")
    ex.add_argument("--check", action="store_true",
                    help="re-verify every certificate with the independent checker (about 2-3x the time)")
    ex.add_argument("--out-dir", help="output folder (default ./certify-paper, ./certify-paper-784 for --arch 784, "
                                      "with -ce appended for --loss cross_entropy)")
    ex.add_argument("--max-steps", dest="max_steps", type=positive_float("--max-steps"), metavar="N",
                    help="refuse runs of more than N GD steps (default 200000, env CERTIFY_MAX_STEPS; the "
                    "eta0/20 run of the default setup has 200000)")
    ex.set_defaults(func=_cmd_experiment)

    sw = sub.add_parser(
        "sweep",
        help="many independent gap certifications from a TOML grid, on Dask (resumable)",
        description="Run the grid problems x seeds x step sizes x horizons of GRID (a TOML file, or "
        "grid:NAME for a shipped one: grid:example, grid:paper-seeds) as independent 'certify gap' tasks on "
        "dask.distributed: a LocalCluster with one single-threaded worker process per core by default, or "
        "the cluster at --scheduler.  Each task writes its certificate atomically; results.csv collects one "
        "row per task; a failed task is recorded with its one-line reason and never stops the others; a "
        "rerun skips finished tasks.",
        epilog=SWEEP_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sw.add_argument("grid", metavar="GRID.toml", help="grid file, or grid:NAME for a shipped grid")
    sw.add_argument("--out-dir", help="output folder (default ./sweep-NAME, NAME the grid's)")
    sw.add_argument("--scheduler", metavar="ADDRESS",
                    help="address of an existing Dask scheduler (e.g. tcp://host:8786); default: a new LocalCluster")
    sw.add_argument("--workers", type=positive_int("--workers"),
                    help="LocalCluster worker processes (default: all cores)")
    sw.add_argument("--dashboard", default=":8787", metavar="[HOST]:PORT",
                    help="LocalCluster dashboard address (default :8787; ':0' for any free port)")
    sw.add_argument("--recheck", action="store_true",
                    help="count a task as finished only if the independent checker confirms its certificate")
    sw.add_argument("--no-plot", action="store_true", help="do not write sweep.png")
    sw.set_defaults(func=_cmd_sweep)


def _cmd_experiment(args) -> int:
    from .paper import run_paper_experiment

    out_dir = args.out_dir or ("certify-paper" + ("" if args.arch == "64" else "-784")
                               + ("" if args.loss == "square" else "-ce"))
    with certify.RichProgress() as bar:
        res = run_paper_experiment(out_dir, arch=args.arch, loss=args.loss, ratios=tuple(args.ratios), steps=args.steps,
                                   every=args.every, eta0=args.eta0, problem=args.problem, check=args.check,
                                   progress=bar)
    sys.stdout.write(res.report.read_text(encoding="utf-8"))
    print(f"wrote {res.out_dir}/: {res.figure.name}, {res.table.name}, {res.report.name}, "
          + ", ".join(p.name for p in res.certificates))
    return 0


def _cmd_sweep(args) -> int:
    from rich.console import Console
    from rich.markup import escape

    from .sweep import example_grid, load_grid, run_sweep

    src = args.grid
    grid = load_grid(example_grid(src[len("grid:"):]) if src.startswith("grid:") else src)
    out_dir = args.out_dir or f"sweep-{grid.name or 'grid'}"
    err = Console(stderr=True, highlight=False, soft_wrap=True)  # a failure's reason stays on one line
    t0 = time.perf_counter()
    print(f"certify sweep {grid.name}: {len(grid.tasks)} tasks -> {out_dir}/", flush=True)
    with certify.RichProgress() as bar:
        def dash(link):
            where = args.scheduler or "LocalCluster"
            print(f"Dask ({where}) dashboard: {link or 'not available'}"
                  + ("" if _has_bokeh() else " (install 'bokeh' to serve it)"), flush=True)

        res = run_sweep(grid, out_dir, scheduler=args.scheduler, workers=args.workers,
                        dashboard_address=args.dashboard, recheck=args.recheck, plot=not args.no_plot,
                        progress=bar, on_dashboard=dash)
    print(f"{res.certified} certified, {len(res.failed)} failed; ran {res.ran}, skipped {res.skipped} finished "
          f"({time.perf_counter() - t0:.1f}s)")
    for tid, reason in res.failed:
        err.print(f"  failed {escape(tid)}: {escape(reason)}")
    print(f"wrote {res.table}" + (f" and {res.figure}" if res.figure else ""))
    return 4 if res.failed else 0


def _has_bokeh() -> bool:
    import importlib.util

    return importlib.util.find_spec("bokeh") is not None
