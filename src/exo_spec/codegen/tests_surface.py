"""Render ``test_<machine>_surface.py``: the generated module's public surface, from the spec.

- the public tables (``STATUS_OF``, ``TIMEOUTS``, ``FINAL_STATES``, ``GUARDS``,
  ``CONSTANT_GUARDS``, ``ACTIONS``, ``SPEC_PATH``, ``SPEC_SHA256``) and the enums, each written
  here from the spec's own declarations;
- the trigger API: for every rule, ``machine.<Task>(payload)`` does what ``dispatch`` does,
  and so for every defer and a rejection in every state; ``may_<Task>()`` for every state,
  task and guard valuation;
- transitions' introspection: every leg ``(event, source, dest)`` and each first leg's guards;
  each rule's first leg run through transitions' ``Transition.execute``;
- misuse: no auto transitions, setting the state, triggering a leg, a trigger with two
  payloads, an unknown task or event, each raising its error type and emitting nothing.
"""

from __future__ import annotations

from attrs import evolve

from exo_spec.codegen.machine_gen import TABLES
from exo_spec.codegen.source import isort_key
from exo_spec.codegen.tests_common import IMPORTS, Names, assign, finish, header, row_test
from exo_spec.codegen.tests_pyfmt import Literal
from exo_spec.model.cells import Row, Step, cell_rows, failure_message, state_allowed_rows
from exo_spec.model.plan import conjuncts, plan_rule
from exo_spec.model.step import Accepted, step
from exo_spec.model.valuations import full_valuation
from exo_spec.spec import Spec

__all__ = ["legs", "render_surface"]


def legs(spec: Spec) -> tuple[tuple[str, str, str], ...]:
    """Every leg transitions lists, ``(event, source, dest)`` (dest ``""``: internal), sorted:
    each rule's first leg under its task, and the legs taken inside it."""
    first: list[tuple[str, str, str]] = []  # one per rule, even where two rules share one
    inside: set[tuple[str, str, str]] = set()  # registered once, whichever rules take them
    for rule in spec.rules:
        plan = plan_rule(spec, rule)
        entered = plan.accept.end
        first.append((rule.task, rule.source, "" if entered == rule.source else entered))
        for phase, event in (
            (plan.success, f"_{rule.task}_done"),
            (plan.cancelled, f"_{rule.task}_cancelled"),
            (plan.failure, "_on_error"),
        ):
            if phase is not None and phase.end != entered:
                inside.add((event, entered, phase.end))
    return tuple(sorted([*first, *inside]))


def _trigger_rows(spec: Spec, rows: tuple[Row, ...]) -> dict[str, Row]:
    """The first row of every rule, every defer, and the first rejection in every state."""
    picked: list[Row] = []
    rules: set[tuple[str, int, str]] = set()
    rejected: set[str] = set()
    for row in rows:
        probe = step(spec, row.state, row.step.task, dict(row.step.guards))
        if isinstance(probe, Accepted):
            if (probe.rule.task, probe.rule.index, probe.rule.source) not in rules:
                rules.add((probe.rule.task, probe.rule.index, probe.rule.source))
                picked.append(row)
        elif row.step.expect.kind == "deferred":
            picked.append(row)
        elif row.state not in rejected:
            rejected.add(row.state)
            picked.append(row)
    return {row.id: row for row in picked}


def _first_legs(spec: Spec, rows: tuple[Row, ...]) -> dict[str, tuple[Row, int, tuple[str, ...]]]:
    """Per rule: a row it accepts, its index among the cell's legs, its guards as shown."""
    out: dict[str, tuple[Row, int, tuple[str, ...]]] = {}
    for row in rows:
        probe = step(spec, row.state, row.step.task, dict(row.step.guards))
        if not isinstance(probe, Accepted) or row.step.result != "ok":
            continue
        rule = probe.rule
        key = f"rule{rule.index + 1}-{rule.task}-{rule.source}"
        if key in out:
            continue
        index = spec.rules_for(rule.source, rule.task).index(rule)
        guards = tuple(
            f"{'' if c.target else 'not '}{c.guard or '<lambda>'}" for c in conjuncts(rule.when)
        )
        out[key] = (row, index, guards)
    return out


def _silent_rows(rows: tuple[Row, ...]) -> dict[str, tuple[str, Step]]:
    """Per action, its first failing cell, the exception without a message: the Failed
    status then names the exception's type."""
    out: dict[str, tuple[str, Step]] = {}
    for row in rows:
        calls = row.step.expect.calls
        if row.step.result != "fail" or not calls or calls[0] in out:
            continue
        said = failure_message(calls[0])
        events = tuple(
            tuple("RuntimeError" if part == said else part for part in event)
            for event in row.step.expect.events
        )
        out[calls[0]] = (row.state, evolve(row.step, expect=evolve(row.step.expect, events=events)))
    return out


def _machine_imports(machine_module: str, names: str) -> list[str]:
    """``from exo_spec.machine import Leg`` and the machine module's import, sorted by module as
    ruff sorts a section (the machine is taken to be in exo-spec's section: first-party here,
    and the project's own code elsewhere, beside exo-spec when that is first-party too)."""
    base = ("exo_spec.machine", "from exo_spec.machine import Leg\n")
    ours = (machine_module, f"from {machine_module} import (\n{names})\n")
    return [line for _, line in sorted([base, ours])]


def render_surface(spec: Spec, names: Names, helper: str, machine_module: str) -> str:
    rows = cell_rows(spec)
    state_t, task_t = names.state_enum, names.task_enum
    timed = {
        s.name: (s.timeout_s, s.stall_timeout_s)
        for s in spec.states
        if s.timeout_s is not None or s.stall_timeout_s is not None
    }
    tables: list[tuple[str, str, Literal]] = [
        ("STATES", "tuple[str, ...]", tuple(s.name for s in spec.states)),
        ("TASKS", "tuple[str, ...]", tuple(spec.tasks)),
        ("STATUS_OF", "dict[str, str]", {s.name: s.status for s in spec.states}),
        (
            "TIMEOUTS",
            "dict[str, tuple[str | None, str | None]]",
            {k: tuple(_seconds(v) for v in pair) for k, pair in timed.items()},
        ),
        ("FINAL_STATES", "tuple[str, ...]", tuple(s.name for s in spec.states if s.final)),
        ("GUARDS", "tuple[str, ...]", tuple(g.name for g in spec.guards)),
        ("CONSTANT_GUARDS", "tuple[str, ...]", tuple(spec.constant_guards())),
        ("ACTIONS", "tuple[str, ...]", tuple(a.name for a in spec.actions)),
        ("SPEC_PATH", "str", spec.path),
        ("SPEC_SHA256", "str", spec.sha256),
    ]
    triggers: dict[str, Literal] = {
        name: (names.state(row.state), names.step(row.step))
        for name, row in _trigger_rows(spec, rows).items()
    }
    may: dict[str, Literal] = {
        label: (names.state(state), names.guards(guards), tuple(names.task(t) for t in tasks))
        for label, state, guards, tasks in state_allowed_rows(spec)
    }
    for decl in spec.states:
        if not decl.accepts_tasks:
            may[decl.name] = (names.state(decl.name), names.guards(full_valuation(spec, {})), ())
    first: dict[str, Literal] = {
        key: (names.state(row.state), names.step(row.step), index, guards)
        for key, (row, index, guards) in _first_legs(spec, rows).items()
    }
    silent: dict[str, Literal] = {
        action: (names.state(state), names.step(row))
        for action, (state, row) in _silent_rows(rows).items()
    }
    leg_events = sorted({event for event, _, _ in legs(spec) if event.startswith("_")})
    out = [
        header(
            spec, f"The public surface of the {spec.machine} machine, checked against the spec."
        ),
        "import sys\nimport typing\n\n",
        IMPORTS,
        "from transitions.core import EventData, Machine, MachineError\n",
        "\n",
        "import exo_spec.machine\n",
        *_machine_imports(
            machine_module,
            "".join(
                f"    {n},\n"
                for n in sorted(
                    (*TABLES, "StateChangeError", f"{names.prefix}Machine"), key=isort_key
                )
            ),
        ),
        "\n",
        "# The spec's declarations, as the module must publish them.\n",
        "".join(assign(f"DECLARED_{name}", kind, value) for name, kind, value in tables),
        "\n",
        assign("LEGS", "tuple[tuple[str, str, str], ...]", legs(spec)),
        assign("LEG_EVENTS", "tuple[str, ...]", tuple(leg_events)),
        "\n",
        _tables_test.replace("{State}", state_t).replace("{Task}", task_t),
        "\n\n",
        assign("TRIGGERS", f"dict[str, tuple[{state_t}, Step]]", triggers),
        "\n\n",
        row_test(
            "TRIGGERS",
            "TRIGGER_PARAMS",
            "test_trigger",
            (("state", state_t), ("step", "Step")),
            _trigger_test,
        ),
        "\n\n",
        assign("MAY", f"dict[str, tuple[{state_t}, dict[str, bool], tuple[{task_t}, ...]]]", may),
        "\n\n",
        row_test(
            "MAY",
            "MAY_PARAMS",
            "test_may",
            (
                ("state", state_t),
                ("guards", "dict[str, bool]"),
                ("allowed", f"tuple[{task_t}, ...]"),
            ),
            _may_test.replace("{Task}", task_t),
        ),
        "\n\n",
        "# Per rule: a cell it accepts, its index among the cell's legs, its guard conjuncts.\n",
        assign("FIRST_LEGS", f"dict[str, tuple[{state_t}, Step, int, tuple[str, ...]]]", first),
        "\n\n",
        row_test(
            "FIRST_LEGS",
            "LEG_PARAMS",
            "test_first_leg_runs_its_rule",
            (("state", state_t), ("step", "Step"), ("index", "int"), ("guards", "tuple[str, ...]")),
            _leg_test,
        ),
        "\n\n",
        *(
            [
                "# Per action: a failure whose exception has no message names its type.\n",
                assign("SILENT_FAILURES", f"dict[str, tuple[{state_t}, Step]]", silent),
                "\n\n",
                row_test(
                    "SILENT_FAILURES",
                    "SILENT_PARAMS",
                    "test_silent_failure",
                    (("state", state_t), ("step", "Step")),
                    _silent_test,
                ),
                "\n\n",
            ]
            if silent
            else []
        ),
        _misuse_test.replace("{State}", state_t)
        .replace("{Task}", task_t)
        .replace("{Machine}", f"{names.prefix}Machine"),
    ]
    return finish(out, helper, names)


def _seconds(value: float | None) -> str | None:
    return None if value is None else repr(float(value))


_tables_test = """def test_tables_are_the_specs() -> None:
    assert [(state.name, state.value) for state in {State}] == [
        (name, name) for name in DECLARED_STATES
    ]
    assert [(task.name, task.value) for task in {Task}] == [
        (name, name) for name in DECLARED_TASKS
    ]
    assert {str(state): status for state, status in STATUS_OF.items()} == DECLARED_STATUS_OF
    assert list(STATUS_OF) == list({State})
    assert {
        str(state): tuple(None if s is None else repr(s) for s in pair)
        for state, pair in TIMEOUTS.items()
    } == DECLARED_TIMEOUTS
    assert all(isinstance(state, {State}) for state in (*TIMEOUTS, *FINAL_STATES))
    assert sorted(map(str, FINAL_STATES)) == sorted(DECLARED_FINAL_STATES)
    assert GUARDS == DECLARED_GUARDS
    assert CONSTANT_GUARDS == DECLARED_CONSTANT_GUARDS
    assert ACTIONS == DECLARED_ACTIONS
    assert SPEC_PATH == DECLARED_SPEC_PATH
    assert SPEC_SHA256 == DECLARED_SPEC_SHA256


def test_transitions_lists_every_leg() -> None:
    machine = launch(RecordingBindings())
    listed = sorted(
        (name, leg.source, leg.dest or "")
        for name, event in machine.events.items()
        for by_source in event.transitions.values()
        for leg in by_source
    )
    assert listed == list(LEGS)
    for state in {State}:
        assert machine.get_state(state.value).final is (state in FINAL_STATES)
"""

_trigger_test = """    bindings = RecordingBindings()
    machine = launch(bindings, state)
    outcome = send(machine, bindings, step.task, step.guards, step.result, trigger=True)
    assert outcome == step.expect
    if step.expect.kind == "accepted":  # the payload is optional: machine.<Task>() sends None
        bare = RecordingBindings()
        other = launch(bare, state)
        bare.guards, bare.result = dict(step.guards), step.result
        assert getattr(other, step.task.value)() is True
        assert (other.current, tuple(bare.events), tuple(bare.calls)) == (
            step.expect.state,
            step.expect.events,
            step.expect.calls,
        )
"""

_may_test = """    bindings = RecordingBindings()
    bindings.guards = dict(guards)
    machine = launch(bindings, state)
    may = {task: getattr(machine, f"may_{task.value}")() for task in {Task}}
    assert may == {task: task in allowed for task in {Task}}
    assert bindings.events == []
"""

_leg_test = """    bindings = RecordingBindings()
    machine = launch(bindings, state)
    leg = machine.get_transitions(step.task.value, state.value)[index]
    assert isinstance(leg, Leg)
    shown = [("" if guard.target else "not ") + guard.guard.__name__ for guard in leg.guards]
    assert shown == list(guards)
    bindings.guards, bindings.result, bindings.task = dict(step.guards), step.result, object()
    event = machine.events[step.task.value]
    data = EventData(machine.get_state(state.value), event, machine, machine, (bindings.task,), {})
    assert leg.enabled()
    assert leg.execute(data) is True
    assert bindings.misordered == []
    assert (machine.current, tuple(bindings.events), tuple(bindings.calls)) == (
        step.expect.state,
        step.expect.events,
        step.expect.calls,
    )
    if any("<lambda>" not in name for name in guards):
        refused = RecordingBindings()
        other = launch(refused, state)
        refused.guards = {name: not value for name, value in step.guards.items()}
        data = EventData(other.get_state(state.value), event, other, other, (object(),), {})
        assert other.get_transitions(step.task.value, state.value)[index].execute(data) is False
        assert (other.current, refused.events, refused.calls) == (state, [], [])
    with pytest.raises(MachineError, match="ran on Machine"):
        leg.execute(EventData(None, event, Machine(), None, (), {}))
"""

_silent_test = """    bindings = RecordingBindings()
    bindings.silent = True
    machine = launch(bindings, state)
    assert play(machine, bindings, step) == step.expect
"""

_misuse_test = """def test_annotations_resolve() -> None:
    \"\"\"Every annotation of the machine module and its base names real types (tools such as
    typing.get_type_hints read them at runtime).\"\"\"
    for module in (sys.modules[{Machine}.__module__], exo_spec.machine):
        assert typing.get_type_hints(module) or module is exo_spec.machine
        for owner in vars(module).values():
            if isinstance(owner, type) and owner.__module__ == module.__name__:
                for value in vars(owner).values():
                    if callable(value) and not isinstance(value, type):
                        typing.get_type_hints(value)
            elif callable(owner) and getattr(owner, "__module__", None) == module.__name__:
                typing.get_type_hints(owner)


def test_misuse_raises_and_changes_nothing() -> None:
    bindings = RecordingBindings()
    machine = launch(bindings)
    start = machine.current
    with pytest.raises(TypeError):
        {Machine}(bindings, start)  # type: ignore[call-arg]
    assert machine.auto_transitions is False
    for state in {State}:
        assert not hasattr(machine, f"to_{state.value}")
        with pytest.raises(StateChangeError) as raised:
            machine.set_state(state.value)
        assert f"set_state({state.value!r}) would change" in str(raised.value)
        assert "({Machine}.dispatch)" in str(raised.value)
        with pytest.raises(StateChangeError) as raised:
            machine.state = state
        assert f"assigning state = {state!r} would change" in str(raised.value)
        assert "({Machine}.dispatch)" in str(raised.value)
    for name in LEG_EVENTS:
        with pytest.raises(MachineError, match="taken inside a rule"):
            machine.trigger(name)
        for by_source in machine.events[name].transitions.values():
            for leg in by_source:
                assert isinstance(leg, Leg)
                with pytest.raises(MachineError, match="one leg of a rule"):
                    leg.fire(machine, None)
    for task in {Task}:
        trigger = getattr(machine, task.value)
        with pytest.raises(MachineError, match="takes one task payload"):
            trigger(object(), object())
        with pytest.raises(MachineError, match="takes one task payload"):
            trigger(task=object())
    with pytest.raises(ValueError, match="unknown task"):
        machine.dispatch("NoSuchTask", object())  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="NoSuchTask"):
        machine.task_named("NoSuchTask")
    with pytest.raises(AttributeError, match="NoSuchTask"):
        machine.trigger("NoSuchTask")
    assert machine.current == start
    assert bindings.events == list(INITIAL_EVENTS)
    assert bindings.calls == []
"""
