"""Render the exhaustive pytest suite for a spec's generated machine.

``render_tests(spec, machine_module)`` returns file name -> text for ``generated/tests/``:

- ``_<machine>_bindings.py``: recording bindings (guard values and action results set per task,
  events recorded as plain tuples) and the helpers every test uses;
- ``test_<machine>_cells.py``: every cell state x task x relevant guard values x action result,
  the tasks allowed per state, both outcomes of every guard, every defer, every on_error path;
- ``test_<machine>_pairs.py``: every pair of consecutive transitions, reached by a shortest path;
- ``test_<machine>_trace.py``: exo's trace of one runner's life, and a path to each final state;
- ``test_<machine>_walk.py``: a hypothesis walk comparing the machine with the reference ``step``;
- ``test_<machine>_nested.py``: tasks dispatched while an action runs (nested rules in an
  interruptible state, the queue of a transient one) and CANCELLED from a non-cancellable action;
- ``test_<machine>_surface.py``: the public tables, the trigger and ``may_*`` API, the legs
  transitions lists, and the errors for misuse.

Expectations are computed here, at generation time, and written out literally.
"""

from __future__ import annotations

from exo_spec.codegen.tests_common import (
    IMPORTS,
    Names,
    assign,
    class_prefix,
    finish,
    header,
    row_test,
)
from exo_spec.codegen.tests_nested import render_nested
from exo_spec.codegen.tests_pyfmt import Literal, lit
from exo_spec.codegen.tests_support import render_bindings
from exo_spec.codegen.tests_surface import render_surface
from exo_spec.codegen.tests_walk import render_walk
from exo_spec.model.cells import Row, Step, cell_rows, state_allowed_rows
from exo_spec.model.paths import Pair, exo_trace, final_paths, pairs
from exo_spec.model.valuations import valuation_text
from exo_spec.spec import Spec

__all__ = ["class_prefix", "header", "render_tests"]


def _check_module(machine_module: str) -> None:
    parts = machine_module.split(".")
    if not all(part.isidentifier() and part.isascii() for part in parts):
        raise ValueError(f"machine module {machine_module!r} is not a dotted Python name")


def render_tests(spec: Spec, machine_module: str, module_root: str | None = None) -> dict[str, str]:
    """The generated test files for ``spec``, whose machine is importable as ``machine_module``
    (from ``module_root``, relative to the tests' folder, when it is not installed)."""
    _check_module(machine_module)
    names = Names(spec)
    helper = f"_{spec.machine}_bindings"
    return {
        f"{helper}.py": render_bindings(spec, machine_module, names.prefix, header, module_root),
        f"test_{spec.machine}_cells.py": _render_cells(spec, names, helper),
        f"test_{spec.machine}_pairs.py": _render_pairs(spec, names, helper),
        f"test_{spec.machine}_trace.py": _render_trace(spec, names, helper),
        f"test_{spec.machine}_walk.py": render_walk(spec, names.prefix, helper, header),
        f"test_{spec.machine}_nested.py": render_nested(spec, names, helper),
        f"test_{spec.machine}_surface.py": render_surface(spec, names, helper, machine_module),
    }


def _render_cells(spec: Spec, names: Names, helper: str) -> str:
    rows = cell_rows(spec)
    state_t, task_t = names.state_enum, names.task_enum
    cells: dict[str, Literal] = {
        row.id: (names.state(row.state), names.step(row.step)) for row in rows
    }
    allowed: dict[str, Literal] = {
        label: (names.state(state), names.guards(guards), tuple(names.task(t) for t in tasks))
        for label, state, guards, tasks in state_allowed_rows(spec)
    }
    deciding = _guard_outcomes(spec, rows)
    deferred = tuple(row.id for row in rows if row.step.expect.kind == "deferred")
    on_error = _on_error_rows(spec, rows)
    lonely = [g.name for g in spec.guards if g.name not in deciding]
    out = [
        header(spec, f"Every cell of the {spec.machine} machine: state x task x guards x result."),
        IMPORTS,
        "\n",
        assign("CELLS", f"dict[str, tuple[{state_t}, Step]]", cells),
        "\n",
        "\n",
        row_test(
            "CELLS", "CELL_PARAMS", "test_cell", (("state", state_t), ("step", "Step")), _cell_test
        ),
        "\n",
        "\n",
        assign(
            "ALLOWED",
            f"dict[str, tuple[{state_t}, dict[str, bool], tuple[{task_t}, ...]]]",
            allowed,
        ),
        "\n",
        "\n",
        row_test(
            "ALLOWED",
            "ALLOWED_PARAMS",
            "test_allowed",
            (
                ("state", state_t),
                ("guards", "dict[str, bool]"),
                ("allowed", f"tuple[{task_t}, ...]"),
            ),
            _allowed_test,
        ),
        "\n",
        "\n",
    ]
    if lonely:
        out.append(f"# Guards that decide no cell: {', '.join(lonely)}\n")
    tables: list[tuple[str, str, Literal, str, str]] = [
        (
            "GUARD_OUTCOMES",
            "dict[str, tuple[str, str]]",
            deciding,
            _guard_test,
            "no guard decides a cell",
        ),
        ("DEFERRED", "tuple[str, ...]", deferred, _defer_test, "no deferred cells"),
        ("ON_ERROR_PATHS", "dict[str, str]", on_error, _on_error_test, "no actions"),
    ]
    for name, annotation, table, test, empty in tables:
        if not table:
            out.append(f"# {name}: {empty}, nothing to test\n")
            continue
        out += [assign(name, annotation, table), "\n", "\n", test, "\n", "\n"]
    out[-2:] = [] if out[-1] == "\n" else out[-2:]
    return finish(out, helper, names)


_cell_test = """    bindings = RecordingBindings()
    machine = launch(bindings, state)
    assert play(machine, bindings, step) == step.expect
"""

_allowed_test = """    bindings = RecordingBindings()
    bindings.guards = dict(guards)
    machine = launch(bindings, state)
    assert machine.allowed() == allowed
"""

_guard_test = """@pytest.mark.parametrize("guard", list(GUARD_OUTCOMES))
def test_guard_decides_a_cell(guard: str) -> None:
    outcomes = []
    for name, value in zip(GUARD_OUTCOMES[guard], (True, False), strict=True):
        state, step = CELLS[name]
        assert step.guards[guard] is value
        bindings = RecordingBindings()
        machine = launch(bindings, state)
        outcome = play(machine, bindings, step)
        assert outcome == step.expect
        outcomes.append(outcome)
    when_true, when_false = (CELLS[name][1] for name in GUARD_OUTCOMES[guard])
    assert {**when_true.guards, guard: False} == when_false.guards
    assert outcomes[0] != outcomes[1]
"""

_defer_test = """@pytest.mark.parametrize("name", DEFERRED)
def test_defer(name: str) -> None:
    state, step = CELLS[name]
    bindings = RecordingBindings()
    machine = launch(bindings, state)
    assert play(machine, bindings, step) == deferred(state)
"""

_on_error_test = """@pytest.mark.parametrize("action", list(ON_ERROR_PATHS))
def test_on_error(action: str) -> None:
    state, step = CELLS[ON_ERROR_PATHS[action]]
    assert step.result == "fail"
    bindings = RecordingBindings()
    machine = launch(bindings, state)
    outcome = play(machine, bindings, step)
    assert outcome == step.expect
    assert outcome.state == ON_ERROR
    assert outcome.calls == (action,)
"""


def _guard_outcomes(spec: Spec, rows: tuple[Row, ...]) -> dict[str, Literal]:
    """Per guard, a row where it is true and one where it is false that differ in outcome."""
    found: dict[str, Literal] = {}
    for guard in spec.guards:
        for when_true in rows:
            values = dict(when_true.step.guards)
            if guard.name not in when_true.shown or not values[guard.name]:
                continue
            flipped = tuple((n, False if n == guard.name else v) for n, v in when_true.step.guards)
            for when_false in rows:
                same_cell = (when_false.state, when_false.step.task, when_false.step.result) == (
                    when_true.state,
                    when_true.step.task,
                    when_true.step.result,
                )
                if (
                    same_cell
                    and when_false.step.guards == flipped
                    and _differ(when_true, when_false)
                ):
                    found[guard.name] = (when_true.id, when_false.id)
                    break
            if guard.name in found:
                break
    return found


def _differ(one: Row, two: Row) -> bool:
    a, b = one.step.expect, two.step.expect
    return (a.kind, a.state) != (b.kind, b.state)


def _on_error_rows(spec: Spec, rows: tuple[Row, ...]) -> dict[str, Literal]:
    """Per action, the first cell row where it fails (and so moves to ``on_error``)."""
    found: dict[str, Literal] = {}
    for row in rows:
        if row.step.result == "fail" and row.step.expect.calls:
            found.setdefault(row.step.expect.calls[0], row.id)
    return {a.name: found[a.name] for a in spec.actions if a.name in found}


def _render_pairs(spec: Spec, names: Names, helper: str) -> str:
    found, infeasible = pairs(spec)
    state_t = names.state_enum
    paths: dict[str, Literal] = {}
    table: dict[str, Literal] = {}
    for pair in found:
        paths.setdefault(pair.path_key, _path_entry(spec, names, pair))
        table[pair.id] = (pair.path_key, names.step(pair.first), names.step(pair.second))
    out = [
        header(spec, f"Every pair of consecutive transitions of the {spec.machine} machine."),
        IMPORTS,
        "\n",
        "# Shortest task paths from the initial state (None: the machine is created in the state),\n",
        "# with the constant guards held fixed along the path.\n",
        assign("PATHS", f"dict[str, tuple[{state_t} | None, tuple[Step, ...]]]", paths),
        "\n",
    ]
    if infeasible:
        out.append("# Pairs no guard values can drive: " + ", ".join(infeasible) + "\n")
    out += [
        assign("PAIRS", "dict[str, tuple[str, Step, Step]]", table),
        "\n",
        "\n",
        row_test(
            "PAIRS",
            "PAIR_PARAMS",
            "test_pair",
            (("path", "str"), ("first", "Step"), ("second", "Step")),
            _pair_test,
        ),
    ]
    return finish(out, helper, names)


def _path_entry(spec: Spec, names: Names, pair: Pair) -> Literal:
    start: Literal = None if pair.start == spec.initial else names.state(pair.start)
    return (start, tuple(names.step(step) for step in pair.path))


_pair_test = """    start, steps = PATHS[path]
    bindings = RecordingBindings()
    machine = launch(bindings, start)
    assert bindings.events == ([] if start else list(INITIAL_EVENTS))
    for index, step in enumerate(steps):
        assert play(machine, bindings, step) == step.expect, f"step {index + 1} of the path"
    assert play(machine, bindings, first) == first.expect
    assert play(machine, bindings, second) == second.expect
"""


def _render_trace(spec: Spec, names: Names, helper: str) -> str:
    state_t = names.state_enum
    out = [
        header(spec, f"Golden traces of the {spec.machine} machine, events written out in order."),
        IMPORTS,
        "\n",
    ]
    trace = exo_trace(spec)
    if trace is not None:
        constants, path = trace
        flags = valuation_text(constants)
        steps = tuple((names.task(s.task), names.guards(s.guards)) for s in path)
        out += [
            f"# One runner's life as exo asserts it ({flags or 'no constant guards'}).\n",
            assign("EXO_STEPS", f"tuple[tuple[{names.task_enum}, dict[str, bool]], ...]", steps),
            "\n",
            _event_listing(spec, names, path),
            "\n",
            "\n",
            _exo_test.format(final=names.state(path[-1].expect.state).text),
            "\n",
            "\n",
        ]
    finals: dict[str, Literal] = {}
    for final, constants, path in final_paths(spec):
        flags = ",".join(f"{n}={int(v)}" for n, v in constants)
        final_steps = tuple(names.step(s) for s in path)
        finals[final + (f"/{flags}" if flags else "")] = (names.state(final), final_steps)
    if not finals:
        out.append("# FINAL_PATHS: no final state is reachable\n")
        out[-2:-1] = [] if out[-2] == "\n" else out[-2:-1]
    else:
        out += [
            assign("FINAL_PATHS", f"dict[str, tuple[{state_t}, tuple[Step, ...]]]", finals),
            "\n",
            "\n",
            _final_test.replace("{Task}", names.task_enum),
        ]
    return finish(out, helper, names)


def _event_listing(spec: Spec, names: Names, path: tuple[Step, ...]) -> str:
    lines = ["EXO_EVENTS: tuple[Event, ...] = (\n", "    # the runner starts\n"]
    initial = ("runner_status", spec.initial, None)
    lines.append(f"    {lit(names.events([initial])[0], 1)},\n")
    for step in path:
        lines.append(f"    # {step.task}\n")
        lines += [f"    {lit(event, 1)},\n" for event in names.events(step.expect.events)]
    lines.append(")\n")
    return "".join(lines)


_exo_test = """def test_exo_trace() -> None:
    bindings = RecordingBindings()
    machine = launch(bindings)
    trace = list(bindings.events)
    for task, guards in EXO_STEPS:
        outcome = send(machine, bindings, task, guards, "ok")
        assert outcome.kind == "accepted", outcome
        trace.extend(outcome.events)
    assert tuple(trace) == EXO_EVENTS
    assert machine.current == {final}
"""

_final_test = """@pytest.mark.parametrize("final", list(FINAL_PATHS))
def test_path_to_final_state(final: str) -> None:
    bindings = RecordingBindings()
    machine = launch(bindings)
    assert tuple(bindings.events) == INITIAL_EVENTS
    state, steps = FINAL_PATHS[final]
    for step in steps:
        assert play(machine, bindings, step) == step.expect
    assert machine.current == state
    assert machine.allowed() == ()
    for task in {Task}:
        outcome = send(machine, bindings, task, steps[-1].guards, "ok")
        assert (outcome.kind, outcome.state, outcome.allowed) == ("rejected", state, ())
        assert outcome.message is not None
        assert outcome.message.endswith("allowed here: none")
"""
