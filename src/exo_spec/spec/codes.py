"""The code table: every code exo-spec can report, in one data file (``codes.toml``, beside this).

Nothing registers itself here and importing this module does nothing but read that small table:
the linter, the conformance suite and ``exo-spec trace-check`` all report
:class:`~exo_spec.spec.diagnostics.Diagnostic` records whose code is in :data:`CODES`, and
``--select``/``--ignore`` are checked against it.

The prefixes:

- ``EXS0xx`` the spec file's schema (the loader), ``EXS1xx`` names that refer to nothing,
  ``EXS2xx`` the spec's semantics (``exo-spec check``);
- ``EXS3xx`` generated code, ``EXS4xx`` a runner's binding (``exo-spec check``);
- ``EXS5xx`` a runner's events disagree with the spec (``exo-spec conformance``, and
  ``exo-spec trace-check`` on a log with task lines);
- ``EXS6xx`` a recorded event log on its own (``exo-spec trace-check``);
- ``EXS7xx`` an invariant broken by runners, supervisors, the planner and faults together
  (``exo-spec explore``).
"""

from __future__ import annotations

import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal, get_args

from attrs import frozen

__all__ = [
    "BY_CODE",
    "BY_NAME",
    "CODES",
    "DEFAULT_CODES",
    "Code",
    "Example",
    "Explanation",
    "Origin",
    "Severity",
    "code_for",
    "matches_any",
    "selected",
    "severity_of",
]

Severity = Literal["error", "warning"]
Origin = Literal["loader", "check", "codegen", "runtime", "conformance", "trace-check", "explore"]


@frozen
class Code:
    """One code: its kebab-case name, a one-line summary, who reports it and its severity."""

    code: str
    name: str
    summary: str
    origin: Origin
    severity: Severity = "error"
    default: bool = True
    """Whether the code is reported when nothing selects it by name (``select`` unset)."""


@frozen
class Example:
    """A small input that triggers a code."""

    kind: Literal["spec", "trace", "fixture"]
    description: str
    edits: tuple[tuple[str, str], ...] = ()
    lines: tuple[str, ...] = ()
    also: tuple[str, ...] = ()


@frozen
class Explanation:
    """Why the code matters and what to write instead; the summary is the code table's."""

    why: str
    instead: str
    example: Example


_ORIGINS: tuple[str, ...] = get_args(Origin)
_SEVERITIES: tuple[str, ...] = get_args(Severity)


def _code(code: str, row: dict[str, Any]) -> Code:
    origin, severity = row["origin"], row.get("severity", "error")
    if origin not in _ORIGINS or severity not in _SEVERITIES:
        raise ValueError(f"codes.toml: {code}: bad origin {origin!r} or severity {severity!r}")
    default = row.get("default", True)
    return Code(code, row["name"], row["summary"], origin, severity, default)


def _read_table() -> tuple[Code, ...]:
    with Path(__file__).with_name("codes.toml").open("rb") as f:
        return tuple(_code(code, row) for code, row in tomllib.load(f).items())


CODES: tuple[Code, ...] = _read_table()
"""Every code, in the order of ``codes.toml`` (read once, when this module is imported)."""

BY_CODE: dict[str, Code] = {c.code: c for c in CODES}
BY_NAME: dict[str, Code] = {c.name: c for c in CODES}
DEFAULT_CODES: tuple[str, ...] = tuple(c.code for c in CODES if c.default)
"""The codes reported when nothing is selected."""
_ANY = Code("", "", "", "check")


def code_for(name: str) -> str:
    """The code of the finding named ``name`` (``KeyError`` for a name not in the table)."""
    return BY_NAME[name].code


def severity_of(code: str) -> Severity:
    """The table's severity for ``code`` (``error`` for a code not in the table)."""
    info = BY_CODE.get(code)
    return "error" if info is None else info.severity


def matches_any(prefix: str) -> bool:
    """Whether some code in the table starts with ``prefix`` (``EXS2`` or ``EXS208``)."""
    return any(c.code.startswith(prefix) for c in CODES)


def selected(code: str, select: Sequence[str] | None, ignore: Sequence[str] | None) -> bool:
    """Ruff-style selection by code prefix: ``EXS2`` selects every ``EXS2xx`` code. With no
    ``select``, only the codes on by default are (:attr:`Code.default`; EXS218 is not)."""
    if select:
        if not any(code.startswith(p) for p in select):
            return False
    elif not BY_CODE.get(code, _ANY).default:
        return False
    return not (ignore and any(code.startswith(p) for p in ignore))
