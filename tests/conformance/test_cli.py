"""exo-spec conformance and trace-check as a user runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from exo_spec.cli import main
from exo_spec.conformance import default_spec_path
from exo_spec.conformance.planner import plan_scenarios
from exo_spec.conformance.scenario import flatten, to_task
from exo_spec.conformance.scenario_check import run_scenario
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


def test_bad_runner_reference_is_a_usage_error() -> None:
    assert main(["conformance", "--runner", "no_such_module:run"]) == 2
    assert main(["conformance", "--runner", "exo_spec"]) == 2


@pytest.mark.parametrize(
    ("source", "raised"),
    [
        ("def run(:\n", "SyntaxError: "),
        ("raise RuntimeError('no engine here')\n", "RuntimeError: no engine here"),
        ("import sys\nsys.exit(3)\n", "SystemExit: 3"),
    ],
)
def test_runner_that_raises_at_import_is_a_usage_error(
    tmp_path: Path, source: str, raised: str
) -> None:
    (tmp_path / "raising_runner.py").write_text(source)
    done = subprocess.run(
        [sys.executable, "-m", "exo_spec", "conformance", "--runner", "raising_runner:run"],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert f"cannot import runner raising_runner:run: {raised}" in done.stderr
    assert "Traceback" not in done.stderr
    assert done.stdout == ""


def test_default_spec_does_not_depend_on_the_working_directory(tmp_path: Path) -> None:
    assert default_spec_path().is_file()
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "exo_spec",
            "conformance",
            "--runner",
            "exo_spec.runtime.runner:run",
            "--examples",
            "0",
        ],
        cwd=tmp_path,  # no spec/ here
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


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
    assert [p.name for p in problems] == ["forbidden-transition"]


def test_trace_check_with_tasks_names_the_rule(runner_spec: Spec) -> None:
    problems = check_trace(
        runner_spec, _log(runner_spec, "trace[exo-lifecycle]", drop="RunnerLoaded", tasks=True)
    )
    assert any(
        p.name == "missing-runner-status" and "events.success" in p.message for p in problems
    )


def test_trace_check_no_final_status_and_unparsable(runner_spec: Spec) -> None:
    lines = _log(runner_spec, "cell[ready-ChatCompletion-cancelled]", drop="Cancelled")
    assert "task-never-finished" in {p.name for p in check_trace(runner_spec, lines)}
    bad = check_trace(
        runner_spec,
        [
            '{"RunnerStatusUpdated": {"runner_id": "r", "runner_status": {"RunnerIdle": {}}}}',
            "{oops",
            '{"Nope": {}}',
        ],
    )
    assert [(p.loc.line, p.code) for p in bad] == [(2, "EXS601"), (3, "EXS601")]


def test_trace_check_command(tmp_path: Path, runner_spec: Spec) -> None:
    good = tmp_path / "good.jsonl"
    good.write_text("\n".join(_log(runner_spec, "trace[exo-lifecycle]")) + "\n")
    assert main(["trace-check", str(good)]) == 0
    bad = tmp_path / "bad.jsonl"
    bad.write_text("\n".join(_log(runner_spec, "trace[exo-lifecycle]", drop="RunnerReady")) + "\n")
    assert main(["trace-check", str(bad)]) == 1
    assert main(["trace-check", str(tmp_path / "missing.jsonl")]) == 2


def test_trace_check_deeply_nested_line_is_unparsable(
    tmp_path: Path, runner_spec: Spec, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = _log(runner_spec, "trace[exo-lifecycle]")
    lines.insert(1, "[" * 100_000)
    lines.insert(2, "1" * 5_000)  # an integer Python will not convert
    assert [(p.loc.line, p.code) for p in check_trace(runner_spec, lines)] == [
        (2, "EXS601"),
        (3, "EXS601"),
    ]
    deep = tmp_path / "deep.jsonl"
    deep.write_text("\n".join(lines) + "\n")
    assert main(["trace-check", str(deep)]) == 1
    out = capsys.readouterr()
    assert f"{deep}:2:1: EXS601 not readable as JSON (nested too deeply)" in out.out
    assert "Traceback" not in out.err


def test_trace_check_directory_or_unreadable_file_is_an_io_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["trace-check", str(tmp_path)]) == 2
    assert f"cannot read {tmp_path}: Is a directory" in capsys.readouterr().err
    binary = tmp_path / "binary.jsonl"
    binary.write_bytes(b"\xff\xfe\n")
    assert main(["trace-check", str(binary)]) == 2
    assert f"cannot read {binary}: not UTF-8" in capsys.readouterr().err
    if os.geteuid() != 0:  # root reads a file whatever its mode
        locked = tmp_path / "locked.jsonl"
        locked.write_text("{}\n")
        locked.chmod(0)
        assert main(["trace-check", str(locked)]) == 2
        assert f"cannot read {locked}: Permission denied" in capsys.readouterr().err


@pytest.mark.parametrize("fmt", ["text", "json", "sarif", "github"])
def test_trace_check_formats_and_selection(
    tmp_path: Path, fmt: str, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.jsonl"
    idle = '{"RunnerStatusUpdated": {"runner_id": "r", "runner_status": {"RunnerIdle": {}}}}'
    bad.write_text(f"{idle}\n{idle}\n")
    assert main(["trace-check", "--format", fmt, str(bad)]) == 1
    out = capsys.readouterr().out
    assert "EXS603" in out
    if fmt in ("json", "sarif"):
        json.loads(out)
    assert main(["trace-check", "--format", fmt, "--ignore", "EXS6", str(bad)]) == 0
    assert main(["trace-check", "--select", "EXS5", str(bad)]) == 0


def test_pasted_reproducer_runs_anywhere(runner_spec: Spec) -> None:
    from exo_spec.conformance.report import reproducer_test
    from exo_spec.conformance.suite import run_suite
    from tests.conformance.runners import seed000_no_status_after_load

    report = run_suite(
        seed000_no_status_after_load.run, runner_spec, runner_name=BROKEN, examples=7
    )
    assert report.walks == 7  # the header says what was asked
    violation = report.violations[0]
    test = reproducer_test(violation, BROKEN, report.spec, report.timeout_s)
    assert "load_spec(default_spec_path())" in test
    assert str(ROOT) not in test
    assert "timeout_s=2.0" in test
    assert "weights=True" not in test
    assert "result='ok'" not in test
    namespace: dict[str, object] = {}
    exec(test, namespace)  # the pasted test, as a user runs it
    test_function = next(v for k, v in namespace.items() if k.startswith("test_conformance_"))
    with pytest.raises(AssertionError):
        test_function()  # type: ignore[operator]


def test_trace_check_refuses_a_log_without_acknowledgements(runner_spec: Spec) -> None:
    lines = _log(runner_spec, "trace[exo-lifecycle]", drop="TaskAcknowledged")
    assert "missing-required-event" in {p.name for p in check_trace(runner_spec, lines)}
