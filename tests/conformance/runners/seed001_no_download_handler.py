"""Broken runner (seed 001: DownloadModel has no handler (falls through to the rejecting case))."""

from tests.conformance.runners.exo_loop import with_bugs

run = with_bugs("no-download-handler")
