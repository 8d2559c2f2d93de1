"""BENCHMARKS.md and the scaling plot are exactly what render.py makes of results.json."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "tools" / "bench"


def test_committed_markdown_is_rendered_from_committed_results(tmp_path: Path) -> None:
    markdown, svg = tmp_path / "BENCHMARKS.md", tmp_path / "plot.svg"
    subprocess.run(
        [
            sys.executable,
            str(BENCH / "render.py"),
            str(BENCH / "results.json"),
            "--markdown",
            str(markdown),
            "--svg",
            str(svg),
        ],
        cwd=ROOT,
        check=True,
        timeout=60,
    )
    assert markdown.read_text(encoding="utf-8") == (ROOT / "BENCHMARKS.md").read_text(
        encoding="utf-8"
    ), "BENCHMARKS.md is stale: run python tools/bench/render.py"
    assert svg.read_text(encoding="utf-8") == (BENCH / "linter_scaling.svg").read_text(
        encoding="utf-8"
    )


def test_only_a_measured_against_row_is_called_the_baseline(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.syspath_prepend(str(BENCH))
    from render import metric_table

    def row(name: str, baseline: str | None) -> dict[str, object]:
        ratio = 0.5 if baseline else None
        return {
            "name": name,
            "unit": "ms",
            "min": 1.0,
            "median": 1.0,
            "max": 1.0,
            "baseline": baseline,
            "ratio": ratio,
            "ratio_best": ratio,
            "target": None,
            "met": None,
        }

    bench = {
        "name": "b",
        "metrics": [row("ours", "theirs"), row("theirs", None), row("alone", None)],
    }
    results = {"machine": {"commit": "abc"}, "history": []}
    lines = {line.split(" | ")[0].strip("| "): line for line in metric_table(results, bench)[2:]}
    assert "| *baseline* |" in lines["theirs"]
    assert "*baseline*" not in lines["alone"]
    assert "| theirs |" in lines["ours"]
