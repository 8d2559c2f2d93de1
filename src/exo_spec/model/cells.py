"""The cell table of a spec: every state x task x relevant guard values x action result.

Each row is one task sent in one state with one valuation and one action result, and the
outcome the reference :func:`exo_spec.model.step` gives for it (events, calls, end state).
Pure functions over a loaded spec, computed once: the generated tests write them out
literally and the conformance suite drives them.
"""

from __future__ import annotations

from typing import Literal

from attrs import frozen

from exo_spec.model.events import Acknowledged, ModelEvent, RunnerStatus, TaskStatus
from exo_spec.model.step import (
    CANCELLED,
    OK,
    Accepted,
    ActionResult,
    Raised,
    Rejected,
    StepOutcome,
    relevant_guards,
    step,
)
from exo_spec.model.valuations import GuardValues, flags_text, full_valuation, valuations
from exo_spec.spec import Rule, Spec

__all__ = [
    "RESULTS",
    "Event",
    "Expect",
    "Result",
    "Row",
    "Step",
    "action_result",
    "cell_rows",
    "expect_of",
    "failure_message",
    "results_for",
    "run_step",
    "state_allowed_rows",
]

Result = Literal["ok", "fail", "cancelled"]
RESULTS: tuple[Result, ...] = ("ok", "fail", "cancelled")
Event = tuple[str | None, ...]
"""An event as the recording bindings store it: ``("task_status", status, message)``, ..."""


def failure_message(action: str) -> str:
    """The text a recording binding or a scripted engine raises with when told to fail
    ``action``; the expected ``TaskStatusUpdated(Failed)`` carries it."""
    return f"{action} failed"


@frozen
class Expect:
    """The expected outcome of one task: kind, state after it, events, actions called."""

    kind: Literal["accepted", "rejected", "deferred"]
    state: str
    events: tuple[Event, ...] = ()
    calls: tuple[str, ...] = ()
    message: str | None = None
    allowed: tuple[str, ...] = ()


@frozen
class Step:
    """One task sent with these guard values and this action result, and what must happen."""

    task: str
    guards: GuardValues
    result: Result
    expect: Expect


@frozen
class Row:
    """One row of the cell table; ``shown`` are the guards that decide the cell."""

    id: str
    state: str
    shown: tuple[str, ...]
    step: Step


def _event(event: ModelEvent) -> Event | None:
    if isinstance(event, TaskStatus):
        return ("task_status", event.status, event.message)
    if isinstance(event, RunnerStatus):
        return ("runner_status", event.state, event.message)
    if isinstance(event, Acknowledged):
        return ("acknowledged",)
    return None  # a Progress placeholder: the recording bindings emit no progress


def expect_of(outcome: StepOutcome) -> Expect:
    """The reference outcome as the generated tests compare it (progress left out)."""
    events = tuple(e for e in (_event(m) for m in getattr(outcome, "events", ())) if e)
    if isinstance(outcome, Accepted):
        calls = () if outcome.rule.action is None else (outcome.rule.action,)
        return Expect("accepted", outcome.next_state, events, calls)
    if isinstance(outcome, Rejected):
        return Expect("rejected", outcome.state, events, (), outcome.reason, outcome.allowed)
    return Expect("deferred", outcome.state)


def action_result(result: Result, action: str | None) -> ActionResult:
    """The reference result for ``result``: a failure raises :func:`failure_message`."""
    if result == "fail":
        return Raised(failure_message(action or ""))
    return CANCELLED if result == "cancelled" else OK


def results_for(spec: Spec, rule: Rule) -> tuple[Result, ...]:
    """The action results worth driving for ``rule``: ok, and fail / cancelled where possible."""
    if rule.action is None:
        return ("ok",)
    if spec.action(rule.action).cancellable:
        return RESULTS
    return ("ok", "fail")


def run_step(spec: Spec, state: str, task: str, guards: GuardValues, result: Result) -> Step:
    """``task`` sent in ``state`` with ``guards``; an accepted task's action ends with ``result``."""
    outcome = step(spec, state, task, dict(guards))
    if isinstance(outcome, Accepted):
        outcome = step(
            spec, state, task, dict(guards), result=action_result(result, outcome.rule.action)
        )
    return Step(task, guards, result, expect_of(outcome))


def cell_rows(spec: Spec) -> tuple[Row, ...]:
    """Every cell state x task x valuation of the cell's guards x action result."""
    rows: list[Row] = []
    for decl in spec.cell_states():
        for task in spec.tasks:
            shown = relevant_guards(spec, decl.name, task)
            for values in valuations(shown):
                guards = full_valuation(spec, values)
                label = f"{decl.name}-{task}" + (
                    f"-{flags_text((n, values[n]) for n in shown)}" if shown else ""
                )
                probe = step(spec, decl.name, task, dict(guards))
                if isinstance(probe, Accepted):
                    for result in results_for(spec, probe.rule):
                        row = run_step(spec, decl.name, task, guards, result)
                        rows.append(Row(f"{label}-{result}", decl.name, shown, row))
                else:
                    kind = "reject" if isinstance(probe, Rejected) else "defer"
                    row = Step(task, guards, "ok", expect_of(probe))
                    rows.append(Row(f"{label}-{kind}", decl.name, shown, row))
    return tuple(rows)


def state_allowed_rows(spec: Spec) -> tuple[tuple[str, str, GuardValues, tuple[str, ...]], ...]:
    """``(id, state, guards, allowed tasks)`` per cell state x valuation of its guards."""
    out: list[tuple[str, str, GuardValues, tuple[str, ...]]] = []
    for decl in spec.cell_states():
        used = {g for task in spec.tasks for g in relevant_guards(spec, decl.name, task)}
        names = tuple(g.name for g in spec.guards if g.name in used)
        for values in valuations(names):
            guards = full_valuation(spec, values)
            allowed = tuple(
                task
                for task in spec.tasks
                if isinstance(step(spec, decl.name, task, dict(guards)), Accepted)
            )
            label = decl.name + (f"-{flags_text((n, values[n]) for n in names)}" if names else "")
            out.append((label, decl.name, guards, allowed))
    return tuple(out)
