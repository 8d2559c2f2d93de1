"""Names that must refer to something: states, guards, actions and tasks (EXS101-EXS105, EXS211/212)."""

from __future__ import annotations

import difflib
from collections.abc import Container, Iterable, Iterator

from exo_spec.check.rules.finding import Finding, rule_label
from exo_spec.spec.types import ActionDecl, GuardDecl, Spec

__all__ = [
    "did_you_mean",
    "unknown_action",
    "unknown_guard",
    "unknown_state",
    "unknown_task_in_defer",
    "unused_action",
    "unused_guard",
]


def did_you_mean(name: str, known: Iterable[str]) -> str:
    """``did you mean 'loaded'? known: idle, loaded`` — the tail of an unknown-name message."""
    options = list(known)
    close = difflib.get_close_matches(name, options, n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    return f"{hint}known: {', '.join(options) or 'none'}"


def unknown_state(spec: Spec) -> Iterator[Finding]:
    known = [s.name for s in spec.states]

    def message(name: str, where: str) -> str:
        return f"{where} names unknown state {name!r}; {did_you_mean(name, known)}"

    if not spec.has_state(spec.initial):
        yield spec.initial_loc, message(spec.initial, "initial")
    for r in spec.rules:
        what = rule_label(r)
        for field, name in (("from", r.source), ("via", r.via), ("to", r.target)):
            if name is not None and not spec.has_state(name):
                yield r.loc, message(name, f"'{field}' of {what}")
    if spec.on_error and not spec.has_state(spec.on_error):
        yield spec.on_error_loc, message(spec.on_error, "on_error")
    for state, _task, loc in spec.defer:
        if not spec.has_state(state):
            yield loc, message(state, "defer")


def unknown_guard(spec: Spec) -> Iterator[Finding]:
    known = [g.name for g in spec.guards]
    for r in spec.rules:
        for name in dict.fromkeys(r.when.names()):
            if name not in known:
                yield (
                    r.loc,
                    f"'when' of {rule_label(r)} uses undeclared guard "
                    f"{name!r}; declare it under guards or {did_you_mean(name, known)}",
                )


def unknown_action(spec: Spec) -> Iterator[Finding]:
    known = [a.name for a in spec.actions]
    for r in spec.rules:
        if r.action is not None and r.action not in known:
            yield (
                r.loc,
                f"'do' of {rule_label(r)} names undeclared action "
                f"{r.action!r}; declare it under actions or {did_you_mean(r.action, known)}",
            )


def unknown_task_in_defer(spec: Spec) -> Iterator[Finding]:
    for state, task, loc in spec.defer:
        if task not in spec.tasks:
            yield (
                loc,
                f"defer of state {state} names unknown task {task!r}; "
                f"{did_you_mean(task, spec.tasks)}",
            )


def unused_guard(spec: Spec) -> Iterator[Finding]:
    used = {name for r in spec.rules for name in r.when.names()}
    return _unused("guard", spec.guards, used, "no rule's 'when' uses it")


def unused_action(spec: Spec) -> Iterator[Finding]:
    used = {r.action for r in spec.rules}
    return _unused("action", spec.actions, used, "no rule does it")


def _unused(
    kind: str,
    declared: Iterable[GuardDecl | ActionDecl],
    used: Container[str | None],
    nobody: str,
) -> Iterator[Finding]:
    for decl in declared:
        if decl.name not in used:
            yield decl.loc, f"{kind} {decl.name} is declared but {nobody}; use it or remove it"
