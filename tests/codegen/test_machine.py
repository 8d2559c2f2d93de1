"""The generated runner machine against the reference step(), and as a transitions.Machine."""

from __future__ import annotations

import itertools
from typing import cast

import pytest
import transitions

from exo_spec.generated.runner_machine import (
    ActionOutcome,
    RunnerBindings,
    RunnerMachine,
    RunnerState,
    RunnerTask,
    TaskDeferred,
    TaskRejected,
    TaskStatusName,
)
from exo_spec.model import (
    CANCELLED,
    OK,
    Accepted,
    Acknowledged,
    ActionResult,
    Deferred,
    ModelEvent,
    Raised,
    RunnerStatus,
    TaskStatus,
    step,
)
from exo_spec.spec import Spec


class Recorder:
    """Guards from a dict, actions that succeed, raise or cancel, events recorded as step's."""

    def __init__(self, spec: Spec, guards: dict[str, bool], result: ActionResult = OK) -> None:
        self.spec = spec
        self.guards = guards
        self.result = result
        self.events: list[ModelEvent] = []
        self.machine: RunnerMachine | None = None
        self.inside: list[RunnerState] = []

    def has_group(self) -> bool:
        return self.guards["has_group"]

    def weights_present(self) -> bool:
        return self.guards["weights_present"]

    def task_status(
        self,
        task: object,  # noqa: ARG002  # the machine's sink protocol fixes the signature
        status: TaskStatusName,
        message: str | None,
    ) -> None:
        self.events.append(TaskStatus(status, message))

    def runner_status(self, state: RunnerState, message: str | None) -> None:
        self.events.append(RunnerStatus(state.value, self.spec.state(state).status, message))

    def acknowledged(self, task: object) -> None:  # noqa: ARG002  # the sink protocol
        self.events.append(Acknowledged())

    def _act(self, task: object) -> ActionOutcome:  # noqa: ARG002  # the sink's action signature
        if isinstance(self.result, Raised):
            raise RuntimeError(self.result.message)
        return CANCELLED if self.result == CANCELLED else None

    download = connect = load = warmup = generate = cancel = shutdown = _act


def _state(machine: RunnerMachine) -> RunnerState:
    return machine.state


def _bind(recorder: Recorder) -> RunnerBindings:
    return cast(RunnerBindings, recorder)


def test_dispatch_emits_exactly_what_step_says(runner_spec: Spec) -> None:
    names = [g.name for g in runner_spec.guards]
    checked = 0
    for state, task in itertools.product(runner_spec.cell_states(), runner_spec.tasks):
        for values in itertools.product((False, True), repeat=len(names)):
            guards = dict(zip(names, values, strict=True))
            for result in (OK, Raised("disk full"), CANCELLED):
                try:
                    expected = step(runner_spec, state.name, task, guards, result=result)
                except ValueError:  # no action to raise / not cancellable
                    continue
                recorder = Recorder(runner_spec, guards, result)
                machine = RunnerMachine(
                    _bind(recorder), initial=RunnerState(state.name), emit_initial=False
                )
                where = f"{task} in {state.name} with {guards}, {result}"
                if isinstance(expected, Deferred):
                    with pytest.raises(TaskDeferred):
                        machine.dispatch(RunnerTask(task), object())
                    assert recorder.events == [], where
                elif isinstance(expected, Accepted):
                    assert machine.dispatch(RunnerTask(task), object()) == expected.next_state
                    wanted = [e for e in expected.events if not hasattr(e, "kinds")]
                    assert recorder.events == wanted, where
                    assert machine.state == expected.next_state
                else:
                    with pytest.raises(TaskRejected) as caught:
                        machine.dispatch(RunnerTask(task), object())
                    assert str(caught.value) == expected.reason, where
                    assert caught.value.allowed == expected.allowed
                    assert caught.value.guards == expected.guards
                    assert recorder.events == list(expected.events), where
                    assert machine.state == state.name
                checked += 1
    assert checked > 100


def test_initial_status_is_emitted_unless_asked_not_to(runner_spec: Spec) -> None:
    recorder = Recorder(runner_spec, {"has_group": False, "weights_present": True})
    RunnerMachine(_bind(recorder))
    assert recorder.events == [RunnerStatus("idle", "RunnerIdle")]
    recorder.events.clear()
    RunnerMachine(_bind(recorder), emit_initial=False)
    assert recorder.events == []


def test_cancel_from_inside_a_generation(runner_spec: Spec) -> None:
    recorder = Recorder(runner_spec, {"has_group": False, "weights_present": True})
    inner: list[object] = []

    def generate(task: object) -> ActionOutcome:  # noqa: ARG001  # replaces Recorder.generate
        inner.append(machine.dispatch(RunnerTask.CancelTask, "cancel"))
        for queued in (RunnerTask.ChatCompletion, RunnerTask.Shutdown):
            with pytest.raises(TaskDeferred):
                machine.dispatch(queued, "later")
        return CANCELLED

    recorder.generate = generate  # type: ignore[method-assign]  # bound at construction
    machine = RunnerMachine(_bind(recorder), initial=RunnerState.ready, emit_initial=False)
    assert machine.dispatch(RunnerTask.ChatCompletion, "chat") == RunnerState.ready
    assert inner == [RunnerState.running]
    assert [str(e) for e in recorder.events] == [
        "TaskStatusUpdated(Running)",
        "RunnerStatusUpdated(RunnerRunning)",
        "TaskAcknowledged",
        "TaskStatusUpdated(Running)",  # CancelTask: an internal rule, no status change
        "TaskAcknowledged",
        "TaskStatusUpdated(Complete)",
        "TaskStatusUpdated(Cancelled)",
        "RunnerStatusUpdated(RunnerReady)",
    ]


def test_it_is_a_transitions_machine(runner_spec: Spec) -> None:
    guards = {"has_group": False, "weights_present": True}
    recorder = Recorder(runner_spec, guards)
    machine = RunnerMachine(_bind(recorder))
    assert isinstance(machine, transitions.Machine)
    assert machine.state == RunnerState.idle == machine.current
    assert machine.may_LoadModel() is True
    assert machine.may_ConnectToGroup() is False
    assert machine.may_ChatCompletion() is False
    assert machine.allowed() == (
        RunnerTask.DownloadModel,
        RunnerTask.LoadModel,
        RunnerTask.Shutdown,
    )
    guards["weights_present"] = False
    assert machine.may_LoadModel() is False
    guards["weights_present"] = True
    assert {(t.source, t.dest) for t in machine.get_transitions("_on_error")} >= {
        ("loading", "failed"),
        ("running", "failed"),
    }
    assert machine.LoadModel("task") is True  # transitions' trigger runs the whole rule
    assert _state(machine) == RunnerState.loaded
    assert machine.is_loaded()
    with pytest.raises(TaskRejected, match="allowed here: StartWarmup, Shutdown"):
        machine.ChatCompletion("task")
    with pytest.raises(transitions.MachineError):
        machine.events["_LoadModel_done"].trigger(machine)
