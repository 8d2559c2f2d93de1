"""The real runner on the real tiny model, through the local hub: exo's trace, event by event."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from exo_spec.cli import main
from exo_spec.engine.download import model_dir_for
from exo_spec.engine.mlx_engine import EMBEDDED_MODEL_DIR, EMBEDDED_MODEL_REPO_ID, MlxEngine
from exo_spec.runtime.engine_protocol import ChatMessage, ChatRequest, ModelRef
from exo_spec.runtime.runner import run
from exo_spec.runtime.trace import describe_event
from exo_spec.runtime.wire import (
    BoundInstance,
    ChatCompletion,
    ChunkGenerated,
    DownloadModel,
    DownloadProgressed,
    Event,
    InstanceId,
    LoadModel,
    RunnerContext,
    RunnerId,
    RunnerLoading,
    RunnerStatusUpdated,
    Shutdown,
    StartWarmup,
    Task,
    TaskId,
    TextChunk,
)
from exo_spec.testing.hub import HubServer, serve_hub

# exo's trace for one runner's life (its own test asserts this order), with our ids.
EXO_TRACE = [
    "RunnerStatusUpdated(RunnerIdle)",
    "TaskStatusUpdated(d, Running)",
    "RunnerStatusUpdated(RunnerDownloading)",
    "TaskAcknowledged(d)",
    "<download progress>",
    "TaskStatusUpdated(d, Complete)",
    "RunnerStatusUpdated(RunnerIdle)",
    "TaskStatusUpdated(l, Running)",
    "RunnerStatusUpdated(RunnerLoading(0/0))",
    "TaskAcknowledged(l)",
    "RunnerStatusUpdated(RunnerLoading(1/4))",
    "RunnerStatusUpdated(RunnerLoading(2/4))",
    "RunnerStatusUpdated(RunnerLoading(3/4))",
    "RunnerStatusUpdated(RunnerLoading(4/4))",
    "TaskStatusUpdated(l, Complete)",
    "RunnerStatusUpdated(RunnerLoaded)",
    "TaskStatusUpdated(w, Running)",
    "RunnerStatusUpdated(RunnerWarmingUp)",
    "TaskAcknowledged(w)",
    "TaskStatusUpdated(w, Complete)",
    "RunnerStatusUpdated(RunnerReady)",
    "TaskStatusUpdated(c, Running)",
    "RunnerStatusUpdated(RunnerRunning)",
    "TaskAcknowledged(c)",
    "<chunks>",
    "TaskStatusUpdated(c, Complete)",
    "RunnerStatusUpdated(RunnerReady)",
    "TaskStatusUpdated(s, Running)",
    "RunnerStatusUpdated(RunnerShuttingDown)",
    "TaskAcknowledged(s)",
    "TaskStatusUpdated(s, Complete)",
    "RunnerStatusUpdated(RunnerShutdown)",
]


@pytest.fixture(scope="module")
def hub() -> Iterator[HubServer]:
    with serve_hub({EMBEDDED_MODEL_REPO_ID: EMBEDDED_MODEL_DIR}) as server:
        yield server


def normalise(events: list[Event]) -> list[str]:
    """Runs of progress events collapse to one marker; everything else is kept as is."""
    out: list[str] = []
    for event in events:
        if isinstance(event, DownloadProgressed):
            text = "<download progress>"
        elif isinstance(event, ChunkGenerated):
            text = "<chunks>"
        else:
            text = describe_event(event)
        if not (text.startswith("<") and out and out[-1] == text):
            out.append(text)
    return out


def test_real_runner_reproduces_exo_trace(hub: HubServer, tmp_path: Path) -> None:
    model = ModelRef(EMBEDDED_MODEL_REPO_ID)
    context = RunnerContext(
        RunnerId("r"),
        BoundInstance(InstanceId("i"), model),
        tmp_path,
        model_dir_for(tmp_path, EMBEDDED_MODEL_REPO_ID),
    )
    request = ChatRequest((ChatMessage("user", "And God said,"),), max_tokens=12)
    tasks: list[Task] = [
        DownloadModel(TaskId("d"), model),
        LoadModel(TaskId("l")),
        StartWarmup(TaskId("w")),
        ChatCompletion(TaskId("c"), request),
        Shutdown(TaskId("s")),
    ]
    events: list[Event] = []
    run(context, MlxEngine(endpoint=hub.url), tasks, events.append)
    assert normalise(events) == EXO_TRACE
    text = "".join(
        e.chunk.text
        for e in events
        if isinstance(e, ChunkGenerated) and isinstance(e.chunk, TextChunk)
    )
    assert sum(ch.isalpha() for ch in text) > len(text) // 2, text
    loading = [
        e.runner_status
        for e in events
        if isinstance(e, RunnerStatusUpdated) and isinstance(e.runner_status, RunnerLoading)
    ]
    assert loading[-1] == RunnerLoading(4, 4)


def test_demo_runs_the_whole_lifecycle(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--json", "--max-tokens", "6"]) == 0
    lines = capsys.readouterr().out.splitlines()
    events = [json.loads(line) for line in lines]
    kinds = [next(iter(e)) for e in events]
    assert kinds[0] == "RunnerStatusUpdated"
    assert events[-1] == {
        "RunnerStatusUpdated": {"runner_id": "runner-1", "runner_status": {"RunnerShutdown": {}}}
    }
    failed = [
        e["TaskStatusUpdated"]
        for e in events
        if "TaskStatusUpdated" in e and e["TaskStatusUpdated"]["task_status"] == "Failed"
    ]
    assert [f["task_id"] for f in failed] == ["load-again", "chat-bad"]
    assert "allowed here: ChatCompletion, Shutdown" in failed[0]["error_message"]
    assert kinds.count("ChunkGenerated") >= 4
