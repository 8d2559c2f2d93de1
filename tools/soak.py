"""Soak: N ChatCompletion tasks through one supervised runner, with random cancels and illegal
tasks mixed in. Checks that every task ends with exactly one final status and reports the
resident memory of both processes at the start and the end.

    python tools/soak.py --tasks 10000 --out soak.json            # scripted engine
    python tools/soak.py --mlx --tasks 10000 --out soak-mlx.json  # the real MLX engine, tiny model
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.supervisor.cells import chat, group_context  # noqa: E402
from tests.supervisor.engines import ENGINE  # noqa: E402

from exo_spec.runtime.engine_protocol import ChatMessage, ChatRequest, ModelRef  # noqa: E402
from exo_spec.runtime.wire import (  # noqa: E402
    BoundInstance,
    CancelTask,
    ChatCompletion,
    ConnectToGroup,
    Event,
    InstanceId,
    LoadModel,
    RunnerContext,
    RunnerId,
    StartWarmup,
    Task,
    TaskId,
    TaskStatusUpdated,
)
from exo_spec.supervisor import DEFAULT_ENGINE, EngineFactory, RunnerSupervisor  # noqa: E402

FINAL = {"Complete", "Failed", "Cancelled"}


def _mlx_context(runner_id: str) -> RunnerContext:
    """A single-node runner of the embedded model (already on disk: no download)."""
    from exo_spec.engine.mlx_engine import EMBEDDED_MODEL_DIR, EMBEDDED_MODEL_REPO_ID

    instance = BoundInstance(InstanceId("soak"), ModelRef(EMBEDDED_MODEL_REPO_ID))
    return RunnerContext(
        RunnerId(runner_id), instance, EMBEDDED_MODEL_DIR.parent, EMBEDDED_MODEL_DIR
    )


def _mlx_chat(tokens: int) -> Callable[[str], ChatCompletion]:
    def make(task_id: str) -> ChatCompletion:
        request = ChatRequest((ChatMessage("user", "And God said,"),), max_tokens=tokens)
        return ChatCompletion(TaskId(task_id), request)

    return make


def soak(
    tasks: int,
    seed: int,
    window: int,
    factory: EngineFactory,
    *,
    mlx: bool = False,
    tokens: int = 4,
) -> dict[str, object]:
    rng = random.Random(seed)
    finals: Counter[str] = Counter()
    by_status: Counter[str] = Counter()
    slots = threading.Semaphore(window)
    lock = threading.Lock()

    def on_event(event: Event) -> None:
        if isinstance(event, TaskStatusUpdated) and event.task_status in FINAL:
            with lock:
                finals[event.task_id] += 1
                by_status[event.task_status] += 1
            slots.release()

    context = _mlx_context("soak") if mlx else group_context("soak")
    make_chat = _mlx_chat(tokens) if mlx else chat
    setup: list[Task] = [LoadModel(TaskId("l")), StartWarmup(TaskId("w"))]
    if not mlx:
        setup.insert(0, ConnectToGroup(TaskId("c")))
    supervisor = RunnerSupervisor(context, factory)
    supervisor.on_event(on_event)
    submitted: list[TaskId] = []

    def submit(task: Task) -> None:
        slots.acquire()
        submitted.append(supervisor.submit(task))

    with supervisor:
        supervisor.wait_status("RunnerIdle", 60)
        for task in setup:
            submit(task)
            supervisor.wait_task(task.task_id, 600)
        start = supervisor.health()
        started = time.monotonic()
        kinds: Counter[str] = Counter()
        for index in range(tasks):
            task_id = f"chat-{index}"
            submit(make_chat(task_id))
            kinds["ChatCompletion"] += 1
            roll = rng.random()
            if roll < 0.05:
                submit(CancelTask(TaskId(f"cancel-{index}"), TaskId(task_id)))
                kinds["CancelTask"] += 1
            elif roll < 0.08:
                submit(LoadModel(TaskId(f"illegal-{index}")))  # not allowed in ready/running
                kinds["illegal LoadModel"] += 1
        for _ in range(window):  # every slot back: every task has its final status
            if not slots.acquire(timeout=600):
                raise TimeoutError("tasks still unfinished after 600 s")
        elapsed = time.monotonic() - started
        end = supervisor.health()
    lost = [t for t in submitted if finals[t] == 0]
    doubled = [t for t in submitted if finals[t] > 1]
    unknown = sorted(set(finals) - set(submitted))
    return {
        "engine": "mlx (tiny-kjv)" if mlx else "scripted",
        "chat_tasks": tasks,
        "tasks_submitted": len(submitted),
        "kinds": dict(kinds),
        "final_statuses": dict(by_status),
        "lost": len(lost),
        "more_than_one_final": len(doubled),
        "finals_for_unsubmitted_tasks": unknown,
        "seconds": round(elapsed, 2),
        "tasks_per_s": round(len(submitted) / elapsed, 1),
        "supervisor_rss_mb": [_mb(start["supervisor_rss_bytes"]), _mb(end["supervisor_rss_bytes"])],
        "runner_rss_mb": [_mb(start["runner_rss_bytes"]), _mb(end["runner_rss_bytes"])],
    }


def _mb(value: object) -> float | None:
    return round(value / 2**20, 1) if isinstance(value, int) else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--window", type=int, default=64, help="tasks outstanding at once")
    parser.add_argument("--tokens", type=int, default=4, help="tokens per scripted completion")
    parser.add_argument("--mlx", action="store_true", help="the real MLX engine on tiny-kjv")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    if args.mlx:
        factory = EngineFactory(DEFAULT_ENGINE, {})
    else:
        factory = EngineFactory(ENGINE, {"tokens": args.tokens})
    result = soak(args.tasks, args.seed, args.window, factory, mlx=args.mlx, tokens=args.tokens)
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")
    return 0 if result["lost"] == 0 and result["more_than_one_final"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
