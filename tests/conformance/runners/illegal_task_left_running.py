"""Broken runner (TaskStatusUpdated(Running) sent before the guard; an illegal task then stays Running)."""

from tests.conformance.runners.exo_loop import with_bugs

run = with_bugs("running-before-guard")
