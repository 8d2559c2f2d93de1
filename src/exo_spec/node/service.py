"""The node's core: placed instances, each a supervised runner driven to ready by the planner.

Everything here runs on one asyncio loop. Each supervisor calls back on its own thread; the
callback hands every event to the loop, in order, which routes it: to the event log (and the
``/events`` listeners), to the stream waiting for that task, and to the instance's planner.
No ASGI here: :mod:`.app` turns these calls into HTTP.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections import deque
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from attrs import define, field, frozen
from loguru import logger

from exo_spec.model import Accepted, Deferred, allowed_tasks, rejection_message, step
from exo_spec.node.planner import (
    AtGoal,
    Backoff,
    Decision,
    NoPath,
    RunnerView,
    RunTask,
    check_placement,
    plan_group,
)
from exo_spec.runtime.engine_protocol import ChatRequest, ModelRef
from exo_spec.runtime.wire import (
    FINAL_TASK_STATUSES,
    BoundInstance,
    CancelTask,
    ChatCompletion,
    ChunkGenerated,
    ConnectToGroup,
    DownloadModel,
    ErrorChunk,
    Event,
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
    TaskStatusUpdated,
    TextChunk,
    event_to_json,
)
from exo_spec.spec import Spec
from exo_spec.supervisor import EngineFactory, RestartPolicy, RunnerSupervisor, StopBounds

__all__ = ["ChatStream", "Instance", "Node", "NodeError", "NotReadyError", "UnknownModelError"]

_IDS = itertools.count(1)
_LOG_SIZE = 10_000
_TASK_HISTORY = 256
_REPLAN_S = 1.0


class NodeError(Exception):
    """A request the node cannot serve; ``status`` is the HTTP status it maps to."""

    status = 400
    kind = "invalid_request_error"


class UnknownModelError(NodeError):
    """No instance serves the requested model."""

    status = 404
    kind = "model_not_found"


class NotReadyError(NodeError):
    """The model is placed but no runner can take a chat now (its state and allowed tasks)."""

    status = 503
    kind = "runner_not_ready"


def _task_for(name: str, task_id: TaskId, model: ModelRef) -> Task:
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
    raise NodeError(f"the planner named task {name!r}, which the node cannot build")


@frozen
class StreamItem:
    """What a chat stream receives: a chunk, or the task's final status."""

    chunk: TextChunk | ErrorChunk | None = None
    status: TaskStatus | None = None
    error: str | None = None


@define
class Instance:
    """One placed model: its runner's supervisor, the planner's last decision, its tasks."""

    instance_id: InstanceId
    model: ModelRef
    supervisor: RunnerSupervisor
    changed: asyncio.Event = field(factory=asyncio.Event)
    decision: Decision | None = None
    backoff: Backoff = field(factory=Backoff)
    tasks: dict[str, dict[str, Any]] = field(factory=dict)
    driver: asyncio.Task[None] | None = None
    weights: Callable[[Path], bool] | None = None
    last_guards: dict[str, bool] = field(factory=dict)

    @property
    def runner_id(self) -> str:
        return self.supervisor.runner_id

    def state(self, spec: Spec) -> str | None:
        status = self.supervisor.status
        if status is None:
            return None
        name = type(status).__name__
        return next((s.name for s in spec.states if s.status == name), None)

    def guards(self) -> dict[str, bool]:
        context = self.supervisor.context
        present = self.weights(context.model_dir) if self.weights else False
        return {"has_group": context.instance.has_group, "weights_present": present}

    def known_guards(self) -> dict[str, bool]:
        """The guard values the planner last saw (``weights_present`` false before it looked)."""
        has_group = self.supervisor.context.instance.has_group
        return self.last_guards or {"has_group": has_group, "weights_present": False}

    def record(self, task_id: str, kind: str, status: str, error: str | None = None) -> None:
        self.tasks[task_id] = {"task": kind, "status": status, "error": error}
        while len(self.tasks) > _TASK_HISTORY:
            self.tasks.pop(next(iter(self.tasks)))


class Node:
    """The runner supervisors of one node, and what the API asks of them."""

    def __init__(
        self,
        spec: Spec,
        models_dir: Path,
        factory: EngineFactory,
        *,
        weights: Callable[[Path], bool],
        model_dir_for: Callable[[Path, str], Path],
        restart: RestartPolicy | None = None,
        bounds: StopBounds | None = None,
    ) -> None:
        self.spec = spec
        self.models_dir = models_dir
        self.factory = factory
        self.instances: dict[str, Instance] = {}
        self._weights = weights
        self._model_dir_for = model_dir_for
        self._restart = restart or RestartPolicy(max_restarts=3, backoff_s=0.2)
        self._bounds = bounds or StopBounds(shutdown_s=5.0)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._streams: dict[str, asyncio.Queue[StreamItem]] = {}
        self._log: deque[dict[str, Any]] = deque(maxlen=_LOG_SIZE)
        self._seq = itertools.count(1)
        self._listeners: set[asyncio.Queue[dict[str, Any]]] = set()
        self._waiters: dict[str, asyncio.Future[TaskStatus]] = {}
        self.closing = False

    # -- placement ---------------------------------------------------------------------------

    async def place(self, model: str, instance_id: str | None = None) -> Instance:
        """Place ``model`` (one runner); the planner drives it to ready in the background."""
        self._loop = asyncio.get_running_loop()
        if self.closing:
            raise NotReadyError("the node is shutting down")
        check_placement(self.spec, {"has_group": False})
        iid = InstanceId(instance_id or f"instance-{next(_IDS)}")
        if iid in self.instances:
            raise NodeError(f"instance {iid} already exists")
        try:
            model_dir = self._model_dir_for(self.models_dir, model)
        except ValueError as exc:
            raise NodeError(str(exc)) from None
        ref = ModelRef(model)
        context = RunnerContext(
            RunnerId(f"{iid}/runner-0"), BoundInstance(iid, ref), self.models_dir, model_dir
        )
        supervisor = RunnerSupervisor(
            context, self.factory, restart=self._restart, bounds=self._bounds
        )
        instance = Instance(iid, ref, supervisor, weights=self._weights)
        supervisor.on_event(lambda event: self._from_thread(instance, event))
        self.instances[iid] = instance
        supervisor.start()
        instance.driver = asyncio.create_task(self._drive(instance), name=f"plan-{iid}")
        logger.bind(instance_id=iid).info("placed {} as {}", model, iid)
        return instance

    async def remove(self, instance_id: str) -> None:
        instance = self.instances.pop(instance_id, None)
        if instance is None:
            raise UnknownModelError(f"no instance {instance_id}; placed: {self._placed()}")
        await self._stop(instance)

    async def close(self) -> None:
        """Shut every runner down (Shutdown, then terminate/kill by the supervisor's bounds)."""
        self.closing = True
        instances = list(self.instances.values())
        self.instances.clear()
        await asyncio.gather(*(self._stop(i) for i in instances))
        for queue in self._listeners:
            queue.put_nowait({})

    async def _stop(self, instance: Instance) -> None:
        if instance.driver is not None:
            instance.driver.cancel()
        await instance.supervisor.aclose()

    def _placed(self) -> str:
        return ", ".join(f"{i.instance_id} ({i.model.repo_id})" for i in self.instances.values())

    # -- the planner loop ----------------------------------------------------------------------

    async def _drive(self, instance: Instance) -> None:
        log = logger.bind(instance_id=instance.instance_id)
        while True:
            instance.changed.clear()
            state = instance.state(self.spec)
            if state is None:
                await self._changed(instance)
                continue
            guards = await asyncio.to_thread(instance.guards)
            instance.last_guards = guards
            view = RunnerView(instance.runner_id, state, guards)
            decision = plan_group(self.spec, [view])[instance.runner_id]
            instance.decision = decision
            if not isinstance(decision, RunTask):
                if isinstance(decision, NoPath):
                    log.warning("no plan: {}", decision.reason)
                await self._changed(instance)
                continue
            if instance.backoff.spent:
                await self._changed(instance)
                continue
            status = await self._run(instance, decision.task)
            if status == "Complete":
                instance.backoff = instance.backoff.succeeded()
            else:
                instance.backoff = instance.backoff.failed()
                log.warning(
                    "{} ended {}; retrying in {:g} s",
                    decision.task,
                    status,
                    instance.backoff.delay_s,
                )
                await asyncio.sleep(instance.backoff.delay_s)

    async def _changed(self, instance: Instance) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(instance.changed.wait(), _REPLAN_S)

    async def _run(self, instance: Instance, name: str) -> TaskStatus:
        task_id = TaskId(f"{instance.instance_id}/{name}-{next(_IDS)}")
        waiter: asyncio.Future[TaskStatus] = asyncio.get_running_loop().create_future()
        self._waiters[task_id] = waiter
        instance.record(task_id, name, "Pending")
        try:
            instance.supervisor.submit(_task_for(name, task_id, instance.model))
            return await waiter
        finally:
            self._waiters.pop(task_id, None)

    # -- events ----------------------------------------------------------------------------------

    def _from_thread(self, instance: Instance, event: Event) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._dispatch, instance, event)

    def _dispatch(self, instance: Instance, event: Event) -> None:
        entry = {
            "seq": next(self._seq),
            "instance_id": instance.instance_id,
            "runner_id": instance.runner_id,
            "event": event_to_json(event),
        }
        self._log.append(entry)
        for queue in list(self._listeners):
            if queue.qsize() < 1000:
                queue.put_nowait(entry)
        if isinstance(event, RunnerStatusUpdated):
            instance.changed.set()
        elif isinstance(event, ChunkGenerated):
            stream = self._streams.get(event.task_id)
            if stream is not None:
                stream.put_nowait(StreamItem(chunk=event.chunk))
        elif isinstance(event, TaskStatusUpdated):
            known = instance.tasks.get(event.task_id)
            if known is not None:
                instance.record(
                    event.task_id, known["task"], event.task_status, event.error_message
                )
            if event.task_status in FINAL_TASK_STATUSES:
                stream = self._streams.get(event.task_id)
                if stream is not None:
                    stream.put_nowait(
                        StreamItem(status=event.task_status, error=event.error_message)
                    )
                waiter = self._waiters.get(event.task_id)
                if waiter is not None and not waiter.done():
                    waiter.set_result(event.task_status)
                instance.changed.set()

    def events(self) -> tuple[list[dict[str, Any]], asyncio.Queue[dict[str, Any]]]:
        """The event log so far, and a queue of what comes next (an empty dict at close)."""
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._listeners.add(queue)
        return list(self._log), queue

    def stop_listening(self, queue: asyncio.Queue[dict[str, Any]]) -> None:
        self._listeners.discard(queue)

    # -- state ---------------------------------------------------------------------------------

    def state_json(self) -> dict[str, Any]:
        """Every instance's runner: status (wire JSON), health, the plan and its tasks."""
        out: dict[str, Any] = {}
        for instance in self.instances.values():
            supervisor = instance.supervisor
            status = supervisor.status
            decision = instance.decision
            out[instance.instance_id] = {
                "model": instance.model.repo_id,
                "runners": {
                    instance.runner_id: {
                        "state": instance.state(self.spec),
                        "status": None
                        if status is None
                        else event_to_json(
                            RunnerStatusUpdated(RunnerId(instance.runner_id), status)
                        )["RunnerStatusUpdated"]["runner_status"],
                        "plan": None if decision is None else _decision_json(decision),
                        "backoff": {
                            "failures": instance.backoff.failures,
                            "spent": instance.backoff.spent,
                        },
                        "health": supervisor.health(),
                        "tasks": dict(instance.tasks),
                    }
                },
            }
        return {"instances": out, "closing": self.closing}

    def models(self) -> list[tuple[str, str]]:
        seen: dict[str, str] = {}
        for instance in self.instances.values():
            seen.setdefault(instance.model.repo_id, "exo-spec")
        return list(seen.items())

    # -- chats -----------------------------------------------------------------------------------

    def _instance_for(self, model: str) -> Instance:
        for instance in self.instances.values():
            if model in (instance.model.repo_id, instance.instance_id):
                return instance
        placed = self._placed() or "none"
        raise UnknownModelError(f"model {model!r} is not placed on this node; placed: {placed}")

    def chat(self, model: str, request: ChatRequest) -> ChatStream:
        """Start a chat on a runner that can take it now, or queue it behind a running one
        (the spec defers ChatCompletion while running); ``NotReadyError`` otherwise."""
        if self.closing:
            raise NotReadyError("the node is shutting down")
        instance = self._instance_for(model)
        state = instance.state(self.spec)
        guards = instance.known_guards()  # the planner's last look: no disk check per request
        if state is None or self.spec.state(state).final:
            raise NotReadyError(
                f"runner {instance.runner_id} of {model} is not running (state {state})"
            )
        if self.spec.state(state).accepts_tasks:
            outcome = step(self.spec, state, "ChatCompletion", guards)
            takes = isinstance(outcome, Accepted | Deferred)
        else:
            takes = False
        if not takes:
            if self.spec.state(state).accepts_tasks:
                why = rejection_message(self.spec, state, "ChatCompletion", guards)
            else:
                allowed = ", ".join(allowed_tasks(self.spec, "ready", guards))
                why = f"runner is in {state} (inside a task); once ready it allows: {allowed}"
            raise NotReadyError(f"no ready runner for {model}: {instance.runner_id}: {why}")
        task_id = TaskId(f"{instance.instance_id}/chat-{next(_IDS)}")
        queue: asyncio.Queue[StreamItem] = asyncio.Queue()
        self._streams[task_id] = queue
        instance.record(task_id, "ChatCompletion", "Pending")
        instance.supervisor.submit(ChatCompletion(task_id, request))
        return ChatStream(self, instance, task_id, queue)

    def _end_stream(self, stream: ChatStream) -> None:
        if self._streams.pop(stream.task_id, None) is None:
            return  # already ended
        if not stream.final:
            cancel = TaskId(f"{stream.task_id}/cancel")
            stream.instance.supervisor.submit(CancelTask(cancel, stream.task_id))


@define
class ChatStream:
    """One chat's chunks as they come; :meth:`close` cancels it if it is not over."""

    node: Node
    instance: Instance
    task_id: TaskId
    queue: asyncio.Queue[StreamItem]
    final: bool = False
    status: TaskStatus | None = None
    error: str | None = None

    async def batches(self, timeout_s: float = 600.0) -> AsyncIterator[list[StreamItem]]:
        """What arrived since the last batch (at least one item), until the final status."""
        try:
            while not self.final:
                async with asyncio.timeout(timeout_s):
                    batch = [await self.queue.get()]
                while not self.queue.empty():
                    batch.append(self.queue.get_nowait())
                for item in batch:
                    if item.status is not None:
                        self.final, self.status, self.error = True, item.status, item.error
                yield batch
        finally:
            self.close()

    def close(self) -> None:
        self.node._end_stream(self)


def _decision_json(decision: Decision) -> dict[str, Any]:
    if isinstance(decision, RunTask):
        return {"next": decision.task, "steps": decision.steps}
    if isinstance(decision, AtGoal):
        return {"at": "ready"}
    return {
        type(decision).__name__.lower(): getattr(decision, "reason", getattr(decision, "state", ""))
    }
