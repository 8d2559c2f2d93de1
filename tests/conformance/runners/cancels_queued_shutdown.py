"""Broken runner (a CancelTask naming a queued Shutdown cancels it: the runner never shuts down)."""

from tests.conformance.runners.exo_loop import with_bugs

run = with_bugs("cancel-queued-shutdown")
