"""Tasks dispatched from inside an action: what a spec means for them, composed from step().

While a rule's action runs, the runner is in the state its accept events entered (``via``, or
the rule's source). A task sent then is a task of its own, as :func:`exo_spec.model.step`
treats each task: in an interruptible state it is accepted, deferred or rejected by that
state's cells; in a transient state that is not interruptible it waits in the queue (it is
deferred, with no events). When such a nested task moves the runner, the outer rule, once its
action ends, emits its task's own final events (Complete, Cancelled or Failed) but no
runner_status and no state change: the runner stays where the nested task put it.

:func:`run_nested` gives the expected events, actions called and end state of a tree of
dispatches, each one's ``inner`` sent, in order, while its action runs.
"""

from __future__ import annotations

from typing import Literal

from attrs import frozen

from exo_spec.model.cells import Event, Result, expect_of, run_step
from exo_spec.model.plan import plan_rule
from exo_spec.model.step import Accepted, step
from exo_spec.model.valuations import GuardValues
from exo_spec.spec import Spec

__all__ = ["OTHER_TASK", "Dispatch", "NestedExpect", "run_nested", "waits"]

OTHER_TASK = "<another task>"
"""How the recording bindings mark an event or a call for another task than the outer one."""

Kind = Literal["accepted", "rejected", "deferred"]


@frozen
class Dispatch:
    """A task sent with these guard values and action result; ``inner`` are sent while its
    action runs (before the action returns or raises)."""

    task: str
    guards: GuardValues
    result: Result
    inner: tuple[Dispatch, ...] = ()


@frozen
class NestedExpect:
    """The end state, the events and calls in order, and every dispatch's kind (in the order
    they are sent: the outer task first)."""

    state: str
    events: tuple[Event, ...]
    calls: tuple[str, ...]
    kinds: tuple[Kind, ...]


def waits(spec: Spec, state: str) -> bool:
    """Tasks sent in ``state`` wait in the queue: it is transient and not interruptible."""
    decl = spec.state(state)
    return decl.transient and not decl.accepts_tasks and not decl.final


def run_nested(spec: Spec, state: str, dispatch: Dispatch) -> NestedExpect:
    """What ``dispatch`` sent in ``state`` does, its inner dispatches included."""
    run = _Run(spec)
    end = run.send(state, dispatch, outer=True)
    return NestedExpect(end, tuple(run.events), tuple(run.calls), tuple(run.kinds))


class _Run:
    def __init__(self, spec: Spec) -> None:
        self.spec = spec
        self.events: list[Event] = []
        self.calls: list[str] = []
        self.kinds: list[Kind] = []

    def _emit(self, events: tuple[Event, ...], outer: bool) -> None:
        for event in events:
            mark = outer or event[0] == "runner_status"
            self.events.append(event if mark else (*event, OTHER_TASK))

    def send(self, state: str, dispatch: Dispatch, *, outer: bool) -> str:
        spec = self.spec
        if waits(spec, state):
            self.kinds.append("deferred")
            return state
        probe = step(spec, state, dispatch.task, dict(dispatch.guards))
        if not isinstance(probe, Accepted):
            expect = expect_of(probe)
            self.kinds.append(expect.kind)
            self._emit(expect.events, outer)
            return state
        self.kinds.append("accepted")
        rule = probe.rule
        expect = run_step(spec, state, dispatch.task, dispatch.guards, dispatch.result).expect
        plan = plan_rule(spec, rule)
        split = len(plan.accept.ops)
        self._emit(expect.events[:split], outer)
        if rule.action is not None:
            self.calls.append(rule.action + ("" if outer else OTHER_TASK))
        current = plan.accept.end
        for inner in dispatch.inner if rule.action is not None else ():
            current = self.send(current, inner, outer=False)
        tail = expect.events[split:]
        if current == plan.accept.end:
            self._emit(tail, outer)
            return expect.state
        self._emit(tuple(e for e in tail if e[0] != "runner_status"), outer)
        return current
