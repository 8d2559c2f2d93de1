"""Streaming overhead on the embedded tiny model: raw ``mlx_lm.stream_generate`` against the
engine, the in-process runner and the supervised subprocess runner.

    .venv/bin/python tools/bench/bench_stream.py [--max-tokens 128] [--repeat 10] [--out F.json]

The sides generate the same number of tokens from the same chat-templated prompt, greedy, with
EOS ignored, interleaved repetition by repetition (the order reversed every other repetition).
In each repetition every side serves two requests in a row: the second, which follows a request
of its own (as on a runner that is serving), gives the figures with targets; the first, which
follows another side's request, gives the TTFT rows *after another side*. The two differ for the
supervised side: right after an in-process side this process's own MLX threads are still busy
on the two cores while the runner process starts its prefill, which no supervisor process does
in service (it never runs MLX itself).

* ``stream_generate``: ``mlx_lm.stream_generate`` called directly on the prompt's token ids
  (the baseline);
* ``stream_generate from the chat``: the same, with the chat template and the tokenisation that
  a served request needs inside the timer (what the other sides do before their first token);
* ``MlxEngine.generate``: our engine, no runner;
* ``Runner (in-process)``: ``Runner.handle(ChatCompletion)`` over ``MlxEngine(ignore_eos=True)``,
  timed from the call to the final ``ChunkGenerated`` event;
* ``RunnerSupervisor``: the runner in its spawned process with the default MLX engine factory,
  timed from ``submit`` to the final chunk received by a subscriber;
* ``process-boundary floor``: the in-process runner, each event encoded as the runner process
  encodes it and written to a socket read by a second process that does nothing else (one
  ``recv`` per message), timed as the in-process runner: what crossing a process boundary once
  per token costs the generating process, with no supervisor at all. The supervised side cannot
  do better than this on the same machine.

Reported per side: tokens/s over the whole request (prompt included) and time to first token.
"""

from __future__ import annotations

import argparse
import itertools
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, NamedTuple

import mlx.core as mx
from benchkit import link, metric, result, target, write
from mlx_lm import load, stream_generate
from mlx_lm.sample_utils import make_sampler

from exo_spec.engine.mlx_engine import EMBEDDED_MODEL_DIR, EMBEDDED_MODEL_REPO_ID, MlxEngine
from exo_spec.runtime.engine_protocol import ChatMessage, ChatRequest, ModelRef
from exo_spec.runtime.runner import Runner
from exo_spec.runtime.wire import (
    BoundInstance,
    ChatCompletion,
    ChunkGenerated,
    Event,
    InstanceId,
    LoadModel,
    RunnerContext,
    RunnerId,
    StartWarmup,
    TaskId,
)
from exo_spec.supervisor import DEFAULT_ENGINE, EngineFactory, RunnerSupervisor
from exo_spec.supervisor.codec import encode_event

PROMPT = "And God said"
BOUND = 120.0
RAW, RAW_CHAT, ENGINE, RUNNER, SUPERVISED, FLOOR = (
    "stream_generate",
    "stream_generate from the chat",
    "MlxEngine.generate",
    "Runner (in-process)",
    "RunnerSupervisor (subprocess)",
    "process-boundary floor",
)
AFTER_OTHER = "after another side"
READER = (
    "import sys\n"
    "from multiprocessing.connection import Connection\n"
    "conn = Connection(int(sys.argv[1]))\n"
    "try:\n"
    "    while True:\n"
    "        conn.recv_bytes()\n"
    "except EOFError:\n"
    "    pass\n"
)
"""The floor's reader process: takes every message, one ``recv`` each, and does nothing else."""


class Run(NamedTuple):
    tokens: int
    first_s: float
    total_s: float
    gaps: list[float]


def _run(t0: float, stamps: list[float]) -> Run:
    gaps = [b - a for a, b in itertools.pairwise(stamps)]
    first = stamps[0] - t0 if stamps else float("nan")
    total = stamps[-1] - t0 if stamps else float("nan")
    return Run(len(stamps), first, total, gaps)


def _drain(start: Callable[[], Iterable[object]]) -> Run:
    """Time ``start()`` and the stream it returns, from before the call (what the call does
    before its first token, such as a chat template, is in the time to first token)."""
    t0 = time.perf_counter()
    stamps = [time.perf_counter() for _ in start()]
    return _run(t0, stamps)


def _context(runner_id: str) -> RunnerContext:
    instance = BoundInstance(InstanceId("bench"), ModelRef(EMBEDDED_MODEL_REPO_ID))
    return RunnerContext(
        RunnerId(runner_id), instance, EMBEDDED_MODEL_DIR.parent, EMBEDDED_MODEL_DIR
    )


class InProcess:
    """The runner in this process; chunk arrival times recorded by its emit callback."""

    def __init__(self) -> None:
        self.stamps: list[float] = []
        self.runner = Runner(_context("bench-inproc"), MlxEngine(ignore_eos=True), self._emit)
        self.runner.handle(LoadModel(TaskId("load")))
        self.runner.handle(StartWarmup(TaskId("warmup")))
        self.count = 0

    def _emit(self, event: Event) -> None:
        if isinstance(event, ChunkGenerated):
            self.stamps.append(time.perf_counter())

    def __call__(self, request: ChatRequest) -> Run:
        self.count += 1
        self.stamps = []
        t0 = time.perf_counter()
        self.runner.handle(ChatCompletion(TaskId(f"c{self.count}"), request))
        return _run(t0, self.stamps)


class Floor(InProcess):
    """The in-process runner, every event also written to a reader process (module doc)."""

    def __init__(self) -> None:
        ours, theirs = socket.socketpair()
        self.reader = subprocess.Popen(
            [sys.executable, "-c", READER, str(theirs.fileno())], pass_fds=(theirs.fileno(),)
        )
        theirs.close()
        self.conn = Connection(ours.detach())
        super().__init__()

    def _emit(self, event: Event) -> None:
        self.conn.send_bytes(encode_event(event))
        super()._emit(event)

    def close(self) -> None:
        self.conn.close()  # the reader's recv ends: it exits
        self.reader.wait(BOUND)


class Supervised:
    """The runner in a spawned process; chunk arrival times seen by a subscriber."""

    def __init__(self) -> None:
        factory = EngineFactory(DEFAULT_ENGINE, {"ignore_eos": True})
        self.supervisor = RunnerSupervisor(_context("bench-sup"), factory).start()
        self.supervisor.wait_status("RunnerIdle", BOUND)
        for task in (LoadModel(TaskId("load")), StartWarmup(TaskId("warmup"))):
            status = self.supervisor.wait_task(self.supervisor.submit(task), BOUND)
            if status != "Complete":
                raise RuntimeError(f"supervised {type(task).__name__} ended {status}")
        self.events = self.supervisor.subscribe()
        self.count = 0

    def __call__(self, request: ChatRequest) -> Run:
        self.count += 1
        task_id = TaskId(f"c{self.count}")
        stamps: list[float] = []
        t0 = time.perf_counter()
        self.supervisor.submit(ChatCompletion(task_id, request))
        while (event := self.events.get(BOUND)) is not None:
            if isinstance(event, ChunkGenerated) and event.task_id == task_id:
                stamps.append(time.perf_counter())
                if getattr(event.chunk, "finish_reason", None):
                    break
        self.supervisor.wait_task(task_id, BOUND)
        return _run(t0, stamps)

    def close(self) -> None:
        self.supervisor.close()


def bench(max_tokens: int, repeat: int) -> dict[str, Any]:
    loaded = load(str(EMBEDDED_MODEL_DIR))
    model, tokenizer = loaded[0], loaded[1]
    tokenizer.eos_token_ids = set()

    def templated() -> list[int]:
        """The prompt's token ids: the chat template applied and tokenised."""
        ids: list[int] = tokenizer.apply_chat_template(  # type: ignore[no-untyped-call]
            [{"role": "user", "content": PROMPT}], add_generation_prompt=True
        )
        return ids

    prompt = templated()
    request = ChatRequest((ChatMessage("user", PROMPT),), max_tokens=max_tokens, temperature=0.0)
    sampler = make_sampler(temp=0.0)
    engine = MlxEngine(ignore_eos=True)
    for _ in engine.load(EMBEDDED_MODEL_DIR):
        pass

    def never() -> bool:
        return False

    in_process = InProcess()
    supervised = Supervised()
    floor = Floor()
    sides: dict[str, Callable[[], Run]] = {
        RAW: lambda: _drain(
            lambda: stream_generate(model, tokenizer, prompt, max_tokens, sampler=sampler)
        ),
        RAW_CHAT: lambda: _drain(
            lambda: stream_generate(model, tokenizer, templated(), max_tokens, sampler=sampler)
        ),
        ENGINE: lambda: _drain(lambda: engine.generate(request, never)),
        RUNNER: lambda: in_process(request),
        SUPERVISED: lambda: supervised(request),
        FLOOR: lambda: floor(request),
    }
    runs: dict[str, list[Run]] = {name: [] for name in sides}
    after_other: dict[str, list[Run]] = {name: [] for name in sides}
    try:
        for fn in sides.values():  # warm-up: kernels, caches, the pipe
            fn()
        order = list(sides.items())
        for i in range(repeat):
            for name, fn in order if i % 2 == 0 else order[::-1]:
                for kept in (after_other, runs):  # after another side's request, then its own
                    mx.clear_cache()
                    kept[name].append(fn())
    finally:
        supervised.close()
        floor.close()
        engine.close()
    return {
        "prompt_tokens": len(prompt),
        "runs": runs,
        "after_other": after_other,
        "device": str(mx.default_device()),
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--max-tokens", type=int, default=128)
    p.add_argument("--repeat", type=int, default=10)
    p.add_argument("--out", type=Path, default=None, help="write the results as JSON here")
    args = p.parse_args(argv)
    measured = bench(args.max_tokens, args.repeat)
    runs: dict[str, list[Run]] = measured["runs"]
    tok_s, ttft, details = [], [], {}
    for name, samples in runs.items():
        tok_s.append(
            metric(
                f"{name} tok/s", "tok/s", [r.tokens / r.total_s for r in samples], better="higher"
            )
        )
        ttft.append(metric(f"{name} TTFT", "ms", [r.first_s * 1000 for r in samples]))
        gaps = [g for r in samples for g in r.gaps]
        details[name] = {
            "tokens": sorted({r.tokens for r in samples}),
            "decode_tok_s_from_median_gap": 1.0 / statistics.median(gaps) if gaps else None,
        }
    link(
        tok_s,
        f"{RAW} tok/s",
        targets={f"{RUNNER} tok/s": target(">=", 0.98), f"{SUPERVISED} tok/s": target(">=", 0.99)},
    )
    link(ttft, f"{RAW} TTFT", targets={f"{SUPERVISED} TTFT": target("<=", 1.05)})
    cold = [
        metric(f"{name} TTFT {AFTER_OTHER}", "ms", [r.first_s * 1000 for r in samples])
        for name, samples in measured["after_other"].items()
    ]
    link(cold, f"{RAW} TTFT {AFTER_OTHER}")
    write(
        args.out,
        result(
            "stream",
            "Streaming a completion from the embedded tiny model (tiny-kjv)",
            tok_s + ttft + cold,
            details={
                "max_tokens": args.max_tokens,
                "prompt_tokens": measured["prompt_tokens"],
                "repeat": args.repeat,
                "device": measured["device"],
                "sides": details,
            },
            notes=[
                f"{args.max_tokens} tokens from a {measured['prompt_tokens']}-token prompt, "
                f"greedy, EOS ignored, {args.repeat} interleaved repetitions per side on "
                f"{measured['device']}, two requests per side in each; tok/s counts the whole "
                "request, prompt included.",
                f"The rows with targets time each side's request that follows one of its own; "
                f"the TTFT rows {AFTER_OTHER} time the one before it, which follows another "
                "side's request (for the supervised side: while this process's MLX threads may "
                "still be busy from an in-process side).",
                f"{FLOOR}: the in-process runner whose every event is also encoded and written "
                "to a reader process that does nothing but read it; the gap between it and the "
                "in-process runner is what one process crossing per token costs the generating "
                "process on this machine, the gap between it and the supervised side what the "
                "supervisor adds.",
            ],
        ),
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
