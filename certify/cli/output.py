"""What the command line prints: tables on stdout, progress bars and error
lines on stderr (rich)."""

from __future__ import annotations

import os
import sys

LEFT = ("lemma", "statement", "status", "name", "what")  # text columns; numbers are right-aligned


def console(stderr=False):
    from rich.console import Console

    return Console(stderr=stderr, highlight=False, soft_wrap=False, width=200 if not stderr else None)


def table(columns, rows):
    """A plain-text table (a title is printed by the caller on its own line)."""
    from rich.table import Table

    t = Table(box=None, pad_edge=False, header_style="bold")
    for c in columns:
        t.add_column(c, justify="left" if c in LEFT else "right")
    for r in rows:
        t.add_row(*[str(x) for x in r])
    return t


def thin(rows, most: int = 21):
    """At most ``most`` rows, evenly spaced, first and last kept (dense plots, short tables)."""
    if len(rows) <= most:
        return rows
    idx = sorted({round(i * (len(rows) - 1) / (most - 1)) for i in range(most)})
    return [rows[i] for i in idx]


def progress_bar():
    """A :class:`certify.RichProgress`: bars on stderr, silent when stderr is not a terminal."""
    import certify

    return certify.RichProgress()


def error(message: str) -> None:
    """The one line of a :class:`certify.CertifyError` (exit code from the error)."""
    print(f"certify: error: {message}", file=sys.stderr)


def partial(message: str) -> None:
    print(f"certify: partial: {message}", file=sys.stderr)


def interrupted() -> None:
    print("certify: interrupted", file=sys.stderr)


def debug() -> bool:
    """``CERTIFY_DEBUG`` set: let an internal error's traceback through."""
    return bool(os.environ.get("CERTIFY_DEBUG"))


def internal_error(e: BaseException) -> None:
    msg = str(e).splitlines()[0] if str(e) else ""
    print(f"certify: internal error: {type(e).__name__}: {msg} "
          "(a bug; rerun with CERTIFY_DEBUG=1 for the traceback)", file=sys.stderr)
