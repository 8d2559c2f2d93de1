"""Groups of real runner processes on loopback: MlxEngine ranks over MLX's ``ring`` backend."""

from __future__ import annotations

import socket
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType

from exo_spec.engine.mlx_engine import EMBEDDED_MODEL_DIR, EMBEDDED_MODEL_REPO_ID
from exo_spec.runtime.engine_protocol import (
    ChatMessage,
    ChatRequest,
    GroupPeer,
    LoadProgress,
    ModelRef,
)
from exo_spec.runtime.wire import (
    BoundInstance,
    ChunkGenerated,
    ConnectToGroup,
    InstanceId,
    LoadModel,
    RunnerContext,
    RunnerId,
    RunnerLoading,
    RunnerStatusUpdated,
    StartWarmup,
    Task,
    TaskId,
    TaskStatus,
    TextChunk,
)
from exo_spec.supervisor import (
    Deadline,
    EngineFactory,
    RestartPolicy,
    RunnerSupervisor,
    StopBounds,
    Subscription,
)

BOUND_S = 60.0
"""The bound on any one wait: generous, for a shared 2-core machine (never a timing check)."""

ENGINE_REF = "exo_spec.engine.mlx_engine:MlxEngine"
_JsonValue = str | int | float | bool | None


def free_ports(n: int) -> list[int]:
    """``n`` distinct loopback ports that were free a moment ago."""
    sockets = [socket.socket(socket.AF_INET, socket.SOCK_STREAM) for _ in range(n)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [int(s.getsockname()[1]) for s in sockets]
    finally:
        for s in sockets:
            s.close()


def ask(content: str, **kwargs: object) -> ChatRequest:
    return ChatRequest(messages=(ChatMessage("user", content),), **kwargs)  # type: ignore[arg-type]


def group_context(rank: int, ports: Sequence[int], models_dir: Path) -> RunnerContext:
    peers = tuple(GroupPeer(r, f"127.0.0.1:{port}") for r, port in enumerate(ports))
    instance = BoundInstance(InstanceId("group"), ModelRef(EMBEDDED_MODEL_REPO_ID), rank, peers)
    return RunnerContext(RunnerId(f"rank{rank}"), instance, models_dir, EMBEDDED_MODEL_DIR)


class RunningGroup:
    """One supervised runner process per rank; every wait is bounded by :data:`BOUND_S`."""

    def __init__(
        self,
        ports: Sequence[int],
        models_dir: Path,
        *,
        ranks: Sequence[int] | None = None,
        engine: Mapping[str, _JsonValue] | None = None,
        connecting_s: float = BOUND_S,
    ) -> None:
        factory = EngineFactory(ENGINE_REF, dict(engine or {}))
        self.supervisors = [
            RunnerSupervisor(
                group_context(rank, ports, models_dir),
                factory,
                deadlines={"connecting": Deadline(connecting_s)},
                restart=RestartPolicy(max_restarts=0),
                bounds=StopBounds(shutdown_s=10.0),
            )
            for rank in (range(len(ports)) if ranks is None else ranks)
        ]
        self.events: list[Subscription] = []
        self.loading: list[list[LoadProgress]] = []
        """Per rank, the load progress it reported while the group formed (:meth:`form`)."""
        self._count = 0

    def __enter__(self) -> RunningGroup:
        for supervisor in self.supervisors:
            self.events.append(supervisor.subscribe())
            supervisor.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        for supervisor in self.supervisors:
            supervisor.close()

    def task_id(self, name: str) -> TaskId:
        self._count += 1
        return TaskId(f"{name}-{self._count}")

    def submit_all(self, make: type[ConnectToGroup | LoadModel | StartWarmup]) -> TaskId:
        task_id = self.task_id(make.__name__)
        for supervisor in self.supervisors:
            supervisor.submit(make(task_id))
        return task_id

    def wait_all(self, task_id: TaskId) -> list[TaskStatus]:
        return [s.wait_task(task_id, BOUND_S) for s in self.supervisors]

    def form(self) -> None:
        """Connect, load and warm up every rank; each step must complete on every rank. The
        events of forming are read here, up to each rank's ``RunnerReady`` (their load progress
        kept in :attr:`loading`), so every test after this starts from a drained stream,
        whichever order the tests run in."""
        for step in (ConnectToGroup, LoadModel, StartWarmup):
            statuses = self.wait_all(self.submit_all(step))
            assert statuses == ["Complete"] * len(statuses), (step.__name__, statuses)
        self.loading = [self._loading_until_ready(events) for events in self.events]

    @staticmethod
    def _loading_until_ready(events: Subscription) -> list[LoadProgress]:
        loading = []
        while (event := events.get(BOUND_S)) is not None:
            if isinstance(event, RunnerStatusUpdated):
                status = event.runner_status
                if isinstance(status, RunnerLoading) and status.layers_loaded > 0:
                    loading.append(LoadProgress(status.layers_loaded, status.total_layers))
                if type(status).__name__ == "RunnerReady":
                    break
        return loading

    def submit(self, task: Task) -> None:
        for supervisor in self.supervisors:
            supervisor.submit(task)

    def chunks(self, index: int, task_id: TaskId) -> list[TextChunk]:
        """The text chunks rank ``index`` streamed for ``task_id``, up to its final chunk."""
        found: list[TextChunk] = []
        while True:
            event = self.events[index].get(BOUND_S)
            if event is None:
                return found
            if isinstance(event, ChunkGenerated) and event.task_id == task_id:
                if not isinstance(event.chunk, TextChunk):
                    return found
                found.append(event.chunk)
                if event.chunk.finish_reason is not None:
                    return found
