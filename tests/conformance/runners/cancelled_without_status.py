"""Broken runner (a cancelled generation gets no final TaskStatusUpdated)."""

from tests.conformance.runners.exo_loop import with_bugs

run = with_bugs("no-cancelled-status")
