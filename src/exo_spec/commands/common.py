"""What every subcommand shares: the exit codes, the report options and ``--spec``.

``--format``, ``--select`` and ``--ignore`` mean the same for ``exo-spec check``,
``exo-spec conformance`` and ``exo-spec trace-check``: every code in the table
(:mod:`exo_spec.spec.codes`) is accepted, whether or not its rule module was ever imported.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from enum import IntEnum
from pathlib import Path
from typing import TYPE_CHECKING

from exo_spec.spec.codes import matches_any

if TYPE_CHECKING:
    from exo_spec.spec.types import Spec

__all__ = [
    "EXIT_CODES_HELP",
    "ExitCode",
    "add_report_options",
    "add_spec_option",
    "as_typed",
    "codes_arg",
    "load_spec_option",
]


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


def add_spec_option(parser: argparse.ArgumentParser) -> None:
    """``--spec``, for the commands that default to the runner spec shipped with exo-spec."""
    parser.add_argument(
        "--spec",
        type=Path,
        default=None,
        help="the spec (default: the runner spec shipped with exo-spec)",
    )


def load_spec_option(args: argparse.Namespace) -> Spec | None:
    """The spec ``--spec`` names (``args.spec`` is set to the shipped one when not given), or
    ``None`` once its diagnostics are written to stderr when it does not load."""
    from exo_spec.check.report import to_text
    from exo_spec.conformance.paths import default_spec_path
    from exo_spec.spec.loader import load_spec

    if args.spec is None:
        args.spec = default_spec_path()
    loaded = load_spec(args.spec)
    if loaded.spec is None:
        sys.stderr.write(to_text(loaded.diagnostics))
    return loaded.spec
