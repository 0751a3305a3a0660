"""Error types.  Every error the user can cause is a :class:`CertifyError`;
the CLI prints its message on one line and exits with its ``exit_code``."""

from __future__ import annotations


class CertifyError(Exception):
    """Base class of all errors that are the input's fault (exit code 2)."""

    exit_code = 2


class ProblemError(CertifyError, ValueError):
    """A problem specification is invalid.  ``field`` names the offending field."""

    def __init__(self, message: str, field: str | None = None):
        self.field = field
        super().__init__(f"{field}: {message}" if field else message)


class UsageError(CertifyError, ValueError):
    """An option or argument has a value outside its domain."""


class TooLargeError(CertifyError, ValueError):
    """The problem is too large for the requested method."""


class BlowUpError(CertifyError, ArithmeticError):
    """An iteration or the flow diverged (non-finite or astronomically large values)."""


class EnclosureError(CertifyError, ArithmeticError):
    """A validated enclosure could not be continued (tube invalid, step underflow...)."""


class CertificateError(CertifyError, ValueError):
    """A certificate file is unreadable or malformed (not: a claim that fails)."""


class NotCertified(EnclosureError):
    """The bounds stopped being useful before the requested horizon: a radius
    could not be bounded, or the certified bracket became vacuous.  Carries
    where (``k``, ``t``), why (``reason``) and the knob to turn (``knob``);
    ``certify gap --partial`` writes the certified prefix instead (exit 4)."""

    exit_code = 4

    def __init__(self, k, t, reason: str, knob: str):
        self.k, self.t, self.reason, self.knob = k, t, reason, knob
        where = f"step {k}, t={t:.6g}" if k is not None else f"t={t:.6g}"
        super().__init__(f"could not certify beyond {where}: {reason}; {knob}")
