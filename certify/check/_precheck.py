"""Resource limits of ``certify check`` decided from the certificate before any
work (certify/_limits.py): the number of GD steps, flow steps, checkpoints and
the Taylor order a certificate asks the checker to replay."""

from __future__ import annotations

from .. import _limits
from .._errors import CertificateError


def _int_or_none(x):
    return x if isinstance(x, int) and not isinstance(x, bool) else None


def precheck(doc, where: str = "certificate") -> None:
    """Refuse (:class:`CertificateError`, one line naming the limit) a
    certificate whose replay would exceed a resource limit.  Fields that are
    missing or of the wrong type are left to the checker's own messages."""
    if not isinstance(doc, dict):
        return
    gap = doc.get("gap") if doc.get("schema") == "certify/converge-v1" else doc
    w = f"{where}.gap" if gap is not doc else where
    if not isinstance(gap, dict):
        return
    try:
        steps = _int_or_none(gap.get("steps"))
        if steps is not None:
            _limits.check("steps", steps, f"{w}.steps")
        flow = gap.get("flow")
        if isinstance(flow, dict):
            order = _int_or_none(flow.get("order"))
            if order is not None:
                _limits.check("order", order, f"{w}.flow.order")
            fsteps = flow.get("steps")
            if isinstance(fsteps, list):
                _limits.check("flow-steps", len(fsteps), f"{w}.flow.steps (count)")
                for i, st in enumerate(fsteps):
                    o = _int_or_none(st.get("order")) if isinstance(st, dict) else None
                    if o is not None:
                        _limits.check("order", o, f"{w}.flow.steps[{i}].order")
        claims = gap.get("claims")
        if isinstance(claims, dict) and isinstance(claims.get("checkpoints"), list):
            _limits.check("checkpoints", len(claims["checkpoints"]), f"{w}.claims.checkpoints (count)")
    except _limits.ResourceLimitError as e:
        raise CertificateError(str(e)) from e
