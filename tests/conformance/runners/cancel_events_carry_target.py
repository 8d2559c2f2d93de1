"""Broken runner (a CancelTask's Running, TaskAcknowledged and Complete carry the id of the task it cancels)."""

from tests.conformance.runners.exo_loop import with_bugs

run = with_bugs("cancel-events-carry-target")
