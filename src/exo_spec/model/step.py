"""The reference semantics: a pure function from (state, task, guards) to an outcome.

``step`` is the oracle that the generated machine, the runtime and the conformance suite are
checked against. It executes nothing: it says which rule fires, where the runner ends up and
the exact ordered events the task must produce.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from attrs import frozen

from exo_spec.model.events import Acknowledged, ModelEvent, Progress, RunnerStatus, TaskStatus
from exo_spec.model.plan import Phase, expand, reject_phase
from exo_spec.model.valuations import valuation_text
from exo_spec.spec.types import ContractOutcome, Rule, Spec

__all__ = [
    "CANCELLED",
    "OK",
    "Accepted",
    "ActionResult",
    "Cancelled",
    "Deferred",
    "ModelError",
    "Raised",
    "Rejected",
    "StepOutcome",
    "Succeeded",
    "allowed_tasks",
    "initial_events",
    "not_cancellable_message",
    "rejection_message",
    "relevant_guards",
    "step",
]


class ModelError(ValueError):
    """``step`` was asked something the spec cannot answer (unknown name, missing guard value)."""


@frozen
class Succeeded:
    """The action returned normally."""


@frozen
class Raised:
    """The action raised; ``message`` is the exception's text."""

    message: str


@frozen
class Cancelled:
    """A cancellable action stopped early because a ``CancelTask`` asked it to."""


ActionResult = Succeeded | Raised | Cancelled
OK = Succeeded()
CANCELLED = Cancelled()


@frozen
class Accepted:
    """A rule fired: the runner moves to ``next_state`` emitting ``events`` in this order."""

    task: str
    state: str
    rule: Rule
    next_state: str
    events: tuple[ModelEvent, ...]


@frozen
class Deferred:
    """The task waits in the queue until the runner leaves ``state``; no event yet."""

    task: str
    state: str


@frozen
class Rejected:
    """No rule is enabled: the state is unchanged and the task fails with ``reason``."""

    task: str
    state: str
    guards: tuple[tuple[str, bool], ...]
    allowed: tuple[str, ...]
    reason: str
    events: tuple[ModelEvent, ...]


StepOutcome = Accepted | Deferred | Rejected


def initial_events(spec: Spec) -> tuple[ModelEvent, ...]:
    """What a runner emits before its first task: ``RunnerStatusUpdated(<initial>)``."""
    return (RunnerStatus(spec.initial, spec.state(spec.initial).status),)


def relevant_guards(spec: Spec, state: str, task: str) -> tuple[str, ...]:
    """The guards that decide the (state, task) cell, in declaration order."""
    used = {name for rule in spec.rules_for(state, task) for name in rule.when.names()}
    return tuple(g.name for g in spec.guards if g.name in used)


def _check_names(spec: Spec, state: str, task: str) -> None:
    if not spec.has_state(state):
        known = ", ".join(s.name for s in spec.states)
        raise ModelError(f"unknown state {state!r}; the spec declares: {known}")
    if task not in spec.tasks:
        raise ModelError(f"unknown task {task!r}; the spec declares: {', '.join(spec.tasks)}")
    decl = spec.state(state)
    if decl.final:
        raise ModelError(f"state {state!r} is final: it handles no tasks")
    if not decl.accepts_tasks:
        raise ModelError(
            f"state {state!r} is transient and not interruptible: it handles no tasks; "
            "tasks sent while its action runs wait in the queue"
        )


def _enabled(rule: Rule, guards: Mapping[str, bool]) -> bool:
    for name in rule.when.names():
        if name not in guards:
            raise ModelError(
                f"guard {name!r} has no value; rule {rule.index + 1} of {rule.task} "
                f"(line {rule.loc.line}) needs it: {rule.when}"
            )
    return rule.when.evaluate(guards)


def allowed_tasks(spec: Spec, state: str, guards: Mapping[str, bool]) -> tuple[str, ...]:
    """The tasks some rule accepts in ``state`` with these guard values, in spec order."""
    return tuple(
        task
        for task in spec.tasks
        if any(_enabled(rule, guards) for rule in spec.rules_for(state, task))
    )


def _guard_text(spec: Spec, guards: Mapping[str, bool]) -> tuple[tuple[str, bool], ...]:
    return tuple((g.name, guards[g.name]) for g in spec.guards if g.name in guards)


def not_cancellable_message(action: str) -> str:
    """The Failed status message when an action the spec does not declare cancellable
    returns CANCELLED (the machine raises its ``NotCancellableError`` with it)."""
    return f"action {action} returned CANCELLED, but the spec does not declare it cancellable"


def rejection_text(
    state: str,
    task: str,
    guards: Iterable[tuple[str, bool]],
    needs: Sequence[str],
    allowed: Sequence[str],
    queued: Sequence[str],
) -> str:
    """The words of a rejection: the state and guard values, the guard expressions of the
    cell's rules (``needs``), the tasks allowed, and those that wait in the state."""
    shown = valuation_text(guards)
    where = f"state {state}" + (f" ({shown})" if shown else "")
    if needs:
        why = "its rules here need " + " or ".join(f"'{need}'" for need in needs)
    else:
        why = f"no rule accepts {task} in {state}"
    listed = ", ".join(allowed) or "none"
    tail = f"; queued here: {', '.join(queued)}" if queued else ""
    return f"task {task} rejected in {where}: {why}; allowed here: {listed}{tail}"


def rejection_message(spec: Spec, state: str, task: str, guards: Mapping[str, bool]) -> str:
    """The reason a task is rejected: the state, the guard values, why, and what is allowed."""
    return rejection_text(
        state,
        task,
        _guard_text(spec, guards),
        [str(rule.when) for rule in spec.rules_for(state, task)],
        allowed_tasks(spec, state, guards),
        [t for t in spec.tasks if spec.deferred(state, t)],
    )


def step(
    spec: Spec,
    state: str,
    task: str,
    guards: Mapping[str, bool],
    *,
    result: ActionResult = OK,
) -> StepOutcome:
    """The outcome of ``task`` arriving in ``state`` with these guard values.

    ``result`` says how the rule's action ends (it is ignored when the task is deferred or
    rejected). Rules are tried in the spec's order and the first enabled one fires; the
    linter proves that at most one can be enabled.
    """
    _check_names(spec, state, task)
    if spec.deferred(state, task):
        return Deferred(task, state)
    for rule in spec.rules_for(state, task):
        if _enabled(rule, guards):
            return _accept(spec, rule, result)
    reason = rejection_message(spec, state, task, guards)
    events = _events(spec, reject_phase(spec, state), reason)
    return Rejected(
        task, state, _guard_text(spec, guards), allowed_tasks(spec, state, guards), reason, events
    )


def _accept(spec: Spec, rule: Rule, result: ActionResult) -> Accepted:
    if isinstance(result, Raised | Cancelled) and rule.action is None:
        raise ModelError(f"rule {rule.index + 1} of {rule.task} has no action to raise or cancel")
    if isinstance(result, Cancelled) and not spec.action(rule.action or "").cancellable:
        raise ModelError(f"action {rule.action} is not cancellable")
    accept = expand(spec, "accept", rule, rule.source)
    events = _events(spec, accept, None)
    if rule.action is not None and spec.action(rule.action).progress:
        events += (Progress(rule.action, spec.action(rule.action).progress),)
    outcome: ContractOutcome
    message: str | None = None
    if isinstance(result, Raised):
        outcome, message = "failure", result.message
    elif isinstance(result, Cancelled):
        outcome = "cancelled"
    else:
        outcome = "success"
    tail = _events(spec, expand(spec, outcome, rule, accept.end), message)
    next_state = spec.on_error if outcome == "failure" else rule.target
    return Accepted(rule.task, rule.source, rule, next_state, events + tail)


def _events(spec: Spec, phase: Phase, message: str | None) -> tuple[ModelEvent, ...]:
    """The events of an expanded phase; ``message`` goes where the phase attaches it."""
    out: list[ModelEvent] = []
    for op in phase.ops:
        text = message if op.with_message else None
        if op.kind == "ack":
            out.append(Acknowledged())
        elif op.kind == "status" and op.status is not None:
            out.append(TaskStatus(op.status, text))  # type: ignore[arg-type]
        elif op.kind == "move" and op.state is not None:
            out.append(RunnerStatus(op.state, spec.state(op.state).status, text))
    return tuple(out)
