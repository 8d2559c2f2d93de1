"""The channel's codec: the frequent events written and read directly, exactly as through the
converter (byte for byte when written, the same value or the same error when read)."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from exo_spec.runtime.engine_protocol import FinishReason
from exo_spec.runtime.wire import (
    ChunkGenerated,
    ErrorChunk,
    Event,
    RunnerFailed,
    RunnerId,
    RunnerLoading,
    RunnerStatusUpdated,
    TaskAcknowledged,
    TaskId,
    TaskStatusUpdated,
    TextChunk,
    WireError,
    event_to_json,
    from_json,
)
from exo_spec.supervisor.codec import _BARE, _small_event, decode_event, encode_event
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


@pytest.mark.parametrize(
    "event",
    [
        ChunkGenerated(TaskId("c"), TextChunk("x", True)),  # a bool is not a token id
        ChunkGenerated(TaskId("c"), ErrorChunk("gone")),
        RunnerStatusUpdated(RunnerId("r"), RunnerLoading(1, 3)),
        RunnerStatusUpdated(RunnerId("r"), RunnerFailed("boom")),
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
