"""The generated machine's state changes only inside a dispatched task, each time with its event."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from types import SimpleNamespace
from typing import cast

import pytest

from exo_spec.generated.runner_machine import (
    CANCELLED,
    GUARDS,
    ActionOutcome,
    RunnerBindings,
    RunnerMachine,
    RunnerState,
    RunnerTask,
    StateChangeError,
    TaskDeferred,
    TaskRejected,
    TaskStatusName,
)

Event = tuple[str, object, str, str | None]  # (kind, task, status or state, message)
RAISE = "raise"


class Sink:
    """Guards from a dict; actions that succeed, raise or cancel; each event (and each action
    call) recorded with the state the machine was in at that moment."""

    def __init__(self, guards: dict[str, bool], result: object = None) -> None:
        self.guards = guards
        self.result = result
        self.machine: RunnerMachine | None = None
        self.events: list[Event] = []
        self.seen: list[RunnerState | None] = []

    def _record(self, event: Event) -> None:
        self.events.append(event)
        self.seen.append(self.machine.state if self.machine is not None else None)

    def has_group(self) -> bool:
        return self.guards["has_group"]

    def weights_present(self) -> bool:
        return self.guards["weights_present"]

    def task_status(self, task: object, status: TaskStatusName, message: str | None) -> None:
        self._record(("task_status", task, status, message))

    def runner_status(self, state: RunnerState, message: str | None) -> None:
        self._record(("runner_status", None, str(state), message))

    def acknowledged(self, task: object) -> None:
        self._record(("acknowledged", task, "", None))

    def _act(self, task: object) -> ActionOutcome:
        self._record(("action", task, "", None))
        if self.result == RAISE:
            raise RuntimeError("disk full")
        return CANCELLED if self.result is CANCELLED else None

    download = connect = load = warmup = generate = cancel = shutdown = _act


def _machine(sink: Sink, initial: RunnerState) -> RunnerMachine:
    machine = RunnerMachine(cast(RunnerBindings, sink), initial=initial, emit_initial=False)
    sink.machine = machine
    return machine


@pytest.mark.parametrize("target", list(RunnerState))
def test_set_state_raises_and_emits_nothing(target: RunnerState) -> None:
    sink = Sink({"has_group": False, "weights_present": True})
    machine = _machine(sink, RunnerState.ready)
    attempts: tuple[Callable[[], object], ...] = (
        lambda: machine.set_state(target),
        lambda: machine.set_state(target.value),
        lambda: machine.set_state(machine.get_state(target), model=machine),
        lambda: machine.add_model(SimpleNamespace(), initial=target),
    )
    for attempt in attempts:
        with pytest.raises(StateChangeError, match="dispatch a task"):
            attempt()
    assert sink.events == []
    assert machine.state == RunnerState.ready == machine.current
    assert machine.is_ready()


@pytest.mark.parametrize("value", [RunnerState.loaded, "failed", RunnerState.ready])
def test_assigning_state_raises_and_emits_nothing(value: object) -> None:
    sink = Sink({"has_group": False, "weights_present": True})
    machine = _machine(sink, RunnerState.ready)
    with pytest.raises(StateChangeError, match=r"assigning state = .* dispatch a task"):
        machine.state = value
    with pytest.raises(StateChangeError):
        setattr(machine, "state", value)  # noqa: B010  # the way transitions writes it
    assert sink.events == []
    assert machine.state == RunnerState.ready
    assert not hasattr(machine, "to_loaded")  # no auto transitions either


def test_every_state_change_in_a_dispatch_emits_exactly_one_runner_status() -> None:
    results: tuple[object, ...] = (None, RAISE, CANCELLED)
    changes = 0
    for state, task, values, result in itertools.product(
        RunnerState, RunnerTask, itertools.product((False, True), repeat=len(GUARDS)), results
    ):
        sink = Sink(dict(zip(GUARDS, values, strict=True)), result)
        machine = _machine(sink, state)
        try:
            returned = machine.dispatch(task, "task")
        except (TaskDeferred, TaskRejected):
            returned = state
        where = f"{task} in {state} with {sink.guards}, {result}"
        assert returned == machine.state, where
        # the state at each event, then after the last: it may change only at runner_status
        states = [*sink.seen, machine.state]
        assert states[0] == state, where
        for event, before, later in zip(sink.events, sink.seen, states[1:], strict=True):
            if event[0] == "runner_status":
                assert event[2] != before, f"{where}: {event} does not change the state"
                assert later == event[2], f"{where}: {event} but the state is {later}"
                changes += 1
            else:
                assert later == before, f"{where}: the state changed at {event} without its event"
    assert changes > 100


@pytest.mark.parametrize(
    ("outcome", "final_status", "message"),
    [(None, "Complete", None), (CANCELLED, "Cancelled", None), (RAISE, "Failed", "lost")],
)
def test_a_cancel_failing_inside_a_generation_leaves_the_runner_failed(
    outcome: object, final_status: str, message: str | None
) -> None:
    sink = Sink({"has_group": False, "weights_present": True})
    inner: list[RunnerState] = []

    def generate(task: object) -> ActionOutcome:  # noqa: ARG001  # replaces Sink.generate
        inner.append(machine.dispatch(RunnerTask.CancelTask, "cancel"))
        if outcome == RAISE:
            raise RuntimeError("lost")
        return CANCELLED if outcome is CANCELLED else None

    def cancel(task: object) -> ActionOutcome:  # noqa: ARG001  # replaces Sink.cancel
        raise RuntimeError("engine gone")

    sink.generate = generate  # type: ignore[method-assign]  # bound at construction
    sink.cancel = cancel  # type: ignore[method-assign]
    machine = _machine(sink, RunnerState.ready)
    assert machine.dispatch(RunnerTask.ChatCompletion, "chat") == RunnerState.failed
    assert inner == [RunnerState.failed]
    assert sink.events == [
        ("task_status", "chat", "Running", None),
        ("runner_status", None, "running", None),
        ("acknowledged", "chat", "", None),
        ("task_status", "cancel", "Running", None),
        ("acknowledged", "cancel", "", None),
        ("task_status", "cancel", "Failed", "engine gone"),
        ("runner_status", None, "failed", "engine gone"),
        # the generation ends as its own action says; failed -> ready is no edge of the spec
        ("task_status", "chat", final_status, message),
    ]
    assert machine.state == RunnerState.failed
    assert machine.is_failed()
    assert machine.allowed() == (RunnerTask.DownloadModel, RunnerTask.Shutdown)
