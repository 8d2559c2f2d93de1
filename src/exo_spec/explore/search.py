"""Breadth-first search with state hashing: the first violation of each invariant found is one
with a shortest trace. Bounded liveness is checked afterwards over the fault-free graph."""

from __future__ import annotations

import time
from collections import deque

from attrs import frozen

from exo_spec.explore.config import ExploreConfig
from exo_spec.explore.invariants import NOT_LIVE, rest_problems, state_problems
from exo_spec.explore.semantics import Semantics
from exo_spec.explore.state import ALIVE, Config, Runner, Step
from exo_spec.explore.transitions import moves

__all__ = ["ExploreResult", "Violation", "explore", "initial_config"]


@frozen
class Violation:
    """A broken invariant with the shortest trace that breaks it."""

    code: str
    message: str
    trace: tuple[Step, ...]


@frozen
class ExploreResult:
    """What one exploration found, and how big the state space was."""

    config: ExploreConfig
    states: int
    transitions: int
    seconds: float
    complete: bool
    violations: tuple[Violation, ...]
    max_depth: int

    @property
    def rate(self) -> float:
        return self.states / self.seconds if self.seconds > 0 else float(self.states)


def initial_config(sem: Semantics) -> Config:
    runner = Runner(state=sem.initial, seen=sem.initial, weights=sem.config.weights)
    return Config(tuple(runner for _ in range(sem.config.runners)))


def _at_goal(sem: Semantics, config: Config) -> bool:
    goal = sem.config.goal
    return all(
        r.proc == ALIVE and r.state == goal and r.current is None and not r.queue
        for r in config.runners
    )


def _fault_free(config: Config) -> bool:
    return config.faults == 0 and not config.deleted


_Key = tuple[tuple[int, ...], int, bool]
"""A configuration as its interned records, faults and deletion (cheap to hash)."""


class _Graph:
    def __init__(self) -> None:
        self.index: dict[_Key, int] = {}
        self.parent: list[tuple[int, Step] | None] = []
        self.depth: list[int] = []
        self.back: dict[int, list[int]] = {}

    def add(self, key: _Key, parent: tuple[int, Step] | None, depth: int) -> int:
        n = len(self.parent)
        self.index[key] = n
        self.parent.append(parent)
        self.depth.append(depth)
        return n

    def trace(self, n: int) -> tuple[Step, ...]:
        steps: list[Step] = []
        link = self.parent[n]
        while link is not None:
            steps.append(link[1])
            link = self.parent[link[0]]
        return tuple(reversed(steps))


def explore(config: ExploreConfig, semantics: type[Semantics] = Semantics) -> ExploreResult:
    """Explore every interleaving of ``config``; stop at ``config.max_states`` configurations.

    ``semantics`` answers what the spec means (tests pass a variant with a planted bug)."""
    sem = semantics(config)
    started = time.perf_counter()
    graph = _Graph()
    first: dict[str, Violation] = {}
    start = initial_config(sem)
    start_ids = tuple(sem.intern(r) for r in start.runners)
    graph.add((start_ids, start.faults, start.deleted), None, 0)
    for code, message in state_problems(sem, start):
        first.setdefault(code, Violation(code, message, ()))
    queue = deque([(start, 0, start_ids)])
    ready: list[int] = []
    fault_free: list[int] = []
    transitions = 0
    complete = True
    while queue:
        config_, n, ids = queue.popleft()
        if _fault_free(config_):
            fault_free.append(n)
            if _at_goal(sem, config_):
                ready.append(n)
        moved = False  # deleting the instance does not count: a stuck instance is stuck
        free = _fault_free(config_)
        for step, found, nxt_ids, faults, deleted in moves(sem, config_, ids):
            moved = moved or step.what != "delete"
            transitions += 1
            for code, message in found:
                if code not in first:
                    first[code] = Violation(code, message, (*graph.trace(n), step))
            key = (nxt_ids, faults, deleted)
            m = graph.index.get(key)
            if m is None:
                if len(graph.parent) >= config.max_states:
                    complete = False
                    continue
                m = graph.add(key, (n, step), graph.depth[n] + 1)
                nxt = Config(tuple(sem.records[k] for k in nxt_ids), faults, deleted)
                queue.append((nxt, m, nxt_ids))
            if free and not faults and not deleted and not step.fault:
                graph.back.setdefault(m, []).append(n)
        if not moved:
            for code, message in rest_problems(sem, config_):
                first.setdefault(code, Violation(code, message, graph.trace(n)))
    if complete and NOT_LIVE not in first:
        live = _not_live(sem, graph, ready, fault_free)
        if live is not None:
            first[NOT_LIVE] = live
    seconds = time.perf_counter() - started
    return ExploreResult(
        config,
        len(graph.parent),
        transitions,
        seconds,
        complete,
        tuple(sorted(first.values(), key=lambda v: (len(v.trace), v.code))),
        max(graph.depth),
    )


def _not_live(
    sem: Semantics, graph: _Graph, ready: list[int], fault_free: list[int]
) -> Violation | None:
    """The nearest fault-free configuration from which no fair run reaches the goal."""
    reach = set(ready)
    queue = deque(ready)
    while queue:
        n = queue.popleft()
        for m in graph.back.get(n, ()):
            if m not in reach:
                reach.add(m)
                queue.append(m)
    for n in sorted(fault_free, key=lambda k: graph.depth[k]):
        if n not in reach:
            message = (
                f"with no fault and the instance placed, no run from here reaches "
                f"{sem.config.goal} on every rank"
            )
            return Violation(NOT_LIVE, message, graph.trace(n))
    return None
