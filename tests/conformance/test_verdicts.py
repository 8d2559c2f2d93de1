"""The verdict table: every broken runner is rejected for its reason; ours and the fixed
exo-style loop pass; exo's current loop shows exactly its known deviations."""

from __future__ import annotations

import importlib

import pytest

from exo_spec.conformance.report import to_text
from exo_spec.conformance.suite import Report, run_suite
from exo_spec.runtime.runner import run as our_run
from exo_spec.spec import Spec

RUNNERS = "tests.conformance.runners"
BROKEN: dict[str, set[tuple[str, str]]] = {
    "seed000_no_status_after_load": {("missing-runner-status", "events.success")},
    "seed000_no_status_after_warmup": {("missing-runner-status", "events.success")},
    "seed000_no_status_after_chat": {("missing-runner-status", "events.success")},
    "seed001_no_download_handler": {("rejected-legal-task", "tasks.DownloadModel")},
    "seed002_load_rejected_when_connected": {("rejected-legal-task", "tasks.LoadModel")},
    "exception_kills_loop": {("loop-died", "on_error")},
    "illegal_task_left_running": {("running-before-guard", "events.reject")},
    "cancelled_without_status": {("no-final-status", "events.cancelled")},
    "status_before_outcome": {("out-of-order", "events.success")},
    "cancels_queued_shutdown": {("wrong-final-status", "events.accept")},
    # every field of every event, and what the runner does to the engine
    "wrong_runner_id": {("wrong-runner-id", "events")},
    "cancel_events_carry_target": {("event-for-wrong-task", "events.accept")},
    "first_chunk_dropped": {("wrong-chunk", "actions.generate")},
    "load_progress_backwards": {("progress-backwards", "actions.load")},
    "no_failure_message": {("empty-failure-message", "events.failure")},
    "thread_left_behind": {("event-after-return", "events")},
    "cancel_ignored": {("cancel-ignored", "actions.generate")},
    "close_on_failure": {("engine-call-outside-rule", "actions.shutdown")},
    "double_complete": {("second-final-status", "events")},
}
EXO_DEVIATIONS = {
    # one headline per bug: the first divergence of each scenario, its knock-ons folded in
    ("loop-died", "tasks.DownloadModel"),  # no DownloadModel case: the worker downloads
    ("loop-died", "events.reject"),  # an illegal task raises out of the loop
    ("running-before-guard", "events.reject"),  # TSU(Running) before the match
    ("accepted-illegal-task", "events.reject"),  # ConnectToGroup without a group, ...
    ("loop-died", "on_error"),  # an engine action that raises ends the loop
    ("missing-event", "events.accept"),  # the worker completes CancelTask, no Running/Ack
    ("out-of-order", "events.success"),  # a chat during a chat is batched, acked at once
    ("no-final-status", "events.success"),  # Shutdown during a chat abandons it
    ("unexpected-event", "events.accept"),  # batched chats and worker-side cancels
}


def _suite(name: str, spec: Spec) -> Report:
    runner = our_run if name == "ours" else importlib.import_module(f"{RUNNERS}.{name}").run
    return run_suite(runner, spec, runner_name=name, examples=30, timeout_s=2.0)


@pytest.fixture(scope="module")
def reports(runner_spec: Spec) -> dict[str, Report]:
    names = ["ours", "exo_loop", "exo_style", *BROKEN]
    out = {name: _suite(name, runner_spec) for name in names}
    rows = []
    for name, report in out.items():
        keys = sorted({(v.category, v.rule) for v in report.violations})
        verdict = "passed" if report.conformant else "caught"
        reason = "; ".join(f"{c} ({r})" for c, r in keys[:4]) + (" ..." if len(keys) > 4 else "")
        rows.append(f"{name:40s} {verdict:7s} {reason}")
    print("\nrunner                                   verdict reason\n" + "\n".join(rows))
    return out


def test_ours_passes(reports: dict[str, Report]) -> None:
    assert [v.headline for v in reports["ours"].violations] == []


def test_exo_style_loop_without_bugs_passes(reports: dict[str, Report]) -> None:
    assert [v.headline for v in reports["exo_loop"].violations] == []


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_broken_runner_is_caught_for_its_reason(reports: dict[str, Report], name: str) -> None:
    keys = {(v.category, v.rule) for v in reports[name].violations}
    assert BROKEN[name] <= keys


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_reproducer_is_short(reports: dict[str, Report], name: str) -> None:
    wanted = BROKEN[name]
    shortest = min(
        len(v.reproducer.sends) for v in reports[name].violations if (v.category, v.rule) in wanted
    )
    assert shortest <= 4


def test_exo_current_loop_shows_exactly_its_known_deviations(reports: dict[str, Report]) -> None:
    report = reports["exo_style"]
    planned = {(v.category, v.rule) for v in report.violations if not v.scenario.startswith("walk")}
    assert planned == EXO_DEVIATIONS


def test_exo_current_loop_passes_the_paths_it_gets_right(reports: dict[str, Report]) -> None:
    passed = {r.id for r in reports["exo_style"].results if not r.violations}
    assert {
        "cell[idle-LoadModel-has_group=0,weights_present=1-ok]",
        "cell[connected-LoadModel-has_group=1,weights_present=1-ok]",
        "cell[loaded-StartWarmup-ok]",
        "cell[ready-ChatCompletion-ok]",
        "pair[ChatCompletion@ready-ok-then-Shutdown@ready-ok]",
    } <= passed


def test_seed000_message_names_the_rule(reports: dict[str, Report]) -> None:
    heads = [v.headline for v in reports["seed000_no_status_after_load"].violations]
    assert any(
        "status change to loaded without RunnerStatusUpdated" in h
        and "(events.success, " in h
        and "runner.yaml:71)" in h
        for h in heads
    )


def test_full_run_against_ours_conforms(runner_spec: Spec) -> None:
    """The full default run (its time is measured in tools/bench/bench_suites.py)."""
    report = run_suite(our_run, runner_spec, runner_name="ours", examples=100)
    assert report.conformant


def test_one_extra_event_is_one_headline_naming_its_root(reports: dict[str, Report]) -> None:
    report = reports["double_complete"]
    assert all(len(r.violations) <= 1 for r in report.results)
    assert {v.category for v in report.violations} == {"second-final-status"}
    text = to_text(report)
    actual, expected = text.split("actual events")[1].split("expected events")[:2]
    marked = [line for line in expected.splitlines() if line.lstrip().startswith(">")]
    assert marked
    assert "RunnerStatusUpdated(RunnerLoaded)" in marked[0]
    assert ", Complete)" in next(
        line for line in actual.splitlines() if line.lstrip().startswith(">")
    )
