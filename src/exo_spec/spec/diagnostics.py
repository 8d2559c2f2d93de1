"""Diagnostics: a stable code, a location and a message that teaches."""

from __future__ import annotations

from typing import Literal

from attrs import frozen

__all__ = ["Diagnostic", "Loc", "Severity"]

Severity = Literal["error", "warning"]


@frozen(order=True)
class Loc:
    """A position in a spec file; ``line`` and ``col`` are 1-based as editors show them."""

    path: str
    line: int
    col: int

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.col}"


@frozen
class Diagnostic:
    """One finding: ``path:line:col: CODE message``."""

    code: str
    message: str
    loc: Loc
    severity: Severity = "error"

    def __str__(self) -> str:
        return f"{self.loc}: {self.code} {self.message}"

    def sort_key(self) -> tuple[str, int, int, str, str]:
        return (self.loc.path, self.loc.line, self.loc.col, self.code, self.message)
