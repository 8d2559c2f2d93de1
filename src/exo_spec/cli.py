"""The ``exo-spec`` command line: ``main(argv) -> exit code``; never a traceback for bad input.

Exit codes (like ruff): 0 clean, 1 findings or a failed check, 2 usage or I/O error (or a
missing extra), 130 interrupted, 141 output closed early (``| head``). Each subcommand lives in
its own module and is imported only when used, so ``exo-spec check`` never imports the runtime,
transitions or mlx.

What every command shares is handled here, once: ``-v``/``--log-level`` (the library's loguru
logs on stderr), a missing extra (one line naming it, exit 2), Ctrl-C, and a reader that closes
the pipe early (``exo-spec generate --check | head`` ends quietly).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Protocol

from exo_spec.commands.common import EXIT_CODES_HELP, ExitCode
from exo_spec.extras import extra_for

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
        case "diagram":
            from exo_spec.commands import diagram

            return diagram
    raise KeyError(name)


# name -> one-line help. A command's module defines ``add_arguments(parser)`` and
# ``run(args) -> int``.
COMMANDS: dict[str, str] = {
    "check": "lint a spec (and its generated code and bindings)",
    "rules": "list every code exo-spec reports, or explain one (rules CODE)",
    "matrix": "print a spec's state x task matrix",
    "diagram": "draw a spec's machine (Mermaid, Graphviz DOT or SVG)",
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


LOG_LEVELS = ("TRACE", "DEBUG", "INFO", "SUCCESS", "WARNING", "ERROR", "CRITICAL")


def add_global_options(parser: argparse.ArgumentParser) -> None:
    """``-v``/``--verbose`` and ``--log-level``: accepted before or after the command."""
    parser.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=0,
        help="show exo-spec's logs on stderr (-v info, -vv debug)",
    )
    parser.add_argument(
        "--log-level",
        type=str.upper,
        choices=LOG_LEVELS,
        metavar="LEVEL",
        help=f"show exo-spec's logs at LEVEL and above on stderr ({', '.join(LOG_LEVELS)})",
    )


def _split_global(args: list[str]) -> tuple[list[str], list[str]]:
    """The global options before the command, and the rest (the command and its arguments)."""
    index = 0
    while index < len(args) and args[index].startswith("-"):
        takes_value = args[index] == "--log-level"
        index += 2 if takes_value else 1
    return args[:index], args[index:]


# A daemon reports its life (placements, restarts, signals) on stderr unless told otherwise.
_DEFAULT_LEVELS = {"node": "INFO"}


def configure_logging(verbose: int, level: str | None, default: str | None = None) -> None:
    """Show the library's logs on stderr when asked (``-v`` info, ``-vv`` debug, or LEVEL),
    else at the command's ``default``; otherwise they stay off and loguru is not even
    imported."""
    if level is None and verbose == 0 and default is None:
        return
    from exo_spec.logs import show_logs

    chosen = level or {0: default, 1: "INFO"}.get(verbose, "DEBUG")
    show_logs(chosen or "INFO")


def _quiet_stdout() -> None:
    """After the reader closed the pipe: point stdout at /dev/null so that the interpreter's
    final flush cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):  # no real stdout (an embedding, a test's capture)
        pass


def build_parser(commands: dict[str, str]) -> argparse.ArgumentParser:
    from exo_spec import __version__

    parser = _Parser(
        prog="exo-spec",
        description="A formal model of an LLM runner's lifecycle.",
        epilog=EXIT_CODES_HELP,
    )
    parser.add_argument("--version", action="version", version=f"exo-spec {__version__}")
    add_global_options(parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name, help_text in commands.items():
        sub.add_parser(name, help=help_text, description=help_text, epilog=EXIT_CODES_HELP)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    try:
        code = _main(args_list)
        sys.stdout.flush()
    except BrokenPipeError:  # `exo-spec ... | head`: the reader has what it wanted
        _quiet_stdout()
        return int(ExitCode.BROKEN_PIPE)
    except KeyboardInterrupt:
        sys.stderr.write("exo-spec: interrupted\n")
        return int(ExitCode.INTERRUPTED)
    return code


def _main(args_list: list[str]) -> int:
    commands = COMMANDS
    parser = build_parser(commands)
    before, rest = _split_global(args_list)
    name = rest[0] if rest else None
    if name in commands:
        try:
            options = parser.parse_args(before)
        except SystemExit as exc:
            return int(exc.code) if isinstance(exc.code, int) else int(ExitCode.USAGE)
        sub_parser = _Parser(
            prog=f"exo-spec {name}", description=commands[name], epilog=EXIT_CODES_HELP
        )
        add_global_options(sub_parser)
        try:
            module: _Command = _load(name)
            module.add_arguments(sub_parser)
            run: Callable[[argparse.Namespace], int] = module.run
            args = sub_parser.parse_args(rest[1:])
            configure_logging(
                max(options.verbose, args.verbose),
                args.log_level or options.log_level,
                _DEFAULT_LEVELS.get(name),
            )
            return int(run(args))
        except SystemExit as exc:
            return int(exc.code) if isinstance(exc.code, int) else int(ExitCode.USAGE)
        except ImportError as exc:
            missing = extra_for(exc, f"exo-spec {name}")
            if missing is None:
                raise
            sys.stderr.write(f"{missing}\n")
            return int(ExitCode.USAGE)
    try:
        parser.parse_args(args_list)
    except SystemExit as exc:
        return int(exc.code) if isinstance(exc.code, int) else int(ExitCode.USAGE)
    parser.print_help(sys.stderr)
    return int(ExitCode.USAGE)
