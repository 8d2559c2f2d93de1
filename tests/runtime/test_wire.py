"""Every wire type round-trips through plain JSON in exo's tagged shape."""

from __future__ import annotations

import json
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from exo_spec.runtime import engine_protocol, wire
from exo_spec.runtime.engine_protocol import ChatMessage, ChatRequest, DownloadProgress, ModelRef
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
st.register_type_strategy(
    ChatRequest,
    st.builds(
        ChatRequest,
        messages=st.lists(st.builds(ChatMessage), max_size=3).map(tuple),
        stop=st.lists(_text, max_size=2).map(tuple),
    ),
)
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


def test_status_for_every_spec_status(runner_spec: Any) -> None:
    for state in runner_spec.states:
        status = wire.status_for(state.status, "boom")
        assert type(status).__name__ == state.status
    assert wire.status_for("RunnerFailed", "out of memory") == wire.RunnerFailed("out of memory")
    with pytest.raises(WireError, match="unknown runner status 'RunnerBored'"):
        wire.status_for("RunnerBored")
