"""Run time of the generated test suite and of the conformance run, each beside a floor.

    .venv/bin/python tools/bench/bench_suites.py [--repeat 3] [--quick] [--out F.json]

* generated suite: ``python -m pytest generated/tests -q -p no:cacheprovider``, against pytest
  running one empty test (pytest's own start-up and the project's plugins);
* conformance: ``python -m exo_spec conformance --runner exo_spec.runtime.runner:run``, against
  ``python -m exo_spec --version`` (the CLI's start-up). When the command is not available the
  metric is recorded as not measured.

``--quick`` runs one generated test file and 5 random walks instead of the defaults.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchkit import Metric, link, metric, result, write

ROOT = Path(__file__).resolve().parents[2]
RUNNER = "exo_spec.runtime.runner:run"


def _timed(argv: list[str]) -> tuple[float, subprocess.CompletedProcess[str]]:
    start = time.perf_counter()
    done = subprocess.run(argv, cwd=ROOT, check=False, capture_output=True, text=True)
    return time.perf_counter() - start, done


def _repeat(argv: list[str], repeat: int) -> tuple[list[float], subprocess.CompletedProcess[str]]:
    samples: list[float] = []
    done: subprocess.CompletedProcess[str] | None = None
    for _ in range(repeat):
        seconds, done = _timed(argv)
        if done.returncode != 0:
            break
        samples.append(seconds)
    assert done is not None
    return samples, done


def _tail(done: subprocess.CompletedProcess[str]) -> str:
    return (
        (done.stdout + done.stderr).strip().splitlines()[-1:][0]
        if (done.stdout + done.stderr).strip()
        else f"exit {done.returncode}"
    )


def generated_suite(repeat: int, quick: bool) -> tuple[list[Metric], dict[str, object]]:
    target = "generated/tests/test_runner_trace.py" if quick else "generated/tests"
    pytest = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    with tempfile.TemporaryDirectory() as tmp:
        empty = Path(tmp) / "test_empty.py"
        empty.write_text("def test_nothing() -> None:\n    pass\n", encoding="utf-8")
        floor, _ = _repeat([*pytest, "--rootdir", str(ROOT), str(empty)], repeat)
        suite, done = _repeat([*pytest, target], repeat)
    if done.returncode != 0 or not suite:
        raise RuntimeError(f"the generated suite failed: {_tail(done)}")
    match = re.search(r"(\d+) passed", done.stdout)
    tests = int(match.group(1)) if match else None
    metrics = link(
        [
            metric(f"pytest {target}", "s", suite, note=f"{tests} tests"),
            metric("pytest, one empty test", "s", floor),
        ],
        "pytest, one empty test",
    )
    return metrics, {"target": target, "tests": tests}


def conformance(repeat: int, quick: bool) -> tuple[list[Metric], dict[str, object]]:
    argv = [sys.executable, "-m", "exo_spec", "conformance", "--runner", RUNNER]
    if quick:
        argv += ["--examples", "5"]
    floor, _ = _repeat([sys.executable, "-m", "exo_spec", "--version"], repeat)
    samples, done = _repeat(argv, repeat)
    label = "exo-spec conformance --runner " + RUNNER + (" --examples 5" if quick else "")
    if done.returncode != 0 or not samples:
        return [], {"measured": False, "reason": _tail(done), "command": label}
    summary = next((line for line in done.stdout.splitlines() if "scenarios" in line), "")
    metrics = link(
        [metric(label, "s", samples, note=summary), metric("exo-spec --version", "s", floor)],
        "exo-spec --version",
    )
    return metrics, {"measured": True, "summary": summary, "verdict": _tail(done)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    suite, suite_details = generated_suite(args.repeat, args.quick)
    conf, conf_details = conformance(args.repeat, args.quick)
    notes = [f"{args.repeat} runs of each command, each in a fresh interpreter."]
    if not conf_details["measured"]:
        notes.append(f"conformance not measured: {conf_details['reason']}")
    write(
        args.out,
        result(
            "suites",
            "Generated test suite and conformance run",
            suite + conf,
            details={"generated_suite": suite_details, "conformance": conf_details},
            notes=notes,
        ),
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
