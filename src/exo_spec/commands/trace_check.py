"""``exo-spec trace-check TRACE.jsonl``: check a recorded event log against a spec, offline.

The format is described in ``exo_spec/conformance/README.md`` and :mod:`exo_spec.conformance.tracelog`.
Exit 0 when the log conforms, 1 on any problem, 2 when the log or the spec cannot be read.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("trace", type=Path, help="a JSON Lines event log")
    parser.add_argument(
        "--spec",
        type=Path,
        default=None,
        help="the spec (default: the runner spec shipped with exo-spec)",
    )


def run(args: argparse.Namespace) -> int:
    from exo_spec.check.report import to_text
    from exo_spec.conformance.paths import default_spec_path
    from exo_spec.conformance.tracelog import check_trace
    from exo_spec.spec.loader import load_spec

    if args.spec is None:
        args.spec = default_spec_path()
    loaded = load_spec(args.spec)
    if loaded.spec is None:
        sys.stderr.write(to_text(loaded.diagnostics))
        return 2
    try:
        text = args.trace.read_text(encoding="utf-8")
    except OSError as exc:
        reason = exc.strerror or str(exc)
        sys.stderr.write(f"exo-spec trace-check: cannot read {args.trace}: {reason}\n")
        return 2
    except UnicodeDecodeError as exc:
        sys.stderr.write(f"exo-spec trace-check: cannot read {args.trace}: not UTF-8 ({exc})\n")
        return 2
    problems = check_trace(loaded.spec, text.splitlines())
    for problem in problems:
        sys.stdout.write(f"{args.trace}:{problem}\n")
    if not problems:
        sys.stdout.write(f"{args.trace}: conforms to {args.spec}\n")
    return 1 if problems else 0
