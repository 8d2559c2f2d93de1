"""The whole suite: every planned scenario, then the random walks; one report."""

from __future__ import annotations

import time
from typing import cast

from attrs import evolve, frozen

from exo_spec.conformance.execute import DEFAULT_TIMEOUT_S, RunnerCallable
from exo_spec.conformance.planner import plan_scenarios
from exo_spec.conformance.scenario_check import Violation, run_scenario, shrink, violations_of
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


@frozen
class Report:
    """Everything the suite found for one runner and one spec."""

    runner: str
    spec: str
    results: tuple[ScenarioResult, ...]
    unreachable: tuple[str, ...]
    walks: int
    seed: int
    seconds: float

    @property
    def violations(self) -> tuple[Violation, ...]:
        return tuple(v for r in self.results for v in r.violations)

    @property
    def conformant(self) -> bool:
        return not self.violations

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
) -> Report:
    """Run every scenario of ``spec`` and ``examples`` random walks against ``runner``."""
    start = time.perf_counter()
    plan = plan_scenarios(spec)
    results: list[ScenarioResult] = []
    shrunk: dict[tuple[str, str], Violation] = {}
    for scenario in plan.scenarios:
        outcome = run_scenario(runner, spec, scenario, timeout_s=timeout_s)
        found = violations_of(runner, spec, outcome, minimise=False, timeout_s=timeout_s)
        final: list[Violation] = []
        for violation in found:
            key = (violation.code, violation.rule)
            if minimise and key not in shrunk:
                bound = min(timeout_s, 1.0) if violation.category == "hang" else timeout_s
                small = shrink(runner, spec, violation.reproducer, key, timeout_s=bound)
                shrunk[key] = evolve(violation, reproducer=small)
            final.append(
                evolve(violation, reproducer=shrunk[key].reproducer) if key in shrunk else violation
            )
        results.append(
            ScenarioResult(scenario.id, scenario.kind, outcome.run.seconds, tuple(final))
        )
    from exo_spec.conformance.walks import run_walks  # noqa: PLC0415  (hypothesis: an extra)

    walked = run_walks(runner, spec, examples=examples, walk_seed=walk_seed, timeout_s=timeout_s)
    if walked.failing is not None:
        found = violations_of(runner, spec, walked.failing, minimise=minimise, timeout_s=timeout_s)
        results.append(ScenarioResult(walked.failing.scenario.id, "walk", 0.0, tuple(found)))
    elif walked.examples:
        results.append(ScenarioResult(f"walk[seed={walk_seed}]", "walk", 0.0, ()))
    return Report(
        runner_name,
        spec.path,
        tuple(results),
        plan.unreachable,
        walked.examples,
        walk_seed,
        time.perf_counter() - start,
    )
