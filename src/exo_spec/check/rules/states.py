"""How states are declared and used: finals, transients, statuses, on_error (EXS204-EXS217)."""

from __future__ import annotations

from collections.abc import Iterator

from exo_spec.check.rules.finding import Finding, rule_label
from exo_spec.spec.types import Spec

__all__ = [
    "bad_on_error",
    "bad_via_or_to",
    "duplicate_status",
    "final_with_exits",
    "source_handles_no_tasks",
    "transient_without_timeout",
]


def final_with_exits(spec: Spec) -> Iterator[Finding]:
    for state in spec.states:
        if not state.final:
            continue
        tasks = [r.task for r in spec.rules if r.source == state.name]
        tasks += [task for source, task, _ in spec.defer if source == state.name]
        if tasks:
            shown = ", ".join(dict.fromkeys(tasks))
            yield (
                state.loc,
                f"final state {state.name} has rules or defers for {shown}; a final state "
                "handles no tasks: remove them, or make the state non-final",
            )


def transient_without_timeout(spec: Spec) -> Iterator[Finding]:
    for state in spec.states:
        if state.transient and state.timeout_s is None and state.stall_timeout_s is None:
            yield (
                state.loc,
                f"transient state {state.name} has no timeout_s or stall_timeout_s; the "
                "machine's host cannot tell a slow action from a hung one: give it a deadline",
            )


def source_handles_no_tasks(spec: Spec) -> Iterator[Finding]:
    def why(name: str) -> str | None:
        if not spec.has_state(name):
            return None
        decl = spec.state(name)
        if decl.final:
            return "final"
        if decl.transient and not decl.interruptible:
            return "transient and not interruptible: tasks sent meanwhile wait in the queue"
        return None

    for r in spec.rules:
        reason = why(r.source)
        if reason is not None:
            yield (
                r.loc,
                f"{rule_label(r)} starts from {r.source}, which handles "
                f"no tasks ({reason}); it can never fire",
            )
    for state, task, loc in spec.defer:
        reason = why(state)
        if reason is not None:
            yield (
                loc,
                f"defer of {task} in state {state} can never apply: {state} handles no tasks "
                f"({reason})",
            )


def duplicate_status(spec: Spec) -> Iterator[Finding]:
    first: dict[str, str] = {}
    for state in spec.states:
        if state.status in first:
            yield (
                state.loc,
                f"states {first[state.status]} and {state.name} both report {state.status}; "
                "whoever watches the status could not tell them apart: give each state its own status",
            )
        else:
            first[state.status] = state.name


def bad_via_or_to(spec: Spec) -> Iterator[Finding]:
    for r in spec.rules:
        what = rule_label(r)
        if r.via is not None and spec.has_state(r.via) and not spec.state(r.via).transient:
            yield (
                r.loc,
                f"{what} goes via {r.via}, which is not transient; the machine stays in 'via' "
                "only while the action runs: mark it transient: true, or use it as 'to'",
            )
        if r.target != r.source and spec.has_state(r.target) and spec.state(r.target).transient:
            yield (
                r.loc,
                f"{what} ends in transient state {r.target}; nothing would ever leave it: "
                "use it as 'via' and end in a resting state",
            )


def bad_on_error(spec: Spec) -> Iterator[Finding]:
    acting = next((r for r in spec.rules if r.action is not None), None)
    if not spec.on_error:
        if acting is not None:
            yield (
                acting.loc,
                f"{rule_label(acting)} does {acting.action} but the "
                "spec declares no on_error state; say where the machine goes when an action "
                "raises (e.g. on_error: failed)",
            )
        return
    if not spec.has_state(spec.on_error):
        return
    decl = spec.state(spec.on_error)
    if decl.final or decl.transient:
        kind = "final" if decl.final else "transient"
        yield (
            spec.on_error_loc,
            f"on_error names {kind} state {decl.name}; a machine whose action raised must rest "
            "somewhere it can recover from: use a resting, non-final state",
        )
