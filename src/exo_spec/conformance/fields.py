"""Every field of every event, and what the runner did to the engine: the checks beside the trace.

The trace comparison (:mod:`exo_spec.conformance.verify`) checks which events come, in which
order, for which task. These checks read the rest of each event and the scripted engine's
record of the run:

- ``wrong-runner-id``: every ``RunnerStatusUpdated`` carries the context's runner id;
- ``wrong-chunk``: the text of a chat's chunks, in order, is what the engine produced for it;
- ``progress-backwards``: download bytes and files, and layers loaded, never go backwards;
- ``empty-failure-message``: a ``Failed`` task status and a ``RunnerFailed`` say why;
- ``event-after-return``: nothing is emitted after ``run()`` returned;
- ``cancel-ignored``: after a ``CancelTask`` reaches the runner, the engine is asked for at
  most one more token of the chat it names;
- ``engine-call-outside-rule``: the engine runs exactly the actions the spec's rules run, in
  their order (``engine.close()`` only for a ``Shutdown``), checked when the trace is right.
"""

from __future__ import annotations

from collections.abc import Iterator

from exo_spec.conformance.execute import RUNNER_ID, RunResult
from exo_spec.conformance.oracle import Expectation
from exo_spec.conformance.scripted_engine import ENGINE_ACTIONS
from exo_spec.conformance.verify import finding, observe
from exo_spec.runtime.trace import describe_event
from exo_spec.runtime.wire import (
    ChunkGenerated,
    DownloadProgressed,
    RunnerFailed,
    RunnerLoading,
    RunnerStatusUpdated,
    TaskStatusUpdated,
    TextChunk,
)
from exo_spec.spec import Spec
from exo_spec.spec.diagnostics import Diagnostic, Loc

__all__ = ["CANCEL_SLACK", "check_fields"]

CANCEL_SLACK = 1
"""Tokens the engine may still be asked for after a cancel reached the runner (one in flight)."""


def _action_loc(spec: Spec, action: str) -> Loc:
    found = next((a for a in spec.actions if a.name == action), None)
    return found.loc if found is not None else spec.events.loc


def check_fields(
    spec: Spec, expectation: Expectation, run: RunResult, *, trace_ok: bool
) -> list[Diagnostic]:
    """The field findings of one run (the engine's calls only when ``trace_ok``)."""
    out = [
        *_runner_ids(spec, run),
        *_chunks(spec, run),
        *_progress(spec, run),
        *_failure_messages(spec, run),
        *_late(spec, run),
        *_cancels(spec, run),
    ]
    if trace_ok and not run.timed_out and run.error is None:
        out.extend(_engine_calls(spec, expectation, run))
    return out


def _runner_ids(spec: Spec, run: RunResult) -> Iterator[Diagnostic]:
    for i, event in enumerate(run.events):
        if isinstance(event, RunnerStatusUpdated) and event.runner_id != RUNNER_ID:
            yield finding(
                "wrong-runner-id",
                "events",
                spec.events.loc,
                f"{describe_event(event)} carries runner id {event.runner_id!r}; the runner's "
                f"context says {RUNNER_ID!r}",
                i,
            )
            return


def _chunks(spec: Spec, run: RunResult) -> Iterator[Diagnostic]:
    produced = dict(run.generated)
    sent: dict[str, list[tuple[int, str]]] = {}
    for i, event in enumerate(run.events):
        chunk = event.chunk if isinstance(event, ChunkGenerated) else None
        if isinstance(event, ChunkGenerated) and isinstance(chunk, TextChunk) and chunk.text:
            sent.setdefault(str(event.task_id), []).append((i, chunk.text))
    for task_id, chunks in sent.items():
        texts = [text for _, text in chunks]
        engine = list(produced.get(task_id, ()))
        if texts == engine:
            continue
        k = next((k for k, (a, b) in enumerate(zip(texts, engine, strict=False)) if a != b), None)
        index = chunks[k][0] if k is not None else chunks[min(len(engine), len(chunks) - 1)][0]
        yield finding(
            "wrong-chunk",
            "actions.generate",
            _action_loc(spec, "generate"),
            f"the chunks of {task_id} are {texts!r}; the engine produced {engine!r} for it "
            "(every chunk, in the engine's order, under its own task id)",
            index,
        )


def _progress(spec: Spec, run: RunResult) -> Iterator[Diagnostic]:
    downloads: dict[str, tuple[int, int]] = {}
    layers: int | None = None
    for i, event in enumerate(run.events):
        if isinstance(event, DownloadProgressed):
            now = (event.progress.downloaded_bytes, event.progress.files_done)
            before = downloads.get(str(event.task_id))
            if before is not None and (now[0] < before[0] or now[1] < before[1]):
                yield finding(
                    "progress-backwards",
                    "actions.download",
                    _action_loc(spec, "download"),
                    f"download progress of {event.task_id} went back from {before[0]} bytes, "
                    f"{before[1]} files to {now[0]} bytes, {now[1]} files",
                    i,
                )
                return
            downloads[str(event.task_id)] = now
        elif isinstance(event, RunnerStatusUpdated):
            status = event.runner_status
            if not isinstance(status, RunnerLoading):
                layers = None
                continue
            if layers is not None and status.layers_loaded < layers:
                yield finding(
                    "progress-backwards",
                    "actions.load",
                    _action_loc(spec, "load"),
                    f"layers loaded went back from {layers} to {status.layers_loaded}",
                    i,
                )
                return
            layers = status.layers_loaded


def _failure_messages(spec: Spec, run: RunResult) -> Iterator[Diagnostic]:
    for i, event in enumerate(run.events):
        if isinstance(event, TaskStatusUpdated) and event.task_status == "Failed":
            message = event.error_message
        elif isinstance(event, RunnerStatusUpdated) and isinstance(
            event.runner_status, RunnerFailed
        ):
            message = event.runner_status.error_message
        else:
            continue
        if not (message or "").strip():
            yield finding(
                "empty-failure-message",
                "events.failure",
                spec.events.loc,
                f"{describe_event(event)} says nothing about why (a failure carries a message)",
                i,
            )
            return


def _late(spec: Spec, run: RunResult) -> Iterator[Diagnostic]:
    if run.late:
        texts = ", ".join(observe(e).text for e in run.late[:3])
        yield finding(
            "event-after-return",
            "events",
            spec.events.loc,
            f"{len(run.late)} event(s) after run() returned, from a thread it left behind: {texts}",
            len(run.events),
        )


def _cancels(spec: Spec, run: RunResult) -> Iterator[Diagnostic]:
    for task_id, tokens in run.after_cancel:
        if tokens > CANCEL_SLACK:
            yield finding(
                "cancel-ignored",
                "actions.generate",
                _action_loc(spec, "generate"),
                f"the engine was asked for {tokens} more tokens of {task_id} after a CancelTask "
                f"naming it reached the runner (at most {CANCEL_SLACK}: the cancel must stop "
                "the generation)",
                len(run.events),
            )


def _engine_calls(spec: Spec, expectation: Expectation, run: RunResult) -> Iterator[Diagnostic]:
    wanted = [action for action, _ in expectation.calls if action in ENGINE_ACTIONS]
    made = list(run.engine_calls)
    if made == wanted:
        return
    k = next((k for k, (a, b) in enumerate(zip(made, wanted, strict=False)) if a != b), None)
    k = min(len(made), len(wanted)) if k is None else k
    action = made[k] if k < len(made) else wanted[k]
    method = "close" if action == "shutdown" else action
    yield finding(
        "engine-call-outside-rule",
        f"actions.{action}",
        _action_loc(spec, action),
        f"the engine ran {', '.join(made) or 'nothing'}; the spec's rules run "
        f"{', '.join(wanted) or 'nothing'} (call {k + 1}: engine.{method}() "
        + ("where no rule runs it)" if k < len(made) else "never called)"),
        len(run.events),
    )
