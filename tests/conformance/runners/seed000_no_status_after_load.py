"""Broken runner (seed 000: RunnerStatusUpdated(RunnerLoaded) missing after LoadModel)."""

from tests.conformance.runners.exo_loop import with_bugs

run = with_bugs("no-status-after-load")
