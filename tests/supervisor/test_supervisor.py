"""The supervisor's pure parts (deadlines, mirror, health) and its process behaviour."""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from types import FrameType
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from loguru import logger

from exo_spec.generated.runner_machine import STATUS_OF, RunnerState
from exo_spec.runtime.engine_protocol import DownloadProgress
from exo_spec.runtime.wire import (
    ChunkGenerated,
    ConnectToGroup,
    DownloadProgressed,
    ErrorChunk,
    Event,
    RunnerFailed,
    RunnerId,
    RunnerIdle,
    RunnerLoading,
    RunnerStatusUpdated,
    TaskAcknowledged,
    TaskId,
    TaskStatusUpdated,
    TextChunk,
    status_for,
)
from exo_spec.supervisor import Deadline, RestartPolicy, RunnerSupervisor, StopBounds
from exo_spec.supervisor.child import (
    EXIT_CHANNEL_FAULT,
    EXIT_ENGINE_FAULT,
    ChannelFault,
    PipeTaskSource,
    decode_task,
)
from exo_spec.supervisor.deadlines import DeadlineClock, spec_deadlines
from exo_spec.supervisor.health import health_of
from exo_spec.supervisor.mirror import Change, Mirror
from exo_spec.supervisor.process import Ending, channel_cause, describe_exit
from tests.supervisor.cells import BOUND, MAKE, chat, group_context, runner_children
from tests.supervisor.engines import engine
from tests.supervisor.portability import needs_sabotage, needs_sigkill

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


_OVERRUN = "Loading timed out after 1 s"
_MALFORMED = "malformed message from runner process 7: ValueError: x"
_exits = st.sampled_from([None, 0, 1, EXIT_CHANNEL_FAULT, EXIT_ENGINE_FAULT, -9, -15])


@given(
    _exits,
    st.sampled_from([None, _OVERRUN]),
    st.sampled_from([None, _MALFORMED]),
    st.booleans(),
)
def test_a_fault_has_one_cause_whatever_was_seen_first(
    code: int | None, overrun: str | None, malformed: str | None, channel_closed: bool
) -> None:
    """The cause is a function of what is known about the end, most specific fact first."""
    cause = Ending(7, code, overrun, malformed, channel_closed).cause()
    if overrun is not None:
        assert cause == overrun
    elif malformed is not None:
        assert cause == malformed
    elif channel_closed or code == EXIT_CHANNEL_FAULT:
        assert (
            cause == channel_cause(7) == "the channel from runner process 7 closed (channel fault)"
        )
    else:
        assert cause == describe_exit(7, code)


def test_a_channel_fault_reads_the_same_on_either_wake_up() -> None:
    """Seen at the pipe's end (the runner lived on and was killed) or at the sentinel (the runner
    exited with the channel-fault code): one message."""
    at_the_pipe = Ending(7, -9, channel_closed=True).cause()
    at_the_sentinel = Ending(7, EXIT_CHANNEL_FAULT).cause()
    assert at_the_pipe == at_the_sentinel == channel_cause(7)
    assert Ending(7, -9).cause() == "runner process 7 killed by SIGKILL"


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
        st.sampled_from(["Running", "Complete", "Failed", "Cancelled"]),
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


def _restarted(supervisor: RunnerSupervisor, old: int) -> int:
    """Wait for a fresh process (not ``old``) to report RunnerIdle; its pid. Waiting on the pid
    and the status together does not depend on seeing the RunnerFailed in between (a restart
    can replace it before this thread looks)."""
    supervisor.wait_status(
        lambda status: isinstance(status, RunnerIdle) and supervisor.pid not in (None, old), BOUND
    )
    pid = supervisor.pid
    assert pid is not None
    return pid


def _failures(events: list[Event]) -> list[str]:
    return [
        e.runner_status.error_message
        for e in events
        if isinstance(e, RunnerStatusUpdated) and isinstance(e.runner_status, RunnerFailed)
    ]


@needs_sigkill
def test_a_crash_in_running_is_reported_then_the_budget_is_spent() -> None:
    supervisor = RunnerSupervisor(
        group_context("restart"),
        engine(block=["generate"]),
        restart=RestartPolicy(max_restarts=1, backoff_s=0.01),
    )
    stream = supervisor.subscribe()
    with supervisor:
        supervisor.wait_status("RunnerIdle", BOUND)
        first = supervisor.pid
        assert first is not None
        os.kill(first, signal.SIGKILL)
        second = _restarted(supervisor, first)  # restarted: a fresh process
        for name in ("ConnectToGroup", "LoadModel", "StartWarmup"):
            action = {"ConnectToGroup": "connect", "LoadModel": "load", "StartWarmup": "warmup"}
            task_id = supervisor.submit(MAKE[action[name]](name))
            assert supervisor.wait_task(task_id, BOUND) == "Complete"
        running = supervisor.submit(chat("c"))
        supervisor.wait_status("RunnerRunning", BOUND)
        assert supervisor.health()["restart_budget_left"] == 1  # a completed task reset it
        os.kill(second, signal.SIGKILL)  # its latency is measured in bench_supervisor.py
        assert supervisor.wait_task(running, BOUND) == "Failed"
        third = _restarted(supervisor, second)  # the reset budget allows one more restart
        os.kill(third, signal.SIGKILL)  # a second crash in a row, nothing completed: spent
        status = supervisor.wait_status(
            lambda s: isinstance(s, RunnerFailed) and "spent" in s.error_message, BOUND
        )
        assert isinstance(status, RunnerFailed)
        assert status.error_message == (
            f"runner process {third} killed by SIGKILL; not restarted: restart budget of 1 spent"
        )
    assert _failures(list(stream)) == [
        f"runner process {first} killed by SIGKILL",
        f"runner process {second} killed by SIGKILL",
        status.error_message,
    ]
    health = supervisor.health()
    assert health["restarts"] == 2
    assert health["restart_budget_spent"] is True
    assert health["alive"] is False
    assert runner_children() == []


@needs_sigkill
def test_a_runner_that_ignores_sigterm_is_terminated_then_killed() -> None:
    supervisor = RunnerSupervisor(
        group_context("stubborn"),
        engine(block=["connect"], ignore_sigterm=True),
        bounds=StopBounds(shutdown_s=0.2, terminate_s=0.3, kill_s=2.0),
    )
    supervisor.start()
    supervisor.wait_status("RunnerIdle", BOUND)
    task_id = supervisor.submit(_connect())
    supervisor.wait_status("RunnerConnecting", BOUND)
    closer = threading.Thread(target=supervisor.close, daemon=True)
    closer.start()
    closer.join(BOUND)
    assert not closer.is_alive(), f"close() still running after {BOUND} s"
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


# -- faults on the supervisor's side ----------------------------------------------------------


@needs_sigkill
def test_a_raising_callback_stops_neither_tasks_nor_crash_detection() -> None:
    calls: list[Event] = []
    errors: list[dict[str, Any]] = []

    def explode(event: Event) -> None:
        calls.append(event)
        raise RuntimeError("a subscriber's bug")

    supervisor = RunnerSupervisor(
        group_context("raising"), engine(), restart=RestartPolicy(max_restarts=0)
    )
    supervisor.on_event(explode)
    events = supervisor.subscribe()
    logger.enable("exo_spec.supervisor.fanout")  # the library's logging is off by default
    sink = logger.add(lambda m: errors.append(m.record["extra"]), level="ERROR")
    try:
        with supervisor:
            supervisor.wait_status("RunnerIdle", BOUND)
            for name in ("connect", "load"):
                assert supervisor.wait_task(supervisor.submit(MAKE[name](name)), BOUND) == (
                    "Complete"
                )
            pid = supervisor.pid
            assert pid is not None
            os.kill(pid, signal.SIGKILL)
            status = supervisor.wait_status("RunnerFailed", BOUND)
            assert isinstance(status, RunnerFailed)
            assert "killed by SIGKILL" in status.error_message
            late = supervisor.submit(_connect("late"))  # fails at once; the callback raises
            assert supervisor.task_status(late) == "Failed"
    finally:
        logger.remove(sink)
        logger.disable("exo_spec.supervisor.fanout")
    assert len(calls) == len(list(events))  # every event reached the callback and the stream
    assert errors
    assert all(extra.get("runner_id") == "raising" for extra in errors)


@needs_sabotage
def test_a_deeply_nested_message_is_a_malformed_message() -> None:
    supervisor = RunnerSupervisor(
        group_context("nested"),
        engine(garbage="[" * 100_000),
        restart=RestartPolicy(max_restarts=0),
    )
    with supervisor:
        supervisor.wait_status("RunnerIdle", BOUND)
        pid = supervisor.pid
        assert pid is not None
        os.kill(pid, signal.SIGUSR1)
        status = supervisor.wait_status("RunnerFailed", BOUND)
        assert isinstance(status, RunnerFailed)
        assert "malformed message" in status.error_message
        assert "RecursionError" in status.error_message
        late = supervisor.submit(_connect("late"))
        assert supervisor.wait_task(late, BOUND) == "Failed"
    assert supervisor.health()["alive"] is False
    assert runner_children() == []


def test_a_deeply_nested_task_is_a_channel_fault_in_the_runner() -> None:
    with pytest.raises(ChannelFault, match="malformed task on the channel: RecursionError"):
        decode_task(b"[" * 100_000)
    ours, theirs = multiprocessing.Pipe()
    try:
        ours.send_bytes(b"[" * 100_000)
        with pytest.raises(ChannelFault, match="RecursionError"):
            next(iter(PipeTaskSource(theirs)))
    finally:
        ours.close()
        theirs.close()


def _in_condition_wait(thread: threading.Thread) -> bool:
    """Whether ``thread`` is blocked in ``Condition.wait`` (so it has looked its task up)."""
    assert thread.ident is not None
    frame: FrameType | None = sys._current_frames().get(thread.ident)
    while frame is not None:
        if frame.f_code is threading.Condition.wait.__code__:
            return True
        frame = frame.f_back
    return False


def _until(predicate: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + BOUND
    while not predicate():
        assert time.monotonic() < deadline, f"{what} not within {BOUND} s"
        time.sleep(0.001)


def test_a_waiter_gets_the_final_status_even_when_the_history_drops_it() -> None:
    task_id = TaskId("connect")
    running, gate = threading.Event(), threading.Event()

    def hold_the_watcher(event: Event) -> None:  # the task cannot end while this waits
        if (
            isinstance(event, TaskStatusUpdated)
            and event.task_id == task_id
            and event.task_status == "Running"
        ):
            running.set()
            gate.wait(BOUND)

    supervisor = RunnerSupervisor(group_context("history"), engine(), history=0)
    supervisor.on_event(hold_the_watcher)
    results: list[object] = []

    def wait() -> None:
        try:
            results.append(supervisor.wait_task(task_id, BOUND))
        except Exception as exc:
            results.append(exc)

    with supervisor:
        supervisor.wait_status("RunnerIdle", BOUND)
        supervisor.submit(_connect())
        assert running.wait(BOUND)
        waiter = threading.Thread(target=wait, daemon=True)
        waiter.start()
        _until(lambda: _in_condition_wait(waiter), "the waiter waiting")
        gate.set()
        waiter.join(BOUND)
        assert results == ["Complete"]
        assert supervisor.task_status(task_id) is None  # a history of 0 keeps no finished task
        with pytest.raises(KeyError, match="dropped from the history of the last 0"):
            supervisor.wait_task(task_id, BOUND)
