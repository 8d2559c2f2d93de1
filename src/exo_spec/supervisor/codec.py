"""The channel's events as JSON messages, the frequent ones written and read directly.

A text chunk (one per token), a task's acknowledgement and status, and a runner status that
carries nothing (all but ``RunnerLoading`` and ``RunnerFailed``) make up nearly every message
between the runner and its supervisor. They are written byte for byte as the JSON encoder
writes ``event_to_json(event)`` (compact), and read into the value the converter would build,
without the converter; anything else, and anything malformed (so that its error names the
problem), goes through :mod:`exo_spec.runtime.wire`. Both directions are property-tested
against the converter.
"""

from __future__ import annotations

import json
from json.encoder import encode_basestring_ascii
from typing import cast, get_args

import attrs

from exo_spec.runtime.engine_protocol import FinishReason
from exo_spec.runtime.wire import (
    ChunkGenerated,
    Event,
    RunnerId,
    RunnerStatus,
    RunnerStatusUpdated,
    TaskAcknowledged,
    TaskId,
    TaskStatusName,
    TaskStatusUpdated,
    TextChunk,
    event_from_json,
    event_to_json,
)

__all__ = ["decode_event", "encode_event"]

_encode = json.JSONEncoder(separators=(",", ":")).encode  # built once: json.dumps builds one a call
_quote = encode_basestring_ascii  # what that encoder writes for a str (ensure_ascii)
_FINISH = {reason: json.dumps(reason) for reason in (*get_args(FinishReason), None)}
"""Each finish reason a text chunk may carry, as JSON."""
_REPORTED: frozenset[str] = frozenset(get_args(TaskStatusName))
_BARE: dict[str, type[RunnerStatus]] = {
    cls.__name__: cls
    for cls in cast(tuple[type[RunnerStatus], ...], get_args(RunnerStatus))
    if not attrs.fields(cls)
}
"""The runner statuses that carry nothing, by name."""


def encode_event(event: Event) -> bytes:
    """The message for ``event``: its JSON, compact."""
    if type(event) is ChunkGenerated:
        chunk = event.chunk
        if (
            type(chunk) is TextChunk
            and type(event.task_id) is str
            and type(chunk.text) is str
            and type(chunk.token_id) is int
            and (chunk.finish_reason is None or type(chunk.finish_reason) is str)
            and chunk.finish_reason in _FINISH
        ):
            return (
                '{"ChunkGenerated":{"task_id":' + _quote(event.task_id)
                + ',"chunk":{"TextChunk":{"text":' + _quote(chunk.text)
                + ',"token_id":' + int.__repr__(chunk.token_id)
                + ',"finish_reason":' + _FINISH[chunk.finish_reason] + "}}}}"
            ).encode()  # fmt: skip
    elif type(event) is TaskStatusUpdated:
        message = event.error_message
        # task_status passed its validator: one of the reported statuses' names
        if type(event.task_id) is str and (message is None or type(message) is str):
            return (
                '{"TaskStatusUpdated":{"task_id":' + _quote(event.task_id)
                + ',"task_status":' + _quote(event.task_status)
                + ',"error_message":' + ("null" if message is None else _quote(message)) + "}}"
            ).encode()  # fmt: skip
    elif type(event) is TaskAcknowledged:
        if type(event.task_id) is str:
            return ('{"TaskAcknowledged":{"task_id":' + _quote(event.task_id) + "}}").encode()
    elif type(event) is RunnerStatusUpdated:
        name = type(event.runner_status).__name__
        if type(event.runner_id) is str and name in _BARE:
            return (
                '{"RunnerStatusUpdated":{"runner_id":' + _quote(event.runner_id)
                + ',"runner_status":{"' + name + '":{}}}}'
            ).encode()  # fmt: skip
    return _encode(event_to_json(event)).encode()


def decode_event(data: object) -> Event:
    """The event for one decoded JSON value (``event_from_json``'s outcome, exactly)."""
    if type(data) is dict and len(data) == 1 and "ChunkGenerated" not in data:
        event = _small_event(data)
        if event is not None:
            return event
    return event_from_json(data)  # text chunks are read directly there


def _small_event(data: dict[str, object]) -> Event | None:
    """``data`` as a TaskAcknowledged, a TaskStatusUpdated or a RunnerStatusUpdated with a
    status that carries nothing, when it is exactly a valid one."""
    body = data.get("TaskAcknowledged")
    if type(body) is dict:
        task_id = body.get("task_id")
        if len(body) != 1 or type(task_id) is not str:
            return None
        return TaskAcknowledged(TaskId(task_id))
    body = data.get("TaskStatusUpdated")
    if type(body) is dict:
        if len(body) != 3:
            return None
        task_id, status = body.get("task_id"), body.get("task_status")
        message = body.get("error_message", 0)
        if type(task_id) is not str or type(status) is not str or status not in _REPORTED:
            return None
        if message is not None and type(message) is not str:
            return None
        return TaskStatusUpdated(TaskId(task_id), cast(TaskStatusName, status), message)
    body = data.get("RunnerStatusUpdated")
    if type(body) is dict:
        runner_id, status = body.get("runner_id"), body.get("runner_status")
        if len(body) != 2 or type(runner_id) is not str or type(status) is not dict:
            return None
        if len(status) != 1:
            return None
        ((name, fields),) = status.items()
        cls = _BARE.get(name)
        if cls is None or type(fields) is not dict or fields:
            return None
        return RunnerStatusUpdated(RunnerId(runner_id), cls())
    return None
