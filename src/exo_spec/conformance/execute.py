"""Run a runner callable on one scenario in a thread, with a time bound.

A runner that raises, hangs or never returns is an outcome to report, never a hang or a crash
of the suite: the thread is a daemon, stalled engine actions are released after the bound.
Events a runner emits after ``run()`` returned (from a thread it left behind) are kept apart:
the threads it started are given :data:`LATE_GRACE_S` to show them.
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

__all__ = [
    "DEFAULT_TIMEOUT_S",
    "LATE_GRACE_S",
    "RUNNER_ID",
    "RunResult",
    "RunnerCallable",
    "context_for",
    "execute",
]

RunnerCallable = Callable[[RunnerContext, Engine, Iterable[Task], Callable[[Event], None]], None]
DEFAULT_TIMEOUT_S = 2.0
"""Seconds a runner may take on one scenario (the CLI's ``--timeout``, and a reproducer's)."""
LATE_GRACE_S = 1.0
"""How long the threads a runner left behind may go on after it returned (they are watched)."""
RUNNER_ID = "conformance-runner"
_MODELS = Path("/nonexistent/exo-spec-conformance/models")


@frozen
class RunResult:
    """What a runner did: its events, the exception that ended it, whether it overran."""

    events: tuple[object, ...]
    error: str | None
    timed_out: bool
    received: tuple[str, ...]
    seconds: float
    late: tuple[object, ...] = ()  # emitted after run() returned
    engine_calls: tuple[str, ...] = ()  # the spec actions the engine ran, in order
    generated: tuple[tuple[str, tuple[str, ...]], ...] = ()  # per chat, the texts yielded
    after_cancel: tuple[tuple[str, int], ...] = ()  # per chat, tokens yielded after its cancel


def context_for(has_group: bool) -> RunnerContext:
    """The context a scenario's runner gets; a group means two peers."""
    peers = (GroupPeer(0, "127.0.0.1:52415"), GroupPeer(1, "127.0.0.2:52415")) if has_group else ()
    return RunnerContext(
        RunnerId(RUNNER_ID),
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
    late: list[object] = []
    errors: list[str] = []
    returned = threading.Event()

    def emit(event: object) -> None:
        (late if returned.is_set() else events).append(event)

    def target() -> None:
        try:
            runner(context_for(scenario.has_group), engine, feed, emit)
        except BaseException as exc:  # the runner's own failure is what we report
            errors.append(f"{type(exc).__name__}: {exc}")
        finally:
            returned.set()

    before = set(threading.enumerate())
    thread = threading.Thread(target=target, name=f"conformance {scenario.id}", daemon=True)
    start = time.perf_counter()
    thread.start()
    thread.join(timeout_s)
    timed_out = thread.is_alive()
    seconds = time.perf_counter() - start
    if timed_out:
        engine.release()
    else:
        _watch_left_behind(before | {thread})
    return RunResult(
        tuple(events),
        errors[0] if errors else None,
        timed_out,
        tuple(feed.received),
        seconds,
        tuple(late),
        tuple(engine.calls),
        tuple((task, tuple(texts)) for task, texts in engine.generated.items()),
        tuple(engine.after_cancel.items()),
    )


def _watch_left_behind(known: set[threading.Thread]) -> None:
    """Give the threads the runner started and left running a moment to show late events."""
    deadline = time.perf_counter() + LATE_GRACE_S
    for thread in threading.enumerate():
        if thread not in known and thread.is_alive():
            thread.join(max(0.0, deadline - time.perf_counter()))
