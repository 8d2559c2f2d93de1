"""Placeholder."""

from __future__ import annotations

from exo_spec.explore.search import ExploreResult, Violation

__all__ = ["replay_test"]


def replay_test(result: ExploreResult, violation: Violation) -> str:
    return ""
