"""Check a recorded event log offline (``exo-spec trace-check``).

The log is JSON Lines. Each line is one of:

- an event in exo's tagged wire shape: ``{"RunnerStatusUpdated": {...}}``;
- a task line ``{"task": {"LoadModel": {"task_id": "t2"}}}`` marking when the runner received
  the task; it may carry the dynamic guard's value: ``"weights_present": true``;
- a header, first: ``{"exo_spec_trace": 1, "has_group": false}``.

Blank lines are ignored. Without task lines the log alone is checked: the first event is the
initial ``RunnerStatusUpdated``, every status change is a transition the spec allows (a
missing status event shows up as a jump the spec forbids), every task that appears gets exactly
one final status and nothing after it. With task lines the log is also compared, task by task,
with the reference ``step()``, exactly as the conformance suite compares a live runner.

Problems are :class:`~exo_spec.spec.diagnostics.Diagnostic` records at ``trace:line:1``: the
log's own problems are ``EXS6xx`` codes, disagreements with the model ``EXS5xx`` codes (the
conformance suite's), with the spec rule they break.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable

from exo_spec.conformance.oracle import expect
from exo_spec.conformance.scenario import Scenario, Send
from exo_spec.conformance.verify import FINAL, Observed, diagnose, observe
from exo_spec.runtime.wire import (
    CancelTask,
    ChatCompletion,
    Event,
    WireError,
    event_from_json,
    task_from_json,
)
from exo_spec.spec import Spec
from exo_spec.spec.codes import code_for
from exo_spec.spec.diagnostics import Diagnostic, Loc

__all__ = ["check_trace"]

DEFAULT_PATH = "<trace>"


def _problem(path: str, line: int, name: str, message: str, rule: str = "") -> Diagnostic:
    """The problem named ``name`` at ``line`` of the log (line 1 when it is about the whole log)."""
    return Diagnostic(code_for(name), message, Loc(path, max(line, 1), 1), rule=rule)


_ONE_EVENT = "one tagged event per line"
_A_LINE = 'a tagged event, a task line {"task": ...} or a header'


def _unparsable(path: str, line: int, reason: str, expected: str) -> Diagnostic:
    """The line could not be read (``reason``) as what a log line is (``expected``)."""
    return _problem(path, line, "unparsable-line", f"{reason}; expected {expected}")


def _reason(exc: Exception) -> str:
    return "nested too deeply" if isinstance(exc, RecursionError) else str(exc)


def _edges(spec: Spec) -> set[tuple[str, str]]:
    status = {s.name: s.status for s in spec.states}
    out: set[tuple[str, str]] = set()
    for rule in spec.rules:
        hops = [rule.source, *([rule.via] if rule.via else []), rule.target]
        out.update((status[a], status[b]) for a, b in itertools.pairwise(hops) if a != b)
        if rule.action is not None:
            out.add((status[rule.via or rule.source], status[spec.on_error]))
    return out


def _progress_statuses(spec: Spec) -> set[str]:
    return {
        spec.state(rule.via).status
        for rule in spec.rules
        if rule.via and rule.action and "RunnerStatusUpdated" in spec.action(rule.action).progress
    }


def check_trace(spec: Spec, lines: Iterable[str], path: str = DEFAULT_PATH) -> list[Diagnostic]:
    """Every problem in the log ``lines`` (read from ``path``), in the order of the log."""
    problems: list[Diagnostic] = []
    events: list[tuple[int, Event]] = []
    tasks: list[tuple[int, int, object, bool | None]] = []  # (line, events before, task, weights)
    has_group = False
    for number, raw in enumerate(lines, 1):
        if not raw.strip():
            continue
        try:
            data = json.loads(raw)
        except json.JSONDecodeError as exc:
            problems.append(_unparsable(path, number, f"not JSON ({exc.msg})", _ONE_EVENT))
            continue
        except (RecursionError, ValueError) as exc:  # nested too deeply, an integer too long
            reason = f"not readable as JSON ({_reason(exc)})"
            problems.append(_unparsable(path, number, reason, _ONE_EVENT))
            continue
        try:
            if isinstance(data, dict) and "exo_spec_trace" in data:
                has_group = bool(data.get("has_group", False))
            elif isinstance(data, dict) and "task" in data:
                weights = data.get("weights_present")
                tasks.append(
                    (
                        number,
                        len(events),
                        task_from_json(data["task"]),
                        weights if isinstance(weights, bool) else None,
                    )
                )
            else:
                events.append((number, event_from_json(data)))
        except (WireError, RecursionError) as exc:
            problems.append(_unparsable(path, number, _reason(exc), _A_LINE))
    if problems:
        return problems
    problems.extend(_log_only(spec, events, path))
    if tasks:
        problems.extend(_against_model(spec, events, tasks, has_group, path))
    return problems


def _log_only(spec: Spec, events: list[tuple[int, Event]], path: str) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    observed = [(n, observe(e)) for n, e in events]
    initial = spec.state(spec.initial).status
    runner = [(n, o) for n, o in observed if o.kind == "runner"]
    if not runner or runner[0][1].status != initial or observed[0][1].kind != "runner":
        line = observed[0][0] if observed else 0
        out.append(
            _problem(
                path,
                line,
                "no-initial-status",
                f"the log must start with RunnerStatusUpdated({initial})",
            )
        )
    edges, progress = _edges(spec), _progress_statuses(spec)
    for (_, before), (n, after) in itertools.pairwise(runner):
        if before.status == after.status:
            if after.status not in progress:
                out.append(
                    _problem(
                        path, n, "repeated-runner-status", f"{after.text} without a status change"
                    )
                )
        elif (str(before.status), str(after.status)) not in edges:
            out.append(
                _problem(
                    path,
                    n,
                    "forbidden-transition",
                    f"{before.status} -> {after.status} is not a transition of the spec "
                    "(a RunnerStatusUpdated in between is missing, or the runner took a path the spec forbids)",
                )
            )
    finals: dict[str, int] = {}
    seen: dict[str, int] = {}
    for n, o in observed:
        if o.task_id is None:
            continue
        seen.setdefault(o.task_id, n)
        if o.task_id in finals:
            out.append(
                _problem(
                    path,
                    n,
                    "after-final-status",
                    f"{o.text} after the task's final status (line {finals[o.task_id]})",
                )
            )
        elif o.kind == "task" and o.status in FINAL:
            finals[o.task_id] = n
    acks = {o.task_id for _, o in observed if o.kind == "ack"}
    needs_ack = any(t.kind == "TaskAcknowledged" for t in spec.events.of("accept"))
    running = {o.task_id: n for n, o in observed if o.kind == "task" and o.status == "Running"}
    for task_id, n in running.items():
        if needs_ack and task_id not in acks:
            out.append(
                _problem(
                    path,
                    n,
                    "missing-required-event",
                    f"task {task_id} was accepted (Running here) but never gets the "
                    "TaskAcknowledged that events.accept requires",
                    "events.accept",
                )
            )
    for task_id, n in seen.items():
        if task_id not in finals:
            out.append(
                _problem(
                    path,
                    n,
                    "task-never-finished",
                    f"task {task_id} never gets a final status (first seen here)",
                )
            )
    return out


def _against_model(
    spec: Spec,
    events: list[tuple[int, Event]],
    tasks: list[tuple[int, int, object, bool | None]],
    has_group: bool,
    path: str,
) -> list[Diagnostic]:
    observed = [observe(e) for _, e in events]
    numbers = [n for n, _ in events]
    sends: list[Send] = []
    open_chat: tuple[int, str] | None = None  # (index in sends, task id) of a generating chat
    for _, count, task, weights in tasks:
        task_id = str(getattr(task, "task_id", ""))
        mine = [o for o in observed if o.task_id == task_id]
        result = (
            "fail"
            if any(o.status == "Running" for o in mine) and any(o.status == "Failed" for o in mine)
            else "ok"
        )
        guess = weights if weights is not None else any(o.status == "Running" for o in mine)
        target = str(task.cancel_task_id) if isinstance(task, CancelTask) else None
        send = Send(task_id, type(task).__name__, guess, result, (), target)  # type: ignore[arg-type]
        if open_chat is not None and not _finished_before(observed[:count], open_chat[1]):
            host = sends[open_chat[0]]
            sends[open_chat[0]] = Send(
                host.id, host.task, host.weights, host.result, (*host.during, send), host.target
            )
            continue
        sends.append(send)
        if isinstance(task, ChatCompletion):
            open_chat = (len(sends) - 1, task_id)
    expectation = expect(spec, Scenario("log", "log", has_group, tuple(sends)))
    out = []
    for found in diagnose(spec, expectation, tuple(observed), None):
        index = found.event_index or 0
        line = numbers[index] if index < len(numbers) else (numbers[-1] if numbers else 0)
        where = f"{found.loc.path}:{found.loc.line}"
        message = f"{found.message} ({found.rule}, {where})"
        out.append(_problem(path, line, found.name, message, found.rule))
    return out


def _finished_before(observed: list[Observed], task_id: str) -> bool:
    return any(o.task_id == task_id and o.kind == "task" and o.status in FINAL for o in observed)
