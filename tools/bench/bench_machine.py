"""The generated machine: construction time against plain ``transitions``, and a cProfile
summary of where one ChatCompletion dispatch spends its time.

    .venv/bin/python tools/bench/bench_machine.py [--number 2000] [--repeat 7] [--out F.json]

Construction: ``RunnerMachine(bindings)`` against a plain ``transitions.Machine`` given the
same states and the same (trigger, source, dest) transitions, and against the hand-written
``match`` runner (which builds nothing). The profile runs ``--profile-number`` dispatches of
the generated machine (bench_dispatch's no-op sink) and groups own time by where the code
lives: the generated module, the ``transitions`` library, the sink, the rest.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import pstats
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import transitions
from bench_dispatch import MatchRunner, Sink, variants
from benchkit import link, metric, result, write

from exo_spec.generated.runner_machine import RunnerMachine, RunnerState

GENERATED = "generated RunnerMachine(bindings)"
PLAIN = "plain transitions.Machine, same transitions"
MATCH = "match runner (nothing to build)"


def _triples(machine: RunnerMachine) -> list[tuple[str, str, str]]:
    out: list[tuple[str, str, str]] = []
    for trigger, event in machine.events.items():
        for source, legs in event.transitions.items():
            out.extend((trigger, source, str(leg.dest)) for leg in legs)
    return out


class _Model:
    pass


def plain_machine(states: list[str], triples: list[tuple[str, str, str]]) -> object:
    model = _Model()
    machine = transitions.Machine(
        model=model, states=states, initial="idle", auto_transitions=False
    )
    for trigger, source, dest in triples:
        machine.add_transition(trigger, source, dest)
    return machine


def _time(fn: Callable[[], object], number: int, repeat: int) -> list[float]:
    out: list[float] = []
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter_ns()
        for _ in range(number):
            fn()
        out.append((time.perf_counter_ns() - start) / number / 1000)
    return out


def construction(number: int, repeat: int) -> list[dict[str, Any]]:
    sink = Sink()
    triples = _triples(RunnerMachine(sink))
    states = [s.value for s in RunnerState]
    fns: dict[str, Callable[[], object]] = {
        GENERATED: lambda: RunnerMachine(sink),
        PLAIN: lambda: plain_machine(states, triples),
        MATCH: lambda: MatchRunner(sink),
    }
    samples: dict[str, list[float]] = {name: [] for name in fns}
    for fn in fns.values():  # warm-up
        _time(fn, max(1, number // 10), 1)
    for i in range(repeat):
        for name, fn in fns.items() if i % 2 == 0 else list(fns.items())[::-1]:
            samples[name].extend(_time(fn, number, 1))
    metrics = [metric(name, "µs", values) for name, values in samples.items()]
    link(metrics, PLAIN)
    for m in metrics:
        if m["name"] == GENERATED:
            m["note"] = f"{len(triples)} transitions, {len(states)} states"
    return metrics


def _where(filename: str) -> str:
    if "exo_spec/generated/" in filename.replace("\\", "/"):
        return "generated machine"
    if filename.replace("\\", "/").endswith("exo_spec/machine.py"):
        return "shared base (machine.py)"
    if "/transitions/" in filename:
        return "transitions library"
    if filename.endswith("bench_dispatch.py"):
        return "no-op sink and benchmark loop"
    if filename == "~":
        return "builtins"
    return "other"


def profile(number: int, top: int) -> dict[str, Any]:
    fn = variants()["generated"]
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(number):
        fn()
    profiler.disable()
    stats = pstats.Stats(profiler)
    raw: dict[tuple[str, int, str], tuple[int, int, float, float, object]] = stats.stats  # type: ignore[attr-defined]
    total = sum(row[2] for row in raw.values()) or 1.0
    groups: dict[str, float] = {}
    rows = []
    for (filename, line, func), (_, calls, tottime, cumtime, _) in raw.items():
        group = _where(filename)
        groups[group] = groups.get(group, 0.0) + tottime
        rows.append((tottime, calls, cumtime, f"{Path(filename).name}:{line}({func})", group))
    rows.sort(reverse=True)
    return {
        "dispatches": number,
        "own_time_share_by_place": {
            k: round(v / total, 4) for k, v in sorted(groups.items(), key=lambda kv: -kv[1])
        },
        "top_functions": [
            {
                "function": name,
                "group": group,
                "calls_per_dispatch": round(calls / number, 2),
                "own_share": round(tottime / total, 4),
                "cumulative_share": round(cumtime / total, 4),
            }
            for tottime, calls, cumtime, name, group in rows[:top]
        ],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--number", type=int, default=2000, help="constructions per repetition")
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--profile-number", type=int, default=50_000)
    parser.add_argument("--top", type=int, default=12)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    metrics = construction(args.number, args.repeat)
    details = {"profile": profile(args.profile_number, args.top)}
    write(
        args.out,
        result(
            "machine",
            "Machine construction, and a profile of one dispatch",
            metrics,
            details=details,
            notes=[
                f"µs per construction, {args.number} per repetition, {args.repeat} interleaved "
                "repetitions; the profile's shares are of cProfile's own time (cProfile adds "
                "a fixed cost per call, so many small calls look heavier than they are).",
            ],
        ),
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
