"""``check_certificate`` and ``check_file``: the kind of the document, the
resource limits, the arithmetic settings, then the kind's checker; and what
ends a check.

- A structural problem before any failing claim: malformed
  (:class:`certify.CertificateError`, exit 2) or not confirmed and nothing
  more to check (:class:`._verify.Invalid`, exit 1, one failure), as before
  failures were collected.
- Failing claims: each one is listed (:class:`._report.Tally`) and the check
  goes on; a structural problem met after them ends it and is listed last
  (exit 1: the certificate is already refused).
"""

from __future__ import annotations

import time

import numpy as np
from threadpoolctl import threadpool_limits

from .._errors import CertificateError, CertifyError
from . import _converge_check as CC
from . import _distance_check as D
from . import _flowfile_check as FF
from . import _verify as V
from ._gap import SCHEMA, check_gap
from ._precheck import precheck
from ._read import read_json
from ._report import CheckReport, Tally

CONVERGE_SCHEMA = CC.SCHEMA_NAME
DISTANCE_SCHEMA = D.SCHEMA

_CHECKERS = {
    SCHEMA: check_gap,
    DISTANCE_SCHEMA: D.check_distance,
    FF.SCHEMA: FF.check_flowfile,
    CONVERGE_SCHEMA: CC.check_converge,
}

_MALFORMED = (KeyError, TypeError, ValueError, IndexError, AttributeError, ZeroDivisionError, OverflowError)


def check_file(path, strict: bool = False) -> CheckReport:
    """Read and check a certificate file; :class:`CertificateError` when it is
    unreadable or malformed."""
    return check_certificate(read_json(path), strict=strict)


def check_certificate(doc, strict: bool = False) -> CheckReport:
    """Re-verify every claim of a ``certify/gap-v2`` (or distance-v1, flow-v1,
    converge-v1) document (never modifies it); every failing claim is listed
    in ``failures``.  ``strict``: the rounding bound of every GD step from an
    Arb enclosure of the exact step, the flow's Taylor-model products in Arb
    balls (instead of float mid-rad a-posteriori bounds), all scalar
    recursions in Arb at 256 bits instead of 128."""
    from flint import ctx

    t0 = time.perf_counter()
    if not isinstance(doc, dict):
        raise CertificateError("certificate: expected a JSON object")
    if doc.get("schema") not in _CHECKERS:
        raise CertificateError(f"certificate: unknown schema {doc.get('schema')!r} (this checker reads {SCHEMA}, "
                               f"{DISTANCE_SCHEMA}, {CONVERGE_SCHEMA} and {FF.SCHEMA})")
    precheck(doc)  # steps, flow steps, order, checkpoints within the resource limits, before any work
    tally = Tally(doc)
    summary, stop = {}, None
    old = ctx.prec
    ctx.prec = 256 if strict else 128
    try:
        # one BLAS thread: the checker's many mid-sized products run several times
        # faster than with OpenBLAS threads on a shared 2-core machine (the bounds
        # are rigorous for any BLAS and any thread count)
        with np.errstate(over="ignore", invalid="ignore", under="ignore"), threadpool_limits(1):
            summary = _CHECKERS[doc["schema"]](doc, tally, strict)
    except V.Invalid as e:
        stop = tally.named(str(e)) + (" (checking stopped here)" if tally.count else "")
    except CertifyError as e:
        if not tally.count:
            raise
        stop = f"{e} (checking stopped here)"
    except _MALFORMED as e:
        if not tally.count:
            raise CertificateError(f"certificate: malformed ({type(e).__name__}: {e})") from e
        stop = f"certificate: malformed ({type(e).__name__}: {e}) (checking stopped here)"
    finally:
        ctx.prec = old
    failures = tally.failures(stop)
    n_failures = tally.count + (stop is not None)
    return CheckReport(not failures, tally.n, failures, time.perf_counter() - t0, strict, {} if failures else summary,
                       n_failures)
