"""The node's core: placed instances, their ranks driven to ready by the planner, the chats.

Everything here runs on one asyncio loop. Each supervisor calls back on its own thread; the
callback hands every event to the loop, in order, which routes it: to the event log (and the
``/events`` listeners), to the stream waiting for that task, and to the instance's planner.
An instance of several ranks is a ring group on this node (see :mod:`.instance`): its chats go
to every rank, and its stream reads the output rank's text. No ASGI here: :mod:`.app` turns
these calls into HTTP.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
from collections import deque
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import Any

from attrs import define

from exo_spec.logs import logger
from exo_spec.model import Accepted, Deferred, allowed_tasks, rejection_message, step
from exo_spec.node.instance import (
    Instance,
    Rank,
    StreamItem,
    UnbuildableTaskError,
    free_ports,
    task_for,
)
from exo_spec.node.planner import (
    Backoff,
    NoPath,
    RunnerView,
    RunTask,
    check_placement,
    plan_group,
)
from exo_spec.runtime.engine_protocol import ChatRequest, ModelRef
from exo_spec.runtime.wire import (
    FINAL_TASK_STATUSES,
    CancelTask,
    ChatCompletion,
    ChunkGenerated,
    ErrorChunk,
    Event,
    InstanceId,
    RunnerFailed,
    RunnerStatusUpdated,
    TaskId,
    TaskStatus,
    TaskStatusUpdated,
    event_to_json,
)
from exo_spec.spec import Spec
from exo_spec.supervisor import EngineFactory, RestartPolicy, RunnerSupervisor, StopBounds

__all__ = [
    "MAX_RANKS",
    "ChatStream",
    "Instance",
    "Node",
    "NodeError",
    "NotReadyError",
    "UnknownModelError",
]

_IDS = itertools.count(1)
_LOG_SIZE = 10_000
_REPLAN_S = 1.0
MAX_RANKS = 8
_GROUP_RESTART = RestartPolicy(max_restarts=0)
"""A rank of a group is never restarted alone: it could not rejoin; the group is re-formed."""


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
        output_rank: int = 0,
        group_restarts: Backoff | None = None,
    ) -> None:
        """``output_rank`` is the rank of a group whose chunks carry the text (the engine's
        ``OUTPUT_RANK``); the other ranks stream empty chunks in lockstep. ``group_restarts``
        is each group's budget for forming again after a rank failed or died."""
        self.spec = spec
        self.models_dir = models_dir
        self.factory = factory
        self.instances: dict[str, Instance] = {}
        self.output_rank = output_rank
        self._group_restarts = group_restarts or Backoff()
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

    async def place(
        self,
        model: str,
        instance_id: str | None = None,
        *,
        ranks: int = 1,
        ports: Sequence[int] | None = None,
    ) -> Instance:
        """Place ``model`` on ``ranks`` runners (a ring group on 127.0.0.1 when more than one,
        on ``ports`` or on free ones); the planner drives them to ready in the background."""
        self._loop = asyncio.get_running_loop()
        if self.closing:
            raise NotReadyError("the node is shutting down")
        if not 1 <= ranks <= MAX_RANKS:
            raise NodeError(f"ranks is {ranks}; expected 1..{MAX_RANKS}")
        if ports is not None and (len(ports) != ranks or ranks < 2):
            raise NodeError(
                f"ports {list(ports)}: expected one port per rank ({ranks}) for a group of "
                "at least two ranks, or none (free ports are picked)"
            )
        if ports is not None and len(set(ports)) != len(ports):
            raise NodeError(f"ports {list(ports)}: each rank needs a port of its own")
        if ranks > 1 and not 0 <= self.output_rank < ranks:
            raise NodeError(f"the output rank {self.output_rank} is not a rank of {ranks}")
        check_placement(self.spec, {"has_group": ranks > 1})
        iid = InstanceId(instance_id or f"instance-{next(_IDS)}")
        if iid in self.instances:
            raise NodeError(f"instance {iid} already exists")
        try:
            model_dir = self._model_dir_for(self.models_dir, model)
        except ValueError as exc:
            raise NodeError(str(exc)) from None
        chosen = tuple(ports) if ports is not None else free_ports(ranks) if ranks > 1 else ()
        instance = Instance(
            iid,
            ModelRef(model),
            model_dir,
            ranks,
            self.output_rank if ranks > 1 else 0,
            chosen,
            ports is not None,
            weights=self._weights,
            restarts=self._group_restarts,
        )
        self.instances[iid] = instance
        try:
            self._spawn(instance)
        except BaseException:
            self.instances.pop(iid, None)
            raise
        instance.driver = asyncio.create_task(self._drive(instance), name=f"plan-{iid}")
        where = f" on {ranks} ranks (ports {', '.join(map(str, chosen))})" if ranks > 1 else ""
        logger.bind(instance_id=iid).info("placed {} as {}{}", model, iid, where)
        return instance

    def _spawn(self, instance: Instance) -> None:
        """Start one supervised runner per rank of ``instance`` (its current group)."""
        restart = _GROUP_RESTART if instance.has_group else self._restart
        instance.ranks = []
        for index in range(instance.size):
            supervisor = RunnerSupervisor(
                instance.context(index, self.models_dir),
                self.factory,
                restart=restart,
                bounds=self._bounds,
            )
            rank = Rank(index, supervisor)
            supervisor.on_event(functools.partial(self._from_thread, instance, rank))
            instance.ranks.append(rank)
        for rank in instance.ranks:
            rank.supervisor.start()

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
        await self._stop_ranks(instance)

    async def _stop_ranks(self, instance: Instance) -> None:
        """Stop every rank of the current group together (none may wait on a closed peer)."""
        for rank in instance.ranks:
            if rank.busy is not None:
                rank.busy.cancel()
        await asyncio.gather(*(r.supervisor.aclose() for r in instance.ranks))

    def _placed(self) -> str:
        return ", ".join(f"{i.instance_id} ({i.model.repo_id})" for i in self.instances.values())

    # -- the planner loop ----------------------------------------------------------------------

    async def _drive(self, instance: Instance) -> None:
        log = logger.bind(instance_id=instance.instance_id)
        while True:
            instance.changed.clear()
            if instance.failed is not None:
                return  # given up: the instance stays, failed, until it is removed
            if instance.broken is not None:
                await self._reform(instance)
                continue
            states = [r.state(self.spec) for r in instance.ranks]
            if any(s is None for s in states):
                await self._changed(instance)
                continue
            guards = await asyncio.to_thread(instance.guards)
            instance.last_guards = guards
            views = [
                RunnerView(r.runner_id, s, guards, rank=r.rank)
                for r, s in zip(instance.ranks, states, strict=True)
                if s is not None
            ]
            decisions = plan_group(self.spec, views)
            for rank in instance.ranks:
                decision = decisions[rank.runner_id]
                if isinstance(decision, NoPath) and decision != rank.decision:
                    log.warning("no plan: {}", decision.reason)
                rank.decision = decision
                if isinstance(decision, RunTask) and rank.busy is None and not rank.backoff.spent:
                    rank.busy = asyncio.create_task(
                        self._run(instance, rank, decision.task),
                        name=f"{rank.runner_id}-{decision.task}",
                    )
            if instance.at_goal() and instance.restarts.failures:
                instance.restarts = instance.restarts.succeeded()
            await self._changed(instance)

    async def _changed(self, instance: Instance) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(instance.changed.wait(), _REPLAN_S)

    async def _run(self, instance: Instance, rank: Rank, name: str) -> None:
        """Run the planner's task ``name`` on ``rank``; a failure spends its backoff."""
        log = logger.bind(instance_id=instance.instance_id, runner_id=rank.runner_id)
        task_id = TaskId(f"{rank.runner_id}/{name}-{next(_IDS)}")
        waiter: asyncio.Future[TaskStatus] = asyncio.get_running_loop().create_future()
        self._waiters[task_id] = waiter
        rank.record(task_id, name, "Pending")
        try:
            try:
                rank.supervisor.submit(task_for(name, task_id, instance.model))
                status = await waiter
            except UnbuildableTaskError as exc:
                log.error("{}", exc)
                rank.record(task_id, name, "Failed", str(exc))
                status = "Failed"
            if status == "Complete":
                rank.backoff = rank.backoff.succeeded()
            else:
                rank.backoff = rank.backoff.failed()
                log.warning("{} ended {}; retrying in {:g} s", name, status, rank.backoff.delay_s)
                await asyncio.sleep(rank.backoff.delay_s)
        finally:
            self._waiters.pop(task_id, None)
            rank.busy = None
            instance.changed.set()

    async def _reform(self, instance: Instance) -> None:
        """Stop every rank of a broken group, and form it again unless its budget is spent."""
        log = logger.bind(instance_id=instance.instance_id)
        reason = instance.broken or "the group broke"
        await self._stop_ranks(instance)
        instance.restarts = instance.restarts.failed()
        if instance.restarts.spent:
            instance.failed = (
                f"group {instance.instance_id} failed {instance.restarts.failures} times in a "
                f"row, the last: {reason}; not formed again (remove and place it again)"
            )
            instance.broken = None
            log.error(instance.failed)
            return
        delay = instance.restarts.delay_s
        log.warning("group broke ({}); forming it again in {:g} s", reason, delay)
        await asyncio.sleep(delay)
        if not instance.fixed_ports:
            instance.ports = free_ports(instance.size)
        instance.generation += 1
        instance.broken = None
        self._spawn(instance)

    # -- events ----------------------------------------------------------------------------------

    def _from_thread(self, instance: Instance, rank: Rank, event: Event) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._dispatch, instance, rank, event)

    def _dispatch(self, instance: Instance, rank: Rank, event: Event) -> None:
        entry = {
            "seq": next(self._seq),
            "instance_id": instance.instance_id,
            "runner_id": rank.runner_id,
            "rank": rank.rank,
            "generation": instance.generation if instance.current(rank) else None,
            "event": event_to_json(event),
        }
        self._log.append(entry)
        for queue in list(self._listeners):
            if queue.qsize() < 1000:
                queue.put_nowait(entry)
        output = rank.rank == instance.output_rank
        if isinstance(event, RunnerStatusUpdated):
            if (
                instance.has_group
                and isinstance(event.runner_status, RunnerFailed)
                and instance.current(rank)
                and instance.broken is None
                and not self.closing
            ):
                why = event.runner_status.error_message or "failed"
                instance.broken = f"rank {rank.rank} ({rank.runner_id}) failed: {why}"
            instance.changed.set()
        elif isinstance(event, ChunkGenerated):
            stream = self._streams.get(event.task_id)
            if stream is not None and (output or isinstance(event.chunk, ErrorChunk)):
                stream.put_nowait(StreamItem(chunk=event.chunk))
        elif isinstance(event, TaskStatusUpdated):
            known = rank.tasks.get(event.task_id)
            if known is not None:
                rank.record(event.task_id, known["task"], event.task_status, event.error_message)
            if event.task_status in FINAL_TASK_STATUSES:
                stream = self._streams.get(event.task_id)
                # the output rank ends the stream; another rank only by failing (its peers
                # then fail too, but a survivor of a lost group sends no error chunk)
                if stream is not None and (output or event.task_status == "Failed"):
                    error = event.error_message
                    if not output:
                        error = f"rank {rank.rank} of the group: {error or 'failed'}"
                    stream.put_nowait(StreamItem(status=event.task_status, error=error))
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
        """Every instance: its group, and each rank's status, health, plan and tasks."""
        out = {iid: i.state_json(self.spec) for iid, i in self.instances.items()}
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

    def _refusal(self, rank: Rank, model: str, guards: dict[str, bool]) -> str | None:
        """Why ``rank`` cannot take a chat now, or ``None`` when it can (or will, deferred)."""
        state = rank.state(self.spec)
        if state is None or self.spec.state(state).final:
            return f"runner {rank.runner_id} of {model} is not running (state {state})"
        decl = self.spec.state(state)
        if decl.accepts_tasks:
            outcome = step(self.spec, state, "ChatCompletion", guards)
            if isinstance(outcome, Accepted | Deferred):
                return None
            why = rejection_message(self.spec, state, "ChatCompletion", guards)
        else:
            allowed = ", ".join(allowed_tasks(self.spec, "ready", guards))
            why = f"runner is in {state} (inside a task); once ready it allows: {allowed}"
        return f"no ready runner for {model}: {rank.runner_id}: {why}"

    def chat(self, model: str, request: ChatRequest) -> ChatStream:
        """Start a chat on a runner (every rank of a group) that can take it now, or queue it
        behind a running one (the spec defers ChatCompletion while running);
        ``NotReadyError`` otherwise."""
        if self.closing:
            raise NotReadyError("the node is shutting down")
        instance = self._instance_for(model)
        if instance.failed is not None:
            raise NotReadyError(instance.failed)
        if instance.broken is not None:
            raise NotReadyError(f"{instance.broken}; the group is being formed again")
        guards = instance.known_guards()  # the planner's last look: no disk check per request
        ranks = [instance.output, *(r for r in instance.ranks if r is not instance.output)]
        for rank in ranks:
            why = self._refusal(rank, model, guards)
            if why is not None:
                raise NotReadyError(why)
        task_id = TaskId(f"{instance.instance_id}/chat-{next(_IDS)}")
        queue: asyncio.Queue[StreamItem] = asyncio.Queue()
        self._streams[task_id] = queue
        for rank in instance.ranks:
            rank.record(task_id, "ChatCompletion", "Pending")
            rank.supervisor.submit(ChatCompletion(task_id, request))
        return ChatStream(self, instance, tuple(instance.ranks), task_id, queue)

    def _end_stream(self, stream: ChatStream) -> None:
        if self._streams.pop(stream.task_id, None) is None:
            return  # already ended
        if not stream.final:
            cancel = TaskId(f"{stream.task_id}/cancel")
            for rank in stream.ranks:
                rank.supervisor.submit(CancelTask(cancel, stream.task_id))


@define
class ChatStream:
    """One chat's chunks as they come; :meth:`close` cancels it if it is not over."""

    node: Node
    instance: Instance
    ranks: tuple[Rank, ...]
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
                    if item.status is not None and not self.final:
                        self.final, self.status, self.error = True, item.status, item.error
                yield batch
        finally:
            self.close()

    def close(self) -> None:
        self.node._end_stream(self)
