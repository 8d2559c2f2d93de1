"""The results schema shared by the benchmarks, the harness (``run.py``) and the renderer.

A benchmark's result is a JSON object::

    {"name": "dispatch", "title": "...", "metrics": [METRIC, ...], "details": {...},
     "notes": ["..."]}

and a metric is::

    {"name": "generated machine", "unit": "ns", "min": 1.0, "median": 1.2, "max": 1.4,
     "samples": 7, "better": "lower", "baseline": "match runner", "ratio": 1.1,
     "ratio_best": 1.05, "target": {"op": "<=", "value": 1.5}, "met": true, "note": "..."}

``baseline`` names another metric of the same benchmark, measured in the same run (``None``
for a baseline itself). ``ratio`` is median over the baseline's median, ``ratio_best`` the
best sample over the baseline's best sample (min for "lower is better", max for "higher"). A
target bounds ``ratio`` (or, with ``"of": "median"``, the median itself: an absolute bound in the
metric's unit); ``met`` is judged on the median and is ``None`` without a target.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

Better = Literal["lower", "higher"]
Metric = dict[str, Any]
Result = dict[str, Any]

__all__ = [
    "Better",
    "Metric",
    "Result",
    "judge",
    "judged",
    "link",
    "metric",
    "result",
    "schema_errors",
    "summary_metric",
    "target",
    "write",
]


def metric(
    name: str,
    unit: str,
    samples: Sequence[float],
    *,
    better: Better = "lower",
    note: str = "",
) -> Metric:
    """A metric from its samples (at least one)."""
    values = [float(v) for v in samples]
    if not values:
        raise ValueError(f"metric {name!r} has no samples")
    return {
        "name": name,
        "unit": unit,
        "min": min(values),
        "median": statistics.median(values),
        "max": max(values),
        "samples": len(values),
        "better": better,
        "baseline": None,
        "ratio": None,
        "ratio_best": None,
        "target": None,
        "met": None,
        "note": note,
    }


def summary_metric(
    name: str,
    unit: str,
    lo: float,
    median: float,
    *,
    hi: float | None = None,
    samples: int | None = None,
    better: Better = "lower",
    note: str = "",
) -> Metric:
    """A metric from a script that reports only its summary (min, median, maybe max); an
    unknown max is ``None``, never a made-up one."""
    m = metric(name, unit, [lo], better=better, note=note)
    m.update(median=median, max=hi, samples=samples)
    if better == "higher" and hi is None:
        raise ValueError(f"metric {name!r}: a 'higher is better' metric needs its max")
    return m


def target(op: Literal["<=", ">="], value: float, *, absolute: bool = False) -> dict[str, Any]:
    """A bound on the median ratio; ``absolute``: on the median itself, in the metric's unit."""
    bound: dict[str, Any] = {"op": op, "value": value}
    if absolute:
        bound["of"] = "median"
    return bound


def judged(m: Metric) -> float | None:
    """The figure ``m``'s target bounds: its median for an absolute target, else its ratio."""
    bound = m.get("target") or {}
    value = m["median"] if bound.get("of") == "median" else m["ratio"]
    return None if value is None else float(value)


def _best(m: Metric) -> float:
    return float(m["min"] if m["better"] == "lower" else m["max"])


def link(
    metrics: list[Metric],
    baseline: str,
    *,
    targets: dict[str, dict[str, Any]] | None = None,
    only: Sequence[str] | None = None,
) -> list[Metric]:
    """Set every metric's ratio against the metric named ``baseline`` (the baseline itself is
    left without one), and the targets by metric name. Returns ``metrics``."""
    by_name = {m["name"]: m for m in metrics}
    if baseline not in by_name:
        raise KeyError(f"baseline {baseline!r} is not among {sorted(by_name)}")
    base = by_name[baseline]
    for m in metrics:
        if m is base or (only is not None and m["name"] not in only):
            continue
        m["baseline"] = baseline
        m["ratio"] = m["median"] / base["median"] if base["median"] else None
        m["ratio_best"] = _best(m) / _best(base) if _best(base) else None
    for name, bound in (targets or {}).items():
        judge(by_name[name], bound)
    return metrics


def judge(m: Metric, bound: dict[str, Any] | None) -> Metric:
    """Set ``m``'s target to ``bound`` and whether its median ratio meets it. Returns ``m``."""
    m["target"] = bound
    value = judged(m)
    if bound is None or value is None:
        m["met"] = None
    else:
        m["met"] = value <= bound["value"] if bound["op"] == "<=" else value >= bound["value"]
    return m


def result(
    name: str,
    title: str,
    metrics: list[Metric],
    *,
    details: dict[str, Any] | None = None,
    notes: Sequence[str] = (),
) -> Result:
    return {
        "name": name,
        "title": title,
        "metrics": metrics,
        "details": details or {},
        "notes": list(notes),
    }


def write(path: Path | None, value: Result) -> None:
    """Print ``value`` as JSON and write it to ``path`` when one is given."""
    text = json.dumps(value, indent=2)
    print(text)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text + "\n", encoding="utf-8")


_METRIC_KEYS = {"name": str, "unit": str, "better": str}
_NUMBERS = ("min", "median")


def schema_errors(value: object) -> list[str]:
    """What is wrong with a benchmark result (empty when it is well formed)."""
    if not isinstance(value, dict):
        return [f"result is a {type(value).__name__}, expected an object"]
    errors: list[str] = []
    if not isinstance(value.get("name"), str):
        errors.append("result has no string 'name'")
    metrics = value.get("metrics")
    if not isinstance(metrics, list) or not metrics:
        return [*errors, "result has no non-empty list 'metrics'"]
    names = {m.get("name") for m in metrics if isinstance(m, dict)}
    for i, m in enumerate(metrics):
        where = f"metrics[{i}]"
        if not isinstance(m, dict):
            errors.append(f"{where} is not an object")
            continue
        for key, kind in _METRIC_KEYS.items():
            if not isinstance(m.get(key), kind):
                errors.append(f"{where} has no {kind.__name__} {key!r}")
        for key in _NUMBERS:
            if not isinstance(m.get(key), int | float):
                errors.append(f"{where} ({m.get('name')}) has no number {key!r}")
        if "baseline" not in m or "ratio" not in m:
            errors.append(f"{where} ({m.get('name')}) lacks 'baseline' or 'ratio'")
            continue
        if m["baseline"] is not None:
            if m["baseline"] not in names:
                errors.append(f"{where} ({m.get('name')}) has unknown baseline {m['baseline']!r}")
            if not isinstance(m["ratio"], int | float):
                errors.append(f"{where} ({m.get('name')}) has a baseline but no ratio")
    if not any(isinstance(m, dict) and m.get("baseline") is not None for m in metrics):
        errors.append("no metric is compared with a baseline")
    return errors
