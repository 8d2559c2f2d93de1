"""``exo-spec check [PATHS...]``: lint specs (and, when present, their generated code and bindings).

A path may be a directory: the specs under it are checked (``*.yaml``/``*.yml`` with a top-level
``states:`` key, hidden directories skipped; :mod:`exo_spec.check.discovery`).
Exit codes: 0 clean, 1 findings, 2 usage or I/O error (a spec that cannot be read, EXS000).
Results go to stdout in the chosen format, the summary to stderr. This module imports only the
pure layers; the generated-code check (``exo_spec.codegen.check_generated``) and the binding
check (``exo_spec.runtime.check_binding``) are imported lazily, and only when asked for.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from exo_spec.check.config import (
    ConfigError,
    GenerateEntry,
    find_config,
    generate_entry,
    selection,
    unsuppressed,
)
from exo_spec.check.discovery import discover_specs
from exo_spec.check.lint import finish, lint_loaded
from exo_spec.check.report import FORMATS, render
from exo_spec.commands.common import ExitCode, add_report_options, as_typed
from exo_spec.spec.diagnostics import Diagnostic, Loc
from exo_spec.spec.loader import load_spec
from exo_spec.spec.types import Spec

__all__ = ["DEFAULT_SPEC", "add_arguments", "generated_dir", "run"]

DEFAULT_SPEC = Path("spec/runner.yaml")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "paths",
        nargs="*",
        type=Path,
        help=f"spec files, or directories to search for specs (default: {DEFAULT_SPEC} if it "
        "exists, else every spec under the working directory)",
    )
    add_report_options(parser, sorted(FORMATS))
    parser.add_argument(
        "--binding", metavar="MODULE:OBJECT", help="check that a runner binds every guard/action"
    )
    parser.add_argument(
        "--generated", metavar="DIR", type=Path, help="check that generated code is up to date"
    )


def generated_dir(
    spec_path: Path, explicit: Path | None, entry: GenerateEntry | None = None
) -> Path | None:
    """``--generated DIR``, else the spec's ``[[tool.exo-spec.generate]]`` output, else
    ``generated/`` beside the spec's directory when it exists."""
    if explicit is not None:
        return explicit
    if entry is not None:
        return as_typed(entry.out)
    guess = spec_path.parent.parent / "generated"
    return guess if guess.is_dir() else None


def _generated(
    spec_path: Path, out_dir: Path, explicit: bool, entry: GenerateEntry | None
) -> list[Diagnostic]:
    try:
        from exo_spec.codegen.generate import quick_check_generated
    except ImportError:
        if explicit:
            sys.stderr.write("exo-spec check: the code generator is not available; skipped\n")
        return []
    try:
        module = entry.module if entry else None
        root = as_typed(entry.module_root) if entry and entry.module_root else None
        found = quick_check_generated(
            spec_path, out_dir, explicit=explicit, module=module, module_root=root
        )
        return list(found)
    except Exception as exc:  # a generator failure is a finding, never a traceback
        message = f"cannot check the generated code in {out_dir}: {type(exc).__name__}: {exc}"
        return [Diagnostic("EXS301", message, Loc(str(spec_path), 1, 1))]


class _UsageError(Exception):
    """A problem with the command line or the environment, not with the spec."""


def _binding(spec: Spec, binding: str) -> list[Diagnostic]:
    if ":" not in binding:
        raise _UsageError(f"--binding {binding!r} must be MODULE:OBJECT")
    try:
        from exo_spec.runtime import check_binding
    except ImportError as exc:
        raise _UsageError(f"--binding needs the runtime, which cannot be imported: {exc}") from exc
    try:
        return list(check_binding(spec, binding))
    except Exception as exc:  # the bound code may raise anything while it is imported
        raise _UsageError(f"--binding {binding}: {type(exc).__name__}: {exc}") from exc


def _check_one(path: Path, args: argparse.Namespace) -> list[Diagnostic]:
    try:
        config = find_config(path)
        select, ignore = selection(config, path, args.select, args.ignore)
    except ConfigError as exc:
        raise _UsageError(str(exc)) from exc
    result = load_spec(path)
    found = lint_loaded(result, select, ignore)
    if result.spec is None:
        return found
    from exo_spec.codegen.limits import size_problems
    from exo_spec.codegen.reserved import name_problems

    extra: list[Diagnostic] = [*name_problems(result.spec), *size_problems(result.spec)]
    entry = generate_entry(config, path)
    out_dir = generated_dir(path, args.generated, entry)
    if out_dir is not None:
        extra += _generated(path, out_dir, args.generated is not None, entry)
    if args.binding:
        extra += _binding(result.spec, args.binding)
    return finish(unsuppressed([*found, *extra], result.path, result.text), select, ignore)


def default_paths() -> list[Path]:
    """What ``exo-spec check`` with no path checks: ``spec/runner.yaml`` where it exists (this
    project's layout), else every spec under the working directory, as ruff checks ``.``."""
    return [DEFAULT_SPEC] if DEFAULT_SPEC.is_file() else [Path()]


def run(args: argparse.Namespace) -> int:
    given: list[Path] = args.paths or default_paths()
    paths = discover_specs(given)
    if not paths:
        where = ", ".join(str(p) for p in given)
        sys.stderr.write(f"exo-spec check: warning: no specs found under {where}\n")
        return ExitCode.OK
    findings: list[Diagnostic] = []
    try:
        for path in paths:
            findings += _check_one(path, args)
    except _UsageError as exc:
        sys.stderr.write(f"exo-spec check: error: {exc}\n")
        return ExitCode.USAGE
    out, err = render(findings, args.fmt)
    sys.stdout.write(out)
    sys.stderr.write(err)
    if any(d.code == "EXS000" for d in findings):
        return ExitCode.USAGE
    return ExitCode.FINDINGS if findings else ExitCode.OK
