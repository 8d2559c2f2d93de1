"""The explored configuration: every runner's process, machine state, queue and supervisor.

Configurations are plain tuples (hashable, cheap to copy); a step of the search replaces one
runner's record. A task is ``(kind, name)``: kind ``p`` is the node planner's task (at most one
per runner is open), ``s`` the ``Shutdown`` that ``close()`` sends, ``c0``, ``c1`` … the
node's chats and ``x0``, ``x1`` … the CancelTask naming chat ``c0``, ``c1`` ….
"""

from __future__ import annotations

from typing import Literal, NamedTuple

__all__ = ["ALIVE", "CLEAN", "GONE", "UNCLEAN", "Config", "Proc", "Runner", "Step", "Task"]

Task = tuple[str, str]
Proc = Literal["alive", "clean", "unclean", "gone"]
ALIVE: Proc = "alive"
CLEAN: Proc = "clean"
"""Exited, and its end is not a failure (it shut down, or the supervisor was stopping it)."""
UNCLEAN: Proc = "unclean"
"""Exited by a fault (a crash, a deadline's kill): the supervisor counts it."""
GONE: Proc = "gone"
"""Reaped by the watcher, and not restarted."""


class Runner(NamedTuple):
    """One rank: its runner process (machine state, action, queue) and its supervisor."""

    state: str | None
    """The machine's state; ``None`` once the process is gone."""
    current: Task | None = None
    """The task whose action runs (the runner is in the rule's ``via`` state)."""
    source: str | None = None
    """Where ``current``'s rule started."""
    hung: int = 0
    """0: the action can end; 1: stalled (a fault); 2: a collective that can never complete."""
    queue: tuple[Task, ...] = ()
    weights: bool = False
    seen: str = ""
    """The state the supervisor's mirror last saw (from ``RunnerStatusUpdated``)."""
    proc: Proc = ALIVE
    finished: bool = False
    """The cleanup of the current process has run (the once-only guard)."""
    cleanups: int = 0
    failures: int = 0
    """The supervisor's count of failures in a row."""
    streak: int = 0
    """Failures since the last completed task, as RestartPolicy defines it (the reference)."""
    spent: bool = False
    closing: bool = False
    closed: bool = False
    """``close()`` returned: the node removed the runner from its table."""
    node_task: str | None = None
    backoff: int = 0
    open: tuple[Task, ...] = ()
    """Submitted tasks without a final status."""
    done: frozenset[str] = frozenset()
    """Collective tasks this rank completed with its current group."""
    chats: int = 0
    """ChatCompletions the node submitted to this rank (``--chats`` bounds them)."""
    cancels: frozenset[str] = frozenset()
    """The chats (their task kinds) a CancelTask was submitted for."""
    stop: bool = False
    """A CancelTask asked the running generation to stop before its next token."""


class Config(NamedTuple):
    """Every rank, the faults injected so far, and whether the instance was deleted."""

    runners: tuple[Runner, ...]
    faults: int = 0
    deleted: bool = False


class Step(NamedTuple):
    """One transition, as the trace shows it."""

    actor: str
    """``node``, ``runner``, ``supervisor``, ``fault`` or ``env``."""
    rank: int
    """The rank it concerns (-1: the instance)."""
    what: str
    """``plan``, ``take``, ``finish``, ``raise``, ``crash``, ``stall``, ``deadline``,
    ``reap``, ``delete``, ``close``, ``kill``, ``closed``."""
    task: str | None
    text: str
    action: str | None = None
    """The spec action that ends (``finish``, ``raise``) or starts (``take``), if any."""

    @property
    def fault(self) -> bool:
        return self.actor == "fault"
