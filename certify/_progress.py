"""Progress: one protocol for every long computation (a side channel, never numerics).

A progress meter is an object with three methods::

    start(label, total)      # a task begins; total in its own units (steps, time) or None
    update(label, completed) # the task has done this much (absolute, not an increment)
    close()                  # no more updates; called by whoever made the meter

Producers (:func:`certify.certify_gap`, :func:`certify.enclose_flow`, ...)
take ``progress=`` such an object, default :class:`NullProgress` (silent),
and only ever call ``start`` and ``update``: the caller that made the meter
closes it (``with`` does), so one meter can follow nested computations.
Labels are short human-readable task names ("GD + segment claims", "GF
enclosure"); :class:`RelabelledProgress` renames them on the way through
(one meter for several runs).  :class:`RichProgress` draws rich bars on
stderr, silent when stderr is not a terminal: it is what the command line
uses.

>>> from certify import Progress
>>> class Log(Progress):
...     def start(self, label, total):
...         print("start", label, total)
>>> with Log() as p:
...     p.start("GD", 100)
start GD 100
"""

from __future__ import annotations

import sys
from typing import Callable


class Progress:
    """The progress protocol, with do-nothing methods: subclass it and override
    what you need (any object with ``start``/``update``/``close`` works too).
    A context manager: leaving the ``with`` block calls :meth:`close`."""

    def start(self, label: str, total: float | None) -> None:
        """A task ``label`` begins; ``total`` in its own units, ``None`` if unknown."""

    def update(self, label: str, completed: float) -> None:
        """Task ``label`` has done ``completed`` (absolute, in the units of its total)."""

    def close(self) -> None:
        """No more updates (called by whoever made the meter, never by a producer)."""

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class NullProgress(Progress):
    """The silent default."""


def as_progress(progress) -> Progress:
    """``progress`` itself, or a :class:`NullProgress` for ``None``."""
    return NullProgress() if progress is None else progress


class RelabelledProgress(Progress):
    """Pass every task on to ``inner`` under ``rename(label)``; :meth:`close`
    leaves ``inner`` open (its maker closes it)."""

    def __init__(self, inner, rename: Callable[[str], str]):
        self.inner, self.rename = as_progress(inner), rename

    def start(self, label, total):
        self.inner.start(self.rename(label), total)

    def update(self, label, completed):
        self.inner.update(self.rename(label), completed)


class RichProgress(Progress):
    """rich progress bars on stderr, one per task, removed when closed (use it
    in a ``with`` block); silent when stderr is not a terminal.  An update of
    a task never started starts it with an unknown total; starting a task
    again resets it."""

    def __init__(self):
        from rich.console import Console
        from rich.progress import BarColumn, TextColumn, TimeElapsedColumn, TimeRemainingColumn
        from rich.progress import Progress as _Bars

        self._bars = _Bars(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
                           TimeElapsedColumn(), TimeRemainingColumn(), transient=True,
                           console=Console(stderr=True, highlight=False), disable=not sys.stderr.isatty())
        self._tasks: dict = {}
        self._live = False

    def start(self, label, total):
        if not self._live:  # the display starts with the first task
            self._bars.start()
            self._live = True
        if label in self._tasks:
            self._bars.reset(self._tasks[label], total=total)
        else:
            self._tasks[label] = self._bars.add_task(label, total=total)

    def update(self, label, completed):
        if label not in self._tasks:
            self.start(label, None)
        self._bars.update(self._tasks[label], completed=completed)

    def close(self):
        if self._live:
            self._bars.stop()
            self._live = False
