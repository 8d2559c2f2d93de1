"""The whole suite: every planned scenario, then the random walks; one report."""

from __future__ import annotations

import time
from typing import cast

from attrs import evolve, frozen

from exo_spec.conformance.execute import DEFAULT_TIMEOUT_S, RunnerCallable
from exo_spec.conformance.hangs import DEFAULT_BUDGET_S, Hangs
from exo_spec.conformance.oracle import expect
from exo_spec.conformance.planner import plan_scenarios
from exo_spec.conformance.scenario_check import (
    Violation,
    hang_reproducer,
    run_scenario,
    shrink,
    shrunk_violations,
    violations_of,
)
from exo_spec.runtime.binding import import_project_module, resolve_object
from exo_spec.spec import Spec

__all__ = ["Report", "ScenarioResult", "resolve_runner", "run_suite"]


@frozen
class ScenarioResult:
    """One scenario's verdict (a test case in the JUnit output)."""

    id: str
    kind: str
    seconds: float
    violations: tuple[Violation, ...]
    skipped: str = ""  # why it was not run (it reaches where the runner hung)


@frozen
class Report:
    """Everything the suite found for one runner and one spec."""

    runner: str
    spec: str
    results: tuple[ScenarioResult, ...]
    unreachable: tuple[str, ...]
    walks: int  # the random walks asked for
    seed: int
    seconds: float
    unfinished: tuple[str, ...] = ()  # not run: the run's budget was spent
    budget_s: float = DEFAULT_BUDGET_S
    timeout_s: float = DEFAULT_TIMEOUT_S

    @property
    def violations(self) -> tuple[Violation, ...]:
        return tuple(v for r in self.results for v in r.violations)

    @property
    def conformant(self) -> bool:
        """No violation, and every scenario was run or reaches where the runner hung."""
        return not self.violations and not self.unfinished

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for result in self.results:
            out[result.kind] = out.get(result.kind, 0) + 1
        return out


def resolve_runner(reference: str) -> RunnerCallable:
    """The callable named ``module:callable``; ``ValueError`` says what is wrong with it.

    Whatever importing the module raises (``SyntaxError``, ``RuntimeError``, ``SystemExit``, ...)
    comes back as a ``ValueError`` naming the runner and the exception, never a traceback.
    """
    module_name, sep, attribute = reference.partition(":")
    if sep and module_name and attribute:
        try:
            import_project_module(module_name)
        except (Exception, SystemExit) as exc:
            raise ValueError(
                f"cannot import runner {reference}: {type(exc).__name__}: {exc}"
            ) from None
    try:
        value = resolve_object(reference)
    except ValueError:
        raise
    except Exception as exc:  # a module __getattr__ that raises
        raise ValueError(f"cannot import runner {reference}: {type(exc).__name__}: {exc}") from None
    if not callable(value):
        raise ValueError(f"{reference} is a {type(value).__name__}, not a callable")
    return cast(RunnerCallable, value)


def run_suite(
    runner: RunnerCallable,
    spec: Spec,
    *,
    runner_name: str,
    examples: int = 100,
    walk_seed: int = 0,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    minimise: bool = True,
    budget_s: float = DEFAULT_BUDGET_S,
) -> Report:
    """Run every scenario of ``spec`` and ``examples`` random walks against ``runner``, within
    ``budget_s`` seconds (what is left when it is spent is listed as unfinished)."""
    start = time.perf_counter()
    plan = plan_scenarios(spec)
    results: list[ScenarioResult] = []
    unfinished: list[str] = []
    shrunk: dict[tuple[str, str], Violation] = {}
    hangs = Hangs(timeout_s, budget_s)
    for scenario in plan.scenarios:
        if hangs.spent:
            unfinished.append(scenario.id)
            continue
        expectation = expect(spec, scenario)
        hung = hangs.known(expectation)
        if hung is not None:
            why = f"not run: it reaches where the runner hung in {hung}"
            results.append(ScenarioResult(scenario.id, scenario.kind, 0.0, (), why))
            continue
        outcome = run_scenario(runner, spec, scenario, timeout_s=hangs.bound())
        run = outcome.run
        hangs.note(scenario.id, expectation, run.timed_out, run.seconds, run.received)
        found = violations_of(outcome)
        final: list[Violation] = []
        for violation in found:
            key = (violation.code, violation.rule)
            if minimise and key not in shrunk:
                if violation.category == "hang":
                    small = hang_reproducer(runner, spec, outcome, hangs.bound())
                else:
                    small = shrink(runner, spec, violation, timeout_s=hangs.bound(), hangs=hangs)
                shrunk[key] = evolve(violation, reproducer=small)
            final.append(
                evolve(violation, reproducer=shrunk[key].reproducer) if key in shrunk else violation
            )
        results.append(
            ScenarioResult(scenario.id, scenario.kind, outcome.run.seconds, tuple(final))
        )
    from exo_spec.conformance.walks import run_walks  # noqa: PLC0415  (hypothesis: an extra)

    walked = run_walks(
        runner, spec, examples=examples, walk_seed=walk_seed, timeout_s=timeout_s, hangs=hangs
    )
    if walked.failing is not None:
        failing = walked.failing
        if minimise:
            found = shrunk_violations(runner, spec, failing, hangs.bound())
        else:
            found = violations_of(failing)
        results.append(ScenarioResult(walked.failing.scenario.id, "walk", 0.0, tuple(found)))
    elif walked.examples:
        results.append(ScenarioResult(f"walk[seed={walk_seed}]", "walk", 0.0, ()))
    if walked.unfinished:
        unfinished.append(f"walk[seed={walk_seed}]")
    return Report(
        runner_name,
        spec.path,
        tuple(results),
        plan.unreachable,
        examples,
        walk_seed,
        time.perf_counter() - start,
        tuple(unfinished),
        budget_s,
        timeout_s,
    )
