"""The provenance block of every certificate (SPEC S6): which tool and library versions produced it."""

from __future__ import annotations

import numpy as np


def provenance() -> dict:
    """The provenance block of every certificate (tool and library versions)."""
    import platform

    import flint
    import mpmath

    from .._version import __version__

    return {"certify": __version__, "numpy": np.__version__, "python-flint": flint.__version__,
            "mpmath": mpmath.__version__, "python": platform.python_version()}
