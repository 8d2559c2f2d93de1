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
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable

from attrs import frozen

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

__all__ = ["TraceProblem", "check_trace"]


@frozen
class TraceProblem:
    """One problem in a log, at a line (0 when it is about the whole log)."""

    line: int
    category: str
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.category}: {self.message}"


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


def check_trace(spec: Spec, lines: Iterable[str]) -> list[TraceProblem]:
    problems: list[TraceProblem] = []
    events: list[tuple[int, Event]] = []
    tasks: list[tuple[int, int, object, bool | None]] = []  # (line, events before, task, weights)
    has_group = False
    for number, raw in enumerate(lines, 1):
        if not raw.strip():
            continue
        try:
            data = json.loads(raw)
        except json.JSONDecodeError as exc:
            problems.append(
                TraceProblem(
                    number,
                    "unparsable",
                    f"not JSON ({exc.msg}); expected one tagged event per line",
                )
            )
            continue
        except (RecursionError, ValueError) as exc:  # nested too deeply, an integer too long
            reason = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
            problems.append(
                TraceProblem(
                    number,
                    "unparsable",
                    f"not readable as JSON ({reason}); expected one tagged event per line",
                )
            )
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
            reason = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
            problems.append(
                TraceProblem(
                    number,
                    "unparsable",
                    f'{reason}; expected a tagged event, a task line {{"task": ...}} or a header',
                )
            )
    if problems:
        return problems
    problems.extend(_log_only(spec, events))
    if tasks:
        problems.extend(_against_model(spec, events, tasks, has_group))
    return problems


def _log_only(spec: Spec, events: list[tuple[int, Event]]) -> list[TraceProblem]:
    out: list[TraceProblem] = []
    observed = [(n, observe(e)) for n, e in events]
    initial = spec.state(spec.initial).status
    runner = [(n, o) for n, o in observed if o.kind == "runner"]
    if not runner or runner[0][1].status != initial or observed[0][1].kind != "runner":
        line = observed[0][0] if observed else 0
        out.append(
            TraceProblem(
                line, "no-initial-status", f"the log must start with RunnerStatusUpdated({initial})"
            )
        )
    edges, progress = _edges(spec), _progress_statuses(spec)
    for (_, before), (n, after) in itertools.pairwise(runner):
        if before.status == after.status:
            if after.status not in progress:
                out.append(
                    TraceProblem(
                        n, "redundant-runner-status", f"{after.text} without a status change"
                    )
                )
        elif (str(before.status), str(after.status)) not in edges:
            out.append(
                TraceProblem(
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
                TraceProblem(
                    n,
                    "after-final-status",
                    f"{o.text} after the task's final status (line {finals[o.task_id]})",
                )
            )
        elif o.kind == "task" and o.status in FINAL:
            finals[o.task_id] = n
    for task_id, n in seen.items():
        if task_id not in finals:
            out.append(
                TraceProblem(
                    n,
                    "no-final-status",
                    f"task {task_id} never gets a final status (first seen here)",
                )
            )
    return out


def _against_model(
    spec: Spec,
    events: list[tuple[int, Event]],
    tasks: list[tuple[int, int, object, bool | None]],
    has_group: bool,
) -> list[TraceProblem]:
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
    for finding in diagnose(spec, expectation, tuple(observed), None):
        line = (
            numbers[finding.index]
            if finding.index < len(numbers)
            else (numbers[-1] if numbers else 0)
        )
        out.append(
            TraceProblem(
                line, finding.category, f"{finding.message} ({finding.rule}, {finding.loc})"
            )
        )
    return out


def _finished_before(observed: list[Observed], task_id: str) -> bool:
    return any(o.task_id == task_id and o.kind == "task" and o.status in FINAL for o in observed)
