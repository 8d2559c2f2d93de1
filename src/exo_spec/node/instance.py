"""A placed instance: its ranks (one supervised runner each), their plans, and its group.

An instance of one rank is a single runner. An instance of several ranks is a ring group of
runners on this node, each bound to the same peers (``127.0.0.1:port``, one port per rank): the
planner moves them together with exo's group rules. A group that loses a rank cannot take it
back (a restarted rank cannot rejoin a formed group), so the node re-forms the whole group, on
fresh ports, within the group's own :class:`~exo_spec.node.planner.Backoff` budget.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from attrs import define, field, frozen

from exo_spec.node.planner import AtGoal, Backoff, Decision, RunTask
from exo_spec.runtime.engine_protocol import GroupPeer, ModelRef
from exo_spec.runtime.wire import (
    BoundInstance,
    ConnectToGroup,
    DownloadModel,
    ErrorChunk,
    InstanceId,
    LoadModel,
    RunnerContext,
    RunnerId,
    RunnerStatusUpdated,
    Shutdown,
    StartWarmup,
    Task,
    TaskId,
    TaskStatus,
    TextChunk,
    event_to_json,
)
from exo_spec.spec import Spec
from exo_spec.supervisor import RunnerSupervisor

__all__ = [
    "Instance",
    "Rank",
    "StreamItem",
    "UnbuildableTaskError",
    "bound_instance",
    "free_ports",
    "task_for",
]

_TASK_HISTORY = 256
LOOPBACK = "127.0.0.1"
"""The only host ``mlx``'s ring backend counts as local: a group of one node binds here."""


class UnbuildableTaskError(ValueError):
    """The planner named a task the node cannot build."""


def task_for(name: str, task_id: TaskId, model: ModelRef) -> Task:
    """The wire task the planner named."""
    simple: dict[str, Callable[[TaskId], Task]] = {
        "ConnectToGroup": ConnectToGroup,
        "LoadModel": LoadModel,
        "StartWarmup": StartWarmup,
        "Shutdown": Shutdown,
    }
    if name == "DownloadModel":
        return DownloadModel(task_id, model)
    if name in simple:
        return simple[name](task_id)
    raise UnbuildableTaskError(f"the planner named task {name!r}, which the node cannot build")


def free_ports(n: int) -> tuple[int, ...]:
    """``n`` distinct loopback ports that were free a moment ago (the kernel picks them)."""
    sockets = [socket.socket(socket.AF_INET, socket.SOCK_STREAM) for _ in range(n)]
    try:
        for sock in sockets:
            sock.bind((LOOPBACK, 0))
        return tuple(int(sock.getsockname()[1]) for sock in sockets)
    finally:
        for sock in sockets:
            sock.close()


def bound_instance(
    instance_id: InstanceId, model: ModelRef, rank: int, ports: Sequence[int]
) -> BoundInstance:
    """What rank ``rank`` is bound to: no peers alone, else one ``127.0.0.1:port`` per rank."""
    if len(ports) < 2:
        return BoundInstance(instance_id, model)
    peers = tuple(GroupPeer(r, f"{LOOPBACK}:{port}") for r, port in enumerate(ports))
    return BoundInstance(instance_id, model, rank, peers)


@frozen
class StreamItem:
    """What a chat stream receives: a chunk, or the task's final status."""

    chunk: TextChunk | ErrorChunk | None = None
    status: TaskStatus | None = None
    error: str | None = None


@define(eq=False)
class Rank:
    """One runner of an instance: its supervisor, the planner's last decision, its tasks."""

    rank: int
    supervisor: RunnerSupervisor
    decision: Decision | None = None
    backoff: Backoff = field(factory=Backoff)
    tasks: dict[str, dict[str, Any]] = field(factory=dict)
    busy: asyncio.Task[None] | None = None
    """The planner's task in flight on this rank (one at a time)."""

    @property
    def runner_id(self) -> str:
        return self.supervisor.runner_id

    def state(self, spec: Spec) -> str | None:
        status = self.supervisor.status
        if status is None:
            return None
        name = type(status).__name__
        return next((s.name for s in spec.states if s.status == name), None)

    def record(self, task_id: str, kind: str, status: str, error: str | None = None) -> None:
        self.tasks[task_id] = {"task": kind, "status": status, "error": error}
        while len(self.tasks) > _TASK_HISTORY:
            self.tasks.pop(next(iter(self.tasks)))

    def state_json(self, spec: Spec) -> dict[str, Any]:
        status = self.supervisor.status
        decision = self.decision
        return {
            "rank": self.rank,
            "state": self.state(spec),
            "status": None
            if status is None
            else event_to_json(RunnerStatusUpdated(RunnerId(self.runner_id), status))[
                "RunnerStatusUpdated"
            ]["runner_status"],
            "plan": None if decision is None else decision_json(decision),
            "backoff": {"failures": self.backoff.failures, "spent": self.backoff.spent},
            "health": self.supervisor.health(),
            "tasks": dict(self.tasks),
        }


@define(eq=False)
class Instance:
    """One placed model: its ranks (the current group), the group's restarts, its driver."""

    instance_id: InstanceId
    model: ModelRef
    model_dir: Path
    size: int
    output_rank: int
    ports: tuple[int, ...]
    fixed_ports: bool
    """The ports were asked for: a re-formed group binds them again instead of fresh ones."""
    ranks: list[Rank] = field(factory=list)
    changed: asyncio.Event = field(factory=asyncio.Event)
    driver: asyncio.Task[None] | None = None
    weights: Callable[[Path], bool] | None = None
    last_guards: dict[str, bool] = field(factory=dict)
    generation: int = 1
    restarts: Backoff = field(factory=Backoff)
    broken: str | None = None
    """Why the current group can serve no more (a rank failed or died); the driver re-forms it."""
    failed: str | None = None
    """Why the instance was given up (the group's restart budget is spent)."""

    @property
    def has_group(self) -> bool:
        return self.size > 1

    @property
    def output(self) -> Rank:
        """The rank whose chunks carry the text."""
        return self.ranks[self.output_rank]

    @property
    def runner_id(self) -> str:
        return self.output.runner_id

    def context(self, rank: int, models_dir: Path) -> RunnerContext:
        runner_id = RunnerId(f"{self.instance_id}/runner-{rank}")
        bound = bound_instance(self.instance_id, self.model, rank, self.ports)
        return RunnerContext(runner_id, bound, models_dir, self.model_dir)

    def current(self, rank: Rank) -> bool:
        return any(r is rank for r in self.ranks)

    def guards(self) -> dict[str, bool]:
        """The guard values now (every rank shares the model directory and ``has_group``)."""
        present = self.weights(self.model_dir) if self.weights else False
        return {"has_group": self.has_group, "weights_present": present}

    def known_guards(self) -> dict[str, bool]:
        """The guard values the planner last saw (``weights_present`` false before it looked)."""
        return self.last_guards or {"has_group": self.has_group, "weights_present": False}

    def at_goal(self) -> bool:
        return all(isinstance(r.decision, AtGoal) for r in self.ranks)

    def state_json(self, spec: Spec) -> dict[str, Any]:
        return {
            "model": self.model.repo_id,
            "ranks": self.size,
            "output_rank": self.output_rank,
            "ports": list(self.ports) if self.has_group else [],
            "group": {
                "generation": self.generation,
                "restarts": self.generation - 1,
                "failures": self.restarts.failures,
                "broken": self.broken,
                "failed": self.failed,
            },
            "runners": {r.runner_id: r.state_json(spec) for r in self.ranks},
        }


def decision_json(decision: Decision) -> dict[str, Any]:
    if isinstance(decision, RunTask):
        return {"next": decision.task, "steps": decision.steps}
    if isinstance(decision, AtGoal):
        return {"at": "ready"}
    return {
        type(decision).__name__.lower(): getattr(decision, "reason", getattr(decision, "state", ""))
    }
