"""The attribute names a generated machine and its generated tests already use, read from code.

A task becomes a trigger method on the machine, so it must not be a name the machine already
has: anything ``exo_spec.machine.SpecMachine`` or ``transitions.Machine`` defines or assigns to
``self``. A guard or an action becomes a method of the bindings, so it must not be a name the
generated tests' ``RecordingBindings`` defines or assigns. Nothing here is written by hand: the
names are read from those classes' source (parsed with :mod:`ast`, never imported, so this layer
stays free of the runtime) and from the bindings template the generator renders.
"""

from __future__ import annotations

import ast
import functools
import importlib.util
import keyword
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

from exo_spec.codegen.tests_support import bindings_template_source
from exo_spec.spec.diagnostics import Diagnostic, Loc
from exo_spec.spec.types import Spec

__all__ = ["binding_names", "class_attributes", "machine_names", "name_problems"]

_IDENT = re.compile(r"[A-Za-z][A-Za-z0-9_]*\Z")
_WORD = re.compile(r"\w+")
# Prefixes transitions gives a meaning to on its model (our machine): per state is_<s> and
# to_<s>, per trigger may_<t>; and the callbacks it looks up by name.
_MACHINE_PREFIXES = ("is_", "may_", "to_", "on_enter_", "on_exit_", "before_", "after_", "prepare_")
_ENUM_NAMES = frozenset({"name", "value", "mro"}) | frozenset(n for n in dir(str))


def class_attributes(source: str, classes: Iterable[str]) -> frozenset[str]:
    """Every name the named classes in ``source`` define: methods, class attributes, attributes
    their methods assign on ``self`` (``self.x = ...``, ``self.x: T = ...``) and attributes they
    set by name (``setattr(obj, "x", ...)``)."""
    wanted = set(classes)
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.ClassDef) or node.name not in wanted:
            continue
        for item in node.body:
            if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef):
                names.add(item.name)
            elif isinstance(item, ast.Assign | ast.AnnAssign):
                targets = item.targets if isinstance(item, ast.Assign) else [item.target]
                names.update(t.id for t in targets if isinstance(t, ast.Name))
        for sub in ast.walk(node):
            if isinstance(sub, ast.Call) and _sets_attribute(sub):
                name = sub.args[1]
                if isinstance(name, ast.Constant) and isinstance(name.value, str):
                    names.add(name.value)
            targets = []
            if isinstance(sub, ast.Assign):
                targets = list(sub.targets)
            elif isinstance(sub, ast.AnnAssign | ast.AugAssign):
                targets = [sub.target]
            for target in targets:
                elements = target.elts if isinstance(target, ast.Tuple) else [target]
                names.update(
                    t.attr
                    for t in elements
                    if isinstance(t, ast.Attribute)
                    and isinstance(t.value, ast.Name)
                    and t.value.id == "self"
                )
    return frozenset(names)


def _sets_attribute(call: ast.Call) -> bool:
    """``setattr(obj, "name", ...)`` or transitions' ``self._checked_assignment(obj, "name", ...)``:
    how transitions gives the model (our machine) ``trigger`` and ``may_trigger``."""
    func = call.func
    named = (isinstance(func, ast.Name) and func.id == "setattr") or (
        isinstance(func, ast.Attribute) and func.attr == "_checked_assignment"
    )
    return named and len(call.args) >= 2


def _machine_sources() -> tuple[str, str]:
    """The source of ``transitions.core`` and of ``exo_spec.machine``."""
    found = importlib.util.find_spec("transitions")  # located, not imported
    folders = [] if found is None else list(found.submodule_search_locations or [])
    if not folders:
        raise RuntimeError("transitions is not installed; exo-spec needs it (pip install exo-spec)")
    core = (Path(folders[0]) / "core.py").read_text(encoding="utf-8")
    ours = (Path(__file__).resolve().parents[1] / "machine.py").read_text(encoding="utf-8")
    return core, ours


@functools.cache
def machine_names() -> dict[str, str]:
    """What a generated machine already has, each name with the class that gives it:
    ``transitions.Machine``'s names, then ``exo_spec.machine.SpecMachine``'s."""
    return _machine_names_among(None)


@functools.cache
def _machine_names_among(candidates: frozenset[str] | None) -> dict[str, str]:
    """:func:`machine_names`, reading only the sources that spell one of ``candidates`` (all
    when None). Every name :func:`class_attributes` finds is spelled out as a word of the
    source it reads, so a source that spells none of them cannot give one of them."""
    core, ours = _machine_sources()
    names: dict[str, str] = {}
    if candidates is None or not candidates.isdisjoint(_words(ours)):
        owner = "exo_spec.machine.SpecMachine"
        names.update(dict.fromkeys(class_attributes(ours, ["SpecMachine"]), owner))
    if candidates is None or not candidates.isdisjoint(_words(core)):
        names.update(dict.fromkeys(class_attributes(core, ["Machine"]), "transitions.Machine"))
    return names


@functools.cache
def _words(source: str) -> frozenset[str]:
    return frozenset(_WORD.findall(source))


@functools.cache
def binding_names() -> frozenset[str]:
    """What the generated tests' ``RecordingBindings`` already has (``guards``, ``events``, the
    event callbacks, ...), besides the guard and action methods it is rendered with."""
    return class_attributes(bindings_template_source(), ["RecordingBindings"])


def name_problems(spec: Spec) -> Iterator[Diagnostic]:
    """Names that are identifiers but would collide in the generated module or its tests.

    The names taken are read from the code (above): a task may not
    be a name the machine already has, a guard or an action not one the bindings have.
    """
    states = [f"{prefix}{s.name}" for s in spec.states for prefix in ("is_", "to_")]
    machine = _machine_names_among(frozenset([*states, *spec.tasks]))
    bindings = binding_names()

    def bad(what: str, name: str, why: str, loc: object) -> Diagnostic:
        where = loc if isinstance(loc, Loc) else spec.initial_loc
        return Diagnostic("EXS302", f"{what} {name!r} {why}; rename it", where)

    for state in spec.states:
        if not _IDENT.match(state.name) or keyword.iskeyword(state.name):
            yield bad("state", state.name, "is not an identifier", state.loc)
        elif state.name in _ENUM_NAMES:
            yield bad("state", state.name, "shadows an attribute of str or Enum", state.loc)
        elif clash := sorted({f"is_{state.name}", f"to_{state.name}"} & machine.keys()):
            why = f"gives the machine a method {clash[0]} that it already has"
            yield bad("state", state.name, why, state.loc)
    for task, loc in zip(spec.tasks, spec.task_locs, strict=True):
        if not _IDENT.match(task) or keyword.iskeyword(task):
            yield bad("task", task, "is not an identifier", loc)
        elif task in machine:
            yield bad("task", task, f"collides with an attribute of {machine[task]}", loc)
        elif task.startswith(_MACHINE_PREFIXES):
            why = f"starts with {task.split('_')[0]}_, which transitions.Machine gives a meaning"
            yield bad("task", task, why, loc)
        elif task in _ENUM_NAMES:
            yield bad("task", task, "shadows an attribute of str or Enum", loc)
    seen: dict[str, str] = {}
    for kind, name, loc in [("guard", g.name, g.loc) for g in spec.guards] + [
        ("action", a.name, a.loc) for a in spec.actions
    ]:
        if not _IDENT.match(name) or keyword.iskeyword(name):
            yield bad(kind, name, "is not an identifier", loc)
        elif name in bindings:
            why = "collides with an attribute of the bindings (and of the generated tests' ones)"
            yield bad(kind, name, why, loc)
        elif name in seen:
            yield bad(kind, name, f"is also the name of a {seen[name]} (one bindings method)", loc)
        seen.setdefault(name, kind)
