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
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
import os
import re
import threading
import time
import tomllib
import uuid
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import certify

from . import _io

GRID_KEYS = {"name", "problems", "seeds", "etas", "horizons", "checkpoints", "allow_vacuous"}
CSV_HEADER = ["task", "problem", "seed", "eta", "steps", "T", "status", "gap_lower_T", "gap_upper_T",
              "max_gap_upper", "loss_T_estimate", "seconds", "certificate", "reason"]
MAX_TASKS = 100_000
#: one certification at a time per process (precision contexts are process-wide)
_TASK_LOCK = threading.Lock()


@dataclass(frozen=True)
class SweepTask:
    id: str
    problem: str  # the grid's name for it
    source: object  # builtin:NAME, absolute path, or an inline spec (dict)
    seed: int | None
    eta: float
    steps: int
    T: float
    every: int
    allow_vacuous: bool


@dataclass(frozen=True)
class Grid:
    name: str
    tasks: tuple
    path: Path | None = None


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
# the grid
# ---------------------------------------------------------------------------


def _bad(msg):
    return certify.UsageError(f"grid: {msg}")


def _list(sweep, key, kind, required=True):
    if key not in sweep:
        if required:
            raise _bad(f"sweep.{key} is missing")
        return None
    v = sweep[key]
    if not isinstance(v, list) or not v:
        raise _bad(f"sweep.{key} must be a non-empty list, got {v!r}")
    out = []
    for x in v:
        if kind == "number":
            if isinstance(x, bool) or not isinstance(x, (int, float)) or not math.isfinite(x) or x <= 0:
                raise _bad(f"sweep.{key} must hold finite numbers > 0, got {x!r}")
            out.append(float(x))
        elif kind == "seed":
            if isinstance(x, bool) or not isinstance(x, int) or x < 0:
                raise _bad(f"sweep.{key} must hold integers >= 0, got {x!r}")
            out.append(int(x))
        else:
            if not isinstance(x, str) or not x:
                raise _bad(f"sweep.{key} must hold non-empty strings, got {x!r}")
            out.append(x)
    if len(set(out)) != len(out):
        raise _bad(f"sweep.{key} has duplicates: {v!r}")
    return out


def _slug(s: str) -> str:
    s = s.split(":", 1)[-1]
    s = Path(s).stem if ("/" in s or s.endswith((".json", ".toml"))) else s
    return re.sub(r"[^A-Za-z0-9._-]+", "_", s)[:40] or "problem"


def parse_grid(doc: dict, base: Path | None = None, name: str = "") -> Grid:
    """The tasks of a grid document (the parsed TOML); :class:`certify.UsageError` naming the bad key."""
    if not isinstance(doc, dict):
        raise _bad("expected a table")
    extra = set(doc) - {"sweep", "problems"}
    if extra:
        raise _bad(f"unknown top-level key(s) {', '.join(sorted(extra))} (expected [sweep] and [problems.NAME])")
    sweep = doc.get("sweep")
    if not isinstance(sweep, dict):
        raise _bad("the [sweep] table is missing")
    extra = set(sweep) - GRID_KEYS
    if extra:
        raise _bad(f"unknown key(s) sweep.{', sweep.'.join(sorted(extra))} (known: {', '.join(sorted(GRID_KEYS))})")
    inline = doc.get("problems", {})
    if not isinstance(inline, dict) or any(not isinstance(v, dict) for v in inline.values()):
        raise _bad("[problems.NAME] must be tables (problem specifications)")
    problems = _list(sweep, "problems", "str")
    seeds = _list(sweep, "seeds", "seed", required=False)
    etas = _list(sweep, "etas", "number")
    horizons = _list(sweep, "horizons", "number")
    cps = sweep.get("checkpoints", 10)
    if isinstance(cps, bool) or not isinstance(cps, int) or cps < 1:
        raise _bad(f"sweep.checkpoints must be an integer >= 1, got {cps!r}")
    allow_vacuous = sweep.get("allow_vacuous", False)
    if not isinstance(allow_vacuous, bool):
        raise _bad(f"sweep.allow_vacuous must be true or false, got {allow_vacuous!r}")
    gname = sweep.get("name", name)
    if not isinstance(gname, str):
        raise _bad(f"sweep.name must be a string, got {gname!r}")
    n = len(problems) * len(seeds or [None]) * len(etas) * len(horizons)
    if n > MAX_TASKS:
        raise _bad(f"{n} tasks is more than {MAX_TASKS}; split the grid")
    tasks = []
    for p in problems:
        if p in inline:
            source = copy.deepcopy(inline[p])
        elif p.startswith("builtin:"):
            source = p
        else:
            path = Path(p)
            source = str(path if path.is_absolute() or base is None else (base / path).resolve())
        for seed in seeds or [None]:
            for eta in etas:
                for T in horizons:
                    K = max(1, round(T / eta))
                    every = max(1, K // cps)
                    key = json.dumps([p, json.dumps(source, sort_keys=True), seed, eta.hex(), K, every,
                                      allow_vacuous])
                    h = hashlib.sha1(key.encode()).hexdigest()[:8]
                    tid = f"{_slug(p)}-s{'-' if seed is None else seed}-eta{eta:.3g}-T{T:g}-{h}"
                    tasks.append(SweepTask(tid, p, source, seed, eta, K, eta * K, every, allow_vacuous))
    return Grid(gname, tuple(tasks))


def load_grid(path) -> Grid:
    """Read a grid TOML file (:class:`certify.UsageError` on a missing, unreadable or malformed file)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise certify.UsageError(f"no such grid file: {p}") from None
    except (OSError, UnicodeDecodeError) as e:
        raise certify.UsageError(f"cannot read grid {p}: {getattr(e, 'strerror', None) or e}") from None
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise certify.UsageError(f"grid {p} is not valid TOML ({e})") from None
    g = parse_grid(doc, base=p.resolve().parent, name=p.stem)
    return Grid(g.name, g.tasks, p)


def example_grid(name: str = "example") -> Path:
    """Path of a grid shipped with the package (``example``, ``paper-seeds``)."""
    p = Path(__file__).with_name("grids") / f"{name}.toml"
    if not p.is_file():
        names = sorted(q.stem for q in p.parent.glob("*.toml"))
        raise certify.UsageError(f"no shipped grid {name!r} (have: {', '.join(names)})")
    return p


# ---------------------------------------------------------------------------
# one task (runs on a Dask worker; never raises)
# ---------------------------------------------------------------------------


def _one_line(e: BaseException) -> str:
    msg = str(e).strip().splitlines()[0] if str(e).strip() else ""
    if isinstance(e, certify.CertifyError):
        kind = "not certified" if isinstance(e, certify.NotCertified) else type(e).__name__
    else:
        kind = f"internal error {type(e).__name__}"
    return f"{kind}: {msg}" if msg else kind


def _load_task_problem(task: SweepTask):
    prob = certify.load_problem(task.source)
    if task.seed is None:
        return prob
    spec = copy.deepcopy(prob.spec) if prob.spec else None
    init = spec.get("init") if isinstance(spec, dict) else None
    if not isinstance(init, dict) or "scheme" not in init:
        raise certify.ProblemError("the grid gives seeds, but this problem's initial weights are explicit "
                                   "(seeds apply to init schemes only)", "init.seed")
    init["seed"] = task.seed
    return certify.problem_from_dict(spec, name=f"{prob.name or task.problem} (seed {task.seed})")


def _paths(out: Path, task: SweepTask):
    """(certificate, status record) of a task."""
    return out / "certs" / f"{task.id}.json", out / "status" / f"{task.id}.json"


def run_task(task: SweepTask, out_dir: str) -> dict:
    """Certify one task, write its certificate (or failure record) atomically, return its row."""
    with _TASK_LOCK:
        return _run_task(task, Path(out_dir))


def _run_task(task: SweepTask, out: Path) -> dict:
    cert_path, status_path = _paths(out, task)
    t0 = time.perf_counter()
    try:
        prob = _load_task_problem(task)
        with np.errstate(all="ignore"):
            cert = certify.certify_gap(prob, task.eta, task.steps, every=task.every,
                                       stop_when_vacuous=not task.allow_vacuous)
        doc = cert.to_json()
        secs = time.perf_counter() - t0
        certify.write_json_atomic(cert_path, doc)
        row = _row_from_doc(task, doc, cert_path, out)
        row["seconds"] = secs
        certify.write_json_atomic(status_path, {"task": task.id, "status": "certified", "seconds": secs})
        return row
    except BaseException as e:  # noqa: BLE001 - recorded, never propagated: the other tasks go on
        if isinstance(e, (KeyboardInterrupt, SystemExit)):
            raise
        reason = _one_line(e)
        secs = time.perf_counter() - t0
        _record_failure(out, task, reason, secs)
        try:  # a task runs only when no certificate of it was accepted: one left behind is stale
            cert_path.unlink()
        except OSError:
            pass
        return _failed_row(task, reason, secs)


def _record_failure(out: Path, task: SweepTask, reason: str, secs=None) -> None:
    try:
        certify.write_json_atomic(_paths(out, task)[1],
                                  {"task": task.id, "status": "failed", "reason": reason, "seconds": secs})
    except Exception:  # noqa: BLE001 - the row still carries the reason
        pass


def _failed_row(task: SweepTask, reason: str, secs=None) -> dict:
    return {"task": task.id, "problem": task.problem, "seed": task.seed, "eta": task.eta, "steps": task.steps,
            "T": task.T, "status": "failed", "gap_lower_T": None, "gap_upper_T": None, "max_gap_upper": None,
            "loss_T_estimate": None, "seconds": secs, "certificate": "", "reason": reason}


def _row_from_doc(task: SweepTask, doc: dict, cert_path: Path, out: Path) -> dict:
    last = doc["claims"]["checkpoints"][-1]
    return {"task": task.id, "problem": task.problem, "seed": task.seed, "eta": task.eta, "steps": task.steps,
            "T": task.T, "status": "certified", "gap_lower_T": last["gap_lower"], "gap_upper_T": last["gap_upper"],
            "max_gap_upper": doc["claims"]["max_gap_upper"], "loss_T_estimate": last.get("loss"),
            "seconds": None, "certificate": str(cert_path.relative_to(out)), "reason": ""}


def finished_row(task: SweepTask, out_dir, recheck: bool = False) -> dict | None:
    """The row of a finished task (its certificate exists, loads and is this task's), else None."""
    out = Path(out_dir)
    cert_path, _ = _paths(out, task)
    if not cert_path.is_file():
        return None
    try:
        doc = json.loads(cert_path.read_text(encoding="utf-8"))
        ok = (doc.get("schema") == "certify/gap-v2" and doc.get("eta_hex") == float(task.eta).hex()
              and doc.get("steps") == task.steps and doc.get("every") == task.every and not doc.get("partial"))
        if not ok:
            return None
        if recheck and not certify.check_file(cert_path).valid:
            return None
        row = _row_from_doc(task, doc, cert_path, out)
    except Exception:  # noqa: BLE001 - unreadable or foreign: run the task again
        return None
    try:
        st = json.loads(_paths(out, task)[1].read_text(encoding="utf-8"))
        if st.get("status") == "certified":
            row["seconds"] = st["seconds"]
    except Exception:  # noqa: BLE001 - the time is informational
        pass
    return row


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
        loss.require_certified(f"gap (sweep problem {t.problem})")


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


def _write_table(out: Path, grid: Grid, rows: dict) -> Path:
    data = [[rows[t.id].get(h) for h in CSV_HEADER] for t in grid.tasks if t.id in rows]
    return _io.write_csv(out / "results.csv", CSV_HEADER, data)


def _plot(path, grid: Grid, rows) -> Path:
    fig = _io.new_figure((12, 4.6))
    ax, ax2 = fig.subplots(1, 2)
    ok = [r for r in rows if r["status"] == "certified"]
    groups: dict = {}

    def horizon(r):  # T = eta K differs from the grid's horizon in the last bits: group by the latter
        return float(f"{r['T']:.10g}")

    for r in ok:
        groups.setdefault((r["problem"], horizon(r)), []).append(r)
    colors = ["tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown", "tab:pink", "tab:gray"]
    for i, ((prob, T), rs) in enumerate(sorted(groups.items(), key=lambda kv: (kv[0][0], kv[0][1]))):
        c = colors[i % len(colors)]
        eta = np.array([r["eta"] for r in rs])
        hi = np.array([r["gap_upper_T"] for r in rs])
        lo = np.array([r["gap_lower_T"] for r in rs])
        ax.vlines(eta, np.where(lo > 0, lo, hi), hi, color=c, lw=2, alpha=0.6)  # (a vacuous 0: no bar)
        ax.plot(eta, hi, "o", ms=3, color=c, label=f"{prob}, T = {T:.4g}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("GD step size eta")
    ax.set_ylabel("certified ||theta_K - theta(T)||, K = T / eta")
    ax.set_title("certified GD-GF gap at T (every seed; bar = [lower, upper])", fontsize=10)
    if groups:
        ax.legend(fontsize=7)
    # distribution over seeds: one box per (problem, eta, T)
    cells: dict = {}
    for r in ok:
        cells.setdefault((r["problem"], r["eta"], horizon(r)), []).append(r["gap_upper_T"])
    keys = sorted(cells)
    if keys:
        ax2.boxplot([cells[k] for k in keys], showfliers=True)
        ax2.set_xticks(range(1, len(keys) + 1))
        ax2.set_xticklabels([f"{_slug(p)}\neta={e:.2g}\nT={T:.3g}" for p, e, T in keys], fontsize=6, rotation=0)
        ax2.set_yscale("log")
    ax2.set_ylabel("certified gap upper bound at T")
    ax2.set_title("distribution over seeds", fontsize=10)
    nf = len(rows) - len(ok)
    fig.suptitle(f"certify sweep {grid.name}: {len(ok)} of {len(rows)} tasks certified"
                 + (f", {nf} failed (results.csv gives each reason)" if nf else ""), fontsize=11)
    fig.tight_layout(rect=(0, 0, 1, 0.94))
    return _io.save_png(fig, path)
