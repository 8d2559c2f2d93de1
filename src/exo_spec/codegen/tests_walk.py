"""Render the hypothesis walk: the generated machine and the reference ``step`` side by side.

Unlike the other generated tests, the walk computes its expectations at test time: it loads
the spec from the path in the header and compares every random task, action result and
dynamic guard value with ``exo_spec.model.step`` (constant guards are drawn once per run).
"""

from __future__ import annotations

from collections.abc import Callable

from exo_spec.codegen.source import py_str
from exo_spec.codegen.tests_pyfmt import lit
from exo_spec.spec import Spec, valid_name

__all__ = ["render_walk"]


def render_walk(spec: Spec, prefix: str, helper: str, header: Callable[[Spec, str], str]) -> str:
    """The ``test_<machine>_walk.py`` module for ``spec``."""
    for name in (spec.initial, *(s.name for s in spec.cell_states())):
        if not valid_name(name):
            raise ValueError(f"{name!r} is not a valid identifier for generated code")
    state_t, task_t = f"{prefix}State", f"{prefix}Task"
    starts = tuple(dict.fromkeys((spec.initial, *(s.name for s in spec.cell_states()))))
    start_list = lit(tuple(f"{state_t}.{name}" for name in starts), 0, len("START_STATES = "), 0)
    start_list = start_list.replace('"', "")
    constants = lit(spec.constant_guards(), 0, len("CONSTANT_GUARDS: tuple[str, ...] = "), 0)
    dynamic = lit(spec.dynamic_guards(), 0, len("DYNAMIC_GUARDS: tuple[str, ...] = "), 0)
    imports = [
        "Outcome",
        "RecordingBindings",
        "Result",
        f"{prefix}Machine",
        state_t,
        task_t,
    ]
    imports = [*sorted(imports), "send"]
    text = (
        _TEMPLATE.replace("{helper}", helper)
        .replace("{imports}", "".join(f"    {name},\n" for name in imports))
        .replace("{spec_path}", py_str(spec.path))
        .replace("{sha256}", py_str(spec.sha256))
        .replace("{constants}", constants)
        .replace("{dynamic}", dynamic)
        .replace("{starts}", start_list)
        .replace("{State}", state_t)
        .replace("{Task}", task_t)
        .replace("{Walk}", f"{prefix}Walk")
        .replace("{Machine}", f"{prefix}Machine")
    )
    return (
        header(spec, f"A random walk of the {spec.machine} machine checked against step().") + text
    )


_TEMPLATE = '''from functools import cache
from pathlib import Path

import pytest
from {helper} import (
{imports})
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, precondition, rule

from exo_spec.model import Accepted, step
from exo_spec.model.cells import Expect, run_step
from exo_spec.spec import Spec, load_spec

SPEC_PATH = {spec_path}
SPEC_SHA256 = {sha256}
CONSTANT_GUARDS: tuple[str, ...] = {constants}
DYNAMIC_GUARDS: tuple[str, ...] = {dynamic}
START_STATES = {starts}
RESULTS: tuple[Result, ...] = ("ok", "fail", "cancelled")


def find_spec() -> Path | None:
    """The spec, relative to the working directory or to a folder above this file."""
    path = Path(SPEC_PATH)
    if path.is_absolute():
        return path if path.is_file() else None
    for base in (Path.cwd(), *Path(__file__).resolve().parents):
        if (base / path).is_file():
            return base / path
    return None


@cache
def reference() -> Spec:
    found = find_spec()
    assert found is not None
    loaded = load_spec(found)
    assert loaded.spec is not None, loaded.diagnostics
    assert loaded.spec.sha256 == SPEC_SHA256, f"{found} changed: run exo-spec generate"
    return loaded.spec


def expected(want: Expect) -> Outcome:
    """The reference expectation in the machine's enums."""
    allowed = tuple({Task}(task) for task in want.allowed)
    return Outcome(want.kind, {State}(want.state), want.events, want.calls, want.message, allowed)


class {Walk}(RuleBasedStateMachine):
    """Random tasks, action results and dynamic guard values; the machine must agree with step()."""

    def __init__(self) -> None:
        super().__init__()
        self.spec = reference()
        self.bindings = RecordingBindings()
        self.machine = {Machine}(self.bindings, emit_initial=False)
        self.current = self.spec.initial
        self.constants: dict[str, bool] = {}

    @initialize(
        start=st.sampled_from(START_STATES),
        constants=st.fixed_dictionaries({name: st.booleans() for name in CONSTANT_GUARDS}),
    )
    def begin(self, start: {State}, constants: dict[str, bool]) -> None:
        self.bindings.events = []
        self.machine = {Machine}(self.bindings, initial=start)
        assert self.bindings.events == [("runner_status", str(start), None)]
        self.bindings.watch(self.machine)
        self.current = str(start)
        self.constants = constants

    @precondition(lambda self: self.spec.state(self.current).accepts_tasks)
    @rule(
        task=st.sampled_from(list({Task})),
        result=st.sampled_from(RESULTS),
        dynamic=st.fixed_dictionaries({name: st.booleans() for name in DYNAMIC_GUARDS}),
    )
    def send_task(self, task: {Task}, result: Result, dynamic: dict[str, bool]) -> None:
        guards = {**self.constants, **dynamic}
        probe = step(self.spec, self.current, str(task), guards)
        if isinstance(probe, Accepted):
            action = probe.rule.action
            if action is None or (
                result == "cancelled" and not self.spec.action(action).cancellable
            ):
                result = "ok"
        want = run_step(self.spec, self.current, str(task), tuple(guards.items()), result).expect
        outcome = send(self.machine, self.bindings, task, guards, result)
        assert outcome == expected(want)
        self.current = str(outcome.state)

    @rule(dynamic=st.fixed_dictionaries({name: st.booleans() for name in DYNAMIC_GUARDS}))
    def observe(self, dynamic: dict[str, bool]) -> None:
        self.bindings.guards = {**self.constants, **dynamic}
        assert self.machine.current == self.current
        if self.spec.state(self.current).accepts_tasks:
            allowed = [
                task
                for task in self.spec.tasks
                if isinstance(step(self.spec, self.current, task, self.bindings.guards), Accepted)
            ]
            assert list(self.machine.allowed()) == allowed


pytestmark = pytest.mark.skipif(find_spec() is None, reason=f"spec {SPEC_PATH} not found")

{Walk}.TestCase.settings = settings(
    max_examples=200,
    stateful_step_count=30,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
Test{Walk} = {Walk}.TestCase
'''
