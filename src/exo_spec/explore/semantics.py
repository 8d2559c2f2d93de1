"""The spec's meaning for the explorer: ``step()`` and the planner, memoised (both are pure)."""

from __future__ import annotations

from attrs import frozen

from exo_spec.explore.config import ExploreConfig
from exo_spec.explore.state import Runner
from exo_spec.model import (
    CANCELLED,
    OK,
    Accepted,
    Deferred,
    ModelEvent,
    Raised,
    Rejected,
    RunnerStatus,
    StepOutcome,
    TaskStatus,
    initial_events,
    step,
)
from exo_spec.node.planner import Backoff, Decision, RunnerView, distance
from exo_spec.spec import Rule

__all__ = ["Semantics", "Started"]

FAULT_MESSAGE = "injected fault: the action raised"


@frozen
class Started:
    """A rule that fired: the events up to its action, and each ending's events and state."""

    rule: Rule
    accept: tuple[ModelEvent, ...]
    success: tuple[ModelEvent, ...]
    success_state: str
    failure: tuple[ModelEvent, ...]
    failure_state: str
    cancelled: tuple[ModelEvent, ...] = ()
    """The ending of a cancellable action asked to stop (empty for the others)."""
    cancelled_state: str | None = None


def _split(ok: Accepted, failed: Accepted | None, cancelled: Accepted | None = None) -> Started:
    if failed is None:  # no action: nothing between accepting and ending
        return Started(ok.rule, ok.events, (), ok.next_state, (), ok.next_state)
    n = 0
    while n < min(len(ok.events), len(failed.events)) and ok.events[n] == failed.events[n]:
        n += 1
    stopped = () if cancelled is None else cancelled.events[n:]
    return Started(
        ok.rule,
        ok.events[:n],
        ok.events[n:],
        ok.next_state,
        failed.events[n:],
        failed.next_state,
        stopped,
        None if cancelled is None else cancelled.next_state,
    )


class Semantics:
    """Memoised answers about one spec and one instance (pure functions, so caching is safe)."""

    def __init__(self, config: ExploreConfig) -> None:
        self.config = config
        self.spec = config.spec
        self._steps: dict[tuple[str, str, bool], Started | Rejected | Deferred] = {}
        self._plans: dict[tuple[tuple[str, bool], ...], dict[str, Decision]] = {}
        self._distance: dict[tuple[str, bool], int | None] = {}
        self._spent: dict[int, bool] = {}
        self._sources: dict[tuple[str, str, bool], str] = {}
        self.moves: dict[tuple[object, ...], object] = {}
        """The search's memo of one rank's moves (see :mod:`.transitions`)."""
        self._ids: dict[Runner, int] = {}
        self.records: list[Runner] = []
        """Every distinct rank record, by its interned number."""
        self.derived: dict[tuple[str, int], int] = {}
        """The number of a record derived from another (``forget``, ``ungroup``)."""
        self.initial = self.spec.initial
        self.initial_events = initial_events(self.spec)
        self.chat_states = frozenset(
            {r.source for r in self.spec.rules if r.task == "ChatCompletion"}
            | {s.name for s in self.spec.states if self.spec.deferred(s.name, "ChatCompletion")}
        )
        """Where the node sends a chat: a rank its mirror sees taking or queueing one."""
        self.accepts_tasks = {s.name: s.accepts_tasks for s in self.spec.states}
        self.has_deadline = {
            s.name: s.timeout_s is not None or s.stall_timeout_s is not None
            for s in self.spec.states
        }

    def guards(self, weights: bool) -> dict[str, bool]:
        return {"has_group": self.config.group, "weights_present": weights}

    def outcome(self, state: str, task: str, weights: bool) -> Started | Rejected | Deferred:
        """``step()`` for ``task`` in ``state``: the rule that fires and both of its endings."""
        key = (state, task, weights)
        found = self._steps.get(key)
        if found is None:
            guards = self.guards(weights)
            first: StepOutcome = step(self.spec, state, task, guards, result=OK)
            if isinstance(first, Accepted):
                failed = cancelled = None
                action = first.rule.action
                if action is not None:
                    raised = step(self.spec, state, task, guards, result=Raised(FAULT_MESSAGE))
                    assert isinstance(raised, Accepted)
                    failed = raised
                    if self.spec.action(action).cancellable:
                        stop = step(self.spec, state, task, guards, result=CANCELLED)
                        assert isinstance(stop, Accepted)
                        cancelled = stop
                found = _split(first, failed, cancelled)
            else:
                found = first
            self._steps[key] = found
        return found

    def intern(self, runner: Runner) -> int:
        """The record's number: equal records get one number, so a configuration is keyed by
        a few small integers (hashing them is cheap; hashing records is not)."""
        found = self._ids.get(runner)
        if found is None:
            found = self._ids[runner] = len(self.records)
            self.records.append(runner)
        return found

    def ending_source(self, state: str, task: str, weights: bool) -> str:
        """The first state of the spec whose rule for ``task`` ends exactly as ``state``'s does
        (same action, same events and states on success and on failure). A running action's
        record keeps this instead of its own source: nothing but the ending reads it, so
        records that differ only there have the same futures."""
        key = (state, task, weights)
        found = self._sources.get(key)
        if found is None:
            mine = self.outcome(state, task, weights)
            found = state
            if isinstance(mine, Started):
                for other in self.spec.states:
                    if not other.accepts_tasks:
                        continue
                    theirs = self.outcome(other.name, task, weights)
                    if isinstance(theirs, Started) and _ending(theirs) == _ending(mine):
                        found = other.name
                        break
            self._sources[key] = found
        return found

    def backoff_spent(self, failures: int) -> bool:
        """The node's :class:`Backoff` after ``failures`` in a row: is it spent?"""
        found = self._spent.get(failures)
        if found is None:
            found = Backoff(failures, max_failures=self.config.max_failures).spent
            self._spent[failures] = found
        return found

    def rank_id(self, rank: int) -> str:
        return f"r{rank}"

    def view_state(self, runner: Runner) -> str:
        return runner.seen or self.initial

    def plan(self, runners: tuple[Runner, ...]) -> dict[str, Decision]:
        """The planner's decisions, from what the node sees (each supervisor's mirror)."""
        key = tuple((self.view_state(r), r.weights) for r in runners)
        found = self._plans.get(key)
        if found is None:
            views = [
                RunnerView(self.rank_id(i), state, self.guards(weights), i)
                for i, (state, weights) in enumerate(key)
            ]
            found = self.config.planner(self.spec, views)
            self._plans[key] = found
        return found

    def distance(self, state: str | None, weights: bool) -> int | None:
        """How many tasks from ``state`` to the goal (``None``: a transient state, no path)."""
        if state is None:
            return None
        key = (state, weights)
        if key not in self._distance:
            view = RunnerView("r", state, self.guards(weights), 0)
            self._distance[key] = distance(self.spec, view, self.config.goal)
        return self._distance[key]


def _ending(started: Started) -> tuple[object, ...]:
    rule = started.rule
    return (
        rule.task,
        rule.action,
        rule.via,
        started.success,
        started.success_state,
        started.failure,
        started.failure_state,
        started.cancelled,
        started.cancelled_state,
    )


def status_events(events: tuple[ModelEvent, ...]) -> tuple[RunnerStatus | TaskStatus, ...]:
    return tuple(e for e in events if isinstance(e, RunnerStatus | TaskStatus))
