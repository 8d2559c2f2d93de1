"""A scripted engine for fault injection in tests (never a production type)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from exo_spec.runtime.engine_protocol import (
    ChatRequest,
    DownloadProgress,
    GroupPeer,
    LoadProgress,
    ModelRef,
    TokenChunk,
)


class ScriptedEngineError(RuntimeError):
    """Raised by a scripted action."""


class ScriptedEngine:
    """Implements the engine protocol; ``fail`` names actions that raise, with their message."""

    def __init__(
        self,
        *,
        weights: bool = True,
        layers: int = 3,
        tokens: Sequence[str] = ("In", " the", " beginning"),
        fail: dict[str, str] | None = None,
    ) -> None:
        self.weights = weights
        self.layers = layers
        self.tokens = tuple(tokens)
        self.fail = dict(fail or {})
        self.calls: list[str] = []

    def _call(self, name: str) -> None:
        self.calls.append(name)
        if name in self.fail:
            raise ScriptedEngineError(self.fail[name])

    def download(
        self, model: ModelRef, models_dir: Path, progress: Callable[[DownloadProgress], None]
    ) -> Path:
        self._call("download")
        progress(DownloadProgress(10, 20, 0, 2))
        progress(DownloadProgress(20, 20, 2, 2))
        self.weights = True
        return models_dir / model.repo_id.replace("/", "--")

    def weights_present(self, model_dir: Path) -> bool:
        return self.weights

    def connect(self, rank: int, peers: Sequence[GroupPeer]) -> None:
        self._call("connect")

    def load(self, model_dir: Path) -> Iterator[LoadProgress]:
        self._call("load")
        for k in range(1, self.layers + 1):
            yield LoadProgress(k, self.layers)

    def warmup(self) -> None:
        self._call("warmup")

    def generate(self, request: ChatRequest, cancelled: Callable[[], bool]) -> Iterator[TokenChunk]:
        self._call("generate")
        for index, text in enumerate(self.tokens):
            if cancelled():
                yield TokenChunk("", -1, "cancelled")
                return
            last = index == len(self.tokens) - 1
            yield TokenChunk(text, index, "stop" if last else None)

    def close(self) -> None:
        self._call("close")
