"""Broken runner (a heartbeat thread emits a status after run() returned)."""

from tests.conformance.runners.exo_loop import with_bugs

run = with_bugs("thread-left-behind")
