"""exo_spec.machine on its own: a small hand-written machine on the shared base class."""

from __future__ import annotations

import enum
import itertools

import pytest
import transitions

from exo_spec.machine import (
    ActionOutcome,
    Guard,
    Leg,
    LegEvent,
    MachineTables,
    NotCancellableError,
    SpecMachine,
    StateChangeError,
    TaskDeferred,
    TaskRejected,
    TaskStatusName,
    failure_message,
    rejection_message,
)
from exo_spec.model import allowed_tasks
from exo_spec.model import rejection_message as model_rejection_message
from exo_spec.spec import Spec


class Lamp(enum.StrEnum):
    off = "off"
    on = "on"
    warming = "warming"  # its tasks wait
    broken = "broken"


class Press(enum.StrEnum):
    Switch = "Switch"
    Dim = "Dim"
    Fix = "Fix"


TABLES = MachineTables(
    states=Lamp,
    tasks=Press,
    final=frozenset({Lamp.broken}),
    waiting=frozenset({Lamp.warming}),
    deferred=frozenset({(Lamp.on, Press.Fix)}),
    needs={Lamp.off: {Press.Switch: ("powered",)}, Lamp.on: {Press.Switch: ("true",)}},
)

Event = tuple[str, object, object]


class Sink:
    """One guard, one action, and the events recorded in order."""

    def __init__(self, powered: bool = True) -> None:
        self.is_powered = powered
        self.events: list[Event] = []
        self.fail_with: Exception | None = None

    def powered(self) -> bool:
        return self.is_powered

    def task_status(
        self,
        task: object,  # noqa: ARG002
        status: TaskStatusName,
        message: str | None,
    ) -> None:  # the Actions protocol's signature
        self.events.append(("task_status", status, message))

    def runner_status(self, state: Lamp, message: str | None) -> None:
        self.events.append(("runner_status", state, message))

    def acknowledged(self, task: object) -> None:
        self.events.append(("acknowledged", task, None))

    def light(self, task: object) -> ActionOutcome:  # the Actions protocol's signature  # noqa: ARG002
        if self.fail_with is not None:
            raise self.fail_with
        return None


class LampMachine(SpecMachine[Lamp, Press]):
    """Written as the generator writes a machine: rules registered, one method each."""

    def __init__(self, sink: Sink, *, initial: Lamp = Lamp.off, emit_initial: bool = True) -> None:
        self._do_light = sink.light
        super().__init__(sink, TABLES, initial, guards=(("powered", sink.powered),))
        self.add_transition(
            "Switch", "off", "warming", guards=((sink.powered, True),), fire=LampMachine._on
        )
        self.add_transition("Switch", "on", "off", fire=LampMachine._off)
        self.events["_Switch_done"] = LegEvent("_Switch_done", self)
        self.add_transition("_Switch_done", "warming", "on")
        self._ready(emit_initial)

    def _reject(self, task: object, message: str) -> None:
        self._task_status(task, "Failed", message)

    def _on(self, task: object) -> Lamp:
        self._task_status(task, "Running", None)
        self._enter(Lamp.warming, None)
        self._acknowledged(task)
        try:
            if self._do_light(task) is not None:
                raise NotCancellableError("light")
        except Exception as exc:
            message = failure_message(exc)
            self._task_status(task, "Failed", message)
            self._enter(Lamp.broken, message)
            return Lamp.broken
        self._task_status(task, "Complete", None)
        self._enter(Lamp.on, None)
        return Lamp.on

    def _off(self, task: object) -> Lamp:  # the Actions protocol's signature  # noqa: ARG002
        self._enter(Lamp.off, None)
        return Lamp.off


def test_dispatch_fires_the_rule_whose_guards_hold() -> None:
    sink = Sink()
    machine = LampMachine(sink)
    assert sink.events == [("runner_status", Lamp.off, None)]
    assert machine.dispatch(Press.Switch, "t") is Lamp.on
    assert machine.state is Lamp.on is machine.current
    assert sink.events[1:] == [
        ("task_status", "Running", None),
        ("runner_status", Lamp.warming, None),
        ("acknowledged", "t", None),
        ("task_status", "Complete", None),
        ("runner_status", Lamp.on, None),
    ]


def test_the_initial_status_is_emitted_only_when_asked() -> None:
    sink = Sink()
    machine = LampMachine(sink, initial=Lamp.on, emit_initial=False)
    assert sink.events == []
    assert machine.state is Lamp.on


def test_a_raising_action_reports_its_text_or_its_type() -> None:
    sink = Sink()
    sink.fail_with = RuntimeError()
    machine = LampMachine(sink)
    assert machine.dispatch(Press.Switch, "t") is Lamp.broken
    assert sink.events[-2:] == [
        ("task_status", "Failed", "RuntimeError"),
        ("runner_status", Lamp.broken, "RuntimeError"),
    ]
    assert failure_message(ValueError("no disk")) == "no disk"


def test_a_rejection_emits_the_reject_events_and_keeps_the_state() -> None:
    sink = Sink(powered=False)
    machine = LampMachine(sink)
    with pytest.raises(TaskRejected) as caught:
        machine.dispatch(Press.Switch, "t")
    rejected = caught.value
    assert machine.state is Lamp.off
    assert (rejected.state, rejected.task, rejected.allowed) == (Lamp.off, Press.Switch, ())
    assert rejected.guards == (("powered", False),)
    assert rejected.message == (
        "task Switch rejected in state off (powered=false): its rules here need 'powered'; "
        "allowed here: none"
    )
    assert sink.events[-1] == ("task_status", "Failed", rejected.message)


def test_a_task_without_rules_is_rejected_with_the_queued_tasks_listed() -> None:
    sink = Sink()
    machine = LampMachine(sink, initial=Lamp.on)
    with pytest.raises(TaskRejected, match=r"no rule accepts Dim in on; allowed here: Switch"):
        machine.dispatch(Press.Dim, "t")
    with pytest.raises(TaskRejected, match=r"; queued here: Fix\Z"):
        machine.dispatch(Press.Dim, "t")


@pytest.mark.parametrize(("state", "task"), [(Lamp.warming, Press.Switch), (Lamp.on, Press.Fix)])
def test_a_task_waits_in_a_waiting_state_or_a_deferred_cell(state: Lamp, task: Press) -> None:
    sink = Sink()
    machine = LampMachine(sink, initial=state, emit_initial=False)
    with pytest.raises(TaskDeferred, match=f"task {task} waits in state {state}: queue it"):
        machine.dispatch(task, "t")
    assert sink.events == []
    assert machine.state is state


def test_an_unknown_task_names_the_known_ones() -> None:
    machine = LampMachine(Sink())
    with pytest.raises(ValueError, match="unknown task 'Jump'; one of: Switch, Dim, Fix"):
        machine.dispatch("Jump", "t")  # type: ignore[arg-type]


def test_allowed_evaluates_the_guards() -> None:
    sink = Sink()
    machine = LampMachine(sink)
    assert machine.allowed() == (Press.Switch,)
    sink.is_powered = False
    assert machine.allowed() == ()


def test_the_state_changes_only_through_a_dispatch() -> None:
    sink = Sink()
    machine = LampMachine(sink)
    with pytest.raises(StateChangeError, match=r"\(LampMachine\.dispatch\)"):
        machine.set_state("on")
    with pytest.raises(StateChangeError, match="assigning state"):
        machine.state = Lamp.on
    assert machine.state is Lamp.off
    assert sink.events == [("runner_status", Lamp.off, None)]


def test_transitions_sees_the_rules_and_triggers_run_them() -> None:
    sink = Sink()
    machine = LampMachine(sink)
    assert isinstance(machine, transitions.Machine)
    legs = machine.get_transitions("Switch")
    assert {(leg.source, leg.dest) for leg in legs} == {("off", "warming"), ("on", "off")}
    assert all(isinstance(leg, Leg) for leg in legs)
    assert isinstance(legs[0].conditions[0], Guard)
    assert machine.may_Switch() is True
    sink.is_powered = False
    assert machine.may_Switch() is False
    sink.is_powered = True
    assert machine.Switch("t") is True
    assert machine.is_on()
    with pytest.raises(transitions.MachineError, match="one task payload"):
        machine.Switch("t", "u")
    with pytest.raises(transitions.MachineError, match="taken inside a rule"):
        machine.events["_Switch_done"].trigger(machine)
    assert machine.get_state(Lamp.broken).final


def test_a_leg_runs_only_on_a_generated_machine() -> None:
    machine = LampMachine(Sink())
    plain = transitions.Machine(states=["off", "warming"], initial="off")
    [leg] = machine.get_transitions("Switch", "off")
    data = transitions.core.EventData(None, None, plain, plain, args=("t",), kwargs={})
    with pytest.raises(transitions.MachineError, match="ran on Machine"):
        leg.execute(data)
    [inner] = machine.get_transitions("_Switch_done")
    assert isinstance(inner, Leg)
    with pytest.raises(transitions.MachineError, match="one leg of a rule"):
        inner.fire(machine, "t")


def test_a_machine_without_its_reject_events_says_so() -> None:
    class Bare(SpecMachine[Lamp, Press]):
        def __init__(self, sink: Sink) -> None:
            super().__init__(sink, TABLES, Lamp.off, guards=())
            self._ready(emit_initial=False)

    with pytest.raises(NotImplementedError, match="Bare does not emit its reject events"):
        Bare(Sink()).dispatch(Press.Dim, "t")


def test_not_cancellable_names_the_action() -> None:
    assert "action light returned CANCELLED" in str(NotCancellableError("light"))


def test_the_rejection_text_is_the_models(runner_spec: Spec) -> None:
    names = [g.name for g in runner_spec.guards]
    for values in itertools.product([False, True], repeat=len(names)):
        guards = dict(zip(names, values, strict=True))
        for state, task in itertools.product(runner_spec.cell_states(), runner_spec.tasks):
            needs = tuple(str(rule.when) for rule in runner_spec.rules_for(state.name, task))
            queued = tuple(t for t in runner_spec.tasks if runner_spec.deferred(state.name, t))
            text = rejection_message(
                state.name,
                task,
                tuple(guards.items()),
                allowed_tasks(runner_spec, state.name, guards),
                needs,
                queued,
            )
            assert text == model_rejection_message(runner_spec, state.name, task, guards)
