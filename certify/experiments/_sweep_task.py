"""One task of ``certify sweep`` (runs on a Dask worker and never raises): load
its problem, certify, write the certificate and the status record atomically,
return the task's row; :func:`finished_row` recognises a finished task."""

from __future__ import annotations

import copy
import json
import threading
import time
from pathlib import Path

import numpy as np

import certify

from ._sweep_grid import SweepTask

#: one certification at a time per process (precision contexts are process-wide)
_TASK_LOCK = threading.Lock()


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
