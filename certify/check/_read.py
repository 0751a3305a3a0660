"""Reading a certificate: the file (size limit, UTF-8, strict JSON: no NaN or
infinity, no duplicate key) and its problem (explicit weights and data).
Everything here is structural: a problem raises :class:`certify.CertificateError`
(exit 2) and the check does not start."""

from __future__ import annotations

import json
from pathlib import Path

from .. import _limits
from .._errors import CertificateError
from . import _verify as V


def read_json(path):
    """The JSON document in the file ``path``; :class:`CertificateError` when
    it is unreadable, too large, not JSON, or ambiguous (a duplicate key)."""
    p = Path(path)
    try:
        if p.is_dir():
            raise CertificateError(f"cannot read certificate {p}: it is a folder")
        if p.exists():
            try:
                _limits.check_text_size(p.stat().st_size, str(p))
            except _limits.ResourceLimitError as e:
                raise CertificateError(str(e)) from e
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise CertificateError(f"cannot read certificate {p}: {e.strerror if isinstance(e, OSError) else e}") from e

    def bad_constant(c):
        raise CertificateError(f"{p}: non-finite number {c} in the certificate")

    def no_duplicates(pairs):
        keys = [k for k, _ in pairs]
        if len(set(keys)) != len(keys):
            dup = next(k for k in keys if keys.count(k) > 1)
            raise CertificateError(f"{p}: duplicate key {dup!r} (a reader could see another claim than the one checked)")
        return dict(pairs)

    try:
        # nesting, integer sizes and file size are refused before any work (certify/_limits.py)
        return _limits.loads_json(text, str(p), CertificateError, parse_constant=bad_constant,
                                  object_pairs_hook=no_duplicates)
    except json.JSONDecodeError as e:
        raise CertificateError(f"{p}: not valid JSON ({e.msg} at line {e.lineno})") from e


#: loss kinds the problem loader reads but this checker has no kernels for; a certificate on one
#: of them is unreadable here (exit 2), not rejected.  (Every kind is supported now: cross-entropy
#: and logistic by the checker's own kernels, gap-v2.md section 8.)
NOT_YET: tuple = ()


def require_supported_loss(pspec, where: str) -> None:
    """:class:`CertificateError` (exit 2) for a problem whose loss this checker has no kernels
    for, before anything else (its schema would call the document invalid, exit 1)."""
    loss = pspec.get("loss") if isinstance(pspec, dict) else None
    kind = loss.get("kind") if isinstance(loss, dict) else None
    if kind in NOT_YET:
        raise CertificateError(f"{where}.loss: the {kind} loss is not supported by this checker version (issue 12)")


def explicit_problem(doc: dict):
    """The certificate's problem; it must be explicit: weights and data, not a
    seed or a dataset name whose meaning depends on the local random generator,
    LAPACK or data files."""
    from .._problem import problem_from_dict

    pspec = V.field(doc, "problem", "certificate", dict)
    if "weights" not in V.field(pspec, "init", "problem", dict):
        raise CertificateError("certificate.problem.init: explicit weights are required")
    if "dataset" in V.field(pspec, "loss", "problem", dict):
        raise CertificateError("certificate.problem.loss: explicit X and Y are required, not a dataset name")
    return problem_from_dict(pspec, name="certificate.problem")
