"""The supervisor's pure parts (deadlines, mirror, health) and its process behaviour."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time

from hypothesis import given, settings
from hypothesis import strategies as st

from exo_spec.runtime.engine_protocol import DownloadProgress
from exo_spec.runtime.wire import (
    ChunkGenerated,
    ConnectToGroup,
    DownloadProgressed,
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
    status_for,
)
from exo_spec.supervisor import Deadline, RestartPolicy, RunnerSupervisor, StopBounds
from exo_spec.supervisor.deadlines import DeadlineClock, spec_deadlines
from exo_spec.supervisor.health import health_of
from exo_spec.supervisor.mirror import Change, Mirror
from exo_spec_generated.runner_machine import STATUS_OF, RunnerState
from tests.supervisor.cells import BOUND, MAKE, chat, group_context, runner_children
from tests.supervisor.engines import engine

# -- pure parts -------------------------------------------------------------------------------


def test_deadlines_come_from_the_spec_and_can_be_shortened() -> None:
    table = spec_deadlines({"loading": Deadline(1.0, 0.5)})
    assert table[RunnerState.downloading] == Deadline(3600.0, 120.0)
    assert table[RunnerState.loading] == Deadline(1.0, 0.5)


def test_a_stall_is_reported_and_progress_restarts_its_timer() -> None:
    clock = DeadlineClock(spec_deadlines())
    clock.enter(RunnerState.loading, now=0.0)
    clock.progress(now=250.0)
    assert clock.expired(now=500.0) is None
    assert clock.expired(now=550.0) == "Loading stalled: no progress for 300 s"
    assert clock.expired(now=900.0) == "Loading timed out after 900 s"


def test_a_resting_state_has_no_deadline() -> None:
    clock = DeadlineClock(spec_deadlines())
    clock.enter(RunnerState.ready, now=0.0)
    assert clock.next_expiry() is None


def test_loading_progress_is_progress_not_a_new_state() -> None:
    mirror = Mirror()
    rid = RunnerId("r")
    assert mirror.apply(RunnerStatusUpdated(rid, RunnerLoading(0, 0))) is Change.ENTERED
    assert mirror.apply(RunnerStatusUpdated(rid, RunnerLoading(1, 3))) is Change.PROGRESS


_task_ids = st.sampled_from([TaskId(f"t{i}") for i in range(4)])
_events: st.SearchStrategy[Event] = st.one_of(
    st.builds(
        RunnerStatusUpdated,
        st.just(RunnerId("r")),
        st.sampled_from(sorted(set(STATUS_OF.values()))).map(lambda n: status_for(n, "x")),
    ),
    st.builds(
        TaskStatusUpdated,
        _task_ids,
        st.sampled_from(["Pending", "Running", "Complete", "Failed", "Cancelled"]),
        st.none() | st.text(max_size=5),
    ),
    st.builds(TaskAcknowledged, _task_ids),
    st.builds(ChunkGenerated, _task_ids, st.builds(TextChunk, st.text(max_size=3), st.integers())),
    st.builds(ChunkGenerated, _task_ids, st.builds(ErrorChunk, st.text(max_size=3))),
    st.builds(DownloadProgressed, _task_ids, st.just(DownloadProgress(1, 2, 0, 1))),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(_events, max_size=30), st.booleans())
def test_the_health_snapshot_is_always_plain_json(events: list[Event], fail: bool) -> None:
    mirror = Mirror()
    for index in range(4):
        mirror.submitted(chat(f"t{index}"))
    for event in events:
        mirror.apply(event)
    if fail:
        mirror.fail_all(RunnerId("r"), RunnerFailed("gone"), "gone")
        assert not mirror.open_tasks
    health = health_of(
        mirror,
        runner_id="r",
        pid=None,
        alive=False,
        uptime_s=float("nan"),
        restarts=0,
        restart_budget_left=-1,
        restart_budget_spent=True,
    )
    text = json.dumps(health.to_json(), allow_nan=False)
    assert json.loads(text)["runner_id"] == "r"


# -- processes --------------------------------------------------------------------------------


def test_a_crash_in_running_is_reported_within_100_ms_then_the_budget_is_spent() -> None:
    supervisor = RunnerSupervisor(
        group_context("restart"),
        engine(block=["generate"]),
        restart=RestartPolicy(max_restarts=1, backoff_s=0.01),
    )
    with supervisor:
        supervisor.wait_status("RunnerIdle", BOUND)
        first = supervisor.pid
        assert first is not None
        os.kill(first, signal.SIGKILL)
        supervisor.wait_status("RunnerFailed", BOUND)
        supervisor.wait_status("RunnerIdle", BOUND)  # restarted: a fresh process
        second = supervisor.pid
        assert second is not None
        assert second != first
        for name in ("ConnectToGroup", "LoadModel", "StartWarmup"):
            action = {"ConnectToGroup": "connect", "LoadModel": "load", "StartWarmup": "warmup"}
            task_id = supervisor.submit(MAKE[action[name]](name))
            assert supervisor.wait_task(task_id, BOUND) == "Complete"
        running = supervisor.submit(chat("c"))
        supervisor.wait_status("RunnerRunning", BOUND)
        assert supervisor.health()["restart_budget_left"] == 1  # a completed task reset it
        started = time.monotonic()
        os.kill(second, signal.SIGKILL)
        status = supervisor.wait_status("RunnerFailed", BOUND)
        latency = time.monotonic() - started
        assert latency < 0.1, f"crash reported after {latency * 1000:.0f} ms"
        assert isinstance(status, RunnerFailed)
        assert "killed by SIGKILL" in status.error_message
        assert supervisor.wait_task(running, BOUND) == "Failed"
    health = supervisor.health()
    assert health["restarts"] == 1
    assert health["alive"] is False
    assert runner_children() == []


def test_a_runner_that_ignores_sigterm_is_killed_within_the_bounds() -> None:
    supervisor = RunnerSupervisor(
        group_context("stubborn"),
        engine(block=["connect"], ignore_sigterm=True),
        bounds=StopBounds(shutdown_s=0.2, terminate_s=0.3, kill_s=2.0),
    )
    supervisor.start()
    supervisor.wait_status("RunnerIdle", BOUND)
    task_id = supervisor.submit(_connect())
    supervisor.wait_status("RunnerConnecting", BOUND)
    started = time.monotonic()
    supervisor.close()
    assert time.monotonic() - started < 0.2 + 0.3 + 2.0
    assert supervisor.signals_sent == ("SIGTERM", "SIGKILL")
    assert supervisor.task_status(task_id) == "Failed"
    supervisor.close()  # idempotent
    assert supervisor.signals_sent == ("SIGTERM", "SIGKILL")
    later = supervisor.submit(_connect("late"))
    assert supervisor.task_status(later) == "Failed"


def _connect(task_id: str = "connect") -> ConnectToGroup:
    return ConnectToGroup(TaskId(task_id))


def test_an_asyncio_caller_streams_a_completion() -> None:
    async def scenario() -> list[Event]:
        async with RunnerSupervisor(group_context("async"), engine(tokens=5)) as supervisor:
            events = supervisor.subscribe_async()
            await asyncio.to_thread(supervisor.wait_status, "RunnerIdle", BOUND)
            for name in ("connect", "load", "warmup"):
                await supervisor.await_task(supervisor.submit(MAKE[name](name)), BOUND)
            task_id = supervisor.submit(chat("c"))
            assert await supervisor.await_task(task_id, BOUND) == "Complete"
        return [event async for event in events]

    events = asyncio.run(scenario())
    chunks = [e for e in events if isinstance(e, ChunkGenerated) and e.task_id == "c"]
    assert len(chunks) == 5
    assert isinstance(events[-1], RunnerStatusUpdated)
    assert type(events[-1].runner_status).__name__ == "RunnerShutdown"
