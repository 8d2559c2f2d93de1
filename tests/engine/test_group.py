"""A two-rank pipeline group of real runner processes on loopback (MLX ``ring`` backend).

Each rank is a supervised runner process with MlxEngine; the group is formed over real
sockets on 127.0.0.1. Every wait is bounded; nothing here measures time.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from exo_spec.engine.mlx_engine import EMBEDDED_MODEL_DIR, MlxEngine
from exo_spec.runtime.engine_protocol import ChatRequest, LoadProgress
from exo_spec.runtime.wire import (
    CancelTask,
    ChatCompletion,
    ChunkGenerated,
    ConnectToGroup,
    RunnerFailed,
    TaskId,
    TextChunk,
)
from tests.engine.group_harness import BOUND_S, RunningGroup, ask, free_ports

PROMPTS = [
    ask("And God said", max_tokens=24),
    ask("In the beginning", max_tokens=40),
    ask("The LORD is my shepherd", max_tokens=16, stop=("\n",)),
    ask("Blessed are", max_tokens=32, temperature=0.8, seed=7),
]


def _alive(pid: int | None) -> bool:
    if pid is None:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.fixture(scope="module")
def single() -> Iterator[MlxEngine]:
    engine = MlxEngine()
    list(engine.load(EMBEDDED_MODEL_DIR))
    yield engine
    engine.close()


@pytest.fixture(scope="module")
def group(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningGroup]:
    with RunningGroup(free_ports(2), tmp_path_factory.mktemp("models")) as running:
        running.form()
        yield running


def test_each_rank_loads_its_own_slice_of_the_layers(group: RunningGroup) -> None:
    # the load progress each rank reported while the group formed (read by form())
    assert len(group.loading) == 2
    for loading in group.loading:
        assert loading == [LoadProgress(1, 2), LoadProgress(2, 2)], loading  # 4 layers, 2 ranks


@pytest.mark.parametrize("request_", PROMPTS, ids=lambda r: r.messages[0].content)
def test_the_group_generates_the_tokens_of_one_rank(
    group: RunningGroup, single: MlxEngine, request_: ChatRequest
) -> None:
    expected = list(single.generate(request_, lambda: False))
    task_id = group.task_id("chat")
    group.submit(ChatCompletion(task_id, request_))
    output, other = group.chunks(0, task_id), group.chunks(1, task_id)
    assert [c.token_id for c in output] == [c.token_id for c in expected]
    assert "".join(c.text for c in output) == "".join(c.text for c in expected)
    assert output[-1].finish_reason == expected[-1].finish_reason
    # the other rank steps in lockstep with the same tokens and streams no text
    assert [c.token_id for c in other] == [c.token_id for c in expected]
    assert all(c.text == "" for c in other)
    assert group.wait_all(task_id) == ["Complete", "Complete"]


def _await_first_chunk(running: RunningGroup, task_id: TaskId) -> list[TextChunk]:
    """Until the output rank has streamed a token of ``task_id`` (the generation is under
    way); that chunk."""
    while True:
        event = running.events[0].get(BOUND_S)
        assert event is not None, "the supervisor closed before the generation streamed"
        if isinstance(event, ChunkGenerated) and event.task_id == task_id:
            assert isinstance(event.chunk, TextChunk)
            return [event.chunk]


def test_a_cancel_told_to_one_rank_stops_every_rank_then_a_killed_rank_fails_the_other(
    tmp_path: Path,
) -> None:
    with RunningGroup(free_ports(2), tmp_path, engine={"ignore_eos": True}) as running:
        running.form()
        # a cancel reaches rank 1 only: the ranks agree on it and both stop at the same token
        task_id = running.task_id("cancelled")
        running.submit(ChatCompletion(task_id, ask("And", max_tokens=1000)))
        first = _await_first_chunk(running, task_id)
        running.supervisors[1].submit(CancelTask(running.task_id("cancel"), task_id))
        assert running.wait_all(task_id) == ["Cancelled", "Cancelled"]
        output, other = first + running.chunks(0, task_id), running.chunks(1, task_id)
        assert output[-1].finish_reason == other[-1].finish_reason == "cancelled"
        assert [c.token_id for c in output] == [c.token_id for c in other]
        assert len(output) < 1000

        # SIGKILL of rank 1 mid-generation: rank 0 reports the lost group and fails the task
        task_id = running.task_id("doomed")
        running.submit(ChatCompletion(task_id, ask("And", max_tokens=1000)))
        _await_first_chunk(running, task_id)
        victim, survivor = running.supervisors[1], running.supervisors[0]
        os.kill(victim.pid or 0, signal.SIGKILL)
        status = survivor.wait_status("RunnerFailed", BOUND_S)
        assert isinstance(status, RunnerFailed)
        assert "group is lost" in (status.error_message or "")
        assert survivor.wait_task(task_id, BOUND_S) == "Failed"
        assert victim.wait_task(task_id, BOUND_S) == "Failed"
        assert _alive(survivor.pid)  # the runner reports the fault and keeps serving
    assert not _alive(survivor.pid)
    assert not _alive(victim.pid)


def test_a_peer_that_never_arrives_ends_at_the_connecting_deadline(tmp_path: Path) -> None:
    with RunningGroup(free_ports(2), tmp_path, ranks=[0], connecting_s=3.0) as alone:
        runner = alone.supervisors[0]
        task_id = alone.task_id("connect")
        runner.submit(ConnectToGroup(task_id))
        assert runner.wait_task(task_id, BOUND_S) == "Failed"
        status = runner.wait_status("RunnerFailed", BOUND_S)
        assert isinstance(status, RunnerFailed)
        assert "Connecting timed out" in (status.error_message or "")
        assert not _alive(runner.pid)


def test_shutdown_leaves_no_process_and_the_ports_can_be_reused_at_once(tmp_path: Path) -> None:
    ports = free_ports(2)
    with RunningGroup(ports, tmp_path) as first:
        first.form()
        pids = [s.pid for s in first.supervisors]
    assert [s.status.__class__.__name__ for s in first.supervisors] == ["RunnerShutdown"] * 2
    assert not any(_alive(pid) for pid in pids)
    with RunningGroup(ports, tmp_path) as second:
        second.form()
        task_id = TaskId("again")
        second.submit(ChatCompletion(task_id, ask("And God said", max_tokens=8)))
        assert second.wait_all(task_id) == ["Complete", "Complete"]
