"""The reference semantics against exo's own trace for one runner's life, event by event."""

from __future__ import annotations

import pytest

from exo_spec.model import (
    CANCELLED,
    OK,
    Accepted,
    Acknowledged,
    Deferred,
    ModelError,
    ModelEvent,
    Progress,
    Raised,
    Rejected,
    RunnerStatus,
    TaskStatus,
    initial_events,
    step,
)
from exo_spec.spec import Spec

SINGLE = {"has_group": False, "weights_present": True}
GROUP = {"has_group": True, "weights_present": True}


def rsu(state: str, status: str, message: str | None = None) -> RunnerStatus:
    return RunnerStatus(state, status, message)


def tsu(status: str, message: str | None = None) -> TaskStatus:
    return TaskStatus(status, message)  # type: ignore[arg-type]


ACK = Acknowledged()


def test_exo_trace_for_one_runner_life(runner_spec: Spec) -> None:
    """RSU(Idle), then per task TSU(Running), RSU(transient), Ack, progress, TSU(Complete), RSU(rest)."""
    trace: list[ModelEvent] = list(initial_events(runner_spec))
    state = runner_spec.initial
    tasks = ["DownloadModel", "LoadModel", "StartWarmup", "ChatCompletion", "Shutdown"]
    for task in tasks:
        outcome = step(runner_spec, state, task, SINGLE)
        assert isinstance(outcome, Accepted), outcome
        trace.extend(outcome.events)
        state = outcome.next_state
    assert state == "shutdown"
    assert trace == [
        rsu("idle", "RunnerIdle"),
        tsu("Running"),
        rsu("downloading", "RunnerDownloading"),
        ACK,
        Progress("download", ("DownloadProgress",)),
        tsu("Complete"),
        rsu("idle", "RunnerIdle"),
        tsu("Running"),
        rsu("loading", "RunnerLoading"),
        ACK,
        Progress("load", ("RunnerStatusUpdated",)),
        tsu("Complete"),
        rsu("loaded", "RunnerLoaded"),
        tsu("Running"),
        rsu("warming_up", "RunnerWarmingUp"),
        ACK,
        tsu("Complete"),
        rsu("ready", "RunnerReady"),
        tsu("Running"),
        rsu("running", "RunnerRunning"),
        ACK,
        Progress("generate", ("ChunkGenerated",)),
        tsu("Complete"),
        rsu("ready", "RunnerReady"),
        tsu("Running"),
        rsu("shutting_down", "RunnerShuttingDown"),
        ACK,
        tsu("Complete"),
        rsu("shutdown", "RunnerShutdown"),
    ]


def test_every_status_change_has_its_event(runner_spec: Spec) -> None:
    """Seed 000: Loaded, Ready (after warmup) and Ready (after a generation) are all sent."""
    for state, task, target in [
        ("idle", "LoadModel", "RunnerLoaded"),
        ("loaded", "StartWarmup", "RunnerReady"),
        ("ready", "ChatCompletion", "RunnerReady"),
    ]:
        outcome = step(runner_spec, state, task, SINGLE)
        assert isinstance(outcome, Accepted)
        assert outcome.events[-1] == rsu(outcome.next_state, target)


def test_load_model_in_connected_with_a_group(runner_spec: Spec) -> None:
    """Seed 002: LoadModel in Connected with a group is legal."""
    outcome = step(runner_spec, "connected", "LoadModel", GROUP)
    assert isinstance(outcome, Accepted)
    assert outcome.next_state == "loaded"


def test_download_accepted_in_idle_connected_and_failed(runner_spec: Spec) -> None:
    """Seed 001: DownloadModel has a handler, and it returns to where it started."""
    for state, target in [("idle", "idle"), ("connected", "connected"), ("failed", "idle")]:
        outcome = step(runner_spec, state, "DownloadModel", GROUP)
        assert isinstance(outcome, Accepted)
        assert outcome.next_state == target


def test_rejection_names_state_guards_and_allowed_tasks(runner_spec: Spec) -> None:
    outcome = step(runner_spec, "idle", "LoadModel", GROUP)
    assert isinstance(outcome, Rejected)
    assert outcome.reason == (
        "task LoadModel rejected in state idle (has_group=true, weights_present=true): "
        "its rules here need 'not has_group and weights_present'; "
        "allowed here: DownloadModel, ConnectToGroup, Shutdown"
    )
    assert outcome.events == (tsu("Failed", outcome.reason),)
    assert outcome.allowed == ("DownloadModel", "ConnectToGroup", "Shutdown")


def test_rejection_without_any_rule(runner_spec: Spec) -> None:
    outcome = step(runner_spec, "ready", "LoadModel", SINGLE)
    assert isinstance(outcome, Rejected)
    assert "no rule accepts LoadModel in ready" in outcome.reason
    assert "allowed here: ChatCompletion, Shutdown" in outcome.reason


def test_failure_moves_to_on_error_with_the_message(runner_spec: Spec) -> None:
    outcome = step(runner_spec, "idle", "LoadModel", SINGLE, result=Raised("out of memory"))
    assert isinstance(outcome, Accepted)
    assert outcome.next_state == "failed"
    assert outcome.events[-2:] == (
        tsu("Failed", "out of memory"),
        rsu("failed", "RunnerFailed", "out of memory"),
    )


def test_cancelled_generation_gets_a_final_status(runner_spec: Spec) -> None:
    outcome = step(runner_spec, "ready", "ChatCompletion", SINGLE, result=CANCELLED)
    assert isinstance(outcome, Accepted)
    assert outcome.events[-2:] == (tsu("Cancelled"), rsu("ready", "RunnerReady"))


def test_cancel_task_while_running_changes_no_status(runner_spec: Spec) -> None:
    outcome = step(runner_spec, "running", "CancelTask", SINGLE)
    assert isinstance(outcome, Accepted)
    assert outcome.next_state == "running"
    assert outcome.events == (tsu("Running"), ACK, tsu("Complete"))


@pytest.mark.parametrize("task", ["ChatCompletion", "Shutdown"])
def test_deferred_while_running(runner_spec: Spec, task: str) -> None:
    assert step(runner_spec, "running", task, SINGLE) == Deferred(task, "running")


@pytest.mark.parametrize(
    ("state", "task", "guards", "result", "fragment"),
    [
        ("nowhere", "Shutdown", SINGLE, OK, "unknown state 'nowhere'"),
        ("idle", "Reboot", SINGLE, OK, "unknown task 'Reboot'"),
        ("loading", "Shutdown", SINGLE, OK, "transient and not interruptible"),
        ("shutdown", "Shutdown", SINGLE, OK, "is final: it handles no tasks"),
        ("idle", "LoadModel", {"has_group": False}, OK, "guard 'weights_present' has no value"),
        ("loaded", "StartWarmup", SINGLE, CANCELLED, "not cancellable"),
        ("running", "CancelTask", SINGLE, CANCELLED, "not cancellable"),
    ],
)
def test_questions_the_spec_cannot_answer(
    runner_spec: Spec,
    state: str,
    task: str,
    guards: dict[str, bool],
    result: object,
    fragment: str,
) -> None:
    with pytest.raises(ModelError, match=fragment):
        step(runner_spec, state, task, guards, result=result)  # type: ignore[arg-type]
