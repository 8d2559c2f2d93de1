"""A runner written in exo's style (``match task:``, ``current_status``, ``emit(...)``) that
follows the spec, with switches that put back each bug the seed incidents describe.

``serve(..., bugs=...)`` with no bugs conforms; each module next to this one is this loop with
one class of bug switched on, exactly at the line where the incident's code had it.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterable

from exo_spec.runtime import TaskSource
from exo_spec.runtime.engine_protocol import Engine
from exo_spec.runtime.wire import (
    CancelTask,
    ChatCompletion,
    ChunkGenerated,
    ConnectToGroup,
    DownloadModel,
    DownloadProgressed,
    Event,
    LoadModel,
    RunnerConnected,
    RunnerConnecting,
    RunnerContext,
    RunnerDownloading,
    RunnerFailed,
    RunnerId,
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

Bug = str
"""no-status-after-load, no-status-after-warmup, no-status-after-chat (seed 000),
no-download-handler (seed 001), load-only-from-idle (seed 002), exceptions-kill-loop,
running-before-guard, no-cancelled-status, status-before-outcome, cancel-queued-shutdown;
the fields: wrong-runner-id, cancel-events-carry-target, first-chunk-dropped, load-progress-backwards,
no-failure-message, thread-left-behind, cancel-ignored, close-on-failure, double-complete;
hangs: hang-on-warmup, hang-on-every-load."""

_HANG = threading.Event()  # never set: a hang is a wait on it


def serve(
    context: RunnerContext,
    engine: Engine,
    tasks: Iterable[Task],
    emit: Callable[[Event], None],
    bugs: frozenset[Bug] = frozenset(),
) -> None:
    runner_id = context.runner_id
    has_group = context.instance.has_group
    current_status: RunnerStatus = RunnerIdle()
    deferred: deque[Task] = deque()

    def update_status(status: RunnerStatus) -> None:
        nonlocal current_status
        current_status = status
        sender = runner_id
        if "wrong-runner-id" in bugs and isinstance(status, RunnerLoading):
            sender = RunnerId("runner-0")
        emit(RunnerStatusUpdated(runner_id=sender, runner_status=current_status))

    def send_task_status(
        task_id: TaskId, status: TaskStatusName, message: str | None = None
    ) -> None:
        emit(TaskStatusUpdated(task_id=task_id, task_status=status, error_message=message))

    def accept(task: Task, status: RunnerStatus) -> None:
        if "running-before-guard" not in bugs:
            send_task_status(task.task_id, "Running")
        update_status(status)
        emit(TaskAcknowledged(task_id=task.task_id))

    def complete(task: Task, status: RunnerStatus, *, report: bool = True) -> None:
        if "status-before-outcome" in bugs and report:
            update_status(status)
            send_task_status(task.task_id, "Complete")
            return
        send_task_status(task.task_id, "Complete")
        if "double-complete" in bugs and isinstance(task, LoadModel):
            send_task_status(task.task_id, "Complete")
        if report:
            update_status(status)

    def attempt(task: Task, action: Callable[[], None]) -> bool:
        if "exceptions-kill-loop" in bugs:
            action()
            return True
        try:
            action()
        except Exception as exc:
            if "close-on-failure" in bugs:
                engine.close()  # "clean up" after any failure
            send_task_status(task.task_id, "Failed", str(exc))
            update_status(RunnerFailed(error_message=str(exc)))
            return False
        return True

    def poll() -> Task | None:
        return tasks.poll() if isinstance(tasks, TaskSource) else None

    def handle(task: Task) -> bool:
        """Handle one task; True once the runner has shut down."""
        if "running-before-guard" in bugs:
            send_task_status(task.task_id, "Running")
        if "hang-on-every-load" in bugs and isinstance(task, LoadModel):
            _HANG.wait()
        match task:
            case DownloadModel() if "no-download-handler" not in bugs and isinstance(
                current_status, RunnerIdle | RunnerConnected | RunnerFailed
            ):
                back = (
                    RunnerConnected()
                    if isinstance(current_status, RunnerConnected)
                    else RunnerIdle()
                )
                accept(task, RunnerDownloading())

                def download() -> None:
                    engine.download(
                        task.model,
                        context.models_dir,
                        lambda p: emit(DownloadProgressed(task_id=task.task_id, progress=p)),
                    )

                if attempt(task, download):
                    complete(task, back)
            case ConnectToGroup() if isinstance(current_status, RunnerIdle) and has_group:
                accept(task, RunnerConnecting())
                if attempt(
                    task, lambda: engine.connect(context.instance.rank, context.instance.peers)
                ):
                    complete(task, RunnerConnected())
            case LoadModel() if (
                (
                    isinstance(current_status, RunnerConnected)
                    and has_group
                    and "load-only-from-idle" not in bugs
                )
                or (isinstance(current_status, RunnerIdle) and not has_group)
            ) and engine.weights_present(context.model_dir):
                accept(task, RunnerLoading(layers_loaded=0, total_layers=0))

                def load() -> None:
                    steps = list(engine.load(context.model_dir))
                    if "load-progress-backwards" in bugs:
                        steps.reverse()
                    for progress in steps:
                        update_status(RunnerLoading(progress.layers_loaded, progress.total_layers))

                if attempt(task, load):
                    complete(task, RunnerLoaded(), report="no-status-after-load" not in bugs)
            case StartWarmup() if isinstance(current_status, RunnerLoaded):
                accept(task, RunnerWarmingUp())
                if "hang-on-warmup" in bugs:
                    _HANG.wait()
                if attempt(task, engine.warmup):
                    complete(task, RunnerReady(), report="no-status-after-warmup" not in bugs)
            case ChatCompletion() if isinstance(current_status, RunnerReady):
                generate(task)
            case Shutdown() if not isinstance(current_status, RunnerShutdown):
                accept(task, RunnerShuttingDown())
                if attempt(task, engine.close):
                    complete(task, RunnerShutdown())
                    return True
            case _:
                message = (
                    f"Received {type(task).__name__} outside of state machine in {current_status=}"
                )
                if "no-failure-message" in bugs:
                    message = ""
                if "running-before-guard" not in bugs:
                    send_task_status(task.task_id, "Failed", message)
        return False

    def generate(task: ChatCompletion) -> None:
        accept(task, RunnerRunning())
        cancelled = False

        def should_stop() -> bool:
            nonlocal cancelled
            while (item := poll()) is not None:
                match item:
                    case CancelTask(cancel_task_id=target):
                        # its own id, or (the bug) the id of the task it cancels
                        own = target if "cancel-events-carry-target" in bugs else item.task_id
                        send_task_status(own, "Running")
                        emit(TaskAcknowledged(task_id=own))
                        if target == task.task_id:
                            cancelled = True
                        for queued in list(deferred):
                            # only a chat is cancellable: a queued Shutdown always runs
                            cancellable = isinstance(queued, ChatCompletion) or (
                                "cancel-queued-shutdown" in bugs
                            )
                            if queued.task_id == target and cancellable:
                                deferred.remove(queued)
                                send_task_status(target, "Cancelled")
                        send_task_status(own, "Complete")
                    case ChatCompletion() | Shutdown():
                        deferred.append(item)
                    case _:
                        send_task_status(
                            item.task_id, "Failed", f"{type(item).__name__} while running"
                        )
            return cancelled and "cancel-ignored" not in bugs

        def stream() -> None:
            for index, chunk in enumerate(engine.generate(task.request, should_stop)):
                if "first-chunk-dropped" in bugs and index == 0:
                    continue
                emit(
                    ChunkGenerated(
                        task.task_id, TextChunk(chunk.text, chunk.token_id, chunk.finish_reason)
                    )
                )

        if not attempt(task, stream):
            return
        if cancelled:
            if "no-cancelled-status" not in bugs:
                send_task_status(task.task_id, "Cancelled")
            update_status(RunnerReady())
            return
        complete(task, RunnerReady(), report="no-status-after-chat" not in bugs)

    update_status(RunnerIdle())
    finished = False
    for task in tasks:
        finished = handle(task)
        while deferred and not finished:
            finished = handle(deferred.popleft())
        if finished:
            break
    for task in deferred:
        send_task_status(task.task_id, "Failed", "the runner has shut down")
    if "thread-left-behind" in bugs:

        def late() -> None:  # a "heartbeat" that outlives the loop
            time.sleep(0.01)
            emit(RunnerStatusUpdated(runner_id=runner_id, runner_status=current_status))

        threading.Thread(target=late, daemon=True).start()


def with_bugs(
    *bugs: Bug,
) -> Callable[[RunnerContext, Engine, Iterable[Task], Callable[[Event], None]], None]:
    """A runner with these bugs switched on."""

    def run(
        context: RunnerContext, engine: Engine, tasks: Iterable[Task], emit: Callable[[Event], None]
    ) -> None:
        serve(context, engine, tasks, emit, frozenset(bugs))

    return run


run = with_bugs()
