"""Certificates as files (SPEC S6): deterministic JSON (:func:`dumps_json`: sorted keys, round-trip
floats, one trailing newline: same input, byte-identical certificate), atomic writes (a temporary file
in the target folder, then a rename: never a partial or corrupt output file) and the provenance block.
The formats themselves are the JSON Schemas and contracts shipped in ``certify/schemas/`` (``certify
schema KIND`` prints one; the independent checker :mod:`certify.check` validates against them)."""

from .provenance import provenance
from .writing import check_writable, dumps_json, write_bytes_atomic, write_json_atomic

__all__ = ["check_writable", "dumps_json", "provenance", "write_bytes_atomic", "write_json_atomic"]
