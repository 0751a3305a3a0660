"""The shape of a ``certify/converge-v1`` certificate: the JSON Schema shipped
in ``certify/schemas/converge-v1.json`` (validated by :mod:`._schema`, every
object closed, the embedded ``certify/gap-v2`` certificate included), the
statement and the source tag constants of the schema.  The numbers are then
re-derived by :func:`certify.check._check_converge`.

A violation is reported as

- *invalid* (exit 1) when the certificate claims something the checker does
  not confirm: a different statement or source, or a field the schema does not
  have (a fabricated claim: ``search``, ``acgh19``, ``t_gf_exact`` or
  ``gap_upper_strict`` inside a checkpoint ...);
- *malformed* (exit 2, :class:`certify.CertificateError`) otherwise (a
  missing field, a string where a number belongs ...).
"""

from __future__ import annotations

from . import _schema
from ._schema import _compiled, _compiled_scalar, _fast_ok, _joined_matcher  # noqa: F401  (tests use them)

SCHEMA_NAME = "certify/converge-v1"


def schema() -> dict:
    """The converge-v1 JSON Schema shipped with the package (shared, do not modify)."""
    return _schema._loaded("converge-v1")


def _validator(kind: str = "converge-v1"):
    """The accelerated Draft 2020-12 validator of the shipped ``kind`` schema
    (:func:`certify.check._schema.validator`)."""
    return _schema.validator(kind)


def statement() -> str:
    """The one statement a converge-v1 certificate may make (the schema's constant)."""
    return schema()["properties"]["claims"]["properties"]["statement"]["const"]


def source() -> str:
    return schema()["properties"]["source"]["const"]


def validate(doc, invalid, kind: str = "converge-v1") -> None:
    """:func:`certify.check._schema.validate` (``kind``: converge-v1 by default)."""
    _schema.validate(doc, invalid, kind)
