"""The engine protocol: what a runner's actions may ask of an inference engine.

The runtime binds the spec's actions (``download``, ``connect``, ``load``, ``warmup``,
``generate``, ``shutdown``) to these methods. ``exo_spec.engine.MlxEngine`` is the real
implementation; tests use scripted engines that raise, stall or run slowly on demand.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Literal, Protocol

from attrs import Attribute, field, frozen

__all__ = [
    "MAX_TOKENS_LIMIT",
    "ChatMessage",
    "ChatRequest",
    "DownloadProgress",
    "Engine",
    "FinishReason",
    "GroupPeer",
    "LoadProgress",
    "ModelRef",
    "TokenChunk",
]

FinishReason = Literal["stop", "length", "cancelled"]
Role = Literal["system", "user", "assistant"]
MAX_TOKENS_LIMIT = 1 << 20
"""The most tokens one request may ask for."""
_SEED_LIMIT = 1 << 63
_STOP_LIMIT = 16


def _not_negative(_: object, attribute: Attribute[int], value: int) -> None:
    if value < 0:
        raise ValueError(f"{attribute.name} must be 0 or more, got {value}")


def _within(low: float, high: float, *, low_open: bool = False) -> Callable[..., None]:
    """A validator: a finite number in [low, high] (or (low, high] with ``low_open``)."""
    shown = f"{'(' if low_open else '['}{low:g}, {high:g}]"

    def check(_: object, attribute: Attribute[float], value: float) -> None:
        ok = math.isfinite(value) and (value > low if low_open else value >= low) and value <= high
        if not ok:
            raise ValueError(f"{attribute.name} must be a number in {shown}, got {value!r}")

    return check


def _messages(
    _: object, _attribute: Attribute[tuple[object, ...]], value: tuple[object, ...]
) -> None:
    if not value:
        raise ValueError("messages must hold at least one message")


def _seed(_: object, _attribute: Attribute[int | None], value: int | None) -> None:
    if value is not None and not 0 <= value < _SEED_LIMIT:
        raise ValueError(f"seed must be in [0, 2**63), got {value}")


def _stops(_: object, _attribute: Attribute[tuple[str, ...]], value: tuple[str, ...]) -> None:
    if len(value) > _STOP_LIMIT:
        raise ValueError(f"stop may hold at most {_STOP_LIMIT} strings, got {len(value)}")
    if any(not text for text in value):
        raise ValueError("stop strings must not be empty")


def _at_most_total(done: str, total: str) -> Callable[[object], None]:
    def check(instance: object) -> None:
        if getattr(instance, done) > getattr(instance, total) > 0:
            raise ValueError(
                f"{done} ({getattr(instance, done)}) exceeds {total} ({getattr(instance, total)})"
            )

    return check


@frozen
class ChatMessage:
    """One message of an OpenAI-style chat."""

    role: Role
    content: str


@frozen
class ChatRequest:
    """What an OpenAI-style ``/v1/chat/completions`` request carries."""

    messages: tuple[ChatMessage, ...] = field(validator=_messages)
    max_tokens: int = field(default=64, validator=_within(1, MAX_TOKENS_LIMIT))
    temperature: float = field(default=0.0, validator=_within(0.0, 2.0))
    top_p: float = field(default=1.0, validator=_within(0.0, 1.0, low_open=True))
    stop: tuple[str, ...] = field(default=(), validator=_stops)
    seed: int | None = field(default=None, validator=_seed)


@frozen
class TokenChunk:
    """One streamed piece of generated text; the last one has a ``finish_reason``."""

    text: str
    token_id: int
    finish_reason: FinishReason | None = None


@frozen
class LoadProgress:
    """``layers_loaded`` of ``total_layers`` are in memory (exo's ``RunnerLoading(k, n)``)."""

    layers_loaded: int = field(validator=_not_negative)
    total_layers: int = field(validator=_not_negative)

    def __attrs_post_init__(self) -> None:
        _at_most_total("layers_loaded", "total_layers")(self)


@frozen
class DownloadProgress:
    """Bytes and files of a model download so far."""

    downloaded_bytes: int = field(validator=_not_negative)
    total_bytes: int = field(validator=_not_negative)
    files_done: int = field(validator=_not_negative)
    total_files: int = field(validator=_not_negative)

    def __attrs_post_init__(self) -> None:
        _at_most_total("files_done", "total_files")(self)


@frozen
class ModelRef:
    """A model on a hub: ``repo_id`` (``org/name``) at ``revision``, the files to fetch."""

    repo_id: str
    revision: str = "main"
    allow_patterns: tuple[str, ...] = ("*.json", "*.safetensors", "*.jinja", "*.txt")


@frozen
class GroupPeer:
    """One member of a multi-node instance: its rank and ``host:port``."""

    rank: int
    address: str


class Engine(Protocol):
    """The methods a runner's actions call. Each may raise; the runner then fails the task."""

    def download(
        self, model: ModelRef, models_dir: Path, progress: Callable[[DownloadProgress], None]
    ) -> Path:
        """Fetch ``model`` into ``models_dir`` (resuming), return the model directory."""
        ...

    def weights_present(self, model_dir: Path) -> bool:
        """Every file of the model in ``model_dir`` is on disk and verified (the guard)."""
        ...

    def connect(self, rank: int, peers: Sequence[GroupPeer]) -> None:
        """Join the distributed group of a multi-node instance."""
        ...

    def load(self, model_dir: Path) -> Iterator[LoadProgress]:
        """Load the model, yielding progress per layer."""
        ...

    def warmup(self) -> None:
        """Run a short generation so the first real request is not slow."""
        ...

    def generate(self, request: ChatRequest, cancelled: Callable[[], bool]) -> Iterator[TokenChunk]:
        """Stream tokens; stop early (finish ``cancelled``) once ``cancelled()`` is true."""
        ...

    def close(self) -> None:
        """Free the model and the group; safe to call more than once."""
        ...
