"""Broken runner (a rejected task is failed with an empty message)."""

from tests.conformance.runners.exo_loop import with_bugs

run = with_bugs("no-failure-message")
