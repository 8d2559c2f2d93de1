"""The code table: every code is explained, every example triggers its code, every code selects.

The lists are derived from the table (:data:`exo_spec.spec.codes.CODES`), never written by hand.
"""

from __future__ import annotations

import importlib
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from exo_spec.check import CHECKS, lint
from exo_spec.cli import main
from exo_spec.codegen.limits import size_problems
from exo_spec.codegen.reserved import name_problems
from exo_spec.conformance import default_spec_path
from exo_spec.conformance.execute import RunResult
from exo_spec.conformance.oracle import expect
from exo_spec.conformance.planner import plan_scenarios
from exo_spec.conformance.scenario import Scenario, Send
from exo_spec.conformance.scenario_check import check_scenario
from exo_spec.conformance.tracelog import check_trace
from exo_spec.conformance.verify import diagnose
from exo_spec.runtime import check_binding
from exo_spec.spec import Spec, load_spec
from exo_spec.spec.codes import CODES
from exo_spec.spec.explain import EXPLANATIONS, explain

ROOT = Path(__file__).resolve().parents[2]
ALL = [c.code for c in CODES]
SPEC_TEXT = default_spec_path().read_text(encoding="utf-8")


def _kind(kind: str) -> list[str]:
    return [code for code in ALL if EXPLANATIONS[code].example.kind == kind]


def test_every_code_is_explained_and_every_check_has_a_code() -> None:
    assert set(EXPLANATIONS) == set(ALL)
    assert len(ALL) == len(set(ALL))
    assert set(CHECKS) == {c.code for c in CODES if c.origin == "check"}


@pytest.mark.parametrize("code", _kind("spec"))
def test_spec_example_yields_its_code(code: str, tmp_path: Path) -> None:
    example = EXPLANATIONS[code].example
    text = SPEC_TEXT
    for old, new in example.edits:
        assert old in text, f"{code}: the example's edit no longer applies"
        text = text.replace(old, new, 1)
    path = tmp_path / "runner.yaml"
    path.write_text(text, encoding="utf-8")
    found = {d.code for d in lint(path, select=["EXS"])}  # every code, EXS218 too
    loaded = load_spec(path)
    if loaded.spec is not None:
        found |= {d.code for d in name_problems(loaded.spec)}
        found |= {d.code for d in size_problems(loaded.spec)}
    assert found == {code, *example.also}


@pytest.mark.parametrize("code", _kind("trace"))
def test_trace_example_yields_its_code(code: str, runner_spec: Spec) -> None:
    example = EXPLANATIONS[code].example
    assert {d.code for d in check_trace(runner_spec, example.lines)} == {code, *example.also}


def test_fixture_examples_are_all_tested() -> None:
    assert set(_kind("fixture")) == set(FIXTURES)


def _missing_file(tmp_path: Path, _: Spec) -> set[str]:
    return {d.code for d in lint(tmp_path / "missing.yaml")}


def _stale(tmp_path: Path, _: Spec) -> set[str]:
    from exo_spec.codegen.generate import quick_check_generated

    return {d.code for d in quick_check_generated(default_spec_path(), tmp_path)}


def _unbound(_: Path, spec: Spec) -> set[str]:
    return {d.code for d in check_binding(spec, "tests.check.test_rule_examples:Unbound")}


class Unbound:
    """A binding with no guard or action method at all."""


def _dead(spec: Spec, timed_out: bool) -> set[str]:
    scenario = Scenario("s", "cell", False, (Send("t1", "Shutdown", False, "ok", (), None),))
    events: tuple[object, ...] = ()
    run = RunResult(events, None if timed_out else "RuntimeError: boom", timed_out, ("t1",), 0.0)
    return {d.code for d in diagnose(spec, expect(spec, scenario), (), run)}


def _broken(name: str, scenario_id: str) -> Callable[[Path, Spec], set[str]]:
    """The codes the broken runner fixture ``name`` shows on one planned scenario."""

    def found(_: Path, spec: Spec) -> set[str]:
        runner = importlib.import_module(f"tests.conformance.runners.{name}").run
        scenario = next(s for s in plan_scenarios(spec).scenarios if s.id == scenario_id)
        return {v.code for v in check_scenario(runner, spec, scenario)}

    return found


def _explored(code: str) -> Callable[[Path, Spec], set[str]]:
    def run(_: Path, spec: Spec) -> set[str]:
        from exo_spec.explore import findings
        from tests.explore.variants import run

        return {d.code for d in findings(run(spec, code))}

    return run


FIXTURES: dict[str, Callable[[Path, Spec], set[str]]] = {
    **{f"EXS7{n:02}": _explored(f"EXS7{n:02}") for n in range(1, 11)},
    "EXS000": _missing_file,
    "EXS301": _stale,
    "EXS401": _unbound,
    "EXS513": lambda _, spec: _dead(spec, True),
    "EXS514": lambda _, spec: _dead(spec, False),
    "EXS515": _broken("wrong_runner_id", "trace[exo-lifecycle]"),
    "EXS516": _broken("cancel_events_carry_target", "cell[ready-ChatCompletion-cancelled]"),
    "EXS517": _broken("first_chunk_dropped", "cell[ready-ChatCompletion-ok]"),
    "EXS518": _broken("load_progress_backwards", "trace[exo-lifecycle]"),
    "EXS519": _broken("no_failure_message", "cell[idle-ConnectToGroup-has_group=0-reject]"),
    "EXS520": _broken("thread_left_behind", "trace[exo-lifecycle]"),
    "EXS521": _broken("cancel_ignored", "cell[ready-ChatCompletion-cancelled]"),
    "EXS522": _broken("close_on_failure", "cell[idle-DownloadModel-fail]"),
}


@pytest.mark.parametrize("code", sorted(FIXTURES))
def test_fixture_example_yields_its_code(code: str, tmp_path: Path, runner_spec: Spec) -> None:
    assert code in FIXTURES[code](tmp_path, runner_spec)


@pytest.mark.parametrize("code", ALL)
def test_rules_code_prints_the_explanation(code: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules", code.lower()]) == 0
    out = capsys.readouterr().out
    assert out == explain(code)
    assert "Why: " in out
    assert "Use instead: " in out
    assert "Example (" in out


def test_rules_unknown_code_is_a_usage_error() -> None:
    assert main(["rules", "EXS999"]) == 2


@pytest.mark.parametrize("command", ["check", "conformance", "trace-check", "explore"])
def test_select_and_ignore_accept_every_code_in_a_fresh_process(command: str) -> None:
    """No rule module is imported before the options are parsed: every code is known."""
    codes = ",".join(ALL)
    script = (
        "from exo_spec.cli import _load, _Parser\n"
        f"module = _load({command!r})\n"
        "parser = _Parser(prog='x')\n"
        "module.add_arguments(parser)\n"
        f"extra = {['--runner', 'm:r'] if command == 'conformance' else (['t.jsonl'] if command == 'trace-check' else [])!r}\n"
        f"args = parser.parse_args([*extra, '--select', {codes!r}, '--ignore', {codes!r}])\n"
        f"assert len(args.select) == len(args.ignore) == {len(ALL)}\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
