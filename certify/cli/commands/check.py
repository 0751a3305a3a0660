"""``certify check`` (the independent checker) and ``certify schema`` (the shipped JSON Schemas)."""

from __future__ import annotations

import sys

from certify import check

from ..._errors import UsageError


def cmd_check(args) -> int:
    report = check.check_file(args.certificate, strict=args.strict)
    sys.stdout.write(check.format_report(report, verbose=args.verbose).rstrip("\n") + "\n")
    return 0 if report.valid else 1


def cmd_schema(args) -> int:
    if args.list == (args.kind is not None):
        raise UsageError("give a KIND or --list (see 'certify schema --help')")
    if args.list:
        for kind in check.schema_kinds():
            sys.stdout.write(f"{kind:<15}{check.schema(kind)['title']}\n")
        return 0
    text = check.schema_text(args.kind)
    sys.stdout.write(text if text.endswith("\n") else text + "\n")
    return 0
