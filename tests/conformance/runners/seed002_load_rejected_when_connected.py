"""Broken runner (seed 002: LoadModel rejected in RunnerConnected with a group)."""

from tests.conformance.runners.exo_loop import with_bugs

run = with_bugs("load-only-from-idle")
