"""Broken runner (a CancelTask is acknowledged and the chat reported Cancelled, but the generation runs to its end)."""

from tests.conformance.runners.exo_loop import with_bugs

run = with_bugs("cancel-ignored")
