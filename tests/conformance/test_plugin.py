"""The pytest plugin: inert without its option, one item per scenario with it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from exo_spec.conformance.plugin import Conformance

ROOT = Path(__file__).resolve().parents[2]


def _pytest(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "test_nothing.py").write_text("def test_ok():\n    pass\n")
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_plugin_is_inert_without_the_option(tmp_path: Path) -> None:
    done = _pytest(tmp_path)
    assert done.returncode == 0, done.stdout
    assert "1 passed" in done.stdout


def test_plugin_collects_one_item_per_scenario(tmp_path: Path) -> None:
    done = _pytest(
        tmp_path,
        "--exo-spec-runner",
        "exo_spec.runtime.runner:run",
        "--exo-spec-examples",
        "10",
        "--collect-only",
    )
    assert "cell[idle-LoadModel-has_group=0,weights_present=1-ok]" in done.stdout
    assert "pair[" in done.stdout
    assert "walk[seed=0]" in done.stdout


def test_plugin_fails_a_broken_runner(tmp_path: Path) -> None:
    done = _pytest(
        tmp_path,
        "--exo-spec-runner",
        "tests.conformance.runners.seed000_no_status_after_load:run",
        "--exo-spec-examples",
        "0",
        "-k",
        "idle-LoadModel",
    )
    assert done.returncode == 1
    assert "status change to loaded without RunnerStatusUpdated" in done.stdout


@pytest.mark.exo_spec_runner("exo_spec.runtime.runner:run")
def test_fixture_from_a_projects_own_tests(exo_spec_conformance: Conformance) -> None:
    for scenario in exo_spec_conformance.scenarios()[:10]:
        exo_spec_conformance.assert_conforms(scenario)
