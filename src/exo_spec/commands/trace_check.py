"""``exo-spec trace-check TRACE.jsonl``: check a recorded event log against a spec, offline.

The format is described in ``exo_spec/conformance/README.md`` and :mod:`exo_spec.conformance.tracelog`.
Exit 0 when the log conforms, 1 on any problem, 2 when the log or the spec cannot be read.
Problems are ``EXS6xx`` codes (the log on its own) and ``EXS5xx`` codes (the log against the
model, when it has task lines), reported in any ``--format`` and filtered by ``--select``/``--ignore``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from exo_spec.check.report import FORMATS, render
from exo_spec.commands.common import ExitCode, add_report_options, add_spec_option
from exo_spec.spec.codes import selected

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("trace", type=Path, help="a JSON Lines event log")
    add_spec_option(parser)
    add_report_options(parser, FORMATS)


def run(args: argparse.Namespace) -> int:
    from exo_spec.commands.common import load_spec_option
    from exo_spec.conformance.tracelog import check_trace

    spec = load_spec_option(args)
    if spec is None:
        return ExitCode.USAGE
    try:
        text = args.trace.read_text(encoding="utf-8")
    except OSError as exc:
        reason = exc.strerror or str(exc)
        sys.stderr.write(f"exo-spec trace-check: cannot read {args.trace}: {reason}\n")
        return ExitCode.USAGE
    except UnicodeDecodeError as exc:
        sys.stderr.write(f"exo-spec trace-check: cannot read {args.trace}: not UTF-8 ({exc})\n")
        return ExitCode.USAGE
    problems = [
        p
        for p in check_trace(spec, text.splitlines(), str(args.trace))
        if selected(p.code, args.select, args.ignore)
    ]
    out, err = render(problems, args.fmt, ("conformance", "trace-check"))
    sys.stdout.write(out)
    if not problems and args.fmt == "text":
        sys.stdout.write(f"{args.trace}: conforms to {args.spec}\n")
    sys.stderr.write(err)
    return ExitCode.FINDINGS if problems else ExitCode.OK
