"""EXS302 knows every name the generated machine and its generated tests already use.

The reserved names are read from code (:mod:`exo_spec.codegen.reserved`); these tests check
that reading against the real classes, that ``exo-spec check`` refuses each reserved name in
the role it would break, and (a property) that any name ``check`` accepts generates a machine
whose generated tests pass.
"""

from __future__ import annotations

import importlib.util
import itertools
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from exo_spec.check import lint
from exo_spec.cli import main
from exo_spec.codegen import generate
from exo_spec.codegen.reserved import binding_names, machine_names, name_problems
from exo_spec.spec import load_spec, valid_name

ROOT = Path(__file__).resolve().parents[2]

TEMPLATE = """\
version: 1
machine: {machine}
initial: {state}
guards:
  {guard}: {{doc: a guard}}
actions:
  {action}: {{doc: an action, cancellable: true}}
states:
  {state}: {{status: Waiting}}
  busy: {{status: Busy, transient: true, timeout_s: 5}}
  broken: {{status: Broken}}
  done: {{status: Done, final: true}}
  other: {{status: Other}}
tasks:
  {task}:
    - {{from: {state}, when: {guard}, via: busy, do: {action}, to: {state}}}
    - {{from: {state}, when: not {guard}, to: other}}
  Back:
    - {{from: other, to: {state}}}
  Fix:
    - {{from: broken, to: {state}}}
  Stop:
    - {{from: "*", to: done}}
on_error: broken
events:
  accept: [TaskStatusUpdated(Running), RunnerStatusUpdated(via), TaskAcknowledged]
  success: [TaskStatusUpdated(Complete), RunnerStatusUpdated(to)]
  cancelled: [TaskStatusUpdated(Cancelled), RunnerStatusUpdated(to)]
  failure: [TaskStatusUpdated(Failed), RunnerStatusUpdated(on_error)]
  reject: [TaskStatusUpdated(Failed)]
"""
DEFAULTS = {"machine": "m", "state": "waiting", "guard": "ready", "action": "act", "task": "Run"}
FIXED = {"busy", "broken", "done", "other", "Back", "Fix", "Stop"}


def _write(path: Path, **names: str) -> Path:
    path.write_text(TEMPLATE.format(**{**DEFAULTS, **names}), encoding="utf-8")
    return path


def _check_codes(path: Path) -> set[str]:
    """The codes ``exo-spec check`` reports: the linter's and the generated names' (EXS302)."""
    codes = {d.code for d in lint(path)}
    loaded = load_spec(path)
    if loaded.spec is not None:
        codes |= {d.code for d in name_problems(loaded.spec)}
    return codes


def test_the_template_passes_check_and_generates(tmp_path: Path) -> None:
    assert _check_codes(_write(tmp_path / "m.yaml")) == set()


def _public(names: object) -> list[str]:
    return sorted(n for n in names if valid_name(n))  # type: ignore[attr-defined]


@pytest.mark.parametrize("name", ["task", "calls", "events", "guards", "result"])
@pytest.mark.parametrize("role", ["guard", "action"])
def test_the_test_bindings_attributes_are_refused(tmp_path: Path, role: str, name: str) -> None:
    path = _write(tmp_path / "m.yaml", **{role: name})
    assert main(["check", str(path)]) == 1
    assert "EXS302" in _check_codes(path)


@pytest.mark.parametrize("name", _public(binding_names()))
@pytest.mark.parametrize("role", ["guard", "action"])
def test_every_bindings_name_is_refused_for_guards_and_actions(
    tmp_path: Path, role: str, name: str
) -> None:
    assert "EXS302" in _check_codes(_write(tmp_path / "m.yaml", **{role: name}))


@pytest.mark.parametrize("name", _public(machine_names()))
def test_every_machine_name_is_refused_for_tasks(tmp_path: Path, name: str) -> None:
    assert "EXS302" in _check_codes(_write(tmp_path / "m.yaml", task=name))


def test_the_names_read_from_source_cover_the_real_classes() -> None:
    from exo_spec.generated.runner_machine import RunnerMachine

    path = ROOT / "generated" / "tests" / "_runner_bindings.py"
    spec = importlib.util.spec_from_file_location("_runner_bindings_for_names", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[spec.name]
    bindings = module.RecordingBindings()
    runner = load_spec(ROOT / "spec" / "runner.yaml").spec
    assert runner is not None
    spec_names = {g.name for g in runner.guards} | {a.name for a in runner.actions}
    assert set(_public(dir(bindings))) - spec_names <= binding_names()
    machine = RunnerMachine(bindings, emit_initial=False)
    added = set(runner.tasks) | {f"{p}{s.name}" for s in runner.states for p in ("is_", "to_")}
    added |= {f"may_{t}" for t in runner.tasks}
    assert set(_public(dir(machine))) - added <= set(machine_names())


_FRESH = st.from_regex(r"[a-z][a-z0-9_]{0,6}", fullmatch=True)
# reserved names (each refused in some role, free in others) a quarter of the time
NAME = st.one_of(
    st.sampled_from(sorted({*binding_names(), *machine_names(), "name", "value", "count"})),
    _FRESH,
    _FRESH,
    _FRESH,
)


def test_any_names_check_accepts_generate_tests_that_pass(tmp_path: Path) -> None:
    out = tmp_path / "out"
    counter = itertools.count()
    accepted: list[dict[str, str]] = []

    @settings(
        max_examples=12,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.filter_too_much],
    )
    @given(state=NAME, guard=NAME, action=NAME, task=NAME)
    @example(state="current", guard="dispatch", action="trigger", task="tasks")
    @example(state="value", guard="name", action="states", task="runner_status")
    def one(state: str, guard: str, action: str, task: str) -> None:
        names = {"state": state, "guard": guard, "action": action, "task": task}
        if len(set(names.values())) < len(names) or FIXED & set(names.values()):
            return
        machine = f"m{next(counter)}"  # each example its own module in one package
        path = _write(tmp_path / f"{machine}.yaml", machine=machine, **names)
        if _check_codes(path):
            return
        result = generate(path, out)
        assert result.ok, (names, result.diagnostics)
        accepted.append(names)

    one()
    assert accepted, "no example passed check"
    env = {**os.environ, "PYTHONPATH": str(out), "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
        cwd=out,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, f"{accepted}\n{done.stdout[-4000:]}"
