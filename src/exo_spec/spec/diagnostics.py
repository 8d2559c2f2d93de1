"""Diagnostics: a stable code, a location and a message that teaches.

One record type for everything exo-spec reports: the linter's findings, a runner's conformance
violations and the problems ``exo-spec trace-check`` finds in a log. Every code is in the table
in :mod:`exo_spec.spec.codes`.
"""

from __future__ import annotations

from attrs import frozen

from exo_spec.spec.codes import BY_CODE, Severity

__all__ = ["Diagnostic", "Loc", "Severity", "echo", "quote"]

ECHO_LIMIT = 60
"""How many characters of a value from the spec a message repeats."""


@frozen(order=True)
class Loc:
    """A position in a file; ``line`` and ``col`` are 1-based as editors show them."""

    path: str
    line: int
    col: int

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.col}"


@frozen
class Diagnostic:
    """One finding: ``path:line:col: CODE message``.

    ``rule`` names the spec rule a runner's events break (``events.success``; empty for the
    linter's findings) and ``event_index`` is where in the observed events it shows (``None``
    when the finding is not about a trace).
    """

    code: str
    message: str
    loc: Loc
    severity: Severity = "error"
    rule: str = ""
    event_index: int | None = None

    def __str__(self) -> str:
        return f"{self.loc}: {self.code} {self.message}"

    @property
    def name(self) -> str:
        """The code's kebab-case name from the table (the code itself when it is not there)."""
        info = BY_CODE.get(self.code)
        return self.code if info is None else info.name

    def sort_key(self) -> tuple[str, int, int, str, str]:
        return (self.loc.path, self.loc.line, self.loc.col, self.code, self.message)


def echo(text: str, limit: int = ECHO_LIMIT) -> str:
    """``text`` cut to ``limit`` characters, saying how many more there were."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... ({len(text) - limit} more characters)"


def quote(text: str, limit: int = ECHO_LIMIT) -> str:
    """``text`` as a quoted literal (``repr``) cut to ``limit`` characters: how messages echo a
    value from the spec, so a huge or multi-line value stays one short line."""
    if len(text) <= limit:
        return repr(text)
    return f"{text[:limit]!r}... ({len(text) - limit} more characters)"
