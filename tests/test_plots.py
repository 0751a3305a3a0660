"""Plots (certify._plot, issue 11 item 5): every ``--plot`` option writes a
real, non-blank PNG; the caller's matplotlib backend is never changed; a bad
plot path is refused before any work, in one line, exit 2, with no file."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest

import certify
from certify.cli import main

PNG = b"\x89PNG\r\n\x1a\n"

# (command, its --plot output file, extra output files) -- small and fast on builtin:demo
COMMANDS = {
    "gap": (["gap", "builtin:demo", "--eta", "0.01", "--steps", "200", "--out", "{d}/gap.json"], ["gap.json"]),
    "flow": (["flow", "builtin:demo", "--t-end", "1", "--out", "{d}/enc.json"], ["enc.json"]),
    "conditions": (["conditions", "builtin:demo", "--eta", "0.01", "--t-end", "0.2"], []),
    "curvature": (["curvature", "builtin:demo", "--t-end", "1", "--checkpoints", "5", "--scales", ""], []),
}


def _argv(cmd, folder, plot):
    argv, _ = COMMANDS[cmd]
    return [a.format(d=folder) for a in argv] + ["--plot", str(plot)]


def assert_png(path):
    """A PNG that decodes, has pixels and is not one flat colour."""
    import matplotlib.image

    data = path.read_bytes()
    assert data[:8] == PNG
    img = matplotlib.image.imread(path)
    assert img.ndim == 3 and img.shape[0] > 200 and img.shape[1] > 300
    assert float(np.var(img[..., :3])) > 0
    assert not [p for p in path.parent.iterdir() if p.name.startswith(".")]  # no temporary file left


@pytest.mark.parametrize("cmd", list(COMMANDS))
def test_plot_option_writes_a_png(cmd, tmp_path, capsys):
    import matplotlib

    backend = matplotlib.rcParams["backend"]
    plot = tmp_path / f"{cmd}.png"
    code = main(_argv(cmd, tmp_path, plot))
    out, err = capsys.readouterr()
    assert code == 0, err
    assert_png(plot)
    assert f"wrote {plot}" in out or str(plot) in out
    assert matplotlib.rcParams["backend"] == backend  # plotting never sets the backend


def test_gap_plot_is_dense_and_table_short(tmp_path, capsys):
    """--plot without --every: K/200 checkpoints in the certificate (smooth curves), a 21-row table."""
    import json

    assert main(_argv("gap", tmp_path, tmp_path / "g.png")) == 0
    out = capsys.readouterr().out
    doc = json.loads((tmp_path / "gap.json").read_text())
    assert doc["every"] == 1 and len(doc["claims"]["checkpoints"]) == 201
    assert "(21 of 201 checkpoints shown; the certificate holds them all)" in out
    assert main(_argv("gap", tmp_path, tmp_path / "g.png")[:-2]) == 0  # without --plot: K/20
    assert json.loads((tmp_path / "gap.json").read_text())["every"] == 10


@pytest.mark.parametrize("cmd", list(COMMANDS))
def test_bad_plot_path_is_refused_before_any_work(cmd, tmp_path, capsys):
    plot = tmp_path / "missing" / "p.png"
    code = main(_argv(cmd, tmp_path, plot))
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and "folder" in err and "does not exist" in err and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []  # neither the plot nor the command's other outputs


def test_api_plots_return_the_path_and_replace_atomically(tmp_path, monkeypatch):
    cert = certify.certify_gap(certify.load_problem("builtin:demo"), 0.01, 40, every=4)
    p = tmp_path / "gap.png"
    p.write_bytes(b"old")
    assert certify.plot_gap(cert, p) == p
    assert_png(p)
    good = p.read_bytes()
    # a failure while rendering leaves the old file whole and no temporary file
    from matplotlib.figure import Figure

    def boom(self, *a, **k):
        raise RuntimeError("render failed")

    monkeypatch.setattr(Figure, "savefig", boom)
    with pytest.raises(RuntimeError, match="render failed"):
        certify.plot_gap(cert, p)
    assert p.read_bytes() == good
    assert [q.name for q in tmp_path.iterdir()] == ["gap.png"]


def test_smallstep_and_curvature_api_on_given_rows(tmp_path):
    from collections import namedtuple

    Row = namedtuple("Row", "problem eta t gap_lower gap_upper")
    req = [(t, 0.1 * np.exp(-t), 3, 0.2 * np.exp(-t)) for t in (1.0, 2.0, 4.0)]
    gaps = [Row(n, e, 1.0, 0.5 * e * s, e * s) for n, s in (("a", 1.0), ("b", 3.0)) for e in (1e-3, 1e-2)]
    assert_png(certify.plot_smallstep(req, gaps, tmp_path / "s.png"))
    prof = {"steps": [(0.0, 0.5, 1.0), (0.5, 1.0, 0.0)], "int_m_upper": 0.5,
            "rows": [{"t": 0.0, "bound_est": 2.0, "m_est": 0.5}, {"t": 1.0, "bound_est": 1.0, "m_est": 0.0}]}
    assert_png(certify.plot_curvature(prof, tmp_path / "c.png"))  # zeros: symmetric log axis


def test_plotting_never_touches_the_callers_backend(tmp_path):
    """A caller that chose a backend keeps it, and certify never imports pyplot (no global figures)."""
    code = textwrap.dedent(f"""
        import sys
        import matplotlib
        matplotlib.use("svg")
        import certify
        from certify.cli import main
        cert = certify.certify_gap(certify.load_problem("builtin:demo"), 0.01, 20, every=5)
        certify.plot_gap(cert, {str(tmp_path / 'a.png')!r})
        assert main(["curvature", "builtin:demo", "--t-end", "0.5", "--checkpoints", "2", "--scales", "",
                     "--plot", {str(tmp_path / 'b.png')!r}]) == 0
        assert "matplotlib.pyplot" not in sys.modules, "pyplot imported"
        print("backend", matplotlib.get_backend())
    """)
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.strip().splitlines()[-1] == "backend svg"
    assert (tmp_path / "a.png").read_bytes()[:8] == PNG and (tmp_path / "b.png").read_bytes()[:8] == PNG
