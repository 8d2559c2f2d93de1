"""Run a runner callable on one scenario in a thread, with a time bound.

A runner that raises, hangs or never returns is an outcome to report, never a hang or a crash
of the suite: the thread is a daemon, stalled engine actions are released after the bound.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from attrs import frozen

from exo_spec.conformance.oracle import Expectation
from exo_spec.conformance.scenario import MODEL, ActionOutcome, Scenario
from exo_spec.conformance.scripted_engine import EngineScript, ScriptedEngine, TaskFeed
from exo_spec.runtime.engine_protocol import Engine, GroupPeer
from exo_spec.runtime.wire import (
    BoundInstance,
    Event,
    InstanceId,
    RunnerContext,
    RunnerId,
    Task,
)

__all__ = ["DEFAULT_TIMEOUT_S", "RunResult", "RunnerCallable", "context_for", "execute"]

RunnerCallable = Callable[[RunnerContext, Engine, Iterable[Task], Callable[[Event], None]], None]
DEFAULT_TIMEOUT_S = 5.0
_MODELS = Path("/nonexistent/exo-spec-conformance/models")


@frozen
class RunResult:
    """What a runner did: its events, the exception that ended it, whether it overran."""

    events: tuple[object, ...]
    error: str | None
    timed_out: bool
    received: tuple[str, ...]
    seconds: float


def context_for(has_group: bool) -> RunnerContext:
    """The context a scenario's runner gets; a group means two peers."""
    peers = (GroupPeer(0, "127.0.0.1:52415"), GroupPeer(1, "127.0.0.2:52415")) if has_group else ()
    return RunnerContext(
        RunnerId("conformance-runner"),
        BoundInstance(InstanceId("conformance-instance"), MODEL, 0, peers),
        _MODELS,
        _MODELS / "exo-spec--scripted",
    )


def execute(
    runner: RunnerCallable,
    scenario: Scenario,
    expectation: Expectation,
    *,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    script: EngineScript | None = None,
) -> RunResult:
    """Run ``runner`` on ``scenario``; the engine's action outcomes follow ``expectation``."""
    outcomes: dict[str, list[ActionOutcome]] = {}
    for action, outcome in expectation.calls:
        outcomes.setdefault(action, []).append("fail" if outcome == "fail" else "ok")
    base = script or EngineScript()
    engine = ScriptedEngine(
        EngineScript(
            layers=base.layers,
            tokens=base.tokens,
            download_steps=base.download_steps,
            outcomes=outcomes,
            raises=base.raises,
            delay_s=base.delay_s,
            stall_s=base.stall_s,
        )
    )
    feed = TaskFeed(scenario.sends, engine)
    events: list[object] = []
    errors: list[str] = []

    def target() -> None:
        try:
            runner(context_for(scenario.has_group), engine, feed, events.append)
        except BaseException as exc:  # the runner's own failure is what we report
            errors.append(f"{type(exc).__name__}: {exc}")

    thread = threading.Thread(target=target, name=f"conformance {scenario.id}", daemon=True)
    start = time.perf_counter()
    thread.start()
    thread.join(timeout_s)
    timed_out = thread.is_alive()
    if timed_out:
        engine.release()
    return RunResult(
        tuple(events),
        errors[0] if errors else None,
        timed_out,
        tuple(feed.received),
        time.perf_counter() - start,
    )
