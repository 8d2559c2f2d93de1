"""The semantic rules, one module per group, and :data:`RULES`: which function checks which code.

The table is written out here, not filled by importing the rule modules: the codes, their
summaries and severities are in :mod:`exo_spec.spec.codes`, and a test checks that every code
the linter owns has exactly one check here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from exo_spec.check.rules import cells, contract, reach, refs, states
from exo_spec.check.rules.finding import Finding
from exo_spec.spec.diagnostics import Diagnostic
from exo_spec.spec.types import Spec

__all__ = ["CHECKS", "RULES", "CheckFn", "RuleFn", "cells", "contract", "reach", "refs", "states"]

RuleFn = Callable[[Spec], Iterator[Finding]]
"""A rule as written in its module: it yields where and what, without its code."""

CheckFn = Callable[[Spec], Iterator[Diagnostic]]
"""A rule as the linter runs it: it yields diagnostics under the rule's code."""

RULES: dict[str, RuleFn] = {
    "EXS101": refs.unknown_state,
    "EXS102": refs.unknown_guard,
    "EXS103": refs.unknown_action,
    "EXS105": refs.unknown_task_in_defer,
    "EXS201": reach.unreachable_state,
    "EXS202": reach.required_unreachable,
    "EXS203": reach.trap_state,
    "EXS204": states.final_with_exits,
    "EXS205": states.transient_without_timeout,
    "EXS206": cells.task_accepted_nowhere,
    "EXS207": reach.final_task_missing,
    "EXS208": cells.overlapping_rules,
    "EXS209": cells.never_fires,
    "EXS210": contract.missing_event,
    "EXS211": refs.unused_guard,
    "EXS212": refs.unused_action,
    "EXS213": cells.deferred_and_accepted,
    "EXS214": states.source_handles_no_tasks,
    "EXS215": states.duplicate_status,
    "EXS216": states.bad_via_or_to,
    "EXS217": states.bad_on_error,
    "EXS218": reach.dead_end_state,
}


def _under(code: str, rule: RuleFn) -> CheckFn:
    def check(spec: Spec) -> Iterator[Diagnostic]:
        for loc, message in rule(spec):
            yield Diagnostic(code, message, loc)

    return check


CHECKS: dict[str, CheckFn] = {code: _under(code, rule) for code, rule in RULES.items()}
