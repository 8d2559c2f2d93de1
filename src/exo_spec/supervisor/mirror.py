"""The supervisor's mirror of one runner: its status, and the state of every task given to it.

Pure bookkeeping over wire events: :meth:`Mirror.apply` updates the mirror from one event and
says whether it entered a state or made progress (for the deadlines); :meth:`Mirror.fail_all`
builds the events that end every unfinished task when the runner can no longer finish them:
an ``ErrorChunk`` to each running stream first, then the runner's status, then one
``TaskStatusUpdated(Failed)`` per task.
"""

from __future__ import annotations

from collections import Counter, OrderedDict
from enum import Enum

from attrs import define, field

from exo_spec.generated.runner_machine import RunnerState
from exo_spec.runtime.wire import (
    ChatCompletion,
    ChunkGenerated,
    ErrorChunk,
    Event,
    RunnerFailed,
    RunnerId,
    RunnerLoading,
    RunnerStatus,
    RunnerStatusUpdated,
    Task,
    TaskAcknowledged,
    TaskId,
    TaskStatus,
    TaskStatusUpdated,
)
from exo_spec.supervisor.deadlines import STATE_OF_STATUS

__all__ = ["FINAL_TASK_STATUSES", "Change", "Mirror", "TaskRecord"]

FINAL_TASK_STATUSES: frozenset[str] = frozenset({"Complete", "Failed", "Cancelled"})


class Change(Enum):
    """What an event meant for the deadlines."""

    NONE = "none"
    ENTERED = "entered"
    PROGRESS = "progress"


@define
class TaskRecord:
    """One task as the supervisor sees it; updated in place until its final status, so a holder
    of the record (a waiter) sees that status even once the history has dropped the record."""

    task_id: TaskId
    kind: str
    status: TaskStatus = "Pending"
    acknowledged: bool = False
    error_message: str | None = None

    @property
    def final(self) -> bool:
        return self.status in FINAL_TASK_STATUSES

    @property
    def streams(self) -> bool:
        return self.kind == ChatCompletion.__name__


@define
class Mirror:
    """The runner's status and its tasks; finished tasks are kept up to ``history``."""

    history: int = 4096
    status: RunnerStatus | None = None
    state: RunnerState | None = None
    state_entries: Counter[str] = field(factory=Counter)
    task_counts: Counter[str] = field(factory=Counter)
    last_error: str | None = None
    open_tasks: dict[TaskId, TaskRecord] = field(factory=dict)
    done_tasks: OrderedDict[TaskId, TaskRecord] = field(factory=OrderedDict)

    def submitted(self, task: Task) -> TaskRecord:
        """A task handed to the runner: Pending until the runner acknowledges it."""
        record = TaskRecord(task.task_id, type(task).__name__)
        self.open_tasks[task.task_id] = record
        self.task_counts["Pending"] += 1
        return record

    def lookup(self, task_id: TaskId) -> TaskRecord | None:
        return self.open_tasks.get(task_id) or self.done_tasks.get(task_id)

    def apply(self, event: Event) -> Change:
        """Update the mirror from one event of the runner's."""
        if isinstance(event, RunnerStatusUpdated):
            return self._status(event.runner_status)
        if isinstance(event, TaskStatusUpdated):
            self._task_status(event.task_id, event.task_status, event.error_message)
            return Change.NONE
        if isinstance(event, TaskAcknowledged):
            record = self.open_tasks.get(event.task_id)
            if record is not None:
                record.acknowledged = True
            return Change.NONE
        return Change.PROGRESS  # ChunkGenerated or DownloadProgressed

    def apply_all(self, events: list[Event]) -> tuple[Change, bool]:
        """Apply ``events`` in order: the change that matters for the deadlines (a state
        entered, else progress, else none) and whether a task completed among them."""
        entered = progressed = completed = False
        for event in events:
            if type(event) is ChunkGenerated:  # most events: a token
                progressed = True
                continue
            change = self.apply(event)
            entered = entered or change is Change.ENTERED
            progressed = progressed or change is Change.PROGRESS
            completed = completed or (
                type(event) is TaskStatusUpdated and event.task_status == "Complete"
            )
        if entered:
            return Change.ENTERED, completed
        return (Change.PROGRESS if progressed else Change.NONE), completed

    def fail_all(
        self, runner_id: RunnerId, status: RunnerStatus | None, reason: str
    ) -> list[Event]:
        """Events that end every unfinished task: error chunks, ``status`` (unless ``None``),
        then one failure per task."""
        events: list[Event] = [
            ChunkGenerated(record.task_id, ErrorChunk(reason))
            for record in self.open_tasks.values()
            if record.streams and record.status == "Running"
        ]
        if status is not None:
            events.append(RunnerStatusUpdated(runner_id, status))
        events.extend(
            TaskStatusUpdated(record.task_id, "Failed", reason)
            for record in list(self.open_tasks.values())
        )
        for event in events:
            self.apply(event)
        return events

    def _status(self, status: RunnerStatus) -> Change:
        previous = self.state
        self.status = status
        state = STATE_OF_STATUS.get(type(status).__name__)
        if isinstance(status, RunnerFailed):
            self.last_error = status.error_message
        if state is None:  # pragma: no cover - every status has a state
            return Change.NONE
        if state == previous and isinstance(status, RunnerLoading) and status.layers_loaded > 0:
            return Change.PROGRESS
        self.state = state
        self.state_entries[state.value] += 1
        return Change.ENTERED

    def _task_status(self, task_id: TaskId, status: TaskStatus, message: str | None) -> None:
        record = self.open_tasks.get(task_id)
        if record is None:
            return  # a task that already ended (or was never ours): its first end stands
        self.task_counts[record.status] -= 1
        self.task_counts[status] += 1
        record.status, record.error_message = status, message
        if status == "Failed" and message:
            self.last_error = message
        if record.final:
            del self.open_tasks[task_id]
            self.done_tasks[task_id] = record
            while len(self.done_tasks) > self.history:
                self.done_tasks.popitem(last=False)
