"""Wire types: tasks, runner statuses and events, in exo's externally tagged JSON shape.

Every value here is frozen attrs data. :func:`to_json` / :func:`from_json` convert to and from
plain JSON (``{"RunnerStatusUpdated": {...}}``): only str keys, only JSON scalars, lists and
objects, so ``json.dumps`` can never fail on an event (seed 002's health-report crash).

The converter behind them (cattrs, with typing_extensions about 40 ms of imports) is built at
its first use, :func:`json_converter`: a runner process reads its usual tasks and writes its
usual events without it (:mod:`exo_spec.supervisor.codec`), so it never imports cattrs unless a
download, an error chunk or a malformed task needs it.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, NewType, cast, get_args

from attrs import field, frozen

from exo_spec.runtime.engine_protocol import (
    ChatRequest,
    DownloadProgress,
    FinishReason,
    GroupPeer,
    ModelRef,
)
from exo_spec.spec import TaskStatusName

if TYPE_CHECKING:
    import cattrs

__all__ = [
    "FINAL_TASK_STATUSES",
    "TASK_TYPES",
    "BoundInstance",
    "CancelTask",
    "ChatCompletion",
    "Chunk",
    "ChunkGenerated",
    "ConnectToGroup",
    "DownloadModel",
    "DownloadProgressed",
    "ErrorChunk",
    "Event",
    "InstanceId",
    "LoadModel",
    "RunnerConnected",
    "RunnerConnecting",
    "RunnerContext",
    "RunnerDownloading",
    "RunnerFailed",
    "RunnerId",
    "RunnerIdle",
    "RunnerLoaded",
    "RunnerLoading",
    "RunnerReady",
    "RunnerRunning",
    "RunnerShutdown",
    "RunnerShuttingDown",
    "RunnerStatus",
    "RunnerStatusUpdated",
    "RunnerWarmingUp",
    "Shutdown",
    "StartWarmup",
    "Task",
    "TaskAcknowledged",
    "TaskId",
    "TaskStatus",
    "TaskStatusName",
    "TaskStatusUpdated",
    "TextChunk",
    "WireError",
    "event_from_json",
    "event_to_json",
    "from_json",
    "json_converter",
    "status_for",
    "task_from_json",
    "task_to_json",
    "to_json",
]

TaskId = NewType("TaskId", str)
RunnerId = NewType("RunnerId", str)
InstanceId = NewType("InstanceId", str)
TaskStatus = Literal["Pending", "Running", "Complete", "Failed", "Cancelled"]
FINAL_TASK_STATUSES: frozenset[str] = frozenset({"Complete", "Failed", "Cancelled"})


class WireError(ValueError):
    """A message that is not a valid tagged task or event; says what was expected."""


_REPORTED: tuple[str, ...] = get_args(TaskStatusName)


def _reported_status(_: object, _attribute: object, value: str) -> None:
    if value not in _REPORTED:
        raise ValueError(f"task_status must be one of {', '.join(_REPORTED)}, got {value!r}")


def _not_negative(_: object, attribute: Any, value: int) -> None:
    if value < 0:
        raise ValueError(f"{attribute.name} must be 0 or more, got {value}")


# -- tasks -------------------------------------------------------------------------------------


@frozen
class DownloadModel:
    task_id: TaskId
    model: ModelRef


@frozen
class ConnectToGroup:
    task_id: TaskId


@frozen
class LoadModel:
    task_id: TaskId


@frozen
class StartWarmup:
    task_id: TaskId


@frozen
class ChatCompletion:
    task_id: TaskId
    request: ChatRequest


@frozen
class CancelTask:
    task_id: TaskId
    cancel_task_id: TaskId


@frozen
class Shutdown:
    task_id: TaskId


Task = (
    DownloadModel
    | ConnectToGroup
    | LoadModel
    | StartWarmup
    | ChatCompletion
    | CancelTask
    | Shutdown
)
TASK_TYPES: tuple[type[Task], ...] = cast(tuple[type[Task], ...], get_args(Task))


# -- runner statuses ---------------------------------------------------------------------------


@frozen
class RunnerIdle:
    pass


@frozen
class RunnerDownloading:
    pass


@frozen
class RunnerConnecting:
    pass


@frozen
class RunnerConnected:
    pass


@frozen
class RunnerLoading:
    layers_loaded: int = field(default=0, validator=_not_negative)
    total_layers: int = field(default=0, validator=_not_negative)

    def __attrs_post_init__(self) -> None:
        if self.layers_loaded > self.total_layers > 0:
            raise ValueError(
                f"layers_loaded ({self.layers_loaded}) exceeds total_layers ({self.total_layers})"
            )


@frozen
class RunnerLoaded:
    pass


@frozen
class RunnerWarmingUp:
    pass


@frozen
class RunnerReady:
    pass


@frozen
class RunnerRunning:
    pass


@frozen
class RunnerShuttingDown:
    pass


@frozen
class RunnerShutdown:
    pass


@frozen
class RunnerFailed:
    error_message: str = ""


RunnerStatus = (
    RunnerIdle
    | RunnerDownloading
    | RunnerConnecting
    | RunnerConnected
    | RunnerLoading
    | RunnerLoaded
    | RunnerWarmingUp
    | RunnerReady
    | RunnerRunning
    | RunnerShuttingDown
    | RunnerShutdown
    | RunnerFailed
)
_STATUS_TYPES: dict[str, type[RunnerStatus]] = {
    cls.__name__: cls for cls in cast(tuple[type[RunnerStatus], ...], get_args(RunnerStatus))
}


def status_for(status_name: str, message: str | None = None) -> RunnerStatus:
    """The wire status for a spec status name (``RunnerFailed`` carries ``message``)."""
    cls = _STATUS_TYPES.get(status_name)
    if cls is None:
        known = ", ".join(_STATUS_TYPES)
        raise WireError(f"unknown runner status {status_name!r}; known: {known}")
    if cls is RunnerFailed:
        return RunnerFailed(message or "")
    return cls()


# -- events ------------------------------------------------------------------------------------


@frozen
class RunnerStatusUpdated:
    runner_id: RunnerId
    runner_status: RunnerStatus


@frozen
class TaskStatusUpdated:
    """A task's status as the runner reports it (``Pending`` is the supervisor's own word for a
    task not yet acknowledged; a runner never reports it)."""

    task_id: TaskId
    task_status: TaskStatusName = field(validator=_reported_status)
    error_message: str | None = None


@frozen
class TaskAcknowledged:
    task_id: TaskId


@frozen
class TextChunk:
    """A piece of generated text; the last one has a ``finish_reason``."""

    text: str
    token_id: int
    finish_reason: Literal["stop", "length", "cancelled"] | None = None


@frozen
class ErrorChunk:
    """Sent to a stream whose generation will produce no more text, before its final status."""

    error_message: str


Chunk = TextChunk | ErrorChunk


@frozen
class ChunkGenerated:
    task_id: TaskId
    chunk: Chunk


@frozen
class DownloadProgressed:
    task_id: TaskId
    progress: DownloadProgress


Event = (
    RunnerStatusUpdated | TaskStatusUpdated | TaskAcknowledged | ChunkGenerated | DownloadProgressed
)


# -- the runner's context ----------------------------------------------------------------------


@frozen
class BoundInstance:
    """The instance a runner serves: the model, and the group when it spans several nodes."""

    instance_id: InstanceId
    model: ModelRef
    rank: int = 0
    peers: tuple[GroupPeer, ...] = ()

    @property
    def has_group(self) -> bool:
        return len(self.peers) > 1


@frozen
class RunnerContext:
    """Everything a runner's guards need: who it is, what it serves, where models live."""

    runner_id: RunnerId
    instance: BoundInstance
    models_dir: Path = field(converter=Path)
    model_dir: Path = field(converter=Path)


# -- JSON --------------------------------------------------------------------------------------


def _strict_str(value: object, _: object) -> str:
    if not isinstance(value, str):
        raise WireError(f"expected a string, got {_short(value)}")
    return value


def _strict_int(value: object, _: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise WireError(f"expected an integer, got {_short(value)}")
    return value


def _strict_float(value: object, _: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise WireError(f"expected a number, got {_short(value)}")
    return float(value)


def _strict_bool(value: object, _: object) -> bool:
    if not isinstance(value, bool):
        raise WireError(f"expected true or false, got {_short(value)}")
    return value


@functools.cache
def json_converter() -> cattrs.Converter:
    """The strict converter of the tagged unions, built once, at first use."""
    import cattrs  # noqa: PLC0415 (about 40 ms: not needed before the first use)

    converter = cattrs.Converter(forbid_extra_keys=True)
    converter.register_unstructure_hook(Path, str)
    converter.register_structure_hook(Path, lambda value, _: Path(value))
    converter.register_structure_hook(str, _strict_str)
    converter.register_structure_hook(int, _strict_int)
    converter.register_structure_hook(float, _strict_float)
    converter.register_structure_hook(bool, _strict_bool)
    for union in (Task, RunnerStatus, Chunk, Event):
        _register_tagged(converter, union)
    return converter


def _register_tagged(converter: cattrs.Converter, union: Any) -> None:
    import cattrs  # noqa: PLC0415 (imported by json_converter already)

    members: tuple[type[Any], ...] = get_args(union)
    by_name = {cls.__name__: cls for cls in members}

    def unstructure(value: Any) -> dict[str, Any]:
        cls = type(value)
        return {cls.__name__: converter.unstructure(value, cls)}

    def structure(value: Any, _: Any) -> Any:
        if not isinstance(value, Mapping) or len(value) != 1:
            raise WireError(
                f"expected an object with exactly one key naming the type (one of: "
                f"{', '.join(by_name)}), got {_short(value)}"
            )
        ((name, body),) = value.items()
        cls = by_name.get(name)
        if cls is None:
            raise WireError(f"unknown type {name!r}; expected one of: {', '.join(by_name)}")
        if not isinstance(body, Mapping):
            raise WireError(f"{name} must hold an object of its fields, got {_short(body)}")
        try:
            return converter.structure(body, cls)
        except (cattrs.BaseValidationError, TypeError, ValueError, KeyError, WireError) as exc:
            raise WireError(f"{name}: {_explain(exc)}") from None

    converter.register_unstructure_hook(union, unstructure)
    converter.register_structure_hook(union, structure)


def _short(value: object) -> str:
    text = json.dumps(value, default=repr)
    return text if len(text) <= 80 else text[:77] + "..."


def _explain(exc: BaseException, path: str = "") -> str:
    """Every problem in ``exc``, each with the path of the field it is about."""
    import cattrs  # noqa: PLC0415 (imported by json_converter already)

    if isinstance(exc, cattrs.ClassValidationError):
        noted, plain = exc.group_exceptions()
        parts = [_explain(inner, f"{path}.{note.name}") for inner, note in noted]
        parts += [_explain(inner, path) for inner in plain]
        return "; ".join(parts) or str(exc)
    if isinstance(exc, cattrs.IterableValidationError):
        indexed, plain = exc.group_exceptions()
        parts = [_explain(inner, f"{path}[{note.index}]") for inner, note in indexed]
        parts += [_explain(inner, path) for inner in plain]
        return "; ".join(parts) or str(exc)
    if isinstance(exc, cattrs.BaseValidationError):
        return "; ".join(_explain(inner, path) for inner in exc.exceptions) or str(exc)
    where = f"{path.lstrip('.')}: " if path else ""
    return where + (str(exc) or type(exc).__name__)


def to_json(value: object, union: Any) -> Any:
    """Plain JSON data for a value of one of the tagged unions (``Task``, ``Event``, ...)."""
    return json_converter().unstructure(value, union)


def from_json(data: object, union: Any) -> Any:
    """The typed value for tagged JSON data; :class:`WireError` names what was wrong."""
    return json_converter().structure(data, union)


def task_to_json(task: Task) -> dict[str, Any]:
    return cast(dict[str, Any], to_json(task, Task))


def task_from_json(data: object) -> Task:
    return cast(Task, from_json(data, Task))


_FINISH_REASONS = frozenset((*get_args(FinishReason), None))


def event_to_json(event: Event) -> dict[str, Any]:
    """Tagged JSON data for ``event``. A text chunk (one per token, the hot path) is written
    directly; every other event goes through the converter. Both give the same data."""
    if type(event) is ChunkGenerated and type(event.chunk) is TextChunk:
        chunk = event.chunk
        text = {
            "text": chunk.text,
            "token_id": chunk.token_id,
            "finish_reason": chunk.finish_reason,
        }
        return {"ChunkGenerated": {"task_id": event.task_id, "chunk": {"TextChunk": text}}}
    return cast(dict[str, Any], to_json(event, Event))


def event_from_json(data: object) -> Event:
    """The event for tagged JSON data; :class:`WireError` names what was wrong. A well-formed
    text chunk is read directly; anything else (including every malformed chunk, so that its
    error names the problem) goes through the strict converter."""
    chunk = _text_chunk(data)
    if chunk is not None:
        return chunk
    return cast(Event, from_json(data, Event))


def _text_chunk(data: object) -> ChunkGenerated | None:
    """``data`` as a ChunkGenerated(TextChunk) when it is exactly one, with the right types."""
    if type(data) is not dict or len(data) != 1:
        return None
    body = data.get("ChunkGenerated")
    if type(body) is not dict or len(body) != 2:
        return None
    task_id, chunk = body.get("task_id"), body.get("chunk")
    if type(task_id) is not str or type(chunk) is not dict or len(chunk) != 1:
        return None
    fields = chunk.get("TextChunk")
    if type(fields) is not dict or len(fields) != 3:
        return None
    text, token_id = fields.get("text"), fields.get("token_id")
    reason = fields.get("finish_reason", 0)
    if type(text) is not str or type(token_id) is not int:
        return None
    if (reason is not None and type(reason) is not str) or reason not in _FINISH_REASONS:
        return None
    return ChunkGenerated(TaskId(task_id), TextChunk(text, token_id, cast(FinishReason, reason)))
