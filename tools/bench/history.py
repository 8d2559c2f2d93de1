"""The runs behind the verdicts: every measured run's targeted figures, kept by commit.

``results.json`` holds the latest result of each benchmark (what the tables show) and a
``history``: one record per run of ``run.py``, newest last, with the median ratio, target and
verdict of every metric that has a target (``ratio`` holds the median itself for an absolute
target)::

    {"commit": "f7fe9b3", "date": "...", "quick": false,
     "figures": [{"benchmark": "stream", "metric": "...", "ratio": 0.97,
                  "target": {"op": ">=", "value": 0.99}, "met": false}, ...]}

A target counts as missed at a commit when the median misses it in *any* recorded run of that
commit, not only in the latest: one lucky run does not hide an unlucky one. The history lives
in the results file (not in git's log) so that rendering depends on that file alone; it keeps
the runs of the last ``KEEP_COMMITS`` commits.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from benchkit import judged

KEEP_COMMITS = 20

__all__ = ["KEEP_COMMITS", "Verdict", "append", "record", "verdict"]


def record(
    entries: Iterable[dict[str, Any]], commit: str | None, date: str, *, quick: bool
) -> dict[str, Any]:
    """The history record of one run from the benchmark results it measured."""
    figures = [
        {
            "benchmark": e["name"],
            "metric": m["name"],
            "ratio": judged(m),
            "target": m["target"],
            "met": m["met"],
        }
        for e in entries
        if e.get("status", "ok") == "ok"
        for m in e["metrics"]
        if m.get("target")
    ]
    return {"commit": commit, "date": date, "quick": quick, "figures": figures}


def append(
    history: list[dict[str, Any]], run: dict[str, Any], keep: int = KEEP_COMMITS
) -> list[dict[str, Any]]:
    """``history`` with ``run`` added, trimmed to the runs of the last ``keep`` commits."""
    runs = [*history, run]
    commits: list[str | None] = []
    for r in reversed(runs):
        if r["commit"] not in commits:
            commits.append(r["commit"])
    kept = set(commits[:keep])
    return [r for r in runs if r["commit"] in kept]


@dataclass(frozen=True)
class Verdict:
    """A target's verdict over every recorded run of one commit."""

    runs: int
    missed: int
    ratios: tuple[float, ...]

    @property
    def met(self) -> bool | None:
        if not self.runs:
            return None
        return self.missed == 0


def verdict(
    history: list[dict[str, Any]], commit: str | None, benchmark: str, metric: dict[str, Any]
) -> Verdict:
    """The verdict on ``metric`` of ``benchmark`` over the runs of ``commit``; the metric's own
    verdict alone when the history has none of them (results older than the history)."""
    figures = [
        f
        for r in history
        if r["commit"] == commit
        for f in r["figures"]
        if f["benchmark"] == benchmark and f["metric"] == metric["name"] and f["met"] is not None
    ]
    if not figures and metric.get("met") is not None:
        figures = [metric]
    return Verdict(
        runs=len(figures),
        missed=sum(1 for f in figures if f["met"] is False),
        ratios=tuple(float(f["ratio"]) for f in figures),
    )
