"""``certify sweep GRID.toml``: many independent gap certifications on Dask.

A grid is the product problems x seeds x step sizes x horizons; every point
is one task, ``certify.certify_gap(problem, eta, K)`` with ``K = round(T /
eta)``, run on ``dask.distributed`` (a ``LocalCluster`` on all cores of this
machine by default, one single-threaded worker process per core, or an
existing cluster with ``scheduler=ADDRESS``).

Grid file (TOML)::

    [sweep]
    problems = ["builtin:demo", "tiny", "my-problem.json"]
    seeds = [0, 1, 2, 3]        # optional: replaces init.seed of every problem
                                # initialised by a scheme (a problem with explicit
                                # weights then fails, with that reason)
    etas = [1e-3, 2e-3, 5e-3]   # GD step sizes
    horizons = [1.0, 3.0]       # times T; each task runs K = round(T / eta) >= 1 steps
    checkpoints = 10            # optional (default 10): checkpoints per task, every = K // checkpoints
    allow_vacuous = false       # optional: by default a vacuous bracket fails the task (NotCertified)

    [problems.tiny]             # optional inline problems, named in sweep.problems
    dims = [2, 3, 2]
    loss = {kind = "whitened", target = [[1.0, 0.5], [0.0, 1.0]]}
    init = {scheme = "balanced", scale = 0.5, seed = 0}

A problem entry is ``builtin:NAME``, a JSON/TOML problem file (relative paths
are relative to the grid file) or the name of a ``[problems.NAME]`` table (the
problem format of the README).  Problems are loaded inside the tasks, so a
malformed problem fails its own tasks only.  ``certify/experiments/grids/``
ships ``example.toml`` (20 tasks, about a minute on 2 cores) and
``paper-seeds.toml`` (the paper's eta0 run over 20 seeds, T = 10).

Outputs (``out_dir``, every file written atomically):

* ``certs/TASK.json``: the task's ``certify/gap-v2`` certificate (``certify
  check`` re-verifies it; the folder holds certificates only);
* ``status/TASK.json``: the task's last outcome: ``certified`` with its
  seconds, or ``failed`` with the one-line reason;
* ``results.csv``: one row per task, grid order: the certified bracket of the
  gap at T, the largest certified upper bound, the loss at T (estimate),
  seconds, status (``certified`` / ``failed``) and reason;
* ``sweep.png``: certified gap at T against eta (every seed), and the
  distribution over seeds.

Resumable: a task is finished when its certificate exists, loads, and is the
task's (schema, eta, steps, every, not partial); a rerun skips finished tasks
and retries failed ones (``recheck=True`` also requires ``certify.check_file``
to confirm it).  A task's id hashes the grid's entry for its problem (the
name, or the file's path, not the file's content): after editing a problem
file, use a new ``out_dir``.  A failing task (an exception in the
certification, a worker that dies) is recorded with its one-line reason and
never stops the others.

Tasks that share a process run one at a time: certify's Arb and mpmath work
sets process-wide precision (python-flint's and mpmath's contexts are not
thread-local), so ``LocalCluster(processes=False)`` or workers with several
threads are safe but not parallel within a process; use worker processes
(the default) for parallelism.

With a remote scheduler, ``out_dir`` must be on a file system the workers
share, and the workers need certify installed.  The Dask dashboard (address
printed by the CLI, ``SweepResult.dashboard``) needs the ``bokeh`` package.

The parts: the grid in :mod:`._sweep_grid`, one task in :mod:`._sweep_task`,
``results.csv`` and ``sweep.png`` in :mod:`._sweep_output`; this module runs
the tasks on Dask (:func:`run_sweep`).
"""

from __future__ import annotations

import copy
import json
import os
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import certify

from . import _io
from ._sweep_grid import GRID_KEYS, MAX_TASKS, Grid, SweepTask, _bad, example_grid, load_grid, parse_grid
from ._sweep_output import CSV_HEADER, _plot, _write_table
from ._sweep_task import _failed_row, _one_line, _record_failure, finished_row, run_task

__all__ = [
    "CSV_HEADER", "GRID_KEYS", "MAX_TASKS", "Grid", "SweepResult", "SweepTask", "example_grid", "finished_row",
    "load_grid", "parse_grid", "run_sweep", "run_task",
]


@dataclass(frozen=True)
class SweepResult:
    out_dir: Path
    grid: str
    tasks: int
    ran: int  # tasks run in this call
    skipped: int  # tasks already finished (certificate present and loading)
    failed: tuple  # ((task id, one-line reason), ...)
    rows: tuple  # one dict per task (CSV_HEADER keys), grid order
    table: Path
    figure: Path | None
    dashboard: str | None
    seconds: float

    @property
    def certified(self) -> int:
        return sum(r["status"] == "certified" for r in self.rows)


# ---------------------------------------------------------------------------
# the sweep
# ---------------------------------------------------------------------------


def _client(scheduler, client, workers, processes, dashboard_address):
    """(client, cluster to close or None, whether we own the client)."""
    from dask.distributed import Client, LocalCluster

    if client is not None:
        return client, None, False
    if scheduler:
        try:
            return Client(scheduler, timeout="15s"), None, True
        except Exception as e:  # noqa: BLE001 - one line for the user
            raise certify.UsageError(f"cannot connect to the Dask scheduler {scheduler}: {_one_line(e)}") from None
    n = workers or os.cpu_count() or 1
    cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=processes,
                           dashboard_address=dashboard_address, silence_logs=40)
    return Client(cluster), cluster, True


def _refuse_uncertified_losses(grid: Grid) -> None:
    """:class:`certify.UsageError` before any task runs when a problem's loss has no certified
    gap yet (cross-entropy, logistic: issue 12): each distinct problem is loaded once and its
    loss asked; a problem that does not load is left to its task's failure row."""
    seen = set()
    for t in grid.tasks:
        key = json.dumps(t.source, sort_keys=True)
        if key in seen:
            continue
        seen.add(key)
        try:
            loss = certify.load_problem(copy.deepcopy(t.source)).loss
        except certify.CertifyError:
            continue
        loss.require_certified(f"gap (sweep problem {t.problem})", key="GD-GF gap")


def run_sweep(grid, out_dir, *, scheduler: str | None = None, client=None, workers: int | None = None,
              processes: bool = True, dashboard_address: str | None = ":8787", recheck: bool = False,
              plot: bool = True, progress: certify.Progress | None = None, on_dashboard=None) -> SweepResult:
    """Run every unfinished task of ``grid`` (a :class:`Grid`, a path to a TOML
    grid, or a parsed grid dict) on Dask and write ``out_dir/results.csv``
    (and ``sweep.png``).

    The cluster: ``client`` (an existing ``dask.distributed.Client``), else
    ``scheduler`` (an address), else a new ``LocalCluster`` with ``workers``
    single-threaded workers (default: all cores; ``processes=False`` runs
    them as threads of this process).  ``progress`` (a :class:`certify.Progress`)
    follows the task "tasks" (finished tasks, total the grid's);
    ``on_dashboard(link)`` once the cluster is up.  Failed
    tasks never raise: see ``SweepResult.failed``."""
    t_start = time.perf_counter()
    if isinstance(grid, (str, os.PathLike)):
        grid = load_grid(grid)
    elif isinstance(grid, dict):
        grid = parse_grid(grid)
    elif not isinstance(grid, Grid):
        raise certify.UsageError(f"grid must be a path, a dict or a Grid, got {type(grid).__name__}")
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise certify.UsageError(f"workers must be an integer >= 1, got {workers!r}")
    _refuse_uncertified_losses(grid)
    out = _io.prepare_dir(out_dir)
    _io.prepare_dir(out / "certs")
    _io.prepare_dir(out / "status")
    ids = [t.id for t in grid.tasks]
    if len(set(ids)) != len(ids):
        raise _bad("two tasks have the same id (duplicate problems?)")
    rows: dict = {}
    todo = []
    for t in grid.tasks:
        row = finished_row(t, out, recheck)
        if row is None:
            todo.append(t)
        else:
            rows[t.id] = row
    skipped = len(rows)
    dashboard = None
    total = len(grid.tasks)
    progress = certify.NullProgress() if progress is None else progress
    progress.start("tasks", total)
    progress.update("tasks", skipped)
    if todo:
        from dask.distributed import as_completed

        cl, cluster, own = _client(scheduler, client, workers, processes, dashboard_address)
        try:
            dashboard = getattr(cl, "dashboard_link", None)
            if on_dashboard is not None:
                on_dashboard(dashboard)
            run = uuid.uuid4().hex[:8]  # fresh keys: a reused client must not hand back an earlier run's result
            futs = {cl.submit(run_task, t, str(out.resolve()), key=f"certify-sweep-{t.id}-{run}", pure=False): t
                    for t in todo}
            for fut in as_completed(futs):
                t = futs[fut]
                try:
                    row = fut.result()
                except Exception as e:  # noqa: BLE001 - a worker died or the task could not run
                    row = _failed_row(t, f"task did not run: {_one_line(e)}")
                    _record_failure(out, t, row["reason"])
                rows[t.id] = row
                progress.update("tasks", len(rows))
                _write_table(out, grid, rows)
        finally:
            if own:
                cl.close()
            if cluster is not None:
                cluster.close()
    table = _write_table(out, grid, rows)
    ordered = tuple(rows[i] for i in ids)
    figure = _plot(out / "sweep.png", grid, ordered) if plot else None
    failed = tuple((r["task"], r["reason"]) for r in ordered if r["status"] == "failed")
    return SweepResult(out, grid.name, total, len(todo), skipped, failed, ordered, table, figure, dashboard,
                       time.perf_counter() - t_start)
