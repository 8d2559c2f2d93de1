"""The runner's emitter: one message per event while the reader keeps up, one per burst of
chunks while it is behind, in order; and the supervisor's decoding of such a burst."""

from __future__ import annotations

import json
import multiprocessing
import sys
from collections.abc import Iterator
from multiprocessing.connection import Connection

import pytest

from exo_spec.runtime.wire import (
    ChunkGenerated,
    Event,
    TaskAcknowledged,
    TaskId,
    TaskStatusUpdated,
    TextChunk,
    WireError,
    event_to_json,
)
from exo_spec.supervisor.child import PipeTaskSource, encode_task
from exo_spec.supervisor.emitter import MAX_HELD, PipeEmitter, batch_message
from exo_spec.supervisor.process import decode_events
from tests.supervisor.cells import chat

linux_only = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="SIOCOUTQ (is the reader behind?) is Linux's"
)
BOUND = 10.0
NEVER = 3600.0  # a hold longer than any test: only an event or a flush sends held chunks


@pytest.fixture
def pipe() -> Iterator[tuple[Connection, Connection]]:
    ours, theirs = multiprocessing.Pipe(duplex=True)
    yield ours, theirs
    ours.close()
    theirs.close()


def chunk(index: int, task: str = "c", finish: bool = False) -> ChunkGenerated:
    return ChunkGenerated(TaskId(task), TextChunk(f"t{index}", index, "stop" if finish else None))


def messages(conn: Connection) -> list[list[Event]]:
    """Every message waiting on ``conn``, each as the events it carries."""
    out = []
    while conn.poll(0):
        out.append(decode_events(conn.recv_bytes()))
    return out


def receive(conn: Connection, count: int) -> list[Event]:
    """The events of the messages that arrive until ``count`` events have (or ``BOUND``)."""
    received: list[Event] = []
    while len(received) < count and conn.poll(BOUND):
        received += decode_events(conn.recv_bytes())
    return received


def test_a_burst_decodes_in_order() -> None:
    events: list[Event] = [chunk(1), chunk(2), TaskAcknowledged(TaskId("x"))]
    data = batch_message([json.dumps(event_to_json(e)).encode() for e in events])
    assert decode_events(data) == events


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (b"[]", WireError),
        (b'[{"TaskAcknowledged": {"task_id": "a"}}, {"Nope": {}}]', WireError),
        (b"[" * 100_000, RecursionError),
        (b"[1, 2", ValueError),
    ],
)
def test_a_malformed_burst_is_refused_whole(data: bytes, error: type[Exception]) -> None:
    with pytest.raises(error):
        decode_events(data)


@linux_only
def test_chunks_are_held_while_the_reader_is_behind_and_sent_as_one_message(
    pipe: tuple[Connection, Connection],
) -> None:
    supervisor, runner = pipe
    emit = PipeEmitter(runner, hold_s=NEVER)
    for index in range(5):
        emit(chunk(index))
    final = TaskStatusUpdated(TaskId("c"), "Complete", None)
    emit(final)
    # the first chunk alone (never held: its latency counts), then the rest with the status
    assert messages(supervisor) == [[chunk(0)], [*(chunk(i) for i in range(1, 5)), final]]


@linux_only
def test_a_reader_that_keeps_up_gets_each_chunk_at_once(
    pipe: tuple[Connection, Connection],
) -> None:
    supervisor, runner = pipe
    emit = PipeEmitter(runner, hold_s=NEVER)
    for index in range(5):
        emit(chunk(index))
        assert messages(supervisor) == [[chunk(index)]]


@linux_only
def test_a_final_chunk_is_never_held(pipe: tuple[Connection, Connection]) -> None:
    supervisor, runner = pipe
    emit = PipeEmitter(runner, hold_s=NEVER)
    emit(chunk(0))
    emit(chunk(1))
    emit(chunk(2, finish=True))
    assert messages(supervisor) == [[chunk(0)], [chunk(1), chunk(2, finish=True)]]


@linux_only
def test_another_streams_first_chunk_is_not_held(pipe: tuple[Connection, Connection]) -> None:
    supervisor, runner = pipe
    emit = PipeEmitter(runner, hold_s=NEVER)
    emit(chunk(0, "a"))
    emit(chunk(0, "b"))  # the first of its stream: sent, not held
    emit(chunk(1, "b"))  # held
    assert messages(supervisor) == [[chunk(0, "a")], [chunk(0, "b")]]
    emit.flush()
    assert messages(supervisor) == [[chunk(1, "b")]]


@linux_only
def test_a_burst_is_sent_when_it_is_full(pipe: tuple[Connection, Connection]) -> None:
    supervisor, runner = pipe
    emit = PipeEmitter(runner, hold_s=NEVER)
    for index in range(MAX_HELD + 2):
        emit(chunk(index))
    sizes = [len(m) for m in messages(supervisor)]
    assert sizes == [1, MAX_HELD + 1]


@linux_only
def test_held_chunks_leave_within_the_hold_bound_by_themselves(
    pipe: tuple[Connection, Connection],
) -> None:
    supervisor, runner = pipe
    emit = PipeEmitter(runner, hold_s=0.001)
    emit(chunk(0))
    emit(chunk(1))
    emit(chunk(2))
    assert receive(supervisor, 3) == [chunk(0), chunk(1), chunk(2)]


@linux_only
def test_held_chunks_are_sent_before_the_runner_waits_for_a_task(
    pipe: tuple[Connection, Connection],
) -> None:
    supervisor, runner = pipe
    emit = PipeEmitter(runner, hold_s=NEVER)
    emit(chunk(0))
    emit(chunk(1))
    task = chat("next")
    supervisor.send_bytes(encode_task(task))
    source = iter(PipeTaskSource(runner, before_wait=emit.flush))
    assert next(source) == task
    assert messages(supervisor) == [[chunk(0)], [chunk(1)]]


# -- the events of one step leave together ---------------------------------------------------------


def running(task: str = "c") -> TaskStatusUpdated:
    return TaskStatusUpdated(TaskId(task), "Running", None)


def complete(task: str = "c") -> TaskStatusUpdated:
    return TaskStatusUpdated(TaskId(task), "Complete", None)


def test_a_steps_events_are_held_after_cork_and_sent_as_one_message_at_flush(
    pipe: tuple[Connection, Connection],
) -> None:
    supervisor, runner = pipe
    emit = PipeEmitter(runner, hold_s=NEVER)
    emit(TaskAcknowledged(TaskId("before")))  # not corked: sent at once
    emit.cork()
    step: list[Event] = [running(), TaskAcknowledged(TaskId("c"))]
    for event in step:
        emit(event)
    assert messages(supervisor) == [[TaskAcknowledged(TaskId("before"))]]
    emit.flush()
    emit(complete())  # the flush ended the step: sent at once
    assert messages(supervisor) == [step, [complete()]]


def test_a_chunk_takes_the_held_events_with_it_in_order(
    pipe: tuple[Connection, Connection],
) -> None:
    supervisor, runner = pipe
    emit = PipeEmitter(runner, hold_s=NEVER)
    emit.cork()
    emit(running())
    emit(chunk(0))
    assert messages(supervisor) == [[running(), chunk(0)]]


def test_the_events_after_a_streams_last_chunk_leave_together(
    pipe: tuple[Connection, Connection],
) -> None:
    supervisor, runner = pipe
    emit = PipeEmitter(runner, hold_s=NEVER)
    emit(chunk(0))
    emit(chunk(1, finish=True))  # the last chunk itself is never held
    assert messages(supervisor) == [[chunk(0)], [chunk(1, finish=True)]]
    ending: list[Event] = [complete(), TaskAcknowledged(TaskId("next"))]
    for event in ending:
        emit(event)
    assert messages(supervisor) == []
    emit.flush()
    assert messages(supervisor) == [ending]


def test_corked_events_leave_within_the_hold_bound_by_themselves(
    pipe: tuple[Connection, Connection],
) -> None:
    supervisor, runner = pipe
    emit = PipeEmitter(runner, hold_s=0.001)
    emit.cork()
    emit(running())
    emit(complete())
    assert receive(supervisor, 2) == [running(), complete()]


def test_a_corked_step_is_sent_when_it_holds_max_held_events(
    pipe: tuple[Connection, Connection],
) -> None:
    supervisor, runner = pipe
    emit = PipeEmitter(runner, hold_s=NEVER)
    emit.cork()
    for index in range(MAX_HELD + 1):
        emit(TaskAcknowledged(TaskId(f"a{index}")))
    got = messages(supervisor)
    assert [len(m) for m in got] == [MAX_HELD + 1]
    assert got[0] == [TaskAcknowledged(TaskId(f"a{index}")) for index in range(MAX_HELD + 1)]


@pytest.mark.parametrize("how", ["iterate", "poll"])
def test_the_task_source_corks_when_it_reads_a_task(
    pipe: tuple[Connection, Connection], how: str
) -> None:
    supervisor, runner = pipe
    calls: list[str] = []
    supervisor.send_bytes(encode_task(chat("a")))
    source = PipeTaskSource(
        runner, before_wait=lambda: calls.append("flush"), on_task=lambda: calls.append("cork")
    )
    assert runner.poll(BOUND)
    task = next(iter(source)) if how == "iterate" else source.poll()
    assert task == chat("a")
    assert calls == (["flush", "cork"] if how == "iterate" else ["cork"])
