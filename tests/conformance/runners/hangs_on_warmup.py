"""Broken runner (the loop blocks forever on a StartWarmup it accepted)."""

from tests.conformance.runners.exo_loop import with_bugs

run = with_bugs("hang-on-warmup")
