"""``exo-spec explore``: exit codes, the trace under each text finding, the linter's formats."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from exo_spec.cli import main


def test_clean_exploration_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explore", "--runners", "2", "--weights"]) == 0
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "explored" in captured.err
    assert "All checks passed." in captured.err


def test_findings_exit_1_with_their_shortest_trace(capsys: pytest.CaptureFixture[str]) -> None:
    # a group does not re-form once a rank has restarted (a finding about the node)
    args = ["explore", "--runners", "2", "--weights", "--faults", "crash", "--select", "EXS706"]
    assert main(args) == 1
    out = capsys.readouterr().out
    assert "EXS706" in out
    assert "  6. rank 1: the runner process crashes in connecting" in out
    assert "  replay (pytest):" in out
    assert "    def test_replay_exs706() -> None:" in out


def test_replay_dir_gets_one_test_per_finding(tmp_path: Path) -> None:
    args = ["explore", "--runners", "2", "--weights", "--faults", "crash"]
    assert main([*args, "--replay-dir", str(tmp_path)]) == 1
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["test_replay_exs701.py", "test_replay_exs706.py"]


def test_json_and_sarif(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["explore", "--runners", "2", "--weights", "--faults", "crash"]
    assert main([*args, "--format", "json"]) == 1
    codes = {d["code"] for d in json.loads(capsys.readouterr().out)}
    assert codes == {"EXS701", "EXS706"}
    assert main([*args, "--format", "sarif"]) == 1
    log = json.loads(capsys.readouterr().out)
    assert {r["id"] for r in log["runs"][0]["tool"]["driver"]["rules"]} >= {"EXS701", "EXS710"}


def test_unknown_fault_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explore", "--faults", "meteor"]) == 2
    assert "unknown fault 'meteor'" in capsys.readouterr().err
