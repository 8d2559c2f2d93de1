"""Load and validate a runner spec (YAML) into typed, frozen objects with source locations."""

from exo_spec.spec.diagnostics import Diagnostic, Loc, Severity
from exo_spec.spec.expr import And, Expr, ExprSyntaxError, Name, Not, Or, TrueExpr, parse_expr
from exo_spec.spec.loader import (
    SUPPORTED_VERSIONS,
    LoadResult,
    load_spec,
    load_spec_text,
    valid_name,
)
from exo_spec.spec.types import (
    ActionDecl,
    ContractEvent,
    ContractOutcome,
    EventContract,
    GuardDecl,
    Rule,
    Spec,
    StateDecl,
    TaskStatusName,
)

__all__ = [
    "SUPPORTED_VERSIONS",
    "ActionDecl",
    "And",
    "ContractEvent",
    "ContractOutcome",
    "Diagnostic",
    "EventContract",
    "Expr",
    "ExprSyntaxError",
    "GuardDecl",
    "LoadResult",
    "Loc",
    "Name",
    "Not",
    "Or",
    "Rule",
    "Severity",
    "Spec",
    "StateDecl",
    "TaskStatusName",
    "TrueExpr",
    "load_spec",
    "load_spec_text",
    "parse_expr",
    "valid_name",
]
