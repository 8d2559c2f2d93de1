"""``exo-spec matrix [PATH]``: the state x task matrix of a spec as an aligned text table.

Each cell shows where the task leads (``→ loaded [has_group and weights_present]``), ``defer``
or ``-`` (rejected). Rows are the states that handle tasks; columns are the tasks.

Exit codes as ``exo-spec check``'s: a spec with findings still gets its table (when it loads),
its findings go to stderr and the command exits 1; 2 when the spec cannot be read.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from exo_spec.check.lint import lint_loaded
from exo_spec.check.report import to_text
from exo_spec.commands.common import ExitCode
from exo_spec.spec.loader import load_spec
from exo_spec.spec.types import Spec

__all__ = ["add_arguments", "cell_text", "matrix_text", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", nargs="?", type=Path, default=Path("spec/runner.yaml"))


def cell_text(spec: Spec, state: str, task: str) -> str:
    """One cell: ``defer``, ``-``, or each rule's target (and guard), in the order tried."""
    if spec.deferred(state, task):
        return "defer"
    rules = spec.rules_for(state, task)
    if not rules:
        return "-"
    parts = []
    for r in rules:
        guard = f" [{r.when_text}]" if r.when_text else ""
        parts.append(f"→ {r.target}{guard}")
    return " | ".join(parts)


def matrix_text(spec: Spec) -> str:
    """The aligned table: a header row of tasks, then one row per task-handling state."""
    header = ["state", *spec.tasks]
    rows = [header]
    for state in spec.cell_states():
        rows.append([state.name, *(cell_text(spec, state.name, t) for t in spec.tasks)])
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows
    ]
    return "\n".join(lines) + "\n"


def run(args: argparse.Namespace) -> int:
    result = load_spec(args.path)
    if result.spec is None:
        sys.stderr.write(to_text(result.diagnostics))
        return (
            ExitCode.USAGE
            if any(d.code == "EXS000" for d in result.diagnostics)
            else ExitCode.FINDINGS
        )
    findings = lint_loaded(result)
    sys.stdout.write(matrix_text(result.spec))
    if findings:
        sys.stderr.write(to_text(findings))
        return ExitCode.FINDINGS
    return ExitCode.OK
