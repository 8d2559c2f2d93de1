"""The event contract: every state change and every task outcome is reported (EXS210)."""

from __future__ import annotations

from collections.abc import Iterator

from exo_spec.check.rules.finding import Finding
from exo_spec.spec.diagnostics import Loc
from exo_spec.spec.types import ContractOutcome, Rule, Spec

__all__ = ["missing_event"]

_FINAL_STATUS: dict[ContractOutcome, str] = {
    "accept": "Running",
    "success": "Complete",
    "failure": "Failed",
    "cancelled": "Cancelled",
    "reject": "Failed",
}


def _has(spec: Spec, outcome: ContractOutcome, kind: str, arg: str) -> bool:
    return any(e.kind == kind and e.arg == arg for e in spec.events.of(outcome))


def _where(spec: Spec, outcome: ContractOutcome) -> Loc:
    events = spec.events.of(outcome)
    return events[0].loc if events else spec.events.loc


def _cancellable(spec: Spec, r: Rule) -> bool:
    return r.action is not None and any(a.name == r.action and a.cancellable for a in spec.actions)


def _names(rules: list[Rule]) -> str:
    shown = dict.fromkeys(f"{r.task} (line {r.loc.line})" for r in rules)
    head = list(shown)[:3]
    more = f" and {len(shown) - 3} more" if len(shown) > 3 else ""
    return ", ".join(head) + more


def missing_event(spec: Spec) -> Iterator[Finding]:
    live = [
        r for r in spec.rules if spec.has_state(r.source) and spec.state(r.source).accepts_tasks
    ]
    needs: list[tuple[ContractOutcome, str, list[Rule], str]] = [
        ("accept", "via", [r for r in live if r.via is not None], "enter their 'via' state"),
        ("success", "to", [r for r in live if r.changes_state], "end in their 'to' state"),
        (
            "cancelled",
            "to",
            [r for r in live if r.changes_state and _cancellable(spec, r)],
            "end in their 'to' state when cancelled",
        ),
        (
            "failure",
            "on_error",
            [r for r in live if r.action is not None and spec.on_error],
            f"move to {spec.on_error or 'on_error'} when their action raises",
        ),
    ]
    for outcome, ref, rules, what in needs:
        if rules and not _has(spec, outcome, "RunnerStatusUpdated", ref):
            yield (
                _where(spec, outcome),
                f"events.{outcome} has no RunnerStatusUpdated({ref}): {_names(rules)} "
                f"{what} but the machine would never report it; add RunnerStatusUpdated({ref}) "
                f"to events.{outcome}",
            )
    for outcome, status in _FINAL_STATUS.items():
        if outcome == "cancelled" and not any(_cancellable(spec, r) for r in live):
            continue
        if not _has(spec, outcome, "TaskStatusUpdated", status):
            yield (
                _where(spec, outcome),
                f"events.{outcome} has no TaskStatusUpdated({status}): the task's "
                f"{'start' if outcome == 'accept' else 'outcome'} would never be reported; "
                f"add TaskStatusUpdated({status}) to events.{outcome}",
            )
