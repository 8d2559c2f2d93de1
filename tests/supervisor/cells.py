"""The fault matrix: drive a supervised runner into a state, inject a fault, report the end.

A cell is (state, fault). Resting states are reached by completed tasks (``failed`` by a task
whose action fails); a transient state is entered by a task whose action blocks until the
process is killed, so "in state X" is a fact the supervisor has reported, not a timing. For
resting states, "action raises" and "action stalls" apply to the next task's action (no
action runs while a runner rests). "frozen" stops the runner with SIGSTOP; "orphaned" kills
the supervisor's own process (the supervisor then runs in a holder process of its own).
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

import psutil

from exo_spec.generated.runner_machine import STATUS_OF, RunnerState
from exo_spec.runtime.engine_protocol import ChatMessage, ChatRequest, GroupPeer, ModelRef
from exo_spec.runtime.wire import (
    BoundInstance,
    ChatCompletion,
    ChunkGenerated,
    ConnectToGroup,
    DownloadModel,
    ErrorChunk,
    Event,
    InstanceId,
    LoadModel,
    RunnerContext,
    RunnerFailed,
    RunnerId,
    RunnerShutdown,
    RunnerStatus,
    RunnerStatusUpdated,
    Shutdown,
    StartWarmup,
    Task,
    TaskId,
    TaskStatusUpdated,
)
from exo_spec.supervisor import Deadline, Liveness, RestartPolicy, RunnerSupervisor, StopBounds
from tests.supervisor.engines import engine

BOUND = 30.0  # no wait in a cell may take longer than this
STALL = 0.4
FAULTS = (
    "SIGKILL",
    "SIGTERM",
    "raises",
    "stalls",
    "malformed",
    "closed",
    "cleanup",
    "frozen",
    "orphaned",
)
FROZEN = Liveness(heartbeat_s=0.1, timeout_s=2.0, startup_s=BOUND)
MODEL = ModelRef("org/tiny")


def group_context(runner_id: str) -> RunnerContext:
    peers = (GroupPeer(0, "127.0.0.1:1"), GroupPeer(1, "127.0.0.1:2"))
    instance = BoundInstance(InstanceId("inst"), MODEL, 0, peers)
    return RunnerContext(RunnerId(runner_id), instance, "/nonexistent/models", "/nonexistent/m")


def chat(task_id: str) -> ChatCompletion:
    return ChatCompletion(TaskId(task_id), ChatRequest((ChatMessage("user", "hi"),)))


MAKE: dict[str, Callable[[str], Task]] = {
    "download": lambda i: DownloadModel(TaskId(i), MODEL),
    "connect": lambda i: ConnectToGroup(TaskId(i)),
    "load": lambda i: LoadModel(TaskId(i)),
    "warmup": lambda i: StartWarmup(TaskId(i)),
    "generate": chat,
    "shutdown": lambda i: Shutdown(TaskId(i)),
}
ENGINE_CALL = {"shutdown": "close"}  # the engine method an action calls, where names differ


@dataclass(frozen=True)
class Route:
    """How to reach a state: completed actions, then (transient) the action that runs in it,
    or (resting) the next task's action and the transient state that action runs in."""

    done: tuple[str, ...]
    action: str
    transient: bool
    via: RunnerState
    failing: str | None = None  # an action made to fail after ``done`` (to reach ``failed``)

    @property
    def call(self) -> str:
        return ENGINE_CALL.get(self.action, self.action)


ROUTES: dict[RunnerState, Route] = {
    RunnerState.idle: Route((), "download", False, RunnerState.downloading),
    RunnerState.downloading: Route((), "download", True, RunnerState.downloading),
    RunnerState.connecting: Route((), "connect", True, RunnerState.connecting),
    RunnerState.connected: Route(("connect",), "load", False, RunnerState.loading),
    RunnerState.loading: Route(("connect",), "load", True, RunnerState.loading),
    RunnerState.loaded: Route(("connect", "load"), "warmup", False, RunnerState.warming_up),
    RunnerState.warming_up: Route(("connect", "load"), "warmup", True, RunnerState.warming_up),
    RunnerState.ready: Route(("connect", "load", "warmup"), "generate", False, RunnerState.running),
    RunnerState.running: Route(
        ("connect", "load", "warmup"), "generate", True, RunnerState.running
    ),
    RunnerState.shutting_down: Route((), "shutdown", True, RunnerState.shutting_down),
    RunnerState.failed: Route((), "download", False, RunnerState.downloading, failing="connect"),
}


@dataclass
class Cell:
    """What one cell observed."""

    state: RunnerState
    fault: str
    final_status: RunnerStatus | None = None
    task_finals: dict[str, str] = field(default_factory=dict)
    events: list[Event] = field(default_factory=list)
    pid: int | None = None
    alive_after_fault: bool = False
    leaked: bool = False
    signals: tuple[str, ...] = ()
    closer_errors: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    before: RunnerStatus | None = None  # the status before the in-state task was sent


def _status_is(name: str) -> Callable[[RunnerStatus], bool]:
    return lambda status: type(status).__name__ == name


def _ended(status: RunnerStatus) -> bool:
    return isinstance(status, RunnerFailed | RunnerShutdown)


def _close_concurrently(supervisor: RunnerSupervisor, errors: list[str]) -> None:
    def close() -> None:
        try:
            supervisor.close()
        except Exception as exc:
            errors.append(repr(exc))

    async def aclose_twice() -> None:
        await asyncio.gather(supervisor.aclose(), supervisor.aclose())

    def in_loop() -> None:
        try:
            asyncio.run(aclose_twice())
        except Exception as exc:
            errors.append(repr(exc))

    threads = [threading.Thread(target=close) for _ in range(3)]
    threads.append(threading.Thread(target=in_loop))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(BOUND)
        if thread.is_alive():
            errors.append("a close() call hung")


def _supervisor(state: RunnerState, fault: str) -> RunnerSupervisor:
    route = ROUTES[state]
    options: dict[str, object] = {"fail": {}}
    deadlines: dict[RunnerState | str, Deadline] = {}
    if route.failing is not None:
        options["fail"] = {route.failing: "the route's failure"}
    if fault == "raises":
        options["fail"] = {**options["fail"], route.call: "scripted failure"}  # type: ignore[dict-item]
    elif fault == "stalls" or route.transient:
        options["block"] = [route.call]
    if fault == "stalls":
        deadlines[route.via] = Deadline(STALL, STALL)
    return RunnerSupervisor(
        group_context(f"{state.value}-{fault}"),
        engine(**options),
        deadlines=deadlines,
        restart=RestartPolicy(max_restarts=0),
        bounds=StopBounds(shutdown_s=0.5, terminate_s=2.0, kill_s=2.0),
        liveness=FROZEN if fault == "frozen" else Liveness(),
    )


def drive(supervisor: RunnerSupervisor, state: RunnerState, fault: str, cell: Cell) -> list[TaskId]:
    """Start ``supervisor`` and bring its runner into ``state`` (for a resting state with
    "raises" or "stalls", with the next task submitted); the tasks submitted."""
    route = ROUTES[state]
    submitted: list[TaskId] = []
    supervisor.start()
    supervisor.wait_status("RunnerIdle", BOUND)
    cell.pid = supervisor.pid
    steps = [(action, "Complete") for action in route.done]
    if route.failing is not None:
        steps.append((route.failing, "Failed"))
    for index, (action, expected) in enumerate(steps):
        task_id = supervisor.submit(MAKE[action](f"{action}-{index}"))
        submitted.append(task_id)
        if supervisor.wait_task(task_id, BOUND) != expected:
            cell.problems.append(f"route task {task_id} did not end {expected}")
    if not route.transient:
        supervisor.wait_status(STATUS_OF[state], BOUND)
    last = MAKE[route.action]("in-state")
    # read before sending: a task that fails at once may end the state before a later read
    cell.before = supervisor.status
    if route.transient or fault in ("raises", "stalls"):
        submitted.append(supervisor.submit(last))
        if route.transient and fault not in ("raises", "stalls"):
            supervisor.wait_status(STATUS_OF[state], BOUND)
    return submitted


def run_cell(state: RunnerState, fault: str) -> Cell:
    if fault == "orphaned":
        return run_orphaned_cell(state)
    cell = Cell(state, fault)
    supervisor = _supervisor(state, fault)
    events = supervisor.subscribe()
    submitted: list[TaskId] = []
    try:
        submitted = drive(supervisor, state, fault, cell)
        before = cell.before
        pid = supervisor.pid
        assert pid is not None
        if fault in ("SIGKILL", "SIGTERM"):
            os.kill(pid, getattr(signal, fault))
        elif fault == "malformed":
            os.kill(pid, signal.SIGUSR1)
        elif fault == "closed":
            os.kill(pid, signal.SIGUSR2)
        elif fault == "frozen":
            os.kill(pid, signal.SIGSTOP)
        elif fault == "cleanup":
            _close_concurrently(supervisor, cell.closer_errors)
        # a new end: in ``failed`` the runner already reports RunnerFailed before the fault
        cell.final_status = supervisor.wait_status(
            lambda status: _ended(status) and (status is not before or fault == "cleanup"),
            BOUND,
        )
        cell.alive_after_fault = psutil.pid_exists(pid) and _not_zombie(pid)
    except Exception as exc:  # a cell reports its failure; the matrix goes on
        cell.problems.append(f"{type(exc).__name__}: {exc}")
    finally:
        supervisor.close()
        for task_id in submitted:
            cell.task_finals[task_id] = supervisor.task_status(task_id) or "unknown"
        cell.events = list(events)
        cell.signals = supervisor.signals_sent
        cell.leaked = cell.pid is not None and psutil.pid_exists(cell.pid)
    return cell


def hold(state_name: str) -> None:
    """The holder process of an orphaned cell: drive a supervised runner into the state, print
    its pid, then wait to be killed."""
    state = RunnerState(state_name)
    cell = Cell(state, "orphaned")
    supervisor = _supervisor(state, "orphaned")
    drive(supervisor, state, "orphaned", cell)
    print(supervisor.pid if not cell.problems else f"problems: {cell.problems}", flush=True)
    threading.Event().wait()


def run_orphaned_cell(state: RunnerState) -> Cell:
    """Kill the supervisor's process with SIGKILL while its runner is in ``state``: the runner
    must end by itself, whatever it is doing."""
    cell = Cell(state, "orphaned")
    holder = subprocess.Popen(
        [sys.executable, "-c", f"from tests.supervisor.cells import hold; hold({state.value!r})"],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    try:
        assert holder.stdout is not None
        line = holder.stdout.readline().strip()
        if not line.isdigit():
            cell.problems.append(f"the holder could not reach {state.value}: {line!r}")
            return cell
        cell.pid = int(line)
        runner = psutil.Process(cell.pid)
        holder.kill()
        holder.wait(BOUND)
        _, alive = psutil.wait_procs([runner], timeout=BOUND)
        cell.leaked = bool(alive)
        for process in alive:  # leave nothing behind for the next cells
            process.kill()
    except Exception as exc:
        cell.problems.append(f"{type(exc).__name__}: {exc}")
    finally:
        holder.kill()
        holder.wait(BOUND)
        if holder.stdout is not None:
            holder.stdout.close()
    return cell


def runner_children() -> list[psutil.Process]:
    """Child processes of this one, except multiprocessing's resource tracker (one per
    parent, by design; runners no longer start it, the fault matrix does)."""
    found = []
    for child in psutil.Process().children(recursive=True):
        try:
            if not any("resource_tracker" in part for part in child.cmdline()):
                found.append(child)
        except psutil.Error:
            continue
    return found


def _not_zombie(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def error_chunk_first(cell: Cell, task_id: str) -> bool:
    """For a stream that was running: ErrorChunk, then RunnerFailed, then its Failed status."""
    order = []
    for event in cell.events:
        if isinstance(event, ChunkGenerated) and event.task_id == task_id:
            if isinstance(event.chunk, ErrorChunk):
                order.append("error")
        elif isinstance(event, RunnerStatusUpdated) and isinstance(
            event.runner_status, RunnerFailed
        ):
            order.append("failed")
        elif (
            isinstance(event, TaskStatusUpdated)
            and event.task_id == task_id
            and event.task_status == "Failed"
        ):
            order.append("task")
    return order == ["error", "failed", "task"]
