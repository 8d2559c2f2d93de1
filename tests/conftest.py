"""Shared fixtures: the repository root and the product's own spec."""

from __future__ import annotations

from pathlib import Path

import pytest

from exo_spec.spec import Spec, load_spec

ROOT = Path(__file__).resolve().parent.parent
RUNNER_SPEC = ROOT / "spec" / "runner.yaml"


@pytest.fixture(scope="session")
def runner_spec() -> Spec:
    result = load_spec(RUNNER_SPEC)
    assert result.spec is not None, result.diagnostics
    assert result.diagnostics == ()
    return result.spec
