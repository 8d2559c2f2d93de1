"""The runner's side of the process boundary: build the engine, serve tasks from the pipe.

The supervisor starts :func:`spawned` in a fresh interpreter (:mod:`exo_spec.supervisor.spawn`);
it reads its arguments from the connection and runs :func:`runner_main`. Tasks arrive and
events leave as JSON text of the wire types (one message per task or event, or per burst of
chunks while the supervisor is behind: :mod:`exo_spec.supervisor.emitter`), so a malformed
message is detected on either side: here it ends the process with :data:`EXIT_CHANNEL_FAULT`.
Heavy imports stay lazy: the engine's module is imported only when its factory is resolved, and
this module imports nothing of the supervisor's side, of YAML or of loguru
(``tests/supervisor/test_child_imports.py``).
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import importlib.util
import json
import os
import select
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Mapping
from multiprocessing.connection import Connection
from typing import Any

from attrs import field, frozen

from exo_spec.runtime.binding import resolve_object
from exo_spec.runtime.engine_protocol import Engine
from exo_spec.runtime.runner import QuietLog, Runner
from exo_spec.runtime.wire import (
    RunnerContext,
    RunnerFailed,
    RunnerStatusUpdated,
    Task,
    TaskId,
    WireError,
    task_from_json,
    task_to_json,
)
from exo_spec.supervisor.codec import decode_task as read_task
from exo_spec.supervisor.emitter import ChannelFault, FlushingEngine, PipeEmitter
from exo_spec.supervisor.preload import PreloadedEngine

__all__ = [
    "DEFAULT_ENGINE",
    "EXIT_CHANNEL_FAULT",
    "EXIT_ENGINE_FAULT",
    "EXIT_ORPHANED",
    "HEARTBEAT",
    "ChannelFault",
    "EngineFactory",
    "PipeTaskSource",
    "encode_task",
    "runner_main",
    "spawned",
]

DEFAULT_ENGINE = "exo_spec.engine.mlx_engine:MlxEngine"
EXIT_CHANNEL_FAULT = 3
EXIT_ENGINE_FAULT = 4
EXIT_ORPHANED = 5
HEARTBEAT = b'{"Heartbeat":{}}'
"""Sent by the runner every ``heartbeat_s`` from a thread of its own, whatever its main thread
is doing: a runner that is frozen (SIGSTOP, a deadlock that holds the GIL) goes silent."""
_PR_SET_PDEATHSIG = 1

JsonValue = str | int | float | bool | None | list[Any] | dict[str, Any]


@frozen
class EngineFactory:
    """A picklable reference to an engine: ``"module:callable"`` and JSON-able keyword args."""

    ref: str = DEFAULT_ENGINE
    kwargs: Mapping[str, JsonValue] = field(factory=dict)
    lazy: bool = True
    """Import the engine's module in the background and build the engine at its first use, so
    the runner reports Idle at once; ``False`` builds it before Idle (for an engine whose
    construction must have happened by then, such as one that installs signal handlers)."""

    def find(self) -> None:
        """Check, without importing it, that the reference names a module that exists;
        ``ValueError`` says what is wrong."""
        module, sep, attribute = self.ref.partition(":")
        if not sep or not module or not attribute:
            raise ValueError(f"{self.ref!r} is not of the form module:callable")
        try:
            found = importlib.util.find_spec(module)
        except (ImportError, ValueError) as exc:
            raise ValueError(f"cannot find module {module!r}: {exc}") from None
        if found is None:
            raise ValueError(f"no module named {module!r}")

    def build(self) -> Engine:
        """Import the module (lazily, in the runner process) and call the factory."""
        factory = resolve_object(self.ref)
        if not callable(factory):
            raise TypeError(
                f"engine factory {self.ref!r} is a {type(factory).__name__}, not callable"
            )
        engine: Engine = factory(**dict(self.kwargs))
        return engine


def decode_task(data: bytes) -> Task:
    """A task from one message; :class:`ChannelFault` when it is not a valid task."""
    try:
        return read_task(json.loads(data))
    except Exception as exc:  # any decode failure: ValueError, RecursionError, WireError...
        raise ChannelFault(f"malformed task on the channel: {describe_decode_error(exc)}") from None


def encode_task(task: Task) -> bytes:
    """The message for ``task``, checked by decoding it as the runner will; ``ValueError``
    saying what is wrong (the field and what it should be) when it cannot be sent."""
    try:
        data = json.dumps(task_to_json(task), separators=(",", ":"), allow_nan=False).encode()
        task_from_json(json.loads(data))
    except Exception as exc:  # any encode or decode failure: WireError, TypeError, ...
        why = str(exc) if isinstance(exc, WireError) else describe_decode_error(exc)
        raise ValueError(why) from None
    return data


def describe_decode_error(exc: Exception) -> str:
    """Why a message could not be decoded, in one line that names the kind of failure."""
    if isinstance(exc, RecursionError):
        return "RecursionError: nested too deeply to decode"
    return f"{type(exc).__name__}: {exc}"


Unreadable = Callable[[TaskId | None, str], None]
"""Told of a message that is not a valid task: its task id when one can be read, and why."""


def unreadable_task_id(data: bytes) -> TaskId | None:
    """The ``task_id`` of a message shaped like a tagged task, when it is a string."""
    try:
        value = json.loads(data)
    except (ValueError, RecursionError):
        return None
    if isinstance(value, dict) and len(value) == 1:
        (body,) = value.values()
        if isinstance(body, dict) and isinstance(body.get("task_id"), str):
            return TaskId(body["task_id"])
    return None


class PipeTaskSource:
    """Tasks from the supervisor: iteration blocks for the next one, ``poll`` never blocks.

    A message that is not a valid task is handed to ``unreadable`` (which fails it when its id
    can be read) and skipped: the runner goes on serving. Without ``unreadable`` it is a
    :class:`ChannelFault`. ``before_wait`` is called before each blocking wait (the emitter's
    flush: no event stays held while the runner waits for a task), ``on_task`` when a task has
    been read (the emitter's cork: the events of the task's step leave together)."""

    def __init__(
        self,
        conn: Connection,
        unreadable: Unreadable | None = None,
        before_wait: Callable[[], None] | None = None,
        on_task: Callable[[], None] | None = None,
    ) -> None:
        self._conn = conn
        self._unreadable = unreadable
        self._before_wait = before_wait
        self._on_task = on_task
        self._poller = select.poll()  # registered once: Connection.poll builds a selector a call
        self._poller.register(conn.fileno(), select.POLLIN | select.POLLHUP | select.POLLERR)

    def __iter__(self) -> Iterator[Task]:
        while True:
            if self._before_wait is not None:
                self._before_wait()  # nothing waits to be sent while the runner waits
            try:
                data = self._conn.recv_bytes()
            except (EOFError, OSError):
                return  # the supervisor is gone: nothing more will arrive
            task = self._decode(data)
            if task is not None:
                yield task

    def poll(self) -> Task | None:
        try:
            while self._poller.poll(0):
                task = self._decode(self._conn.recv_bytes())
                if task is not None:
                    return task
        except (EOFError, OSError) as exc:
            raise ChannelFault(f"channel closed: {exc or type(exc).__name__}") from None
        return None

    def _decode(self, data: bytes) -> Task | None:
        if self._on_task is not None:
            self._on_task()
        try:
            return decode_task(data)
        except ChannelFault as fault:
            if self._unreadable is None:
                raise
            self._unreadable(unreadable_task_id(data), str(fault))
            return None


def _die_with_parent(parent: int) -> None:
    """Linux: the kernel kills this process when the thread that spawned it ends (the
    supervisor spawns from its long-lived watcher thread). Elsewhere the watchdog alone."""
    if not sys.platform.startswith("linux"):
        return
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # the parent died before the request took effect
        os._exit(EXIT_ORPHANED)


def _liveness(emit: PipeEmitter, parent: int, every_s: float) -> None:
    """The watchdog thread: end the process when its supervisor's process is gone (whatever
    the main thread is doing), and send a heartbeat every ``every_s``."""
    stop = threading.Event()
    while not stop.wait(every_s):
        if os.getppid() != parent:
            sys.stderr.write("runner: the supervisor's process is gone; exiting\n")
            os._exit(EXIT_ORPHANED)
        try:
            emit.send(HEARTBEAT)
        except ChannelFault:
            continue  # the main thread meets the broken pipe and exits; the watchdog stays


def _engine_for(factory: EngineFactory) -> Engine:
    """The engine, built now; or, for a lazy factory whose module exists, imported in the
    background and built at its first use."""
    if not factory.lazy:
        return factory.build()
    factory.find()
    return PreloadedEngine(factory, start=False)  # started once the runner has reported Idle


def runner_main(
    conn: Connection,
    context: RunnerContext,
    factory: EngineFactory,
    parent: int | None = None,
    heartbeat_s: float | None = None,
) -> None:
    """The runner process: build the engine, serve tasks until Shutdown or the pipe closes.

    With ``parent`` (the supervisor's pid), the process ends when the supervisor's does, within
    ``heartbeat_s``, whatever it is doing; with ``heartbeat_s``, it sends heartbeats."""
    emit = PipeEmitter(conn)
    if parent is not None:
        _die_with_parent(parent)
    if parent is not None and heartbeat_s is not None:
        threading.Thread(
            target=_liveness, args=(emit, parent, heartbeat_s), name="liveness", daemon=True
        ).start()
    try:
        engine = _engine_for(factory)
    except Exception as exc:
        message = f"engine {factory.ref} could not be built: {exc or type(exc).__name__}"
        with contextlib.suppress(ChannelFault):
            emit(RunnerStatusUpdated(context.runner_id, RunnerFailed(message)))
        sys.stderr.write(message + "\n")
        sys.exit(EXIT_ENGINE_FAULT)
    # nothing in this process turns exo-spec's logs on: the runner skips loguru altogether
    # reports RunnerIdle; a step's events leave as one message (PipeEmitter.cork)
    runner = Runner(context, FlushingEngine(engine, emit.flush), emit, QuietLog())
    gc.freeze()  # what start-up made lives as long as the process: never scan it again
    gc.enable()  # off while the process started (exo_spec.supervisor.spawn.ENTRY)
    if isinstance(engine, PreloadedEngine):
        engine.start()
    try:
        runner.serve(PipeTaskSource(conn, runner.fail_unreadable, emit.flush, emit.cork))
        if not runner.finished:
            raise ChannelFault("the channel closed before Shutdown")
    except ChannelFault as fault:
        sys.stderr.write(f"runner {context.runner_id}: {fault}\n")
        sys.exit(EXIT_CHANNEL_FAULT)
    finally:
        with contextlib.suppress(ChannelFault):
            emit.flush()
        conn.close()


def spawned(fd: int) -> None:
    """The runner process's entry point: the connection is ``fd``; its first message is the
    pickled arguments of :func:`runner_main` (``(context, factory, parent, heartbeat_s)``)."""
    conn = Connection(fd)
    try:
        context, factory, parent, heartbeat_s = conn.recv()
    except (EOFError, OSError):
        sys.exit(EXIT_CHANNEL_FAULT)  # the supervisor went away before the runner started
    if not isinstance(context, RunnerContext) or not isinstance(factory, EngineFactory):
        sys.stderr.write("runner: the first message is not a runner's arguments\n")
        sys.exit(EXIT_CHANNEL_FAULT)
    runner_main(conn, context, factory, parent, heartbeat_s)
