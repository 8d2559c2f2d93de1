"""Broken runner (engine.close() is called to clean up after any failed action)."""

from tests.conformance.runners.exo_loop import with_bugs

run = with_bugs("close-on-failure")
