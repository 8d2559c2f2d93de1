"""RunnerSupervisor: the runner in its own process, its deadlines, crashes, restarts, shutdown.

One watcher thread per supervisor reads the runner's events and waits on the process sentinel
together with the pipe, so a runner that dies is reported at once: an ``ErrorChunk`` to every
running stream, ``RunnerFailed`` with the exit cause, then ``TaskStatusUpdated(Failed)`` for
every unfinished task. Each task submitted ends with exactly one final status, whatever happens.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Any

from exo_spec.generated.runner_machine import RunnerState
from exo_spec.logs import logger
from exo_spec.runtime.wire import (
    Event,
    RunnerContext,
    RunnerFailed,
    RunnerShutdown,
    RunnerShuttingDown,
    RunnerStatus,
    Shutdown,
    Task,
    TaskId,
    TaskStatus,
    TaskStatusUpdated,
    task_to_json,
)
from exo_spec.supervisor.child import EngineFactory, encode_task
from exo_spec.supervisor.deadlines import Deadline, DeadlineClock, spec_deadlines
from exo_spec.supervisor.fanout import AsyncSubscription, Fanout, Subscription
from exo_spec.supervisor.health import Health, health_of
from exo_spec.supervisor.mirror import Change, Mirror
from exo_spec.supervisor.policy import DEFAULT_LIVENESS, Liveness, RestartPolicy, StopBounds
from exo_spec.supervisor.process import Ending, Read, RunnerProcess

__all__ = ["RunnerSupervisor", "SupervisorError"]


class SupervisorError(Exception):
    """A misuse of the supervisor (a duplicate task id, a start after close)."""


_CLOSED_REASON = "the runner was shut down by its supervisor"


class RunnerSupervisor:
    """Runs one runner in a spawned process; serves blocking and asyncio callers."""

    def __init__(
        self,
        context: RunnerContext,
        factory: EngineFactory | None = None,
        *,
        deadlines: Mapping[RunnerState | str, Deadline] | None = None,
        restart: RestartPolicy | None = None,
        bounds: StopBounds | None = None,
        liveness: Liveness | None = DEFAULT_LIVENESS,
        history: int = 4096,
        subscriber_backlog: int = 65536,
    ) -> None:
        self.context = context
        self.runner_id = context.runner_id
        self.factory = factory or EngineFactory()
        self.restart = restart or RestartPolicy()
        self.bounds = bounds or StopBounds()
        self.liveness = liveness
        self._clock = DeadlineClock(spec_deadlines(deadlines))
        self._mirror = Mirror(history=history)
        self._fanout = Fanout(self.runner_id, backlog=subscriber_backlog)
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._publish_lock = threading.RLock()
        self._closing = threading.Event()
        self._closed = threading.Event()
        self._close_claimed = False
        self._process: RunnerProcess | None = None
        self._watcher: threading.Thread | None = None
        self._restarts = 0
        self._failures_in_a_row = 0
        self._budget_spent = False
        self._signals: list[str] = []
        self._log = logger.bind(runner_id=self.runner_id)

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> RunnerSupervisor:
        """Spawn the runner process and start watching it; returns once it is spawned.

        The process is spawned by the watcher thread, which lives as long as the runner: on
        Linux the kernel ends a runner whose spawning thread ends (so a runner never outlives
        its supervisor's process)."""
        spawned = threading.Event()
        failures: list[BaseException] = []
        with self._lock:
            if self._closing.is_set():
                raise SupervisorError(f"runner {self.runner_id}: cannot start after close")
            if self._watcher is not None:
                return self
            self._watcher = threading.Thread(
                target=self._watch,
                args=(spawned, failures),
                name=f"supervisor-{self.runner_id}",
                daemon=True,
            )
            self._watcher.start()
        spawned.wait()
        if failures:
            raise SupervisorError(
                f"runner {self.runner_id}: its process could not be spawned: {failures[0]}"
            ) from failures[0]
        self._log.info("runner process {} spawned", self.pid)
        return self

    def _spawn(self) -> RunnerProcess:
        heartbeat = None if self.liveness is None else self.liveness.heartbeat_s
        return RunnerProcess(self.context, self.factory, heartbeat)

    def close(self) -> None:
        """Shut the runner down: the Shutdown task, then SIGTERM, then SIGKILL, each bounded.
        Idempotent; concurrent calls all return once it is done, none raises."""
        with self._lock:
            first, self._close_claimed = not self._close_claimed, True
            self._closing.set()
            self._changed.notify_all()
        if not first:
            self._closed.wait()
            return
        try:
            self._shut_down()
        finally:
            self._fanout.end()
            self._closed.set()

    async def aclose(self) -> None:
        """:meth:`close` for asyncio callers (runs in a worker thread)."""
        await asyncio.to_thread(self.close)

    def __enter__(self) -> RunnerSupervisor:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def __aenter__(self) -> RunnerSupervisor:
        return self.start()

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    # -- tasks and events --------------------------------------------------------------------

    def _encode(self, task: Task) -> bytes:
        try:
            return encode_task(task)
        except ValueError as exc:
            raise SupervisorError(
                f"runner {self.runner_id}: task {type(task).__name__} cannot be sent: {exc}"
            ) from None

    def submit(self, task: Task) -> TaskId:
        """Send ``task`` to the runner; it is Pending until acknowledged. A task the runner can
        no longer take fails at once with the reason. A task that is not a valid wire task (a
        field of the wrong type or out of range) raises :class:`SupervisorError` naming the
        field, and leaves no record."""
        data = self._encode(task)
        with self._publish_lock, self._lock:
            if self._mirror.lookup(task.task_id) is not None:
                raise SupervisorError(f"runner {self.runner_id}: task id {task.task_id} reused")
            self._mirror.submitted(task)
            process = self._process
            if process is None or process.finished or self._closing.is_set():
                self._publish_built(lambda: self._fail_one(task.task_id))
                return task.task_id
        process.send(data)  # a broken pipe means the process is ending: the watcher reports it
        return task.task_id

    def subscribe(self) -> Subscription:
        """A blocking stream of every event from now on (iterate it, or ``get(timeout)``)."""
        return self._fanout.subscribe()

    def subscribe_async(self) -> AsyncSubscription:
        """An asyncio stream of every event from now on (``async for``)."""
        return self._fanout.subscribe_async()

    def on_event(self, callback: Callable[[Event], None]) -> None:
        """Call ``callback`` with every event, on the supervisor's thread, in order. What it
        raises is logged (bound with the runner id) and goes no further."""
        self._fanout.add_callback(callback)

    def wait_task(self, task_id: TaskId, timeout: float | None = None) -> TaskStatus:
        """Block until the task has its final status; ``TimeoutError`` after ``timeout``.

        A task whose record is already gone (never given, or ended and dropped from the
        history of finished tasks) raises ``KeyError``; a task being waited on keeps its final
        status for the waiter even if the history drops it meanwhile."""
        with self._changed:
            record = self._mirror.lookup(task_id)
            if record is None:
                raise KeyError(
                    f"runner {self.runner_id} has no record of task {task_id}: it was never "
                    f"given, or it ended and was dropped from the history of the last "
                    f"{self._mirror.history} finished tasks"
                )
            # the record itself receives the final status, whether or not the history keeps it
            if not self._changed.wait_for(lambda: record.final, timeout):
                raise TimeoutError(f"task {task_id} still {record.status} after {timeout} s")
            return record.status

    async def await_task(self, task_id: TaskId, timeout: float | None = None) -> TaskStatus:
        return await asyncio.to_thread(self.wait_task, task_id, timeout)

    def wait_status(
        self, match: str | Callable[[RunnerStatus], bool], timeout: float | None = None
    ) -> RunnerStatus:
        """Block until the runner's status matches (a class name such as ``"RunnerIdle"``, or a
        predicate); ``TimeoutError`` after ``timeout``."""

        def matches() -> bool:
            status = self._mirror.status
            if status is None:
                return False
            return type(status).__name__ == match if isinstance(match, str) else match(status)

        with self._changed:
            if not self._changed.wait_for(matches, timeout):
                raise TimeoutError(
                    f"runner {self.runner_id} status is {self._mirror.status}, "
                    f"not {match} after {timeout} s"
                )
            assert self._mirror.status is not None
            return self._mirror.status

    def task_status(self, task_id: TaskId) -> TaskStatus | None:
        with self._lock:
            record = self._mirror.lookup(task_id)
            return None if record is None else record.status

    @property
    def status(self) -> RunnerStatus | None:
        with self._lock:
            return self._mirror.status

    @property
    def pid(self) -> int | None:
        with self._lock:
            return None if self._process is None else self._process.pid

    @property
    def signals_sent(self) -> tuple[str, ...]:
        """Every signal this supervisor sent to its runner processes, in order."""
        with self._lock:
            current = [] if self._process is None else self._process.signals_sent
            return (*self._signals, *current)

    def health(self) -> dict[str, Any]:
        """A JSON snapshot (str keys only; ``json.dumps`` cannot fail on it)."""
        return self.health_snapshot().to_json()

    def health_snapshot(self) -> Health:
        with self._lock:
            process = self._process
            alive = process is not None and not process.finished
            return health_of(
                self._mirror,
                runner_id=self.runner_id,
                pid=None if process is None else process.pid,
                alive=alive,
                uptime_s=time.monotonic() - process.started_at if alive and process else 0.0,
                restarts=self._restarts,
                restart_budget_left=self.restart.max_restarts - self._failures_in_a_row,
                restart_budget_spent=self._budget_spent,
                subscribers_dropped=self._fanout.dropped,
            )

    # -- the watcher -------------------------------------------------------------------------

    def _watch(self, spawned: threading.Event, failures: list[BaseException]) -> None:
        try:
            with self._lock:
                if not self._closing.is_set():
                    self._process = self._spawn()
        except BaseException as exc:
            failures.append(exc)
            return
        finally:
            spawned.set()
        while True:
            process = self._process
            if process is None:
                return  # closed before it was spawned
            cause, clean = self._watch_process(process)
            if not self._ended(process, cause, clean):
                return

    def _silent_at(self, process: RunnerProcess) -> tuple[float | None, str]:
        if self.liveness is None:
            return None, ""
        return self.liveness.silent_at(process.pid, process.started_at, process.heard_at)

    def _watch_process(self, process: RunnerProcess) -> tuple[str, bool]:
        """Serve one process until it ends or must be stopped: (cause, ended cleanly).

        Every way of noticing the end (the pipe's end, a malformed message, the process
        sentinel, a deadline) leads to :meth:`_conclude`, which gathers the same facts whichever
        came first, so one fault always gets one cause."""
        while True:
            now = time.monotonic()
            with self._lock:
                overrun = self._clock.expired(now)
                expiry = self._clock.next_expiry()
            silent_at, silence = self._silent_at(process)
            if overrun is None and silent_at is not None and now >= silent_at:
                # what arrived meanwhile counts as heard
                read = process.drain(self._publish_runner_events)
                if read is not Read.EMPTY:
                    return self._conclude(process, read=read)
                silent_at, silence = self._silent_at(process)
                if silent_at is not None and time.monotonic() >= silent_at:
                    return self._conclude(process, overrun=silence)
                continue
            if silent_at is not None:
                expiry = silent_at if expiry is None else min(expiry, silent_at)
            if overrun is not None:
                # what the runner sent before the deadline counts: read it, then look again
                read = process.drain(self._publish_runner_events)
                with self._lock:
                    overrun = self._clock.expired(time.monotonic())
                if overrun is not None:
                    return self._conclude(process, overrun=overrun)
                if read is not Read.EMPTY:
                    return self._conclude(process, read=read)
                continue
            timeout = None if expiry is None else max(0.0, expiry - now)
            message, exited = process.wait(timeout)
            if message:
                read = process.receive(self._publish_runner_events)
                if read is not Read.EVENT:
                    return self._conclude(process, read=read)
            elif exited:
                return self._conclude(process, read=process.drain(self._publish_runner_events))

    def _conclude(
        self, process: RunnerProcess, *, read: Read | str = Read.EMPTY, overrun: str | None = None
    ) -> tuple[str, bool]:
        """Bring ``process`` to its end and name the cause from what is known about it."""
        malformed = read if isinstance(read, str) else None
        channel_closed = False
        if overrun is not None or malformed is not None:
            self._kill(process)
        elif not process.exited(self.bounds.terminate_s):
            # its pipe ended (or it is still exiting): a runner that lives on without its
            # channel is stopped, and that is a channel fault however it would have ended
            channel_closed = True
            self._kill(process)
        if read is Read.EMPTY and overrun is None:
            read = process.drain(self._publish_runner_events)
            malformed = read if isinstance(read, str) else None
        code = process.exitcode()
        ending = Ending(process.pid, code, overrun, malformed, channel_closed)
        with self._lock:
            shut_down = isinstance(self._mirror.status, RunnerShutdown)
        faulted = overrun is not None or malformed is not None
        # clean: it shut down and exited 0, or the supervisor was stopping it anyway
        clean = not faulted and (
            (code == 0 and shut_down and not channel_closed) or self._closing.is_set()
        )
        self._log.bind(exitcode=code).debug("runner process {} ended: {}", process.pid, ending)
        return ending.cause(), clean

    def _kill(self, process: RunnerProcess) -> None:
        process.signal("kill", self.bounds.kill_s)

    def _ended(self, process: RunnerProcess, cause: str, clean: bool) -> bool:
        """Report the end of ``process``; whether a fresh one was started to replace it."""
        process.close_pipe()
        restart = False
        with self._lock:
            self._clock.stop()
            if clean:
                status: RunnerStatus | None = None
                if not isinstance(self._mirror.status, RunnerShutdown):
                    status = RunnerShutdown()
                reason = _CLOSED_REASON if self._closing.is_set() else "the runner has shut down"
            else:
                self._failures_in_a_row += 1
                restart = (
                    not self._closing.is_set()
                    and not isinstance(self._mirror.status, RunnerShuttingDown)
                    and self._failures_in_a_row <= self.restart.max_restarts
                )
                message = cause
                if self._closing.is_set():
                    pass  # closing: no restart was due
                elif isinstance(self._mirror.status, RunnerShuttingDown):
                    message = f"{cause}; not restarted: it was shutting down"
                elif not restart:
                    self._budget_spent = True
                    message = (
                        f"{cause}; not restarted: restart budget of "
                        f"{self.restart.max_restarts} spent"
                    )
                status, reason = RunnerFailed(message), cause
        self._log.bind(clean=clean).warning("runner process {} ended: {}", process.pid, cause)
        self._publish_built(lambda: self._finish(process, status, reason))
        if not restart:
            return False
        delay = self.restart.delay(self._failures_in_a_row)
        self._log.info("restarting runner in {:g} s (attempt {})", delay, self._failures_in_a_row)
        if self._closing.wait(delay):
            return False
        with self._lock:
            if self._closing.is_set():
                return False
            self._signals.extend(process.signals_sent)
            self._process = self._spawn()
            self._restarts += 1
            self._changed.notify_all()
        return True

    def _finish(
        self, process: RunnerProcess, status: RunnerStatus | None, reason: str
    ) -> list[Event]:
        if process.finished:  # the watcher and close() may both get here: the first reports
            return []
        process.finished = True
        return self._mirror.fail_all(self.runner_id, status, reason)

    # -- shutdown ----------------------------------------------------------------------------

    def _shut_down(self) -> None:
        with self._lock:
            process = self._process
            watcher = self._watcher
        if process is not None and not process.finished:
            shutdown = Shutdown(TaskId(f"{self.runner_id}:shutdown"))
            with self._publish_lock, self._lock:
                if self._mirror.lookup(shutdown.task_id) is None:
                    self._mirror.submitted(shutdown)
            process.send(json.dumps(task_to_json(shutdown)).encode())
            grace = self.bounds.shutdown_s
            if grace is None:
                grace = self._clock.table.get(RunnerState.shutting_down, Deadline(15.0)).timeout_s
            escalation = process.stop(grace or 0.0, self.bounds.terminate_s, self.bounds.kill_s)
            if escalation is not None:
                self._log.warning("runner process {} {}", process.pid, escalation)
        if watcher is not None and watcher is not threading.current_thread():
            watcher.join(self.bounds.kill_s + 5.0)
        with self._lock:
            final = self._process
        if final is not None and not final.finished:
            final.close_pipe()
            self._publish_built(lambda: self._finish(final, None, _CLOSED_REASON))
        elif final is None:
            self._publish_built(lambda: self._mirror.fail_all(self.runner_id, None, _CLOSED_REASON))

    # -- publication -------------------------------------------------------------------------

    def _publish_runner_events(self, events: list[Event]) -> None:
        """Apply then deliver the runner's events in order; one at a time with callbacks (one
        holding an event sees the record as of it), else the whole batch at once."""
        with self._publish_lock:
            for batch in ([e] for e in events) if self._fanout.has_callbacks else (events,):
                with self._lock:
                    change, completed = self._mirror.apply_all(batch)
                    if change is Change.ENTERED and self._mirror.state is not None:
                        self._clock.enter(self._mirror.state, time.monotonic())
                    elif change is Change.PROGRESS:
                        self._clock.progress(time.monotonic())
                    if completed:
                        self._failures_in_a_row = 0
                    self._changed.notify_all()
                self._fanout.publish(batch)

    def _publish_built(self, build: Callable[[], list[Event]]) -> None:
        with self._publish_lock:
            with self._lock:
                events = build()
                self._changed.notify_all()
            self._fanout.publish(events)

    def _fail_one(self, task_id: TaskId) -> list[Event]:
        status = self._mirror.status
        why = "closed" if self._closing.is_set() else f"in status {type(status).__name__}"
        if isinstance(status, RunnerFailed) and status.error_message:
            why += f": {status.error_message}"
        event = TaskStatusUpdated(
            task_id, "Failed", f"runner {self.runner_id} is not running ({why})"
        )
        self._mirror.apply(event)
        return [event]
