"""The spec as a graph, per valuation of its constant guards: small pure generator functions.

Dynamic guards are free (they may hold any value after any task), constant guards are fixed
for a runner's life, so each valuation of the constant guards gives one graph. A rule whose
guard can hold under that valuation adds edges from its source to its ``via`` state, to its
target and (when it has an action, which may raise) to ``on_error``. A ``via`` state is not a
hub: two rules through ``downloading`` do not connect each other's sources and targets. Only
the question "can a final state still be reached from here" follows a rule on from its ``via``
state (see :func:`via_edges`). Rules from states that handle no tasks (final, or transient and
not interruptible) never fire, and edges to unknown states are skipped, so every function here
is safe on a spec that still has dangling references.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from exo_spec.check.logic import witness
from exo_spec.spec.types import Rule, Spec

__all__ = [
    "can_reach_final",
    "enabled_rules",
    "reachable",
    "rule_can_fire",
    "rule_edges",
    "successors",
    "via_edges",
]


def rule_can_fire(spec: Spec, rule: Rule, constants: Mapping[str, bool]) -> bool:
    """The rule's source handles tasks and its guard can hold with these constant values."""
    if not spec.has_state(rule.source) or not spec.state(rule.source).accepts_tasks:
        return False
    return witness([(rule.when, True)], constants) is not None


def enabled_rules(spec: Spec, state: str, constants: Mapping[str, bool]) -> Iterator[Rule]:
    """The rules from ``state`` that can fire under ``constants`` (and some dynamic values)."""
    for rule in _rules_from(spec).get(state, ()):
        if rule_can_fire(spec, rule, constants):
            yield rule


def rule_edges(spec: Spec, rule: Rule) -> Iterator[tuple[str, str]]:
    """The edges one rule adds from its source: to ``via``, to its target, to ``on_error``."""
    if rule.via is not None:
        yield rule.source, rule.via
    yield rule.source, rule.target
    if rule.action is not None and spec.on_error:
        yield rule.source, spec.on_error


def via_edges(spec: Spec, rule: Rule) -> Iterator[tuple[str, str]]:
    """Where a runner in the rule's ``via`` state goes next: the target, or ``on_error``."""
    if rule.via is not None:
        yield rule.via, rule.target
        if rule.action is not None and spec.on_error:
            yield rule.via, spec.on_error


def successors(spec: Spec, state: str, constants: Mapping[str, bool]) -> Iterator[str]:
    """The known states one step away from ``state`` (a transient state counts as a step)."""
    yield from _adjacency(spec, constants).get(state, ())


def reachable(spec: Spec, constants: Mapping[str, bool], start: str | None = None) -> set[str]:
    """The known states reachable from ``start`` (default: the initial state), breadth first."""
    first = spec.initial if start is None else start
    if not spec.has_state(first):
        return set()
    return _bfs([first], _adjacency(spec, constants))


def can_reach_final(spec: Spec, constants: Mapping[str, bool]) -> set[str]:
    """The states from which some final state is reachable (a backwards search)."""
    backwards: dict[str, list[str]] = {}
    for source, targets in _adjacency(spec, constants).items():
        for target in targets:
            backwards.setdefault(target, []).append(source)
    for rule in spec.rules:
        if rule_can_fire(spec, rule, constants):
            for source, target in via_edges(spec, rule):
                backwards.setdefault(target, []).append(source)
    return _bfs([s.name for s in spec.states if s.final], backwards)


def _bfs(starts: Iterable[str], edges: Mapping[str, Iterable[str]]) -> set[str]:
    seen = set(starts)
    queue = deque(seen)
    while queue:
        for nxt in edges.get(queue.popleft(), ()):
            if nxt not in seen:
                seen.add(nxt)
                queue.append(nxt)
    return seen


_Key = tuple[int, str, tuple[tuple[str, bool], ...]]
_CACHE: dict[_Key, tuple[Spec, dict[str, list[Any]]]] = {}


def _memo(
    spec: Spec, what: str, constants: Mapping[str, bool], build: Callable[[], dict[str, list[Any]]]
) -> dict[str, list[Any]]:
    """Memoise a derived table for the last few specs (keyed by identity, checked on use)."""
    key = (id(spec), what, tuple(sorted(constants.items())))
    hit = _CACHE.get(key)
    if hit is not None and hit[0] is spec:
        return hit[1]
    if len(_CACHE) > 64:
        _CACHE.clear()
    table = build()
    _CACHE[key] = (spec, table)
    return table


def _rules_from(spec: Spec) -> dict[str, list[Rule]]:
    def build() -> dict[str, list[Any]]:
        out: dict[str, list[Any]] = {}
        for rule in spec.rules:
            out.setdefault(rule.source, []).append(rule)
        return out

    return _memo(spec, "rules", {}, build)


def _adjacency(spec: Spec, constants: Mapping[str, bool]) -> dict[str, list[str]]:
    """Known-state adjacency under ``constants``."""
    return _memo(spec, "edges", constants, lambda: _build_adjacency(spec, constants))


def _build_adjacency(spec: Spec, constants: Mapping[str, bool]) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    for rule in spec.rules:
        if not rule_can_fire(spec, rule, constants):
            continue
        for source, target in rule_edges(spec, rule):
            if spec.has_state(source) and spec.has_state(target):
                targets = out.setdefault(source, [])
                if target not in targets:
                    targets.append(target)
    return out
