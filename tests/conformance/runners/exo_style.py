"""exo's runner loop, written anew in its style against exo-spec's wire types.

Reproduces the behaviour of ``src/exo/worker/runner/runner.py`` in exo-explore/exo at
b5375f8 (``Runner.main`` / ``handle_first_task`` / ``handle_generation_tasks``), with the two
tasks exo's *worker* handles for the runner (``DownloadModel`` and ``CancelTask``, in
``src/exo/worker/main.py``) left where exo leaves them:

- ``TaskStatusUpdated(Running)`` is sent for every task before the ``match`` checks its guard;
- a task no case accepts raises ``ValueError("Received ... outside of state machine ...")``,
  and nothing catches it: the loop dies (so does an engine action that raises);
- the runner has no ``DownloadModel`` case (the worker downloads before creating it);
- ``ConnectToGroup`` is accepted in ``RunnerIdle`` and ``LoadModel`` in ``RunnerIdle`` or
  ``RunnerConnected`` whatever the group and whether the weights are on disk;
- a cancel is a set of task ids the generation checks between tokens; the worker marks the
  ``CancelTask`` ``Complete`` itself, and a cancelled generation gets no final status;
- a chat that arrives during a generation is acknowledged and batched (no ``Running``), a
  ``Shutdown`` during a generation shuts down at once; repeated task ids are ignored.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable

from exo_spec.runtime import TaskSource
from exo_spec.runtime.engine_protocol import Engine
from exo_spec.runtime.wire import (
    CancelTask,
    ChatCompletion,
    ChunkGenerated,
    ConnectToGroup,
    Event,
    LoadModel,
    RunnerConnected,
    RunnerConnecting,
    RunnerContext,
    RunnerIdle,
    RunnerLoaded,
    RunnerLoading,
    RunnerReady,
    RunnerRunning,
    RunnerShutdown,
    RunnerShuttingDown,
    RunnerStatus,
    RunnerStatusUpdated,
    RunnerWarmingUp,
    Shutdown,
    StartWarmup,
    Task,
    TaskAcknowledged,
    TaskId,
    TaskStatusName,
    TaskStatusUpdated,
    TextChunk,
)


def run(
    context: RunnerContext, engine: Engine, tasks: Iterable[Task], emit: Callable[[Event], None]
) -> None:
    runner_id = context.runner_id
    current_status: RunnerStatus = RunnerIdle()
    seen: set[TaskId] = set()
    cancelled: set[TaskId] = set()

    def update_status(status: RunnerStatus) -> None:
        nonlocal current_status
        current_status = status
        emit(RunnerStatusUpdated(runner_id=runner_id, runner_status=current_status))

    def send_task_status(task_id: TaskId, task_status: TaskStatusName) -> None:
        emit(TaskStatusUpdated(task_id=task_id, task_status=task_status))

    def acknowledge_task(task: Task) -> None:
        emit(TaskAcknowledged(task_id=task.task_id))

    def shutdown(task: Task) -> None:
        update_status(RunnerShuttingDown())
        acknowledge_task(task)
        engine.close()
        send_task_status(task.task_id, "Complete")
        update_status(RunnerShutdown())

    def handle_generation_tasks(starting_task: ChatCompletion) -> bool:
        update_status(RunnerRunning())
        acknowledge_task(starting_task)
        active: deque[ChatCompletion] = deque([starting_task])
        while active:
            task = active[0]
            for chunk in engine.generate(task.request, lambda t=task.task_id: t in cancelled):  # type: ignore[misc]
                if chunk.finish_reason == "cancelled":  # CancelledResponse: finished, no status
                    break
                emit(
                    ChunkGenerated(
                        task.task_id, TextChunk(chunk.text, chunk.token_id, chunk.finish_reason)
                    )
                )
                item = tasks.poll() if isinstance(tasks, TaskSource) else None
                if item is None:
                    continue
                if item.task_id in seen:
                    continue
                seen.add(item.task_id)
                match item:
                    case CancelTask(cancel_task_id=target):  # the worker's part
                        cancelled.add(target)
                        send_task_status(item.task_id, "Complete")
                    case ChatCompletion():
                        acknowledge_task(item)
                        active.append(item)
                    case Shutdown():
                        shutdown(item)
                        return True
                    case _:
                        raise ValueError(
                            f"Received {item.__class__.__name__} outside of state machine in {current_status=}"
                        )
            else:
                send_task_status(task.task_id, "Complete")
            active.popleft()
        update_status(RunnerReady())
        return False

    def handle_first_task(task: Task) -> bool:
        send_task_status(task.task_id, "Running")
        match task:
            case ConnectToGroup() if isinstance(current_status, RunnerIdle):
                update_status(RunnerConnecting())
                acknowledge_task(task)
                engine.connect(context.instance.rank, context.instance.peers)
                send_task_status(task.task_id, "Complete")
                update_status(RunnerConnected())
            case LoadModel() if isinstance(current_status, RunnerConnected | RunnerIdle):
                update_status(RunnerLoading(layers_loaded=0, total_layers=0))
                acknowledge_task(task)
                for progress in engine.load(context.model_dir):
                    update_status(RunnerLoading(progress.layers_loaded, progress.total_layers))
                send_task_status(task.task_id, "Complete")
                update_status(RunnerLoaded())
            case StartWarmup() if isinstance(current_status, RunnerLoaded):
                update_status(RunnerWarmingUp())
                acknowledge_task(task)
                engine.warmup()
                send_task_status(task.task_id, "Complete")
                update_status(RunnerReady())
            case ChatCompletion() if isinstance(current_status, RunnerReady):
                return handle_generation_tasks(task)
            case Shutdown():
                shutdown(task)
                return True
            case CancelTask(
                cancel_task_id=target
            ):  # the worker's part: complete, whatever the state
                cancelled.add(target)
                send_task_status(task.task_id, "Complete")
            case _:
                raise ValueError(
                    f"Received {task.__class__.__name__} outside of state machine in {current_status=}"
                )
        return False

    update_status(RunnerIdle())
    for task in tasks:
        if task.task_id in seen:
            continue
        seen.add(task.task_id)
        if handle_first_task(task) or isinstance(current_status, RunnerShutdown):
            break
