"""The conformance suite: drive any runner through a spec's paths and check its event trace."""

from exo_spec.conformance.execute import RunnerCallable, RunResult, context_for
from exo_spec.conformance.oracle import Expectation, Expected, expect
from exo_spec.conformance.paths import default_spec_path
from exo_spec.conformance.planner import Plan, plan_scenarios
from exo_spec.conformance.scenario import Scenario, ScenarioError, Send
from exo_spec.conformance.scenario_check import (
    Outcome,
    Violation,
    check_scenario,
    run_scenario,
    shrink,
)
from exo_spec.conformance.scripted_engine import (
    EngineScript,
    ScriptedEngine,
    ScriptedEngineError,
    TaskFeed,
)

__all__ = [
    "EngineScript",
    "Expectation",
    "Expected",
    "Outcome",
    "Plan",
    "RunResult",
    "RunnerCallable",
    "Scenario",
    "ScenarioError",
    "ScriptedEngine",
    "ScriptedEngineError",
    "Send",
    "TaskFeed",
    "Violation",
    "check_scenario",
    "context_for",
    "default_spec_path",
    "expect",
    "plan_scenarios",
    "run_scenario",
    "shrink",
]
