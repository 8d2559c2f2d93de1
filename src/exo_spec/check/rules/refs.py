"""Names that must refer to something: states, guards, actions and tasks (EXS101-EXS105, EXS211/212)."""

from __future__ import annotations

import difflib
from collections.abc import Container, Iterable, Iterator

from exo_spec.spec.diagnostics import Diagnostic
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


def unknown_state(spec: Spec) -> Iterator[Diagnostic]:
    known = [s.name for s in spec.states]

    def message(name: str, where: str) -> str:
        return f"{where} names unknown state {name!r}; {did_you_mean(name, known)}"

    if not spec.has_state(spec.initial):
        yield Diagnostic("EXS101", message(spec.initial, "initial"), spec.initial_loc)
    for r in spec.rules:
        what = f"rule {r.index + 1} of task {r.task}"
        for field, name in (("from", r.source), ("via", r.via), ("to", r.target)):
            if name is not None and not spec.has_state(name):
                yield Diagnostic("EXS101", message(name, f"'{field}' of {what}"), r.loc)
    if spec.on_error and not spec.has_state(spec.on_error):
        yield Diagnostic("EXS101", message(spec.on_error, "on_error"), spec.on_error_loc)
    for state, _task, loc in spec.defer:
        if not spec.has_state(state):
            yield Diagnostic("EXS101", message(state, "defer"), loc)


def unknown_guard(spec: Spec) -> Iterator[Diagnostic]:
    known = [g.name for g in spec.guards]
    for r in spec.rules:
        for name in dict.fromkeys(r.when.names()):
            if name not in known:
                yield Diagnostic(
                    "EXS102",
                    f"'when' of rule {r.index + 1} of task {r.task} uses undeclared guard "
                    f"{name!r}; declare it under guards or {did_you_mean(name, known)}",
                    r.loc,
                )


def unknown_action(spec: Spec) -> Iterator[Diagnostic]:
    known = [a.name for a in spec.actions]
    for r in spec.rules:
        if r.action is not None and r.action not in known:
            yield Diagnostic(
                "EXS103",
                f"'do' of rule {r.index + 1} of task {r.task} names undeclared action "
                f"{r.action!r}; declare it under actions or {did_you_mean(r.action, known)}",
                r.loc,
            )


def unknown_task_in_defer(spec: Spec) -> Iterator[Diagnostic]:
    for state, task, loc in spec.defer:
        if task not in spec.tasks:
            yield Diagnostic(
                "EXS105",
                f"defer of state {state} names unknown task {task!r}; "
                f"{did_you_mean(task, spec.tasks)}",
                loc,
            )


def unused_guard(spec: Spec) -> Iterator[Diagnostic]:
    used = {name for r in spec.rules for name in r.when.names()}
    return _unused("EXS211", "guard", spec.guards, used, "no rule's 'when' uses it")


def unused_action(spec: Spec) -> Iterator[Diagnostic]:
    used = {r.action for r in spec.rules}
    return _unused("EXS212", "action", spec.actions, used, "no rule does it")


def _unused(
    code: str,
    kind: str,
    declared: Iterable[GuardDecl | ActionDecl],
    used: Container[str | None],
    nobody: str,
) -> Iterator[Diagnostic]:
    for decl in declared:
        if decl.name not in used:
            yield Diagnostic(
                code,
                f"{kind} {decl.name} is declared but {nobody}; use it or remove it",
                decl.loc,
            )
