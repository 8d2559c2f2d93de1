"""Broken runner (a LoadModel gets its Complete twice)."""

from tests.conformance.runners.exo_loop import with_bugs

run = with_bugs("double-complete")
