"""The expected trace of a scenario, computed from the reference ``step()``.

The result is one flat, ordered list of :class:`Expected` items: the initial
``RunnerStatusUpdated``, then per received task its contract events, with a *progress* item
where the action may emit zero or more progress events. The tasks that arrive during a
generation are handled in the interruptible state (a ``CancelTask`` is accepted, a chat or
``Shutdown`` is deferred and handled after the generation, in order). A ``CancelTask`` naming a
queued task stops it only when that task's action is ``cancellable`` (a queued chat); for any
other queued task (a ``Shutdown``: shutdown always completes) it completes without effect. Each
item keeps the spec rule it comes from, so a mismatch names the rule it breaks.
"""

from __future__ import annotations

from collections import deque
from typing import Literal

from attrs import frozen

from exo_spec.conformance.scenario import CANCEL_TASK, Scenario, Send
from exo_spec.model import (
    CANCELLED,
    OK,
    Accepted,
    Acknowledged,
    ActionResult,
    Deferred,
    ModelEvent,
    Progress,
    Raised,
    Rejected,
    RunnerStatus,
    TaskStatus,
    initial_events,
    step,
)
from exo_spec.model.cells import failure_message
from exo_spec.model.plan import plan_rule
from exo_spec.model.valuations import valuation_text
from exo_spec.spec import Spec
from exo_spec.spec.diagnostics import Loc
from exo_spec.spec.types import ContractOutcome

__all__ = ["Expectation", "Expected", "ExpectedKind", "expect"]

ExpectedKind = Literal["runner", "task", "ack", "progress"]


@frozen
class Expected:
    """One expected event (or a progress placeholder) and the rule it comes from."""

    kind: ExpectedKind
    task_id: str | None
    status: str | None  # task status, or the runner status name (RunnerLoaded)
    state: str | None  # the spec state a runner status reports
    phase: str  # initial, accept, success, cancelled, failure, reject, leftover, progress
    loc: Loc
    context: str  # "LoadModel t2 in idle (has_group=false, weights_present=true)"
    task: str | None = None
    progress: tuple[str, ...] = ()
    decision: Literal["accepted", "rejected", "deferred", "none"] = "none"
    rule_ref: str = ""  # "tasks.LoadModel", the rule that accepted or the task rejected
    rule_loc: Loc | None = None

    def __str__(self) -> str:
        if self.kind == "runner":
            return f"RunnerStatusUpdated({self.status})"
        if self.kind == "task":
            return f"TaskStatusUpdated({self.task_id}, {self.status})"
        if self.kind == "ack":
            return f"TaskAcknowledged({self.task_id})"
        return f"<progress of {self.task_id}: {', '.join(self.progress)}>*"


@frozen
class Expectation:
    """The expected trace, the tasks the runner receives, and the state it ends in."""

    items: tuple[Expected, ...]
    received: tuple[str, ...]
    final_state: str
    calls: tuple[tuple[str, str], ...]  # (action, "ok" | "fail") in the order they run
    handled: tuple[tuple[str, str, str], ...] = ()  # (task id, task, state) as each is handled

    def where(self, task_id: str) -> tuple[str, str] | None:
        """``(task, state)``: the last place the task ``task_id`` was handled in."""
        return next(((t, s) for i, t, s in reversed(self.handled) if i == task_id), None)


def _cancellable_tasks(spec: Spec) -> frozenset[str]:
    """The tasks a ``CancelTask`` may stop: those whose action the spec declares cancellable."""
    return frozenset(
        rule.task
        for rule in spec.rules
        if rule.action is not None and spec.action(rule.action).cancellable
    )


class _Simulation:
    def __init__(self, spec: Spec, scenario: Scenario) -> None:
        self.spec = spec
        self.scenario = scenario
        self.state = spec.initial
        self.weights = True
        self.items: list[Expected] = []
        self.received: list[str] = []
        self.calls: list[tuple[str, str]] = []
        self.deferred: deque[Send] = deque()
        self.handled: list[tuple[str, str, str]] = []
        self.cancellable = _cancellable_tasks(spec)
        init = initial_events(spec)[0]
        assert isinstance(init, RunnerStatus)
        self.items.append(
            Expected(
                "runner",
                None,
                init.status,
                init.state,
                "initial",
                spec.initial_loc,
                f"the runner starts in {spec.initial}",
            )
        )

    @property
    def finished(self) -> bool:
        return self.spec.state(self.state).final

    def run(self) -> Expectation:
        for send in self.scenario.sends:
            if self.finished:
                break
            self.weights = send.weights
            pending = deque([send])
            while pending and not self.finished:
                left = self.handle(pending.popleft())
                self.drain()
                pending.extend(left)
        for send in self.deferred:
            self.items.append(self._leftover(send))
        return Expectation(
            tuple(self.items),
            tuple(self.received),
            self.state,
            tuple(self.calls),
            tuple(self.handled),
        )

    def drain(self) -> None:
        while self.deferred and not self.finished:
            self.handle(self.deferred.popleft(), redelivered=True)

    def _guards(self) -> dict[str, bool]:
        # A scenario fixes the constant guards (the context's group) and sets the dynamic one
        # per task (the engine's weights); plan_scenarios refuses specs with other guards.
        constant = dict.fromkeys(self.spec.constant_guards(), self.scenario.has_group)
        dynamic = dict.fromkeys(self.spec.dynamic_guards(), self.weights)
        values = constant | dynamic
        return {g.name: values[g.name] for g in self.spec.guards}

    def _leftover(self, send: Send) -> Expected:
        loc = next((loc for state, task, loc in self.spec.defer if task == send.task), None)
        return Expected(
            "task",
            send.id,
            "Failed",
            None,
            "leftover",
            loc or self.spec.events.loc,
            f"{send.task} {send.id} deferred and never run (the runner shut down)",
            send.task,
        )

    def handle(self, send: Send, *, redelivered: bool = False) -> tuple[Send, ...]:
        """Handle one task in the current state; returns the sends that arrived but were not
        polled (they wait in the channel)."""
        if not redelivered:
            self.received.append(send.id)
        stepped = self._step(send)
        if stepped is None:
            return send.during
        accepted, guards, context = stepped
        rule = accepted.rule
        action = rule.action
        via = self.spec.state(rule.via) if rule.via else None
        polled = via is not None and via.interruptible and send.result == "ok" and bool(send.during)
        result: ActionResult = OK
        if action is not None and send.result == "fail":
            result = Raised(failure_message(action))
        elif polled and any(d.task == CANCEL_TASK and d.target == send.id for d in send.during):
            result = CANCELLED
        outcome = step(self.spec, self.state, send.task, guards, result=result)
        assert isinstance(outcome, Accepted)
        if action is not None:
            self.calls.append((action, send.result))
        ref, rule_loc = f"tasks.{send.task}", rule.loc
        events = outcome.events
        split = len(plan_rule(self.spec, rule).accept.ops)
        head = events[:split]
        progress = next((e for e in events if isinstance(e, Progress)), None)
        tail = tuple(e for e in events[split:] if not isinstance(e, Progress))
        self._emit(head, send, "accept", context, "accepted", ref, rule_loc)
        if progress is not None:
            self._progress(progress, send)
        if polled:
            self.state = rule.via or self.state
            for during in send.during:
                self.received.append(during.id)
                self._during(during)
            if progress is not None:
                self._progress(progress, send)
        phase: ContractOutcome = (
            "failure"
            if isinstance(result, Raised)
            else "cancelled"
            if result is CANCELLED
            else "success"
        )
        self._emit(tail, send, phase, context, "accepted", ref, rule_loc)
        self.state = outcome.next_state
        return () if polled else send.during

    def _step(self, send: Send) -> tuple[Accepted, dict[str, bool], str] | None:
        """Step ``send`` in the current state: the outcome, the guards and the context when a
        rule accepts it; None when it is deferred or rejected (its events are then emitted)."""
        self.handled.append((send.id, send.task, self.state))
        guards = self._guards()
        context = f"{send.task} {send.id} in {self.state} ({valuation_text(guards)})"
        outcome = step(self.spec, self.state, send.task, guards)
        if isinstance(outcome, Deferred):
            self.deferred.append(send)
            return None
        if isinstance(outcome, Rejected):
            loc = self.spec.task_locs[self.spec.tasks.index(send.task)]
            self._emit(
                outcome.events, send, "reject", context, "rejected", f"tasks.{send.task}", loc
            )
            return None
        return outcome, guards, context

    def _during(self, send: Send) -> None:
        stepped = self._step(send)
        if stepped is None:
            return
        outcome, _, context = stepped
        events = outcome.events
        ref, rule_loc = f"tasks.{send.task}", outcome.rule.loc
        if outcome.rule.action is not None:
            self.calls.append((outcome.rule.action, "ok"))
        cut = len(plan_rule(self.spec, outcome.rule).accept.ops)
        self._emit(events[:cut], send, "accept", context, "accepted", ref, rule_loc)
        target = next((d for d in self.deferred if d.id == send.target), None)
        if send.task == CANCEL_TASK and target is not None and target.task in self.cancellable:
            self.deferred.remove(target)
            self.items.append(
                Expected(
                    "task",
                    target.id,
                    "Cancelled",
                    None,
                    "cancelled",
                    self._template_loc("cancelled", "TaskStatusUpdated"),
                    f"{target.task} {target.id} queued, cancelled by {send.id}",
                    target.task,
                )
            )
        self._emit(events[cut:], send, "success", context, "accepted", ref, rule_loc)

    def _template_loc(self, phase: ContractOutcome, kind: str) -> Loc:
        for template in self.spec.events.of(phase):
            if template.kind == kind:
                return template.loc
        return self.spec.events.loc

    def _progress(self, progress: Progress, send: Send) -> None:
        via_status = None
        for rule in self.spec.rules:
            if rule.action == progress.action and rule.via is not None:
                via_status = self.spec.state(rule.via).status
                break
        self.items.append(
            Expected(
                "progress",
                send.id,
                via_status,
                None,
                "progress",
                self.spec.action(progress.action).loc,
                f"progress of {progress.action} for {send.task} {send.id}",
                send.task,
                progress=progress.kinds,
            )
        )

    def _emit(
        self,
        events: tuple[ModelEvent, ...],
        send: Send,
        phase: ContractOutcome,
        context: str,
        decision: Literal["accepted", "rejected"],
        ref: str,
        rule_loc: Loc,
    ) -> None:
        for event in events:
            if isinstance(event, TaskStatus):
                kind: ExpectedKind = "task"
                status: str | None
                status, state, loc = (
                    event.status,
                    None,
                    self._template_loc(phase, "TaskStatusUpdated"),
                )
            elif isinstance(event, RunnerStatus):
                kind, status, state = "runner", event.status, event.state
                loc = self._template_loc(phase, "RunnerStatusUpdated")
            elif isinstance(event, Acknowledged):
                kind, status, state = "ack", None, None
                loc = self._template_loc(phase, "TaskAcknowledged")
            else:
                continue
            self.items.append(
                Expected(
                    kind,
                    send.id,
                    status,
                    state,
                    phase,
                    loc,
                    context,
                    send.task,
                    decision=decision,
                    rule_ref=ref,
                    rule_loc=rule_loc,
                )
            )


def expect(spec: Spec, scenario: Scenario) -> Expectation:
    """The events a conformant runner emits for ``scenario``, in order."""
    return _Simulation(spec, scenario).run()
