"""Render the recording bindings shared by a machine's generated tests.

The bindings implement the machine's bindings protocol: each guard answers from a dictionary
the test sets, each action records its call and then succeeds, raises or reports
cancellation as the test asks, and the three event callbacks append plain tuples such as
``("task_status", "Running", None)``. ``play`` sends one task and returns what happened.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable

from exo_spec.codegen.source import isort_key, py_str
from exo_spec.model.cells import failure_message
from exo_spec.spec import Spec, valid_name

__all__ = ["HELPER_EXPORTS", "bindings_template_source", "render_bindings"]


def render_bindings(
    spec: Spec,
    machine_module: str,
    prefix: str,
    header: Callable[[Spec, str], str],
    module_root: str | None = None,
) -> str:
    """The ``_<machine>_bindings.py`` module for ``spec``. With ``module_root`` (the folder the
    machine module is imported from, relative to the tests' folder, ``/``-separated), the
    bindings put that folder on ``sys.path`` first, so the tests find the module however
    pytest is started; without it the module must already be importable (an installed
    package)."""
    for name in (*(g.name for g in spec.guards), *(a.name for a in spec.actions)):
        if not valid_name(name):
            raise ValueError(f"{name!r} is not a valid identifier for generated code")
    state_t, task_t, machine_t = f"{prefix}State", f"{prefix}Task", f"{prefix}Machine"
    guards = "".join(
        f"    def {g.name}(self) -> bool:\n        return self.guards[{py_str(g.name)}]\n\n"
        for g in spec.guards
    )
    actions = "".join(
        f"    def {a.name}(self, task: object) -> Cancelled | None:\n"
        f"        return self._act({py_str(a.name)}, task)\n\n"
        for a in spec.actions
    )
    machine_imports = sorted([machine_t, state_t, task_t, "TaskDeferred", "TaskRejected"])
    exports = sorted([*HELPER_EXPORTS, machine_t, state_t, task_t], key=isort_key)
    doc = f"Recording bindings and helpers for the {spec.machine} machine's tests."
    return header(spec, doc) + _fill(
        module=machine_module,
        module_root=module_root,
        machine_imports="".join(f"    {name},\n" for name in machine_imports),
        exports="".join(f"    {py_str(name)},\n" for name in exports),
        state_t=state_t,
        task_t=task_t,
        machine_t=machine_t,
        initial=f"{state_t}.{spec.initial}",
        initial_name=py_str(spec.initial),
        on_error=f"{state_t}.{spec.on_error}",
        guards=guards,
        actions=actions,
    )


def bindings_template_source() -> str:
    """The bindings module as rendered for a machine with no guards and no actions: the
    names it defines are the ones a guard or an action may not take."""
    return _fill(
        module="machine",
        machine_imports="    M,\n    S,\n    T,\n    TaskDeferred,\n    TaskRejected,\n",
        exports="",
        state_t="S",
        task_t="T",
        machine_t="M",
        initial="S.a",
        initial_name='"a"',
        on_error="S.a",
        guards="",
        actions="",
    )


def _fill(
    *,
    module: str,
    module_root: str | None = None,
    machine_imports: str,
    exports: str,
    state_t: str,
    task_t: str,
    machine_t: str,
    initial: str,
    initial_name: str,
    on_error: str,
    guards: str,
    actions: str,
) -> str:
    example = failure_message("ACTION")
    template = _TEMPLATE.replace("{failure}", py_str(example).replace("ACTION", "{action}"))
    return (
        template.replace("{imports}", _imports(module, machine_imports, module_root))
        .replace("{exports}", exports)
        .replace("{State}", state_t)
        .replace("{Task}", task_t)
        .replace("{Machine}", machine_t)
        .replace("{initial}", initial)
        .replace("{initial_name}", initial_name)
        .replace("{on_error}", on_error)
        .replace("    {guards}\n", guards)
        .replace("    {actions}\n", actions)
    )


def _imports(module: str, machine_imports: str, module_root: str | None) -> str:
    """The bindings' imports, sorted by module as ruff sorts a section (see
    ``tests_surface._machine_imports``). With ``module_root``, the machine's import comes last,
    after code that puts that folder (relative to the tests' folder) on ``sys.path``."""
    stdlib = ["from dataclasses import dataclass\n", "from typing import Literal\n"]
    project = [
        ("exo_spec.model", "from exo_spec.model import CANCELLED, Cancelled\n"),
        ("exo_spec.spec", "from exo_spec.spec import TaskStatusName\n"),
    ]
    machine = f"from {module} import (\n{machine_imports})\n"
    if module_root is None:
        ordered = sorted([*project, (module, machine)])
        return "".join(stdlib) + "\n" + "".join(line for _, line in ordered)
    stdlib = sorted([*stdlib, "import sys\n", "from pathlib import Path\n"], key=_import_order)
    parts = ", ".join(py_str(part) for part in module_root.split("/"))
    where = posixpath.join(module_root, *module.split(".")) + ".py"
    return (
        "".join(stdlib) + "\n" + "".join(line for _, line in project) + "\n"
        f"# The machine module is generated at {where} from this folder: make it importable\n"
        "# however pytest is started.\n"
        f"_MODULE_ROOT = str(Path(__file__).resolve().parent.joinpath({parts}).resolve())\n"
        "if _MODULE_ROOT not in sys.path:\n"
        "    sys.path.insert(0, _MODULE_ROOT)\n\n"
        + machine.replace(" import (\n", " import (  # noqa: E402\n", 1)
    )


def _import_order(line: str) -> tuple[bool, str]:
    """ruff's order in a section: ``import x`` lines before ``from x import`` lines."""
    return line.startswith("from "), line


HELPER_EXPORTS = (
    "INITIAL_EVENTS",
    "ON_ERROR",
    "Event",
    "Nested",
    "Outcome",
    "RecordingBindings",
    "Result",
    "Step",
    "accepted",
    "deferred",
    "drive",
    "launch",
    "play",
    "rejected",
    "send",
)
"""What the bindings module exports besides the machine's own enums and class."""


_TEMPLATE = '''{imports}
__all__ = [
{exports}]

Event = tuple[str | None, ...]
"""An event as recorded: ("task_status", status, message), ("runner_status", state, message)
or ("acknowledged",); a callback given another task than the one sent adds "<another task>"."""

Result = Literal["ok", "fail", "cancelled"]

INITIAL_EVENTS: tuple[Event, ...] = (("runner_status", {initial_name}, None),)
ON_ERROR = {on_error}


@dataclass(frozen=True)
class Outcome:
    """What one task did: its kind, the state after it, the events and the actions called."""

    kind: Literal["accepted", "rejected", "deferred"]
    state: {State}
    events: tuple[Event, ...] = ()
    calls: tuple[str, ...] = ()
    message: str | None = None
    allowed: tuple[{Task}, ...] = ()


def accepted(state: {State}, *, calls: tuple[str, ...], events: tuple[Event, ...]) -> Outcome:
    return Outcome("accepted", state, events, calls)


def rejected(
    state: {State}, *, message: str, allowed: tuple[{Task}, ...], events: tuple[Event, ...]
) -> Outcome:
    return Outcome("rejected", state, events, (), message, allowed)


def deferred(state: {State}) -> Outcome:
    return Outcome("deferred", state)


@dataclass(frozen=True)
class Step:
    """One task sent with these guard values and action result, and what it must do."""

    task: {Task}
    guards: dict[str, bool]
    result: Result
    expect: Outcome


@dataclass(frozen=True)
class Nested:
    """A task sent with these guard values and action result; ``inner`` are sent, in order,
    while its action runs."""

    task: {Task}
    guards: dict[str, bool]
    result: Result
    inner: tuple[Nested, ...] = ()


class RecordingBindings:
    """Guards answer from ``guards``; actions obey ``result``; events are recorded.

    Once ``watch``-ing a machine, every event checks the machine's state as it is emitted:
    runner_status(s) comes while the machine is still where the last one put it (the event
    before the move), and no other event sees a state that was entered without one.
    """

    def __init__(self) -> None:
        self.guards: dict[str, bool] = {}
        self.result: Result = "ok"
        self.task: object = None
        self.events: list[Event] = []
        self.calls: list[str] = []
        self.machine: {Machine} | None = None
        self.where: {State} | None = None
        self.misordered: list[str] = []
        self.inner: list[tuple[Nested, ...]] = []
        self.kinds: list[str] = []
        self.silent = False  # a failing action raises an exception without a message

    {guards}
    {actions}
    def watch(self, machine: {Machine}) -> None:
        """Check the machine's state at every emit from now on."""
        self.machine, self.where = machine, machine.current

    def _seen(self, event: str) -> None:
        if self.machine is not None and self.machine.current != self.where:
            self.misordered.append(f"{event}: in {self.machine.current}, reported {self.where}")

    def task_status(self, task: object, status: TaskStatusName, message: str | None) -> None:
        self._seen(f"task_status {status}")
        self.events.append(("task_status", status, message, *self._other(task)))

    def runner_status(self, state: {State}, message: str | None) -> None:
        self._seen(f"runner_status {state}")
        self.where = state
        self.events.append(("runner_status", str(state), message))

    def acknowledged(self, task: object) -> None:
        self._seen("acknowledged")
        self.events.append(("acknowledged", *self._other(task)))

    def _other(self, task: object) -> tuple[str, ...]:
        return () if task is self.task else ("<another task>",)

    def _act(self, action: str, task: object) -> Cancelled | None:
        self.calls.append(action + "".join(self._other(task)))
        result = self.result
        for nested in self.inner.pop() if self.inner else ():
            self._send(nested)
        if result == "fail":
            raise RuntimeError() if self.silent else RuntimeError(f{failure})
        return CANCELLED if result == "cancelled" else None

    def _send(self, nested: Nested) -> None:
        """Dispatch a task from inside the running action (as a runtime does)."""
        assert self.machine is not None
        self.guards, self.result = dict(nested.guards), nested.result
        depth, slot = len(self.inner), len(self.kinds)
        self.inner.append(nested.inner)
        self.kinds.append("sent")
        try:
            self.machine.dispatch(nested.task, object())
        except TaskRejected:
            self.kinds[slot] = "rejected"
        except TaskDeferred as deferral:
            here = deferral.state == self.machine.current
            self.kinds[slot] = "deferred" if here else f"deferred in {deferral.state}"
        else:
            self.kinds[slot] = "accepted"
        del self.inner[depth:]


def launch(bindings: RecordingBindings, state: {State} | None = None) -> {Machine}:
    """A machine in the initial state (which it reports), or placed silently in ``state``."""
    if state is None:
        machine = {Machine}(bindings)
        assert machine.current == {initial}
    else:
        machine = {Machine}(bindings, initial=state, emit_initial=False)
    bindings.watch(machine)
    return machine


def send(
    machine: {Machine},
    bindings: RecordingBindings,
    task: {Task},
    guards: dict[str, bool],
    result: Result,
    *,
    trigger: bool = False,
) -> Outcome:
    """Dispatch ``task`` with these guard values and action result; return what happened.

    With ``trigger``, the task is sent through its trigger, ``machine.<task>(payload)``.
    """
    bindings.guards = dict(guards)
    bindings.result = result
    bindings.task = object()
    bindings.events = []
    bindings.calls = []
    bindings.misordered = []
    before = machine.current
    kind: Literal["accepted", "rejected", "deferred"] = "accepted"
    message: str | None = None
    allowed: tuple[{Task}, ...] = ()
    facts: tuple[object, ...] = (task, guards, True)
    try:
        if trigger:
            assert getattr(machine, task.value)(bindings.task) is True
            returned = machine.current
        else:
            returned = machine.dispatch(task, bindings.task)
    except TaskRejected as rejection:
        kind, returned = "rejected", rejection.state
        message, allowed = rejection.message, tuple(rejection.allowed)
        facts = (rejection.task, dict(rejection.guards), str(rejection) == message)
    except TaskDeferred as deferral:
        kind, returned = "deferred", deferral.state
        facts = (deferral.task, guards, True)
    assert facts == (task, guards, True), "the exception names another task or guards"
    # dispatch's answer (or the exception's state) is the state the machine is in
    assert returned == machine.current == machine.state
    if kind != "accepted":
        assert machine.current == before
    assert bindings.misordered == [], "an event was emitted after its move"
    events, calls = tuple(bindings.events), tuple(bindings.calls)
    return Outcome(kind, machine.current, events, calls, message, allowed)


def play(machine: {Machine}, bindings: RecordingBindings, step: Step) -> Outcome:
    """``send`` the step's task with its guard values and action result."""
    return send(machine, bindings, step.task, step.guards, step.result)


def drive(
    machine: {Machine}, bindings: RecordingBindings, outer: Nested
) -> tuple[Outcome, tuple[str, ...]]:
    """``send`` the outer task; its ``inner`` tasks are dispatched while its action runs.
    Returns what happened and the kind of every dispatch (the outer task's first)."""
    bindings.kinds = []
    bindings.inner = [outer.inner]
    outcome = send(machine, bindings, outer.task, outer.guards, outer.result)
    assert bindings.inner in ([], [outer.inner])
    return outcome, (outcome.kind, *bindings.kinds)
'''
