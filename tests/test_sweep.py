"""certify sweep (certify.experiments.sweep) on an in-process dask LocalCluster:
a 20-task grid with one task designed to fail, resumption, the results table,
the figure, and one-line errors for bad grids (issue 11, item 2)."""

from __future__ import annotations

import csv
import json

import pytest

import certify
from certify.cli import main
from certify.experiments import load_grid, run_sweep

dask_distributed = pytest.importorskip("dask.distributed")

TINY_SPEC = {"dims": [2, 3, 2], "loss": {"kind": "whitened", "target": [[1.0, 0.5], [0.0, 0.75]]},
             "init": {"scheme": "balanced", "scale": 0.5, "seed": 0}}
TINY = """
[problems.tiny]
dims = [2, 3, 2]
loss = {kind = "whitened", target = [[1.0, 0.5], [0.0, 0.75]]}
init = {scheme = "balanced", scale = 0.5, seed = 0}
"""

# 4 seeds x 5 step sizes x 1 horizon = 20 tasks of at most 64 GD steps on a 12-parameter net.
# Designed failure: at eta = 1.2 the edge of stability (eta ||Hf|| <= 2) depends on the
# initialisation; seed 4's GD diverges at step 6 of 8 (BlowUpError), seeds 0, 1, 7 stay stable,
# and every smaller eta is stable for every seed.
GRID = """
[sweep]
name = "test"
problems = ["tiny"]
seeds = [0, 1, 4, 7]
etas = [0.15, 0.3, 0.6, 0.8, 1.2]
horizons = [9.6]
checkpoints = 4
""" + TINY


def _csv(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def cluster():
    """One in-process LocalCluster (threads of this process; dashboard on a free port, so parallel test workers never collide on 8787) shared by the tests."""
    from dask.distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=":0",
                      silence_logs=40) as lc, Client(lc) as client:
        yield client


@pytest.fixture(scope="module")
def first(tmp_path_factory):
    """The first run: run_sweep starts (and closes) its own in-process LocalCluster."""
    root = tmp_path_factory.mktemp("sweep")
    (root / "grid.toml").write_text(GRID)
    seen = []

    class Seen(certify.Progress):  # the progress protocol: the total once, then every finished task
        def start(self, label, total):
            self.total = total

        def update(self, label, completed):
            seen.append((completed, self.total))

    res = run_sweep(root / "grid.toml", root / "out", workers=2, processes=False, dashboard_address=":0",
                    progress=Seen())
    return root, res, seen


def _failed_id(grid):
    (t,) = [t for t in grid.tasks if t.seed == 4 and t.eta == 1.2]
    return t.id


def test_grid_parses_to_20_tasks(first):
    root, _, _ = first
    grid = load_grid(root / "grid.toml")
    assert len(grid.tasks) == 20 and grid.name == "test"
    assert len({t.id for t in grid.tasks}) == 20
    assert {(t.eta, t.steps) for t in grid.tasks} == {(0.15, 64), (0.3, 32), (0.6, 16), (0.8, 12), (1.2, 8)}


def test_one_failure_never_stops_the_others(first):
    root, res, seen = first
    grid = load_grid(root / "grid.toml")
    bad = _failed_id(grid)
    assert (res.tasks, res.ran, res.skipped, res.certified) == (20, 20, 0, 19)
    assert [tid for tid, _ in res.failed] == [bad]
    reason = res.failed[0][1]
    assert "\n" not in reason and reason.startswith("BlowUpError: gradient descent is unstable at step")
    assert seen[0] == (0, 20) and seen[-1] == (20, 20) and len(seen) == 21  # after every finished task
    status = json.loads((res.out_dir / "status" / f"{bad}.json").read_text())
    assert status["status"] == "failed" and status["reason"] == reason


def test_19_certificates_pass_the_checker(first):
    _, res, _ = first
    certs = sorted((res.out_dir / "certs").iterdir())
    assert len(certs) == 19 and all(p.suffix == ".json" for p in certs)  # certificates only, no temporary file
    for p in certs:
        rep = certify.check_file(p)
        assert rep.valid, (p.name, rep.failures[:1])


def test_results_table_one_row_per_task(first):
    root, res, _ = first
    grid = load_grid(root / "grid.toml")
    rows = _csv(res.table)
    assert [r["task"] for r in rows] == [t.id for t in grid.tasks]  # grid order, one row each
    for r in rows:
        if r["task"] == _failed_id(grid):
            assert r["status"] == "failed" and r["reason"] == res.failed[0][1]
            assert r["gap_lower_T"] == r["gap_upper_T"] == r["certificate"] == ""
            continue
        assert r["status"] == "certified" and r["reason"] == ""
        doc = json.loads((res.out_dir / r["certificate"]).read_text())
        last = doc["claims"]["checkpoints"][-1]
        lo, hi = float(r["gap_lower_T"]), float(r["gap_upper_T"])
        assert (lo, hi) == (last["gap_lower"], last["gap_upper"])  # the certificate's numbers, exactly
        assert 0 < lo <= hi < 1.001 * lo  # certified, and tight
        assert float(r["max_gap_upper"]) == doc["claims"]["max_gap_upper"] >= hi
        assert int(r["steps"]) == doc["steps"] and float(r["eta"]) == doc["eta"]
        assert float(r["seconds"]) > 0 and float(r["loss_T_estimate"]) > 0


def test_sweep_png(first):
    _, res, _ = first
    assert res.figure == res.out_dir / "sweep.png"
    data = res.figure.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000
    assert not [p for p in res.out_dir.iterdir() if p.name.startswith(".")]  # no temporary file left


def test_rerun_skips_finished_and_retries_the_failed(first, cluster):
    """Resumable: the 19 certificates are not recomputed (files untouched, reported skipped); the
    failed task runs again (on a client the caller owns, which stays open)."""
    root, res, _ = first
    out = res.out_dir
    bad = res.failed[0][0]
    certs = {p.name: p.stat().st_mtime_ns for p in (out / "certs").iterdir()}
    status_before = json.loads((out / "status" / f"{bad}.json").read_text())
    ok_status = {p.name: p.stat().st_mtime_ns for p in (out / "status").iterdir() if p.stem != bad}
    res2 = run_sweep(root / "grid.toml", out, client=cluster)
    assert (res2.ran, res2.skipped, res2.certified) == (1, 19, 19)
    assert res2.failed == res.failed  # retried, and fails the same way
    assert {p.name: p.stat().st_mtime_ns for p in (out / "certs").iterdir()} == certs
    assert {p.name: p.stat().st_mtime_ns for p in (out / "status").iterdir() if p.stem != bad} == ok_status
    status_after = json.loads((out / "status" / f"{bad}.json").read_text())
    assert status_after["reason"] == status_before["reason"]
    assert status_after["seconds"] != status_before["seconds"]  # a new attempt, recorded
    rows = _csv(res2.table)
    assert len(rows) == 20 and [r["task"] for r in rows] == [r["task"] for r in _csv(res.table)]
    assert sum(r["status"] == "certified" for r in rows) == 19
    assert cluster.status == "running"  # a client passed in is not closed


def test_failed_task_recovers_on_rerun(tmp_path, cluster):
    """A task whose problem file is missing fails with that reason; once the file exists, the rerun
    certifies it and its status record says so."""
    grid = tmp_path / "g.toml"
    grid.write_text('[sweep]\nproblems = ["later.json"]\netas = [0.1]\nhorizons = [0.4]\ncheckpoints = 2\n')
    res = run_sweep(grid, tmp_path / "out", client=cluster, plot=False)
    assert res.certified == 0 and len(res.failed) == 1 and "later.json" in res.failed[0][1]
    assert res.figure is None and not (tmp_path / "out" / "sweep.png").exists()
    (tmp_path / "later.json").write_text(json.dumps(TINY_SPEC))
    res2 = run_sweep(grid, tmp_path / "out", client=cluster, plot=False)
    assert (res2.ran, res2.skipped, res2.certified, res2.failed) == (1, 0, 1, ())
    tid = load_grid(grid).tasks[0].id
    assert json.loads((tmp_path / "out" / "status" / f"{tid}.json").read_text())["status"] == "certified"
    assert certify.check_file(tmp_path / "out" / "certs" / f"{tid}.json").valid


@pytest.mark.parametrize("text, expected", [
    ("[sweep\nproblems = 1", "is not valid TOML"),
    ('[sweep]\nproblems = ["builtin:demo"]\netas = [0.1]\nhorizons = [1.0]\nseed = [1]\n', "unknown key(s) sweep.seed"),
    ('[sweep]\nproblems = ["builtin:demo"]\netas = [-0.1]\nhorizons = [1.0]\n', "sweep.etas must hold finite numbers > 0"),
    ('[sweep]\nproblems = ["builtin:demo"]\netas = [0.1]\n', "sweep.horizons is missing"),
    (None, "no such grid file"),
])
def test_bad_grid_is_one_line_exit_2(tmp_path, capsys, text, expected):
    path = tmp_path / "grid.toml"
    if text is not None:
        path.write_text(text)
    code = main(["sweep", str(path), "--out-dir", str(tmp_path / "out")])
    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    assert err.startswith("certify: error: grid") or err.startswith("certify: error: no such grid")
    assert err.count("\n") == 1 and expected in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()  # refused before any work


def test_unknown_shipped_grid_is_one_line(capsys):
    assert main(["sweep", "grid:nope"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no shipped grid 'nope' (have: example, paper-seeds)" in err


def test_cli_rerun_on_worker_processes(first, capsys):
    """``certify sweep`` resumes the folder of the first run on a LocalCluster of worker processes:
    only the failed task runs; exit 4; each failure on one stderr line with its reason."""
    root, res, _ = first
    code = main(["sweep", str(root / "grid.toml"), "--out-dir", str(res.out_dir), "--workers", "1",
                 "--dashboard", ":0", "--no-plot"])
    out, err = capsys.readouterr()
    assert code == 4
    assert "19 certified, 1 failed; ran 1, skipped 19 finished" in out and "dashboard:" in out
    (line,) = [x for x in err.splitlines() if x.strip()]
    tid, reason = res.failed[0]
    assert line.strip() == f"failed {tid}: {reason}"
