"""The harness every replay test carries (the explorer itself never imports the runtime, the
supervisor or the conformance suite: the harness is text, written into each test).

``RuntimeRanks``: each rank a real runner (``exo_spec.runtime.runner.run``) over the conformance
suite's scripted engine, in the test's process. ``SupervisedRanks``: each rank a real
``RunnerSupervisor`` running ``tests.supervisor.engines:ScriptedEngine`` in a subprocess
(crashes are ``SIGKILL``, deleting the instance is ``close()``). ``problems()`` lists the
invariants broken on the real events.
"""

__all__ = ["HARNESS"]

HARNESS = '''\
from __future__ import annotations

import os
import signal
from collections.abc import Mapping, Sequence
from types import TracebackType

from exo_spec.conformance.execute import context_for
from exo_spec.conformance.scenario import ActionOutcome, Send, to_task
from exo_spec.conformance.scripted_engine import EngineScript, ScriptedEngine, TaskFeed
from exo_spec.runtime.runner import run
from exo_spec.runtime.wire import (
    Event,
    RunnerFailed,
    RunnerIdle,
    RunnerStatusUpdated,
    TaskAcknowledged,
    TaskStatusUpdated,
)
from exo_spec.supervisor import EngineFactory, RestartPolicy, RunnerSupervisor, StopBounds
from exo_spec.supervisor.child import JsonValue

SUPERVISOR_ENGINE = "tests.supervisor.engines:ScriptedEngine"
BOUND_S = 30.0
"""No wait in a replay takes longer than this."""

_FINAL = frozenset({"Complete", "Failed", "Cancelled"})
_PROCESS_STEPS = frozenset({"crash", "reap", "delete", "close", "kill", "closed", "deadline"})


def _finals(events: Sequence[Event]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for event in events:
        if isinstance(event, TaskStatusUpdated) and event.task_status in _FINAL:
            out.setdefault(event.task_id, []).append(event.task_status)
    return out


def _final_once(rank: int, sent: Sequence[str], events: Sequence[Event]) -> list[str]:
    finals = _finals(events)
    return [
        f"EXS701 rank {rank}: task {task_id} has final statuses {finals.get(task_id, [])}"
        for task_id in sent
        if len(finals.get(task_id, [])) != 1
    ]


class RuntimeRanks:
    """Each rank a real runner in this process, over the conformance suite's scripted engine
    and task feed; ``outcomes`` says, per rank and action, which calls raise."""

    def __init__(
        self,
        ranks: int,
        *,
        weights: bool,
        outcomes: Mapping[int, Mapping[str, Sequence[ActionOutcome]]] | None = None,
    ) -> None:
        self.ranks = ranks
        outcomes = outcomes or {}
        self.engines = [
            ScriptedEngine(EngineScript(outcomes=dict(outcomes.get(i, {}))), weights=weights)
            for i in range(ranks)
        ]
        self.weights = [weights] * ranks
        self.sends: list[list[Send]] = [[] for _ in range(ranks)]
        self.events: list[list[Event]] = [[] for _ in range(ranks)]

    def _ids(self, rank: int) -> list[str]:
        return [x.id for s in self.sends[rank] for x in (s, *s.during)]

    def send(self, rank: int, task: str, target: int | None = None, during: bool = False) -> None:
        """Send ``task``; ``target``: the chat (by its order) a CancelTask names; ``during``:
        it arrives while the last ChatCompletion sent generates."""
        ids = self._ids(rank)
        name = None
        if target is not None:
            name = [i for i in ids if i.endswith("-ChatCompletion")][target]
        new = Send(f"r{rank}-{len(ids)}-{task}", task, weights=self.weights[rank], target=name)
        if task == "DownloadModel":
            self.weights[rank] = True
        sends = self.sends[rank]
        chats = [k for k, s in enumerate(sends) if s.task == "ChatCompletion"]
        if during and chats:
            host = sends[chats[-1]]
            sends[chats[-1]] = Send(
                host.id, host.task, host.weights, host.result, (*host.during, new), host.target
            )
        else:
            sends.append(new)

    def run(self) -> None:
        """Each rank's runner serves what it was sent (``runtime.runner.run``)."""
        for i in range(self.ranks):
            feed = TaskFeed(self.sends[i], self.engines[i])
            run(context_for(self.ranks > 1), self.engines[i], feed, self.events[i].append)

    def problems(self) -> list[str]:
        """The invariants broken on the real events (EXS701, EXS702, EXS703)."""
        out: list[str] = []
        for i in range(self.ranks):
            events = self.events[i]
            out += _final_once(i, self._ids(i), events)
            acked = sum(isinstance(e, TaskAcknowledged) for e in events)
            calls = len(self.engines[i].calls)
            if calls > acked:
                out.append(f"EXS702 rank {i}: {calls} engine calls for {acked} accepted tasks")
            states = [e.runner_status for e in events if isinstance(e, RunnerStatusUpdated)]
            if not states:
                out.append(f"EXS703 rank {i}: no RunnerStatusUpdated at all")
        return out


class SupervisedRanks:
    """Each rank a real supervisor and runner process (the supervisor tests' scripted engine);
    ``fail`` says, per rank, which actions raise, ``block`` which never return (the trace ends
    them only by ending the process, or not at all)."""

    def __init__(
        self,
        ranks: int,
        *,
        max_restarts: int,
        fail: Mapping[int, Mapping[str, str]] | None = None,
        block: Mapping[int, Sequence[str]] | None = None,
    ) -> None:
        fail, block = fail or {}, block or {}
        self.ranks = ranks
        self.sent: list[list[str]] = [[] for _ in range(ranks)]
        self.events: list[list[Event]] = [[] for _ in range(ranks)]
        self.deleted = False
        self.supervisors: list[RunnerSupervisor] = []
        for i in range(ranks):
            kwargs: dict[str, JsonValue] = {
                "fail": dict(fail.get(i, {})),
                "block": list(block.get(i, ())),
            }
            supervisor = RunnerSupervisor(
                context_for(ranks > 1),
                EngineFactory(SUPERVISOR_ENGINE, kwargs, lazy=False),
                restart=RestartPolicy(max_restarts=max_restarts, backoff_s=0.01),
                bounds=StopBounds(shutdown_s=2.0, terminate_s=2.0, kill_s=5.0),
            )
            supervisor.on_event(self.events[i].append)
            self.supervisors.append(supervisor)

    def __enter__(self) -> SupervisedRanks:
        for supervisor in self.supervisors:
            supervisor.start()
            supervisor.wait_status("RunnerIdle", BOUND_S)
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        for supervisor in self.supervisors:
            supervisor.close()

    def send(self, rank: int, task: str, target: int | None = None, during: bool = False) -> None:
        """Submit ``task`` (the runner takes it as it arrives); ``target``: the chat (by its
        order) a CancelTask names."""
        task_id = f"r{rank}-{len(self.sent[rank])}-{task}"
        name = None
        if target is not None:
            name = [i for i in self.sent[rank] if i.endswith("-ChatCompletion")][target]
        self.sent[rank].append(task_id)
        self.supervisors[rank].submit(to_task(Send(task_id, task, target=name)))

    def wait(self, rank: int, task: str) -> None:
        """Wait for the final status of the last ``task`` sent to ``rank`` (its action ended)."""
        task_id = next(t for t in reversed(self.sent[rank]) if t.endswith(f"-{task}"))
        self.supervisors[rank].wait_task(to_task(Send(task_id, task)).task_id, BOUND_S)

    def crash(self, rank: int) -> None:
        """``SIGKILL`` the rank's process; wait until it is restarted or given up."""
        supervisor = self.supervisors[rank]
        old = supervisor.pid
        if old is None:
            return
        os.kill(old, signal.SIGKILL)

        def reacted(status: object) -> bool:
            restarted = isinstance(status, RunnerIdle) and supervisor.pid not in (None, old)
            gave_up = isinstance(status, RunnerFailed) and "not restarted" in status.error_message
            return restarted or gave_up

        supervisor.wait_status(reacted, BOUND_S)

    def delete(self) -> None:
        """The node deletes the instance: ``close()`` every rank."""
        self.deleted = True
        for supervisor in self.supervisors:
            supervisor.close()

    def problems(self) -> list[str]:
        """The invariants broken on the real events (EXS701, EXS705)."""
        out: list[str] = []
        for i, supervisor in enumerate(self.supervisors):
            out += _final_once(i, self.sent[i], self.events[i])
            if self.deleted and supervisor.health()["alive"]:
                out.append(f"EXS705 rank {i}: its process is alive after close() returned")
        return out


'''
