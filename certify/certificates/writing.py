"""Atomic file output: write to a temporary file in the target folder, then rename."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from .._errors import UsageError


def check_writable(path: str | os.PathLike) -> Path:
    """Refuse, before any work, an output path that cannot be written: a folder,
    a missing or unwritable parent folder (one line, exit 2)."""
    path = Path(path)
    if str(path) in ("", "."):
        raise UsageError("the output file name is empty")
    folder = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise UsageError(f"cannot write {path}: it is an existing folder; give a file name")
    if not folder.is_dir():
        raise UsageError(f"cannot write {path}: folder {folder} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise UsageError(f"cannot write {path}: folder {folder} is not writable")
    return path


def write_bytes_atomic(path: str | os.PathLike, data: bytes) -> None:
    """Write to a temporary file in the target folder, then rename: readers see
    the old file or the whole new one, never a partial file."""
    path = check_writable(path)
    folder = path.parent if str(path.parent) else Path(".")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    except OSError as e:
        raise UsageError(f"cannot write {path}: {e.strerror or e}") from e
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException as e:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        if isinstance(e, OSError):  # IsADirectoryError (raced), disk full, permissions ...
            raise UsageError(f"cannot write {path}: {e.strerror or e}") from e
        raise


def dumps_json(obj: Any) -> str:
    """Deterministic JSON: sorted keys, no NaN/inf, floats as round-trip repr."""
    return json.dumps(obj, sort_keys=True, indent=1, allow_nan=False) + "\n"


def write_json_atomic(path: str | os.PathLike, obj: Any) -> None:
    write_bytes_atomic(path, dumps_json(obj).encode("utf-8"))
