"""Broken runner (the load's progress counts the layers down)."""

from tests.conformance.runners.exo_loop import with_bugs

run = with_bugs("load-progress-backwards")
