"""Output formats: ``text`` (like ruff), ``json``, ``sarif`` (2.1.0) and ``github`` annotations.

The formats of every command that reports :class:`~exo_spec.spec.diagnostics.Diagnostic`
records: ``exo-spec check``, ``exo-spec conformance`` and ``exo-spec trace-check``. A SARIF log
describes the codes of the table (:mod:`exo_spec.spec.codes`) that the command can report.
:func:`render` returns what goes to stdout (the findings) and to stderr (a summary), so the
command prints results and diagnostics on their own streams.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import PurePath, PurePosixPath
from typing import Any

from exo_spec import __version__
from exo_spec.spec.codes import CODES, Code, Origin
from exo_spec.spec.diagnostics import Diagnostic

__all__ = [
    "CHECK_ORIGINS",
    "FORMATS",
    "render",
    "summary",
    "to_github",
    "to_json",
    "to_sarif",
    "to_text",
]

CHECK_ORIGINS: tuple[Origin, ...] = ("loader", "check", "codegen", "runtime")

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"


def summary(findings: Sequence[Diagnostic]) -> str:
    """``Found 3 problems.`` or ``All checks passed.``"""
    n = len(findings)
    if n == 0:
        return "All checks passed."
    return f"Found {n} problem{'s' if n != 1 else ''}."


def to_text(findings: Sequence[Diagnostic]) -> str:
    return "".join(f"{d}\n" for d in findings)


def as_dict(d: Diagnostic) -> dict[str, Any]:
    out: dict[str, Any] = {
        "code": d.code,
        "message": d.message,
        "severity": d.severity,
        "path": d.loc.path,
        "line": d.loc.line,
        "column": d.loc.col,
    }
    if d.rule:
        out["rule"] = d.rule
    return out


def to_json(findings: Sequence[Diagnostic]) -> str:
    return json.dumps([as_dict(d) for d in findings], indent=2, ensure_ascii=False) + "\n"


def _uri(path: str) -> str:
    pure = PurePath(path)
    if pure.is_absolute():
        return pure.as_uri()
    return str(PurePosixPath(*pure.parts)) if pure.parts else path


def _level(severity: str) -> str:
    return "error" if severity == "error" else "warning"


def _sarif_rule(info: Code) -> dict[str, Any]:
    return {
        "id": info.code,
        "name": info.code,
        "shortDescription": {"text": info.summary},
        "fullDescription": {"text": f"{info.summary} (reported by the {info.origin})"},
        "defaultConfiguration": {"level": _level(info.severity)},
    }


def sarif_log(
    findings: Sequence[Diagnostic], origins: Sequence[Origin] = CHECK_ORIGINS
) -> dict[str, Any]:
    """The SARIF 2.1.0 log object: one run, the codes of ``origins`` described, one result per
    finding."""
    rules = sorted((c for c in CODES if c.origin in origins), key=lambda c: c.code)
    index = {info.code: i for i, info in enumerate(rules)}
    results: list[dict[str, Any]] = []
    for d in findings:
        result: dict[str, Any] = {
            "ruleId": d.code,
            "level": _level(d.severity),
            "message": {"text": d.message},
            "locations": [
                {
                    "physicalLocation": {
                        "artifactLocation": {"uri": _uri(d.loc.path)},
                        "region": {"startLine": d.loc.line, "startColumn": d.loc.col},
                    }
                }
            ],
        }
        if d.code in index:
            result["ruleIndex"] = index[d.code]
        if d.rule:
            result["properties"] = {"specRule": d.rule}
        results.append(result)
    driver = {
        "name": "exo-spec",
        "version": __version__,
        "rules": [_sarif_rule(info) for info in rules],
    }
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{"tool": {"driver": driver}, "results": results}],
    }


def to_sarif(findings: Sequence[Diagnostic], origins: Sequence[Origin] = CHECK_ORIGINS) -> str:
    return json.dumps(sarif_log(findings, origins), indent=2, ensure_ascii=False) + "\n"


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def to_github(findings: Sequence[Diagnostic]) -> str:
    """GitHub Actions workflow commands: one ``::error``/``::warning`` annotation per finding."""
    lines = []
    for d in findings:
        props = ",".join(
            (
                f"file={_escape_property(d.loc.path)}",
                f"line={d.loc.line}",
                f"col={d.loc.col}",
                f"title={_escape_property(d.code)}",
            )
        )
        lines.append(f"::{_level(d.severity)} {props}::{_escape_data(d.message)}\n")
    return "".join(lines)


FORMATS: tuple[str, ...] = ("text", "json", "sarif", "github")


def render(
    findings: Sequence[Diagnostic], fmt: str = "text", origins: Sequence[Origin] = CHECK_ORIGINS
) -> tuple[str, str]:
    """``(stdout, stderr)`` for these findings in format ``fmt`` (one of :data:`FORMATS`); a
    SARIF log describes the codes that ``origins`` report."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; expected one of: {', '.join(FORMATS)}")
    writers: dict[str, Callable[[Sequence[Diagnostic]], str]] = {
        "text": to_text,
        "json": to_json,
        "sarif": lambda found: to_sarif(found, origins),
        "github": to_github,
    }
    return writers[fmt](findings), summary(findings) + "\n"
