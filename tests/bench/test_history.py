"""A target is missed when the median misses it in any recorded run of the same commit, and a
``--load`` run adds its figures beside the quiet ones (small fixtures, nothing is timed)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parents[2] / "tools" / "bench"
sys.path.insert(0, str(BENCH))

import history  # noqa: E402
from benchkit import link, metric, result, target  # noqa: E402
from render import render_markdown  # noqa: E402
from run import UNDER_LOAD, under_load  # noqa: E402

RAW, SUPERVISED = "raw tok/s", "supervised tok/s"


def _stream(supervised: float, *, commit: str = "abc1234") -> dict[str, Any]:
    metrics = link(
        [
            metric(RAW, "tok/s", [100.0, 101.0, 102.0], better="higher"),
            metric(
                SUPERVISED, "tok/s", [supervised - 1, supervised, supervised + 1], better="higher"
            ),
        ],
        RAW,
        targets={SUPERVISED: target(">=", 0.97)},
    )
    entry = result("stream", "Streaming", metrics)
    entry.update(status="ok", error=None, command="python bench_stream.py", wall_s=1.0)
    entry.update(date="2026-01-01 00:00 UTC", commit=commit)
    return entry


def _results(latest: dict[str, Any], runs: list[dict[str, Any]]) -> dict[str, Any]:
    machine = {
        "cpu": "test",
        "cores": 2,
        "cores_usable": 2,
        "ram_gib": 1.0,
        "os": "test",
        "kernel": "0",
        "arch": "x86_64",
        "python": "3.11",
        "versions": {},
        "gpu": None,
        "commit": latest["commit"],
        "date": latest["date"],
    }
    hist: list[dict[str, Any]] = []
    for run in runs:
        hist = history.append(hist, run)
    return {"quick": False, "machine": machine, "benchmarks": [latest], "history": hist}


def _record(entry: dict[str, Any]) -> dict[str, Any]:
    return history.record([entry], entry["commit"], entry["date"], quick=False)


def test_an_earlier_miss_at_the_same_commit_flags_the_target() -> None:
    unlucky, lucky = _stream(94.0), _stream(100.0)
    assert unlucky["metrics"][1]["met"] is False
    assert lucky["metrics"][1]["met"] is True
    results = _results(lucky, [_record(unlucky), _record(lucky)])
    verdict = history.verdict(results["history"], "abc1234", "stream", lucky["metrics"][1])
    assert (verdict.runs, verdict.missed, verdict.met) == (2, 1, False)
    markdown = render_markdown(results)
    assert "**MISSED** (1 of 2 runs)" in markdown
    assert f"**stream / {SUPERVISED}**: missed in 1 of 2 runs" in markdown
    assert "0.931–0.990" in markdown  # the spread of the median ratio over the two runs


def test_a_miss_at_another_commit_does_not_count() -> None:
    old, new = _stream(94.0, commit="0ld0000"), _stream(100.0)
    results = _results(new, [_record(old), _record(new)])
    markdown = render_markdown(results)
    assert "yes (1 run)" in markdown
    assert "MISSED" not in markdown.split("## Missed targets")[1]


def test_results_without_history_are_judged_on_their_latest_run() -> None:
    entry = _stream(94.0)
    results = _results(entry, [])
    del results["history"]
    assert "**MISSED** (1 of 1 run)" in render_markdown(results)


def test_history_keeps_the_runs_of_the_last_commits() -> None:
    hist: list[dict[str, Any]] = []
    for n in range(5):
        for _ in range(2):
            hist = history.append(hist, {"commit": f"c{n}", "figures": []}, keep=3)
    assert [r["commit"] for r in hist] == ["c2", "c2", "c3", "c3", "c4", "c4"]


def test_every_figure_shows_its_spread() -> None:
    entry = _stream(100.0)
    markdown = render_markdown(_results(entry, [_record(entry)]))
    assert "| min | median | max |" in markdown
    assert f"| {SUPERVISED} | tok/s | 99.0 | 100 | 101 |" in markdown


def test_the_loaded_variant_sits_beside_the_quiet_figures() -> None:
    quiet, loaded = _stream(100.0), _stream(90.0)
    loaded["competitor"] = "a busy loop pinned to core 0"
    merged = under_load(quiet, loaded, {SUPERVISED: target(">=", 0.97)})
    by_name = {m["name"]: m for m in merged["metrics"]}
    assert set(by_name) == {RAW, SUPERVISED, RAW + UNDER_LOAD, SUPERVISED + UNDER_LOAD}
    variant = by_name[SUPERVISED + UNDER_LOAD]
    assert variant["baseline"] == RAW + UNDER_LOAD
    assert variant["target"] == target(">=", 0.97)
    assert variant["met"] is False
    assert by_name[SUPERVISED]["met"] is True
    assert by_name[RAW + UNDER_LOAD]["baseline"] is None
    # a second --load run replaces the variant instead of piling up
    again = under_load(merged, loaded, {})
    assert len(again["metrics"]) == 4
    assert history.record([again], "abc1234", "d", quick=False)["figures"] == [
        {
            "benchmark": "stream",
            "metric": SUPERVISED,
            "ratio": by_name[SUPERVISED]["ratio"],
            "target": target(">=", 0.97),
            "met": True,
        }
    ]


def test_a_failed_loaded_run_keeps_the_quiet_figures() -> None:
    quiet = _stream(100.0)
    failed = {"status": "failed", "error": "exit status 1", "command": "x", "wall_s": 1.0}
    merged = under_load(quiet, failed, {})
    assert [m["name"] for m in merged["metrics"]] == [RAW, SUPERVISED]
    assert merged["load"]["status"] == "failed"


SPAWN, BARE = "spawn to RunnerIdle", "bare child"


def _spawn(median_ms: float, *, commit: str = "abc1234") -> dict[str, Any]:
    metrics = link(
        [
            metric(SPAWN, "ms", [median_ms - 10, median_ms, median_ms + 10]),
            metric(BARE, "ms", [6.0, 7.0, 8.0]),
        ],
        BARE,
        targets={SPAWN: target("<=", 150.0, absolute=True)},
    )
    entry = result("supervisor", "Supervisor", metrics)
    entry.update(status="ok", error=None, command="python bench_process.py", wall_s=1.0)
    entry.update(date="2026-01-01 00:00 UTC", commit=commit)
    return entry


def test_an_absolute_target_bounds_the_median_itself() -> None:
    slow, fast = _spawn(265.0), _spawn(120.0)
    assert slow["metrics"][0]["met"] is False  # its ratio (~38) is not what is judged
    assert fast["metrics"][0]["met"] is True
    assert history.record([slow], "abc1234", "d", quick=False)["figures"][0]["ratio"] == 265.0
    results = _results(fast, [_record(slow), _record(fast)])
    markdown = render_markdown(results)
    row = f"| supervisor | {SPAWN} (absolute) | 120 ms | 110 ms | 120–265 ms | ≤ 150 ms |"
    assert row + " **MISSED** (1 of 2 runs) |" in markdown
    assert f"**supervisor / {SPAWN}**: missed in 1 of 2 runs" in markdown
    assert "(median figures 120–265 ms, latest 120 ms) against a target of ≤ 150 ms" in markdown
