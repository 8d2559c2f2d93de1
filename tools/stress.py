"""Run test suites over and over beside a CPU-bound competitor, to shake out races.

    python tools/stress.py                      # 20 rounds of tests/supervisor and tests/runtime
    python tools/stress.py --rounds 5 tests/conformance

The competitor is a busy loop in its own process, pinned to one core (where the platform lets
a process choose its cores), started and stopped by this script. Every round is a fresh
``pytest`` process; the script prints each round's result and time, the failed tests of every
round that failed, and a closing ``N passed, N failed`` line over the rounds. Exit 1 when any
round failed.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_PATHS = ("tests/supervisor", "tests/runtime")
_FAILED = re.compile(r"^(FAILED|ERROR) (\S+)", re.MULTILINE)


@contextmanager
def competitor(core: int | None) -> Iterator[int | None]:
    """A busy loop in its own process, pinned to ``core`` when the platform allows; its pid."""
    if core is None:
        yield None
        return
    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        if hasattr(os, "sched_setaffinity"):
            os.sched_setaffinity(busy.pid, {core})
        yield busy.pid
    finally:
        busy.kill()
        busy.wait()


def run_round(paths: list[str], extra: list[str]) -> tuple[int, float, list[str], str]:
    """One pytest process over ``paths``: (exit code, seconds, failed test ids, last line)."""
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-m", "not slow", *extra, *paths],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.monotonic() - started
    output = done.stdout + done.stderr
    lines = [line for line in output.splitlines() if line.strip()]
    failed = [name for _, name in _FAILED.findall(output)]
    return done.returncode, elapsed, failed, (lines[-1] if lines else "")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("paths", nargs="*", default=list(DEFAULT_PATHS), help="test paths")
    parser.add_argument("--rounds", type=int, default=20, help="pytest runs (default 20)")
    parser.add_argument(
        "--core", type=int, default=0, help="the core the competitor is pinned to (default 0)"
    )
    parser.add_argument("--no-competitor", action="store_true", help="run without the busy loop")
    parser.add_argument("--pytest-arg", action="append", default=[], help="passed to pytest")
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    failures: Counter[str] = Counter()
    failed_rounds = 0
    started = time.monotonic()
    with competitor(None if args.no_competitor else args.core) as busy:
        where = "none" if busy is None else f"pid {busy} on core {args.core}"
        print(f"stress: {args.rounds} rounds of {' '.join(args.paths)}; competitor: {where}")
        for index in range(1, args.rounds + 1):
            code, elapsed, failed, last = run_round(args.paths, args.pytest_arg)
            verdict = "ok" if code == 0 else f"FAILED (exit {code})"
            print(f"round {index:>3}/{args.rounds}: {verdict} in {elapsed:.1f} s: {last}")
            if code != 0:
                failed_rounds += 1
                failures.update(failed or [f"round {index}: exit {code} ({last})"])
                for name in failed:
                    print(f"    {name}")
            sys.stdout.flush()
    total = time.monotonic() - started
    print(f"stress: {total:.0f} s in all, {total / args.rounds:.1f} s a round")
    for name, count in failures.most_common():
        print(f"  failed {count}x: {name}")
    print(f"{args.rounds - failed_rounds} passed, {failed_rounds} failed")
    return 1 if failed_rounds else 0


if __name__ == "__main__":
    sys.exit(main())
