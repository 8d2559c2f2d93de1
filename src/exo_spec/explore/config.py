"""What is explored: how many runners, which faults, which planner and supervisor model."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Literal

from attrs import field, frozen

from exo_spec.node.planner import EXO_GROUP_POLICY, Decision, GroupPolicy, RunnerView, plan_group
from exo_spec.spec import Spec

__all__ = ["FAULTS", "ExploreConfig", "Fault", "Planner", "SupervisorModel"]

Fault = Literal["crash", "stall", "raise", "peer-lost"]
FAULTS: tuple[Fault, ...] = ("crash", "stall", "raise", "peer-lost")
"""``crash``: a runner process dies; ``stall``: its action hangs past the state's deadline;
``raise``: its action raises; ``peer-lost``: a rank inside a collective loses its group."""

Planner = Callable[[Spec, Sequence[RunnerView]], dict[str, Decision]]
"""The node's planner: every runner's next decision from all runners' views."""


def _exo_planner(spec: Spec, views: Sequence[RunnerView]) -> dict[str, Decision]:
    return plan_group(spec, views)


@frozen
class SupervisorModel:
    """How the modelled supervisor behaves; every flag is ``True`` in the real one.

    ``reset_on_success``: a completed task resets the restart count; ``cleanup_guard``: the
    watcher and ``close()`` both reach the cleanup, and only the first reports;
    ``drop_after_exit``: ``close()`` returns (the runner leaves the node's table) only once the
    process has exited."""

    reset_on_success: bool = True
    cleanup_guard: bool = True
    drop_after_exit: bool = True


def _faults(value: Sequence[str]) -> tuple[Fault, ...]:
    out: list[Fault] = []
    for name in value:
        if name not in FAULTS:
            raise ValueError(f"unknown fault {name!r}; expected some of: {', '.join(FAULTS)}")
        out.append(name)
    return tuple(out)


@frozen
class ExploreConfig:
    """One exploration: ``runners`` ranks of one instance, faults within ``fault_budget``.

    ``max_restarts`` is the supervisor's restart budget (``RestartPolicy.max_restarts``),
    ``max_failures`` the node's per-runner :class:`~exo_spec.node.planner.Backoff`;
    ``delete`` lets the node delete the instance at any step (once); ``weights`` says whether
    the model is on disk from the start; ``chats`` is how many ChatCompletions the node may
    submit to each rank (where its mirror says one is taken or queued), each of which it may
    also cancel once."""

    spec: Spec
    runners: int = 1
    faults: tuple[Fault, ...] = field(default=(), converter=_faults)
    fault_budget: int = 1
    max_restarts: int = 1
    max_failures: int = 2
    delete: bool = True
    weights: bool = False
    chats: int = 0
    max_states: int = 2_000_000
    planner: Planner = _exo_planner
    policy: GroupPolicy = EXO_GROUP_POLICY
    supervisor: SupervisorModel = SupervisorModel()
    goal: str = "ready"

    @property
    def group(self) -> bool:
        return self.runners > 1

    def describe(self) -> str:
        faults = ",".join(self.faults) if self.faults else "none"
        budget = f" (budget {self.fault_budget})" if self.faults else ""
        chats = f", chats={self.chats}" if self.chats else ""
        return f"runners={self.runners}, faults={faults}{budget}{chats}"
