"""Plan the suite's scenarios: every path of a spec the model enumerates, as task sequences.

Cells (state x task x guard valuation x action result), pairs of consecutive transitions and
exo's lifecycle trace come from :mod:`exo_spec.model` (the same plan the generated tests
are written from); the runner always starts
in the initial state, so each is preceded by the shortest task path to its state. Three
families are derived systematically from the spec, so that no bug depends on a lucky walk:

- ``valuation``: every cell again under every other value of the constant guards it does not
  show (``has_group`` true and false in every state it can be reached in, ``failed`` included);
- ``interrupt``: for every interruptible state, every ordered sequence of up to
  :data:`MAX_ARRIVALS` tasks arriving while its action runs, drawn from the tasks it defers or
  accepts (a ``CancelTask`` naming the running task or any task queued before it);
- ``after-final``: for every final state, every task arriving after it.

Deferral, cancellation and slow-engine scenarios are added by hand. A cell whose state no
runner can reach with its constant guards (``connected`` without a group) is skipped and counted.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

from attrs import frozen

from exo_spec.conformance.scenario import (
    CANCEL_TASK,
    DRIVEN_GUARDS,
    Scenario,
    ScenarioError,
    Send,
)
from exo_spec.model.cells import Step, cell_rows
from exo_spec.model.paths import exo_trace, pairs, shortest_path
from exo_spec.spec import Spec

__all__ = ["MAX_ARRIVALS", "Plan", "plan_scenarios"]

MAX_ARRIVALS = 3
"""The longest sequence of tasks the ``interrupt`` family sends during one action."""


@frozen
class Plan:
    """The scenarios for a spec, and the labels of the generated paths no runner can reach."""

    scenarios: tuple[Scenario, ...]
    unreachable: tuple[str, ...]

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for scenario in self.scenarios:
            out[scenario.kind] = out.get(scenario.kind, 0) + 1
        return out


class _Ids:
    def __init__(self) -> None:
        self._next = itertools.count(1)

    def __call__(self) -> str:
        return f"t{next(self._next)}"


def _send(step: Step, ids: _Ids, during: tuple[Send, ...] = ()) -> Send:
    guards = dict(step.guards)
    task_id = ids()
    if step.result == "cancelled":
        during = (*during, Send(ids(), "CancelTask", target=task_id))
    return Send(
        task_id,
        step.task,
        weights=guards.get("weights_present", True),
        result="fail" if step.result == "fail" else "ok",
        during=during,
    )


def _host(spec: Spec, state: str) -> str | None:
    """The resting state a rule leaves through ``state`` (ready, for running)."""
    return next((r.source for r in spec.rules if r.via == state), None)


def _prefix(spec: Spec, state: str, has_group: bool, ids: _Ids) -> tuple[list[Send], str] | None:
    """Sends from the initial state to ``state`` (for an interruptible state, to its host)."""
    decl = spec.state(state)
    goal = state if not decl.transient else _host(spec, state)
    if goal is None:
        return None
    constants = {g: has_group for g in spec.constant_guards()}
    path = shortest_path(spec, goal, constants)
    if path is None:
        return None
    return [_send(step, ids) for step in path], goal


def _in_state(
    spec: Spec, state: str, has_group: bool, ids: _Ids, steps: tuple[Step, ...]
) -> tuple[Send, ...] | None:
    """``steps`` sent in ``state``: directly, or during a host task's action for running."""
    found = _prefix(spec, state, has_group, ids)
    if found is None:
        return None
    sends, goal = found
    if goal == state:
        return (*sends, *(_send(step, ids) for step in steps))
    host_rule = next(r for r in spec.rules if r.via == state)
    host_id = ids()
    during = tuple(
        Send(ids(), s.task, target=host_id if s.task == "CancelTask" else None) for s in steps
    )
    return (*sends, Send(host_id, host_rule.task, during=during))


def _has_group(guards: tuple[tuple[str, bool], ...]) -> bool:
    return dict(guards).get("has_group", False)


def _cells(spec: Spec, unreachable: list[str]) -> Iterator[Scenario]:
    """Every cell once (``cell``), then under the constant guards' other value (``valuation``)."""
    for row in cell_rows(spec):
        wanted = _has_group(row.step.guards)
        choices = (wanted,) if "has_group" in row.shown else (wanted, not wanted)
        first = True
        for has_group in choices:
            ids = _Ids()
            sends = _in_state(spec, row.state, has_group, ids, (row.step,))
            if sends is None:
                continue
            if first:
                yield Scenario(f"cell[{row.id}]", "cell", has_group, sends)
                first = False
            else:
                flag = int(has_group)
                yield Scenario(
                    f"valuation[{row.id}@has_group={flag}]", "valuation", has_group, sends
                )
        if first:
            unreachable.append(f"cell[{row.id}]")


def _arrivals(spec: Spec, state: str) -> tuple[str, ...]:
    """The tasks worth sending while ``state``'s action runs: deferred or accepted there."""
    return tuple(
        t
        for t in spec.tasks
        if spec.deferred(state, t) or any(r.task == t and r.source == state for r in spec.rules)
    )


def _sequences(tasks: tuple[str, ...], length: int) -> Iterator[tuple[tuple[str, int], ...]]:
    """Ordered arrivals as ``(task, target)``: a ``CancelTask`` names the running task (0) or
    the k-th task queued before it (k); other tasks have target -1."""

    def grow(prefix: tuple[tuple[str, int], ...]) -> Iterator[tuple[tuple[str, int], ...]]:
        if prefix:
            yield prefix
        if len(prefix) == length:
            return
        queued = sum(1 for task, _ in prefix if task != CANCEL_TASK)
        for task in tasks:
            targets = range(queued + 1) if task == CANCEL_TASK else (-1,)
            for target in targets:
                yield from grow((*prefix, (task, target)))

    yield from grow(())


def _interrupts(spec: Spec) -> Iterator[Scenario]:
    """Every ordered sequence of up to :data:`MAX_ARRIVALS` arrivals in every interruptible
    state, then a ``Shutdown`` (unless one arrived) so the state the runner rests in shows."""
    for decl in spec.states:
        host_rule = next((r for r in spec.rules if r.via == decl.name), None)
        if not decl.interruptible or host_rule is None:
            continue
        for has_group in (False, True):
            if _prefix(spec, decl.name, has_group, _Ids()) is not None:
                break
        else:
            continue
        for sequence in _sequences(_arrivals(spec, decl.name), MAX_ARRIVALS):
            ids = _Ids()
            found = _prefix(spec, decl.name, has_group, ids)
            assert found is not None
            host = ids()
            during: list[Send] = []
            queued: list[str] = []
            names: list[str] = []
            for task, target in sequence:
                task_id = ids()
                if task == CANCEL_TASK:
                    aim = host if target == 0 else queued[target - 1]
                    during.append(Send(task_id, task, target=aim))
                    names.append(f"{task}->" + ("running" if target == 0 else f"queued{target}"))
                else:
                    queued.append(task_id)
                    during.append(Send(task_id, task))
                    names.append(task)
            sends = [*found[0], Send(host, host_rule.task, during=tuple(during))]
            if "Shutdown" in spec.tasks and all(t != "Shutdown" for t, _ in sequence):
                sends.append(Send(ids(), "Shutdown"))
            name = f"interrupt[{decl.name}: {', '.join(names)}]"
            yield Scenario(name, "interrupt", has_group, tuple(sends))


def _after_final(spec: Spec, unreachable: list[str]) -> Iterator[Scenario]:
    """Every task arriving after every final state, under each constant guards' value."""
    for decl in spec.states:
        if not decl.final:
            continue
        for has_group in (False, True):
            for task in spec.tasks:
                ids = _Ids()
                found = _prefix(spec, decl.name, has_group, ids)
                name = f"after-final[{decl.name}-{task}@has_group={int(has_group)}]"
                if found is None:
                    unreachable.append(name)
                    continue
                target = "t1" if task == CANCEL_TASK else None
                sends = (*found[0], Send(ids(), task, target=target))
                yield Scenario(name, "after-final", has_group, sends)


def _pairs(spec: Spec, unreachable: list[str]) -> Iterator[Scenario]:
    found, infeasible = pairs(spec)
    unreachable.extend(f"pair[{label}]" for label in infeasible)
    for pair in found:
        ids = _Ids()
        has_group = _has_group(pair.constants)
        if pair.start == spec.initial:
            sends: tuple[Send, ...] | None = tuple(
                _send(step, ids) for step in (*pair.path, pair.first, pair.second)
            )
        else:
            sends = _in_state(spec, pair.start, has_group, ids, (pair.first, pair.second))
        if sends is None:
            unreachable.append(f"pair[{pair.id}]")
            continue
        yield Scenario(f"pair[{pair.id}]", "pair", has_group, sends)


def _trace(spec: Spec) -> Iterator[Scenario]:
    found = exo_trace(spec)
    if found is not None:
        constants, path = found
        ids = _Ids()
        yield Scenario(
            "trace[exo-lifecycle]",
            "trace",
            _has_group(constants),
            tuple(_send(s, ids) for s in path),
        )


def _ready_path(spec: Spec, ids: _Ids) -> list[Send] | None:
    found = _prefix(spec, "ready", False, ids) if spec.has_state("ready") else None
    return found[0] if found is not None and found[1] == "ready" else None


def _extras(spec: Spec) -> Iterator[Scenario]:
    """Deferral, cancellation and a slow engine: the paths through the interruptible state."""
    needed = {"ChatCompletion", "CancelTask", "Shutdown"}
    if not needed <= set(spec.tasks):
        return
    shapes: dict[str, tuple[str, list[tuple[str, str | None]], bool]] = {
        # id: (kind, tasks during the first chat as (task, cancel target), then Shutdown)
        "defer[chat-during-chat]": ("defer", [("ChatCompletion", None)], True),
        "defer[shutdown-during-chat]": (
            "defer",
            [("Shutdown", None), ("ChatCompletion", None)],
            False,
        ),
        "defer[cancel-queued-chat]": (
            "defer",
            [("ChatCompletion", None), ("CancelTask", "queued")],
            True,
        ),
        # a queued Shutdown is not cancellable: the CancelTask completes, the Shutdown still runs
        "defer[cancel-queued-shutdown]": (
            "defer",
            [("Shutdown", None), ("CancelTask", "queued")],
            False,
        ),
        "defer[rejected-during-chat]": ("defer", [("StartWarmup", None)], True),
        "cancel[running-chat]": ("cancel", [("CancelTask", "host")], True),
        "cancel[unknown-task]": ("cancel", [("CancelTask", "nobody")], True),
        "cancel[twice]": ("cancel", [("CancelTask", "host"), ("CancelTask", "host")], True),
    }
    for name, (kind, during_tasks, shutdown) in shapes.items():
        ids = _Ids()
        path = _ready_path(spec, ids)
        if path is None:
            return
        host = ids()
        during: list[Send] = []
        queued: str | None = None
        for task, target in during_tasks:
            task_id = ids()
            if task != "CancelTask":
                queued = task_id
            resolved = {"host": host, "queued": queued, "nobody": "t999"}.get(target or "")
            during.append(Send(task_id, task, target=resolved))
        sends = [*path, Send(host, "ChatCompletion", during=tuple(during))]
        if shutdown:
            sends.append(Send(ids(), "Shutdown"))
        yield Scenario(name, kind, False, tuple(sends))
    ids = _Ids()
    path = _ready_path(spec, ids)
    if path is not None:
        slow = (*path, Send(ids(), "ChatCompletion"), Send(ids(), "Shutdown"))
        yield Scenario("slow[engine]", "slow", False, slow, (("load", 0.01), ("generate", 0.01)))
    ids = _Ids()
    ready = _ready_path(spec, ids)
    if ready is not None:
        rejected = (*ready, Send(ids(), "CancelTask", target="t1"))
        yield Scenario("cancel[ready-rejected]", "cancel", False, rejected)


def plan_scenarios(spec: Spec) -> Plan:
    """Every scenario the suite runs for ``spec`` (before the random walks)."""
    unknown = [g.name for g in spec.guards if g.name not in DRIVEN_GUARDS]
    if unknown:
        raise ScenarioError(
            f"the suite can drive the guards {', '.join(DRIVEN_GUARDS)}; the spec also uses "
            f"{', '.join(unknown)}"
        )
    unreachable: list[str] = []
    scenarios = [
        *_trace(spec),
        *_cells(spec, unreachable),
        *_pairs(spec, unreachable),
        *_interrupts(spec),
        *_after_final(spec, unreachable),
        *_extras(spec),
    ]
    return Plan(tuple(scenarios), tuple(unreachable))
