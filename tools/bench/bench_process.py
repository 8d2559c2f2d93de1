"""The supervisor against a bare subprocess: spawn-to-Idle, crash-to-RunnerFailed, shutdown,
and events/s through the channel, each beside the same thing done with nothing around it.

    .venv/bin/python tools/bench/bench_process.py [--repeats 6] [--tokens 5000] [--out F.json]

The supervisor's latencies come from ``bench_supervisor.bench`` (scripted engine). Baselines,
measured in the same run: a bare ``python -c`` child that writes one line (spawn), is killed
and reaped (crash), or exits when its stdin closes (shutdown), and a bare child that writes the
same JSON event line as many times as the runner sends events, parsed line by line (events/s).
Token streams are also timed in-process (``Runner.handle`` with the scripted engine).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench_supervisor import BOUND, _ready, bench
from benchkit import Metric, link, metric, result, target, write
from tests.supervisor.cells import MAKE, chat, group_context
from tests.supervisor.engines import ENGINE, ScriptedEngine

from exo_spec.runtime.runner import Runner
from exo_spec.runtime.wire import ChunkGenerated, Event, TaskId, TextChunk, event_to_json
from exo_spec.supervisor import EngineFactory, RunnerSupervisor

SPAWN_TARGET_MS = 150.0  # an absolute bound: the bare child's spawn is not the runner's floor
CHILD = "import sys; sys.stdout.write('x\\n'); sys.stdout.flush(); sys.stdin.read()"
WRITER = (
    "import sys; line = sys.argv[1] + '\\n'; n = int(sys.argv[2]); sys.stdout.write('ready\\n'); "
    "sys.stdout.flush(); sys.stdin.readline(); "
    "w = sys.stdout.write\nfor _ in range(n): w(line)\nsys.stdout.flush()"
)


def _bare() -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-c", CHILD], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )


def bare_latencies(repeats: int) -> dict[str, list[float]]:
    spawn, crash, shutdown = [], [], []
    for index in range(repeats):
        started = time.perf_counter()
        child = _bare()
        assert child.stdout is not None
        assert child.stdin is not None
        child.stdout.readline()
        spawn.append(time.perf_counter() - started)
        started = time.perf_counter()
        if index % 2 == 0:
            os.kill(child.pid, signal.SIGKILL)
            child.wait(BOUND)
            crash.append(time.perf_counter() - started)
        else:
            child.stdin.close()
            child.wait(BOUND)
            shutdown.append(time.perf_counter() - started)
        child.stdout.close()
        if not child.stdin.closed:
            child.stdin.close()
    return {"spawn": spawn, "crash": crash, "shutdown": shutdown}


def bare_events_per_s(count: int) -> float:
    line = json.dumps(event_to_json(ChunkGenerated(TaskId("c"), TextChunk(" the", 42))))
    child = subprocess.Popen(
        [sys.executable, "-c", WRITER, line, str(count)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    assert child.stdin is not None
    assert child.stdout is not None
    child.stdout.readline()  # started: time only the stream
    started = time.perf_counter()
    child.stdin.write(b"go\n")
    child.stdin.flush()
    for _ in range(count):
        json.loads(child.stdout.readline())
    elapsed = time.perf_counter() - started
    child.stdin.close()
    child.stdout.close()
    child.wait(BOUND)
    return count / elapsed


def supervised_streams(repeats: int, tokens: int) -> tuple[list[float], list[float], int]:
    """events/s and tokens/s of ``repeats`` completions through one supervised runner."""
    events_s, tokens_s, seen = [], [], 0
    factory = EngineFactory(ENGINE, {"tokens": tokens})
    with RunnerSupervisor(group_context("stream"), factory) as supervisor:
        _ready(supervisor)
        events = supervisor.subscribe()
        for index in range(repeats):
            task_id = TaskId(f"c{index}")
            started = time.perf_counter()
            supervisor.submit(chat(task_id))
            seen = 0
            while (event := events.get(BOUND)) is not None:
                seen += 1
                if (
                    isinstance(event, ChunkGenerated)
                    and event.task_id == task_id
                    and getattr(event.chunk, "finish_reason", None)
                ):
                    break
            supervisor.wait_task(task_id, BOUND)
            elapsed = time.perf_counter() - started
            events_s.append(seen / elapsed)
            tokens_s.append(tokens / elapsed)
    return events_s, tokens_s, seen


def in_process_streams(repeats: int, tokens: int) -> list[float]:
    received: list[Event] = []
    runner = Runner(group_context("inproc"), ScriptedEngine(tokens=tokens), received.append)
    for name in ("connect", "load", "warmup"):
        runner.handle(MAKE[name](name))
    out = []
    for index in range(repeats):
        received.clear()
        started = time.perf_counter()
        runner.handle(chat(f"c{index}"))
        out.append(tokens / (time.perf_counter() - started))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=6, help="spawns (at least 2)")
    parser.add_argument("--streams", type=int, default=5, help="completions to time")
    parser.add_argument("--tokens", type=int, default=5000)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    repeats = max(2, args.repeats)
    supervised = bench(repeats, 10)
    bare = bare_latencies(repeats)
    events_s, tokens_s, events_per_stream = supervised_streams(args.streams, args.tokens)
    raw_events_s = [bare_events_per_s(events_per_stream) for _ in range(args.streams)]
    local_tokens_s = in_process_streams(args.streams, args.tokens)

    def latency(
        key: str, label: str, base: str, targets: dict[str, dict[str, Any]] | None = None
    ) -> list[Metric]:
        bare_key = key.split("_", 1)[0]
        measured: Any = supervised[key]
        return link(
            [
                metric(label, "ms", measured["samples_ms"]),
                metric(base, "ms", [s * 1000 for s in bare[bare_key]]),
            ],
            base,
            targets=targets,
        )

    spawned: Any = supervised["spawn_to_idle"]
    first: Any = supervised["first_task_after_idle"]
    bare_spawn = [s * 1000 for s in bare["spawn"]]
    metrics = [
        *link(
            [
                metric("spawn to RunnerIdle", "ms", spawned["samples_ms"]),
                metric(
                    "spawn to first task done",
                    "ms",
                    [
                        a + b
                        for a, b in zip(spawned["samples_ms"], first["samples_ms"], strict=True)
                    ],
                    note="RunnerIdle, then a ConnectToGroup: what start-up left for later",
                ),
                metric("bare child: spawn to first line", "ms", bare_spawn),
            ],
            "bare child: spawn to first line",
            targets={"spawn to RunnerIdle": target("<=", SPAWN_TARGET_MS, absolute=True)},
        ),
        *latency(
            "crash_to_runner_failed",
            "crash (SIGKILL) to RunnerFailed",
            "bare child: SIGKILL to reaped",
        ),
        *latency("shutdown", "shutdown (close())", "bare child: stdin closed to reaped"),
        *link(
            [
                metric("events/s through the supervisor", "events/s", events_s, better="higher"),
                metric("bare pipe: JSON lines/s", "events/s", raw_events_s, better="higher"),
            ],
            "bare pipe: JSON lines/s",
            targets={"events/s through the supervisor": target(">=", 0.5)},
        ),
        *link(
            [
                metric("tokens/s supervised", "tok/s", tokens_s, better="higher"),
                metric("tokens/s in-process", "tok/s", local_tokens_s, better="higher"),
            ],
            "tokens/s in-process",
        ),
    ]
    write(
        args.out,
        result(
            "supervisor",
            "Supervisor: process lifecycle and channel throughput (scripted engine)",
            metrics,
            details={
                "first_task_after_idle_ms": first,
                "repeats": repeats,
                "streams": args.streams,
                "tokens_per_stream": args.tokens,
                "events_per_stream": events_per_stream,
                "engine": "tests.supervisor.engines:ScriptedEngine",
            },
            notes=[
                "spawn to RunnerIdle includes starting a fresh interpreter on the runner's entry "
                "point (exo_spec.supervisor.spawn), which imports the runtime but not the "
                "parent's main module; the bare child imports nothing. Its target is absolute (the median, in ms); the first task after "
                "RunnerIdle is reported beside it, so that start-up cost moved past Idle shows.",
                "crash and shutdown alternate between repetitions, so each has half the samples.",
            ],
        ),
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
