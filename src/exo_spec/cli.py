"""The ``exo-spec`` command line: ``main(argv) -> exit code``; never a traceback for bad input.

Exit codes (like ruff): 0 clean, 1 findings or a failed check, 2 usage or I/O error.
Each subcommand lives in its own module and is imported only when used, so ``exo-spec check``
never imports the runtime, transitions or mlx.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Protocol

from exo_spec.commands.common import EXIT_CODES_HELP, ExitCode

__all__ = ["ExitCode", "main"]


class _Command(Protocol):
    def add_arguments(self, parser: argparse.ArgumentParser) -> None: ...

    def run(self, args: argparse.Namespace) -> int: ...


def _load(name: str) -> ModuleType:
    """The module implementing command ``name``, imported only when that command runs."""
    match name:
        case "check":
            from exo_spec.commands import check

            return check
        case "rules":
            from exo_spec.commands import rules

            return rules
        case "matrix":
            from exo_spec.commands import matrix

            return matrix
        case "generate":
            from exo_spec.commands import generate

            return generate
        case "demo":
            from exo_spec.commands import demo

            return demo
        case "conformance":
            from exo_spec.commands import conformance

            return conformance
        case "trace-check":
            from exo_spec.commands import trace_check

            return trace_check
        case "explore":
            from exo_spec.commands import explore

            return explore
        case "node":
            from exo_spec.commands import node

            return node
    raise KeyError(name)


# name -> one-line help. A command's module defines ``add_arguments(parser)`` and
# ``run(args) -> int``.
COMMANDS: dict[str, str] = {
    "check": "lint a spec (and its generated code and bindings)",
    "rules": "list every code exo-spec reports, or explain one (rules CODE)",
    "matrix": "print a spec's state x task matrix",
    "generate": "generate the machine, its tests and docs",
    "demo": "run a full runner lifecycle on the embedded tiny model",
    "conformance": "check a runner implementation",
    "trace-check": "check a recorded event log",
    "node": "serve runners behind an OpenAI-compatible API",
    "explore": "model-check N runners, their supervisors, the planner and faults",
}


class _Parser(argparse.ArgumentParser):
    """argparse that reports usage errors with exit code 2 and no traceback."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        sys.stderr.write(f"{self.prog}: error: {message}\n")
        raise SystemExit(ExitCode.USAGE)


def build_parser(commands: dict[str, str]) -> argparse.ArgumentParser:
    from exo_spec import __version__

    parser = _Parser(
        prog="exo-spec",
        description="A formal model of an LLM runner's lifecycle.",
        epilog=EXIT_CODES_HELP,
    )
    parser.add_argument("--version", action="version", version=f"exo-spec {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name, help_text in commands.items():
        sub.add_parser(name, help=help_text, description=help_text, epilog=EXIT_CODES_HELP)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    commands = COMMANDS
    parser = build_parser(commands)
    name = next((a for a in args_list if not a.startswith("-")), None)
    if name in commands:
        module: _Command = _load(name)
        sub_parser = _Parser(
            prog=f"exo-spec {name}", description=commands[name], epilog=EXIT_CODES_HELP
        )
        module.add_arguments(sub_parser)
        index = args_list.index(name)
        run: Callable[[argparse.Namespace], int] = module.run
        try:
            return int(run(sub_parser.parse_args(args_list[index + 1 :])))
        except SystemExit as exc:
            return int(exc.code) if isinstance(exc.code, int) else int(ExitCode.USAGE)
        except KeyboardInterrupt:
            sys.stderr.write("exo-spec: interrupted\n")
            return int(ExitCode.INTERRUPTED)
    try:
        parser.parse_args(args_list)
    except SystemExit as exc:
        return int(exc.code) if isinstance(exc.code, int) else int(ExitCode.USAGE)
    parser.print_help(sys.stderr)
    return int(ExitCode.USAGE)
