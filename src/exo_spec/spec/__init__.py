"""Load and validate a runner spec (YAML) into typed, frozen objects with source locations.

The names below are imported from their modules at first use: code that only needs the spec's
types (the runtime, a runner process) does not import the loader or YAML.
"""

from typing import TYPE_CHECKING

from exo_spec.lazy import exports

if TYPE_CHECKING:
    from exo_spec.spec.diagnostics import Diagnostic, Loc, Severity
    from exo_spec.spec.expr import (
        And,
        Expr,
        ExprSyntaxError,
        Name,
        Not,
        Or,
        TrueExpr,
        parse_expr,
    )
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

_DIAGNOSTICS = "exo_spec.spec.diagnostics"
_EXPR = "exo_spec.spec.expr"
_LOADER = "exo_spec.spec.loader"
_TYPES = "exo_spec.spec.types"

__getattr__ = exports(
    globals(),
    {
        "Diagnostic": _DIAGNOSTICS,
        "Loc": _DIAGNOSTICS,
        "Severity": _DIAGNOSTICS,
        **dict.fromkeys(
            ["And", "Expr", "ExprSyntaxError", "Name", "Not", "Or", "TrueExpr", "parse_expr"],
            _EXPR,
        ),
        **dict.fromkeys(
            ["SUPPORTED_VERSIONS", "LoadResult", "load_spec", "load_spec_text", "valid_name"],
            _LOADER,
        ),
        **dict.fromkeys(
            [
                "ActionDecl",
                "ContractEvent",
                "ContractOutcome",
                "EventContract",
                "GuardDecl",
                "Rule",
                "Spec",
                "StateDecl",
                "TaskStatusName",
            ],
            _TYPES,
        ),
    },
)
