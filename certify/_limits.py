"""Resource limits, decided up front from the inputs (issue 13).

Every command checks its inputs against these limits *before* any work, so
that every command on a small problem either finishes within about a minute
on the project's CI-class machine (2 cores) or refuses at once with one line
that names the limit and how to raise it.  Each limit has a default, an
environment variable ``CERTIFY_MAX_...`` and (where a command has the knob) a
``--max-...`` command-line option; a raised limit is the user's decision.

The defaults (measured 2026-12-01 on an 8-parameter problem, 2 shared cores):

- ``steps`` 200,000 GD steps (``gap``, ``converge``; 100,000 steps: 21 s, 34 MB);
- ``flow-steps`` 5,000 validated flow steps (about 4-6 ms each: 30 s);
- ``checkpoints`` 5,000 (every checkpoint ends a flow step: ``flow --t-end
  1000 --checkpoints 10000`` took 63 s; ``curvature`` evaluates each one);
- ``horizon`` 1,000 time units (``flow --t-end``, ``converge --t-max``,
  ``conditions --t-end``, ``curvature --t-end``, ``gap`` ``steps * eta``):
  the flow takes at least about one step per time unit near a minimum
  (T = 10,000: 10,022 steps, 42 s);
- ``rows`` 1,000 rows of ``curvature`` (each a flow step end with dense and
  S3.1 curvature bounds; T = 1000 with 5,000 rows and the default scales: 82 s,
  1,000 rows: 15 s);
- ``order`` 600 (Taylor order; Arb 2048 bits, order 600, T = 1: 19 s), and at
  least ``prec / 10`` (an order ``p`` step is about ``2^(-prec/p)`` long:
  ``--order 3`` in float64 needs 2e5 steps per time unit);
- ``prec`` 1024 bits (Arb; T = 1 with 10 checkpoints at the default order:
  2048 bits 50 s, 4096 bits longer);
- ``derive-depth`` 20 (the symbolic derivation; depth 16: 11 s, 24: 37 s);
- ``json-depth`` 64 nested arrays/objects in a problem or certificate file
  (the deepest legitimate file, a converge-v1 certificate, nests 7 deep);
- ``int-digits`` 400 digits of an integer in a problem or certificate file
  (binary64 numbers have at most 309 integer digits; Python refuses to
  convert more than 4,300 anyway);
- ``file-bytes`` 4 GiB of input file.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass

from ._errors import TooLargeError

__all__ = ["LIMITS", "ResourceLimitError", "check", "check_min_order", "get", "loads_json", "set_override"]


class ResourceLimitError(TooLargeError):
    """An input exceeds a resource limit (exit code 2)."""


@dataclass(frozen=True)
class Limit:
    name: str
    default: float
    what: str
    option: str | None = None  # the command-line option that raises it, if any

    @property
    def env(self) -> str:
        return "CERTIFY_MAX_" + self.name.upper().replace("-", "_")


LIMITS = {x.name: x for x in (
    Limit("steps", 200_000, "GD steps", "--max-steps"),
    Limit("flow-steps", 5_000, "validated flow steps", "--max-flow-steps"),
    Limit("checkpoints", 5_000, "checkpoints", "--max-checkpoints"),
    Limit("horizon", 1_000, "time horizon", "--max-horizon"),
    Limit("rows", 1_000, "rows of the curvature table", "--max-rows"),
    Limit("order", 600, "Taylor order", "--max-order"),
    Limit("prec", 1024, "bits of Arb precision", "--max-prec"),
    Limit("derive-depth", 20, "depth for the symbolic derivation", "--max-derive-depth"),
    Limit("json-depth", 64, "nesting depth of a JSON/TOML file"),
    Limit("int-digits", 400, "digits of an integer in a JSON/TOML file"),
    Limit("file-bytes", 4 * 2**30, "bytes of an input file"),
)}

_overrides: dict[str, float] = {}


def set_override(name: str, value) -> None:
    """Raise (or lower) a limit for this process (the CLI's ``--max-...`` options)."""
    if name not in LIMITS:
        raise KeyError(name)
    if value is not None:
        _overrides[name] = float(value)


def reset_overrides() -> None:
    _overrides.clear()


def get(name: str) -> float:
    """The limit in force: a ``--max-...`` override, else ``CERTIFY_MAX_...``, else the default."""
    lim = LIMITS[name]
    if name in _overrides:
        return _overrides[name]
    raw = os.environ.get(lim.env)
    if raw is None or raw.strip() == "":
        return lim.default
    try:
        v = float(raw)
    except ValueError:
        v = math.nan
    if not v > 0:
        raise ResourceLimitError(f"{lim.env}={raw!r}: a limit must be a number > 0")
    return v


def how_to_raise(name: str) -> str:
    lim = LIMITS[name]
    return f"raise it with {lim.option} or {lim.env}=N" if lim.option else f"raise it with {lim.env}=N"


def _fmt(x) -> str:
    if isinstance(x, float) and not math.isfinite(x):
        return "infinite" if x == x else "NaN"  # e.g. --eta 1e308 times --steps overflows to inf
    if abs(x) >= 1e15 or isinstance(x, float) and not x.is_integer():
        return f"{float(x):.3g}" if abs(x) < 1e308 else f"about 10^{len(str(int(x))) - 1}"
    return f"{int(x):,}"


def check(name: str, value, what: str | None = None) -> None:
    """Refuse ``value`` above the limit ``name`` with one line naming the limit."""
    limit = get(name)
    if not value <= limit:  # also refuses NaN
        lim = LIMITS[name]
        raise ResourceLimitError(
            f"{what or lim.what} = {_fmt(value)} is beyond the resource limit '{name}' = {_fmt(limit)} "
            f"({lim.what}); {how_to_raise(name)}")


def check_min_order(order: int, prec_bits: int) -> None:
    """An order-``p`` Taylor step at ``prec`` bits is about ``2^(-prec/p)`` time
    units long: below ``p = prec/10`` the flow needs over 1,000 steps per time unit."""
    need = max(1, math.ceil(prec_bits / 10))
    if order < need:
        raise ResourceLimitError(
            f"--order {order} at {prec_bits} bits needs about 2^({prec_bits}/{order}) = "
            f"{2.0 ** (prec_bits / order):.3g} flow steps per time unit; use --order >= {need}")


# ---------------------------------------------------------------------------
# hostile files: nesting, huge integers, size
# ---------------------------------------------------------------------------


class _IntTooLong(ValueError):
    pass


def _int_parser(limit: float):
    def parse(s: str) -> int:
        digits = len(s) - (s[0] == "-")
        if digits > limit:
            raise _IntTooLong(digits)
        return int(s)

    return parse


def _parse_int(s: str) -> int:
    return _int_parser(get("int-digits"))(s)


def _text_depth(text: str) -> int:
    """Nesting depth of JSON text from its brackets alone (strings blanked out):
    one Python step per bracket, not per number (a 5,000,000-number matrix row
    costs two), and no recursion.  Without backslashes (every file certify
    writes) a quote always toggles "inside a string", so one vectorised pass
    over the bytes decides; otherwise the regex below blanks the strings."""
    import re

    if "\\" not in text and text.isascii():
        import numpy as np

        b = np.frombuffer(text.encode("ascii"), dtype=np.uint8)
        lut = np.zeros(256, dtype=np.int8)
        lut[[91, 123]], lut[[93, 125]] = 1, -1  # [ {  and  ] }
        pos = np.flatnonzero(lut[b])
        quotes = np.flatnonzero(b == 34)
        outside = (np.searchsorted(quotes, pos) & 1) == 0  # an even number of quotes before it
        return int(max(0, np.cumsum(lut[b[pos[outside]]], dtype=np.int64).max(initial=0)))
    blanked = re.sub(r'"(?:[^"\\]|\\.)*"', '""', text)
    best = depth = 0
    for ch in re.findall(r"[\[\]{}]", blanked):
        if ch in "[{":
            depth += 1
            if depth > best:
                best = depth
        else:
            depth -= 1
    return best


def _longest_digit_run(text: str) -> int:
    """Length of the longest run of ASCII digits in ``text`` (vectorised for
    ASCII text; the regex scan is 10x slower on a 10 MB certificate)."""
    if not text.isascii():
        import re

        return max((len(m) for m in re.findall(r"\d+", text)), default=0)
    import numpy as np

    b = np.frombuffer(text.encode("ascii"), dtype=np.uint8)
    cuts = np.flatnonzero((b - np.uint8(48)) > 9)  # every non-digit (uint8 wraps below '0')
    edges = np.concatenate(([-1], cuts, [b.size]))
    return int((np.diff(edges) - 1).max(initial=0))


def _depth(obj) -> int:
    """Nesting depth of a parsed JSON value, iteratively (no recursion)."""
    best, stack = 0, [(obj, 1)]
    while stack:
        x, d = stack.pop()
        if isinstance(x, dict):
            best = max(best, d)
            stack.extend((v, d + 1) for v in x.values())
        elif isinstance(x, list):
            best = max(best, d)
            stack.extend((v, d + 1) for v in x)
    return best


def check_text_size(nbytes: int, where: str) -> None:
    check("file-bytes", nbytes, f"{where}: size")


def loads_json(text: str, where: str, error, **kw):
    """``json.loads`` that refuses, with ``error(message)`` (an exception class
    taking one message), files nested beyond the ``json-depth`` limit
    (RecursionError of the parser included), integers longer than the
    ``int-digits`` limit and oversized text.  ``kw`` go to ``json.loads``;
    ``json.JSONDecodeError`` propagates for the caller's own message."""
    try:
        check_text_size(len(text), where)
    except ResourceLimitError as e:
        raise error(str(e)) from e
    import re

    d = _text_depth(text)
    if d > get("json-depth"):
        raise error(f"{where}: nested {d:,} deep, beyond the limit of {_fmt(get('json-depth'))} arrays/objects "
                    f"(resource limit 'json-depth'; {how_to_raise('json-depth')})")
    limit = get("int-digits")
    # an integer of more than `limit` digits needs a run of that many digits somewhere; without
    # one (the usual case) the C parser alone suffices (a Python parse_int hook is 50x slower)
    if _longest_digit_run(text) > min(limit, 10**6):
        kw = dict(kw, parse_int=_int_parser(limit))
    try:
        obj = json.loads(text, **kw)
    except RecursionError:
        raise error(f"{where}: nested deeper than the limit of {_fmt(get('json-depth'))} arrays/objects "
                    f"(resource limit 'json-depth'; {how_to_raise('json-depth')})") from None
    except _IntTooLong as e:
        raise error(f"{where}: an integer with {e.args[0]:,} digits exceeds the limit of "
                    f"{_fmt(get('int-digits'))} digits (resource limit 'int-digits'; {how_to_raise('int-digits')})"
                    ) from None
    return obj


def check_nesting(obj, where: str, error) -> None:
    d = _depth(obj)
    if d > get("json-depth"):
        raise error(f"{where}: nested {d} deep, beyond the limit of {_fmt(get('json-depth'))} arrays/objects "
                    f"(resource limit 'json-depth'; {how_to_raise('json-depth')})")


def loads_toml(text: str, where: str, error):
    """``tomllib.loads`` with the same refusals as :func:`loads_json`
    (``tomllib.TOMLDecodeError`` propagates)."""
    import tomllib

    try:
        check_text_size(len(text), where)
    except ResourceLimitError as e:
        raise error(str(e)) from e
    try:
        obj = tomllib.loads(text)
    except RecursionError:
        raise error(f"{where}: nested deeper than the limit of {_fmt(get('json-depth'))} arrays/tables "
                    f"(resource limit 'json-depth'; {how_to_raise('json-depth')})") from None
    except tomllib.TOMLDecodeError:
        raise
    except ValueError:  # int() of > 4,300 digits inside tomllib
        raise error(f"{where}: an integer of more than 4,300 digits exceeds the limit of {_fmt(get('int-digits'))} "
                    f"digits (resource limit 'int-digits')") from None
    check_nesting(obj, where, error)
    _check_ints(obj, where, error)
    return obj


def _check_ints(obj, where, error) -> None:
    stack = [obj]
    lim = get("int-digits")
    while stack:
        x = stack.pop()
        if isinstance(x, dict):
            stack.extend(x.values())
        elif isinstance(x, list):
            stack.extend(x)
        elif isinstance(x, int) and not isinstance(x, bool) and x.bit_length() > 3.33 * lim:
            raise error(f"{where}: an integer exceeds the limit of {_fmt(lim)} digits "
                        f"(resource limit 'int-digits'; {how_to_raise('int-digits')})")
