"""The channel's codec: the frequent events written and read directly, exactly as through the
converter (byte for byte when written, the same value or the same error when read)."""

from __future__ import annotations

import json
from collections.abc import Callable

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from exo_spec.runtime.engine_protocol import ChatMessage, ChatRequest, FinishReason
from exo_spec.runtime.wire import (
    TASK_TYPES,
    ChatCompletion,
    ChunkGenerated,
    DownloadModel,
    ErrorChunk,
    Event,
    RunnerFailed,
    RunnerId,
    RunnerLoading,
    RunnerStatusUpdated,
    Task,
    TaskAcknowledged,
    TaskId,
    TaskStatusUpdated,
    TextChunk,
    WireError,
    event_to_json,
    from_json,
    task_from_json,
    task_to_json,
)
from exo_spec.supervisor.codec import (
    _BARE,
    _ID_TASKS,
    _REQUEST_FIELDS,
    _chat,
    _id_task,
    _small_event,
    decode_event,
    decode_task,
    encode_event,
)
from exo_spec.supervisor.process import decode_events

REPORTED = ["Running", "Complete", "Failed", "Cancelled"]


def compact(event: Event) -> bytes:
    """What the JSON encoder writes for the event's tagged data."""
    return json.dumps(event_to_json(event), separators=(",", ":")).encode()


@given(st.text(), st.text(), st.integers(), st.sampled_from([None, "stop", "length", "cancelled"]))
def test_a_text_chunk_is_written_as_the_encoder_writes_it(
    task: str, text: str, token_id: int, reason: FinishReason
) -> None:
    event = ChunkGenerated(TaskId(task), TextChunk(text, token_id, reason))
    assert encode_event(event) == compact(event)
    assert decode_events(encode_event(event)) == [event]


@given(st.text(), st.sampled_from(REPORTED), st.none() | st.text(), st.text())
def test_task_and_runner_events_are_written_as_the_encoder_writes_them(
    task: str, status: str, message: str | None, runner: str
) -> None:
    events: list[Event] = [
        TaskAcknowledged(TaskId(task)),
        TaskStatusUpdated(TaskId(task), status, message),  # type: ignore[arg-type]
        *(RunnerStatusUpdated(RunnerId(runner), cls()) for cls in _BARE.values()),
    ]
    for event in events:
        assert encode_event(event) == compact(event)
        assert _small_event(json.loads(encode_event(event))) == event  # read directly
        assert decode_events(encode_event(event)) == [event]


@given(st.text(), st.integers(0, 2**40), st.integers(0, 2**40), st.text())
def test_loading_and_failed_statuses_are_written_as_the_encoder_writes_them(
    runner: str, loaded: int, total: int, message: str
) -> None:
    loading = RunnerLoading(min(loaded, total), max(loaded, total))
    for status in (loading, RunnerFailed(message)):
        event = RunnerStatusUpdated(RunnerId(runner), status)
        assert encode_event(event) == compact(event)
        assert decode_events(encode_event(event)) == [event]


@pytest.mark.parametrize(
    "event",
    [
        ChunkGenerated(TaskId("c"), TextChunk("x", True)),  # a bool is not a token id
        ChunkGenerated(TaskId("c"), ErrorChunk("gone")),
        RunnerStatusUpdated(RunnerId("r"), RunnerLoading(True, 3)),  # a bool is not a count
        RunnerStatusUpdated(RunnerId("r"), RunnerFailed(None)),  # type: ignore[arg-type]
    ],
)
def test_other_events_are_written_by_the_encoder(event: Event) -> None:
    assert encode_event(event) == compact(event)


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)


@given(
    st.sampled_from(["TaskAcknowledged", "TaskStatusUpdated", "RunnerStatusUpdated"]),
    st.fixed_dictionaries(
        {},
        optional={
            "runner_id": _json_values,
            "runner_status": _json_values
            | st.sampled_from(["RunnerIdle", "RunnerFailed", "RunnerLoading", *_BARE]).map(
                lambda name: {name: {}}
            )
            | st.dictionaries(st.sampled_from([*_BARE, "RunnerFailed"]), _json_values, max_size=2),
            "task_id": _json_values,
            "task_status": _json_values | st.sampled_from(["Pending", *REPORTED]),
            "error_message": _json_values,
            "extra": _json_values,
        },
    ),
)
def test_a_task_or_runner_event_is_read_exactly_as_the_converter_reads_it(
    kind: str, fields: dict[str, object]
) -> None:
    """Whatever the fields, the direct reading's outcome is the converter's."""
    data = {kind: fields}

    def outcome(decode: Callable[[object], object]) -> object:
        try:
            return decode(data)
        except WireError as exc:
            return f"WireError: {exc}"

    assert outcome(decode_event) == outcome(lambda d: from_json(d, Event))


# -- tasks, read directly ------------------------------------------------------------------------

_ids = st.text(max_size=6)
_messages = st.lists(
    st.builds(ChatMessage, st.sampled_from(["system", "user", "assistant"]), st.text(max_size=8)),
    min_size=1,
    max_size=3,
)
_requests = st.builds(
    ChatRequest,
    _messages.map(tuple),
    st.integers(1, 4096),
    st.floats(0.0, 2.0),
    st.floats(0.0, 1.0, exclude_min=True),
    st.lists(st.text(min_size=1, max_size=4), max_size=2).map(tuple),
    st.none() | st.integers(0, 2**31),
)
_tasks = st.one_of(
    *(
        st.builds(cls, *[_ids.map(TaskId)] * len(attrs.fields(cls)))
        for cls in TASK_TYPES
        if cls.__name__ in _ID_TASKS
    ),
    st.builds(ChatCompletion, _ids.map(TaskId), _requests),
)


def _task_outcome(decode: Callable[[object], object], data: object) -> object:
    try:
        return decode(data)
    except WireError as exc:
        return f"WireError: {exc}"


def test_every_task_but_a_download_is_read_directly() -> None:
    assert sorted([*_ID_TASKS, "ChatCompletion"]) == sorted(
        cls.__name__ for cls in TASK_TYPES if cls is not DownloadModel
    )


@given(_tasks)
def test_a_task_as_task_to_json_writes_it_is_read_directly_into_the_same_task(task: Task) -> None:
    data = json.loads(json.dumps(task_to_json(task)))
    ((name, body),) = data.items()
    direct = _chat(body) if name == "ChatCompletion" else _id_task(name, body)
    assert direct == task == decode_task(data) == task_from_json(data)


_request_fields = st.fixed_dictionaries(
    {},
    optional={
        "messages": _json_values
        | st.lists(
            st.fixed_dictionaries(
                {"role": st.sampled_from(["user", "tool"]) | _json_values, "content": _json_values}
            ),
            max_size=2,
        ),
        "max_tokens": _json_values | st.integers(-1, 5),
        "temperature": _json_values | st.floats(allow_nan=True),
        "top_p": _json_values | st.floats(-1.0, 2.0),
        "stop": _json_values | st.lists(_json_values, max_size=2),
        "seed": _json_values,
        "extra": _json_values,
    },
)


@given(
    st.sampled_from([cls.__name__ for cls in TASK_TYPES] + ["Nope"]),
    st.fixed_dictionaries(
        {},
        optional={
            "task_id": _json_values,
            "cancel_task_id": _json_values,
            "request": _json_values | _request_fields,
            "extra": _json_values,
        },
    ),
)
def test_a_task_is_read_exactly_as_the_converter_reads_it(
    kind: str, fields: dict[str, object]
) -> None:
    """Whatever the fields, the direct reading's outcome is the converter's."""
    data = {kind: fields}
    assert _task_outcome(decode_task, data) == _task_outcome(task_from_json, data)


def test_a_request_with_an_unknown_field_in_place_of_a_nullable_one_is_refused() -> None:
    data = task_to_json(ChatCompletion(TaskId("c"), ChatRequest((ChatMessage("user", "hi"),))))
    request = data["ChatCompletion"]["request"]
    del request["seed"]
    request["extra"] = None
    assert _chat(data["ChatCompletion"]) is None
    assert _task_outcome(decode_task, data) == _task_outcome(task_from_json, data)
    assert str(_task_outcome(decode_task, data)).startswith("WireError")


_changes = st.lists(
    st.tuples(
        st.sampled_from(["task_id", "request", "cancel_task_id", *_REQUEST_FIELDS, "role", "x"]),
        st.sampled_from(["drop", "set", "add"]),
        _json_values | st.floats(allow_nan=True),
    ),
    min_size=1,
    max_size=2,
)


@given(_tasks, _changes)
def test_a_task_a_change_or_two_away_from_its_json_is_read_as_the_converter_reads_it(
    task: Task, changes: list[tuple[str, str, object]]
) -> None:
    """Fields dropped, replaced or added, in the task, its request or its first message."""
    data = json.loads(json.dumps(task_to_json(task)))
    ((_, body),) = data.items()
    for key, change, value in changes:
        request = body.get("request")
        target = body
        if key in _REQUEST_FIELDS and isinstance(request, dict):
            target = request
        elif key == "role" and isinstance(request, dict) and request.get("messages"):
            target = request["messages"][0]
        if change == "drop":
            target.pop(key, None)
        elif change == "set":
            target[key] = value
        else:
            target["extra"] = value
    assert _task_outcome(decode_task, data) == _task_outcome(task_from_json, data)


@given(
    _requests,
    st.sets(st.sampled_from(_REQUEST_FIELDS), max_size=1),
    st.booleans(),
    _json_values,
)
def test_a_request_short_of_a_field_or_with_another_is_read_as_the_converter_reads_it(
    request: ChatRequest, dropped: set[str], extra: bool, value: object
) -> None:
    data = json.loads(json.dumps(task_to_json(ChatCompletion(TaskId("c"), request))))
    fields = data["ChatCompletion"]["request"]
    for key in dropped:
        del fields[key]
    if extra:
        fields["extra"] = value
    assert _task_outcome(decode_task, data) == _task_outcome(task_from_json, data)
