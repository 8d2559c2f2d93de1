"""Tasks sent while an action runs, composed from step(): the nested rule decides the state."""

from __future__ import annotations

from exo_spec.model.nested import OTHER_TASK, Dispatch, run_nested, waits
from exo_spec.model.valuations import full_valuation
from exo_spec.spec import Spec


def test_a_task_sent_in_a_transient_state_waits(runner_spec: Spec) -> None:
    guards = full_valuation(runner_spec, {})
    assert waits(runner_spec, "downloading")
    assert not waits(runner_spec, "running")
    assert not waits(runner_spec, "shutdown")
    outer = Dispatch("DownloadModel", guards, "ok", (Dispatch("Shutdown", guards, "ok"),))
    want = run_nested(runner_spec, "idle", outer)
    assert (want.state, want.kinds, want.calls) == ("idle", ("accepted", "deferred"), ("download",))


def test_a_nested_rule_that_moves_the_runner_keeps_it_there(runner_spec: Spec) -> None:
    guards = full_valuation(runner_spec, {})
    cancel = Dispatch("CancelTask", guards, "fail")
    shutdown = Dispatch("Shutdown", guards, "ok")
    want = run_nested(
        runner_spec, "ready", Dispatch("ChatCompletion", guards, "ok", (cancel, shutdown))
    )
    assert want.state == "shutdown"
    assert want.kinds == ("accepted", "accepted", "accepted")
    assert want.calls == ("generate", f"cancel{OTHER_TASK}", f"shutdown{OTHER_TASK}")
    assert want.events[-2:] == (
        ("runner_status", "shutdown", None),
        ("task_status", "Complete", None),
    )
    assert ("runner_status", "ready", None) not in want.events


def test_a_nested_rule_that_stays_lets_the_outer_one_finish(runner_spec: Spec) -> None:
    guards = full_valuation(runner_spec, {})
    outer = Dispatch("ChatCompletion", guards, "cancelled", (Dispatch("CancelTask", guards, "ok"),))
    want = run_nested(runner_spec, "ready", outer)
    assert want.state == "ready"
    assert want.events[-2:] == (
        ("task_status", "Cancelled", None),
        ("runner_status", "ready", None),
    )
