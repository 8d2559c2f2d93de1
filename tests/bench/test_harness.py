"""``tools/bench/run.py --quick``: every benchmark runs and writes well-formed results.

The quick mode is a smoke test of the harness (tiny sizes, one repetition, a temp dir); the
measurements themselves run only under ``make bench``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
RUN = ROOT / "tools" / "bench" / "run.py"
BENCHMARKS = {
    "dispatch",
    "machine",
    "imports",
    "stream",
    "check",
    "supervisor",
    "suites",
    "download",
    "node",
    "explore",
}
HANG_GUARD_S = 240.0  # a hung harness fails the test instead of stalling CI


def _metric_problems(bench: str, m: Any, names: set[str]) -> list[str]:
    if not isinstance(m, dict):
        return [f"{bench}: a metric is not an object"]
    where = f"{bench}/{m.get('name')}"
    problems = [
        f"{where}: no string {key!r}"
        for key in ("name", "unit", "better")
        if not isinstance(m.get(key), str)
    ]
    problems += [
        f"{where}: no number {key!r}"
        for key in ("min", "median")
        if not isinstance(m.get(key), int | float)
    ]
    if "baseline" not in m or "ratio" not in m:
        return [*problems, f"{where}: no 'baseline' or 'ratio'"]
    if m["baseline"] is not None:
        if m["baseline"] not in names:
            problems.append(f"{where}: baseline {m['baseline']!r} is not a metric of {bench}")
        if not isinstance(m["ratio"], int | float):
            problems.append(f"{where}: compared with {m['baseline']!r} but has no ratio")
    return problems


def test_quick_run_writes_every_benchmark(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(RUN), "--quick", "--out-dir", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=HANG_GUARD_S,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    results = json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))
    assert results["quick"] is True
    assert results["machine"]["cpu"]
    by_name = {b["name"]: b for b in results["benchmarks"]}
    assert set(by_name) == BENCHMARKS
    problems: list[str] = []
    for name, bench in by_name.items():
        if bench["status"] != "ok":
            problems.append(f"{name}: {bench['error']}")
            continue
        metrics = bench["metrics"]
        names: set[str] = {
            m["name"] for m in metrics if isinstance(m, dict) and isinstance(m.get("name"), str)
        }
        for m in metrics:
            problems += _metric_problems(name, m, names)
        if not any(m.get("baseline") for m in metrics):
            problems.append(f"{name}: nothing is compared with a baseline")
    assert problems == []
    markdown = (tmp_path / "BENCHMARKS.md").read_text(encoding="utf-8")
    assert all(f"## {name}:" in markdown for name in BENCHMARKS)
    assert (tmp_path / "linter_scaling.svg").read_text(encoding="utf-8").startswith("<svg")


def test_load_adds_the_variant_beside_the_quiet_figures(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            str(RUN),
            "--quick",
            "--only",
            "supervisor",
            "--load",
            "--out-dir",
            str(tmp_path),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=HANG_GUARD_S,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    results = json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))
    (bench,) = results["benchmarks"]
    names = {m["name"] for m in bench["metrics"]}
    quiet = {n for n in names if not n.endswith(" under load")}
    assert names == quiet | {f"{n} under load" for n in quiet}
    assert bench["load"]["status"] == "ok"
    assert "pinned to core 0" in bench["load"]["competitor"]
    assert [r["commit"] for r in results["history"]] == [results["machine"]["commit"]]
    assert "under load" in (tmp_path / "BENCHMARKS.md").read_text(encoding="utf-8")


def test_check_cold_start_has_its_target_row(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(RUN), "--quick", "--only", "check", "--out-dir", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=HANG_GUARD_S,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    results = json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))
    (bench,) = results["benchmarks"]
    by_name = {m["name"]: m for m in bench["metrics"]}
    over = by_name["exo-spec check over python -c pass (bytecode cached)"]
    assert over["target"] == {"op": "<=", "value": 100.0, "of": "median"}
    assert over["met"] == (over["median"] <= 100.0)
    markdown = (tmp_path / "BENCHMARKS.md").read_text(encoding="utf-8")
    targets = markdown.split("## Targets", 1)[1].split("\n## ", 1)[0]
    assert "| check | exo-spec check over python -c pass (bytecode cached) (absolute)" in targets
