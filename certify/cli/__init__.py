"""The ``certify`` command line: a thin layer over the Python API.

:mod:`.parser` builds the argument parser (one small function per command),
:mod:`.preflight` refuses inputs beyond a resource limit before any work,
:mod:`.output` holds the tables, the progress bars (stderr) and the error
lines, and :mod:`.commands` one module per command group, each a thin call of
the public API (``import certify``).  Errors the user can cause print one
line on stderr and exit 2; tables go to stdout, progress bars to stderr.
"""

from __future__ import annotations

import sys

import numpy as np

from .. import _limits
from .._errors import CertifyError
from . import output
from .parser import build_parser
from .preflight import preflight

__all__ = ["build_parser", "main"]


def main(argv=None) -> int:
    """Run the command line on ``argv`` (default ``sys.argv[1:]``); return the exit code."""
    argv = sys.argv[1:] if argv is None else argv
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        if not getattr(args, "command", None):
            parser.print_help()
            return 2
        preflight(args)  # resource limits and output paths, before any work
        with np.errstate(all="ignore"):  # every result is checked for finiteness explicitly
            return int(args.func(args) or 0)
    except CertifyError as e:
        output.error(str(e))
        return e.exit_code
    except KeyboardInterrupt:
        output.interrupted()
        return 130
    except BrokenPipeError:
        return 0
    except Exception as e:  # never a traceback for the user
        if output.debug():
            raise
        output.internal_error(e)
        return 3
    finally:
        _limits.reset_overrides()  # --max-... options hold for this run only, not for later API calls
