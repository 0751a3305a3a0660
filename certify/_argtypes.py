"""argparse converters shared by the CLI and the experiment commands (one line each
on a bad value, which the CLI turns into exit 2)."""

from __future__ import annotations

import argparse


def positive_float(name):
    def conv(s):
        try:
            v = float(s)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} must be a number, got {s!r}")
        if not (v > 0) or v == float("inf"):
            raise argparse.ArgumentTypeError(f"{name} must be a finite number > 0, got {s!r}")
        return v

    return conv


def positive_int(name):
    def conv(s):
        try:
            v = int(s)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} must be an integer, got {s!r}")
        if v < 1:
            raise argparse.ArgumentTypeError(f"{name} must be >= 1, got {v}")
        return v

    return conv


def ratios(s, *, allow_empty: bool = False):
    """``R1,R2,...``: 1 to 16 integers >= 2 (0 to 16 with ``allow_empty``: '' is none)."""
    try:
        rs = [int(x) for x in s.split(",")] if (s.strip() or not allow_empty) else []
    except ValueError:
        raise argparse.ArgumentTypeError(f"--ratios must be comma-separated integers >= 2, got {s!r}") from None
    if (not rs and not allow_empty) or any(r < 2 for r in rs) or len(rs) > 16:
        raise argparse.ArgumentTypeError(
            f"--ratios must be {0 if allow_empty else 1} to 16 integers >= 2, got {s!r}")
    return rs
