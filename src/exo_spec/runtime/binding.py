"""Check that an object binds every guard and action of a spec (``exo-spec check --binding``).

A binding is any object with one method per guard (no arguments, returns bool), one method per
action (takes the task) and the three event methods the generated machine calls. A missing or
mis-shaped method is an ``EXS401`` diagnostic here and a :class:`BindingError` at construction,
never a surprise in the middle of a task.
"""

from __future__ import annotations

import importlib
import inspect
import os
import sys
from collections.abc import Iterator
from types import ModuleType

from exo_spec.spec import Diagnostic, Spec

__all__ = [
    "BindingError",
    "binding_problems",
    "check_binding",
    "import_project_module",
    "resolve_object",
]

EVENT_METHODS = {"task_status": 3, "runner_status": 2, "acknowledged": 1}


class BindingError(TypeError):
    """An object does not bind a spec's guards and actions; the message lists every problem."""


def import_project_module(name: str) -> ModuleType:
    """Import ``name`` the way ``python -m`` would from the working directory: the directory
    comes first on ``sys.path`` (and stays, since the module may import siblings lazily), so
    ``--runner tests.my_runner:run`` finds the project's ``tests``, not another one installed."""
    cwd = os.getcwd()
    if "" not in sys.path and cwd not in sys.path:
        sys.path.insert(0, cwd)
    return importlib.import_module(name)


def resolve_object(reference: str) -> object:
    """Import ``module:attribute`` (the attribute may be dotted); ``ValueError`` explains a bad one."""
    module_name, sep, attribute = reference.partition(":")
    if not sep or not module_name or not attribute:
        raise ValueError(
            f"{reference!r} is not of the form module:object (e.g. mypkg.bind:Bindings)"
        )
    try:
        value: object = import_project_module(module_name)
    except ImportError as exc:
        raise ValueError(f"cannot import module {module_name!r}: {exc}") from None
    for part in attribute.split("."):
        if not hasattr(value, part):
            raise ValueError(f"module {module_name!r} has no attribute {attribute!r}")
        value = getattr(value, part)
    return value


def _arity_problem(obj: object, name: str, wanted: int, role: str) -> str | None:
    method = getattr(obj, name, None)
    if method is None:
        return f"{role} {name!r} is not bound: add a method {name}() to {_describe(obj)}"
    if not callable(method):
        return f"{role} {name!r} is bound to a non-callable {type(method).__name__}"
    try:
        signature = inspect.signature(method)
    except (TypeError, ValueError):
        return None  # builtins without a signature: accept
    params = [
        p for p in signature.parameters.values() if p.kind not in (p.VAR_KEYWORD, p.KEYWORD_ONLY)
    ]
    if isinstance(obj, type) and params and params[0].name == "self":
        params = params[1:]
    if any(p.kind == p.VAR_POSITIONAL for p in params):
        return None
    required = [p for p in params if p.default is p.empty]
    if len(required) <= wanted <= len(params):
        return None
    args = "no arguments" if wanted == 0 else f"{wanted} argument{'s' if wanted > 1 else ''}"
    return f"{role} {name!r} must take {args}; {name}{signature} does not"


def _describe(obj: object) -> str:
    return obj.__name__ if isinstance(obj, type) else type(obj).__name__


def binding_problems(spec: Spec, obj: object) -> Iterator[tuple[str, str]]:
    """(name, problem) for every guard, action or event method ``obj`` does not bind."""
    for guard in spec.guards:
        if (problem := _arity_problem(obj, guard.name, 0, "guard")) is not None:
            yield guard.name, problem
    for action in spec.actions:
        if (problem := _arity_problem(obj, action.name, 1, "action")) is not None:
            yield action.name, problem
    for name, arity in EVENT_METHODS.items():
        if (problem := _arity_problem(obj, name, arity, "event method")) is not None:
            yield name, problem


def check_binding(spec: Spec, reference: str) -> list[Diagnostic]:
    """``EXS401`` diagnostics for the object named ``module:object`` (at the guard/action's line)."""
    try:
        obj = resolve_object(reference)
    except ValueError as exc:
        return [Diagnostic("EXS401", f"binding {reference}: {exc}", spec.initial_loc)]
    locs = {g.name: g.loc for g in spec.guards} | {a.name: a.loc for a in spec.actions}
    return [
        Diagnostic("EXS401", f"binding {reference}: {problem}", locs.get(name, spec.initial_loc))
        for name, problem in binding_problems(spec, obj)
    ]
