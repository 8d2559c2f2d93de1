"""The suite's scripted engine and task feed: every fault path without a GPU.

:class:`ScriptedEngine` implements the engine protocol. Per scenario it is told which actions
raise (and with what message), whether the weights are present, how many layers and tokens
there are, and which actions are slow or stall (always for a bounded time, so a stalled runner
is reported, never a hung suite). :class:`TaskFeed` is the ``TaskSource`` the runner reads:
iterating yields the scenario's tasks; ``poll()`` yields, between generated tokens, the tasks
that arrive while a generation runs (a ``CancelTask``, a queued chat, a ``Shutdown``).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

from attrs import field, frozen

from exo_spec.conformance.scenario import ActionOutcome, Send, to_task
from exo_spec.model.cells import failure_message
from exo_spec.runtime.engine_protocol import (
    ChatRequest,
    DownloadProgress,
    GroupPeer,
    LoadProgress,
    ModelRef,
    TokenChunk,
)
from exo_spec.runtime.wire import Task

__all__ = ["ENGINE_ACTIONS", "EngineScript", "ScriptedEngine", "ScriptedEngineError", "TaskFeed"]

# engine method -> the spec action it implements
_ACTION_OF = {"close": "shutdown"}
ENGINE_ACTIONS = frozenset({"download", "connect", "load", "warmup", "generate", "shutdown"})
"""The spec actions the engine implements (``cancel`` is the runner's own)."""


class ScriptedEngineError(RuntimeError):
    """Raised by a scripted action that the scenario told to fail."""


@frozen
class EngineScript:
    """How the scripted engine behaves, fixed for one scenario.

    ``outcomes`` gives, per spec action, the outcome of each call in order (calls beyond the
    list succeed). ``raises`` makes an action raise on every call with the given message.
    ``delay_s`` slows an action down; ``stall_s`` blocks it until :meth:`ScriptedEngine.release`
    or the bound, whichever comes first.
    """

    layers: int = 3
    tokens: tuple[str, ...] = ("In", " the", " beginning")
    download_steps: int = 2
    outcomes: Mapping[str, Sequence[ActionOutcome]] = field(factory=dict)
    raises: Mapping[str, str] = field(factory=dict)
    delay_s: Mapping[str, float] = field(factory=dict)
    stall_s: Mapping[str, float] = field(factory=dict)


class ScriptedEngine:
    """Implements the engine protocol from an :class:`EngineScript`; records every call."""

    def __init__(self, script: EngineScript | None = None, *, weights: bool = True) -> None:
        self.script = script or EngineScript()
        self.weights = weights
        self.calls: list[str] = []
        self._outcomes = {name: deque(seq) for name, seq in self.script.outcomes.items()}
        self._released = threading.Event()
        self._listeners: list[Callable[[str], None]] = []
        self.generated: dict[str, list[str]] = {}
        """Per chat (its prompt names its task), the texts the engine yielded, in order."""
        self.after_cancel: dict[str, int] = {}
        """Per chat, the tokens yielded after a ``CancelTask`` naming it was handed out."""
        self._cancel_seen: set[str] = set()

    def on_action(self, listener: Callable[[str], None]) -> None:
        """Call ``listener(action)`` as each action starts (the feed uses it for ``generate``)."""
        self._listeners.append(listener)

    def note_cancel(self, target: str) -> None:
        """A ``CancelTask`` naming ``target`` reached the runner (the feed calls this)."""
        self._cancel_seen.add(target)

    def release(self) -> None:
        """Unblock every stalled action now."""
        self._released.set()

    def _call(self, method: str) -> None:
        action = _ACTION_OF.get(method, method)
        self.calls.append(action)
        for listener in self._listeners:
            listener(action)
        if (delay := self.script.delay_s.get(action)) is not None:
            time.sleep(delay)
        if (bound := self.script.stall_s.get(action)) is not None:
            self._released.wait(bound)
        if action in self.script.raises:
            raise ScriptedEngineError(self.script.raises[action])
        queue = self._outcomes.get(action)
        if queue and queue.popleft() == "fail":
            raise ScriptedEngineError(failure_message(action))

    # -- the engine protocol ------------------------------------------------------------------

    def download(
        self, model: ModelRef, models_dir: Path, progress: Callable[[DownloadProgress], None]
    ) -> Path:
        self._call("download")
        steps = self.script.download_steps
        for k in range(1, steps + 1):
            progress(DownloadProgress(k * 10, steps * 10, k, steps))
        return models_dir / model.repo_id.replace("/", "--")

    def weights_present(self, model_dir: Path) -> bool:  # the Engine protocol's signature  # noqa: ARG002
        return self.weights

    def connect(
        self,
        rank: int,  # noqa: ARG002
        peers: Sequence[GroupPeer],  # noqa: ARG002
    ) -> None:  # the Engine protocol's signature
        self._call("connect")

    def load(self, model_dir: Path) -> Iterator[LoadProgress]:  # the Engine protocol's signature  # noqa: ARG002
        self._call("load")
        return iter([LoadProgress(k, self.script.layers) for k in range(1, self.script.layers + 1)])

    def warmup(self) -> None:
        self._call("warmup")

    def generate(self, request: ChatRequest, cancelled: Callable[[], bool]) -> Iterator[TokenChunk]:
        self._call("generate")
        return self._tokens(request.messages[-1].content, cancelled)

    def _tokens(self, task_id: str, cancelled: Callable[[], bool]) -> Iterator[TokenChunk]:
        tokens = self.script.tokens
        texts = self.generated.setdefault(task_id, [])
        for index, text in enumerate(tokens):
            if cancelled():
                yield TokenChunk("", -1, "cancelled")
                return
            if task_id in self._cancel_seen:
                self.after_cancel[task_id] = self.after_cancel.get(task_id, 0) + 1
            texts.append(text)
            yield TokenChunk(text, index, "stop" if index == len(tokens) - 1 else None)

    def close(self) -> None:
        self._call("close")


class TaskFeed:
    """The runner's task channel for one scenario (a ``TaskSource``: iterable, with ``poll``).

    Iterating hands out the scenario's sends in order, first any that arrived earlier and were
    not polled, and sets ``engine.weights`` to each send's value. The sends that arrive during
    a task arrive when its ``generate`` starts and are handed out by ``poll()`` one at a time.
    """

    def __init__(self, sends: Sequence[Send], engine: ScriptedEngine) -> None:
        self._sends = deque(sends)
        self._engine = engine
        self._arriving: tuple[Send, ...] = ()
        self._arrived: deque[Send] = deque()
        self.received: list[str] = []
        engine.on_action(self._action_started)

    def _action_started(self, action: str) -> None:
        if action == "generate" and self._arriving:
            self._arrived.extend(self._arriving)
            self._arriving = ()

    def _hand_out(self, send: Send) -> Task:
        self.received.append(send.id)
        return to_task(send)

    def __iter__(self) -> Iterator[Task]:
        while self._arrived or self._arriving or self._sends:
            if self._arrived:
                yield self._hand_out(self._arrived.popleft())
                continue
            if self._arriving:  # its parent never generated: they wait in the channel
                self._arrived.extend(self._arriving)
                self._arriving = ()
                continue
            send = self._sends.popleft()
            self._engine.weights = send.weights
            self._arriving = send.during
            yield self._hand_out(send)

    def poll(self) -> Task | None:
        if not self._arrived:
            return None
        send = self._arrived.popleft()
        if send.target is not None:
            self._engine.note_cancel(send.target)
        return self._hand_out(send)
