"""Result objects that are immutable once returned (issue 10: frozen results).

The producers build their results step by step (checkpoints appended as the run goes); the public entry
point then calls :meth:`Sealed.seal`, after which the object is frozen like a frozen dataclass:
assigning or deleting an attribute raises :class:`dataclasses.FrozenInstanceError`, numpy arrays become
read-only, and the sealed objects inside its fields (checkpoints, steps, points) are sealed too.  Lists
stay lists (as in a frozen dataclass, containers are not deep-frozen: ``to_json()`` hands them on)."""

from __future__ import annotations

import dataclasses

import numpy as np


class Sealed:
    """Mixin for a (non-frozen) dataclass result: :meth:`seal` freezes it (module docstring)."""

    def seal(self):
        if getattr(self, "_sealed", False):
            return self
        for f in dataclasses.fields(self):
            object.__setattr__(self, f.name, _freeze(getattr(self, f.name)))
        object.__setattr__(self, "_sealed", True)
        return self

    def __setattr__(self, name, value):
        if getattr(self, "_sealed", False):
            raise dataclasses.FrozenInstanceError(f"cannot assign to field {name!r}: {type(self).__name__} is a "
                                                  "returned result (immutable)")
        object.__setattr__(self, name, value)

    def __delattr__(self, name):
        if getattr(self, "_sealed", False):
            raise dataclasses.FrozenInstanceError(f"cannot delete field {name!r}: {type(self).__name__} is immutable")
        object.__delattr__(self, name)


def _freeze(v):
    if isinstance(v, Sealed):
        return v.seal()
    if isinstance(v, (list, tuple)):
        for x in v:
            _freeze(x)
        return v
    if isinstance(v, np.ndarray):
        v.flags.writeable = False
        return v
    return v


__all__ = ["Sealed"]
