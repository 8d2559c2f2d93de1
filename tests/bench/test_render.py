"""BENCHMARKS.md and the scaling plot are exactly what render.py makes of results.json."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

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
