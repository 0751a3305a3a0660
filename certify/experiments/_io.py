"""Atomic writers for the experiment outputs (temporary file in the target
folder, then ``os.replace``: a reader sees the old file or the whole new one)
and headless figures in certify's one plot style (:mod:`certify._plot`:
``matplotlib.figure.Figure`` on the Agg canvas; pyplot's global backend is
never touched)."""

from __future__ import annotations

import csv
import io
import os
import tempfile
from pathlib import Path

import certify


def write_bytes(path, data: bytes) -> Path:
    certify.write_bytes_atomic(path, data)
    return Path(path)


def write_text(path, text: str) -> Path:
    return write_bytes(path, text.encode("utf-8"))


def write_csv(path, header: list, rows: list) -> Path:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    for r in rows:
        w.writerow(["" if v is None else (repr(v) if isinstance(v, float) else v) for v in r])
    return write_text(path, buf.getvalue())


def new_figure(figsize):
    """A ``matplotlib.figure.Figure`` on its own Agg canvas (certify's plots: no pyplot, no backend change)."""
    from .._plot import new_figure as _new

    fig, _ = _new(figsize, 0)
    return fig


def save_png(fig, path) -> Path:
    """certify's house style on every axes, then the PNG written atomically (the caller did the layout)."""
    from .._plot import save_png as _save

    return _save(fig, path, tight=False)


def prepare_dir(out_dir) -> Path:
    """Create ``out_dir`` (and parents) if needed; refuse a path that is a file."""
    p = Path(out_dir)
    if p.exists() and not p.is_dir():
        raise certify.UsageError(f"{p} exists and is not a folder")
    try:
        p.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise certify.UsageError(f"cannot create folder {p}: {e.strerror or e}") from e
    if not os.access(p, os.W_OK):
        raise certify.UsageError(f"cannot write into folder {p}: permission denied")
    return p
