"""Check one scenario: expected trace, run, findings; and shrink a failing scenario.

:func:`check_scenario` is what a reproducer test calls. :func:`shrink` deletes tasks greedily
(top-level ones and the ones arriving during a generation) while the same rule stays broken,
so a violation is reported with the shortest task sequence that still shows it.
"""

from __future__ import annotations

from attrs import evolve, frozen

from exo_spec.conformance.execute import DEFAULT_TIMEOUT_S, RunnerCallable, RunResult, execute
from exo_spec.conformance.fields import check_fields
from exo_spec.conformance.oracle import Expectation, expect
from exo_spec.conformance.scenario import Scenario, Send
from exo_spec.conformance.scripted_engine import EngineScript
from exo_spec.conformance.verify import diagnose, observe
from exo_spec.spec import Spec
from exo_spec.spec.diagnostics import Diagnostic

__all__ = ["Outcome", "Violation", "check_scenario", "run_scenario", "shrink", "violations_of"]


@frozen
class Violation:
    """A finding (an ``EXS5xx`` diagnostic at the spec rule it breaks), with both traces and the
    shortest scenario that reproduces it."""

    scenario: str
    diagnostic: Diagnostic
    expected: tuple[str, ...]
    actual: tuple[str, ...]
    reproducer: Scenario

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
    def headline(self) -> str:
        return f"{self.scenario}: {self.message} ({self.rule}, {self.loc})"


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
    return Outcome(scenario, expectation, result, tuple(findings))


def _key(finding: Diagnostic) -> tuple[str, str]:
    return finding.code, finding.rule


def _shrunk_candidates(sends: tuple[Send, ...]) -> list[tuple[Send, ...]]:
    out: list[tuple[Send, ...]] = []
    for i, send in enumerate(sends):
        out.append(sends[:i] + sends[i + 1 :])
        for k in range(len(send.during)):
            smaller = evolve(send, during=send.during[:k] + send.during[k + 1 :])
            out.append((*sends[:i], smaller, *sends[i + 1 :]))
    return out


def shrink(
    runner: RunnerCallable,
    spec: Spec,
    scenario: Scenario,
    key: tuple[str, str],
    *,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    budget: int = 200,
) -> Scenario:
    """Greedily delete tasks while a finding with the same code and rule remains."""
    current = scenario
    improved = True
    while improved and budget > 0:
        improved = False
        for sends in _shrunk_candidates(current.sends):
            budget -= 1
            candidate = evolve(current, sends=sends)
            outcome = run_scenario(runner, spec, candidate, timeout_s=timeout_s)
            if any(_key(f) == key for f in outcome.findings):
                current, improved = candidate, True
                break
            if budget <= 0:
                break
    return current


def violations_of(
    runner: RunnerCallable,
    spec: Spec,
    outcome: Outcome,
    *,
    minimise: bool = True,
    timeout_s: float = DEFAULT_TIMEOUT_S,
) -> list[Violation]:
    """Turn an outcome's findings into violations, each with its shrunk reproducer."""
    out: list[Violation] = []
    expected = tuple(str(item) for item in outcome.expectation.items)
    actual = tuple(observe(e).text for e in outcome.run.events)
    for finding in outcome.findings:
        reproducer = outcome.scenario
        if minimise:
            # a hang costs a full time bound per try: shrink it with a shorter one
            bound = min(timeout_s, 1.0) if finding.name == "hang" else timeout_s
            reproducer = shrink(runner, spec, outcome.scenario, _key(finding), timeout_s=bound)
        out.append(Violation(outcome.scenario.id, finding, expected, actual, reproducer))
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
    return violations_of(runner, spec, outcome, minimise=minimise, timeout_s=timeout_s)
