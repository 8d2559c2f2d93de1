"""Benchmark ``exo-spec check``: cold start against bare Python, and scaling with spec size.

    .venv/bin/python tools/bench/bench_check.py [--repeat 7] [--sizes 10,100,1000,5000] [--out F]

Cold start runs ``python -m exo_spec check spec/runner.yaml`` in a fresh subprocess (as a user
or pre-commit does) and compares it with ``python -c pass``. Scaling lints synthetic specs: a
chain of resting states, each left through its own transient state, with branching on a
dynamic guard, jumps on a constant guard, a recovery path and a shutdown from everywhere.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from exo_spec.check import lint

ROOT = Path(__file__).resolve().parents[2]
EVENTS = """events:
  accept: [TaskStatusUpdated(Running), RunnerStatusUpdated(via), TaskAcknowledged]
  success: [TaskStatusUpdated(Complete), RunnerStatusUpdated(to)]
  cancelled: [TaskStatusUpdated(Cancelled), RunnerStatusUpdated(to)]
  failure: [TaskStatusUpdated(Failed), RunnerStatusUpdated(on_error)]
  reject: [TaskStatusUpdated(Failed)]
"""


def synthetic_spec(states: int) -> str:
    """A clean spec with about ``states`` states (half resting, half transient)."""
    n = max(2, (states - 3) // 2)
    lines = [
        "version: 1",
        "machine: synthetic",
        "initial: s0",
        "guards:",
        "  wide: {doc: a constant guard, constant: true}",
        "  fast: a dynamic guard",
        "  ready: another dynamic guard",
        "actions:",
        "  step: {doc: one step}",
        "  reset: {doc: back to the start}",
        "  stop: {doc: stop}",
        "states:",
    ]
    for i in range(n):
        lines.append(f"  s{i}: {{status: S{i}}}")
        lines.append(f"  t{i}: {{status: T{i}, transient: true, timeout_s: 10}}")
    lines += [
        "  failed: {status: Failed}",
        "  stopping: {status: Stopping, transient: true, timeout_s: 5}",
        "  stopped: {status: Stopped, final: true}",
        "tasks:",
        "  Next:",
    ]
    for i in range(n):
        one, two = (i + 1) % n, (i + 2) % n
        lines.append(f"    - {{from: s{i}, when: fast and ready, via: t{i}, do: step, to: s{one}}}")
        lines.append(
            f"    - {{from: s{i}, when: not (fast and ready), via: t{i}, do: step, to: s{two}}}"
        )
    lines.append("  Jump:")
    for i in range(0, n, 3):
        lines.append(f"    - {{from: s{i}, when: wide, via: t{i}, do: step, to: s{(i * 7) % n}}}")
    lines += [
        "  Reset:",
        "    - {from: failed, do: reset, to: s0}",
        "  Shutdown:",
        '    - {from: "*", via: stopping, do: stop, to: stopped}',
        "on_error: failed",
        EVENTS,
    ]
    return "\n".join(lines)


def _timed(argv: list[str], repeat: int, env: dict[str, str]) -> list[float]:
    subprocess.run(argv, cwd=ROOT, check=False, capture_output=True, env=env)  # warm up
    out = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(argv, cwd=ROOT, check=False, capture_output=True, env=env)
        out.append(time.perf_counter() - start)
    return out


def _env(pycache: str | None) -> dict[str, str]:
    """The environment, with bytecode caching on (in ``pycache``, outside the tree) or off."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    if pycache is None:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        env.pop("PYTHONPYCACHEPREFIX", None)
    else:
        env["PYTHONPYCACHEPREFIX"] = pycache
    return env


def _stats(samples: list[float]) -> dict[str, float]:
    return {
        "min_s": min(samples),
        "median_s": statistics.median(samples),
        "max_s": max(samples),
    }


def cold_start(repeat: int, spec: Path) -> dict[str, object]:
    """A fresh process per run: with bytecode caches (as installed), and without any."""
    result: dict[str, object] = {"spec": str(spec)}
    with tempfile.TemporaryDirectory() as pycache:
        for label, env in (("bytecode_cached", _env(pycache)), ("no_bytecode", _env(None))):
            bare = _timed([sys.executable, "-c", "pass"], repeat, env)
            check = _timed([sys.executable, "-m", "exo_spec", "check", str(spec)], repeat, env)
            result[label] = {
                "python_pass": _stats(bare),
                "exo_spec_check": _stats(check),
                "overhead_min_s": min(check) - min(bare),
                "overhead_median_s": statistics.median(check) - statistics.median(bare),
            }
    return result


def scaling(sizes: list[int], repeat: int) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for size in sizes:
            path = Path(tmp) / f"synthetic_{size}.yaml"
            path.write_text(synthetic_spec(size), encoding="utf-8")
            samples, findings = [], 0
            for _ in range(max(1, repeat if size <= 1000 else 2)):
                start = time.perf_counter()
                findings = len(lint(path))
                samples.append(time.perf_counter() - start)
            rows.append({"states": size, "findings": findings, **_stats(samples)})
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--sizes", default="10,100,1000,5000")
    parser.add_argument("--out", type=Path, help="write the results as JSON here")
    parser.add_argument(
        "--spec", type=Path, default=ROOT / "spec" / "runner.yaml", help="spec for the cold start"
    )
    args = parser.parse_args(argv)
    result = {
        "python": sys.version.split()[0],
        "cold_start": cold_start(args.repeat, args.spec),
        "scaling": scaling([int(s) for s in args.sizes.split(",")], args.repeat),
    }
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
