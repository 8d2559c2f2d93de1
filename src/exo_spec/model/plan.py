"""What each rule does, as straight-line steps: the event contract expanded, once.

A rule runs in phases: ``accept`` (before its action), then one of ``success``, ``cancelled``
or ``failure``. Each phase is the contract's templates instantiated for that rule: a
``RunnerStatusUpdated`` becomes a *move* (the state changes, its event emitted first) only when
it changes the state. :func:`exo_spec.model.step` turns these ops into events; the generated
machine and the docs are rendered from the same plans.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Literal

from attrs import frozen

from exo_spec.spec.diagnostics import Diagnostic
from exo_spec.spec.expr import And, Expr, Name, Not, TrueExpr
from exo_spec.spec.types import ContractEvent, ContractOutcome, Rule, Spec

__all__ = [
    "Conjunct",
    "Op",
    "Phase",
    "RulePlan",
    "conjuncts",
    "expand",
    "plan_problems",
    "plan_rule",
    "reject_phase",
]

OpKind = Literal["status", "move", "ack"]


@frozen
class Op:
    """One step of a phase: a task status, a state change (with its event), or the ack."""

    kind: OpKind
    status: str | None = None  # task status, for "status"
    state: str | None = None  # the state entered, for "move"
    with_message: bool = False  # the phase's message is attached

    def __str__(self) -> str:
        if self.kind == "status":
            return f"TaskStatusUpdated({self.status})"
        if self.kind == "move":
            return f"RunnerStatusUpdated({self.state})"
        return "TaskAcknowledged"


@frozen
class Phase:
    """The ordered steps of one outcome, and the state the runner is in after them."""

    outcome: ContractOutcome
    ops: tuple[Op, ...]
    end: str


@frozen
class RulePlan:
    """A rule's phases; ``cancelled`` only for a cancellable action, ``failure`` only with one."""

    rule: Rule
    accept: Phase
    success: Phase
    cancelled: Phase | None
    failure: Phase | None


@frozen
class Conjunct:
    """One conjunct of a guard expression: a guard that must be ``target``, or a whole expr."""

    expr: Expr
    guard: str | None
    target: bool


def conjuncts(expr: Expr) -> tuple[Conjunct, ...]:
    """Split ``a and not b and (c or d)`` into ``a``, ``not b``, ``(c or d)``, in order."""
    if isinstance(expr, TrueExpr):
        return ()
    if isinstance(expr, And):
        return conjuncts(expr.left) + conjuncts(expr.right)
    if isinstance(expr, Name):
        return (Conjunct(expr, expr.name, True),)
    if isinstance(expr, Not) and isinstance(expr.operand, Name):
        return (Conjunct(expr, expr.operand.name, False),)
    return (Conjunct(expr, None, True),)


def expand(spec: Spec, outcome: ContractOutcome, rule: Rule | None, current: str) -> Phase:
    """Instantiate one outcome's templates for ``rule`` (none for a rejection) from ``current``.

    A task status carries the phase's message when it is ``Failed``; a move carries it when it
    enters the spec's ``on_error`` state.
    """
    ops: list[Op] = []
    for template in spec.events.of(outcome):
        if template.kind == "TaskAcknowledged":
            ops.append(Op("ack"))
        elif template.kind == "TaskStatusUpdated" and template.arg is not None:
            ops.append(Op("status", status=template.arg, with_message=template.arg == "Failed"))
        elif template.kind == "RunnerStatusUpdated":
            target = _resolve(spec, template, rule)
            if target is not None and target != current:
                ops.append(Op("move", state=target, with_message=target == spec.on_error))
                current = target
    return Phase(outcome, tuple(ops), current)


def _resolve(spec: Spec, template: ContractEvent, rule: Rule | None) -> str | None:
    if template.arg == "on_error":
        return spec.on_error
    if rule is None:
        return None
    return {"via": rule.via, "to": rule.target, "from": rule.source}.get(template.arg or "")


def plan_rule(spec: Spec, rule: Rule) -> RulePlan:
    """The phases of ``rule``; :func:`plan_problems` says whether they are consistent."""
    accept = expand(spec, "accept", rule, rule.source)
    success = expand(spec, "success", rule, accept.end)
    cancelled = failure = None
    if rule.action is not None:
        failure = expand(spec, "failure", rule, accept.end)
        if spec.action(rule.action).cancellable:
            cancelled = expand(spec, "cancelled", rule, accept.end)
    return RulePlan(rule, accept, success, cancelled, failure)


def reject_phase(spec: Spec, state: str) -> Phase:
    """What a rejected task emits in ``state`` (the contract's ``reject`` templates)."""
    return expand(spec, "reject", None, state)


def plan_problems(spec: Spec) -> Iterator[Diagnostic]:
    """Contracts the generated machine cannot honour: an outcome that ends in another state
    than the rule says without an event for it, or a rejection that changes the state."""
    for rule in spec.rules:
        plan = plan_rule(spec, rule)
        expected = {"success": rule.target, "cancelled": rule.target, "failure": spec.on_error}
        for phase in (plan.success, plan.cancelled, plan.failure):
            if phase is not None and phase.end != expected[phase.outcome]:
                yield Diagnostic(
                    "EXS302",
                    f"rule {rule.index + 1} of {rule.task} (from {rule.source}) ends its "
                    f"{phase.outcome} events in state {phase.end}, but the runner moves to "
                    f"{expected[phase.outcome]}; add RunnerStatusUpdated("
                    f"{'on_error' if phase.outcome == 'failure' else 'to'}) to "
                    f"events.{phase.outcome}",
                    rule.loc,
                )
    for state in spec.cell_states():
        phase = reject_phase(spec, state.name)
        if phase.end != state.name:
            yield Diagnostic(
                "EXS302",
                "events.reject changes the runner's state, but a rejected task leaves it "
                "unchanged; remove RunnerStatusUpdated from events.reject",
                spec.events.loc,
            )
            return
