"""Render ``test_<machine>_nested.py``: tasks sent while an action runs.

Three tables, each computed here from :mod:`exo_spec.model` and written out literally:

- ``NESTED``: in every interruptible state, for every rule whose action runs there and each of
  its results, every task the state's cells know (accepted, deferred or rejected) arriving
  while the action runs; for a nested task that is accepted, every task arriving during its
  own action, and every task arriving after it (from the state it left the runner in);
- ``QUEUED``: in every transient state that is not interruptible, every task arriving while
  each rule's action runs there (it waits in the queue: deferred, no events);
- ``CANCEL_REFUSED``: every rule whose action the spec does not declare cancellable, its
  action returning CANCELLED (the task fails, naming the action).
"""

from __future__ import annotations

from exo_spec.codegen.tests_common import IMPORTS, Names, assign, finish, header, row_test
from exo_spec.codegen.tests_pyfmt import Call, Literal
from exo_spec.model.cells import Expect, Row, Step, cell_rows, failure_message, run_step
from exo_spec.model.nested import Dispatch, run_nested, waits
from exo_spec.model.plan import plan_rule
from exo_spec.model.step import Accepted, not_cancellable_message, step
from exo_spec.model.valuations import GuardValues
from exo_spec.spec import Rule, Spec

__all__ = ["render_nested"]

Cases = dict[str, tuple[str, Dispatch]]


def _rule(spec: Spec, state: str, task: str, guards: GuardValues) -> Rule | None:
    probe = step(spec, state, task, dict(guards))
    return probe.rule if isinstance(probe, Accepted) else None


def _dispatch(row: Row, inner: tuple[Dispatch, ...] = ()) -> Dispatch:
    return Dispatch(row.step.task, row.step.guards, row.step.result, inner)


def _arrivals(
    spec: Spec, rows: tuple[Row, ...], state: str, guards: GuardValues
) -> list[tuple[str, Dispatch]]:
    """Every task that can arrive in ``state``: its cells, or each task once elsewhere."""
    if spec.state(state).accepts_tasks:
        return [(row.id, _dispatch(row)) for row in rows if row.state == state]
    if spec.state(state).final:  # the spec says nothing of tasks in a final state
        return []
    return [(f"{state}-{task}", Dispatch(task, guards, "ok")) for task in spec.tasks]


def _host(spec: Spec, rule: Rule | None) -> str | None:
    """The state ``rule``'s action runs in, when it has one."""
    if rule is None or rule.action is None:
        return None
    return plan_rule(spec, rule).accept.end


def nested_cases(spec: Spec, rows: tuple[Row, ...]) -> Cases:
    cases: Cases = {}
    for outer in rows:
        host = _host(spec, _rule(spec, outer.state, outer.step.task, outer.step.guards))
        if host is None or not spec.state(host).interruptible:
            continue
        for aid, first in _arrivals(spec, rows, host, outer.step.guards):
            cases[f"{outer.id}/{aid}"] = (outer.state, _dispatch(outer, (first,)))
            rule = _rule(spec, host, first.task, first.guards)
            if rule is None:
                continue
            inner_host = _host(spec, rule)
            if inner_host is not None:
                for bid, then in _arrivals(spec, rows, inner_host, first.guards):
                    during = Dispatch(first.task, first.guards, first.result, (then,))
                    cases[f"{outer.id}/{aid}/during/{bid}"] = (
                        outer.state,
                        _dispatch(outer, (during,)),
                    )
            after = run_nested(spec, host, first).state
            for bid, then in _arrivals(spec, rows, after, first.guards):
                cases[f"{outer.id}/{aid}/then/{bid}"] = (
                    outer.state,
                    _dispatch(outer, (first, then)),
                )
    return cases


def queued_cases(spec: Spec, rows: tuple[Row, ...]) -> Cases:
    cases: Cases = {}
    done: set[tuple[str, int, str]] = set()
    for outer in rows:
        rule = _rule(spec, outer.state, outer.step.task, outer.step.guards)
        host = _host(spec, rule)
        if (
            rule is None
            or host is None
            or not waits(spec, host)
            or (rule.task, rule.index, rule.source) in done
        ):
            continue
        if outer.step.result != "ok":
            continue
        done.add((rule.task, rule.index, rule.source))
        for task in spec.tasks:
            waiting = Dispatch(task, outer.step.guards, "ok")
            cases[f"{outer.id}/{task}"] = (outer.state, _dispatch(outer, (waiting,)))
    return cases


def refused_cases(spec: Spec, rows: tuple[Row, ...]) -> dict[str, tuple[str, Step]]:
    """Per rule whose action is not cancellable: CANCELLED fails the task, naming the action."""
    cases: dict[str, tuple[str, Step]] = {}
    done: set[tuple[str, int, str]] = set()
    for row in rows:
        rule = _rule(spec, row.state, row.step.task, row.step.guards)
        if rule is None or rule.action is None or (rule.task, rule.index, rule.source) in done:
            continue
        if spec.action(rule.action).cancellable or row.step.result != "ok":
            continue
        done.add((rule.task, rule.index, rule.source))
        fail = run_step(spec, row.state, row.step.task, row.step.guards, "fail").expect
        said, says = failure_message(rule.action), not_cancellable_message(rule.action)
        events = tuple(tuple(says if part == said else part for part in e) for e in fail.events)
        expect = Expect("accepted", fail.state, events, fail.calls)
        label = row.id.removesuffix("-ok") + "-cancelled"
        cases[label] = (row.state, Step(row.step.task, row.step.guards, "cancelled", expect))
    return cases


def _nested_call(names: Names, dispatch: Dispatch) -> Call:
    args: list[tuple[str | None, Literal]] = [
        (None, names.task(dispatch.task)),
        (None, names.guards(dispatch.guards)),
        (None, dispatch.result),
    ]
    if dispatch.inner:
        args.append(("inner", tuple(_nested_call(names, d) for d in dispatch.inner)))
    return Call("Nested", tuple(args))


def _table(spec: Spec, names: Names, cases: Cases) -> dict[str, Literal]:
    table: dict[str, Literal] = {}
    for name, (state, dispatch) in cases.items():
        want = run_nested(spec, state, dispatch)
        expect = Expect("accepted", want.state, want.events, want.calls)
        table[name] = (
            names.state(state),
            _nested_call(names, dispatch),
            want.kinds,
            names.expect(expect),
        )
    return table


def render_nested(spec: Spec, names: Names, helper: str) -> str:
    rows = cell_rows(spec)
    state_t = names.state_enum
    annotation = f"dict[str, tuple[{state_t}, Nested, tuple[str, ...], Outcome]]"
    out = [
        header(spec, f"Tasks sent while an action of the {spec.machine} machine runs."),
        IMPORTS,
        "\n",
    ]
    params: tuple[tuple[str, str], ...] = (("state", state_t), ("outer", "Nested"))
    params += (("kinds", "tuple[str, ...]"), ("expect", "Outcome"))
    nested = row_test("NESTED", "NESTED_PARAMS", "test_nested", params, _nested_test)
    queued = row_test("QUEUED", "QUEUED_PARAMS", "test_queued", params, _queued_test)
    for name, cases, test, empty in (
        ("NESTED", nested_cases(spec, rows), nested, "no interruptible state"),
        ("QUEUED", queued_cases(spec, rows), queued, "no transient state that waits"),
    ):
        if not cases:
            out.append(f"# {name}: {empty}, nothing to test\n")
            continue
        table = assign(name, annotation, _table(spec, names, cases))
        out += [table, "\n", "\n", test, "\n\n"]
    refused: dict[str, Literal] = {
        name: (names.state(state), names.step(row))
        for name, (state, row) in refused_cases(spec, rows).items()
    }
    if refused:
        out += [
            "# Each action's CANCELLED fails its task with NotCancellableError, naming the action.\n",
            assign("CANCEL_REFUSED", f"dict[str, tuple[{state_t}, Step]]", refused),
            "\n",
            "\n",
            row_test(
                "CANCEL_REFUSED",
                "REFUSED_PARAMS",
                "test_cancel_refused",
                (("state", state_t), ("step", "Step")),
                _refused_test,
            ),
        ]
    else:
        out.append("# CANCEL_REFUSED: every action is cancellable, nothing to test\n")
    text = finish(out, helper, names)
    return text.rstrip("\n") + "\n"


_nested_test = """    bindings = RecordingBindings()
    machine = launch(bindings, state)
    assert drive(machine, bindings, outer) == (expect, kinds)
"""

_queued_test = (
    _nested_test
    + """    assert kinds[1:] == ("deferred",)
"""
)

_refused_test = """    bindings = RecordingBindings()
    machine = launch(bindings, state)
    outcome = play(machine, bindings, step)
    assert outcome == step.expect
    assert outcome.state == ON_ERROR
"""
