"""What every subcommand shares: the exit codes and the report options.

``--format``, ``--select`` and ``--ignore`` mean the same for ``exo-spec check``,
``exo-spec conformance`` and ``exo-spec trace-check``: every code in the table
(:mod:`exo_spec.spec.codes`) is accepted, whether or not its rule module was ever imported.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from enum import IntEnum
from pathlib import Path

from exo_spec.spec.codes import matches_any

__all__ = ["EXIT_CODES_HELP", "ExitCode", "add_report_options", "codes_arg"]


class ExitCode(IntEnum):
    """The exit status of every ``exo-spec`` command (like ruff's)."""

    OK = 0
    """Clean: no findings, or the command did what it was asked."""
    FINDINGS = 1
    """Findings, a violation, or a failed check."""
    USAGE = 2
    """A usage error, or a file that cannot be read or written."""
    INTERRUPTED = 130
    """Interrupted (Ctrl-C)."""
    BROKEN_PIPE = 141
    """The reader closed the output early (``| head``); 128 + SIGPIPE, as a shell reports it."""


EXIT_CODES_HELP = (
    "exit codes: 0 clean, 1 findings (or a failed check), 2 usage or I/O error or a missing "
    "extra (the message names it: pip install 'exo-spec[EXTRA]'), 130 interrupted, 141 output "
    "closed early (| head)"
)


def codes_arg(text: str) -> list[str]:
    """Codes or prefixes; one that starts no code of the table is a usage error (a typo must not
    silence a check)."""
    codes = [code.strip().upper() for code in text.split(",") if code.strip()]
    unknown = [c for c in codes if not matches_any(c)]
    if unknown:
        raise argparse.ArgumentTypeError(
            f"no rule code starts with {', '.join(unknown)}; see `exo-spec rules` "
            "(codes like EXS208, or prefixes like EXS2)"
        )
    return codes


def add_report_options(parser: argparse.ArgumentParser, formats: Sequence[str]) -> None:
    """``--format``, ``--select`` and ``--ignore``, the same for every command that reports."""
    parser.add_argument("--format", choices=tuple(formats), default="text", dest="fmt")
    parser.add_argument(
        "--select",
        type=codes_arg,
        default=None,
        help="only these codes or prefixes (EXS2,EXS101); see `exo-spec rules`",
    )
    parser.add_argument("--ignore", type=codes_arg, default=None, help="skip these codes/prefixes")


def as_typed(path: Path) -> Path:
    """A configured (absolute) path as a user would type it: relative to here when inside."""
    if not path.is_absolute():
        return path
    try:
        return path.relative_to(Path.cwd())
    except ValueError:
        return path
