"""Broken runner (RunnerStatusUpdated(resting) sent before TaskStatusUpdated(Complete))."""

from tests.conformance.runners.exo_loop import with_bugs

run = with_bugs("status-before-outcome")
