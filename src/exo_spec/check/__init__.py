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
from exo_spec.check.lint import finish, lint, lint_loaded, lint_spec, selected
from exo_spec.check.registry import RULES, CheckFn, RuleInfo, all_rules, rule, severity_of
from exo_spec.check.report import FORMATS, render

__all__ = [
    "FORMATS",
    "RULES",
    "CheckFn",
    "RuleInfo",
    "all_rules",
    "can_reach_final",
    "enabled_rules",
    "finish",
    "lint",
    "lint_loaded",
    "lint_spec",
    "reachable",
    "render",
    "rule",
    "rule_can_fire",
    "rule_edges",
    "selected",
    "severity_of",
    "successors",
    "via_edges",
]
