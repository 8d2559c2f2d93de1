"""``exo-spec rules [CODE]``: every code exo-spec reports, or one code's explanation and example."""

from __future__ import annotations

import argparse
import json
import sys

from exo_spec.commands.common import ExitCode
from exo_spec.spec.codes import BY_CODE, CODES
from exo_spec.spec.explain import explain

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("code", nargs="?", default=None, help="explain this code (EXS208)")
    parser.add_argument("--format", choices=("text", "json"), default="text", dest="fmt")


def run(args: argparse.Namespace) -> int:
    if args.code is not None:
        code = args.code.strip().upper()
        if code not in BY_CODE:
            sys.stderr.write(f"exo-spec rules: no code {args.code}; `exo-spec rules` lists them\n")
            return ExitCode.USAGE
        sys.stdout.write(explain(code))
        return ExitCode.OK
    if args.fmt == "json":
        rows = [
            {
                "code": c.code,
                "name": c.name,
                "doc": c.summary,
                "severity": c.severity,
                "origin": c.origin,
            }
            for c in CODES
        ]
        sys.stdout.write(json.dumps(rows, indent=2) + "\n")
        return ExitCode.OK
    width = max(len(c.severity) for c in CODES)
    for c in CODES:
        sys.stdout.write(f"{c.code}  {c.severity:<{width}}  {c.summary}\n")
    return ExitCode.OK
