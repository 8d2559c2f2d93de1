"""Broken runner (the loop blocks forever on every LoadModel, legal or not)."""

from tests.conformance.runners.exo_loop import with_bugs

run = with_bugs("hang-on-every-load")
