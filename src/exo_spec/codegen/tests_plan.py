"""What the generated tests check, computed once at generation time from the reference ``step``.

Pure functions over a loaded spec: the cell table (state x task x relevant guard values x
action result), the transitions between resting states, the shortest task path from the
initial state to each state, the pairs of consecutive transitions and the golden traces.
The renderer writes these out literally, so a reviewer reads expectations, not code.
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Iterator, Mapping
from typing import Literal

from attrs import frozen

from exo_spec.model import (
    CANCELLED,
    OK,
    Accepted,
    Acknowledged,
    ActionResult,
    ModelEvent,
    Raised,
    Rejected,
    RunnerStatus,
    StepOutcome,
    TaskStatus,
    relevant_guards,
    step,
)
from exo_spec.spec import Rule, Spec

__all__ = [
    "EXO_TRACE",
    "Edge",
    "Event",
    "Expect",
    "GuardValues",
    "Pair",
    "Path",
    "Result",
    "Row",
    "Step",
    "cell_rows",
    "edges",
    "exo_trace",
    "failure_message",
    "final_paths",
    "pairs",
    "shortest_path",
    "state_allowed_rows",
]

Result = Literal["ok", "fail", "cancelled"]
RESULTS: tuple[Result, ...] = ("ok", "fail", "cancelled")
Event = tuple[str | None, ...]
GuardValues = tuple[tuple[str, bool], ...]
"""A full valuation of the spec's guards, in declaration order."""

EXO_TRACE = (
    "DownloadModel",
    "LoadModel",
    "StartWarmup",
    "ChatCompletion",
    "ChatCompletion",
    "Shutdown",
)
"""The tasks of one runner's life as exo's own tests assert it."""


def failure_message(action: str) -> str:
    """The text the recording bindings raise with when told to fail ``action``."""
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


def _model_result(result: Result, action: str | None) -> ActionResult:
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


def valuations(names: tuple[str, ...]) -> Iterator[dict[str, bool]]:
    """Every assignment of ``names``, all-false first."""
    for values in itertools.product((False, True), repeat=len(names)):
        yield dict(zip(names, values, strict=True))


def _full(spec: Spec, values: Mapping[str, bool]) -> GuardValues:
    return tuple((g.name, values.get(g.name, False)) for g in spec.guards)


def _flag(values: Mapping[str, bool], names: tuple[str, ...]) -> str:
    return ",".join(f"{n}={int(values[n])}" for n in names)


def run_step(spec: Spec, state: str, task: str, guards: GuardValues, result: Result) -> Step:
    outcome = step(spec, state, task, dict(guards))
    if isinstance(outcome, Accepted):
        outcome = step(
            spec, state, task, dict(guards), result=_model_result(result, outcome.rule.action)
        )
    return Step(task, guards, result, expect_of(outcome))


def cell_rows(spec: Spec) -> tuple[Row, ...]:
    """Every cell state x task x valuation of the cell's guards x action result."""
    rows: list[Row] = []
    for decl in spec.cell_states():
        for task in spec.tasks:
            shown = relevant_guards(spec, decl.name, task)
            for values in valuations(shown):
                guards = _full(spec, values)
                label = f"{decl.name}-{task}" + (f"-{_flag(values, shown)}" if shown else "")
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
            guards = _full(spec, values)
            allowed = tuple(
                task
                for task in spec.tasks
                if isinstance(step(spec, decl.name, task, dict(guards)), Accepted)
            )
            label = decl.name + (f"-{_flag(values, names)}" if names else "")
            out.append((label, decl.name, guards, allowed))
    return tuple(out)


@frozen
class Edge:
    """A transition of the machine: ``rule`` fired with ``result``, ending in ``end``."""

    rule: Rule
    result: Result
    end: str

    @property
    def label(self) -> str:
        return f"{self.rule.task}@{self.rule.source}-{self.result}"


def edges(spec: Spec) -> tuple[Edge, ...]:
    """Every (rule, action result) with where it ends, in spec order."""
    out: list[Edge] = []
    for rule in spec.rules:
        for result in results_for(spec, rule):
            end = spec.on_error if result == "fail" else rule.target
            out.append(Edge(rule, result, end))
    return tuple(out)


def _fire(spec: Spec, state: str, edge: Edge, constants: Mapping[str, bool]) -> Step | None:
    """The step firing ``edge`` from ``state`` with ``constants`` fixed, if any valuation can."""
    for dynamic in valuations(spec.dynamic_guards()):
        guards = _full(spec, {**constants, **dynamic})
        probe = step(spec, state, edge.rule.task, dict(guards))
        if isinstance(probe, Accepted) and probe.rule == edge.rule:
            return run_step(spec, state, edge.rule.task, guards, edge.result)
    return None


Path = tuple[Step, ...]


def shortest_path(spec: Spec, goal: str, constants: Mapping[str, bool]) -> Path | None:
    """The fewest tasks from the initial state to ``goal`` with ``constants`` fixed throughout."""
    parents: dict[str, tuple[str, Step] | None] = {spec.initial: None}
    queue = deque([spec.initial])
    all_edges = edges(spec)
    while queue:
        state = queue.popleft()
        if state == goal:
            path: list[Step] = []
            node = parents[state]
            while node is not None:
                path.append(node[1])
                node = parents[node[0]]
            return tuple(reversed(path))
        for edge in all_edges:
            if edge.rule.source != state or edge.end in parents:
                continue
            fired = _fire(spec, state, edge, constants)
            if fired is not None:
                parents[edge.end] = (state, fired)
                queue.append(edge.end)
    return None


@frozen
class Pair:
    """Two consecutive transitions; ``start`` is the state the machine is created in and
    ``path`` the tasks that lead from it to the first transition's source."""

    id: str
    constants: GuardValues
    start: str
    path: Path
    first: Step
    second: Step

    @property
    def path_key(self) -> str:
        """Names the path: the state it reaches and the constant guards it holds."""
        flags = ",".join(f"{n}={int(v)}" for n, v in self.constants)
        return self.first_source + (f"/{flags}" if flags else "")

    @property
    def first_source(self) -> str:
        return self.path[-1].expect.state if self.path else self.start


def pairs(spec: Spec) -> tuple[tuple[Pair, ...], tuple[str, ...]]:
    """Every feasible pair of consecutive transitions, and the labels of infeasible ones."""
    out: list[Pair] = []
    infeasible: list[str] = []
    all_edges = edges(spec)
    for first in all_edges:
        for second in all_edges:
            if second.rule.source != first.end:
                continue
            found = _pair(spec, first, second)
            label = f"{first.label}-then-{second.label}"
            if found is None:
                infeasible.append(label)
            else:
                out.append(found)
    return tuple(out), tuple(infeasible)


def _pair(spec: Spec, first: Edge, second: Edge) -> Pair | None:
    label = f"{first.label}-then-{second.label}"
    for constants in valuations(spec.constant_guards()):
        path = shortest_path(spec, first.rule.source, constants)
        start = spec.initial
        if path is None:
            if _reachable_anywhere(spec, first.rule.source):
                continue
            start, path = first.rule.source, ()
        one = _fire(spec, first.rule.source, first, constants)
        two = _fire(spec, first.end, second, constants) if one else None
        if one is not None and two is not None:
            return Pair(label, tuple(constants.items()), start, path, one, two)
    return None


def _reachable_anywhere(spec: Spec, goal: str) -> bool:
    return any(
        shortest_path(spec, goal, constants) is not None
        for constants in valuations(spec.constant_guards())
    )


def exo_trace(spec: Spec) -> tuple[GuardValues, Path] | None:
    """One runner's life as exo asserts it, if every task of it is accepted in turn."""
    if not all(task in spec.tasks for task in EXO_TRACE):
        return None
    for constants in valuations(spec.constant_guards()):
        state, path = spec.initial, []
        for task in EXO_TRACE:
            fired = None
            for edge in edges(spec):
                if edge.rule.task == task and edge.rule.source == state and edge.result == "ok":
                    fired = _fire(spec, state, edge, constants)
                    if fired is not None:
                        break
            if fired is None:
                break
            path.append(fired)
            state = fired.expect.state
        else:
            return tuple(constants.items()), tuple(path)
    return None


def final_paths(spec: Spec) -> tuple[tuple[str, GuardValues, Path], ...]:
    """The shortest path from the initial state to each final state (first constants that can)."""
    out: list[tuple[str, GuardValues, Path]] = []
    for decl in spec.states:
        if not decl.final:
            continue
        for constants in valuations(spec.constant_guards()):
            path = shortest_path(spec, decl.name, constants)
            if path is not None:
                out.append((decl.name, tuple(constants.items()), path))
                break
    return tuple(out)
