"""Scenarios: the task sequences the suite sends a runner, and how they become wire tasks.

A scenario fixes the constant guards (``has_group``: the instance has peers or not) and an
ordered tuple of :class:`Send`. Each send says which task arrives, the value of the dynamic
guard ``weights_present`` while it is handled, whether its engine action raises, and the tasks
that arrive *during* its action (polled between generated tokens): that is how a ``CancelTask``
reaches a running generation and how deferral is driven.
"""

from __future__ import annotations

from typing import Literal

from attrs import evolve, frozen

from exo_spec.runtime.engine_protocol import ChatMessage, ChatRequest, ModelRef
from exo_spec.runtime.wire import (
    CancelTask,
    ChatCompletion,
    ConnectToGroup,
    DownloadModel,
    LoadModel,
    Shutdown,
    StartWarmup,
    Task,
    TaskId,
)

__all__ = [
    "CANCEL_TASK",
    "DRIVEN_GUARDS",
    "MODEL",
    "ActionOutcome",
    "Scenario",
    "ScenarioError",
    "Send",
    "flatten",
    "shrunk_candidates",
    "to_task",
]

ActionOutcome = Literal["ok", "fail"]
DRIVEN_GUARDS = ("has_group", "weights_present")
"""The guards the suite can set: ``has_group`` through the context, the other via the engine."""

CANCEL_TASK = "CancelTask"
"""The wire task that names another task to stop (``cancel_task_id``). The spec says which
actions are cancellable, not which task carries the target: that is the runner's wire contract,
like the task types :func:`to_task` builds, so the suite drives runners of this vocabulary."""

MODEL = ModelRef("exo-spec/scripted", revision="main")


class ScenarioError(ValueError):
    """A scenario or spec the suite cannot drive (an unknown task type, an unknown guard)."""


@frozen(repr=False)
class Send:
    """One task as the runner receives it.

    ``weights`` is what ``engine.weights_present`` answers while it is handled; ``result``
    whether its engine action raises; ``during`` the tasks that arrive while its action polls
    (between tokens); ``target`` the task a ``CancelTask`` cancels.
    """

    id: str
    task: str
    weights: bool = True
    result: ActionOutcome = "ok"
    during: tuple[Send, ...] = ()
    target: str | None = None

    def __repr__(self) -> str:
        """Python source for this send, naming only the fields that differ from the defaults."""
        args = [repr(self.id), repr(self.task)]
        if not self.weights:
            args.append("weights=False")
        if self.result != "ok":
            args.append(f"result={self.result!r}")
        if self.during:
            args.append(f"during={self.during!r}")
        if self.target is not None:
            args.append(f"target={self.target!r}")
        return f"Send({', '.join(args)})"

    def __str__(self) -> str:
        parts = [self.task, self.id]
        if self.target is not None:
            parts.append(f"->{self.target}")
        if not self.weights:
            parts.append("no-weights")
        if self.result == "fail":
            parts.append("raises")
        text = " ".join(parts)
        if self.during:
            text += " {during: " + ", ".join(str(d) for d in self.during) + "}"
        return text


@frozen(repr=False)
class Scenario:
    """A named task sequence with the constant guards it runs under."""

    id: str
    kind: str
    has_group: bool
    sends: tuple[Send, ...]
    delays: tuple[tuple[str, float], ...] = ()  # (action, seconds): a slow engine

    def __repr__(self) -> str:
        delays = f", delays={self.delays!r}" if self.delays else ""
        return f"Scenario({self.id!r}, {self.kind!r}, {self.has_group!r}, {self.sends!r}{delays})"

    def describe(self) -> str:
        group = "with a group" if self.has_group else "single node"
        return f"{group}: " + "; ".join(str(s) for s in self.sends)


def flatten(sends: tuple[Send, ...]) -> tuple[Send, ...]:
    """Every send, depth first in arrival order (a send before the tasks arriving during it)."""
    out: list[Send] = []
    for send in sends:
        out.append(send)
        out.extend(flatten(send.during))
    return tuple(out)


def shrunk_candidates(sends: tuple[Send, ...]) -> list[tuple[Send, ...]]:
    """Every task sequence with one task less (a top-level one, or one arriving during one)."""
    out: list[tuple[Send, ...]] = []
    for i, send in enumerate(sends):
        out.append(sends[:i] + sends[i + 1 :])
        for k in range(len(send.during)):
            smaller = evolve(send, during=send.during[:k] + send.during[k + 1 :])
            out.append((*sends[:i], smaller, *sends[i + 1 :]))
    for i, send in enumerate(sends):  # then the flags that may not matter
        if not send.weights:
            out.append((*sends[:i], evolve(send, weights=True), *sends[i + 1 :]))
        if send.result != "ok":
            out.append((*sends[:i], evolve(send, result="ok"), *sends[i + 1 :]))
    return out


def to_task(send: Send) -> Task:
    """The wire task for a send; a chat's prompt names its task so the engine can tell them apart."""
    task_id = TaskId(send.id)
    match send.task:
        case "DownloadModel":
            return DownloadModel(task_id, MODEL)
        case "ConnectToGroup":
            return ConnectToGroup(task_id)
        case "LoadModel":
            return LoadModel(task_id)
        case "StartWarmup":
            return StartWarmup(task_id)
        case "ChatCompletion":
            return ChatCompletion(task_id, ChatRequest((ChatMessage("user", send.id),)))
        case "CancelTask":
            return CancelTask(task_id, TaskId(send.target or ""))
        case "Shutdown":
            return Shutdown(task_id)
    raise ScenarioError(
        f"task type {send.task!r} has no wire form; the suite drives DownloadModel, "
        "ConnectToGroup, LoadModel, StartWarmup, ChatCompletion, CancelTask and Shutdown"
    )
