"""The rule registry: every code the linter can report, with its one-line doc and severity.

A semantic rule is a function ``(spec) -> Iterator[Diagnostic]`` registered with :func:`rule`.
Codes the loader reports (``EXS0xx``, ``EXS104``, ``EXS106``) and codes reported by other layers
(stale generated code, unbound guards and actions) are listed too, so ``exo-spec rules`` and the
SARIF output describe every code a user can see.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from attrs import frozen

from exo_spec.spec.diagnostics import Diagnostic, Severity
from exo_spec.spec.types import Spec

__all__ = ["RULES", "CheckFn", "RuleInfo", "all_rules", "rule", "severity_of"]

CheckFn = Callable[[Spec], Iterator[Diagnostic]]


@frozen
class RuleInfo:
    """One code: its one-line doc, its default severity and (for semantic rules) its check."""

    code: str
    doc: str
    severity: Severity = "error"
    check: CheckFn | None = None
    origin: str = "check"


RULES: dict[str, RuleInfo] = {}

_EXTERNAL: tuple[tuple[str, str, str], ...] = (
    ("EXS000", "the spec file cannot be read", "loader"),
    ("EXS001", "YAML syntax error, or the file is not UTF-8", "loader"),
    ("EXS002", "unknown key (with did-you-mean)", "loader"),
    ("EXS003", "a value has the wrong type", "loader"),
    ("EXS004", "a required key is missing", "loader"),
    ("EXS005", "a name is not a valid identifier", "loader"),
    ("EXS006", "unsupported spec version", "loader"),
    ("EXS007", "duplicate key", "loader"),
    ("EXS104", "guard expression syntax error", "loader"),
    ("EXS106", "unknown or malformed event template or progress kind", "loader"),
    ("EXS301", "generated code is stale: regenerate it with exo-spec generate", "codegen"),
    ("EXS302", "a name would collide with the generated machine's own API", "codegen"),
    ("EXS401", "a guard or action has no binding in the runner implementation", "runtime"),
)
for _code, _doc, _origin in _EXTERNAL:
    RULES[_code] = RuleInfo(_code, _doc, "error", None, _origin)


def rule(code: str, doc: str, severity: Severity = "error") -> Callable[[CheckFn], CheckFn]:
    """Register ``fn`` as the check for ``code``; a code is registered once."""

    def register(fn: CheckFn) -> CheckFn:
        if code in RULES:
            raise ValueError(f"rule code {code} is registered twice")
        RULES[code] = RuleInfo(code, doc, severity, fn)
        return fn

    return register


def all_rules() -> list[RuleInfo]:
    """Every known code, sorted (importing the rule modules registers the semantic ones)."""
    import exo_spec.check.rules  # noqa: F401, PLC0415  (the rule modules import this one)

    return [RULES[code] for code in sorted(RULES)]


def severity_of(code: str) -> Severity:
    info = RULES.get(code)
    return "error" if info is None else info.severity
