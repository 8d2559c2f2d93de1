from __future__ import annotations

from pathlib import Path

import pytest

from exo_spec.spec import Loc, Spec, load_spec, load_spec_text
from tests.conftest import RUNNER_SPEC


def codes(text: str) -> list[str]:
    return [d.code for d in load_spec_text(text, "t.yaml").diagnostics]


def test_runner_spec_loads_cleanly(runner_spec: Spec) -> None:
    assert runner_spec.initial == "idle"
    assert runner_spec.constant_guards() == ("has_group",)
    assert runner_spec.dynamic_guards() == ("weights_present",)
    assert [s.name for s in runner_spec.cell_states()] == [
        "idle",
        "connected",
        "loaded",
        "ready",
        "running",
        "failed",
    ]
    assert runner_spec.state("loading").timeout_s == 900


def test_locations_are_one_based_line_and_column(runner_spec: Spec) -> None:
    lines = RUNNER_SPEC.read_text().splitlines()
    for rule in runner_spec.rules:
        line = lines[rule.loc.line - 1]
        assert line[rule.loc.col - 1] == "{", (rule, line)
    assert lines[runner_spec.initial_loc.line - 1].startswith("initial:")


def test_seed_bugs_are_encoded(runner_spec: Spec) -> None:
    """The three seed incidents, as facts of the spec."""
    download_sources = {r.source for r in runner_spec.rules if r.task == "DownloadModel"}
    assert download_sources == {"idle", "connected", "failed"}  # seed 001
    load = {r.source: str(r.when) for r in runner_spec.rules if r.task == "LoadModel"}
    assert load == {  # seed 002
        "connected": "has_group and weights_present",
        "idle": "not has_group and weights_present",
    }
    shutdown = {r.source for r in runner_spec.rules if r.task == "Shutdown"}
    resting = {s.name for s in runner_spec.states if not s.final and not s.transient}
    assert shutdown == resting
    assert runner_spec.deferred("running", "Shutdown")


def test_unreadable_file_is_a_diagnostic(tmp_path: Path) -> None:
    result = load_spec(tmp_path / "missing.yaml")
    assert result.spec is None
    assert [d.code for d in result.diagnostics] == ["EXS000"]


def test_yaml_syntax_error_has_a_location() -> None:
    result = load_spec_text("version: 1\nstates: {idle: [\n", "bad.yaml")
    (diag,) = result.diagnostics
    assert diag.code == "EXS001"
    assert diag.loc.path == "bad.yaml"
    assert diag.loc.line >= 2


def test_safe_loading_never_constructs_objects() -> None:
    text = "version: !!python/object/apply:os.system ['true']\n"
    result = load_spec_text(text, "evil.yaml")
    assert result.spec is None
    assert "EXS003" in [d.code for d in result.diagnostics]


MINIMAL = """\
version: 1
machine: m
initial: a
states:
  a: {status: A}
  z: {status: Z, final: true}
tasks:
  Stop: [{from: a, to: z}]
events:
  accept: [TaskStatusUpdated(Running), TaskAcknowledged]
  success: [TaskStatusUpdated(Complete), RunnerStatusUpdated(to)]
  cancelled: [TaskStatusUpdated(Cancelled)]
  failure: [TaskStatusUpdated(Failed), RunnerStatusUpdated(on_error)]
  reject: [TaskStatusUpdated(Failed)]
"""


def test_minimal_spec() -> None:
    result = load_spec_text(MINIMAL, "m.yaml")
    assert result.diagnostics == ()
    assert result.spec is not None
    assert result.spec.rules[0].target == "z"


@pytest.mark.parametrize(
    ("old", "new", "code"),
    [
        ("machine: m", "machin: m", "EXS002"),
        ("version: 1", "version: 2", "EXS006"),
        ("version: 1", "version: one", "EXS003"),
        ("  a: {status: A}", "  a: {status: A, transient: maybe}", "EXS003"),
        ("  a: {status: A}", "  a: {status: A, timeout_s: -3}", "EXS003"),
        ("  a: {status: A}", "  a: {}", "EXS004"),
        ("initial: a", "initial: 'a\"; import os'", "EXS005"),
        ("  Stop:", "  class:", "EXS005"),
        ("  Stop:", "  __import__:", "EXS005"),
        ("{from: a, to: z}", "{from: a, to: z, when: 'x and'}", "EXS104"),
        ("TaskAcknowledged]", "TaskAck]", "EXS106"),
        ("TaskStatusUpdated(Running)", "TaskStatusUpdated(Runing)", "EXS106"),
        (
            "  z: {status: Z, final: true}",
            "  z: {status: Z, final: true}\n  a: {status: B}",
            "EXS007",
        ),
    ],
)
def test_schema_errors(old: str, new: str, code: str) -> None:
    assert old in MINIMAL
    assert code in codes(MINIMAL.replace(old, new, 1))


def test_unknown_key_suggests_the_closest() -> None:
    diagnostics = load_spec_text(MINIMAL.replace("machine: m", "machin: m"), "m.yaml").diagnostics
    (diag,) = [d for d in diagnostics if d.code == "EXS002"]
    assert "did you mean 'machine'?" in diag.message
    assert diag.loc == Loc("m.yaml", 2, 1)


def test_all_schema_errors_reported_at_once() -> None:
    text = MINIMAL.replace("machine: m", "machin: m").replace("version: 1", "version: 7")
    text = text.replace("  a: {status: A}", "  a: {status: A, colour: red}")
    assert sorted(codes(text)) == ["EXS002", "EXS002", "EXS004", "EXS006"]
