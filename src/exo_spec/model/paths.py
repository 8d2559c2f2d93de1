"""Paths through a spec's machine: its transitions, shortest task paths and transition pairs.

An edge is a rule fired with one action result. From the edges come the shortest task path
from the initial state to each state (with the constant guards fixed throughout), every
feasible pair of consecutive transitions and exo's own lifecycle trace. The generated tests
write them out and the conformance suite drives them, each preceded by its path.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping

from attrs import frozen

from exo_spec.model.cells import Result, Step, results_for, run_step
from exo_spec.model.step import Accepted, step
from exo_spec.model.valuations import GuardValues, flags_text, full_valuation, valuations
from exo_spec.spec import Rule, Spec

__all__ = [
    "EXO_TRACE",
    "Edge",
    "Pair",
    "Path",
    "edges",
    "exo_trace",
    "final_paths",
    "pairs",
    "shortest_path",
]

EXO_TRACE = (
    "DownloadModel",
    "LoadModel",
    "StartWarmup",
    "ChatCompletion",
    "ChatCompletion",
    "Shutdown",
)
"""The tasks of one runner's life as exo's own tests assert it."""


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
        guards = full_valuation(spec, {**constants, **dynamic})
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
        flags = flags_text(self.constants)
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
