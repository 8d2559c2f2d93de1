"""``exo-spec conformance --runner module:callable``: drive a runner through a spec's paths.

Exit 0 when the runner conforms, 1 on any violation, 2 for a usage error (a runner that cannot
be imported, a spec that does not load, an output file that cannot be written).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--runner",
        required=True,
        metavar="MODULE:CALLABLE",
        help="the runner: run(context, engine, tasks, emit)",
    )
    parser.add_argument(
        "--spec",
        type=Path,
        default=None,
        help="the spec (default: the runner spec shipped with exo-spec)",
    )
    parser.add_argument("--format", choices=("text", "json", "junit"), default="text")
    parser.add_argument("--output", type=Path, default=None, help="write the report here")
    parser.add_argument("--examples", type=int, default=100, help="random walks (default 100)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random walks")
    parser.add_argument(
        "--timeout",
        type=float,
        default=2.0,
        help="seconds a runner may take on one scenario (default 2)",
    )


def run(args: argparse.Namespace) -> int:
    from exo_spec.check.report import to_text as diagnostics_text
    from exo_spec.conformance.paths import default_spec_path
    from exo_spec.conformance.report import to_json, to_junit, to_text
    from exo_spec.conformance.scenario import ScenarioError
    from exo_spec.conformance.suite import resolve_runner, run_suite
    from exo_spec.spec.loader import load_spec

    if args.examples < 0 or args.timeout <= 0:
        sys.stderr.write("exo-spec conformance: --examples must be >= 0 and --timeout > 0\n")
        return 2
    try:
        runner = resolve_runner(args.runner)
    except ValueError as exc:  # resolve_runner turns whatever the import raises into this
        sys.stderr.write(f"exo-spec conformance: --runner {exc}\n")
        return 2
    if args.spec is None:
        args.spec = default_spec_path()
    loaded = load_spec(args.spec)
    if loaded.spec is None:
        sys.stderr.write(diagnostics_text(loaded.diagnostics))
        return 2
    try:
        report = run_suite(
            runner,
            loaded.spec,
            runner_name=args.runner,
            examples=args.examples,
            walk_seed=args.seed,
            timeout_s=args.timeout,
        )
    except ScenarioError as exc:
        sys.stderr.write(f"exo-spec conformance: {exc}\n")
        return 2
    render = {"text": to_text, "json": to_json, "junit": to_junit}[args.format]
    text = render(report)
    if args.output is not None:
        try:
            args.output.write_text(text, encoding="utf-8")
        except OSError as exc:
            sys.stderr.write(f"exo-spec conformance: cannot write {args.output}: {exc.strerror}\n")
            return 2
        sys.stderr.write(to_text(report).splitlines()[-1] + "\n")
    else:
        sys.stdout.write(text)
    return 0 if report.conformant else 1
