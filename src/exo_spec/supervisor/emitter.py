"""The runner's sending side of the pipe: events as JSON messages, bursts of chunks coalesced.

While the supervisor keeps up, every event is sent at once as its own message, so a token's
latency is one write. When the supervisor is behind (the bytes of an earlier message are still
unread in the socket), a text chunk that neither starts nor ends its stream is held instead,
and the held chunks leave together as one message, a JSON list of events in their order: with
the next event sent once the supervisor has caught up (noticed at most ``LOOK_S`` late), with
any other event (a status, a final chunk, ...), before the runner blocks for its next task, or
after ``hold_s`` at the latest (a thread of its own). A busy supervisor then wakes once per
burst instead of once per token. Events are encoded by :mod:`exo_spec.supervisor.codec`.

The events of one step are sent together too: after :meth:`PipeEmitter.cork` (the runner has
read a task) and after a stream's last chunk, events are held until :meth:`PipeEmitter.flush`
(the runner calls its engine or waits for its next task), a text chunk is sent, or ``hold_s``
has passed. A task's acknowledgement and the statuses it moves through then reach the
supervisor in one message, not one wake-up each while the engine starts its work; none waits
longer than the step that makes it (microseconds) or ``hold_s``.

"Behind" is read with ``SIOCOUTQ`` (Linux: the bytes a unix socket holds that its peer has not
read); elsewhere nothing is ever held.
"""

from __future__ import annotations

import contextlib
import fcntl
import sys
import termios
import threading
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import TypeGuard

from exo_spec.runtime.engine_protocol import Engine
from exo_spec.runtime.wire import ChunkGenerated, Event, TaskId, TextChunk
from exo_spec.supervisor.codec import encode_event
from exo_spec.supervisor.preload import EngineWrapper

__all__ = [
    "HOLD_S",
    "LOOK_S",
    "MAX_HELD",
    "ChannelFault",
    "FlushingEngine",
    "PipeEmitter",
    "batch_message",
]

HOLD_S = 0.001
"""How long a held chunk waits at most for its burst to be sent, when nothing else sends it."""
LOOK_S = 0.0001
"""While chunks are held, how long the reader is taken to be still behind without looking (one
system call per chunk at most once per this): held chunks leave at most this much later."""
MAX_HELD = 1024
"""A burst is sent when it holds this many chunks, whatever the supervisor's state."""
_SIOCOUTQ = getattr(termios, "TIOCOUTQ", None)  # the same request number on Linux
_UNREAD = b"\0\0\0\0"


class ChannelFault(BaseException):
    """The pipe to the supervisor is closed or carried a malformed task (a BaseException, so
    that an action's error handling cannot swallow it)."""


def batch_message(messages: list[bytes]) -> bytes:
    """One message carrying several encoded events, in order: a JSON list of them."""
    return b"[" + b",".join(messages) + b"]"


def _continues_stream(event: Event) -> TypeGuard[ChunkGenerated]:
    """Whether ``event`` is a text chunk that does not end its stream."""
    if type(event) is not ChunkGenerated:
        return False
    chunk = event.chunk
    return type(chunk) is TextChunk and chunk.finish_reason is None


class PipeEmitter:
    """Sends each event as JSON; coalesces chunks while the reader is behind (module doc).
    Sends are serialised: the heartbeat and the flushing threads share the pipe."""

    def __init__(self, conn: Connection, hold_s: float = HOLD_S) -> None:
        self._conn = conn
        self._lock = threading.Lock()
        self._held: list[bytes] = []
        self._streaming: TaskId | None = None  # the task whose chunk was the last event
        self._hold_s = hold_s
        self._flush_due = threading.Event()
        self._flusher: threading.Thread | None = None
        self._look_at = 0.0  # while chunks are held: when to look at the reader again
        self._corked = False  # hold every event until the next flush (the step's events)
        self._coalesce = sys.platform.startswith("linux") and _SIOCOUTQ is not None

    def __call__(self, event: Event) -> None:
        data = encode_event(event)
        chunk = type(event) is ChunkGenerated
        with self._lock:
            streaming = self._streaming
            self._streaming = None
            if _continues_stream(event):
                self._streaming = event.task_id
                if (
                    streaming == event.task_id  # never the first chunk: its latency counts
                    and len(self._held) < MAX_HELD
                    and self._still_behind()
                ):
                    self._hold(data)
                    return
            elif self._corked and not chunk and len(self._held) < MAX_HELD:
                self._hold(data)
                return
            if self._held:
                self._held.append(data)
                data = self._take_held()
            self._send(data)
            if chunk and self._streaming is None:
                self._corked = True  # a stream's last chunk: the statuses ending its step follow

    def cork(self) -> None:
        """Hold the events that follow until the next :meth:`flush` (or ``hold_s``, or a
        text chunk), then send them as one message."""
        with self._lock:
            self._corked = True

    def send(self, data: bytes) -> None:
        """Send one message as it is (a heartbeat); held chunks are not affected."""
        with self._lock:
            self._send(data)

    def flush(self) -> None:
        """Send the held events now, if any, and stop holding the events that follow."""
        with self._lock:
            self._corked = False
            if self._held:
                self._send(self._take_held())

    def _hold(self, data: bytes) -> None:
        """Keep ``data`` for the next message; sent within ``hold_s`` at the latest (lock held)."""
        self._held.append(data)
        if len(self._held) == 1:
            self._flush_later()

    def _take_held(self) -> bytes:
        self._corked = False
        held, self._held = self._held, []
        return held[0] if len(held) == 1 else batch_message(held)

    def _send(self, data: bytes) -> None:
        try:
            self._conn.send_bytes(data)
        except (OSError, ValueError) as exc:
            raise ChannelFault(f"cannot send an event: {exc}") from None

    def _still_behind(self) -> bool:
        """Whether the reader is behind; while chunks are held it is looked at again (a system
        call) only once ``LOOK_S`` has passed since it was last seen behind (lock held)."""
        now = time.monotonic()
        if self._held and now < self._look_at:
            return True
        behind = self._behind()
        self._look_at = now + LOOK_S
        return behind

    def _behind(self) -> bool:
        """Whether the reader has not yet read everything sent to it."""
        if not self._coalesce:
            return False
        try:
            unread = fcntl.ioctl(self._conn.fileno(), _SIOCOUTQ, _UNREAD)  # type: ignore[arg-type]
        except (OSError, ValueError):
            self._coalesce = False
            return False
        return int.from_bytes(unread, sys.byteorder) > 0

    def _flush_later(self) -> None:
        """Have the held chunks sent within ``hold_s`` (lock held)."""
        self._flush_due.set()
        if self._flusher is None:
            self._flusher = threading.Thread(target=self._flushing, name="flush", daemon=True)
            self._flusher.start()

    def _flushing(self) -> None:
        while True:
            self._flush_due.wait()
            time.sleep(self._hold_s)
            self._flush_due.clear()
            with contextlib.suppress(ChannelFault):  # the main thread meets it and exits
                self.flush()


class FlushingEngine(EngineWrapper):
    """``engine``, with the emitter's held events sent before each call that does the work of
    a step (which may take long: no status waits for it). The guard ``weights_present`` is
    answered without a flush: the statuses its answer leads to follow in the same message."""

    def __init__(self, engine: Engine, flush: Callable[[], None]) -> None:
        self.engine = engine
        self._flush = flush

    def _target(self, work: bool, /) -> Engine:
        if work:
            self._flush()
        return self.engine
