"""One runner process: spawn it, watch it, stop it with escalation, describe how it ended.

Reaping a child (``join``, ``is_alive``) from two threads at once can lose its exit status, so
every such call goes through :class:`RunnerProcess` under one lock; waiting for the exit uses
the process sentinel, which does not reap. A signal is sent only to a live process, once.
"""

from __future__ import annotations

import enum
import json
import os
import select
import signal
import threading
import time
from collections.abc import Callable
from multiprocessing.connection import wait

from attrs import frozen

from exo_spec.runtime.wire import Event, RunnerContext, WireError
from exo_spec.supervisor.child import (
    EXIT_CHANNEL_FAULT,
    EXIT_ENGINE_FAULT,
    EXIT_ORPHANED,
    HEARTBEAT,
    EngineFactory,
    describe_decode_error,
)
from exo_spec.supervisor.codec import decode_event
from exo_spec.supervisor.spawn import ChildProcess

__all__ = ["Ending", "Read", "RunnerProcess", "channel_cause", "decode_events", "describe_exit"]

_READY = select.POLLIN | select.POLLHUP | select.POLLERR | select.POLLPRI

_EXIT_MEANING = {
    EXIT_CHANNEL_FAULT: "channel fault",
    EXIT_ENGINE_FAULT: "the engine could not be built",
    EXIT_ORPHANED: "its supervisor's process was gone",
}


def describe_exit(pid: int | None, exitcode: int | None) -> str:
    """``runner process 42 killed by SIGKILL`` / ``... exited with code 3 (channel fault)``."""
    who = f"runner process {pid}"
    if exitcode is None:
        return f"{who} did not exit"
    if exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        return f"{who} killed by {name}"
    meaning = _EXIT_MEANING.get(exitcode)
    return f"{who} exited with code {exitcode}" + (f" ({meaning})" if meaning else "")


class Read(enum.Enum):
    """How reading the runner's pipe went (a malformed message is its fault's text instead)."""

    EVENT = "a message was taken"
    EMPTY = "nothing more is waiting"
    CLOSED = "the pipe ended"


def channel_cause(pid: int | None) -> str:
    """The one cause of a channel fault, however it was detected."""
    return f"the channel from runner process {pid} closed (channel fault)"


@frozen
class Ending:
    """What the supervisor knows about how a runner process ended, gathered before the cause is
    named, so that the cause is a function of these facts and never of which wake-up (the pipe's
    end, the process sentinel, a deadline) came first."""

    pid: int | None
    exitcode: int | None
    overrun: str | None = None  # a deadline it overran, or silence past the liveness bound
    malformed: str | None = None  # a message it sent that could not be decoded (then killed)
    channel_closed: bool = False  # its pipe ended while it lived on (then killed)

    def cause(self) -> str:
        """The cause, most specific fact first: a deadline, a malformed message, the channel
        (the pipe ended, or the runner exited because its channel failed), the exit itself."""
        if self.overrun is not None:
            return self.overrun
        if self.malformed is not None:
            return self.malformed
        if self.channel_closed or self.exitcode == EXIT_CHANNEL_FAULT:
            return channel_cause(self.pid)
        return describe_exit(self.pid, self.exitcode)


class RunnerProcess:
    """A spawned runner process and the supervisor's end of its pipe."""

    def __init__(
        self, context: RunnerContext, factory: EngineFactory, heartbeat_s: float | None = None
    ) -> None:
        self._lock = threading.RLock()
        self._send_lock = threading.Lock()
        self._conn_closed = False
        self.signals_sent: list[str] = []
        self._process = ChildProcess((context, factory, os.getpid(), heartbeat_s))
        self.conn = self._process.conn
        self.started_at = time.monotonic()
        self.heard_at: float | None = None  # when the last message arrived (none yet)
        self.pid: int | None = self._process.pid
        self.sentinel: int = self._process.sentinel
        self.finished = False  # set by the supervisor once this process's end is reported
        self._released = False
        self._exitcode: int | None = None
        self._poller: select.poll | None = None

    def send(self, data: bytes) -> bool:
        """Send one message; ``False`` when the pipe is closed or broken."""
        with self._send_lock:
            if self._conn_closed:
                return False
            try:
                self.conn.send_bytes(data)
            except (OSError, ValueError):
                return False
            return True

    def exited(self, timeout: float = 0.0) -> bool:
        """Whether the process has ended, waiting up to ``timeout`` seconds (no reaping)."""
        with self._lock:
            if self._released:
                return True
        return bool(wait([self.sentinel], timeout))

    def exitcode(self) -> int | None:
        """The exit code once the process has ended (reaps it)."""
        with self._lock:
            if not self._released:
                self._reap(0.0)
            return self._exitcode

    def signal(self, how: str, bound_s: float) -> bool:
        """``terminate`` or ``kill`` the process if it is alive, then wait up to ``bound_s``
        for it to end; whether it has ended."""
        with self._lock:
            if self._released:
                return True
            if self._process.poll() is None and not self.exited():
                self.signals_sent.append("SIGTERM" if how == "terminate" else "SIGKILL")
                if how == "terminate":
                    self._process.terminate()
                else:
                    self._process.kill()
            return self._reap(bound_s)

    def _reap(self, timeout: float) -> bool:
        """Collect the exit status if the process ends within ``timeout`` (lock held). The
        sentinel fires as the process exits, a moment before it can be reaped: then wait."""
        if wait([self.sentinel], timeout):
            self._process.wait()
        self._exitcode = self._process.poll()
        return self._exitcode is not None

    def stop(self, grace_s: float, terminate_s: float, kill_s: float) -> str | None:
        """Wait ``grace_s`` for a clean exit, then terminate, then kill, each bounded; the
        escalation used (``None`` when the process ended by itself)."""
        if self.exited(grace_s):
            self.exitcode()
            return None
        if self.signal("terminate", terminate_s):
            return f"terminated after {grace_s:g} s"
        self.signal("kill", kill_s)
        return f"killed after {grace_s:g} s + {terminate_s:g} s"

    def close_pipe(self) -> None:
        """Close the supervisor's end of the pipe (idempotent)."""
        with self._send_lock:
            if not self._conn_closed:
                self._conn_closed = True
                self.conn.close()
        with self._lock:
            if not self._released and self.exitcode() is not None:
                self._released = True
                self._process.close()  # releases the sentinel

    def receive(self, publish: Callable[[list[Event]], None], limit: int = 256) -> Read | str:
        """Take the messages waiting (blocking for the first, until ``limit`` events) and
        ``publish`` their events together, in order: ``EVENT``, ``CLOSED`` at the pipe's end,
        or the text of the fault when a message cannot be decoded (the events before it are
        published). One batch per wake-up: a reader that falls behind catches up in bursts."""
        events: list[Event] = []
        outcome: Read | str = Read.EVENT
        try:
            while True:
                data = self.conn.recv_bytes()
                self.heard_at = time.monotonic()
                if data != HEARTBEAT:
                    try:
                        events.extend(decode_events(data))
                    except Exception as exc:  # any decode failure (ValueError, WireError...)
                        why = describe_decode_error(exc)
                        outcome = f"malformed message from runner process {self.pid}: {why}"
                        break
                if len(events) >= limit or not self._ready(0)[0]:
                    break
        except (EOFError, OSError):
            outcome = Read.CLOSED
        if events:
            publish(events)
        return outcome

    def drain(self, publish: Callable[[list[Event]], None]) -> Read | str:
        """Publish every message already waiting; how the reading stopped (``EMPTY``: nothing
        more is waiting, ``CLOSED``: the pipe ended, or a malformed message's fault)."""
        while self.message_waiting():
            read = self.receive(publish)
            if read is not Read.EVENT:
                return read
        return Read.EMPTY

    def message_waiting(self) -> bool:
        try:
            return not self._conn_closed and self._ready(0)[0]
        except (OSError, ValueError):
            return False

    def wait(self, timeout: float | None) -> tuple[bool, bool]:
        """Wait for a message (or the pipe's end) or the process's end, up to ``timeout``
        seconds: (message ready, process ended). Only the watcher calls it."""
        return self._ready(None if timeout is None else timeout * 1000)

    def _ready(self, timeout_ms: float | None) -> tuple[bool, bool]:
        """One ``poll(2)`` on the pipe and the sentinel, registered once (the stdlib's
        ``wait`` and ``Connection.poll`` build a selector at every call, several µs each)."""
        if self._poller is None:
            self._poller = select.poll()
            self._poller.register(self.conn.fileno(), _READY)
            self._poller.register(self.sentinel, _READY)
        ready = dict(self._poller.poll(timeout_ms))
        return bool(ready.get(self.conn.fileno(), 0)), bool(ready.get(self.sentinel, 0))


def decode_events(data: bytes) -> list[Event]:
    """The events of one message: one event, or a burst of them as a JSON list (in order).
    Raises what decoding raises; a burst is taken whole or not at all."""
    value = json.loads(data)
    if type(value) is not list:
        return [decode_event(value)]
    if not value:
        raise WireError("an empty list of events")
    return [decode_event(item) for item in value]
