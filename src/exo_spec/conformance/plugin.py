"""pytest plugin: ``pytest --exo-spec-runner module:callable [--exo-spec-spec PATH]``.

Adds one test item per scenario (``exo-spec-conformance::cell[idle-LoadModel-...]``) and a
``walk[seed=N]`` item for the random walks. The ``exo_spec_conformance`` fixture gives a
project's own tests the same checks; ``@pytest.mark.exo_spec_runner("module:callable")`` names
the runner for one test. Without the option the plugin adds nothing (it loads in every run).
"""

from __future__ import annotations

# ruff: noqa: PLC0415
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import pytest

__all__ = ["Conformance", "exo_spec_conformance"]


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("exo-spec", "exo-spec conformance")
    group.addoption(
        "--exo-spec-runner",
        default=None,
        metavar="MODULE:CALLABLE",
        help="check this runner against the spec, one test per scenario",
    )
    group.addoption(
        "--exo-spec-spec",
        default=None,
        metavar="PATH",
        help="the spec (default: the runner spec shipped with exo-spec)",
    )
    group.addoption("--exo-spec-examples", type=int, default=100, help="random walks")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "exo_spec_runner(reference): the runner (module:callable) a test checks"
    )


class Conformance:
    """The suite's checks for one runner and spec, for use in a project's tests."""

    def __init__(self, runner: str, spec_path: str | None = None) -> None:
        from exo_spec.conformance.paths import default_spec_path
        from exo_spec.conformance.suite import resolve_runner
        from exo_spec.spec import load_spec

        if spec_path is None:
            spec_path = str(default_spec_path())
        loaded = load_spec(Path(spec_path))
        if loaded.spec is None:
            raise pytest.UsageError(f"--exo-spec-spec {spec_path}: the spec does not load")
        self.spec = loaded.spec
        self.runner_name = runner
        try:
            self.runner = resolve_runner(runner)
        except ValueError as exc:  # whatever importing the runner raises, as one line
            raise pytest.UsageError(f"--exo-spec-runner {exc}") from None

    def scenarios(self) -> tuple[Any, ...]:
        from exo_spec.conformance.planner import plan_scenarios

        return plan_scenarios(self.spec).scenarios

    def violations(self, scenario: Any) -> list[Any]:
        from exo_spec.conformance.scenario_check import check_scenario

        return check_scenario(self.runner, self.spec, scenario, minimise=True)

    def assert_conforms(self, scenario: Any) -> None:
        found = self.violations(scenario)
        if found:
            from exo_spec.conformance.report import reproducer_test

            text = "\n".join(
                f"{v.headline}\n  expected: {list(v.expected)}\n  actual:   {list(v.actual)}\n\n"
                + reproducer_test(v, self.runner_name, str(self.spec.path))
                for v in found
            )
            pytest.fail(text, pytrace=False)

    def assert_walks_conform(self, examples: int, seed: int = 0) -> None:
        from exo_spec.extras import require

        require("the conformance walks", "conformance")
        from exo_spec.conformance.walks import run_walks

        walked = run_walks(self.runner, self.spec, examples=examples, walk_seed=seed, timeout_s=2.0)
        if walked.failing is not None:
            self.assert_conforms(walked.failing.scenario)


class _ConformanceItem(pytest.Item):
    """One check of the runner (a scenario, or the random walks), reported at the spec."""

    def __init__(
        self, *, conformance: Conformance, check: Callable[[], None], **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.conformance = conformance
        self._check = check

    def runtest(self) -> None:
        self._check()

    def reportinfo(self) -> tuple[str, int, str]:
        return self.conformance.spec.path, 0, f"exo-spec conformance: {self.name}"


class _Suite(pytest.Collector):
    def collect(self) -> list[pytest.Item]:
        return []


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    reference = config.getoption("--exo-spec-runner")
    if not reference:
        return
    conformance = Conformance(reference, config.getoption("--exo-spec-spec"))
    suite = _Suite.from_parent(session, name="exo-spec-conformance")
    for scenario in conformance.scenarios():
        items.append(
            _ConformanceItem.from_parent(
                suite,
                name=scenario.id,
                conformance=conformance,
                check=partial(conformance.assert_conforms, scenario),
            )
        )
    examples = int(config.getoption("--exo-spec-examples"))
    if examples > 0:
        from exo_spec.extras import missing

        if missing("conformance"):
            raise pytest.UsageError(
                "--exo-spec-examples: the random walks need the `conformance` extra "
                "(hypothesis): pip install 'exo-spec[conformance]', or --exo-spec-examples 0"
            )
        items.append(
            _ConformanceItem.from_parent(
                suite,
                name="walk[seed=0]",
                conformance=conformance,
                check=partial(conformance.assert_walks_conform, examples),
            )
        )


@pytest.fixture
def exo_spec_conformance(request: pytest.FixtureRequest) -> Conformance:
    """The checks for the runner named by ``@pytest.mark.exo_spec_runner`` or the option."""
    marker = request.node.get_closest_marker("exo_spec_runner")
    reference = marker.args[0] if marker else request.config.getoption("--exo-spec-runner")
    if not reference:
        pytest.skip(
            "no runner: use @pytest.mark.exo_spec_runner('module:callable') or --exo-spec-runner"
        )
    spec = (marker.kwargs.get("spec") if marker else None) or request.config.getoption(
        "--exo-spec-spec"
    )
    return Conformance(str(reference), str(spec) if spec else None)
