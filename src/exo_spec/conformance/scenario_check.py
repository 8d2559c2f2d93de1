"""Check one scenario: expected trace, run, findings; and shrink a failing scenario.

:func:`check_scenario` is what a reproducer test calls. :func:`shrink` deletes tasks greedily
(top-level ones and the ones arriving during a generation) while the same rule stays broken,
so a violation is reported with the shortest task sequence that still shows it.
"""

from __future__ import annotations

from attrs import evolve, frozen

from exo_spec.conformance.execute import DEFAULT_TIMEOUT_S, RunnerCallable, RunResult, execute
from exo_spec.conformance.fields import check_fields
from exo_spec.conformance.hangs import HANG_PROBE_S, Hangs, cut_after, model_shrink, place_of
from exo_spec.conformance.oracle import Expectation, expect
from exo_spec.conformance.scenario import Scenario, shrunk_candidates
from exo_spec.conformance.scripted_engine import EngineScript
from exo_spec.conformance.verify import diagnose, find_divergence, observe
from exo_spec.spec import Spec
from exo_spec.spec.diagnostics import Diagnostic

__all__ = [
    "Outcome",
    "Violation",
    "check_scenario",
    "hang_reproducer",
    "run_scenario",
    "shrink",
    "shrunk_violations",
    "violations_of",
]


@frozen
class Violation:
    """A finding (an ``EXS5xx`` diagnostic at the spec rule it breaks), with both traces and the
    shortest scenario that reproduces it."""

    scenario: str
    diagnostic: Diagnostic
    expected: tuple[str, ...]
    actual: tuple[str, ...]
    reproducer: Scenario
    expected_index: int | None = None  # where the expected trace and the actual one part

    @property
    def code(self) -> str:
        return self.diagnostic.code

    @property
    def category(self) -> str:
        """The code's name: ``missing-runner-status``."""
        return self.diagnostic.name

    @property
    def rule(self) -> str:
        return self.diagnostic.rule

    @property
    def loc(self) -> str:
        """Where the broken rule is written: ``spec/runner.yaml:42``."""
        return f"{self.diagnostic.loc.path}:{self.diagnostic.loc.line}"

    @property
    def message(self) -> str:
        return self.diagnostic.message

    @property
    def index(self) -> int:
        """The first wrong event's position in the actual trace."""
        return self.diagnostic.event_index or 0

    @property
    def summary(self) -> str:
        """The message, with the rule it breaks and where that rule is written."""
        return f"{self.message} ({self.rule}, {self.loc})"

    @property
    def headline(self) -> str:
        return f"{self.scenario}: {self.summary}"


@frozen
class Outcome:
    """One scenario's run: the findings and the traces they were read from."""

    scenario: Scenario
    expectation: Expectation
    run: RunResult
    findings: tuple[Diagnostic, ...]


def run_scenario(
    runner: RunnerCallable, spec: Spec, scenario: Scenario, *, timeout_s: float = DEFAULT_TIMEOUT_S
) -> Outcome:
    """Run ``scenario`` once and compare."""
    expectation = expect(spec, scenario)
    script = EngineScript(delay_s=dict(scenario.delays)) if scenario.delays else None
    result = execute(runner, scenario, expectation, timeout_s=timeout_s, script=script)
    actual = tuple(observe(e) for e in result.events)
    findings = diagnose(spec, expectation, actual, result)
    findings.extend(check_fields(spec, expectation, result, trace_ok=not findings))
    findings.sort(key=lambda f: len(result.events) if f.event_index is None else f.event_index)
    return Outcome(scenario, expectation, result, tuple(findings))


def shrink(
    runner: RunnerCallable,
    spec: Spec,
    violation: Violation,
    *,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    budget: int = 200,
    hangs: Hangs | None = None,
) -> Scenario:
    """Greedily delete tasks from the violation's reproducer while a finding with the same code
    and rule remains (a candidate that reaches a place the runner hung at is not run)."""
    key = (violation.code, violation.rule)
    current = violation.reproducer
    improved = True
    while improved and budget > 0:
        improved = False
        for sends in shrunk_candidates(current.sends):
            budget -= 1
            candidate = evolve(current, sends=sends)
            if hangs is not None and hangs.known(expect(spec, candidate)) is not None:
                continue
            outcome = run_scenario(runner, spec, candidate, timeout_s=timeout_s)
            if any((f.code, f.rule) == key for f in outcome.findings):
                current, improved = candidate, True
                break
            if budget <= 0:
                break
    return current


def hang_reproducer(runner: RunnerCallable, spec: Spec, outcome: Outcome, bound: float) -> Scenario:
    """The shortest scenario that reaches where ``outcome``'s runner hung, found with the model
    (hung walks are not re-run) and confirmed by one run with ``bound``."""
    received = outcome.run.received
    place = place_of(outcome.expectation, received)
    sends = cut_after(outcome.scenario.sends, received[-1]) if received else ()
    cut = evolve(outcome.scenario, sends=sends)
    small = model_shrink(spec, cut, place)
    if small != cut and not run_scenario(runner, spec, small, timeout_s=bound).run.timed_out:
        return cut
    return small


def violations_of(outcome: Outcome) -> list[Violation]:
    """An outcome's findings as violations, each reproduced by the outcome's own scenario."""
    expected = tuple(str(item) for item in outcome.expectation.items)
    observed = tuple(observe(e) for e in outcome.run.events)
    actual = tuple(o.text for o in observed)
    where = find_divergence(outcome.expectation.items, observed)
    out: list[Violation] = []
    for finding in outcome.findings:
        part = where[0] if where is not None and where[1] == finding.event_index else None
        out.append(
            Violation(outcome.scenario.id, finding, expected, actual, outcome.scenario, part)
        )
    return out


def shrunk_violations(
    runner: RunnerCallable, spec: Spec, outcome: Outcome, timeout_s: float
) -> list[Violation]:
    """:func:`violations_of`, each with its shortest reproducer: where the runner hung for a
    hang (:func:`hang_reproducer`), else the scenario :func:`shrink` leaves."""
    out: list[Violation] = []
    for violation in violations_of(outcome):
        if violation.category == "hang":
            small = hang_reproducer(runner, spec, outcome, min(timeout_s, HANG_PROBE_S))
        else:
            small = shrink(runner, spec, violation, timeout_s=timeout_s)
        out.append(evolve(violation, reproducer=small))
    return out


def check_scenario(
    runner: RunnerCallable,
    spec: Spec,
    scenario: Scenario,
    *,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    minimise: bool = False,
) -> list[Violation]:
    """The violations ``runner`` shows on ``scenario``: empty when it conforms."""
    outcome = run_scenario(runner, spec, scenario, timeout_s=timeout_s)
    if minimise:
        return shrunk_violations(runner, spec, outcome, timeout_s)
    return violations_of(outcome)
