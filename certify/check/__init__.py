"""The independent checker of ``certify/gap-v2`` certificates (the trusted kernel).

It shares only the problem loader with the producer; the float GD iterates,
every rounding bound, spectral bound, S3.1 tube bound, Taylor model, Gronwall
and recursion replay are re-derived here with the checker's own arithmetic
(``_arith``: entrywise float64 mid-rad with a-posteriori bounds, python-flint
``arb`` scalars).  What each claim means and how it is confirmed is fixed by
``certify/schemas/gap-v2.md``.

>>> from certify.check import check_file            # doctest: +SKIP
>>> rep = check_file("certify-demo/gap.json")        # doctest: +SKIP
>>> rep.valid, rep.checked                           # doctest: +SKIP
(True, 61234)

Every kind the checker reads (gap-v2, distance-v1, flow-v1, converge-v1) is
first validated against its JSON Schema, shipped in ``certify/schemas/``
(:func:`schema`; :mod:`._schema`): a field the schema does not name, or a
statement other than its constant, is a claim not confirmed (exit 1); a
missing field or a wrong type is malformed (exit 2).

Every failing claim is reported, not only the first: ``CheckReport.failures``
lists them in document order, each naming the claim by its JSON path
(the first 100, then a line counting the rest; :mod:`._report`).  Problems
with the certificate's structure (unreadable, malformed, the wrong schema or
problem, missing data, which steps and checkpoints there are) stop the check
at once.

Exit codes of ``certify check``: 0 valid, 1 a claim fails (all named), 2 the
file is unreadable or malformed (:class:`certify.CertificateError`).

Modules: :mod:`._dispatch` (entry points), :mod:`._read` (file and problem),
:mod:`._report` (the report and the failure tally), :mod:`._gap`,
:mod:`._gd_check`, :mod:`._flowcheck`, :mod:`._distance_check`,
:mod:`._flowfile_check`, :mod:`._converge_check`, :mod:`._lossbox` (one
kind or part each), :mod:`._verify`, :mod:`._gdstep`, :mod:`._arith` (the
checker's own arithmetic), :mod:`._schema`, :mod:`._precheck` (structure
and resource limits).
"""

from __future__ import annotations

from ._dispatch import CONVERGE_SCHEMA, DISTANCE_SCHEMA, check_certificate, check_file  # noqa: F401
from ._gap import ITERATE_TOL, SCHEMA, STATEMENT  # noqa: F401
from ._lossbox import loss_box_upper as _loss_box_upper  # noqa: F401  (tests check its soundness)
from ._report import CAP, CheckReport, format_report  # noqa: F401
from ._schema import schema, schema_kinds, schema_text

# also importable, as before: SCHEMA, STATEMENT, CONVERGE_SCHEMA, DISTANCE_SCHEMA, ITERATE_TOL, CAP
__all__ = ["CheckReport", "check_certificate", "check_file", "format_report", "schema", "schema_kinds",
           "schema_text"]
