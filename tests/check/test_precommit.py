"""The pre-commit hook runs ``exo-spec check`` on runner specs and nothing else."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).parents[2]
[HOOK] = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))


def test_hook_runs_the_linter() -> None:
    assert HOOK["id"] == "exo-spec-check"
    assert HOOK["entry"] == "exo-spec check"
    assert HOOK["language"] == "python"


@pytest.mark.parametrize(
    ("path", "matched"),
    [
        ("spec/runner.yaml", True),
        ("spec/examples/traffic_light.yaml", True),
        ("services/worker.exo-spec.yml", True),
        ("generated/runner.yaml", False),
        (".github/workflows/ci.yml", False),
        ("tests/check/mutants/unknown_via.yaml", False),
        ("spec/runner.schema.json", False),
    ],
)
def test_hook_files_pattern(path: str, matched: bool) -> None:
    assert bool(re.search(HOOK["files"], path)) is matched
