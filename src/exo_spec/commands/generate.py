"""``exo-spec generate [--spec PATH] [--out DIR] [--check]``.

Writes the machine, its docs and its tests under ``--out``; with ``--check`` writes nothing and
exits 1 with a unified diff when ``--out`` is stale (0 when it is fresh).
"""

from __future__ import annotations

import argparse
import difflib
import sys
from collections.abc import Iterable
from pathlib import Path

from exo_spec.codegen.generate import broken_files, generate, load_for_generation, stale_files
from exo_spec.codegen.source import CodegenError
from exo_spec.commands.common import ExitCode
from exo_spec.spec.diagnostics import Diagnostic

__all__ = ["add_arguments", "run"]

DEFAULT_SPEC = Path("spec/runner.yaml")
DEFAULT_OUT = Path("generated")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--spec", type=Path, default=DEFAULT_SPEC, help="the spec (default: %(default)s)"
    )
    parser.add_argument(
        "--out", type=Path, default=DEFAULT_OUT, help="output directory (default: %(default)s)"
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 with a diff when the output is stale",
    )


def run(args: argparse.Namespace) -> int:
    spec_path: Path = args.spec
    out: Path = args.out
    if not args.check:
        try:
            result = generate(spec_path, out)
        except OSError as exc:
            where = exc.filename or out
            reason = exc.strerror or type(exc).__name__
            sys.stderr.write(
                f"exo-spec generate: cannot write {where}: {reason}; nothing was changed; "
                "choose an --out directory you can write to\n"
            )
            return ExitCode.USAGE
        for diagnostic in result.diagnostics:
            sys.stderr.write(f"{diagnostic}\n")
        if not result.ok:
            sys.stderr.write(f"exo-spec generate: {spec_path} has errors; nothing was written\n")
            return ExitCode.USAGE if _unreadable(result.diagnostics) else ExitCode.FINDINGS
        for path in result.written:
            sys.stdout.write(f"wrote {path.as_posix()}\n")
        sys.stdout.write(
            f"{len(result.written)} written, {len(result.unchanged)} unchanged in {out.as_posix()}\n"
        )
        return ExitCode.OK
    spec, problems = load_for_generation(spec_path, out)
    if spec is None:
        for diagnostic in problems:
            sys.stderr.write(f"{diagnostic}\n")
        return ExitCode.USAGE if _unreadable(problems) else ExitCode.FINDINGS
    stale = 0
    try:
        found = list(stale_files(spec, out))
    except CodegenError as exc:
        sys.stderr.write(f"exo-spec generate --check: cannot render {spec_path}: {exc}\n")
        return ExitCode.FINDINGS
    for name, why in broken_files(out):
        stale += 1
        sys.stdout.write(f"{(out / name).as_posix()}: {why}\n")
    for name, expected, actual in found:
        stale += 1
        shown = (out / name).as_posix()
        sys.stdout.writelines(
            difflib.unified_diff(
                (actual or "").splitlines(keepends=True),
                expected.splitlines(keepends=True),
                fromfile=shown if actual is not None else "/dev/null",
                tofile=f"{shown} (exo-spec generate)",
            )
        )
    if stale:
        sys.stderr.write(
            f"exo-spec generate --check: {stale} file(s) in {out.as_posix()} are stale; "
            f"run exo-spec generate --spec {spec_path.as_posix()} --out {out.as_posix()}\n"
        )
        return ExitCode.FINDINGS
    return ExitCode.OK


def _unreadable(diagnostics: Iterable[Diagnostic]) -> bool:
    """An unreadable spec is an I/O error (exit 2), not a finding."""
    return any(d.code == "EXS000" for d in diagnostics)
