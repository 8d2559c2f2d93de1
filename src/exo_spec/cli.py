"""The ``exo-spec`` command line: ``main(argv) -> exit code``; never a traceback for bad input.

Exit codes (like ruff): 0 clean, 1 findings or a failed check, 2 usage or I/O error.
Each subcommand lives in its own module and is imported only when used, so ``exo-spec check``
never imports the runtime, transitions or mlx.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence
from typing import Protocol, cast

__all__ = ["EXIT_CLEAN", "EXIT_FINDINGS", "EXIT_USAGE", "main"]

EXIT_CLEAN = 0
EXIT_FINDINGS = 1
EXIT_USAGE = 2

# name -> (module implementing it, one-line help). A module defines
# ``add_arguments(parser)`` and ``run(args) -> int``.
COMMANDS: dict[str, tuple[str, str]] = {
    "check": ("exo_spec.commands.check", "lint a spec (and its generated code and bindings)"),
    "rules": ("exo_spec.commands.rules", "list the linter's rule codes"),
    "matrix": ("exo_spec.commands.matrix", "print a spec's state x task matrix"),
    "generate": ("exo_spec.commands.generate", "generate the machine, its tests and docs"),
    "demo": ("exo_spec.commands.demo", "run a full runner lifecycle on the embedded tiny model"),
    "conformance": ("exo_spec.commands.conformance", "check a runner implementation"),
    "trace-check": ("exo_spec.commands.trace_check", "check a recorded event log"),
    "node": ("exo_spec.commands.node", "serve runners behind an OpenAI-compatible API"),
}


class _Command(Protocol):
    def add_arguments(self, parser: argparse.ArgumentParser) -> None: ...

    def run(self, args: argparse.Namespace) -> int: ...


class _Parser(argparse.ArgumentParser):
    """argparse that reports usage errors with exit code 2 and no traceback."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        sys.stderr.write(f"{self.prog}: error: {message}\n")
        raise SystemExit(EXIT_USAGE)


def _load(module: str) -> _Command:
    return cast(_Command, importlib.import_module(module))


def build_parser(commands: dict[str, tuple[str, str]]) -> argparse.ArgumentParser:
    from exo_spec import __version__

    parser = _Parser(prog="exo-spec", description="A formal model of an LLM runner's lifecycle.")
    parser.add_argument("--version", action="version", version=f"exo-spec {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name, (_, help_text) in commands.items():
        sub.add_parser(name, help=help_text, description=help_text)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    commands = COMMANDS
    parser = build_parser(commands)
    name = next((a for a in args_list if not a.startswith("-")), None)
    if name in commands:
        module = _load(commands[name][0])
        sub_parser = _Parser(prog=f"exo-spec {name}", description=commands[name][1])
        module.add_arguments(sub_parser)
        index = args_list.index(name)
        run: Callable[[argparse.Namespace], int] = module.run
        try:
            return run(sub_parser.parse_args(args_list[index + 1 :]))
        except SystemExit as exc:
            return exc.code if isinstance(exc.code, int) else EXIT_USAGE
        except KeyboardInterrupt:
            sys.stderr.write("exo-spec: interrupted\n")
            return 130
    try:
        parser.parse_args(args_list)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    parser.print_help(sys.stderr)
    return EXIT_USAGE
