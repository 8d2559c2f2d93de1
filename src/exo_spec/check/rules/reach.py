"""Reachability: unreachable states, required states, traps, shutdown and dead ends.

Each check is a breadth-first search per valuation of the constant guards (see
:mod:`exo_spec.check.graph`); dynamic guards are free.
"""

from __future__ import annotations

from collections.abc import Iterator

from exo_spec.check.graph import can_reach_final, enabled_rules, reachable
from exo_spec.check.logic import Valuation, constant_valuations, witness
from exo_spec.check.rules.finding import Finding
from exo_spec.model.valuations import valuation_text
from exo_spec.spec.types import Rule, Spec

__all__ = [
    "dead_end_state",
    "final_task_missing",
    "final_tasks",
    "reach_table",
    "required_unreachable",
    "trap_state",
    "unreachable_state",
]


def _with(values: Valuation) -> str:
    return f"with {valuation_text(values)}, " if values else ""


_TABLES: dict[int, tuple[Spec, list[tuple[Valuation, set[str]]]]] = {}


def reach_table(spec: Spec) -> list[tuple[Valuation, set[str]]]:
    """Each valuation of the constant guards with the states reachable under it (memoised)."""
    hit = _TABLES.get(id(spec))
    if hit is not None and hit[0] is spec:
        return hit[1]
    table = [(values, reachable(spec, values)) for values in constant_valuations(spec)]
    if len(_TABLES) > 16:
        _TABLES.clear()
    _TABLES[id(spec)] = (spec, table)
    return table


def unreachable_state(spec: Spec) -> Iterator[Finding]:
    if not spec.has_state(spec.initial):
        return
    seen: set[str] = set().union(*(found for _, found in reach_table(spec)))
    for state in spec.states:
        if state.name not in seen:
            yield (
                state.loc,
                f"state {state.name} is unreachable from {spec.initial} whatever the guards; "
                "add a rule that leads to it, or remove it",
            )


def required_unreachable(spec: Spec) -> Iterator[Finding]:
    if not spec.has_state(spec.initial):
        return
    table = reach_table(spec)
    for state in spec.states:
        if not state.required or not any(state.name in found for _, found in table):
            continue  # never reachable at all is EXS201
        for values, found in table:
            if state.name not in found:
                shown = ", ".join(s.name for s in spec.states if s.name in found)
                yield (
                    state.loc,
                    f"{_with(values)}state {state.name} is unreachable from {spec.initial} "
                    f"(required: true); reachable: {shown}",
                )
                break


def trap_state(spec: Spec) -> Iterator[Finding]:
    if not spec.has_state(spec.initial):
        return
    if not any(s.final for s in spec.states):
        return  # a machine that cycles for ever (a traffic light) needs no end
    table = reach_table(spec)
    traps: dict[str, list[Valuation]] = {}
    for values, found in table:
        ends = can_reach_final(spec, values)
        for state in spec.states:
            if state.name in found and state.name not in ends:
                traps.setdefault(state.name, []).append(values)
    for state in spec.states:
        where = traps.get(state.name)
        if not where:
            continue
        always = len(where) == sum(1 for _, found in table if state.name in found)
        yield (
            state.loc,
            f"{'' if always else _with(where[0])}no final state is reachable from state "
            f"{state.name}: the machine can never end once there; add a rule from it towards a "
            "final state",
        )


def _ends(spec: Spec, r: Rule) -> bool:
    return spec.has_state(r.target) and spec.state(r.target).final


def final_tasks(spec: Spec) -> tuple[str, ...]:
    """The tasks that end the machine from anywhere, as the runner's Shutdown does: their rules
    lead to a final state from two states or more. A task that ends the machine from one
    state only (an upload's Verify, from sent) is a step of its flow, not a way out, and
    other states need not accept it."""
    sources: dict[str, set[str]] = {}
    for r in spec.rules:
        if _ends(spec, r):
            sources.setdefault(r.task, set()).add(r.source)
    return tuple(task for task, found in sources.items() if len(found) > 1)


def final_task_missing(spec: Spec) -> Iterator[Finding]:
    enders = final_tasks(spec)
    if not enders or not spec.has_state(spec.initial):
        return
    seen: set[str] = set().union(*(found for _, found in reach_table(spec)))
    names = " or ".join(enders)
    for state in spec.cell_states():
        if state.name not in seen:
            continue
        if state.transient and any(spec.deferred(state.name, t) for t in enders):
            continue
        ending = [r for t in enders for r in spec.rules_for(state.name, t) if _ends(spec, r)]
        gap = witness([(r.when, False) for r in ending])
        if gap is None:
            continue
        how = "accept or defer" if state.transient else "accept"
        when = f" when {valuation_text(gap)}" if gap else ""
        yield (
            state.loc,
            f"state {state.name} does not {how} {names}{when}: the machine can never be "
            f"ended there; add {state.name} to the 'from' of {enders[0]}'s rule (or use '*')",
        )


def dead_end_state(spec: Spec) -> Iterator[Finding]:
    if not spec.has_state(spec.initial):
        return
    reported: set[str] = set()
    for values, found in reach_table(spec):
        for state in spec.cell_states():
            if state.transient or state.name not in found or state.name in reported:
                continue
            rules = list(enabled_rules(spec, state.name, values))
            moving = [r for r in rules if not _ends(spec, r)]
            gap = witness([(r.when, False) for r in moving], values)
            if gap is None:
                continue
            reported.add(state.name)
            used = {n for r in rules for n in r.when.names()}
            shown = {n: v for n, v in gap.items() if n in used}
            left = [r.task for r in rules if r.when.evaluate(_full(gap, r))]
            if left:
                only = f"accepts only {', '.join(dict.fromkeys(left))}: the machine can only end"
            else:
                only = "accepts no task: the machine is stuck"
            movers = dict.fromkeys(r.task for r in spec.rules if not _ends(spec, r))
            other = [t for t in movers if t not in left]
            yield (
                state.loc,
                f"{_with(shown)}state {state.name} {only} there; accept a task that moves it on"
                + (
                    f" (tasks that move the machine elsewhere: {', '.join(other)})" if other else ""
                ),
            )


def _full(values: Valuation, r: Rule) -> Valuation:
    """``values`` with any guard the rule uses and ``values`` lacks set to false."""
    return {name: values.get(name, False) for name in r.when.names()}
