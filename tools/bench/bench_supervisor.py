"""Benchmark of the supervisor: spawn-to-Idle (and the first task after it), crash-to-RunnerFailed, shutdown latency (also of a
runner that ignores SIGTERM, against its escalation bounds), events/s through the channel, and a
streamed completion's tokens/s supervised vs in-process.

    python tools/bench/bench_supervisor.py --out tools/bench/out/supervisor.json
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.supervisor.cells import MAKE, chat, group_context  # noqa: E402
from tests.supervisor.engines import ENGINE, ScriptedEngine  # noqa: E402

from exo_spec.runtime.runner import Runner  # noqa: E402
from exo_spec.runtime.wire import ChunkGenerated, Event  # noqa: E402
from exo_spec.supervisor import EngineFactory, RunnerSupervisor, StopBounds  # noqa: E402

BOUND = 60.0
GRACE_S, TERMINATE_S = 0.2, 0.3  # a runner ignoring SIGTERM: Shutdown, SIGTERM, then SIGKILL
STUBBORN = StopBounds(shutdown_s=GRACE_S, terminate_s=TERMINATE_S, kill_s=2.0)


def _ready(supervisor: RunnerSupervisor) -> None:
    supervisor.wait_status("RunnerIdle", BOUND)
    for name in ("connect", "load", "warmup"):
        supervisor.wait_task(supervisor.submit(MAKE[name](name)), BOUND)


def _ms(values: list[float]) -> dict[str, float | list[float]]:
    return {
        "min_ms": round(min(values) * 1000, 2),
        "median_ms": round(statistics.median(values) * 1000, 2),
        "max_ms": round(max(values) * 1000, 2),
        "samples_ms": [round(v * 1000, 2) for v in values],
    }


def bench(repeats: int, tokens: int) -> dict[str, object]:
    spawn, first, crash, shutdown = [], [], [], []
    for index in range(repeats):
        started = time.monotonic()
        supervisor = RunnerSupervisor(group_context(f"b{index}"), EngineFactory(ENGINE, {}))
        supervisor.start()
        supervisor.wait_status("RunnerIdle", BOUND)
        spawn.append(time.monotonic() - started)
        # the first task waits for what was left for after Idle (the engine's import)
        started = time.monotonic()
        supervisor.wait_task(supervisor.submit(MAKE["connect"]("connect")), BOUND)
        first.append(time.monotonic() - started)
        for name in ("load", "warmup"):
            supervisor.wait_task(supervisor.submit(MAKE[name](name)), BOUND)
        if index % 2 == 0:
            pid = supervisor.pid
            assert pid is not None
            started = time.monotonic()
            os.kill(pid, signal.SIGKILL)
            supervisor.wait_status("RunnerFailed", BOUND)
            crash.append(time.monotonic() - started)
            supervisor.close()
        else:
            started = time.monotonic()
            supervisor.close()
            shutdown.append(time.monotonic() - started)

    stubborn = []
    factory = EngineFactory(ENGINE, {"block": ["connect"], "ignore_sigterm": True})
    for index in range(max(1, repeats // 3)):
        supervisor = RunnerSupervisor(group_context(f"s{index}"), factory, bounds=STUBBORN)
        supervisor.start()
        supervisor.wait_status("RunnerIdle", BOUND)
        supervisor.submit(MAKE["connect"]("connect"))
        supervisor.wait_status("RunnerConnecting", BOUND)
        started = time.monotonic()
        supervisor.close()
        stubborn.append(time.monotonic() - started)

    factory = EngineFactory(ENGINE, {"tokens": tokens})
    with RunnerSupervisor(group_context("stream"), factory) as supervisor:
        _ready(supervisor)
        events = supervisor.subscribe()
        started = time.monotonic()
        supervisor.wait_task(supervisor.submit(chat("c")), BOUND)
        elapsed = time.monotonic() - started
        seen = 0
        while (event := events.get(BOUND)) is not None:
            seen += 1
            if isinstance(event, ChunkGenerated) and getattr(event.chunk, "finish_reason", None):
                break
    supervised = tokens / elapsed

    received: list[Event] = []
    runner = Runner(group_context("inproc"), ScriptedEngine(tokens=tokens), received.append)
    for name in ("connect", "load", "warmup"):
        runner.handle(MAKE[name](name))
    started = time.monotonic()
    runner.handle(chat("c"))
    in_process = tokens / (time.monotonic() - started)
    return {
        "spawn_to_idle": _ms(spawn),
        "first_task_after_idle": _ms(first),
        "crash_to_runner_failed": _ms(crash),
        "shutdown": _ms(shutdown),
        "shutdown_ignoring_sigterm": {
            **_ms(stubborn),
            "grace_then_terminate_ms": [GRACE_S * 1000, TERMINATE_S * 1000],
        },
        "events_per_s_through_channel": round(seen / elapsed),
        "tokens_per_s_supervised": round(supervised),
        "tokens_per_s_in_process": round(in_process),
        "tokens": tokens,
        "engine": "scripted",
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=6)
    parser.add_argument("--tokens", type=int, default=20_000)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    result = bench(args.repeats, args.tokens)
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
