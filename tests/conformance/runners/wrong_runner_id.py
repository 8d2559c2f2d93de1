"""Broken runner (a RunnerStatusUpdated of the load's progress carries another runner id)."""

from tests.conformance.runners.exo_loop import with_bugs

run = with_bugs("wrong-runner-id")
