"""certify.Progress (issue 10 item 2): one progress protocol, start/update/close,
for every producer; a silent default; progress never changes a number."""

import certify


class Record(certify.Progress):
    def __init__(self):
        self.events, self.closed = [], 0

    def start(self, label, total):
        self.events.append(("start", label, total))

    def update(self, label, completed):
        self.events.append(("update", label, completed))

    def close(self):
        self.closed += 1


def _tasks(rec):
    """{label: (total, [completed, ...])}; every update follows its task's start."""
    out = {}
    for kind, label, x in rec.events:
        if kind == "start":
            out[label] = (x, [])
        else:
            assert label in out, f"update of {label!r} before its start"
            out[label][1].append(x)
    return out


def _check_monotone(tasks):
    for label, (total, done) in tasks.items():
        assert done == sorted(done), label
        assert total is None or all(0 <= d <= total for d in done), (label, total, done)


def test_gap_reports_both_tasks_and_the_numbers_do_not_change():
    prob = certify.load_problem("builtin:demo")
    rec = Record()
    with rec:
        cert = certify.certify_gap(prob, 1e-3, 200, every=50, progress=rec)
    assert rec.closed == 1  # the maker closes, never the producer
    tasks = _tasks(rec)
    assert set(tasks) == {"GD + segment claims", "GF enclosure"}
    assert tasks["GD + segment claims"][0] == 200 and tasks["GF enclosure"][0] == 0.2
    assert tasks["GF enclosure"][1][-1] == 0.2  # the enclosure reaches its horizon
    _check_monotone(tasks)
    plain = certify.certify_gap(prob, 1e-3, 200, every=50)
    assert certify.dumps_json({**cert.to_json(), "provenance": None}) == \
        certify.dumps_json({**plain.to_json(), "provenance": None})


def test_distance_one_task_per_run():
    rec = Record()
    certify.certify_distance(certify.load_problem("builtin:demo"), 1e-3, 100, (2, 5), every=50, progress=rec)
    tasks = _tasks(rec)
    assert set(tasks) == {"GD eta", "GD eta/2", "GD eta/5"}
    assert [tasks[k][0] for k in ("GD eta", "GD eta/2", "GD eta/5")] == [100, 200, 500]
    _check_monotone(tasks)


def test_run_gd_and_flow():
    rec = Record()
    certify.run_gd(certify.load_problem("builtin:demo"), 1e-3, 10, progress=rec)
    assert _tasks(rec) == {"GD": (10, list(range(11)))}
    rec = Record()
    enc = certify.enclose_flow(certify.load_problem("builtin:demo"), 0.25, checkpoints=2, progress=rec)
    (total, done), = _tasks(rec).values()
    assert total == 0.25 and len(done) == len(enc.steps) and done[-1] == 0.25


def test_relabelled_and_null_and_rich():
    rec = Record()
    rel = certify.RelabelledProgress(rec, lambda label: f"run 1 {label}")
    rel.start("GD", 3)
    rel.update("GD", 1)
    rel.close()
    assert rec.events == [("start", "run 1 GD", 3), ("update", "run 1 GD", 1)] and rec.closed == 0
    null = certify.NullProgress()
    null.start("x", None), null.update("x", 1), null.close()
    with certify.RichProgress() as bar:  # silent off a terminal; an update may come before its start
        bar.update("late", 1)
        bar.start("a", 2)
        bar.update("a", 2)
        bar.start("a", 4)  # starting again resets the task


def test_largest_eta_one_task_per_trial():
    rec = Record()
    res = certify.largest_eta(certify.load_problem("builtin:demo"), 1e-1, progress=rec, rounds=1)
    tasks = _tasks(rec)
    assert list(tasks) == [f"trial eta = {e:.4g}" for e, _, _ in res.trials]
    assert all(v == (1, [1]) for v in tasks.values())
