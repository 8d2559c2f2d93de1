"""What every generated machine shares: the base class, its legs, its errors and messages.

A generated ``<machine>_machine.py`` holds only what varies with its spec: the state and task
enums, the tables (:class:`MachineTables` and the public ones), the protocols of its bindings,
one straight-line method per rule, and the ``add_transition`` calls that register the rules
with transitions. Everything here is the same for every spec:

* :class:`SpecMachine`, a ``transitions.Machine`` whose state lives in a private slot written
  only by :meth:`SpecMachine._enter`, which first emits ``runner_status``: ``state`` is a
  read-only property and ``set_state`` raises :class:`StateChangeError`;
* :meth:`SpecMachine.dispatch`, which walks a per-(state, task) table of legs without
  allocating transitions' ``EventData`` and fires the first rule whose guards hold;
* subclasses of transitions' ``Condition`` (:class:`Guard`: a bound method taking no
  arguments), ``Transition`` (:class:`Leg`: a leg of a rule; the first leg fires the whole
  rule) and ``Event`` (:class:`TaskEvent`: a task's trigger is ``dispatch``; :class:`LegEvent`:
  the legs inside a rule, listed for introspection only);
* :class:`TaskRejected`, :class:`TaskDeferred` and :class:`StateChangeError`, and the texts
  of the Failed status (:func:`failure_message`) and of a rejection
  (:func:`rejection_message`, the same text as :func:`exo_spec.model.rejection_message`).

What a generated rule method keeps to: a task dispatched from inside an action (one an
interruptible state accepts while the action runs there) is a rule of its own, as
:func:`exo_spec.model.step` treats each task separately. When such a nested rule moves the
runner (to on_error when its action raises), the outer rule, once its own action returns or
raises, emits its task's final status as its own result says (Complete, Cancelled or Failed)
but no runner_status and no state change: the runner stays where the nested rule put it, and
the machine never takes an edge the spec does not have.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from typing import Any, Generic, NoReturn, Protocol, TypeVar

import transitions
from attrs import frozen
from transitions.core import Condition, Event, EventData, MachineError, State, Transition

from exo_spec.model import Cancelled, not_cancellable_message, rejection_text
from exo_spec.spec.types import TaskStatusName

__all__ = [
    "ActionOutcome",
    "EventSink",
    "Guard",
    "Leg",
    "LegEvent",
    "MachineTables",
    "NotCancellableError",
    "SpecMachine",
    "StateChangeError",
    "TaskDeferred",
    "TaskEvent",
    "TaskRejected",
    "TaskStatusName",
    "failure_message",
    "rejection_message",
]

S = TypeVar("S", bound=enum.StrEnum)
T = TypeVar("T", bound=enum.StrEnum)
S_contra = TypeVar("S_contra", bound=enum.StrEnum, contravariant=True)

ActionOutcome = Cancelled | None
"""What an action returns: None, or CANCELLED when a cancellable action stopped early."""

GuardValues = tuple[tuple[str, bool], ...]


# -- errors -----------------------------------------------------------------------------------


class TaskRejected(Exception, Generic[S, T]):  # noqa: N818
    """No rule accepts the task here; the reject events were emitted, the state is unchanged."""

    def __init__(
        self, state: S, task: T, guards: GuardValues, allowed: tuple[T, ...], message: str
    ) -> None:
        super().__init__(message)
        self.state = state
        self.task = task
        self.guards = guards
        self.allowed = allowed
        self.message = message


class TaskDeferred(Exception, Generic[S, T]):  # noqa: N818
    """The task waits: the caller queues it until the runner leaves this state."""

    def __init__(self, state: S, task: T) -> None:
        super().__init__(f"task {task} waits in state {state}: queue it")
        self.state = state
        self.task = task


class StateChangeError(MachineError):
    """The state was set directly; only a dispatched task changes it (with its event)."""

    def __init__(self, attempt: str, machine: str = "the machine") -> None:
        super().__init__(
            f"{attempt} would change the state without its event; dispatch a task instead "
            f"({machine}.dispatch), which emits runner_status with every change"
        )


class NotCancellableError(Exception):
    """An action that the spec does not declare cancellable returned CANCELLED."""

    def __init__(self, action: str) -> None:
        super().__init__(not_cancellable_message(action))


# -- messages ---------------------------------------------------------------------------------


def failure_message(exc: BaseException) -> str:
    """The Failed status message: the exception text, or its type when it has none."""
    return str(exc) or type(exc).__name__


def rejection_message(
    state: str,
    task: str,
    guards: GuardValues,
    allowed: tuple[str, ...],
    needs: tuple[str, ...],
    queued: tuple[str, ...],
) -> str:
    """The same text as :func:`exo_spec.model.rejection_message`, from the machine's tables.

    ``needs`` are the guard expressions of the cell's rules, ``queued`` the tasks that wait in
    ``state`` rather than being rejected.
    """
    return rejection_text(state, task, guards, needs, allowed, queued)


# -- what a generated module supplies ---------------------------------------------------------


@frozen
class MachineTables(Generic[S, T]):
    """The facts of one spec that the shared machinery reads (a generated module builds one)."""

    states: type[S]  # every state, in spec order
    tasks: type[T]  # every task, in spec order
    final: frozenset[S]  # the final states
    waiting: frozenset[S]  # states whose tasks wait in the queue (transient, not interruptible)
    deferred: frozenset[tuple[S, T]]  # cells where a task is queued rather than rejected
    needs: Mapping[S, Mapping[T, tuple[str, ...]]]  # guard expressions of each cell's rules


class EventSink(Protocol[S_contra]):
    """Where the machine emits the contract's events."""

    def task_status(self, task: object, status: TaskStatusName, message: str | None) -> None: ...

    def runner_status(self, state: S_contra, message: str | None) -> None: ...

    def acknowledged(self, task: object) -> None: ...


# -- transitions' classes, specialised --------------------------------------------------------


class Guard(Condition):
    """A guard: a bound method of the bindings, called with no arguments."""

    def __init__(self, func: Callable[[], bool], target: bool) -> None:
        super().__init__(func, target)
        self.guard = func

    def check(self, event_data: EventData) -> bool:  # transitions calls it with this signature  # noqa: ARG002
        return self.guard() == self.target


def _leg_only(
    machine: object,  # noqa: ARG001
    task: object,  # noqa: ARG001
) -> NoReturn:  # transitions calls it with this signature
    raise MachineError("this transition is one leg of a rule; dispatch the task instead")


class Leg(Transition, Generic[S]):
    """One transition of a rule. A task's first leg fires the whole rule (``fire``, a method
    of the generated machine); the legs after it (to the rule's target, to on_error) are
    taken inside it.
    """

    condition_cls = Guard

    def __init__(
        self,
        source: str,
        dest: str | None,
        *args: object,  # transitions calls it with this signature
        guards: tuple[tuple[Callable[[], bool], bool], ...] = (),
        fire: Callable[[Any, object], S] = _leg_only,
    ) -> None:
        super().__init__(source, dest)  # type: ignore[arg-type]  # None: internal
        self.guards = tuple(Guard(func, target) for func, target in guards)
        self.conditions = list[Condition](self.guards)
        self.fire = fire

    def enabled(self) -> bool:
        return all(guard.guard() == guard.target for guard in self.guards)

    def execute(self, event_data: EventData) -> bool:
        """transitions' entry point: run the whole rule when its guards hold."""
        machine = event_data.machine
        if not isinstance(machine, SpecMachine):
            raise MachineError(f"a leg of a generated machine ran on {type(machine).__name__}")
        if not self.enabled():
            return False
        self.fire(machine, next(iter(event_data.args), None))
        return True


class _SpecEvent(Event):
    """An event of a generated machine: transitions' ``trigger`` hands the machine to ``fire``."""

    def trigger(
        self,
        model: object,  # noqa: ARG002
        *args: Any,
        **kwargs: Any,
    ) -> bool:  # transitions calls it with this signature
        return self.fire(self.machine, args, kwargs)

    def fire(self, machine: object, args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
        raise NotImplementedError


class TaskEvent(_SpecEvent):
    """A task's trigger: machine.LoadModel(task) is machine.dispatch(LoadModel, task)."""

    def fire(self, machine: object, args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
        if not isinstance(machine, SpecMachine) or kwargs or len(args) > 1:
            raise MachineError(f"{self.name}(task) takes one task payload")
        machine.dispatch(machine.task_named(self.name), next(iter(args), None))
        return True


class LegEvent(_SpecEvent):
    """The legs after a rule's first: listed for introspection, never triggered."""

    def fire(self, machine: object, args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:  # noqa: ARG002
        raise MachineError(f"{self.name} is taken inside a rule; dispatch the task")


# -- the machine ------------------------------------------------------------------------------


class SpecMachine(transitions.Machine, Generic[S, T]):
    """A spec's lifecycle as a transitions machine; a generated subclass adds its rules.

    The subclass's ``__init__`` calls this one, registers its rules with ``add_transition``
    (``fire=`` the rule's method, ``guards=`` its guard conjuncts) and then :meth:`_ready`.
    It overrides :meth:`_reject` with the contract's reject events.
    """

    transition_cls = Leg
    event_cls = TaskEvent

    def __init__(
        self,
        events: EventSink[S],
        tables: MachineTables[S, T],
        initial: S,
        guards: tuple[tuple[str, Callable[[], bool]], ...],
    ) -> None:
        self._state = initial  # written only by _enter once constructed
        self._tables = tables
        self._bindings = events
        self._runner_status = events.runner_status
        self._task_status = events.task_status
        self._acknowledged = events.acknowledged
        self._guards = guards
        self._cells: dict[S, dict[T, tuple[Leg[S], ...]]] = {}
        super().__init__(
            states=[State(state, final=state in tables.final) for state in tables.states],
            initial=initial,
            auto_transitions=False,
            ignore_invalid_triggers=False,
        )

    def _ready(self, emit_initial: bool) -> None:
        """Once every rule is registered: build the dispatch table, then report the state."""
        tables = self._tables
        self._cells = {
            state: {task: self._legs(state, task) for task in tables.tasks}
            for state in tables.states
        }
        if emit_initial:
            self._runner_status(self._state, None)

    @property
    def state(self) -> S:
        """The state the machine is in (read-only: dispatch a task to change it)."""
        return self._state

    @state.setter
    def state(self, value: object) -> NoReturn:
        raise StateChangeError(f"assigning state = {value!r}", type(self).__name__)

    @property
    def current(self) -> S:
        """The state the machine is in."""
        return self._state

    def set_state(self, state: str | enum.Enum | State, model: object | None = None) -> None:  # noqa: ARG002
        """Raises StateChangeError: only a dispatched task changes the state.

        transitions calls it once, while it registers the machine as its own model (before
        ``models`` lists it), to set the initial state the machine already holds; that call
        is let through and changes nothing.
        """
        if not self.models:
            return
        name = state.name if isinstance(state, State) else str(state)
        raise StateChangeError(f"set_state({name!r})", type(self).__name__)

    def task_named(self, name: str) -> T:
        """The task called ``name``, or ValueError."""
        return self._tables.tasks(name)

    def _enter(self, state: S, message: str | None) -> None:
        """The only write of the state once constructed: emit runner_status, then move."""
        self._runner_status(state, message)
        self._state = state

    def dispatch(self, task_name: T, task: object) -> S:  # type: ignore[override]
        """Run one task and return the new state.

        Emits the accept events, runs the action, emits the success, cancelled or failure
        events (an action that raises moves the machine to on_error). Raises TaskDeferred
        for a task that waits, and TaskRejected (after the reject events) for one that no
        rule accepts here.
        """
        try:
            legs = self._cells[self._state][task_name]
        except KeyError:
            known = ", ".join(self._tables.tasks)
            raise ValueError(f"unknown task {task_name!r}; one of: {known}") from None
        for leg in legs:
            for guard in leg.guards:
                if guard.guard() != guard.target:
                    break
            else:
                return leg.fire(self, task)
        return self._refuse(task_name, task)

    def allowed(self) -> tuple[T, ...]:
        """The tasks some rule accepts now (guards evaluated), in spec order."""
        return tuple(
            task
            for task, legs in self._cells[self._state].items()
            if any(leg.enabled() for leg in legs)
        )

    def _legs(self, state: S, task: T) -> tuple[Leg[S], ...]:
        if (state, task) in self._tables.deferred:
            return ()
        event = self.events.get(task.value)  # absent for a task that no rule accepts
        legs = event.transitions.get(state.name, []) if event is not None else []
        return tuple(leg for leg in legs if isinstance(leg, Leg))

    def _refuse(self, task_name: T, task: object) -> NoReturn:
        state, tables = self._state, self._tables
        if state in tables.waiting or (state, task_name) in tables.deferred:
            raise TaskDeferred(state, task_name)
        guards = tuple((name, guard()) for name, guard in self._guards)
        allowed = self.allowed()
        needs = tables.needs.get(state, {}).get(task_name, ())
        queued = tuple(t for t in tables.tasks if (state, t) in tables.deferred)
        message = rejection_message(state, task_name, guards, allowed, needs, queued)
        self._reject(task, message)
        raise TaskRejected(state, task_name, guards, allowed, message)

    def _reject(self, task: object, message: str) -> None:
        """The contract's reject events (a generated machine overrides it)."""
        raise NotImplementedError(f"{type(self).__name__} does not emit its reject events")
