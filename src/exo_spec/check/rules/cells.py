"""The state x task cells: each is exactly one of transition, defer or reject (EXS206-EXS213)."""

from __future__ import annotations

from collections.abc import Iterator

from exo_spec.check.logic import Valuation, witness
from exo_spec.check.rules.finding import Finding, rule_label
from exo_spec.check.rules.reach import reach_table
from exo_spec.model.valuations import valuation_text
from exo_spec.spec.types import Rule, Spec

__all__ = ["deferred_and_accepted", "never_fires", "overlapping_rules", "task_accepted_nowhere"]


def _cells(spec: Spec) -> dict[tuple[str, str], list[Rule]]:
    out: dict[tuple[str, str], list[Rule]] = {}
    for r in spec.rules:
        out.setdefault((r.source, r.task), []).append(r)
    return out


def _valuations_where(spec: Spec, state: str) -> list[Valuation]:
    """The constant-guard valuations under which ``state`` is reachable (all, when none is)."""
    table = reach_table(spec) if spec.has_state(spec.initial) else []
    found = [values for values, states in table if state in states]
    return found or [{}]


def task_accepted_nowhere(spec: Spec) -> Iterator[Finding]:
    handled = {
        r.task
        for r in spec.rules
        if spec.has_state(r.source) and spec.state(r.source).accepts_tasks
    }
    for task, loc in zip(spec.tasks, spec.task_locs, strict=False):
        if task not in handled:
            yield (
                loc,
                f"task {task} is accepted in no state: every {task} would be rejected; give it "
                "a rule from a state that handles tasks, or remove it",
            )


def overlapping_rules(spec: Spec) -> Iterator[Finding]:
    for (state, task), rules in _cells(spec).items():
        if len(rules) < 2:
            continue
        places = _valuations_where(spec, state)
        for i, first in enumerate(rules):
            for second in rules[i + 1 :]:
                both = [(first.when, True), (second.when, True)]
                found = next((w for c in places if (w := witness(both, c)) is not None), None)
                if found is None:
                    continue
                used = set(first.when.names()) | set(second.when.names())
                shown = valuation_text({n: v for n, v in found.items() if n in used})
                yield (
                    second.loc,
                    f"task {task} in state {state} has two rules enabled "
                    f"{'when ' + shown if shown else 'always'} (lines {first.loc.line} and "
                    f"{second.loc.line}); add a guard that separates them",
                )


def never_fires(spec: Spec) -> Iterator[Finding]:
    for (state, _task), rules in _cells(spec).items():
        if not spec.has_state(state) or not spec.state(state).accepts_tasks:
            continue  # EXS101 / EXS214
        places = _valuations_where(spec, state)
        for i, r in enumerate(rules):
            what = f"{rule_label(r)} (from {state})"
            if witness([(r.when, True)]) is None:
                yield (
                    r.loc,
                    f"{what} can never fire: its guard '{r.when}' is always false; fix or "
                    "remove it",
                )
                continue
            if all(witness([(r.when, True)], c) is None for c in places):
                where = "; ".join(valuation_text(c) for c in places)
                yield (
                    r.loc,
                    f"{what} can never fire: {state} is reachable only with {where}, where "
                    f"'{r.when}' cannot hold; fix its guard or its 'from'",
                )
                continue
            for earlier in rules[:i]:
                if witness([(r.when, True), (earlier.when, False)]) is None:
                    yield (
                        r.loc,
                        f"{what} can never fire: rule {earlier.index + 1} (line "
                        f"{earlier.loc.line}) is enabled whenever it is and is tried first; "
                        "remove it or narrow the earlier rule's guard",
                    )
                    break


def deferred_and_accepted(spec: Spec) -> Iterator[Finding]:
    for state, task, loc in spec.defer:
        rules = spec.rules_for(state, task)
        if rules:
            yield (
                loc,
                f"task {task} in state {state} is both deferred and accepted by rule "
                f"{rules[0].index + 1} (line {rules[0].loc.line}); a cell is one of "
                "transition, defer or reject: drop the defer or the rule",
            )
