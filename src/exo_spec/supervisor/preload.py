"""An engine whose module is imported in the background, so a runner reports Idle at once.

The engine's module (for MLX: mlx and mlx-lm, about a second and a half of imports) is not
needed before the first task. :class:`PreloadedEngine` starts importing it in a thread while the
runner builds its machine and reports ``RunnerIdle``; the engine itself is built on first use,
in the runner's main thread (an engine may install signal handlers, which only the main thread
can). A task that arrives before the import is done waits for it. An engine that cannot be built
fails the task that needed it, with the reason, and the runner goes on serving.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from exo_spec.runtime.binding import import_project_module
from exo_spec.runtime.engine_protocol import (
    ChatRequest,
    DownloadProgress,
    Engine,
    GroupPeer,
    LoadProgress,
    ModelRef,
    TokenChunk,
)

if TYPE_CHECKING:
    from exo_spec.supervisor.child import EngineFactory

__all__ = ["EngineUnavailableError", "EngineWrapper", "PreloadedEngine"]


class EngineUnavailableError(RuntimeError):
    """The engine could not be built; the message names it and says why."""


class EngineWrapper:
    """The engine protocol, every call passed on to the engine :meth:`_target` names;
    ``work`` says whether the call does a step's work (all but the guard ``weights_present``)."""

    def _target(self, work: bool, /) -> Engine:
        raise NotImplementedError

    def download(
        self, model: ModelRef, models_dir: Path, progress: Callable[[DownloadProgress], None]
    ) -> Path:
        return self._target(True).download(model, models_dir, progress)

    def weights_present(self, model_dir: Path) -> bool:
        return self._target(False).weights_present(model_dir)

    def connect(self, rank: int, peers: Sequence[GroupPeer]) -> None:
        self._target(True).connect(rank, peers)

    def load(self, model_dir: Path) -> Iterator[LoadProgress]:
        return self._target(True).load(model_dir)

    def warmup(self) -> None:
        self._target(True).warmup()

    def generate(self, request: ChatRequest, cancelled: Callable[[], bool]) -> Iterator[TokenChunk]:
        return self._target(True).generate(request, cancelled)

    def close(self) -> None:
        self._target(True).close()


class PreloadedEngine(EngineWrapper):
    """The engine protocol over the engine ``factory`` builds, imported ahead of first use."""

    def __init__(self, factory: EngineFactory, *, start: bool = True) -> None:
        self._factory = factory
        self._engine: Engine | None = None
        module = factory.ref.partition(":")[0]
        self._imported = threading.Thread(
            target=_import_quietly, args=(module,), name="engine-preload", daemon=True
        )
        if start:
            self.start()

    def start(self) -> None:
        """Start importing the engine's module (idempotent). The runner starts it once it has
        reported Idle: started earlier, the import's thread would hold the GIL while the
        runner builds its machine."""
        if self._imported.ident is None:  # not started yet
            self._imported.start()

    def _target(self, _work: bool, /) -> Engine:
        if self._engine is None:
            self.start()
            self._imported.join()
            try:
                self._engine = self._factory.build()
            except Exception as exc:
                raise EngineUnavailableError(
                    f"engine {self._factory.ref} could not be built: {exc or type(exc).__name__}"
                ) from exc
        return self._engine

    def close(self) -> None:
        if self._engine is not None:  # nothing was built: nothing to free
            self._engine.close()


def _import_quietly(module: str) -> None:
    """Import ``module`` ahead of use; a failure is reported when the engine is built."""
    with contextlib.suppress(Exception):  # the build, in the main thread, says why
        import_project_module(module)
