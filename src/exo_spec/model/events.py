"""The abstract events of the reference semantics (the wire types live in the runtime)."""

from __future__ import annotations

from attrs import frozen

from exo_spec.spec.types import TaskStatusName

__all__ = ["Acknowledged", "ModelEvent", "Progress", "RunnerStatus", "TaskStatus"]


@frozen
class TaskStatus:
    """``TaskStatusUpdated(status)`` for the task being stepped; failures carry a message."""

    status: TaskStatusName
    message: str | None = None

    def __str__(self) -> str:
        return f"TaskStatusUpdated({self.status})"


@frozen
class RunnerStatus:
    """``RunnerStatusUpdated`` as the runner enters ``state`` (reporting ``status``)."""

    state: str
    status: str
    message: str | None = None

    def __str__(self) -> str:
        return f"RunnerStatusUpdated({self.status})"


@frozen
class Acknowledged:
    """``TaskAcknowledged`` for the task being stepped."""

    def __str__(self) -> str:
        return "TaskAcknowledged"


@frozen
class Progress:
    """A place where the action emits zero or more progress events of ``kinds``."""

    action: str
    kinds: tuple[str, ...]

    def __str__(self) -> str:
        return f"<progress of {self.action}: {', '.join(self.kinds)}>*"


ModelEvent = TaskStatus | RunnerStatus | Acknowledged | Progress
