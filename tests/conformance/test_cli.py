"""exo-spec conformance and trace-check as a user runs them."""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

from exo_spec.cli import main
from exo_spec.conformance.check import run_scenario
from exo_spec.conformance.scenario import flatten, to_task
from exo_spec.conformance.scenarios import plan_scenarios
from exo_spec.conformance.tracelog import check_trace
from exo_spec.runtime.runner import run as our_run
from exo_spec.runtime.wire import event_to_json, task_to_json
from exo_spec.spec import Spec

ROOT = Path(__file__).resolve().parents[2]
BROKEN = "tests.conformance.runners.seed000_no_status_after_load:run"


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "exo_spec", "conformance", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_subprocess_ours_exits_0() -> None:
    done = _cli("--runner", "exo_spec.runtime.runner:run", "--examples", "20")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "conformant" in done.stdout


def test_subprocess_broken_exits_1_with_a_pasteable_test() -> None:
    done = _cli("--runner", BROKEN, "--examples", "5")
    assert done.returncode == 1
    assert "status change to loaded without RunnerStatusUpdated" in done.stdout
    assert "def test_conformance_missing_runner_status_events_success() -> None:" in done.stdout


def test_bad_runner_reference_is_a_usage_error(capsys: object) -> None:
    assert main(["conformance", "--runner", "no_such_module:run"]) == 2
    assert main(["conformance", "--runner", "exo_spec"]) == 2


def test_junit_parses(tmp_path: Path) -> None:
    out = tmp_path / "report.xml"
    assert (
        main(
            [
                "conformance",
                "--runner",
                BROKEN,
                "--format",
                "junit",
                "--output",
                str(out),
                "--examples",
                "5",
            ]
        )
        == 1
    )
    suite = ET.parse(out).getroot()
    assert suite.tag == "testsuite"
    cases = suite.findall("testcase")
    assert len(cases) == int(suite.attrib["tests"])
    failed = [c for c in cases if c.find("failure") is not None]
    assert len(failed) == int(suite.attrib["failures"]) > 0


def test_json_report(tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    assert (
        main(
            [
                "conformance",
                "--runner",
                BROKEN,
                "--format",
                "json",
                "--output",
                str(out),
                "--examples",
                "0",
            ]
        )
        == 1
    )
    data = json.loads(out.read_text())
    assert data["conformant"] is False
    assert {v["rule"] for v in data["violations"]} >= {"events.success"}


def _log(
    runner_spec: Spec, scenario_id: str, drop: str | None = None, tasks: bool = False
) -> list[str]:
    scenario = next(s for s in plan_scenarios(runner_spec).scenarios if s.id == scenario_id)
    outcome = run_scenario(our_run, runner_spec, scenario)
    lines = [json.dumps(event_to_json(e)) for e in outcome.run.events]  # type: ignore[arg-type]
    if tasks:  # a task line just before the task's first event
        for send in reversed(flatten(scenario.sends)):
            at = next(
                (k for k, line in enumerate(lines) if f'"task_id": "{send.id}"' in line), len(lines)
            )
            lines.insert(
                at,
                json.dumps({"task": task_to_json(to_task(send)), "weights_present": send.weights}),
            )
    return [line for line in lines if drop is None or drop not in line]


def test_trace_check_accepts_our_log(runner_spec: Spec) -> None:
    assert check_trace(runner_spec, _log(runner_spec, "trace[exo-lifecycle]")) == []
    assert check_trace(runner_spec, _log(runner_spec, "cancel[running-chat]", tasks=True)) == []


def test_trace_check_finds_a_status_change_without_event(runner_spec: Spec) -> None:
    problems = check_trace(
        runner_spec, _log(runner_spec, "trace[exo-lifecycle]", drop="RunnerLoaded")
    )
    assert [p.category for p in problems] == ["forbidden-transition"]


def test_trace_check_with_tasks_names_the_rule(runner_spec: Spec) -> None:
    problems = check_trace(
        runner_spec, _log(runner_spec, "trace[exo-lifecycle]", drop="RunnerLoaded", tasks=True)
    )
    assert any(
        p.category == "missing-runner-status" and "events.success" in p.message for p in problems
    )


def test_trace_check_no_final_status_and_unparsable(runner_spec: Spec) -> None:
    lines = _log(runner_spec, "cell[ready-ChatCompletion-cancelled]", drop="Cancelled")
    assert "no-final-status" in {p.category for p in check_trace(runner_spec, lines)}
    bad = check_trace(
        runner_spec,
        [
            '{"RunnerStatusUpdated": {"runner_id": "r", "runner_status": {"RunnerIdle": {}}}}',
            "{oops",
            '{"Nope": {}}',
        ],
    )
    assert [(p.line, p.category) for p in bad] == [(2, "unparsable"), (3, "unparsable")]


def test_trace_check_command(tmp_path: Path, runner_spec: Spec) -> None:
    good = tmp_path / "good.jsonl"
    good.write_text("\n".join(_log(runner_spec, "trace[exo-lifecycle]")) + "\n")
    assert main(["trace-check", str(good)]) == 0
    bad = tmp_path / "bad.jsonl"
    bad.write_text("\n".join(_log(runner_spec, "trace[exo-lifecycle]", drop="RunnerReady")) + "\n")
    assert main(["trace-check", str(bad)]) == 1
    assert main(["trace-check", str(tmp_path / "missing.jsonl")]) == 2
