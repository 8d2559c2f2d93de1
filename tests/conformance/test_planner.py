"""The planned scenario families: derived from the spec, so no bug waits for a lucky walk."""

from __future__ import annotations

from exo_spec.conformance.planner import MAX_ARRIVALS, plan_scenarios
from exo_spec.conformance.scenario import Scenario
from exo_spec.spec import Spec


def _family(spec: Spec, kind: str) -> list[Scenario]:
    return [s for s in plan_scenarios(spec).scenarios if s.kind == kind]


def test_interrupt_family_has_every_short_sequence_of_arrivals(runner_spec: Spec) -> None:
    ids = {s.id for s in _family(runner_spec, "interrupt")}
    assert {
        "interrupt[running: ChatCompletion, ChatCompletion]",
        "interrupt[running: ChatCompletion, Shutdown]",
        "interrupt[running: Shutdown, ChatCompletion]",
        "interrupt[running: ChatCompletion, ChatCompletion, CancelTask->queued1]",
        "interrupt[running: ChatCompletion, ChatCompletion, CancelTask->queued2]",
        "interrupt[running: Shutdown, CancelTask->queued1]",
        "interrupt[running: CancelTask->running, CancelTask->running, CancelTask->running]",
    } <= ids
    # the arrivals: ChatCompletion, Shutdown (deferred) and CancelTask naming the running task
    # or any task queued before it; 3 of length 1, 3 * 3 + 2 of length 2, ...
    for scenario in _family(runner_spec, "interrupt"):
        host = scenario.sends[-1] if scenario.sends[-1].during else scenario.sends[-2]
        assert 1 <= len(host.during) <= MAX_ARRIVALS
        assert scenario.sends[-1].task == "Shutdown" or any(
            d.task == "Shutdown" for d in host.during
        )


def test_valuation_family_runs_every_state_under_both_group_values(runner_spec: Spec) -> None:
    cells = _family(runner_spec, "cell") + _family(runner_spec, "valuation")
    covered = {(s.id.split("[")[1].split("-")[0], s.has_group) for s in cells}
    for state in ("idle", "failed", "loaded", "ready", "running"):
        assert {(state, False), (state, True)} <= covered, state
    assert ("connected", True) in covered  # connected without a group is unreachable
    ids = {s.id for s in _family(runner_spec, "valuation")}
    assert "valuation[failed-DownloadModel-ok@has_group=1]" in ids


def test_after_final_family_sends_every_task_after_shutdown(runner_spec: Spec) -> None:
    found = _family(runner_spec, "after-final")
    assert {s.sends[-1].task for s in found} == set(runner_spec.tasks)
    assert {s.has_group for s in found} == {False, True}
    assert all(s.sends[-2].task == "Shutdown" for s in found)
