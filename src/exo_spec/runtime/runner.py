"""The runner: a task loop over the generated machine, implementing the conformance contract.

``run(context, engine, tasks, emit)`` serves tasks until ``Shutdown`` completes or ``tasks``
ends. The engine is reachable only through the machine's actions: the loop hands every task to
``machine.dispatch`` and nothing else, so a task the spec does not accept in the current state
can never reach ``engine.load`` ("LoadModel outside of state machine" cannot happen). Every
status change is emitted by the machine itself (its only state writer emits
``RunnerStatusUpdated`` first); an action that raises fails its task and moves the runner to
``failed`` while the loop keeps serving.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Protocol, TypeVar, runtime_checkable

from exo_spec.generated.runner_machine import (
    STATUS_OF,
    RunnerMachine,
    RunnerState,
    RunnerTask,
    TaskDeferred,
    TaskRejected,
)
from exo_spec.model import CANCELLED, Cancelled
from exo_spec.runtime.engine_protocol import DownloadProgress, Engine
from exo_spec.runtime.wire import (
    CancelTask,
    ChatCompletion,
    ChunkGenerated,
    DownloadModel,
    DownloadProgressed,
    Event,
    RunnerContext,
    RunnerLoading,
    RunnerStatusUpdated,
    Task,
    TaskAcknowledged,
    TaskId,
    TaskStatusUpdated,
    TextChunk,
    status_for,
)
from exo_spec.spec import TaskStatusName

__all__ = ["ENDED_IDS_KEPT", "Emit", "Log", "QuietLog", "Runner", "TaskSource", "run"]

Emit = Callable[[Event], None]

ENDED_IDS_KEPT = 65536
"""How many ended task ids a runner remembers to refuse their reuse (ids in flight: all)."""

_FINAL = frozenset({"Complete", "Failed", "Cancelled"})


class Log(Protocol):
    """What a runner logs through: exo-spec's loguru ``logger`` (:mod:`exo_spec.logs`), by
    default, or a :class:`QuietLog`."""

    def bind(self, **fields: object) -> Log: ...

    def debug(self, message: str, /, *args: object) -> None: ...

    def info(self, message: str, /, *args: object) -> None: ...

    def warning(self, message: str, /, *args: object) -> None: ...

    def error(self, message: str, /, *args: object) -> None: ...


class QuietLog:
    """A log that drops everything: the runner process's (nothing there turns exo-spec's logs
    on, so it need not import loguru before it reports Idle)."""

    def bind(self, **fields: object) -> QuietLog:
        return self

    def debug(self, message: str, /, *args: object) -> None:
        pass

    def info(self, message: str, /, *args: object) -> None:
        pass

    def warning(self, message: str, /, *args: object) -> None:
        pass

    def error(self, message: str, /, *args: object) -> None:
        pass


def _library_log() -> Log:
    from exo_spec.logs import logger  # noqa: PLC0415 (loguru: not in a runner process)

    return logger


@runtime_checkable
class TaskSource(Protocol):
    """A channel of tasks: iterate to block for the next one; ``poll`` never blocks."""

    def __iter__(self) -> Iterator[Task]: ...

    def poll(self) -> Task | None: ...


class _SequenceSource:
    """An in-memory list of tasks that have all arrived already: ``poll`` takes the next."""

    def __init__(self, tasks: Sequence[Task]) -> None:
        self._tasks: deque[Task] = deque(tasks)

    def __iter__(self) -> Iterator[Task]:
        while self._tasks:
            yield self._tasks.popleft()

    def poll(self) -> Task | None:
        return self._tasks.popleft() if self._tasks else None


class _IterableSource:
    """Any other iterable: it may block, so it is never polled during a generation."""

    def __init__(self, tasks: Iterable[Task]) -> None:
        self._tasks = tasks

    def __iter__(self) -> Iterator[Task]:
        return iter(self._tasks)

    def poll(self) -> Task | None:
        return None


def _as_source(tasks: Iterable[Task]) -> TaskSource:
    if isinstance(tasks, TaskSource):
        return tasks
    if isinstance(tasks, Sequence):
        return _SequenceSource(tasks)
    return _IterableSource(tasks)


class _Bindings:
    """The machine's guards, actions and events, bound to one engine and one emitter."""

    def __init__(self, runner: Runner) -> None:
        self._runner = runner
        self._context = runner.context
        self._engine = runner._engine
        self._emit = runner._emit_tracked
        self._runner_id = runner.context.runner_id

    # -- guards -------------------------------------------------------------------------------

    def has_group(self) -> bool:
        return self._context.instance.has_group

    def weights_present(self) -> bool:
        try:
            return self._engine.weights_present(self._context.model_dir)
        except Exception as exc:  # a guard that cannot be evaluated is false, not a crash
            self._runner._log.warning("weights_present could not be evaluated: {}", exc)
            return False

    # -- actions ------------------------------------------------------------------------------

    def download(self, task: object) -> Cancelled | None:
        task = _expect(task, DownloadModel)
        task_id = task.task_id

        def progress(value: DownloadProgress) -> None:
            self._emit(DownloadProgressed(task_id, value))

        self._engine.download(task.model, self._context.models_dir, progress)
        return None

    def connect(self, _task: object) -> Cancelled | None:
        instance = self._context.instance
        self._engine.connect(instance.rank, instance.peers)
        return None

    def load(self, _task: object) -> Cancelled | None:
        for step in self._engine.load(self._context.model_dir):
            status = RunnerLoading(step.layers_loaded, step.total_layers)
            self._emit(RunnerStatusUpdated(self._runner_id, status))
        return None

    def warmup(self, _task: object) -> Cancelled | None:
        self._engine.warmup()
        return None

    def generate(self, task: object) -> Cancelled | None:
        return self._runner._generate(_expect(task, ChatCompletion))

    def cancel(self, task: object) -> Cancelled | None:
        self._runner._cancel(_expect(task, CancelTask))
        return None

    def shutdown(self, _task: object) -> Cancelled | None:
        self._engine.close()
        return None

    # -- events -------------------------------------------------------------------------------

    def task_status(self, task: object, status: TaskStatusName, message: str | None) -> None:
        self._emit(TaskStatusUpdated(_task_id(task), status, message))

    def runner_status(self, state: RunnerState, message: str | None) -> None:
        self._emit(RunnerStatusUpdated(self._runner_id, status_for(STATUS_OF[state], message)))

    def acknowledged(self, task: object) -> None:
        self._emit(TaskAcknowledged(_task_id(task)))


_T = TypeVar("_T")


def _expect(task: object, kind: type[_T]) -> _T:
    """The machine hands each action the task that triggered it; anything else is a bug."""
    if not isinstance(task, kind):
        raise TypeError(f"action for {kind.__name__} was given a {type(task).__name__}")
    return task


def _task_id(task: object) -> TaskId:
    task_id = getattr(task, "task_id", None)
    if not isinstance(task_id, str):
        raise TypeError(f"{type(task).__name__} has no task_id")
    return TaskId(task_id)


class Runner:
    """One runner: the generated machine, bound to an engine and an event sink."""

    def __init__(
        self, context: RunnerContext, engine: Engine, emit: Emit, log: Log | None = None
    ) -> None:
        self.context = context
        self._engine = engine
        self._emit = emit
        self._in_flight: set[TaskId] = set()
        self._ended: OrderedDict[TaskId, None] = OrderedDict()
        self._deferred: deque[Task] = deque()
        self._source: TaskSource = _SequenceSource(())
        self._generating: ChatCompletion | None = None
        self._cancel_requested = False
        self._log = (_library_log() if log is None else log).bind(runner_id=context.runner_id)
        self.machine = RunnerMachine(_Bindings(self))

    @property
    def state(self) -> RunnerState:
        return self.machine.current

    @property
    def finished(self) -> bool:
        return self.machine.current == RunnerState.shutdown

    def serve(self, tasks: Iterable[Task]) -> None:
        """Handle tasks in order until ``Shutdown`` completes or the tasks end."""
        self._source = _as_source(tasks)
        for task in self._source:
            self.handle(task)
            while self._deferred and not self.finished:
                self._dispatch(self._deferred.popleft())
            if self.finished:
                break
        self._fail_leftovers()

    def handle(self, task: Task) -> None:
        """Give one arriving task to the machine: accepted, deferred or rejected, never lost.

        A task whose id is already in flight (or ended recently) is refused and gets no status:
        every event with that id belongs to the task that has it, so a second final status
        would be attributed to that task. The refusal is logged."""
        if not self._admit(task):
            return
        if self.finished:
            self._emit_tracked(TaskStatusUpdated(task.task_id, "Failed", self._shut_message(task)))
            return
        self._dispatch(task)

    def fail_unreadable(self, task_id: TaskId | None, why: str) -> None:
        """A message that arrived as a task but could not be read: fail it when its id can be
        read and is not taken (a Failed status with ``why``); log it either way."""
        log = self._log.bind(task_id=task_id)
        if task_id is None or task_id in self._in_flight or task_id in self._ended:
            log.error("unreadable task refused, no status sent (no free task id): {}", why)
            return
        log.error("unreadable task {} failed: {}", task_id, why)
        self._emit_tracked(TaskStatusUpdated(task_id, "Failed", f"task not run: {why}"))

    def _admit(self, task: Task) -> bool:
        task_id = task.task_id
        owner = "in flight" if task_id in self._in_flight else "ended"
        if task_id in self._in_flight or task_id in self._ended:
            self._log.bind(task_id=task_id, task=type(task).__name__).error(
                "task {} ({}) refused: id {} is already used by a task {}; a task id is given "
                "once (the refused task gets no status: its id has an owner)",
                task_id,
                type(task).__name__,
                task_id,
                owner,
            )
            return False
        self._in_flight.add(task_id)
        return True

    def _emit_tracked(self, event: Event) -> None:
        """Emit, noting when a task's final status ends its id's flight."""
        if isinstance(event, TaskStatusUpdated) and event.task_status in _FINAL:
            self._in_flight.discard(event.task_id)
            self._ended[event.task_id] = None
            if len(self._ended) > ENDED_IDS_KEPT:
                self._ended.popitem(last=False)
        self._emit(event)

    def _dispatch(self, task: Task) -> None:
        log = self._log.bind(task_id=task.task_id, task=type(task).__name__)
        try:
            state = self.machine.dispatch(RunnerTask(type(task).__name__), task)
        except TaskDeferred:
            log.debug("deferred in {}", self.machine.current)
            self._deferred.append(task)
        except TaskRejected as rejected:
            log.warning("{}", rejected.message)
        else:
            log.debug("now {}", state)

    def _fail_leftovers(self) -> None:
        while self._deferred:
            task = self._deferred.popleft()
            self._emit_tracked(TaskStatusUpdated(task.task_id, "Failed", self._shut_message(task)))

    def _shut_message(self, task: Task) -> str:
        return f"task {type(task).__name__} not run: the runner has shut down"

    # -- generation and cancellation ------------------------------------------------------------

    def _generate(self, task: ChatCompletion) -> Cancelled | None:
        self._generating, self._cancel_requested = task, False
        try:
            task_id = task.task_id
            emit = self._emit
            for chunk in self._engine.generate(task.request, self._between_tokens):
                emit(
                    ChunkGenerated(
                        task_id, TextChunk(chunk.text, chunk.token_id, chunk.finish_reason)
                    )
                )
                if chunk.finish_reason == "cancelled":
                    return CANCELLED
            return CANCELLED if self._cancel_requested else None
        finally:
            self._generating = None

    def _between_tokens(self) -> bool:
        """Called by the engine between tokens: take tasks that arrived, say whether to stop."""
        while (task := self._source.poll()) is not None:
            self.handle(task)
        return self._cancel_requested

    def _cancel(self, task: CancelTask) -> None:
        target = task.cancel_task_id
        if self._generating is not None and self._generating.task_id == target:
            self._cancel_requested = True
            return
        for queued in self._deferred:
            # only a queued generation can be cancelled: a queued Shutdown always runs
            if queued.task_id == target and isinstance(queued, ChatCompletion):
                self._deferred.remove(queued)
                self._emit_tracked(TaskStatusUpdated(target, "Cancelled", None))
                return
        self._log.bind(task_id=task.task_id).info(
            "nothing to cancel: {} is not a running or queued ChatCompletion", target
        )


def run(context: RunnerContext, engine: Engine, tasks: Iterable[Task], emit: Emit) -> None:
    """The conformance contract: serve ``tasks`` with ``engine``, sending every event to ``emit``."""
    Runner(context, engine, emit).serve(tasks)
