"""``exo-spec check DIR``: the specs under a directory, found as ruff finds Python files."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from exo_spec.check.discovery import discover_specs, looks_like_spec
from exo_spec.cli import main

ROOT = Path(__file__).parents[2]
EXAMPLES = ROOT / "spec" / "examples"
MUTANTS = Path(__file__).parent / "mutants"


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """Two example specs (one under a subfolder, one .yml), and YAML that is not a spec."""
    shutil.copy(EXAMPLES / "traffic_light.yaml", tmp_path / "light.yaml")
    (tmp_path / "queues").mkdir()
    shutil.copy(EXAMPLES / "job_queue.yaml", tmp_path / "queues" / "jobs.yml")
    (tmp_path / "compose.yaml").write_text("services:\n  web:\n    states: 3\n")
    (tmp_path / ".github" / "workflows").mkdir(parents=True)
    shutil.copy(EXAMPLES / "job_queue.yaml", tmp_path / ".github" / "workflows" / "hidden.yaml")
    (tmp_path / "node_modules").mkdir()
    shutil.copy(EXAMPLES / "job_queue.yaml", tmp_path / "node_modules" / "vendored.yaml")
    (tmp_path / "notes.txt").write_text("states:\n")
    return tmp_path


def test_a_directory_yields_its_specs_sorted_and_recursively(tree: Path) -> None:
    assert discover_specs([tree]) == [tree / "light.yaml", tree / "queues" / "jobs.yml"]


def test_a_file_named_explicitly_is_always_checked(tree: Path) -> None:
    named = tree / "compose.yaml"
    assert not looks_like_spec(named)
    assert discover_specs([named, tree / "missing.yaml"]) == [named, tree / "missing.yaml"]
    assert discover_specs([tree, tree / "light.yaml"]) == discover_specs([tree])  # no repeats


def test_check_on_a_directory_of_clean_specs_exits_0(
    tree: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check", str(tree)]) == 0
    assert capsys.readouterr().err == "All checks passed.\n"


def test_check_on_a_directory_reports_every_spec_in_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copy(EXAMPLES / "traffic_light.yaml", tmp_path / "ok.yaml")
    shutil.copy(MUTANTS / "seed002_load_only_from_idle.yaml", tmp_path / "bad.yaml")
    assert main(["check", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert out.count(f"{tmp_path / 'bad.yaml'}:") == 2
    assert "ok.yaml" not in out


def test_check_on_the_repository_spec_folder(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(ROOT / "spec")]) == 0, capsys.readouterr().out


def test_a_directory_without_specs_warns_and_exits_0(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "config.yaml").write_text("name: x\n")
    assert main(["check", str(tmp_path)]) == 0
    assert capsys.readouterr().err == f"exo-spec check: warning: no specs found under {tmp_path}\n"


def test_an_unreadable_spec_in_a_directory_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "bad.yaml").write_bytes(b"states:\n  a: [\n")
    assert main(["check", str(tmp_path)]) == 1  # a YAML error is a finding (EXS001)
    assert "EXS001" in capsys.readouterr().out
    assert main(["check", str(tmp_path), str(tmp_path / "gone.yaml")]) == 2
