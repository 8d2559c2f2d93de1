"""The mutation tool's report: what ran, the rate of what ran only, and every survivor."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

TOOLS = Path(__file__).resolve().parents[2] / "tools" / "mutation"


def _results() -> dict[str, Any]:
    survivor = {
        "key": "machine:12:core/NumberReplacer:0",
        "line": 12,
        "operator": "core/NumberReplacer",
        "occurrence": 0,
        "diff": "-x = 1\n+x = 2",
    }
    other = {**survivor, "key": "machine:30:core/NumberReplacer:1", "line": 30, "occurrence": 1}
    module = {
        "path": "generated/m.py",
        "mutants": 10,
        "ran": 4,
        "killed": 1,
        "timeout": 1,
        "survived": 2,
        "incompetent": 0,
        "error": 0,
        "seconds": 5.0,
        "survivors": [survivor, other],
    }
    return {
        "tool": "cosmic-ray 0",
        "test_command": "pytest",
        "timeout_s": 60.0,
        "sample_per_module": 4,
        "seed": 0,
        "modules": {"machine": module},
    }


def test_the_report_counts_only_what_ran(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(TOOLS))
    from run_tool import render

    text = render(_results(), {"machine:12:core/NumberReplacer:0": "equivalent: never read"})
    assert "| `generated/m.py` | 10 | 4 | 6 | 1 | 1 | 2 | 0 | 0 | 50.0% | 5 s |" in text
    assert "A sample of 4 mutants per module ran" in text
    assert "`generated/m.py:12` core/NumberReplacer #0: equivalent: never read" in text
    assert "`generated/m.py:30` core/NumberReplacer #1: unclassified" in text
    assert "  +x = 2" in text
