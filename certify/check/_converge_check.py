"""The shape of a ``certify/converge-v1`` certificate: the JSON Schema shipped
in ``certify/schemas/converge-v1.json`` (validated by :mod:`._schema`, every
object closed, the embedded ``certify/gap-v2`` certificate included), the
statement and the source tag constants of the schema; then the numbers,
re-derived by :func:`check_converge` (the loss bounds: :mod:`._lossbox`).

A violation is reported as

- *invalid* (exit 1) when the certificate claims something the checker does
  not confirm: a different statement or source, or a field the schema does not
  have (a fabricated claim: ``search``, ``acgh19``, ``t_gf_exact`` or
  ``gap_upper_strict`` inside a checkpoint ...);
- *malformed* (exit 2, :class:`certify.CertificateError`) otherwise (a
  missing field, a string where a number belongs ...).
"""

from __future__ import annotations

from .._errors import CertificateError
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


def check_converge(doc: dict, tally, strict: bool) -> dict:
    """``certify/converge-v1``: the shape (JSON Schema ``schemas/converge-v1.json``:
    no field the schema does not name, anywhere; the statement and source are
    its constants), the embedded gap certificate in full (its failures named
    ``gap.claims...``), then the loss bounds on the two balls with the
    checker's own box evaluation."""
    from flint import arb

    from .._problem import problem_from_dict
    from . import _arith as A
    from . import _verify as V
    from ._gap import SCHEMA as GAP_SCHEMA, check_gap
    from ._lossbox import loss_box_upper
    from ._read import require_supported_loss

    tally.n += 1
    gap_doc = doc.get("gap")
    require_supported_loss(gap_doc.get("problem") if isinstance(gap_doc, dict) else None, "certificate.gap.problem")
    validate(doc, V.Invalid)
    eps = V.num(doc, "eps", "certificate")
    eta = V.num(doc, "eta", "certificate")
    K = V.integer(doc, "K", "certificate", 1)
    gap = V.field(doc, "gap", "certificate", dict)
    if gap.get("schema") != GAP_SCHEMA:
        raise CertificateError(f"certificate.gap: expected a {GAP_SCHEMA} document")
    claims = V.field(doc, "claims", "certificate", dict)
    if not eps > 0:
        raise CertificateError("certificate.eps: must be > 0")
    tally.prefix = "gap."
    summary = check_gap(gap, tally, strict)
    tally.prefix = ""
    tally.n += 2
    if gap.get("eta") != eta or gap.get("steps") != K:
        tally.fail("eta/K: differ from the embedded gap certificate's eta/steps")
    problem = problem_from_dict(gap["problem"], name="certificate.gap.problem")
    last = gap["claims"]["checkpoints"][-1]
    if last["k"] != K:
        raise V.Invalid("gap: its last checkpoint is not step K")
    center = V.hexvec(last["gf_center_hex"], problem.n_params, "gap checkpoint K gf_center_hex")
    rho, gu = float(last["gf_radius"]), float(last["gap_upper"])
    R = V.num(claims, "ball_radius", "claims")
    V.truth("claims.ball_radius", R, A.hi(arb(rho) + arb(gu)), tally)
    gf = V.num(claims, "gf_loss_upper", "claims")
    V.truth("claims.gf_loss_upper", gf, loss_box_upper(problem, center, rho), tally)
    gd = V.num(claims, "gd_loss_upper", "claims")
    V.truth("claims.gd_loss_upper", gd, loss_box_upper(problem, center, R), tally)
    tally.n += 2
    if not gf <= eps / 2:
        tally.fail(f"claims.gf_loss_upper: {gf!r} > eps/2 = {eps / 2!r}")
    if not gd <= eps:
        tally.fail(f"claims.gd_loss_upper: {gd!r} > eps = {eps!r}")
    summary.update({"converge": "translation verified", "eps": eps, "eta": eta, "K": K,
                    "gf_loss_upper": gf, "gd_loss_upper": gd})
    return summary
