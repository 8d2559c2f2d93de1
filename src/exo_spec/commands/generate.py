"""``exo-spec generate [--spec PATH] [--out DIR] [--module NAME] [--module-root DIR] [--check]``.

Writes the machine, its docs and its tests under ``--out``; with ``--check`` writes nothing and
exits 1 with a unified diff when the output is stale (0 when it is fresh). The machine module
is named from the spec's ``machine:`` (``<machine>_machine``) unless ``--module`` names it, and
goes under ``--module-root`` (default ``--out``) at the path its dotted name gives.

Without ``--spec``, every ``[[tool.exo-spec.generate]]`` table of the nearest
``pyproject.toml`` is generated (``spec/runner.yaml`` into ``generated/`` when there is none);
with ``--spec``, the table for that spec (if any) supplies what the flags leave out.
"""

from __future__ import annotations

import argparse
import difflib
import os
import sys
from collections.abc import Iterable
from pathlib import Path

from exo_spec.check.config import ConfigError, GenerateEntry, find_config, generate_entry
from exo_spec.codegen.generate import (
    Layout,
    broken_files,
    generate,
    load_for_generation,
    module_problem,
    regenerate_command,
    stale_files,
)
from exo_spec.codegen.source import CodegenError
from exo_spec.commands.common import ExitCode, as_typed
from exo_spec.spec.diagnostics import Diagnostic

__all__ = ["add_arguments", "run"]

DEFAULT_SPEC = Path("spec/runner.yaml")
DEFAULT_OUT = Path("generated")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--spec",
        type=Path,
        help=f"the spec (default: each [[tool.exo-spec.generate]] spec, else {DEFAULT_SPEC})",
    )
    parser.add_argument("--out", type=Path, help=f"output directory (default: {DEFAULT_OUT})")
    parser.add_argument(
        "--module",
        metavar="NAME",
        help="the machine's dotted module name (default: <machine>_machine, from the spec)",
    )
    parser.add_argument(
        "--module-root",
        metavar="DIR",
        type=Path,
        help="the folder the module is imported from (default: --out)",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 with a diff when the output is stale",
    )


def _jobs(args: argparse.Namespace) -> list[tuple[Path, Layout]]:
    """Each spec to generate and where its files go: the command line over the configuration."""
    spec: Path | None = args.spec
    config = find_config(spec if spec is not None else Path.cwd() / "pyproject.toml")
    entries: list[GenerateEntry | None]
    if spec is not None:
        entries = [generate_entry(config, spec)]
    elif config.generate:
        entries = list(config.generate)
    elif DEFAULT_SPEC.is_file():
        entries = [None]
    else:
        raise ConfigError(
            f"no spec to generate: {DEFAULT_SPEC} does not exist here; pass --spec PATH, or "
            'list your specs in pyproject.toml as [[tool.exo-spec.generate]] spec = "spec/x.yaml"'
        )
    jobs = []
    for entry in entries:
        shown = spec or (as_typed(entry.spec) if entry is not None else DEFAULT_SPEC)
        out: Path = args.out or (entry.out if entry else DEFAULT_OUT)
        root: Path | None = args.module_root or (entry.module_root if entry else None)
        layout = Layout(
            as_typed(out),
            args.module or (entry.module if entry else None),
            None if root is None else as_typed(root),
        )
        jobs.append((shown, layout))
    return jobs


def run(args: argparse.Namespace) -> int:
    try:
        jobs = _jobs(args)
    except ConfigError as exc:
        sys.stderr.write(f"exo-spec generate: error: {exc}\n")
        return ExitCode.USAGE
    worst: int = ExitCode.OK
    for spec_path, layout in jobs:
        problem = module_problem(layout.module) if layout.module is not None else None
        if problem is not None:
            sys.stderr.write(f"exo-spec generate: error: {problem}\n")
            return ExitCode.USAGE
        code = _check(spec_path, layout) if args.check else _write(spec_path, layout)
        worst = max(worst, code)
    return worst


def _write(spec_path: Path, layout: Layout) -> int:
    out = layout.out
    try:
        result = generate(spec_path, out, module=layout.module, module_root=layout.module_root)
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
        f"{spec_path.as_posix()}: {len(result.written)} written, "
        f"{len(result.unchanged)} unchanged in {out.as_posix()}\n"
    )
    return ExitCode.OK


def _check(spec_path: Path, layout: Layout) -> int:
    out = layout.out
    spec, problems = load_for_generation(spec_path, out)
    if spec is None:
        for diagnostic in problems:
            sys.stderr.write(f"{diagnostic}\n")
        return ExitCode.USAGE if _unreadable(problems) else ExitCode.FINDINGS
    stale = 0
    try:
        found = list(stale_files(spec, out, module=layout.module, module_root=layout.module_root))
    except CodegenError as exc:
        sys.stderr.write(f"exo-spec generate --check: cannot render {spec_path}: {exc}\n")
        return ExitCode.FINDINGS
    for name, why in broken_files(out):
        stale += 1
        sys.stdout.write(f"{(out / name).as_posix()}: {why}\n")
    for name, expected, actual in found:
        stale += 1
        shown = Path(os.path.normpath(out / name)).as_posix()
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
            f"exo-spec generate --check: {stale} file(s) generated from {spec_path.as_posix()} "
            f"are stale; run {regenerate_command(spec_path, layout)}\n"
        )
        return ExitCode.FINDINGS
    return ExitCode.OK


def _unreadable(diagnostics: Iterable[Diagnostic]) -> bool:
    """An unreadable spec is an I/O error (exit 2), not a finding."""
    return any(d.code == "EXS000" for d in diagnostics)
