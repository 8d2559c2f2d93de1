"""``exo-spec demo``: a whole runner lifecycle on the embedded tiny model, offline.

Starts the local hub on 127.0.0.1 serving the embedded model, then drives one runner (the
generated machine bound to the real MLX engine) through DownloadModel, LoadModel, StartWarmup,
a few streamed ChatCompletions, an illegal task (rejected, state unchanged), an engine error
(the task fails, the runner keeps serving and recovers) and Shutdown, printing every event.

On a terminal the download shows as a tqdm progress bar (tqdm comes with huggingface_hub, in
the ``mlx`` extra); when stdout or stderr is not a terminal every event is a plain line.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TextIO

from exo_spec.commands.common import ExitCode
from exo_spec.extras import require
from exo_spec.runtime.trace import describe_event
from exo_spec.runtime.wire import (
    ChatCompletion,
    ChunkGenerated,
    DownloadProgressed,
    Event,
    Task,
    TextChunk,
    event_to_json,
)

__all__ = ["add_arguments", "demo_tasks", "run"]

PROMPTS = (
    "And God said,",
    "The LORD is my shepherd;",
    "Blessed are the meek:",
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print one JSON event per line")
    parser.add_argument(
        "--models-dir", type=Path, help="where to download the model (default: a fresh temp dir)"
    )
    parser.add_argument("--max-tokens", type=int, default=40, help="tokens per completion")


def demo_tasks(repo_id: str, max_tokens: int) -> list[object]:
    """The demo's task list: a lifecycle, a rejection, a failure and the recovery from it."""
    from exo_spec.runtime.engine_protocol import ChatMessage, ChatRequest, ModelRef
    from exo_spec.runtime.wire import (
        ChatCompletion,
        DownloadModel,
        LoadModel,
        Shutdown,
        StartWarmup,
        TaskId,
    )

    def chat(n: int, prompt: str) -> ChatCompletion:
        request = ChatRequest((ChatMessage("user", prompt),), max_tokens=max_tokens, seed=n)
        return ChatCompletion(TaskId(f"chat-{n}"), request)

    model = ModelRef(repo_id)
    tasks: list[object] = [
        DownloadModel(TaskId("download"), model),
        LoadModel(TaskId("load")),
        StartWarmup(TaskId("warmup")),
        *(chat(n, prompt) for n, prompt in enumerate(PROMPTS, start=1)),
        LoadModel(TaskId("load-again")),  # illegal in ready: rejected, state unchanged
        # prompt and max_tokens over the model's context: the engine refuses, the task
        # fails, the runner reports Failed
        ChatCompletion(
            TaskId("chat-bad"), ChatRequest((ChatMessage("user", "Amen"),), max_tokens=1024)
        ),
        DownloadModel(TaskId("recover"), model),  # failed -> idle: the runner keeps serving
        LoadModel(TaskId("reload")),
        StartWarmup(TaskId("rewarm")),
        chat(4, "In the beginning"),
        Shutdown(TaskId("shutdown")),
    ]
    return tasks


class _DownloadBar:
    """A tqdm bar (on stderr) for one download's ``DownloadProgressed`` events."""

    def __init__(self, err: TextIO, mininterval: float = 0.1) -> None:
        self.err = err
        self.mininterval = mininterval  # tqdm's: the least time between two redraws
        self.bar: Any = None

    def update(self, event: DownloadProgressed) -> None:
        from tqdm import tqdm

        p = event.progress
        if self.bar is None:
            self.bar = tqdm(
                total=p.total_bytes,
                unit="B",
                unit_scale=True,
                unit_divisor=1024,
                desc=f"    {event.task_id}",
                file=self.err,
                leave=False,
                mininterval=self.mininterval,
            )
        self.bar.total = p.total_bytes
        self.bar.set_postfix_str(f"{p.files_done}/{p.total_files} files", refresh=False)
        self.bar.update(p.downloaded_bytes - self.bar.n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def wants_bar(out: TextIO, err: TextIO) -> bool:
    """A progress bar only when both streams are terminals; plain lines otherwise."""
    return out.isatty() and err.isatty()


class _Printer:
    """Prints events as they happen; chunks stream inline; a download is a bar on a terminal
    (its last progress event is still printed as a line)."""

    def __init__(self, out: TextIO, as_json: bool, bar: _DownloadBar | None = None) -> None:
        self.out = out
        self.as_json = as_json
        self.bar = bar
        self.streaming = False
        self.events = 0

    def __call__(self, event: Event) -> None:
        self.events += 1
        if self.as_json:
            self.out.write(json.dumps(event_to_json(event)) + "\n")
            self.out.flush()
            return
        if self.bar is not None:
            if isinstance(event, DownloadProgressed):
                progress = event.progress
                if progress.files_done < progress.total_files:
                    self.bar.update(event)
                    return
            self.bar.close()
        if isinstance(event, ChunkGenerated) and isinstance(event.chunk, TextChunk):
            if not self.streaming:
                self.out.write(f"    \u2502 {event.task_id}: ")
                self.streaming = True
            self.out.write(event.chunk.text)
            if event.chunk.finish_reason:
                self.out.write(f"  [{event.chunk.finish_reason}]\n")
                self.streaming = False
            self.out.flush()
            return
        if self.streaming:
            self.out.write("\n")
            self.streaming = False
        self.out.write(f"  {describe_event(event)}\n")
        self.out.flush()


def _describe_task(task: Task) -> str:
    text = f"{type(task).__name__} ({task.task_id})"
    if isinstance(task, ChatCompletion) and task.request.messages:
        text += f": {task.request.messages[-1].content!r}"
    return text


@contextmanager
def _models_dir(chosen: Path | None) -> Iterator[Path]:
    if chosen is not None:
        yield chosen
        return
    with tempfile.TemporaryDirectory(prefix="exo-spec-demo-") as tmp:
        yield Path(tmp)


def run(args: argparse.Namespace) -> int:
    require("exo-spec demo", "mlx")
    from exo_spec.engine.download import model_dir_for
    from exo_spec.engine.mlx_engine import EMBEDDED_MODEL_DIR, EMBEDDED_MODEL_REPO_ID, MlxEngine
    from exo_spec.runtime.engine_protocol import ModelRef
    from exo_spec.runtime.runner import Runner
    from exo_spec.runtime.wire import BoundInstance, InstanceId, RunnerContext, RunnerId
    from exo_spec.testing.hub import serve_hub

    err = sys.stderr
    started = time.perf_counter()
    bar = _DownloadBar(err) if not args.json and wants_bar(sys.stdout, err) else None
    printer = _Printer(sys.stdout, args.json, bar)
    with (
        serve_hub({EMBEDDED_MODEL_REPO_ID: EMBEDDED_MODEL_DIR}) as hub,
        _models_dir(args.models_dir) as models,
    ):
        err.write(f"exo-spec demo: local hub at {hub.url}, models in {models}\n")
        context = RunnerContext(
            RunnerId("runner-1"),
            BoundInstance(InstanceId("instance-1"), ModelRef(EMBEDDED_MODEL_REPO_ID)),
            models,
            model_dir_for(models, EMBEDDED_MODEL_REPO_ID),
        )
        engine = MlxEngine(endpoint=hub.url)
        runner = Runner(context, engine, printer)
        tasks: list[Task] = demo_tasks(EMBEDDED_MODEL_REPO_ID, args.max_tokens)  # type: ignore[assignment]
        for task in tasks:
            if not args.json:
                sys.stdout.write(f"\u25b6 {_describe_task(task)}\n")
            runner.handle(task)
            if bar is not None:
                bar.close()
            if runner.finished:
                break
    elapsed = time.perf_counter() - started
    err.write(
        f"exo-spec demo: {len(tasks)} tasks, {printer.events} events, final state "
        f"{runner.state}, {elapsed:.1f} s\n"
    )
    return ExitCode.OK if runner.finished else ExitCode.FINDINGS
