"""Hostile and unlucky cases: frozen and orphaned runners, unusable tasks, a subscriber that
never reads. Each asserts the outcome (statuses, records, processes), never a timing."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import signal
import subprocess
import sys
import textwrap

import psutil
import pytest

from exo_spec.conformance.scripted_engine import ScriptedEngine
from exo_spec.runtime.engine_protocol import ChatRequest
from exo_spec.runtime.runner import Runner
from exo_spec.runtime.wire import (
    ChatCompletion,
    ConnectToGroup,
    Event,
    LoadModel,
    RunnerFailed,
    RunnerId,
    RunnerIdle,
    RunnerStatusUpdated,
    Shutdown,
    TaskAcknowledged,
    TaskId,
    TaskStatusUpdated,
)
from exo_spec.supervisor import (
    EngineFactory,
    Liveness,
    RestartPolicy,
    RunnerSupervisor,
    SubscriptionDroppedError,
    SupervisorError,
)
from exo_spec.supervisor.child import PipeTaskSource
from exo_spec.supervisor.fanout import Fanout
from tests.supervisor.cells import BOUND, MAKE, chat, group_context, runner_children
from tests.supervisor.engines import ENGINE, engine
from tests.supervisor.portability import needs_sigkill

needs_sigstop = pytest.mark.skipif(
    not hasattr(signal, "SIGSTOP"), reason="needs SIGSTOP (POSIX) to freeze the runner"
)
FAST_LIVENESS = Liveness(heartbeat_s=0.1, timeout_s=2.0, startup_s=BOUND)


# -- a frozen runner ----------------------------------------------------------------------------


@needs_sigstop
@pytest.mark.parametrize("resting", ["idle", "ready"])
def test_a_frozen_runner_is_noticed_its_tasks_fail_and_it_restarts(resting: str) -> None:
    supervisor = RunnerSupervisor(
        group_context(f"frozen-{resting}"),
        engine(),
        liveness=FAST_LIVENESS,
        restart=RestartPolicy(max_restarts=1, backoff_s=0.01),
    )
    with supervisor:
        supervisor.wait_status("RunnerIdle", BOUND)
        if resting == "ready":
            for name in ("connect", "load", "warmup"):
                assert supervisor.wait_task(supervisor.submit(MAKE[name](name)), BOUND) == (
                    "Complete"
                )
        frozen = supervisor.pid
        assert frozen is not None
        os.kill(frozen, signal.SIGSTOP)
        task_id = supervisor.submit(chat("while-frozen"))
        assert supervisor.wait_task(task_id, BOUND) == "Failed"
        supervisor.wait_status(
            lambda s: isinstance(s, RunnerIdle) and supervisor.pid not in (None, frozen), BOUND
        )
        assert supervisor.health()["restarts"] == 1
        assert not psutil.pid_exists(frozen)
    assert any(
        "stopped responding: no heartbeat or event for 2 s" in message
        for message in _failures(supervisor)
    )
    assert runner_children() == []


def _failures(supervisor: RunnerSupervisor) -> list[str]:
    return [
        str(message)
        for message in (supervisor.health()["last_error"], supervisor.health()["status_message"])
        if message
    ]


def test_a_runner_that_keeps_talking_is_not_frozen() -> None:
    """A quiet but live runner (resting, nothing to do) is heard through its heartbeats."""
    supervisor = RunnerSupervisor(
        group_context("quiet"), engine(), liveness=Liveness(0.05, 2.0, BOUND)
    )
    with supervisor:
        supervisor.wait_status("RunnerIdle", BOUND)
        first = supervisor.pid
        with pytest.raises(TimeoutError):  # two liveness bounds pass with nothing to do
            supervisor.wait_status(lambda _: False, 4.0)
        assert supervisor.pid == first
        assert supervisor.wait_task(supervisor.submit(ConnectToGroup(TaskId("c"))), BOUND) == (
            "Complete"
        )
        assert supervisor.health()["restarts"] == 0


# -- an orphaned runner -------------------------------------------------------------------------

_HOLDER = textwrap.dedent(
    """
    import sys, threading
    from exo_spec.supervisor import RunnerSupervisor, Liveness
    from tests.supervisor.cells import MAKE, group_context
    from tests.supervisor.engines import ENGINE, engine

    supervisor = RunnerSupervisor(
        group_context("orphan"), engine(block=[sys.argv[1]]), liveness=Liveness(0.1, 5.0, 60.0)
    )
    supervisor.start()
    supervisor.wait_status("RunnerIdle", 60)
    supervisor.submit(MAKE[sys.argv[1]]("blocked"))
    supervisor.wait_status(lambda s: type(s).__name__ != "RunnerIdle", 60)
    print(supervisor.pid, flush=True)
    threading.Event().wait()
    """
)


@needs_sigkill
@pytest.mark.parametrize("action", ["download", "connect"])
def test_a_runner_dies_with_its_supervisors_process(action: str) -> None:
    """SIGKILL the supervisor's process while the runner is inside a blocked action: the
    runner ends by itself (the kernel's parent-death signal, or the watchdog thread)."""
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, action],
        stdout=subprocess.PIPE,
        text=True,
        cwd=os.getcwd(),
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    try:
        assert holder.stdout is not None
        line = holder.stdout.readline()
        assert line.strip().isdigit(), f"the holder printed {line!r}"
        runner = psutil.Process(int(line))
        holder.kill()
        holder.wait(BOUND)
        _, alive = psutil.wait_procs([runner], timeout=BOUND)
        assert alive == [], f"runner {runner.pid} outlived its supervisor's process"
    finally:
        holder.kill()
        holder.wait(BOUND)


# -- unusable tasks -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("task", "field"),
    [
        (ConnectToGroup(TaskId(123)), "ConnectToGroup: task_id: expected a string, got 123"),  # type: ignore[arg-type]
        (LoadModel(None), "LoadModel: task_id: expected a string"),  # type: ignore[arg-type]
        (
            ChatCompletion(
                TaskId("chat"),
                ChatRequest.__new__(ChatRequest),  # no fields at all: unusable payload
            ),
            "ChatCompletion",
        ),
    ],
)
def test_an_unusable_task_is_refused_at_submit_and_leaves_no_record(
    task: object, field: str
) -> None:
    supervisor = RunnerSupervisor(group_context("unusable"), engine())
    with supervisor:
        supervisor.wait_status("RunnerIdle", BOUND)
        pid = supervisor.pid
        with pytest.raises(SupervisorError, match="cannot be sent") as raised:
            supervisor.submit(task)  # type: ignore[arg-type]
        assert field in str(raised.value)
        task_id = getattr(task, "task_id", None)
        if isinstance(task_id, str):
            with pytest.raises(KeyError):
                supervisor.wait_task(TaskId(task_id), BOUND)
            # the id is free: the same id with a usable task is taken
            again = supervisor.submit(ConnectToGroup(TaskId(task_id)))
            assert supervisor.wait_task(again, BOUND) == "Complete"
        assert supervisor.pid == pid  # the runner never saw it, nothing was lost
        assert isinstance(supervisor.status, RunnerIdle | type(supervisor.status))


def test_the_runner_fails_an_unreadable_task_and_goes_on_serving() -> None:
    ours, theirs = multiprocessing.Pipe()
    events: list[Event] = []
    runner = Runner(group_context("reader"), ScriptedEngine(), events.append)
    try:
        ours.send_bytes(b'{"LoadModel": {"task_id": "bad", "colour": "red"}}')
        ours.send_bytes(b"not json at all")
        ours.send_bytes(b'{"ConnectToGroup": {"task_id": "good"}}')
        ours.send_bytes(b'{"ConnectToGroup": {"task_id": "good", "x": 1}}')  # id taken
        ours.send_bytes(b'{"Shutdown": {"task_id": "s"}}')
        runner.serve(PipeTaskSource(theirs, runner.fail_unreadable))
    finally:
        ours.close()
        theirs.close()
    finals = [
        (e.task_id, e.task_status, e.error_message)
        for e in events
        if isinstance(e, TaskStatusUpdated) and e.task_status in ("Complete", "Failed")
    ]
    assert finals[0][:2] == ("bad", "Failed")
    assert "colour" in str(finals[0][2])
    assert [(t, s) for t, s, _ in finals[1:]] == [("good", "Complete"), ("s", "Complete")]
    assert TaskAcknowledged(TaskId("good")) in events


# -- a subscriber that never reads --------------------------------------------------------------


def _status(index: int) -> Event:
    return TaskStatusUpdated(TaskId(f"t{index}"), "Running")


def test_a_subscriber_that_never_reads_is_dropped_and_counted() -> None:
    fanout = Fanout(RunnerId("r"), backlog=3)
    lazy, reader = fanout.subscribe(), fanout.subscribe()
    for index in range(10):
        fanout.publish([_status(index)])
        assert reader.get(BOUND) == _status(index)  # a reader that keeps up is never dropped
    assert fanout.dropped == 1
    assert [lazy.get(BOUND) for _ in range(3)] == [_status(i) for i in range(3)]
    with pytest.raises(SubscriptionDroppedError, match="3 events were waiting unread"):
        lazy.get(BOUND)
    with pytest.raises(SubscriptionDroppedError):
        list(lazy)  # and for good


def test_a_batch_is_delivered_as_if_one_event_at_a_time() -> None:
    """A batch fills a subscription up to its backlog, then drops it, as single events would."""
    batched, single = Fanout(RunnerId("r"), backlog=3), Fanout(RunnerId("r"), backlog=3)
    lazy_batched, lazy_single = batched.subscribe(), single.subscribe()
    events = [_status(index) for index in range(5)]
    batched.publish(events)
    for event in events:
        single.publish([event])
    assert batched.dropped == single.dropped == 1
    for lazy in (lazy_batched, lazy_single):
        assert [lazy.get(BOUND) for _ in range(3)] == events[:3]
        with pytest.raises(SubscriptionDroppedError):
            lazy.get(BOUND)


def test_an_async_subscriber_that_never_reads_is_dropped() -> None:
    async def scenario() -> list[Event]:
        fanout = Fanout(RunnerId("r"), backlog=2)
        lazy = fanout.subscribe_async()
        for index in range(5):
            fanout.publish([_status(index)])
        assert fanout.dropped == 1
        seen: list[Event] = []

        async def read_all() -> None:
            async for event in lazy:
                seen.append(event)

        with pytest.raises(SubscriptionDroppedError):
            await read_all()
        return seen

    assert asyncio.run(scenario()) == [_status(0), _status(1)]


def test_health_counts_dropped_subscriptions() -> None:
    supervisor = RunnerSupervisor(group_context("lazy"), engine(), subscriber_backlog=1)
    lazy = supervisor.subscribe()
    with supervisor:
        supervisor.wait_status("RunnerIdle", BOUND)
        assert supervisor.wait_task(supervisor.submit(Shutdown(TaskId("s"))), BOUND) == ("Complete")
        assert supervisor.health()["subscribers_dropped"] == 1
    assert isinstance(lazy.get(BOUND), Event.__args__)
    with pytest.raises(SubscriptionDroppedError):
        lazy.get(BOUND)


def test_a_restart_refused_while_shutting_down_says_so_not_budget() -> None:
    """A runner that dies while shutting down is not restarted; the message says why."""
    supervisor = RunnerSupervisor(
        group_context("dying"),
        engine(block=["close"]),
        restart=RestartPolicy(max_restarts=3, backoff_s=0.01),
    )
    with supervisor:
        supervisor.wait_status("RunnerIdle", BOUND)
        supervisor.submit(Shutdown(TaskId("s")))
        supervisor.wait_status("RunnerShuttingDown", BOUND)
        pid = supervisor.pid
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
        status = supervisor.wait_status(lambda s: isinstance(s, RunnerFailed), BOUND)
        assert isinstance(status, RunnerFailed)
        assert status.error_message == (
            f"runner process {pid} killed by SIGKILL; not restarted: it was shutting down"
        )
        assert supervisor.health()["restart_budget_spent"] is False


# -- an engine imported in the background -------------------------------------------------------


def test_a_lazy_engine_is_built_at_first_use_and_serves() -> None:
    factory = EngineFactory(ENGINE, {"sabotage": False}, lazy=True)
    supervisor = RunnerSupervisor(group_context("lazy-engine"), factory)
    with supervisor:
        supervisor.wait_status("RunnerIdle", BOUND)
        for name in ("connect", "load", "warmup", "generate"):
            task = MAKE[name](name)
            assert supervisor.wait_task(supervisor.submit(task), BOUND) == "Complete"


def test_an_engine_that_cannot_be_built_fails_the_task_that_needs_it() -> None:
    factory = EngineFactory("tests.supervisor.engines:UnbuildableEngine", {"why": "no GPU"})
    supervisor = RunnerSupervisor(group_context("unbuildable"), factory)
    with supervisor:
        supervisor.wait_status("RunnerIdle", BOUND)
        task_id = supervisor.submit(MAKE["connect"]("connect"))
        assert supervisor.wait_task(task_id, BOUND) == "Failed"
        status = supervisor.wait_status("RunnerFailed", BOUND)
        assert isinstance(status, RunnerFailed)
        assert status.error_message == (
            "engine tests.supervisor.engines:UnbuildableEngine could not be built: no GPU"
        )
        # the runner is still serving: Shutdown is taken from failed
        assert supervisor.wait_task(supervisor.submit(Shutdown(TaskId("s"))), BOUND) == "Complete"


@pytest.mark.parametrize(
    ("ref", "why"),
    [
        ("no_such_module_anywhere:Engine", "no module named 'no_such_module_anywhere'"),
        ("not-a-reference", "is not of the form module:callable"),
    ],
)
def test_a_missing_engine_module_fails_the_runner_at_start(ref: str, why: str) -> None:
    supervisor = RunnerSupervisor(
        group_context("missing-engine"), EngineFactory(ref), restart=RestartPolicy(0)
    )
    stream = supervisor.subscribe()
    with supervisor:
        supervisor.wait_status(
            lambda s: isinstance(s, RunnerFailed) and "exited" in s.error_message, BOUND
        )
    failures = [
        e.runner_status.error_message
        for e in stream
        if isinstance(e, RunnerStatusUpdated) and isinstance(e.runner_status, RunnerFailed)
    ]
    assert len(failures) == 2
    assert failures[0].startswith(f"engine {ref} could not be built: ")
    assert why in failures[0]
    assert "exited with code 4 (the engine could not be built)" in failures[1]
