"""What a check found: :class:`CheckReport`, its one-line summary
(:func:`format_report`) and the collector the claim checks report to
(:class:`Tally`).

Every claim check counts itself (``tally.n += 1``) and, when the claim is not
confirmed, calls :meth:`Tally.fail` with a message that starts with the
claim's JSON path (``claims.checkpoints[3].gap_upper: ...``) and goes on: a
certificate with three falsified numbers gets three failures.  The failures
are listed in document order (the order of the keys and array entries in
the file; several failures of one field in the order they were found),
the first :data:`CAP` of them, then one line counting the rest.

A claim computed from other claims is replayed from the *claimed* inputs
(``certify/schemas/gap-v2.md``), so falsifying an input of a recursion (a
segment's ``round``, a flow step's ``delta``) also makes the next derived
claim (that segment's ``r``, that step's ``e1``) inconsistent, and both are
listed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field as dc_field

#: at most this many failures are listed (then one line "... and N more")
CAP = 100

_PATH = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*|\[\d+\])*")
_PART = re.compile(r"([A-Za-z_]\w*)|\[(\d+)\]")


@dataclass(frozen=True)
class CheckReport:
    """``valid``; ``checked`` claims confirmed; ``failures`` the messages (at
    most :data:`CAP` failing claims in document order, a line counting the
    rest, and the structural problem that stopped the check if one did);
    ``n_failures`` how many there were in all (0 when valid)."""

    valid: bool
    checked: int
    failures: list = dc_field(default_factory=list)
    seconds: float = 0.0
    strict: bool = False
    summary: dict = dc_field(default_factory=dict)
    n_failures: int = 0


def doc_position(doc, path: str) -> tuple:
    """Sort key of the JSON path ``path`` (``claims.checkpoints[3].gap_upper``)
    in document order: per level the key's position in its object or the
    index in its array.  A part the document does not have sorts after its
    parent's children."""
    key, node = [], doc
    for name, idx in _PART.findall(path):
        if name and isinstance(node, dict) and name in node:
            key.append(list(node).index(name))
            node = node[name]
        elif idx and isinstance(node, list) and int(idx) < len(node):
            key.append(int(idx))
            node = node[int(idx)]
        else:
            key.append(len(node) if isinstance(node, (dict, list)) else 0)
            break
    return tuple(key)


class Tally:
    """The claims checked (``n``) and the failing ones (:meth:`fail`) of one
    check of ``doc``.  ``prefix`` is prepended to the messages (``gap.`` while
    the gap certificate embedded in a converge certificate is checked)."""

    __slots__ = ("n", "count", "prefix", "_doc", "_kept", "_cap")

    def __init__(self, doc, cap: int = CAP):
        self.n = 0
        self.count = 0  # failures, all of them (beyond the cap too)
        self.prefix = ""
        self._doc = doc
        self._kept = []  # (document position, order found, message)
        self._cap = cap

    def named(self, msg: str) -> str:
        """``msg`` with the current prefix (messages about the top-level document, ``certificate...``, keep theirs)."""
        return msg if msg.startswith("certificate") else self.prefix + msg

    def fail(self, msg: str) -> None:
        """Record a claim the checker does not confirm and go on."""
        msg = self.named(msg)
        self.count += 1
        m = _PATH.match(msg)
        path = m.group(0) if m else ""
        if path.startswith("certificate"):
            path = path[len("certificate"):]
        self._kept.append((doc_position(self._doc, path), self.count, msg))
        if len(self._kept) >= 2 * self._cap + 64:  # bounded memory: keep the first cap in document order
            self._kept.sort()
            del self._kept[self._cap:]

    def failures(self, stop: str | None = None) -> list:
        """The messages to report: the first ``cap`` failures in document
        order, a line counting the rest, then ``stop`` (what ended the check early)."""
        out = [m for _, _, m in sorted(self._kept)[: self._cap]]
        if self.count > self._cap:
            out.append(f"... and {self.count - self._cap} more failing claims (the first {self._cap} in "
                       "document order are listed)")
        if stop is not None:
            out.append(stop)
        return out


def format_report(rep: CheckReport, verbose: bool = False) -> str:
    """The one-line summary of ``rep`` (``VALID: ...`` or ``INVALID: <first
    failure>``, with the number of further failures); ``verbose``: followed by
    every listed failure, one a line."""
    if rep.valid and "flow" in rep.summary:
        s = rep.summary
        return (f"VALID: all {rep.checked} claims confirmed in {rep.seconds:.2f}s ({s['flow_steps']} flow steps, "
                f"{s['checkpoints']} checkpoints to t = {s['t_end']:g}; largest radius {s['max_radius']:.3e})")
    if rep.valid and "distance" in rep.summary:
        s = rep.summary
        return (f"VALID: all {rep.checked} claims confirmed in {rep.seconds:.2f}s ({s['runs']} GD runs, "
                f"{s['steps']} GD steps; max distance upper bound {s['max_dist_upper']:.6e})")
    if rep.valid and "converge" in rep.summary:
        s = rep.summary
        return (f"VALID: all {rep.checked} claims confirmed in {rep.seconds:.2f}s: exact GD with eta = {s['eta']!r} "
                f"has loss <= {s['gd_loss_upper']:.6g} <= eps = {s['eps']:g} at step K = {s['K']} "
                f"(GF loss <= {s['gf_loss_upper']:.6g} at K eta; {s['converge']})")
    if rep.valid:
        s = rep.summary
        return (f"VALID: all {rep.checked} claims confirmed in {rep.seconds:.2f}s "
                f"({s.get('steps', '?')} GD steps, {s.get('flow_steps', '?')} flow steps, "
                f"{s.get('checkpoints', '?')} checkpoints; max gap upper bound {s.get('max_gap_upper', float('nan')):.6e})")
    more = max(rep.n_failures, len(rep.failures)) - 1
    line = f"INVALID: {rep.failures[0]}"
    if more > 0:
        line += f" (and {more} more; {'listed below' if verbose else 'certify check --verbose lists them'})"
    if verbose:
        line += "".join(f"\n  {m}" for m in rep.failures)
    return line
