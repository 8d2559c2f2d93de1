"""``exo-spec conformance --runner module:callable``: drive a runner through a spec's paths.

Exit 0 when the runner conforms, 1 on any violation, 2 for a usage error (a runner that cannot
be imported, a spec that does not load, an output file that cannot be written).
Violations are ``EXS5xx`` codes; ``--select``/``--ignore`` filter them like the linter's, and
``--format sarif|github`` reports them at the spec rule they break.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from attrs import evolve

from exo_spec.check.report import FORMATS
from exo_spec.check.report import render as render_diagnostics
from exo_spec.commands.common import ExitCode, add_report_options, add_spec_option
from exo_spec.extras import require
from exo_spec.spec.codes import selected

if TYPE_CHECKING:
    from exo_spec.conformance.suite import Report

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--runner",
        required=True,
        metavar="MODULE:CALLABLE",
        help="the runner: run(context, engine, tasks, emit)",
    )
    add_spec_option(parser)
    add_report_options(parser, (*FORMATS, "junit"))
    parser.add_argument("--output", type=Path, default=None, help="write the report here")
    parser.add_argument("--examples", type=int, default=100, help="random walks (default 100)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random walks")
    parser.add_argument(
        "--timeout",
        type=float,
        default=2.0,
        help="seconds a runner may take on one scenario (default 2)",
    )
    parser.add_argument(
        "--budget",
        type=float,
        default=60.0,
        help="seconds the whole run may take; scenarios left then are listed (default 60)",
    )


def _selected(report: Report, args: argparse.Namespace) -> Report:
    """The report with only the violations ``--select``/``--ignore`` keep."""
    results = tuple(
        evolve(
            r,
            violations=tuple(v for v in r.violations if selected(v.code, args.select, args.ignore)),
        )
        for r in report.results
    )
    return evolve(report, results=results)


def _render(report: Report, fmt: str) -> str:
    from exo_spec.conformance.report import to_json, to_junit, to_text

    if fmt in ("sarif", "github"):
        found = [
            evolve(v.diagnostic, message=f"{v.scenario}: {v.message}") for v in report.violations
        ]
        return render_diagnostics(found, fmt, ("conformance",))[0]
    return {"text": to_text, "json": to_json, "junit": to_junit}[fmt](report)


def run(args: argparse.Namespace) -> int:
    require("exo-spec conformance", "conformance")
    from exo_spec.commands.common import load_spec_option
    from exo_spec.conformance.report import to_text
    from exo_spec.conformance.scenario import ScenarioError
    from exo_spec.conformance.suite import resolve_runner, run_suite

    if args.examples < 0 or args.timeout <= 0 or args.budget <= 0:
        sys.stderr.write(
            "exo-spec conformance: --examples must be >= 0, --timeout and --budget > 0\n"
        )
        return ExitCode.USAGE
    try:
        runner = resolve_runner(args.runner)
    except ValueError as exc:  # resolve_runner turns whatever the import raises into this
        sys.stderr.write(f"exo-spec conformance: --runner {exc}\n")
        return ExitCode.USAGE
    spec = load_spec_option(args)
    if spec is None:
        return ExitCode.USAGE
    try:
        report = run_suite(
            runner,
            spec,
            runner_name=args.runner,
            examples=args.examples,
            walk_seed=args.seed,
            timeout_s=args.timeout,
            budget_s=args.budget,
        )
    except ScenarioError as exc:
        sys.stderr.write(f"exo-spec conformance: {exc}\n")
        return ExitCode.USAGE
    report = _selected(report, args)
    text = _render(report, args.fmt)
    if args.output is not None:
        try:
            args.output.write_text(text, encoding="utf-8")
        except OSError as exc:
            sys.stderr.write(f"exo-spec conformance: cannot write {args.output}: {exc.strerror}\n")
            return ExitCode.USAGE
        sys.stderr.write(to_text(report).splitlines()[-1] + "\n")
    else:
        sys.stdout.write(text)
    return ExitCode.OK if report.conformant else ExitCode.FINDINGS
