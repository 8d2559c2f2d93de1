"""An exploration's findings as the project's diagnostics, and its traces as step lists."""

from __future__ import annotations

from exo_spec.explore.invariants import INVARIANTS, STATE_LIMIT
from exo_spec.explore.search import ExploreResult, Violation
from exo_spec.spec.codes import severity_of
from exo_spec.spec.diagnostics import Diagnostic, Loc

__all__ = ["findings", "render_trace", "statistics"]


def render_trace(violation: Violation) -> str:
    """The shortest trace as a numbered step list, the broken invariant last."""
    lines = [f"{n:3}. {step.text}" for n, step in enumerate(violation.trace, 1)]
    lines.append(f"  => {violation.code} {violation.message}")
    return "\n".join(lines) + "\n"


def _loc(result: ExploreResult, violation: Violation) -> Loc:
    """Where in the spec: the rule of the last task the trace touches, else the initial state."""
    spec = result.config.spec
    for step in reversed(violation.trace):
        if step.task is not None:
            rules = [r for r in spec.rules if r.task == step.task]
            if rules:
                return rules[0].loc
    return spec.initial_loc


def findings(result: ExploreResult) -> list[Diagnostic]:
    """One diagnostic per broken invariant (its shortest trace's length in the message)."""
    out: list[Diagnostic] = []
    where = result.config.describe()
    for v in result.violations:
        message = (
            f"{INVARIANTS.get(v.code, v.code)}: {v.message} "
            f"({where}; shortest trace: {len(v.trace)} steps)"
        )
        out.append(Diagnostic(v.code, message, _loc(result, v), severity_of(v.code)))
    if not result.complete:
        message = (
            f"the exploration stopped at {result.states:,} configurations (--max-states) "
            f"before the state space was exhausted ({where}): the results are partial"
        )
        out.append(
            Diagnostic(
                STATE_LIMIT,
                message,
                Loc(result.config.spec.path, 1, 1),
                severity_of(STATE_LIMIT),
            )
        )
    return out


def statistics(result: ExploreResult) -> str:
    """``explored 1,234 configurations, 5,678 transitions ...`` (one line)."""
    status = "exhausted" if result.complete else "partial"
    return (
        f"explored {result.states:,} configurations and {result.transitions:,} transitions "
        f"({result.config.describe()}; deepest {result.max_depth} steps; {status}) in "
        f"{result.seconds:.2f} s, {result.rate:,.0f} configurations/s"
    )
