"""The runner's side of the process boundary: build the engine, serve tasks from the pipe.

The supervisor starts :func:`runner_main` in a spawned process. Tasks arrive and events leave
as JSON text of the wire types (one message per task or event), so a malformed message is
detected on either side: here it ends the process with :data:`EXIT_CHANNEL_FAULT`. Heavy
imports stay lazy: the engine's module is imported only when its factory is resolved.
"""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Iterator, Mapping
from multiprocessing.connection import Connection
from typing import Any

from attrs import field, frozen

from exo_spec.runtime.binding import resolve_object
from exo_spec.runtime.engine_protocol import Engine
from exo_spec.runtime.runner import Runner
from exo_spec.runtime.wire import (
    Event,
    RunnerContext,
    RunnerFailed,
    RunnerStatusUpdated,
    Task,
    event_to_json,
    task_from_json,
)

__all__ = [
    "DEFAULT_ENGINE",
    "EXIT_CHANNEL_FAULT",
    "EXIT_ENGINE_FAULT",
    "ChannelFault",
    "EngineFactory",
    "PipeTaskSource",
    "runner_main",
]

DEFAULT_ENGINE = "exo_spec.engine.mlx_engine:MlxEngine"
EXIT_CHANNEL_FAULT = 3
EXIT_ENGINE_FAULT = 4

JsonValue = str | int | float | bool | None | list[Any] | dict[str, Any]


class ChannelFault(BaseException):
    """The pipe to the supervisor is closed or carried a malformed task (a BaseException, so
    that an action's error handling cannot swallow it)."""


@frozen
class EngineFactory:
    """A picklable reference to an engine: ``"module:callable"`` and JSON-able keyword args."""

    ref: str = DEFAULT_ENGINE
    kwargs: Mapping[str, JsonValue] = field(factory=dict)

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
        return task_from_json(json.loads(data))
    except Exception as exc:  # any decode failure: ValueError, RecursionError, WireError...
        raise ChannelFault(f"malformed task on the channel: {describe_decode_error(exc)}") from None


def describe_decode_error(exc: Exception) -> str:
    """Why a message could not be decoded, in one line that names the kind of failure."""
    if isinstance(exc, RecursionError):
        return "RecursionError: nested too deeply to decode"
    return f"{type(exc).__name__}: {exc}"


class PipeTaskSource:
    """Tasks from the supervisor: iteration blocks for the next one, ``poll`` never blocks."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def __iter__(self) -> Iterator[Task]:
        while True:
            try:
                data = self._conn.recv_bytes()
            except (EOFError, OSError):
                return  # the supervisor is gone: nothing more will arrive
            yield decode_task(data)

    def poll(self) -> Task | None:
        try:
            if not self._conn.poll(0):
                return None
            return decode_task(self._conn.recv_bytes())
        except (EOFError, OSError) as exc:
            raise ChannelFault(f"channel closed: {exc or type(exc).__name__}") from None


class PipeEmitter:
    """Sends each event as one JSON message; a broken pipe is a :class:`ChannelFault`."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def __call__(self, event: Event) -> None:
        data = json.dumps(event_to_json(event), separators=(",", ":")).encode()
        try:
            self._conn.send_bytes(data)
        except OSError as exc:
            raise ChannelFault(f"cannot send an event: {exc}") from None


def runner_main(conn: Connection, context: RunnerContext, factory: EngineFactory) -> None:
    """The runner process: build the engine, serve tasks until Shutdown or the pipe closes."""
    emit = PipeEmitter(conn)
    try:
        engine = factory.build()
    except Exception as exc:
        message = f"engine {factory.ref} could not be built: {exc or type(exc).__name__}"
        with contextlib.suppress(ChannelFault):
            emit(RunnerStatusUpdated(context.runner_id, RunnerFailed(message)))
        sys.stderr.write(message + "\n")
        sys.exit(EXIT_ENGINE_FAULT)
    runner = Runner(context, engine, emit)
    try:
        runner.serve(PipeTaskSource(conn))
        if not runner.finished:
            raise ChannelFault("the channel closed before Shutdown")
    except ChannelFault as fault:
        sys.stderr.write(f"runner {context.runner_id}: {fault}\n")
        sys.exit(EXIT_CHANNEL_FAULT)
    finally:
        conn.close()
