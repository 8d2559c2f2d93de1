"""Compare a runner's events with the expected trace; name the spec rule each mismatch breaks.

Matching walks both traces in order; a progress item absorbs zero or more progress events of
its task. At the first divergence the mismatch is classified (a status change with no
``RunnerStatusUpdated``, a missing final status, events out of order, a legal task rejected,
an illegal task accepted, a redundant status event, a loop that died or hung) and reported with
the template or rule it comes from and its line in the spec.
"""

from __future__ import annotations

# ruff: noqa: SIM102
from attrs import evolve, frozen

from exo_spec.conformance.execute import RunResult
from exo_spec.conformance.oracle import Expectation, Expected
from exo_spec.runtime.trace import describe_event
from exo_spec.runtime.wire import (
    ChunkGenerated,
    DownloadProgressed,
    RunnerStatusUpdated,
    TaskAcknowledged,
    TaskStatusUpdated,
)
from exo_spec.spec import Spec
from exo_spec.spec.codes import code_for
from exo_spec.spec.diagnostics import Diagnostic, Loc

__all__ = ["FINAL", "Observed", "diagnose", "find_divergence", "finding", "observe"]

FINAL = frozenset({"Complete", "Failed", "Cancelled"})


@frozen
class Observed:
    """An emitted event reduced to what the contract constrains."""

    kind: str  # runner, task, ack, chunk, download, invalid
    task_id: str | None
    status: str | None
    text: str


def finding(name: str, rule: str, loc: Loc, message: str, index: int) -> Diagnostic:
    """One broken rule: the code named ``name`` (an ``EXS5xx``), the spec rule and where it is
    written, the text, and the position in the actual trace (``len(actual)`` when something is
    missing at the end)."""
    return Diagnostic(code_for(name), message, loc, rule=rule, event_index=index)


def observe(event: object) -> Observed:
    """The comparable form of one emitted event; anything that is not an event is ``invalid``."""
    if isinstance(event, RunnerStatusUpdated):
        text = describe_event(event)
        return Observed("runner", None, type(event.runner_status).__name__, text)
    if isinstance(event, TaskStatusUpdated):
        return Observed("task", event.task_id, event.task_status, describe_event(event))
    if isinstance(event, TaskAcknowledged):
        return Observed("ack", event.task_id, None, describe_event(event))
    if isinstance(event, ChunkGenerated):
        return Observed("chunk", event.task_id, None, describe_event(event))
    if isinstance(event, DownloadProgressed):
        return Observed("download", event.task_id, None, describe_event(event))
    return Observed("invalid", None, None, f"not an event: {event!r}"[:120])


_PROGRESS_KIND = {"ChunkGenerated": "chunk", "DownloadProgress": "download"}


def _matches(item: Expected, obs: Observed) -> bool:
    if item.kind == "runner":
        return obs.kind == "runner" and obs.status == item.status
    if item.kind == "task":
        return obs.kind == "task" and obs.task_id == item.task_id and obs.status == item.status
    if item.kind == "ack":
        return obs.kind == "ack" and obs.task_id == item.task_id
    return _progress(item, obs)


def _progress(item: Expected, obs: Observed) -> bool:
    if obs.kind == "runner":
        return "RunnerStatusUpdated" in item.progress and obs.status == item.status
    return obs.task_id == item.task_id and any(
        _PROGRESS_KIND.get(k) == obs.kind for k in item.progress
    )


def find_divergence(
    items: tuple[Expected, ...], actual: tuple[Observed, ...], j: int = 0, i: int = 0
) -> tuple[int, int] | None:
    """``(j, i)``: the first expected item and actual event that disagree, or ``None``."""
    while j < len(items):
        item = items[j]
        if item.kind == "progress":
            while i < len(actual) and _progress(item, actual[i]):
                i += 1
            j += 1
        elif i < len(actual) and _matches(item, actual[i]):
            i, j = i + 1, j + 1
        else:
            return j, i
    return None if i == len(actual) else (j, i)


def _missing(items: tuple[Expected, ...], j: int, obs: Observed | None) -> bool:
    """Whether ``items[j]`` was left out (the actual event belongs to something later)."""
    if obs is None:
        return True
    return any(_matches(later, obs) for later in items[j + 1 : j + 5])


def diagnose(
    spec: Spec, expectation: Expectation, actual: tuple[Observed, ...], run: RunResult | None
) -> list[Diagnostic]:
    """The findings for one run: the first divergence (its root class, with the knock-on
    mismatches after it named in its message), then a dead or hung loop."""
    items = expectation.items
    first = where = find_divergence(items, actual)
    findings: list[Diagnostic] = []
    while where is not None and len(findings) < 6:
        found = _classify(spec, items, actual, *where, run)
        findings.append(found)
        j, i = where
        if found.name in _SKIP_BOTH and j < len(items) and i < len(actual):
            where = find_divergence(items, actual, j + 1, i + 1)
        elif found.name in _SKIP_EXPECTED and j < len(items):
            where = find_divergence(items, actual, j + 1, i)
        elif found.name in _SKIP_ACTUAL and i < len(actual):
            where = find_divergence(items, actual, j, i + 1)
        else:
            break
    out = findings[:1]
    knock_on = [f for f in findings[1:] if f.name not in ("hang", "loop-died")]
    if out and knock_on:
        names = ", ".join(dict.fromkeys(f"{f.name} ({f.rule})" for f in knock_on))
        out[0] = evolve(out[0], message=f"{out[0].message}; knock-on after it: {names}")
    if run is not None and first is not None:
        if run.timed_out and out[0].name != "hang":
            out.append(_dead(spec, items, run, "hang"))
        elif run.error and out[0].name != "loop-died":
            out.append(_dead(spec, items, run, "loop-died"))
    return out


_SKIP_EXPECTED = frozenset({"missing-event", "missing-runner-status", "no-final-status"})
_SKIP_BOTH = frozenset({"event-for-wrong-task"})
_SKIP_ACTUAL = frozenset({"redundant-runner-status", "unexpected-event"})


def _current_status(actual: tuple[Observed, ...], i: int) -> str | None:
    return next((o.status for o in reversed(actual[:i]) if o.kind == "runner"), None)


def _classify(
    spec: Spec,
    items: tuple[Expected, ...],
    actual: tuple[Observed, ...],
    j: int,
    i: int,
    run: RunResult | None,
) -> Diagnostic:
    obs = actual[i] if i < len(actual) else None
    if j >= len(items):
        assert obs is not None
        return _extra(spec, actual, i, obs)
    item = items[j]
    rule, loc = f"events.{item.phase}", item.loc
    if item.phase == "initial":
        rule = "initial"
    got = obs.text if obs is not None else "nothing"
    if obs is not None and _after_final(actual, i, obs):
        return finding(
            "second-final-status",
            "events",
            spec.events.loc,
            f"task {obs.task_id} got {got} after its final status (expected {item})",
            i,
        )
    if obs is None and run is not None and (run.timed_out or run.error):
        return _dead(spec, items, run, "hang" if run.timed_out else "loop-died", item)
    if item.kind == "task" and item.status == "Running" and obs is not None:
        if obs.kind == "task" and obs.task_id == item.task_id and obs.status == "Failed":
            return finding(
                "rejected-legal-task",
                item.rule_ref,
                item.rule_loc or item.loc,
                f"{item.context}: the spec accepts it, but the runner sent {got}",
                i,
            )
    if item.kind == "task" and item.decision == "rejected" and obs is not None:
        if obs.kind == "task" and obs.task_id == item.task_id and obs.status == "Running":
            after = actual[i + 1] if i + 1 < len(actual) else None
            if after is None or (after.task_id == item.task_id and after.status == "Failed"):
                return finding(
                    "running-before-guard",
                    rule,
                    loc,
                    f"{item.context}: the spec rejects it, but the runner first sent {got} "
                    "(the guard must be checked before a task is reported running)",
                    i,
                )
            return finding(
                "accepted-illegal-task",
                rule,
                loc,
                f"{item.context}: the spec rejects it, but the runner ran it: {got}, "
                f"then {after.text}",
                i,
            )
    due = _next_of(items, j, obs)
    if obs is not None and due is not None and obs.status in FINAL and not _matches(due, obs):
        return finding(
            "wrong-final-status",
            f"events.{due.phase}",
            due.loc,
            f"{due.context}: {got} where the spec says {due}",
            i,
        )
    if obs is not None and _wrong_task(items, j, obs):
        return finding(
            "event-for-wrong-task",
            rule,
            loc,
            f"{item.context}: expected {item}, got {got} (the event of {item.task_id} was sent "
            f"under {obs.task_id}'s id)",
            i,
        )
    later = next(
        (k for k in range(j + 1, len(items)) if obs is not None and _matches(items[k], obs)), None
    )
    if later is not None and any(_matches(item, o) for o in actual[i + 1 :]):
        return finding(
            "out-of-order",
            rule,
            loc,
            f"{item.context}: events out of order: {got} came before {item}",
            i,
        )
    if obs is not None and obs.kind == "runner" and obs.status == _current_status(actual, i):
        if not _missing(items, j, None) or item.kind != "runner":
            return finding(
                "redundant-runner-status",
                "events",
                spec.events.loc,
                f"{item.context}: {got} without a status change "
                "(RunnerStatusUpdated is sent only when the status changes)",
                i,
            )
    if item.kind == "runner":
        if obs is not None and obs.kind == "runner" and not _missing(items, j, obs):
            return finding(
                "wrong-runner-status",
                rule,
                loc,
                f"{item.context}: {got} where the spec says {item}",
                i,
            )
        return finding(
            "missing-runner-status",
            rule,
            loc,
            f"status change to {item.state} without RunnerStatusUpdated ({item.context}; "
            f"expected {item}, got {got})",
            i,
        )
    if item.kind == "task" and item.status in FINAL:
        if obs is not None and obs.kind == "task" and obs.task_id == item.task_id:
            return finding(
                "wrong-final-status",
                rule,
                loc,
                f"{item.context}: {got} where the spec says {item}",
                i,
            )
        return finding(
            "no-final-status",
            rule,
            loc,
            f"{item.context}: no final status (expected {item}, got {got})",
            i,
        )
    if _missing(items, j, obs):
        return finding("missing-event", rule, loc, f"{item.context}: expected {item}, got {got}", i)
    return finding("unexpected-event", rule, loc, f"{item.context}: expected {item}, got {got}", i)


def _next_of(items: tuple[Expected, ...], j: int, obs: Observed | None) -> Expected | None:
    """The next expected status of ``obs``'s task when ``obs`` is another task's status."""
    if obs is None or obs.kind != "task" or obs.task_id == items[j].task_id:
        return None
    return next((x for x in items[j:] if x.task_id == obs.task_id and x.kind == "task"), None)


def _after_final(actual: tuple[Observed, ...], i: int, obs: Observed) -> bool:
    """Whether ``obs`` is a status for a task that already had its final status."""
    return obs.kind == "task" and any(
        o.kind == "task" and o.task_id == obs.task_id and o.status in FINAL for o in actual[:i]
    )


def _wrong_task(items: tuple[Expected, ...], j: int, obs: Observed) -> bool:
    """Whether ``obs`` is ``items[j]`` under another task's id (and not one expected soon)."""
    item = items[j]
    if item.kind not in ("task", "ack") or obs.kind != item.kind or obs.task_id == item.task_id:
        return False
    if item.kind == "task" and obs.status != item.status:
        return False
    return not any(_matches(later, obs) for later in items[j + 1 : j + 5])


def _extra(spec: Spec, actual: tuple[Observed, ...], i: int, obs: Observed) -> Diagnostic:
    if obs.kind == "runner" and obs.status == _current_status(actual, i):
        return finding(
            "redundant-runner-status",
            "events",
            spec.events.loc,
            f"{obs.text} without a status change after the last task",
            i,
        )
    if _after_final(actual, i, obs):
        return finding(
            "second-final-status",
            "events",
            spec.events.loc,
            f"task {obs.task_id} got a second status after its final one: {obs.text}",
            i,
        )
    return finding(
        "unexpected-event",
        "events",
        spec.events.loc,
        f"unexpected event after the expected trace ended: {obs.text}",
        i,
    )


def _dead(
    spec: Spec,
    items: tuple[Expected, ...],
    run: RunResult,
    category: str,
    item: Expected | None = None,
) -> Diagnostic:
    last = run.received[-1] if run.received else None
    if item is None:
        item = next((x for x in items if x.task_id == last and x.kind != "progress"), items[0])
    task_items = [x for x in items if x.task_id == item.task_id]
    raised = "ScriptedEngineError" in (run.error or "")
    if raised and any(x.phase == "failure" for x in task_items):
        rule, loc = "on_error", spec.on_error_loc
    elif item.decision == "rejected":
        rule, loc = "events.reject", item.loc
    else:
        rule, loc = item.rule_ref or f"events.{item.phase}", item.rule_loc or item.loc
    what = (
        "the runner did not return in time"
        if category == "hang"
        else f"the runner's loop died ({run.error})"
    )
    return finding(
        category,
        rule,
        loc,
        f"{what} while handling {item.context}; the loop must report the task and keep serving "
        f"(expected next: {item})",
        len(run.events),
    )
