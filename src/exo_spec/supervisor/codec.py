"""The channel's messages as JSON, the frequent ones written and read directly.

A text chunk (one per token), a task's acknowledgement and status, and a runner status make up
nearly every message from the runner to its supervisor. They are written byte for byte as the
JSON encoder writes ``event_to_json(event)`` (compact), and the ones without a payload of their
own are read into the value the converter would build, without the converter. The other way,
every task but ``DownloadModel`` is read directly when it is written as ``task_to_json`` writes
it. Anything else, and anything malformed (so that its error names the problem), goes through
:mod:`exo_spec.runtime.wire`. Both directions are property-tested against the converter. So a
runner process serves its usual tasks without building the converter at all (cattrs, about
40 ms of imports).
"""

from __future__ import annotations

import json
from json.encoder import encode_basestring_ascii
from typing import Any, cast, get_args

import attrs

from exo_spec.runtime.engine_protocol import ChatMessage, ChatRequest, FinishReason, Role
from exo_spec.runtime.wire import (
    TASK_TYPES,
    ChatCompletion,
    ChunkGenerated,
    Event,
    RunnerFailed,
    RunnerId,
    RunnerLoading,
    RunnerStatus,
    RunnerStatusUpdated,
    Task,
    TaskAcknowledged,
    TaskId,
    TaskStatusName,
    TaskStatusUpdated,
    TextChunk,
    event_from_json,
    event_to_json,
    task_from_json,
)

__all__ = ["decode_event", "decode_task", "encode_event"]

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
_ID_TASKS: dict[str, tuple[type[Task], tuple[str, ...]]] = {
    cls.__name__: (cls, tuple(f.name for f in attrs.fields(cls)))
    for cls in TASK_TYPES
    if all(f.type in ("TaskId", TaskId) for f in attrs.fields(cls))
}
"""The tasks whose every field is a task id, by name, with their fields' names."""
_ROLES = frozenset(get_args(Role))
# written out, not read from ChatRequest's fields: a field added there must not be read here
# (and defaulted) before this reading learns its type; until then the converter reads it
_REQUEST_FIELDS = ("messages", "max_tokens", "temperature", "top_p", "stop", "seed")
_REQUEST_KEYS = frozenset(_REQUEST_FIELDS)


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
    elif type(event) is RunnerStatusUpdated and type(event.runner_id) is str:
        fields = _status_fields(event.runner_status)
        if fields is not None:
            return (
                '{"RunnerStatusUpdated":{"runner_id":' + _quote(event.runner_id)
                + ',"runner_status":{"' + type(event.runner_status).__name__ + '":{'
                + fields + "}}}}"
            ).encode()  # fmt: skip
    return _encode(event_to_json(event)).encode()


def _status_fields(status: RunnerStatus) -> str | None:
    """The JSON of a runner status's fields, inside its braces; ``None`` when the encoder must
    write it."""
    if type(status).__name__ in _BARE:
        return ""
    if type(status) is RunnerLoading:
        loaded, total = status.layers_loaded, status.total_layers
        if type(loaded) is int and type(total) is int:
            return (
                '"layers_loaded":' + int.__repr__(loaded)
                + ',"total_layers":' + int.__repr__(total)
            )  # fmt: skip
    elif type(status) is RunnerFailed and type(status.error_message) is str:
        return '"error_message":' + _quote(status.error_message)
    return None


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


def decode_task(data: object) -> Task:
    """The task for one decoded JSON value (``task_from_json``'s outcome, exactly)."""
    if type(data) is dict and len(data) == 1:
        ((name, body),) = data.items()
        if type(body) is dict:
            task = _chat(body) if name == "ChatCompletion" else _id_task(name, body)
            if task is not None:
                return task
    return task_from_json(data)


def _id_task(name: str, body: dict[str, object]) -> Task | None:
    """``body`` as the task ``name`` when that task holds only task ids and ``body`` is exactly
    them, as strings."""
    known = _ID_TASKS.get(name)
    if known is None:
        return None
    cls, names = known
    ids = [body.get(field) for field in names]
    if len(body) != len(names) or any(type(value) is not str for value in ids):
        return None
    return cls(*cast(list[Any], ids))


def _chat(body: dict[str, object]) -> ChatCompletion | None:
    """``body`` as a ChatCompletion when it is one with every field written, with the types
    ``task_to_json`` writes (a float as a float), that the types' validators accept."""
    task_id, request = body.get("task_id"), body.get("request")
    if len(body) != 2 or type(task_id) is not str or type(request) is not dict:
        return None
    if request.keys() != _REQUEST_KEYS:  # every field, no other (seed may be null)
        return None
    messages, max_tokens, temperature, top_p, stop, seed = map(request.get, _REQUEST_FIELDS)
    if (
        type(messages) is not list
        or type(max_tokens) is not int
        or type(temperature) is not float
        or type(top_p) is not float
        or type(stop) is not list
        or (seed is not None and type(seed) is not int)
        or any(type(text) is not str for text in stop)
    ):
        return None
    read: list[ChatMessage] = []
    for message in messages:
        if type(message) is not dict or len(message) != 2:
            return None
        role, content = message.get("role"), message.get("content")
        if type(role) is not str or role not in _ROLES or type(content) is not str:
            return None
        read.append(ChatMessage(cast(Role, role), content))
    try:
        request_read = ChatRequest(tuple(read), max_tokens, temperature, top_p, tuple(stop), seed)
    except (ValueError, TypeError):
        return None  # a validator refused it: the converter says why
    return ChatCompletion(TaskId(task_id), request_read)
