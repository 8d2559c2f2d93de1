"""Broken runner (seed 000: RunnerStatusUpdated(RunnerReady) missing after StartWarmup)."""

from tests.conformance.runners.exo_loop import with_bugs

run = with_bugs("no-status-after-warmup")
