"""The linter: rules over a loaded spec, with stable codes, and its output formats.

``lint(path)`` returns every finding at once, sorted; ``render(findings, fmt)`` prints them as
text (like ruff), JSON, SARIF 2.1.0 or GitHub workflow commands. Pure: no mlx, no runtime.
"""

from exo_spec.check.graph import (
    can_reach_final,
    enabled_rules,
    reachable,
    rule_can_fire,
    rule_edges,
    successors,
    via_edges,
)
from exo_spec.check.lint import finish, lint, lint_loaded, lint_spec
from exo_spec.check.report import FORMATS, render
from exo_spec.check.rules import CHECKS, CheckFn

__all__ = [
    "CHECKS",
    "FORMATS",
    "CheckFn",
    "can_reach_final",
    "enabled_rules",
    "finish",
    "lint",
    "lint_loaded",
    "lint_spec",
    "reachable",
    "render",
    "rule_can_fire",
    "rule_edges",
    "successors",
    "via_edges",
]
