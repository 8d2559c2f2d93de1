"""A hanging runner is reported once per place it hangs at, with a reproducer that reaches it."""

from __future__ import annotations

import argparse

import pytest

from exo_spec.commands.conformance import add_arguments
from exo_spec.conformance.execute import DEFAULT_TIMEOUT_S
from exo_spec.conformance.hangs import DEFAULT_BUDGET_S, cut_after
from exo_spec.conformance.scenario import Send
from exo_spec.conformance.suite import run_suite
from exo_spec.spec import Spec
from tests.conformance.runners import hangs_on_every_load, hangs_on_warmup


def test_the_cli_and_a_reproducer_share_the_timeout_and_budget() -> None:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args(["--runner", "m:r"])
    assert args.timeout == DEFAULT_TIMEOUT_S
    assert args.budget == DEFAULT_BUDGET_S


def test_cut_after_keeps_the_task_and_what_came_before() -> None:
    during = (Send("t3", "ChatCompletion"), Send("t4", "CancelTask", target="t2"))
    sends = (Send("t1", "LoadModel"), Send("t2", "ChatCompletion", during=during), Send("t5", "X"))
    assert cut_after(sends, "t3") == (sends[0], Send("t2", "ChatCompletion", during=during[:1]))
    assert cut_after(sends, "t2") == (sends[0], Send("t2", "ChatCompletion"))


@pytest.mark.parametrize(
    ("module", "rule", "tasks"),
    [
        (hangs_on_warmup, "tasks.StartWarmup", ["LoadModel", "StartWarmup"]),
        (hangs_on_every_load, "tasks.LoadModel", ["LoadModel"]),
    ],
)
def test_a_runner_that_hangs_on_one_task_is_reported_with_its_reproducer(
    runner_spec: Spec, module: object, rule: str, tasks: list[str]
) -> None:
    report = run_suite(
        module.run,  # type: ignore[attr-defined]
        runner_spec,
        runner_name="hangs",
        examples=20,
        timeout_s=0.5,
    )
    hangs = [v for v in report.violations if v.category == "hang"]
    assert rule in {v.rule for v in hangs}
    first = next(v for v in hangs if v.rule == rule)
    assert [s.task for s in first.reproducer.sends] == tasks
    # every other scenario that reaches the same place is not run, and says why
    skipped = [r for r in report.results if r.skipped]
    assert skipped
    assert all("hung" in r.skipped and not r.violations for r in skipped)
    assert not report.unfinished


def test_a_spent_budget_lists_what_was_not_run(runner_spec: Spec) -> None:
    report = run_suite(
        hangs_on_warmup.run, runner_spec, runner_name="hangs", examples=5, budget_s=1e-9
    )
    assert report.unfinished
    assert not report.conformant
