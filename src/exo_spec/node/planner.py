"""The node's planner: the next task for each runner, derived from the spec's graph.

exo's worker plans with a hand-written chain (download, connect, load, warm up). Here the plan
is the first task of a shortest path in the spec's graph from where a runner is to ``ready``, so
a change to the spec changes the plan. Pure functions over fake-able runner views; the daemon
feeds them the supervisors' statuses and the guard values it observes.

The graph's nodes are (state, guard values) with the constant guards fixed. A transition keeps
the guard values, except one whose action returns to the state it started from (the spec's
``DownloadModel`` from ``idle``): such a rule exists only to change the world, so after it the
dynamic guards may take any values. Ties go to the task declared first in the spec.

A group (several ranks of one instance) also synchronises at its collective tasks, as exo's
``plan.py`` does: a rank takes a collective task only once every rank has reached that task's
state, and one designated rank goes last, once every other rank is inside the task (in its
``via`` state) or already past it. Which tasks are collective, and who goes last, is a :class:`GroupPolicy`.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping, Sequence
from typing import Literal

from attrs import field, frozen

from exo_spec.model import Accepted, allowed_tasks, step
from exo_spec.model.paths import shortest_path
from exo_spec.model.valuations import valuation_text, valuations
from exo_spec.spec import Rule, Spec

__all__ = [
    "EXO_GROUP_POLICY",
    "AtGoal",
    "Backoff",
    "Busy",
    "Decision",
    "GroupPolicy",
    "NoPath",
    "PlacementError",
    "RunTask",
    "RunnerView",
    "Wait",
    "check_placement",
    "distance",
    "plan_group",
    "plan_runner",
]

GOAL = "ready"


def _guard_map(values: Mapping[str, bool]) -> dict[str, bool]:
    return dict(values)


def _policy_map(
    values: Mapping[str, Literal["first", "last"] | None],
) -> dict[str, Literal["first", "last"] | None]:
    return dict(values)


class PlacementError(ValueError):
    """The spec has no path from its initial state to the goal for this placement."""


@frozen
class RunnerView:
    """What the planner knows of one runner: its rank, state and guard values."""

    runner_id: str
    state: str
    guards: Mapping[str, bool] = field(converter=_guard_map)
    rank: int = 0


@frozen
class RunTask:
    """Send ``task`` now: the first step of a shortest path of ``steps`` tasks to the goal."""

    task: str
    rule: Rule
    steps: int


@frozen
class AtGoal:
    """The runner is where it should be."""


@frozen
class Busy:
    """The runner is inside a task (a transient state); plan again when it rests."""

    state: str


@frozen
class Wait:
    """The runner's next task is ``task``, but its group is not there yet."""

    task: str
    reason: str


@frozen
class NoPath:
    """No path to the goal from here with these guard values; ``reason`` says what is allowed."""

    reason: str


Decision = RunTask | AtGoal | Busy | Wait | NoPath

_Node = tuple[str, tuple[tuple[str, bool], ...]]


def _node(spec: Spec, state: str, guards: Mapping[str, bool]) -> _Node:
    return state, tuple((g.name, bool(guards.get(g.name, False))) for g in spec.guards)


def _successors(spec: Spec, node: _Node) -> list[tuple[Rule, _Node]]:
    """Every rule that fires from ``node`` (spec order), and the nodes it may lead to."""
    state, values = node
    decl = spec.state(state)
    if decl.final or not decl.accepts_tasks:
        return []
    guards = dict(values)
    dynamic = spec.dynamic_guards()
    out: list[tuple[Rule, _Node]] = []
    for task in spec.tasks:
        outcome = step(spec, state, task, guards)
        if not isinstance(outcome, Accepted):
            continue
        rule = outcome.rule
        if rule.action is not None and rule.target == rule.source:
            for world in valuations(dynamic):
                out.append((rule, _node(spec, rule.target, {**guards, **world})))
        else:
            out.append((rule, _node(spec, rule.target, guards)))
    return out


def _first_step(spec: Spec, start: _Node, goal: str) -> tuple[Rule, int] | None:
    """The first rule of a shortest path from ``start`` to ``goal``, and the path's length."""
    first: dict[_Node, tuple[Rule, int] | None] = {start: None}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for rule, nxt in _successors(spec, node):
            if nxt in first:
                continue
            origin = first[node]
            via = (rule, 1) if origin is None else (origin[0], origin[1] + 1)
            if nxt[0] == goal:
                return via
            first[nxt] = via
            queue.append(nxt)
    return None


def plan_runner(spec: Spec, view: RunnerView, goal: str = GOAL) -> Decision:
    """The next task for one runner on its own: the first step of a shortest path to ``goal``."""
    if view.state == goal:
        return AtGoal()
    decl = spec.state(view.state)
    if decl.transient or decl.final:
        return Busy(view.state) if not decl.final else NoPath(_no_path(spec, view, goal))
    found = _first_step(spec, _node(spec, view.state, view.guards), goal)
    if found is None:
        return NoPath(_no_path(spec, view, goal))
    rule, steps = found
    return RunTask(rule.task, rule, steps)


def distance(spec: Spec, view: RunnerView, goal: str = GOAL) -> int | None:
    """How many tasks ``view`` is from ``goal`` (0 there, ``None`` without a path)."""
    decision = plan_runner(spec, view, goal)
    if isinstance(decision, AtGoal):
        return 0
    return decision.steps if isinstance(decision, RunTask) else None


def _no_path(spec: Spec, view: RunnerView, goal: str) -> str:
    shown = valuation_text(_node(spec, view.state, view.guards)[1])
    if spec.state(view.state).final:
        return (
            f"runner {view.runner_id} is in final state {view.state}: it can reach {goal} no more"
        )
    allowed = ", ".join(allowed_tasks(spec, view.state, view.guards)) or "none"
    return (
        f"runner {view.runner_id} in state {view.state} ({shown}) has no path to {goal} "
        f"in the spec; allowed here: {allowed}"
    )


def check_placement(spec: Spec, constants: Mapping[str, bool], goal: str = GOAL) -> None:
    """Raise :class:`PlacementError` when no runner with ``constants`` can ever reach ``goal``."""
    if not spec.has_state(goal):
        raise PlacementError(f"the spec {spec.path} has no state {goal!r}")
    fixed = {name: bool(constants.get(name, False)) for name in spec.constant_guards()}
    if shortest_path(spec, goal, fixed) is None:
        raise PlacementError(
            f"the spec {spec.path} has no path from {spec.initial} to {goal} "
            f"when {valuation_text(fixed) or 'no guard is constant'}: this placement can never "
            "serve; fix the spec's rules (exo-spec check reports unreachable states)"
        )


# -- groups --------------------------------------------------------------------------------------


@frozen
class GroupPolicy:
    """The collective tasks of a group, and for each the rank that goes last (or ``None``)."""

    collective: Mapping[str, Literal["first", "last"] | None] = field(converter=_policy_map)


EXO_GROUP_POLICY = GroupPolicy(
    {"ConnectToGroup": "last", "LoadModel": None, "StartWarmup": "first"}
)
"""exo's ``plan.py``: ranks connect with the last rank last, load once every rank is connected,
and warm up with rank 0 last."""


def plan_group(
    spec: Spec,
    views: Sequence[RunnerView],
    policy: GroupPolicy = EXO_GROUP_POLICY,
    goal: str = GOAL,
) -> dict[str, Decision]:
    """The next decision for every rank of one instance (a single runner is a group of one)."""
    own = {view.runner_id: plan_runner(spec, view, goal) for view in views}
    if len(views) < 2:
        return own
    out: dict[str, Decision] = {}
    for view in views:
        decision = own[view.runner_id]
        if isinstance(decision, RunTask) and decision.task in policy.collective:
            waiting = _group_gate(spec, view, decision, views, policy, goal)
            if waiting is not None:
                decision = Wait(decision.task, waiting)
        out[view.runner_id] = decision
    return out


def _group_gate(
    spec: Spec,
    view: RunnerView,
    decision: RunTask,
    views: Sequence[RunnerView],
    policy: GroupPolicy,
    goal: str,
) -> str | None:
    """Why ``view`` must wait before ``decision``'s collective task, or ``None`` to go."""
    rule = decision.rule
    others = [v for v in views if v.runner_id != view.runner_id]
    # a peer is behind unless it is inside the collective or no further from the goal: a peer
    # at the same state that must first do something else (download) is behind too
    behind = [
        v
        for v in others
        if v.state != rule.via and ((d := distance(spec, v, goal)) is None or d > decision.steps)
    ]
    if behind:
        names = ", ".join(f"rank {v.rank} ({v.state})" for v in behind)
        return f"{decision.task} waits for every rank to reach {rule.source}: {names}"
    last = policy.collective[decision.task]
    ranks = sorted(v.rank for v in views)
    if last is not None and view.rank == (ranks[-1] if last == "last" else ranks[0]):
        # a rank already past the task (a task that returned at once) does not hold it back
        outside = [
            v
            for v in others
            if v.state != rule.via
            and ((d := distance(spec, v, goal)) is None or d >= decision.steps)
        ]
        if outside:
            names = ", ".join(f"rank {v.rank} ({v.state})" for v in outside)
            return f"rank {view.rank} takes {decision.task} last, once every other rank is in {rule.via}: {names}"
    return None


# -- re-planning after failures ------------------------------------------------------------------


@frozen
class Backoff:
    """One runner's failure budget: ``failures`` in a row, delay doubling from ``base_s`` up to
    ``max_s``; spent after ``max_failures``. Each runner has its own: a sibling's crash does
    not spend it, and a success resets it."""

    failures: int = 0
    base_s: float = 0.25
    max_s: float = 10.0
    max_failures: int = 5

    def failed(self) -> Backoff:
        return Backoff(self.failures + 1, self.base_s, self.max_s, self.max_failures)

    def succeeded(self) -> Backoff:
        return Backoff(0, self.base_s, self.max_s, self.max_failures)

    @property
    def delay_s(self) -> float:
        if self.failures == 0:
            return 0.0
        return float(min(self.max_s, self.base_s * 2 ** (self.failures - 1)))

    @property
    def spent(self) -> bool:
        return self.failures >= self.max_failures
