"""A machine of any kind: no events block, no final state, states named off/on/yes/no, rules
configured from ``[tool.exo-spec]`` and suppressed inline with ``# noqa``."""

from __future__ import annotations

from pathlib import Path

import pytest

from exo_spec.check import lint, lint_loaded
from exo_spec.check.config import ConfigError, find_config, selection
from exo_spec.cli import main
from exo_spec.codegen.generate import spec_problems
from exo_spec.spec import load_spec, load_spec_text

SWITCH = """\
version: 1
machine: switch
initial: off
states:
  off: {status: Off}
  on: {status: On}
tasks:
  TurnOn:
    - {from: off, to: on}
  TurnOff:
    - {from: on, to: off}
"""

JOB = """\
version: 1
machine: job
initial: idle
actions:
  work: {doc: do the job}
states:
  idle: {status: Idle}
  busy: {status: Busy, transient: true, timeout_s: 30}
  running: {status: Running}
  failed: {status: Failed}
  done: {status: Done, final: true}
tasks:
  Start:
    - {from: [idle, failed], via: busy, do: work, to: running}
  Stop:
    - {from: "*", to: done}
on_error: failed
"""


def test_a_plain_two_state_machine_needs_no_events_and_no_end() -> None:
    result = load_spec_text(SWITCH, "switch.yaml")
    assert result.diagnostics == ()
    assert result.spec is not None
    assert [s.name for s in result.spec.states] == ["off", "on"]
    assert result.spec.initial == "off"
    assert lint_loaded(result) == []


UPLOAD = """\
version: 1
machine: upload
initial: idle
guards:
  has_credentials: {doc: the credentials were loaded}
actions:
  send: {doc: stream the file}
  verify: {doc: compare the checksum}
states:
  idle: {status: Idle}
  sending: {status: Sending, transient: true, timeout_s: 600}
  sent: {status: Sent}
  verifying: {status: Verifying, transient: true, timeout_s: 60}
  done: {status: Done, final: true}
  failed: {status: Failed}
tasks:
  Send:
    - {from: [idle, failed], when: has_credentials, via: sending, do: send, to: sent}
  Verify:
    - {from: sent, via: verifying, do: verify, to: done}
on_error: failed
"""


def test_a_flow_that_ends_from_one_state_need_not_be_ended_from_every_state() -> None:
    """EXS207 asks every state to accept the task that ends the machine from anywhere (the
    runner's Shutdown); a task that ends the flow from one state is not such a task."""
    result = load_spec_text(UPLOAD, "upload.yaml")
    assert result.diagnostics == ()
    assert lint_loaded(result) == []


def test_a_way_out_from_several_states_must_be_accepted_in_every_state() -> None:
    """With a Cancel that ends the upload from two states, the third one lacking it is named."""
    text = UPLOAD.replace(
        "on_error: failed", "  Cancel:\n    - {from: [idle, sent], to: done}\non_error: failed"
    )
    result = load_spec_text(text, "upload.yaml")
    found = [d for d in lint_loaded(result) if d.code == "EXS207"]
    assert [d.message.split(" does not")[0] for d in found] == ["state failed"]
    assert "Cancel" in found[0].message


@pytest.mark.parametrize("word", ["yes", "no", "on", "off", "Yes", "OFF", "y", "n"])
def test_a_yaml_11_boolean_word_is_read_as_a_name(word: str) -> None:
    text = SWITCH.replace(": on}", ": lit}").replace("  on:", "  lit:")
    text = text.replace(": off", f": {word}").replace("  off:", f"  {word}:")
    result = load_spec_text(text, "switch.yaml")
    assert result.diagnostics == ()
    assert result.spec is not None
    assert word in {s.name for s in result.spec.states}


def test_true_and_false_are_not_names() -> None:
    found = load_spec_text(SWITCH.replace("off", "false"), "switch.yaml").diagnostics
    assert {d.code for d in found} == {"EXS005"}
    d = found[0]
    assert "'false' is not a valid name" in d.message


def test_a_state_that_can_only_end_is_no_finding_unless_selected() -> None:
    result = load_spec_text(JOB, "job.yaml")
    assert lint_loaded(result) == []
    [d] = lint_loaded(result, select=["EXS218"])
    assert d.code == "EXS218"
    assert "state running accepts only Stop: the machine can only end there" in d.message
    assert "runner" not in d.message


def test_noqa_suppresses_the_named_code_on_its_line() -> None:
    marked = JOB.replace(
        "  running: {status: Running}", "  running: {status: Running}  # noqa: EXS218"
    )
    assert lint_loaded(load_spec_text(marked, "job.yaml"), select=["EXS"]) == []
    bare = JOB.replace("  running: {status: Running}", "  running: {status: Running}  # noqa")
    assert lint_loaded(load_spec_text(bare, "job.yaml"), select=["EXS"]) == []
    other = JOB.replace(
        "  running: {status: Running}", "  running: {status: Running}  # noqa: EXS211"
    )
    assert [d.code for d in lint_loaded(load_spec_text(other, "job.yaml"), select=["EXS"])] == [
        "EXS218"
    ]


def _project(tmp_path: Path, config: str, spec: str = JOB, name: str = "specs/job.yaml") -> Path:
    (tmp_path / "pyproject.toml").write_text(config, encoding="utf-8")
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(spec, encoding="utf-8")
    return path


def test_pyproject_selects_and_the_command_line_overrides(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _project(tmp_path, '[tool.exo-spec]\nextend-select = ["EXS218"]\n')
    assert main(["check", "--format", "json", str(path)]) == 1
    assert '"EXS218"' in capsys.readouterr().out
    assert main(["check", "--select", "EXS1", str(path)]) == 0
    assert main(["check", "--ignore", "EXS218", str(path)]) == 0
    capsys.readouterr()


def test_pyproject_ignores_and_per_file_ignores(tmp_path: Path) -> None:
    path = _project(
        tmp_path,
        '[tool.exo-spec]\nselect = ["EXS"]\n'
        '[tool.exo-spec.per-file-ignores]\n"specs/*.yaml" = ["EXS218"]\n',
    )
    config = find_config(path)
    assert selection(config, path) == (["EXS"], ["EXS218"])
    assert selection(config, tmp_path / "other" / "job.yaml") == (["EXS"], [])
    ignored = _project(tmp_path, '[tool.exo-spec]\nselect = ["EXS"]\nignore = ["EXS218"]\n')
    assert main(["check", str(ignored)]) == 0


def test_generate_lints_with_the_same_configuration(tmp_path: Path) -> None:
    path = _project(tmp_path, '[tool.exo-spec]\nextend-select = ["EXS218"]\n')
    spec = load_spec(path).spec
    assert spec is not None
    assert [d.code for d in spec_problems(spec)] == ["EXS218"]
    _project(tmp_path, "[tool.exo-spec]\n")
    assert spec_problems(spec) == []


def test_a_bad_configuration_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _project(tmp_path, '[tool.exo-spec]\nselekt = ["EXS218"]\n')
    with pytest.raises(ConfigError, match="unknown key 'selekt'"):
        find_config(path)
    assert main(["check", str(path)]) == 2
    assert "unknown key 'selekt'" in capsys.readouterr().err
    _project(tmp_path, '[tool.exo-spec]\nignore = ["XYZ1"]\n')
    with pytest.raises(ConfigError, match="no code starts with 'XYZ1'"):
        find_config(path)


def test_the_projects_own_spec_is_checked_for_dead_ends() -> None:
    spec = Path(__file__).parents[2] / "spec" / "runner.yaml"
    select, _ = selection(find_config(spec), spec)
    assert select is not None
    assert "EXS218" in select
    assert lint(spec, select) == []
