"""The certificate formats as JSON Schemas (Draft 2020-12), shipped in
``certify/schemas/<kind>.json``, and the checker's structural validation.

One schema per kind and version (``schemas/README.md``): ``gap-v2``,
``distance-v1``, ``flow-v1``, ``converge-v1`` (certificates ``certify check``
reads) and ``conditions-v1`` (the report of ``certify conditions --json``).
Every object is closed (``additionalProperties: false``).  The schemas are
read from the package's data (never fetched: their ``$id`` is under
``https://certify.invalid/``, and no schema refers to another file).

:func:`validate` is what the checker runs before it checks any claim.  A
violation is reported as

- *invalid* (exit 1) when the certificate claims something the checker does
  not confirm: a field the schema does not have (a fabricated claim: ``search``,
  ``acgh19``, ``t_gf_exact`` or ``gap_upper_strict`` inside a checkpoint ...),
  or a statement, lemma list or source other than the schema's constant;
- *malformed* (exit 2, :class:`certify.CertificateError`) otherwise (a
  missing field, a string where a number belongs ...),

in one line naming the JSON path of the field (``certificate.runs[0].steps``).

>>> from certify.check import schema
>>> schema("gap")["properties"]["schema"]
{'const': 'certify/gap-v2'}
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources

from .._errors import CertificateError, UsageError

#: the shipped schemas, by kind (``certify/<kind>`` is the documents' ``schema`` field)
KINDS = ("gap-v2", "distance-v1", "flow-v1", "converge-v1", "conditions-v1")
_ALIASES = {k.rsplit("-v", 1)[0]: k for k in KINDS}  # gap -> gap-v2, ... (the current version)

# fields earlier producers wrote that no checker can re-derive from the certificate
_REFUSED = {
    "search": "a search record (which trial step sizes were or were not certified) cannot be re-verified "
              "from the certificate",
    "acgh19": "ACGH19 Theorem 1's step-size bound is not re-derived by the checker (certify conditions "
              "reports it with its own margins)",
    "t_gf_exact": "the time at which the flow first reached eps/2 is a search result, not a checkable claim "
                  "(the claim is the flow's loss at K eta)",
}


def kind_of(name: str) -> str:
    """The shipped kind for ``name``: ``gap``, ``gap-v2`` or ``certify/gap-v2``
    (likewise for the other kinds); :class:`certify.UsageError` for any other name."""
    k = name[len("certify/"):] if isinstance(name, str) and name.startswith("certify/") else name
    k = _ALIASES.get(k, k)
    if k not in KINDS:
        raise UsageError(f"unknown schema kind {name!r}; the kinds are "
                         + ", ".join(f"{a} ({k})" for a, k in _ALIASES.items()))
    return k


def schema_kinds() -> tuple:
    """The kinds and versions of the shipped schemas (``gap-v2``, ...)."""
    return KINDS


def schema_text(kind: str) -> str:
    """The shipped file ``certify/schemas/<kind>.json`` as text (``kind`` as in :func:`kind_of`)."""
    return resources.files("certify").joinpath("schemas", f"{kind_of(kind)}.json").read_text(encoding="utf-8")


@lru_cache(maxsize=None)
def _loaded(kind: str) -> dict:
    return json.loads(schema_text(kind))


def schema(kind: str) -> dict:
    """The JSON Schema of a certificate kind (``gap``, ``gap-v2``, ``distance``,
    ``flow``, ``converge``, ``conditions``, with or without the version), a
    fresh dict each call; :class:`certify.UsageError` for an unknown kind."""
    return json.loads(schema_text(kind))


_SIMPLE_KEYS = {"type", "minimum", "exclusiveMinimum", "pattern", "const", "properties", "additionalProperties",
                "required", "items", "minItems", "maxItems", "description"}


def _fast_ok(sub: dict, x, cache: dict) -> bool:
    """True only if ``x`` certainly satisfies the subschema ``sub`` (a
    conservative fast path for long homogeneous arrays: segments, flow steps,
    matrices, hex vectors).  False means "not sure": jsonschema decides.
    Common shapes (objects of numbers, lists of strings) go through a
    predicate compiled once per subschema (:func:`_compiled`), with the same
    meaning as the general walk below."""
    f = cache.get(id(sub), _MISSING)
    if f is _MISSING:
        f = cache[id(sub)] = _compiled(sub, cache)
        cache.setdefault(("keep",), []).append(sub)  # keeps id(sub) unique while cached
    if f is not None:
        return f(x)
    return _fast_ok_walk(sub, x, cache)


_MISSING = object()


def _compiled_scalar(sub: dict, cache: dict):
    """A predicate for a scalar subschema (number/integer/null/string with the
    keys the general walk understands), or None."""
    if not isinstance(sub, dict) or not set(sub) <= _SIMPLE_KEYS or "const" in sub:
        return None
    if set(sub) & {"properties", "additionalProperties", "required", "items", "minItems", "maxItems"}:
        return None
    t = sub.get("type")
    types = t if isinstance(t, list) else [t] if t is not None else []
    if not types or not set(types) <= {"number", "integer", "null", "string"}:
        return None
    if "string" in types and "pattern" in sub:
        import re

        rx = re.compile(sub["pattern"])
    else:
        rx = None
    lo = sub.get("minimum")
    xlo = sub.get("exclusiveMinimum")
    ok_null = "null" in types
    ok_num = "number" in types
    ok_int = "integer" in types
    ok_str = "string" in types

    def pred(x):
        tx = type(x)
        if x is None:
            return ok_null
        if (ok_num and tx in (int, float)) or (ok_int and tx is int):
            return (lo is None or x >= lo) and (xlo is None or x > xlo)
        if ok_str and tx is str:
            return rx is None or rx.search(x) is not None
        return False

    # the general walk tries the types in order and returns at the first
    # matching one; with disjoint python types the order does not matter,
    # except "number" before "integer" (both accept int): identical results
    return pred


def _compiled(sub, cache):
    """A predicate equal to :func:`_fast_ok_walk` on ``sub`` for flat objects
    whose properties are scalar subschemas, and for arrays of scalars; None
    otherwise (the general walk is used)."""
    if not isinstance(sub, dict) or not set(sub) <= _SIMPLE_KEYS or "const" in sub:
        return None
    t = sub.get("type")
    if t == "object":
        props = sub.get("properties", {})
        if sub.get("additionalProperties", True) is not False:
            return lambda x: False if type(x) is dict else _fast_ok_walk(sub, x, cache)
        preds = {k: _compiled_scalar(v, cache) for k, v in props.items()}
        if any(p is None for p in preds.values()):
            return None
        req = frozenset(sub.get("required", ()))

        def pred_obj(x):
            if type(x) is not dict:
                return False
            if not req <= x.keys():
                return False
            for k, v in x.items():
                p = preds.get(k)
                if p is None or not p(v):
                    return False
            return True

        return pred_obj
    if t == "array":
        items = sub.get("items")
        p = _compiled_scalar(items, cache) if items is not None else None
        if p is None:
            return None
        mn, mx = sub.get("minItems", 0), sub.get("maxItems")
        whole = _joined_matcher(items)

        def pred_arr(x):
            if type(x) is not list or not (mn <= len(x) and (mx is None or len(x) <= mx)):
                return False
            if whole is not None and len(x) > 64 and all(type(v) is str for v in x):
                # one C-level match over the items joined by newlines instead of one per item
                joined = "\n".join(x)
                if joined.count("\n") == len(x) - 1:  # no item contains a newline
                    return whole.fullmatch(joined) is not None
            return all(map(p, x))

        return pred_arr
    return None


def _joined_matcher(items):
    """For a string item schema ``{"type": "string", "pattern": "^BODY$"}``
    whose BODY cannot match a newline: a regex matching exactly the
    newline-joined lists of strings that each match the pattern (the caller
    checks that no item contains a newline).  None if not of that form."""
    import re

    if not isinstance(items, dict) or set(items) != {"type", "pattern"} or items["type"] != "string":
        return None
    pat = items["pattern"]
    if not (pat.startswith("^") and pat.endswith("$")):
        return None
    body = pat[1:-1]
    plain = re.sub(r"\\[.+\-()|?*{}\[\]^$]", "", body)  # escaped literals cannot match a newline
    # anything that could match a newline, or anchors inside: leave it to the per-item path
    if any(tok in plain for tok in (".", "^", "$", "\\")):
        return None
    return re.compile(f"(?:{body})(?:\n(?:{body}))*")


def _fast_ok_walk(sub: dict, x, cache: dict) -> bool:
    if not isinstance(sub, dict) or not set(sub) <= _SIMPLE_KEYS:
        return False
    t = sub.get("type")
    types = t if isinstance(t, list) else [t] if t is not None else []
    if "const" in sub:
        c = sub["const"]
        if isinstance(c, str):
            return type(x) is str and x == c
        if isinstance(c, list) and all(type(v) is str for v in c):
            return type(x) is list and all(type(v) is str for v in x) and x == c
        return False
    if not types:
        return False
    for ty in types:
        if ty == "null" and x is None:
            return True
        if ty == "number" and type(x) in (int, float) or ty == "integer" and type(x) is int:
            if "minimum" in sub and not x >= sub["minimum"]:
                return False
            if "exclusiveMinimum" in sub and not x > sub["exclusiveMinimum"]:
                return False
            return True
        if ty == "string" and type(x) is str:
            if "pattern" in sub:
                rx = cache.get(sub["pattern"])
                if rx is None:
                    import re

                    rx = cache[sub["pattern"]] = re.compile(sub["pattern"])
                return rx.search(x) is not None
            return True
        if ty == "array" and type(x) is list:
            if not sub.get("minItems", 0) <= len(x) <= sub.get("maxItems", len(x)):
                return False
            items = sub.get("items")
            return items is None or all(_fast_ok(items, v, cache) for v in x)
        if ty == "object" and type(x) is dict:
            props = sub.get("properties", {})
            if sub.get("additionalProperties", True) is not False or not set(x) <= set(props):
                return False
            if not set(sub.get("required", ())) <= set(x):
                return False
            return all(_fast_ok(props[k], v, cache) for k, v in x.items())
    return False


@lru_cache(maxsize=None)
def validator(kind: str):
    """A Draft 2020-12 validator of the shipped ``kind`` schema, with one change
    of speed, not of meaning: ``items`` first tries the conservative fast path
    on each element and leaves to jsonschema every element it is not sure
    about (200,000 segments: seconds, not a minute)."""
    import jsonschema
    from jsonschema import validators

    base = jsonschema.Draft202012Validator  # the shipped schemas themselves: checked by tests/test_schemas.py
    default_items = base.VALIDATORS["items"]
    cache: dict = {}

    def items(validator, sub, instance, sch):
        if "prefixItems" in sch or not validator.is_type(instance, "array"):
            yield from default_items(validator, sub, instance, sch)
            return
        for i, x in enumerate(instance):
            if not _fast_ok(sub, x, cache):
                yield from validator.descend(x, sub, path=i)

    cls = validators.extend(base, {"items": items})
    return cls(_loaded(kind_of(kind)))


def _where(path) -> str:
    out = "certificate"
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else f".{p}"
    return out


def validate(doc, invalid, kind: str) -> None:
    """Raise ``invalid(message)`` (a claim not confirmed) or :class:`CertificateError`
    (malformed) on the first violation of the ``kind`` schema; ``invalid`` is
    the checker's exception class for failed claims."""
    import jsonschema

    kind = kind_of(kind)
    SCHEMA_NAME = f"certify/{kind}"
    errors = list(validator(kind).iter_errors(doc))
    if not errors:
        return
    err = jsonschema.exceptions.best_match(errors)
    # an unexpected key anywhere is reported by name (fabricated claims are the point of the schema)
    extra = [e for e in errors if e.validator == "additionalProperties"]
    deep = [e for e in _all_errors(errors) if e.validator == "additionalProperties"]
    if extra or deep:
        # inside a oneOf (the loss), the branch with the fewest unexpected keys is the intended one
        e = min(extra or deep, key=lambda x: len(set(x.instance) - set(x.schema.get("properties", {}))))
        keys = sorted(set(e.instance) - set(e.schema.get("properties", {})))
        path = list(e.absolute_path)
        where = _where(path)
        why = "; ".join(f"{k}: {_REFUSED[k]}" for k in keys
                        if (path == [] and k in ("search", "acgh19")) or (path == ["claims"] and k == "t_gf_exact"))
        raise invalid(f"{where}: unknown field(s) {', '.join(map(repr, keys))}: not part of {SCHEMA_NAME}, "
                      "the checker confirms no claim it does not re-derive" + (f" ({why})" if why else ""))
    consts = [e for e in _all_errors(errors) if e.validator == "const"]
    if consts:
        e = consts[0]
        raise invalid(f"{_where(e.absolute_path)}: differs from the {SCHEMA_NAME} schema's constant (the checker "
                      "confirms only that one)")
    nots = [e for e in errors if e.validator == "not"]
    if nots:
        raise invalid(f"{_where(nots[0].absolute_path)}: a partial gap certificate does not support the "
                      f"{SCHEMA_NAME} statement (which needs the gap at step K)")
    raise CertificateError(f"{_where(err.absolute_path)}: malformed ({err.message[:200]})")


def _all_errors(errors):
    stack = list(errors)
    while stack:
        e = stack.pop(0)
        yield e
        stack.extend(e.context or [])


__all__ = ["KINDS", "kind_of", "schema", "schema_kinds", "schema_text", "validate", "validator"]
