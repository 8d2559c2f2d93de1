"""The edges a diagram of a spec's machine draws: a small model that every renderer shares.

A rule is drawn as the runner lives it. With ``via``, one edge for the task from its source to
``via`` (the state the runner is in while the action runs), then one edge per end of the action
(``done``, ``cancelled``, ``error``) from ``via`` to where that end leads. Without ``via`` the
action runs in the source state: one edge for the task from the source to the target (a
self-loop when the rule stays), and an ``error`` edge when a failed action leads elsewhere.
The ends come from the rule's plan (:mod:`exo_spec.model.plan`), so the diagram follows the
spec's event contract exactly as the generated machine does.

The Mermaid of ``generated/<machine>.md`` (``exo_spec.codegen.docs_gen``) and ``exo-spec
diagram`` (transitions' diagram extension, ``exo_spec.diagram``) both draw these edges.
"""

from __future__ import annotations

from collections.abc import Iterator

from attrs import frozen

from exo_spec.model.plan import Phase, plan_rule
from exo_spec.spec.types import Rule, Spec

__all__ = ["END_LABELS", "DrawnEdge", "drawn_edges"]

END_LABELS = {"success": "done", "cancelled": "cancelled", "failure": "error"}
"""How an action's outcome is written on the edge that leaves its ``via`` state."""


@frozen
class DrawnEdge:
    """One arrow: ``trigger`` (a task, or an action's end) from ``source`` to ``dest``.

    ``rule`` is the rule it draws; ``guard`` and ``action`` are set on a task's edge only.
    """

    source: str
    dest: str
    trigger: str
    rule: Rule
    guard: str | None = None
    action: str | None = None

    @property
    def label(self) -> str:
        """``Task [guard] / action`` for a task's edge, the end's name otherwise."""
        text = self.trigger
        if self.guard is not None:
            text += f" [{self.guard}]"
        if self.action is not None:
            text += f" / {self.action}"
        return text


def _rule_edges(spec: Spec, rule: Rule) -> Iterator[DrawnEdge]:
    plan = plan_rule(spec, rule)
    guard = str(rule.when) if rule.when_text is not None else None
    first = plan.accept.end
    ends: list[Phase] = [p for p in (plan.success, plan.cancelled, plan.failure) if p is not None]
    if first != rule.source:
        yield DrawnEdge(rule.source, first, rule.task, rule, guard, rule.action)
        for phase in ends:
            if phase.end != first:
                yield DrawnEdge(first, phase.end, END_LABELS[phase.outcome], rule)
        return
    # No move on acceptance: the task's edge goes where the action's success leads.
    done = plan.success.end
    yield DrawnEdge(rule.source, done, rule.task, rule, guard, rule.action)
    for phase in ends:
        if phase.end not in (first, done):
            yield DrawnEdge(first, phase.end, END_LABELS[phase.outcome], rule)


def drawn_edges(spec: Spec) -> tuple[DrawnEdge, ...]:
    """Every arrow of the spec's diagram, in spec order, each (source, dest, label) once."""
    seen: dict[tuple[str, str, str], DrawnEdge] = {}
    for rule in spec.rules:
        for edge in _rule_edges(spec, rule):
            seen.setdefault((edge.source, edge.dest, edge.label), edge)
    return tuple(seen.values())
