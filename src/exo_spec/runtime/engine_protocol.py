"""The engine protocol: what a runner's actions may ask of an inference engine.

The runtime binds the spec's actions (``download``, ``connect``, ``load``, ``warmup``,
``generate``, ``shutdown``) to these methods. ``exo_spec.engine.MlxEngine`` is the real
implementation; tests use scripted engines that raise, stall or run slowly on demand.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Literal, Protocol

from attrs import frozen

__all__ = [
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


@frozen
class ChatMessage:
    """One message of an OpenAI-style chat."""

    role: Role
    content: str


@frozen
class ChatRequest:
    """What an OpenAI-style ``/v1/chat/completions`` request carries."""

    messages: tuple[ChatMessage, ...]
    max_tokens: int = 64
    temperature: float = 0.0
    top_p: float = 1.0
    stop: tuple[str, ...] = ()
    seed: int | None = None


@frozen
class TokenChunk:
    """One streamed piece of generated text; the last one has a ``finish_reason``."""

    text: str
    token_id: int
    finish_reason: FinishReason | None = None


@frozen
class LoadProgress:
    """``layers_loaded`` of ``total_layers`` are in memory (exo's ``RunnerLoading(k, n)``)."""

    layers_loaded: int
    total_layers: int


@frozen
class DownloadProgress:
    """Bytes and files of a model download so far."""

    downloaded_bytes: int
    total_bytes: int
    files_done: int
    total_files: int


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
