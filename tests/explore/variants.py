"""Planted bugs: each a small change to the planner or to the supervisor model, and the
exploration that finds it. ``tests/check/test_rule_examples.py`` runs them as the EXS7xx
examples."""

from __future__ import annotations

from collections.abc import Sequence

from exo_spec.explore import ExploreConfig, SupervisorModel, explore
from exo_spec.explore.search import ExploreResult
from exo_spec.explore.semantics import Semantics, Started
from exo_spec.model import Deferred, Rejected, RunnerStatus
from exo_spec.node.planner import Decision, GroupPolicy, RunnerView, RunTask, plan_group
from exo_spec.spec import Spec

LAST_RANK_FIRST = GroupPolicy(
    {"ConnectToGroup": "first", "LoadModel": None, "StartWarmup": "first"}
)
LOAD_UNGATED = GroupPolicy({"ConnectToGroup": "last", "StartWarmup": "first"})


def last_rank_first(spec: Spec, views: Sequence[RunnerView]) -> dict[str, Decision]:
    """The node's planner with the connect order reversed: the last rank connects first."""
    return plan_group(spec, views, LAST_RANK_FIRST)


def load_before_connected(spec: Spec, views: Sequence[RunnerView]) -> dict[str, Decision]:
    """The node's planner without LoadModel's gate: a rank loads before its group connected."""
    return plan_group(spec, views, LOAD_UNGATED)


def warmup_first(spec: Spec, views: Sequence[RunnerView]) -> dict[str, Decision]:
    """A planner that asks for StartWarmup first (the real runner rejects it in idle)."""
    plans = plan_group(spec, views)
    rule = next(r for r in spec.rules if r.task == "StartWarmup")
    for view in views:
        if view.state == "idle":
            plans[view.runner_id] = RunTask("StartWarmup", rule, 1)
    return plans


class ActionAnywhere(Semantics):
    """A runner that runs a rejected task's action anyway (the rule of another state)."""

    def outcome(self, state: str, task: str, weights: bool) -> Started | Rejected | Deferred:
        found = super().outcome(state, task, weights)
        if isinstance(found, Rejected):
            for rule in self.spec.rules:
                other = super().outcome(rule.source, task, weights)
                if rule.task == task and isinstance(other, Started):
                    return other
        return found


class SilentVia(Semantics):
    """A runner whose accept phase moves to ``via`` without RunnerStatusUpdated."""

    def outcome(self, state: str, task: str, weights: bool) -> Started | Rejected | Deferred:
        found = super().outcome(state, task, weights)
        if isinstance(found, Started):
            accept = tuple(e for e in found.accept if not isinstance(e, RunnerStatus))
            return Started(
                found.rule,
                accept,
                found.success,
                found.success_state,
                found.failure,
                found.failure_state,
            )
        return found


def run(spec: Spec, code: str) -> ExploreResult:
    """The exploration that exhibits ``code`` (a planted bug where the real system is clean)."""
    group = ExploreConfig(spec, runners=2, weights=True)
    single = ExploreConfig(spec, runners=1, faults=("crash",), fault_budget=2)
    match code:
        case "EXS701" | "EXS706":
            return explore(ExploreConfig(spec, runners=2, faults=("crash",), weights=True))
        case "EXS702":
            return explore(_with(single, planner=warmup_first, faults=()), ActionAnywhere)
        case "EXS703":
            return explore(ExploreConfig(spec, runners=1), SilentVia)
        case "EXS704":
            return explore(ExploreConfig(spec, supervisor=SupervisorModel(cleanup_guard=False)))
        case "EXS705":
            return explore(ExploreConfig(spec, supervisor=SupervisorModel(drop_after_exit=False)))
        case "EXS707":
            return explore(_with(group, planner=last_rank_first))
        case "EXS708":
            return explore(_with(group, planner=load_before_connected))
        case "EXS709":
            return explore(_with(single, supervisor=SupervisorModel(reset_on_success=False)))
        case "EXS710":
            return explore(ExploreConfig(spec, max_states=10))
    raise KeyError(code)


def _with(config: ExploreConfig, **changes: object) -> ExploreConfig:
    import attrs

    return attrs.evolve(config, **changes)  # type: ignore[arg-type]


class SilentCancel(Semantics):
    """A runner whose CancelTask never reports its own final status."""

    def outcome(self, state: str, task: str, weights: bool) -> Started | Rejected | Deferred:
        found = super().outcome(state, task, weights)
        if isinstance(found, Started) and task == "CancelTask":
            return Started(
                found.rule, found.accept, (), found.success_state, (), found.failure_state
            )
        return found
