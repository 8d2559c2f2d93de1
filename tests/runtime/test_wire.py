"""Every wire type round-trips through plain JSON in exo's tagged shape."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from exo_spec.runtime import engine_protocol, wire
from exo_spec.runtime.engine_protocol import (
    MAX_TOKENS_LIMIT,
    ChatMessage,
    ChatRequest,
    DownloadProgress,
    LoadProgress,
    ModelRef,
)
from exo_spec.runtime.wire import (
    Event,
    RunnerStatus,
    Task,
    WireError,
    event_from_json,
    event_to_json,
    from_json,
    task_from_json,
    task_to_json,
    to_json,
)

for _module in (wire, engine_protocol):
    for _value in vars(_module).values():
        if attrs.has(_value):
            attrs.resolve_types(_value)

_text = st.text(max_size=20)
_ids = st.text(min_size=1, max_size=12)
st.register_type_strategy(wire.TaskId, _ids.map(wire.TaskId))
st.register_type_strategy(wire.RunnerId, _ids.map(wire.RunnerId))
st.register_type_strategy(float, st.floats(allow_nan=False, allow_infinity=False, width=64))
st.register_type_strategy(int, st.integers(min_value=0, max_value=2**40))
st.register_type_strategy(
    ChatRequest,
    st.builds(
        ChatRequest,
        messages=st.lists(st.builds(ChatMessage), min_size=1, max_size=3).map(tuple),
        max_tokens=st.integers(min_value=1, max_value=MAX_TOKENS_LIMIT),
        temperature=st.floats(min_value=0.0, max_value=2.0),
        top_p=st.floats(min_value=0.0, max_value=1.0, exclude_min=True),
        stop=st.lists(st.text(min_size=1, max_size=20), max_size=2).map(tuple),
        seed=st.none() | st.integers(min_value=0, max_value=2**63 - 1),
    ),
)


@st.composite
def _counts(draw: st.DrawFn) -> tuple[int, int]:
    total = draw(st.integers(min_value=0, max_value=2**40))
    return draw(st.integers(min_value=0, max_value=total)), total


st.register_type_strategy(
    DownloadProgress,
    st.builds(lambda b, f: DownloadProgress(b[0], b[1], f[0], f[1]), _counts(), _counts()),
)
st.register_type_strategy(LoadProgress, _counts().map(lambda c: LoadProgress(*c)))
st.register_type_strategy(wire.RunnerLoading, _counts().map(lambda c: wire.RunnerLoading(*c)))
st.register_type_strategy(
    ModelRef,
    st.builds(ModelRef, allow_patterns=st.lists(_text, max_size=3).map(tuple)),
)


def _plain(data: object) -> bool:
    """Only str keys and JSON values, all the way down."""
    if isinstance(data, dict):
        return all(isinstance(k, str) and _plain(v) for k, v in data.items())
    if isinstance(data, list):
        return all(_plain(v) for v in data)
    return data is None or isinstance(data, str | int | float | bool)


@given(st.from_type(Task))  # type: ignore[arg-type]
def test_tasks_round_trip(task: Task) -> None:
    data = task_to_json(task)
    assert _plain(data)
    assert list(data) == [type(task).__name__]
    assert task_from_json(json.loads(json.dumps(data))) == task


@given(st.from_type(Event))  # type: ignore[arg-type]
def test_events_round_trip(event: Event) -> None:
    data = event_to_json(event)
    assert _plain(data)
    assert event_from_json(json.loads(json.dumps(data))) == event


@given(st.from_type(RunnerStatus))  # type: ignore[arg-type]
def test_statuses_round_trip(status: Any) -> None:
    data = to_json(status, RunnerStatus)
    assert from_json(json.loads(json.dumps(data)), RunnerStatus) == status


def test_exo_shape() -> None:
    event = wire.RunnerStatusUpdated(wire.RunnerId("r1"), wire.RunnerLoading(3, 8))
    assert event_to_json(event) == {
        "RunnerStatusUpdated": {
            "runner_id": "r1",
            "runner_status": {"RunnerLoading": {"layers_loaded": 3, "total_layers": 8}},
        }
    }
    progress = wire.DownloadProgressed(wire.TaskId("t"), DownloadProgress(1, 2, 0, 1))
    assert event_to_json(progress)["DownloadProgressed"]["progress"]["total_files"] == 1


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        ({}, "exactly one key"),
        ([], "exactly one key"),
        ({"LoadModel": {}, "Shutdown": {}}, "exactly one key"),
        ({"Reboot": {}}, "unknown type 'Reboot'; expected one of: DownloadModel"),
        ({"LoadModel": 3}, "must hold an object"),
        ({"LoadModel": {"task_id": 3}}, "expected a string, got 3"),
        ({"LoadModel": {"task_id": "t", "colour": "red"}}, "colour"),
        (
            {"ChatCompletion": {"task_id": "t", "request": {"messages": [], "max_tokens": True}}},
            "integer",
        ),
    ],
)
def test_malformed_tasks_are_named(data: object, fragment: str) -> None:
    with pytest.raises(WireError, match=fragment):
        task_from_json(data)


def _chat(**request: object) -> dict[str, object]:
    body: dict[str, object] = {"messages": [{"role": "user", "content": "hi"}], **request}
    return {"ChatCompletion": {"task_id": "t", "request": body}}


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (_chat(messages=[]), "request: messages must hold at least one message"),
        (_chat(max_tokens=-1), r"max_tokens must be a number in \[1, "),
        (_chat(max_tokens=0), "max_tokens must be"),
        (_chat(max_tokens=10**30), "max_tokens must be"),
        (_chat(temperature=float("nan")), "temperature must be a number in"),
        (_chat(temperature=float("inf")), "temperature must be"),
        (_chat(temperature=-0.5), "temperature must be"),
        (_chat(top_p=0.0), r"top_p must be a number in \(0, 1\]"),
        (_chat(seed=-1), "seed must be in"),
        (_chat(stop=[""]), "stop strings must not be empty"),
        (_chat(stop=["x"] * 17), "stop may hold at most 16"),
        ({"LoadModel": {"task_id": 3}}, "LoadModel: task_id: expected a string, got 3"),
        (
            {"ChatCompletion": {"task_id": "t", "request": {"messages": [{"role": "user"}]}}},
            r"request.messages\[0\]",
        ),
    ],
)
def test_out_of_range_requests_are_refused_with_the_field(data: object, fragment: str) -> None:
    with pytest.raises(WireError, match=fragment):
        task_from_json(data)


def _progress(**fields: int) -> dict[str, object]:
    progress = {"downloaded_bytes": 1, "total_bytes": 2, "files_done": 0, "total_files": 1}
    return {"DownloadProgressed": {"task_id": "t", "progress": {**progress, **fields}}}


def _loading(done: int, total: int) -> dict[str, object]:
    status = {"RunnerLoading": {"layers_loaded": done, "total_layers": total}}
    return {"RunnerStatusUpdated": {"runner_id": "r", "runner_status": status}}


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (_progress(downloaded_bytes=-1), "downloaded_bytes must be 0 or more"),
        (_progress(total_files=-3), "total_files must be 0 or more"),
        (_progress(files_done=5, total_files=2), r"files_done \(5\) exceeds total_files"),
        (_loading(-1, 4), "layers_loaded must be 0 or more"),
        (_loading(5, 4), r"layers_loaded \(5\) exceeds total_layers \(4\)"),
        ({"TaskStatusUpdated": {"task_id": "t", "task_status": "Pending"}}, "task_status"),
        ({"TaskStatusUpdated": {"task_id": "t", "task_status": "Done"}}, "task_status"),
    ],
)
def test_impossible_events_are_refused(data: object, fragment: str) -> None:
    with pytest.raises(WireError, match=fragment):
        event_from_json(data)


def test_status_for_every_spec_status(runner_spec: Any) -> None:
    for state in runner_spec.states:
        status = wire.status_for(state.status, "boom")
        assert type(status).__name__ == state.status
    assert wire.status_for("RunnerFailed", "out of memory") == wire.RunnerFailed("out of memory")
    with pytest.raises(WireError, match="unknown runner status 'RunnerBored'"):
        wire.status_for("RunnerBored")


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)


def _chunk_like(draw_fields: dict[str, object]) -> dict[str, object]:
    return {"ChunkGenerated": {"task_id": "t", "chunk": {"TextChunk": draw_fields}}}


@given(
    st.fixed_dictionaries(
        {},
        optional={
            "text": _json_values,
            "token_id": _json_values,
            "finish_reason": _json_values | st.sampled_from(["stop", "length", "cancelled"]),
            "extra": _json_values,
        },
    )
)
def test_the_text_chunk_fast_path_decodes_exactly_as_the_converter(
    fields: dict[str, object],
) -> None:
    """Text chunks skip the converter; whatever the fields, the outcome is the converter's."""
    data = _chunk_like(fields)

    def outcome(decode: Callable[[object], object]) -> object:
        try:
            return decode(data)
        except WireError as exc:
            return f"WireError: {exc}"

    assert outcome(event_from_json) == outcome(lambda d: from_json(d, Event))


@given(st.from_type(Event))  # type: ignore[arg-type]
def test_the_fast_encoder_writes_what_the_converter_writes(event: Event) -> None:
    assert event_to_json(event) == to_json(event, Event)
