"""``exo-spec rules``: every code the linter can report, with its one-line doc and severity."""

from __future__ import annotations

import argparse
import json
import sys

from exo_spec.check.registry import all_rules

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", choices=("text", "json"), default="text", dest="fmt")


def run(args: argparse.Namespace) -> int:
    rules = all_rules()
    if args.fmt == "json":
        rows = [
            {"code": r.code, "doc": r.doc, "severity": r.severity, "origin": r.origin}
            for r in rules
        ]
        sys.stdout.write(json.dumps(rows, indent=2) + "\n")
        return 0
    width = max(len(r.severity) for r in rules)
    for r in rules:
        sys.stdout.write(f"{r.code}  {r.severity:<{width}}  {r.doc}\n")
    return 0
