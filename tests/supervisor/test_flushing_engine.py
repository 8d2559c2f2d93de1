"""The runner process's engine wrapper: every call that does a step's work sends the held events
first; the guard does not (its statuses follow in the same message)."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

import pytest

from exo_spec.runtime.engine_protocol import Engine, GroupPeer, ModelRef
from exo_spec.supervisor.emitter import FlushingEngine

GUARDS = {"weights_present"}
ARGUMENTS: dict[str, tuple[Any, ...]] = {
    "download": (ModelRef("org/m"), Path("models"), lambda _progress: None),
    "weights_present": (Path("models/m"),),
    "connect": (0, (GroupPeer(0, "127.0.0.1:1"),)),
    "load": (Path("models/m"),),
    "warmup": (),
    "generate": (None, lambda: False),
    "close": (),
}


def protocol_methods() -> list[str]:
    return sorted(
        name for name, value in vars(Engine).items() if inspect.isfunction(value) and name[0] != "_"
    )


class Recording:
    """Records each engine call after the flushes seen so far."""

    def __init__(self, log: list[str]) -> None:
        self.log = log

    def __getattr__(self, name: str) -> Any:
        def call(*_args: object) -> str:
            self.log.append(name)
            return f"{name} result"

        return call


def test_every_protocol_method_has_arguments_here() -> None:
    assert sorted(ARGUMENTS) == protocol_methods()


@pytest.mark.parametrize("name", protocol_methods())
def test_each_call_is_delegated_after_a_flush_unless_it_is_the_guard(name: str) -> None:
    log: list[str] = []
    engine = FlushingEngine(Recording(log), lambda: log.append("flush"))
    returns = inspect.signature(getattr(Engine, name)).return_annotation
    expected = None if returns in (None, "None") else f"{name} result"
    assert getattr(engine, name)(*ARGUMENTS[name]) == expected
    assert log == ([name] if name in GUARDS else ["flush", name])
