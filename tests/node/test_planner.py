"""The planner as exo tests its own: pure functions over fake runner views, exo's rules as cases,
and properties over the spec (following the plan reaches ready whenever the spec allows it)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from exo_spec.model import Accepted, step
from exo_spec.node.planner import (
    AtGoal,
    Backoff,
    Busy,
    NoPath,
    PlacementError,
    RunnerView,
    RunTask,
    Wait,
    check_placement,
    plan_group,
    plan_runner,
)
from exo_spec.spec import Spec, load_spec_text

SINGLE = {"has_group": False}
GROUP = {"has_group": True}


def view(state: str, weights: bool, *, group: bool = False, rank: int = 0) -> RunnerView:
    guards = {"has_group": group, "weights_present": weights}
    return RunnerView(f"r{rank}", state, guards, rank)


def task_of(decision: object) -> str:
    assert isinstance(decision, RunTask), decision
    return decision.task


# -- one runner --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("state", "weights", "group", "task", "steps"),
    [
        ("idle", False, False, "DownloadModel", 3),
        ("idle", True, False, "LoadModel", 2),
        ("loaded", True, False, "StartWarmup", 1),
        ("failed", True, False, "DownloadModel", 3),
        ("idle", False, True, "DownloadModel", 4),
        ("idle", True, True, "ConnectToGroup", 3),
        ("connected", False, True, "DownloadModel", 3),
        ("connected", True, True, "LoadModel", 2),
    ],
)
def test_single_runner_plans_first_step_of_shortest_path(
    runner_spec: Spec, state: str, weights: bool, group: bool, task: str, steps: int
) -> None:
    decision = plan_runner(runner_spec, view(state, weights, group=group))
    assert isinstance(decision, RunTask)
    assert (decision.task, decision.steps) == (task, steps)


def test_ready_is_the_goal_and_transient_states_are_busy(runner_spec: Spec) -> None:
    assert plan_runner(runner_spec, view("ready", True)) == AtGoal()
    assert plan_runner(runner_spec, view("loading", True)) == Busy("loading")
    assert plan_runner(runner_spec, view("running", True)) == Busy("running")


def test_final_state_has_no_path(runner_spec: Spec) -> None:
    decision = plan_runner(runner_spec, view("shutdown", True))
    assert isinstance(decision, NoPath)
    assert "final state shutdown" in decision.reason


def test_placement_is_checked_against_the_spec(runner_spec: Spec) -> None:
    check_placement(runner_spec, SINGLE)
    check_placement(runner_spec, GROUP)


NO_LOAD_FOR_SINGLE = """\
version: 1
machine: runner
initial: idle
guards:
  has_group: {doc: group, constant: true}
actions:
  load: {doc: load}
states:
  idle: {status: RunnerIdle}
  loading: {status: RunnerLoading, transient: true}
  ready: {status: RunnerReady}
  shutting_down: {status: RunnerShuttingDown, transient: true}
  shutdown: {status: RunnerShutdown, final: true}
  failed: {status: RunnerFailed}
tasks:
  LoadModel:
    - {from: idle, when: has_group, via: loading, do: load, to: ready}
  Shutdown:
    - {from: "*", via: shutting_down, to: shutdown}
on_error: failed
events:
  accept: [TaskStatusUpdated(Running), RunnerStatusUpdated(via), TaskAcknowledged]
  success: [TaskStatusUpdated(Complete), RunnerStatusUpdated(to)]
  cancelled: [TaskStatusUpdated(Cancelled), RunnerStatusUpdated(to)]
  failure: [TaskStatusUpdated(Failed), RunnerStatusUpdated(on_error)]
  reject: [TaskStatusUpdated(Failed)]
"""


def small_spec(text: str) -> Spec:
    result = load_spec_text(text, "small.yaml")
    assert result.spec is not None, result.diagnostics
    return result.spec


def test_a_spec_without_a_path_to_ready_fails_at_placement() -> None:
    spec = small_spec(NO_LOAD_FOR_SINGLE)
    check_placement(spec, GROUP)
    with pytest.raises(PlacementError, match="no path from idle to ready when has_group=false"):
        check_placement(spec, SINGLE)
    decision = plan_runner(spec, RunnerView("r0", "idle", {"has_group": False}))
    assert isinstance(decision, NoPath)
    assert "allowed here: Shutdown" in decision.reason


def test_the_plan_follows_the_spec_not_a_fixed_chain() -> None:
    """A spec whose warm-up is not needed plans no warm-up: the plan comes from the graph."""
    text = runner_spec_text().replace(
        "- {from: idle, when: not has_group and weights_present, via: loading, do: load, to: loaded}",
        "- {from: idle, when: not has_group and weights_present, via: loading, do: load, to: ready}",
    )
    spec = small_spec(text)
    decision = plan_runner(spec, view("idle", True))
    assert (task_of(decision), decision.steps) == ("LoadModel", 1)  # type: ignore[union-attr]


def runner_spec_text() -> str:
    from tests.conftest import RUNNER_SPEC

    return RUNNER_SPEC.read_text()


# -- groups: exo's plan.py rules ---------------------------------------------------------------


def group(*members: tuple[str, bool]) -> list[RunnerView]:
    return [view(state, weights, group=True, rank=i) for i, (state, weights) in enumerate(members)]


def test_group_ranks_connect_in_order_the_last_rank_last(runner_spec: Spec) -> None:
    views = group(("idle", True), ("idle", True), ("idle", True))
    plan = plan_group(runner_spec, views)
    assert task_of(plan["r0"]) == "ConnectToGroup"
    assert task_of(plan["r1"]) == "ConnectToGroup"
    assert isinstance(plan["r2"], Wait)
    assert "rank 2 takes ConnectToGroup last" in plan["r2"].reason
    views = group(("connecting", True), ("connecting", True), ("idle", True))
    assert task_of(plan_group(runner_spec, views)["r2"]) == "ConnectToGroup"


def test_the_last_rank_goes_once_the_others_are_past_the_task(runner_spec: Spec) -> None:
    # a task that returned at once: the others never showed their via state to the planner
    views = group(("connected", True), ("connecting", True), ("idle", True))
    assert task_of(plan_group(runner_spec, views)["r2"]) == "ConnectToGroup"
    plan = plan_group(runner_spec, group(("loaded", True), ("ready", True)))
    assert task_of(plan["r0"]) == "StartWarmup"
    plan = plan_group(runner_spec, group(("idle", True), ("connected", True), ("idle", True)))
    assert isinstance(plan["r2"], Wait)  # rank 0 has not started it yet


def test_group_connect_waits_for_a_rank_still_downloading(runner_spec: Spec) -> None:
    plan = plan_group(runner_spec, group(("idle", True), ("downloading", False)))
    assert isinstance(plan["r0"], Wait)
    assert plan["r1"] == Busy("downloading")


def test_group_loads_only_once_every_rank_is_connected(runner_spec: Spec) -> None:
    plan = plan_group(runner_spec, group(("connected", True), ("connecting", True)))
    assert isinstance(plan["r0"], Wait)
    assert "reach connected" in plan["r0"].reason
    plan = plan_group(runner_spec, group(("connected", True), ("connected", True)))
    assert [task_of(plan[r]) for r in ("r0", "r1")] == ["LoadModel", "LoadModel"]
    plan = plan_group(runner_spec, group(("connected", True), ("loaded", True)))
    assert task_of(plan["r0"]) == "LoadModel"


def test_group_warms_up_with_rank_zero_last(runner_spec: Spec) -> None:
    plan = plan_group(runner_spec, group(("loaded", True), ("loaded", True), ("loading", True)))
    assert all(isinstance(plan[r], Wait) for r in ("r0", "r1"))
    plan = plan_group(runner_spec, group(("loaded", True), ("loaded", True), ("loaded", True)))
    assert isinstance(plan["r0"], Wait)
    assert "rank 0 takes StartWarmup last" in plan["r0"].reason
    assert task_of(plan["r1"]) == task_of(plan["r2"]) == "StartWarmup"
    plan = plan_group(
        runner_spec, group(("loaded", True), ("warming_up", True), ("warming_up", True))
    )
    assert task_of(plan["r0"]) == "StartWarmup"


def test_a_single_runner_is_not_gated(runner_spec: Spec) -> None:
    plan = plan_group(runner_spec, [view("idle", True)])
    assert task_of(plan["r0"]) == "LoadModel"


# -- backoff ---------------------------------------------------------------------------------


def test_backoff_doubles_is_bounded_and_resets_on_success() -> None:
    backoff = Backoff(base_s=0.5, max_s=2.0, max_failures=4)
    delays = []
    for _ in range(4):
        backoff = backoff.failed()
        delays.append(backoff.delay_s)
    assert delays == [0.5, 1.0, 2.0, 2.0]
    assert backoff.spent
    assert backoff.succeeded() == Backoff(0, 0.5, 2.0, 4)
    assert backoff.succeeded().delay_s == 0.0


def test_each_runner_has_its_own_budget() -> None:
    budgets = {"r0": Backoff(), "r1": Backoff()}
    budgets["r1"] = budgets["r1"].failed().failed()
    assert budgets["r0"].failures == 0
    assert budgets["r1"].failures == 2


# -- properties: following the plan reaches ready when the spec allows it ----------------------


def follow(spec: Spec, start: RunnerView, weights_after_download: bool, limit: int = 12) -> str:
    """Run the plan in the model: each task is stepped with ``step``; a download makes the
    weights present when ``weights_after_download``. Returns the state the plan ends in."""
    current = start
    for _ in range(limit):
        decision = plan_runner(spec, current)
        if not isinstance(decision, RunTask):
            return current.state
        outcome = step(spec, current.state, decision.task, current.guards)
        assert isinstance(outcome, Accepted), (current, decision)
        guards = dict(current.guards)
        if decision.task == "DownloadModel":
            guards["weights_present"] = weights_after_download
        current = RunnerView(current.runner_id, outcome.next_state, guards, current.rank)
    return current.state


RESTING = ("idle", "connected", "loaded", "ready", "failed")


@settings(max_examples=60, deadline=None)
@given(state=st.sampled_from(RESTING), weights=st.booleans(), has_group=st.booleans())
def test_following_the_plan_reaches_ready(
    runner_spec: Spec, state: str, weights: bool, has_group: bool
) -> None:
    if state == "connected" and not has_group:
        return  # connected only exists in a group
    start = view(state, weights, group=has_group)
    assert follow(runner_spec, start, weights_after_download=True) == "ready"


@settings(max_examples=30, deadline=None)
@given(state=st.sampled_from(("idle", "failed")), has_group=st.booleans())
def test_a_download_that_never_completes_never_loads(
    runner_spec: Spec, state: str, has_group: bool
) -> None:
    """If the weights never appear the plan keeps asking for them and never tries to load."""
    start = view(state, False, group=has_group)
    assert follow(runner_spec, start, weights_after_download=False) in {"idle", "connected"}


@settings(max_examples=40, deadline=None)
@given(state=st.sampled_from(RESTING), weights=st.booleans(), has_group=st.booleans())
def test_every_planned_task_is_accepted_in_its_state(
    runner_spec: Spec, state: str, weights: bool, has_group: bool
) -> None:
    decision = plan_runner(runner_spec, view(state, weights, group=has_group))
    if isinstance(decision, RunTask):
        outcome = step(
            runner_spec, state, decision.task, {"has_group": has_group, "weights_present": weights}
        )
        assert isinstance(outcome, Accepted)
        assert outcome.rule == decision.rule
