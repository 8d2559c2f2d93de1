"""Nanoseconds per ChatCompletion dispatch (ready -> running -> ready), five ways.

Every variant delivers the same five events to the same no-op sink and calls the same no-op
action: TaskStatusUpdated(Running), RunnerStatusUpdated(running), TaskAcknowledged, the action,
TaskStatusUpdated(Complete), RunnerStatusUpdated(ready).

* ``generated``: the generated ``RunnerMachine.dispatch``;
* ``match``: a hand-written exo-style runner (``match`` on state, then on task);
* ``dict``: a dict table ``(state, task) -> handler``;
* ``transitions``: the same machine built naively with plain ``transitions.Machine``;
* ``floor``: one function making the same six calls (what any runner must at least do).

    python tools/bench/bench_dispatch.py [--number N] [--repeat R] [--out FILE.json] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import json
import platform
import pstats
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import transitions

from exo_spec.generated.runner_machine import (
    ActionOutcome,
    RunnerMachine,
    RunnerState,
    RunnerTask,
    TaskStatusName,
)
from exo_spec.model import CANCELLED

TASK = object()


class Sink:
    """No-op guards, actions and event sink: the bindings every variant uses."""

    def has_group(self) -> bool:
        return False

    def weights_present(self) -> bool:
        return True

    def task_status(self, task: object, status: TaskStatusName, message: str | None) -> None:
        pass

    def runner_status(self, state: RunnerState, message: str | None) -> None:
        pass

    def acknowledged(self, task: object) -> None:
        pass

    def download(self, task: object) -> ActionOutcome:  # the generated Actions protocol's signature  # noqa: ARG002
        return None

    def connect(self, task: object) -> ActionOutcome:  # the generated Actions protocol's signature  # noqa: ARG002
        return None

    def load(self, task: object) -> ActionOutcome:  # the generated Actions protocol's signature  # noqa: ARG002
        return None

    def warmup(self, task: object) -> ActionOutcome:  # the generated Actions protocol's signature  # noqa: ARG002
        return None

    def generate(self, task: object) -> ActionOutcome:  # the generated Actions protocol's signature  # noqa: ARG002
        return None

    def cancel(self, task: object) -> ActionOutcome:  # the generated Actions protocol's signature  # noqa: ARG002
        return None

    def shutdown(self, task: object) -> ActionOutcome:  # the generated Actions protocol's signature  # noqa: ARG002
        return None


class MatchRunner:
    """What a careful person writes by hand: ``match`` on the state, then on the task."""

    def __init__(self, sink: Sink) -> None:
        self.sink = sink
        self.state = RunnerState.ready

    def dispatch(self, name: RunnerTask, task: object) -> RunnerState:
        sink = self.sink
        match self.state:
            case RunnerState.idle | RunnerState.connected | RunnerState.loaded:
                raise NotImplementedError
            case RunnerState.failed | RunnerState.shutdown:
                raise NotImplementedError
            case RunnerState.ready:
                match name:
                    case RunnerTask.ChatCompletion:
                        sink.task_status(task, "Running", None)
                        self.state = RunnerState.running
                        sink.runner_status(RunnerState.running, None)
                        sink.acknowledged(task)
                        try:
                            result = sink.generate(task)
                        except Exception as exc:
                            message = str(exc) or type(exc).__name__
                            sink.task_status(task, "Failed", message)
                            self.state = RunnerState.failed
                            sink.runner_status(RunnerState.failed, message)
                            return self.state
                        if result is CANCELLED:
                            sink.task_status(task, "Cancelled", None)
                        else:
                            sink.task_status(task, "Complete", None)
                        self.state = RunnerState.ready
                        sink.runner_status(RunnerState.ready, None)
                        return self.state
                    case _:
                        raise NotImplementedError
            case _:
                raise NotImplementedError


class DictRunner:
    """A dict table ``(state, task) -> handler``."""

    def __init__(self, sink: Sink) -> None:
        self.sink = sink
        self.state = RunnerState.ready
        self.table: dict[tuple[RunnerState, RunnerTask], Callable[[object], RunnerState]] = {
            (RunnerState.ready, RunnerTask.ChatCompletion): self._chat,
        }

    def dispatch(self, name: RunnerTask, task: object) -> RunnerState:
        return self.table[self.state, name](task)

    def _chat(self, task: object) -> RunnerState:
        sink = self.sink
        sink.task_status(task, "Running", None)
        self.state = RunnerState.running
        sink.runner_status(RunnerState.running, None)
        sink.acknowledged(task)
        try:
            result = sink.generate(task)
        except Exception as exc:
            message = str(exc) or type(exc).__name__
            sink.task_status(task, "Failed", message)
            self.state = RunnerState.failed
            sink.runner_status(RunnerState.failed, message)
            return self.state
        sink.task_status(task, "Cancelled" if result is CANCELLED else "Complete", None)
        self.state = RunnerState.ready
        sink.runner_status(RunnerState.ready, None)
        return self.state


class NaiveTransitionsRunner:
    """The same machine written the obvious way with plain ``transitions``."""

    def __init__(self, sink: Sink) -> None:
        self.sink = sink
        self.machine = transitions.Machine(
            model=self,
            states=[s.value for s in RunnerState],
            initial="ready",
            auto_transitions=False,
            send_event=True,
        )
        for state in ("running", "ready", "failed"):
            self.machine.get_state(state).add_callback("enter", "announce")
        self.machine.add_transition(
            "ChatCompletion", "ready", "running", before="accepted", after="run_generate"
        )
        self.machine.add_transition("generate_done", "running", "ready", before="completed")
        self.machine.add_transition("generate_failed", "running", "failed", before="failed")

    def announce(self, event: transitions.core.EventData) -> None:
        self.sink.runner_status(RunnerState(self.state), event.kwargs.get("message"))  # type: ignore[attr-defined]

    def accepted(self, event: transitions.core.EventData) -> None:
        self.sink.task_status(event.args[0], "Running", None)  # type: ignore[index]

    def run_generate(self, event: transitions.core.EventData) -> None:
        task = event.args[0]  # type: ignore[index]
        self.sink.acknowledged(task)
        try:
            self.sink.generate(task)
        except Exception as exc:
            self.generate_failed(task, message=str(exc))  # type: ignore[attr-defined]
            return
        self.generate_done(task)  # type: ignore[attr-defined]

    def completed(self, event: transitions.core.EventData) -> None:
        self.sink.task_status(event.args[0], "Complete", None)  # type: ignore[index]

    def failed(self, event: transitions.core.EventData) -> None:
        self.sink.task_status(event.args[0], "Failed", event.kwargs.get("message"))  # type: ignore[index]

    def dispatch(self, name: RunnerTask, task: object) -> RunnerState:
        getattr(self, name.value)(task)
        return RunnerState(self.state)  # type: ignore[attr-defined]


def floor(sink: Sink, task: object) -> None:
    sink.task_status(task, "Running", None)
    sink.runner_status(RunnerState.running, None)
    sink.acknowledged(task)
    sink.generate(task)
    sink.task_status(task, "Complete", None)
    sink.runner_status(RunnerState.ready, None)


def variants() -> dict[str, Callable[[], object]]:
    sink = Sink()
    generated = RunnerMachine(sink, initial=RunnerState.ready, emit_initial=False)
    match_runner = MatchRunner(sink)
    dict_runner = DictRunner(sink)
    naive = NaiveTransitionsRunner(sink)
    chat = RunnerTask.ChatCompletion
    return {
        "generated": lambda: generated.dispatch(chat, TASK),
        "match": lambda: match_runner.dispatch(chat, TASK),
        "dict": lambda: dict_runner.dispatch(chat, TASK),
        "transitions": lambda: naive.dispatch(chat, TASK),
        "floor": lambda: floor(sink, TASK),
    }


def measure(fn: Callable[[], object], number: int, repeat: int) -> list[float]:
    """ns per call for each repetition (the loop and lambda overhead are included for all)."""
    out: list[float] = []
    for _ in range(repeat):
        gc.disable()
        start = time.perf_counter_ns()
        for _ in range(number):
            fn()
        elapsed = time.perf_counter_ns() - start
        gc.enable()
        out.append(elapsed / number)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--number", type=int, default=100_000, help="dispatches per repetition")
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--out", type=Path, help="write the results as JSON here")
    parser.add_argument("--profile", action="store_true", help="cProfile the generated dispatch")
    args = parser.parse_args(argv)
    runs = variants()
    if args.profile:
        profiler = cProfile.Profile()
        fn = runs["generated"]
        profiler.enable()
        for _ in range(args.number):
            fn()
        profiler.disable()
        pstats.Stats(profiler, stream=sys.stdout).sort_stats("tottime").print_stats(12)
        return 0
    results: dict[str, dict[str, float]] = {}
    for name, fn in runs.items():
        number = args.number // 10 if name == "transitions" else args.number
        samples = measure(fn, number, args.repeat)
        results[name] = {
            "min_ns": min(samples),
            "median_ns": statistics.median(samples),
            "max_ns": max(samples),
        }
        print(
            f"{name:12s} min {min(samples):8.1f} ns   median {statistics.median(samples):8.1f} ns"
        )
    ratio = results["generated"]["median_ns"] / results["match"]["median_ns"]
    ratio_min = results["generated"]["min_ns"] / results["match"]["min_ns"]
    print(f"generated / match: {ratio:.2f} (median), {ratio_min:.2f} (min)")
    if args.out is not None:
        report = {
            "benchmark": "ChatCompletion dispatch, ready -> running -> ready, no-op sink",
            "python": platform.python_version(),
            "machine": platform.machine(),
            "number": args.number,
            "repeat": args.repeat,
            "results": results,
            "ratio_generated_over_match": {"median": ratio, "min": ratio_min},
        }
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
