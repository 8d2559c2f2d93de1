"""Broken runner (the first chunk of every generation is never sent)."""

from tests.conformance.runners.exo_loop import with_bugs

run = with_bugs("first-chunk-dropped")
