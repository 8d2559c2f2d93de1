"""Broken runner (an engine action that raises ends the loop instead of failing the task)."""

from tests.conformance.runners.exo_loop import with_bugs

run = with_bugs("exceptions-kill-loop")
