"""The typed, frozen form of a loaded spec. Every object keeps where it came from (``loc``)."""

from __future__ import annotations

from typing import Literal

from attrs import field, frozen

from exo_spec.spec.diagnostics import Loc
from exo_spec.spec.expr import Expr

__all__ = [
    "DEFAULT_EVENTS",
    "ActionDecl",
    "ContractEvent",
    "ContractOutcome",
    "EventContract",
    "GuardDecl",
    "Rule",
    "Spec",
    "StateDecl",
    "TaskStatusName",
    "default_contract",
]

TaskStatusName = Literal["Running", "Complete", "Failed", "Cancelled"]
TASK_STATUSES: tuple[TaskStatusName, ...] = ("Running", "Complete", "Failed", "Cancelled")
ContractOutcome = Literal["accept", "success", "cancelled", "failure", "reject"]
OUTCOMES: tuple[ContractOutcome, ...] = ("accept", "success", "cancelled", "failure", "reject")
EVENT_KINDS = ("TaskStatusUpdated", "RunnerStatusUpdated", "TaskAcknowledged")
STATE_REFS = ("via", "to", "from", "on_error")
PROGRESS_KINDS = ("RunnerStatusUpdated", "ChunkGenerated", "DownloadProgress")


@frozen
class GuardDecl:
    """A named boolean input; ``constant`` guards are fixed for a runner's life."""

    name: str
    doc: str
    constant: bool
    loc: Loc


@frozen
class ActionDecl:
    """A named effect bound to an engine method, with the progress events it may emit."""

    name: str
    doc: str
    progress: tuple[str, ...]
    cancellable: bool
    loc: Loc


@frozen
class StateDecl:
    """A runner state and the status it reports."""

    name: str
    status: str
    loc: Loc
    transient: bool = False
    interruptible: bool = False
    final: bool = False
    required: bool = False
    timeout_s: float | None = None
    stall_timeout_s: float | None = None

    @property
    def accepts_tasks(self) -> bool:
        """Tasks are handled here: every resting state, and interruptible transient ones."""
        return not self.final and (not self.transient or self.interruptible)


@frozen
class Rule:
    """One way a task is accepted: in ``source``, when ``when`` holds, via ``via`` to ``target``.

    A rule written with several ``from`` states is expanded into one rule per state;
    ``index`` is its position in the task's list, ``loc`` where it was written.
    """

    task: str
    index: int
    source: str
    when: Expr
    when_text: str | None
    via: str | None
    action: str | None
    target: str
    loc: Loc

    @property
    def changes_state(self) -> bool:
        return self.via is not None or self.target != self.source


@frozen
class ContractEvent:
    """One event template of the contract: ``TaskStatusUpdated(Running)``, ``RunnerStatusUpdated(via)``."""

    kind: str
    arg: str | None
    loc: Loc

    def __str__(self) -> str:
        return self.kind if self.arg is None else f"{self.kind}({self.arg})"


@frozen
class EventContract:
    """The ordered events a task produces, per outcome."""

    accept: tuple[ContractEvent, ...]
    success: tuple[ContractEvent, ...]
    cancelled: tuple[ContractEvent, ...]
    failure: tuple[ContractEvent, ...]
    reject: tuple[ContractEvent, ...]
    loc: Loc

    def of(self, outcome: ContractOutcome) -> tuple[ContractEvent, ...]:
        return {
            "accept": self.accept,
            "success": self.success,
            "cancelled": self.cancelled,
            "failure": self.failure,
            "reject": self.reject,
        }[outcome]


DEFAULT_EVENTS: dict[ContractOutcome, tuple[str, ...]] = {
    "accept": ("TaskStatusUpdated(Running)", "RunnerStatusUpdated(via)"),
    "success": ("TaskStatusUpdated(Complete)", "RunnerStatusUpdated(to)"),
    "cancelled": ("TaskStatusUpdated(Cancelled)", "RunnerStatusUpdated(to)"),
    "failure": ("TaskStatusUpdated(Failed)", "RunnerStatusUpdated(on_error)"),
    "reject": ("TaskStatusUpdated(Failed)",),
}
"""The contract of a machine whose spec has no ``events:`` block: each task reports its status
(``Running`` when accepted, then ``Complete``, ``Cancelled`` or ``Failed``; ``Failed`` when
rejected) and the machine reports each change of state (into ``via`` while the action runs,
into ``to`` when it ends, into ``on_error`` when it raises). It is the least contract that
``EXS210`` accepts; a spec that wants more (exo's runner adds ``TaskAcknowledged``) writes its
own ``events:``."""


def default_contract(loc: Loc) -> EventContract:
    """:data:`DEFAULT_EVENTS` as an :class:`EventContract`, every event placed at ``loc``."""

    def events(outcome: ContractOutcome) -> tuple[ContractEvent, ...]:
        out: list[ContractEvent] = []
        for text in DEFAULT_EVENTS[outcome]:
            kind, _, arg = text.rstrip(")").partition("(")
            out.append(ContractEvent(kind, arg or None, loc))
        return tuple(out)

    return EventContract(
        events("accept"),
        events("success"),
        events("cancelled"),
        events("failure"),
        events("reject"),
        loc,
    )


@frozen
class Spec:
    """A whole loaded spec. Mappings keep the file's order; names are identifiers."""

    path: str
    sha256: str
    version: int
    machine: str
    initial: str
    guards: tuple[GuardDecl, ...]
    actions: tuple[ActionDecl, ...]
    states: tuple[StateDecl, ...]
    tasks: tuple[str, ...]
    task_locs: tuple[Loc, ...]
    rules: tuple[Rule, ...]
    defer: tuple[tuple[str, str, Loc], ...]
    on_error: str
    on_error_loc: Loc
    events: EventContract
    initial_loc: Loc
    _states: dict[str, StateDecl] = field(init=False, eq=False, repr=False, hash=False)
    _guards: dict[str, GuardDecl] = field(init=False, eq=False, repr=False, hash=False)
    _actions: dict[str, ActionDecl] = field(init=False, eq=False, repr=False, hash=False)
    _cells: dict[tuple[str, str], tuple[Rule, ...]] = field(
        init=False, eq=False, repr=False, hash=False
    )
    _deferred: frozenset[tuple[str, str]] = field(init=False, eq=False, repr=False, hash=False)

    def __attrs_post_init__(self) -> None:
        cells: dict[tuple[str, str], list[Rule]] = {}
        for rule in self.rules:
            cells.setdefault((rule.source, rule.task), []).append(rule)
        object.__setattr__(self, "_states", {s.name: s for s in self.states})
        object.__setattr__(self, "_guards", {g.name: g for g in self.guards})
        object.__setattr__(self, "_actions", {a.name: a for a in self.actions})
        object.__setattr__(self, "_cells", {k: tuple(v) for k, v in cells.items()})
        object.__setattr__(self, "_deferred", frozenset((s, t) for s, t, _ in self.defer))

    def state(self, name: str) -> StateDecl:
        return self._states[name]

    def has_state(self, name: str) -> bool:
        return name in self._states

    def guard(self, name: str) -> GuardDecl:
        return self._guards[name]

    def action(self, name: str) -> ActionDecl:
        return self._actions[name]

    def rules_for(self, state: str, task: str) -> tuple[Rule, ...]:
        """The rules for one cell, in the order they are tried."""
        return self._cells.get((state, task), ())

    def deferred(self, state: str, task: str) -> bool:
        return (state, task) in self._deferred

    def cell_states(self) -> tuple[StateDecl, ...]:
        """The states where tasks are handled (and so form the state x task matrix)."""
        return tuple(s for s in self.states if s.accepts_tasks)

    def constant_guards(self) -> tuple[str, ...]:
        return tuple(g.name for g in self.guards if g.constant)

    def dynamic_guards(self) -> tuple[str, ...]:
        return tuple(g.name for g in self.guards if not g.constant)
