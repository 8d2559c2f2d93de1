"""Scripted engines for the supervisor's tests, built in the runner process by reference.

``ScriptedEngine`` can raise in an action, block in an action until the process is killed
(so "in state X" is a fact, not a timing), and sabotage its own channel on a signal:
SIGUSR1 writes a malformed message to the supervisor, SIGUSR2 closes the runner's sending
side. Both act on the process's one socket, the pipe to the supervisor, found in /proc/self/fd
(Linux; elsewhere the handlers are not installed and the tests that need them are skipped).
"""

from __future__ import annotations

import os
import signal
import socket
import stat
import struct
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from types import FrameType

from exo_spec.runtime.engine_protocol import (
    ChatRequest,
    DownloadProgress,
    GroupPeer,
    LoadProgress,
    ModelRef,
    TokenChunk,
)
from exo_spec.supervisor import EngineFactory

ENGINE = "tests.supervisor.engines:ScriptedEngine"


def engine(**kwargs: object) -> EngineFactory:
    """A factory reference to :class:`ScriptedEngine` with these options, built before the
    runner reports Idle (its signal handlers must be in place by then)."""
    return EngineFactory(ENGINE, kwargs, lazy=False)  # type: ignore[arg-type]


class ScriptedEngineError(RuntimeError):
    """Raised by a scripted action."""


def _channel_fd() -> int:
    sockets = []
    for name in os.listdir("/proc/self/fd"):
        try:
            if stat.S_ISSOCK(os.fstat(int(name)).st_mode):
                sockets.append(int(name))
        except OSError:
            continue
    if len(sockets) != 1:
        raise ScriptedEngineError(f"expected one socket (the channel), found {sockets}")
    return sockets[0]


_GARBAGE = '{"NotAnEvent": {"x": 1}}'


def _garbage_sender(payload: bytes) -> Callable[[int, FrameType | None], None]:
    def send(_signum: int, _frame: FrameType | None) -> None:
        message = struct.pack("!i", len(payload)) + payload
        fd = _channel_fd()
        while message:
            message = message[os.write(fd, message) :]

    return send


def _close_channel(_signum: int, _frame: FrameType | None) -> None:
    sock = socket.socket(fileno=_channel_fd())
    try:
        sock.shutdown(socket.SHUT_WR)
    finally:
        sock.detach()


class ScriptedEngine:
    """The engine protocol, scripted: ``fail`` maps actions to messages they raise, ``block``
    names actions that never return, ``tokens`` is how many tokens a generation yields,
    ``garbage`` is the malformed message SIGUSR1 sends."""

    def __init__(
        self,
        *,
        layers: int = 3,
        tokens: int = 3,
        fail: dict[str, str] | None = None,
        block: Sequence[str] = (),
        sabotage: bool = True,
        garbage: str = _GARBAGE,
        ignore_sigterm: bool = False,
    ) -> None:
        self.layers = layers
        self.tokens = tokens
        self.fail = dict(fail or {})
        self.block = frozenset(block)
        self.weights = True
        if sabotage and hasattr(signal, "SIGUSR1") and hasattr(signal, "SIGUSR2"):
            signal.signal(signal.SIGUSR1, _garbage_sender(garbage.encode()))
            signal.signal(signal.SIGUSR2, _close_channel)
        if ignore_sigterm:
            signal.signal(signal.SIGTERM, signal.SIG_IGN)

    def _call(self, name: str) -> None:
        if name in self.fail:
            raise ScriptedEngineError(self.fail[name])
        if name in self.block:
            threading.Event().wait()  # until the process is killed

    def download(
        self, model: ModelRef, models_dir: Path, progress: Callable[[DownloadProgress], None]
    ) -> Path:
        self._call("download")
        progress(DownloadProgress(10, 20, 1, 2))
        progress(DownloadProgress(20, 20, 2, 2))
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
        for k in range(1, self.layers + 1):
            yield LoadProgress(k, self.layers)

    def warmup(self) -> None:
        self._call("warmup")

    def generate(
        self,
        request: ChatRequest,  # noqa: ARG002
        cancelled: Callable[[], bool],
    ) -> Iterator[TokenChunk]:  # the Engine protocol's signature
        self._call("generate")
        for index in range(self.tokens):
            if cancelled():
                yield TokenChunk("", -1, "cancelled")
                return
            last = index == self.tokens - 1
            yield TokenChunk(f" t{index}", index, "stop" if last else None)

    def close(self) -> None:
        self._call("close")


class UnbuildableEngine:
    """An engine whose construction fails (a missing device, a bad option)."""

    def __init__(self, why: str = "no device") -> None:
        raise ScriptedEngineError(why)
