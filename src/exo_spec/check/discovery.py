"""Which files ``exo-spec check PATH...`` checks: the files named, and the specs under a directory.

Like ruff's file discovery: a path named on the command line is always checked, whatever its
name; a directory is walked recursively, in sorted order, and a file under it is checked when

- its name ends in ``.yaml`` or ``.yml``,
- no directory on the way down is hidden (``.git``, ``.venv``) or one of :data:`SKIPPED_DIRS`,
- and it looks like a spec: a line at the top level (column 0) starts with ``states:``. Every
  spec has a ``states`` mapping; a workflow, a compose file or a config rarely has one at the
  top level. A spec that is to be checked but fails this test can be named explicitly.

Symbolic links to directories are not followed (no loops); the result has no repeats.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

__all__ = ["SKIPPED_DIRS", "SPEC_SUFFIXES", "discover_specs", "looks_like_spec"]

SPEC_SUFFIXES = (".yaml", ".yml")

SKIPPED_DIRS = frozenset({"node_modules", "__pycache__", "site-packages", "venv", "build", "dist"})
"""Directories never walked into (besides hidden ones), as ruff skips them by default."""

_STATES_KEY = re.compile(rb"^states[ \t]*:", re.MULTILINE)
_SNIFF_BYTES = 1 << 20  # a spec's ``states:`` is well inside its first MiB


def looks_like_spec(path: Path) -> bool:
    """Whether a YAML file found under a directory is a spec (a top-level ``states:`` key)."""
    try:
        with path.open("rb") as handle:
            head = handle.read(_SNIFF_BYTES)
    except OSError:
        return True  # let the loader report why it cannot be read
    return _STATES_KEY.search(head) is not None


def _walk(directory: Path) -> Iterator[Path]:
    for root, dirs, files in os.walk(directory):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in SKIPPED_DIRS)
        for name in sorted(files):
            path = Path(root, name)
            if path.suffix in SPEC_SUFFIXES and looks_like_spec(path):
                yield path


def discover_specs(paths: Iterable[Path]) -> list[Path]:
    """The spec files to check: each path that is not a directory as given (even one that does
    not exist, so that the loader reports it), and the specs found under each directory."""
    out: dict[Path, None] = {}
    for path in paths:
        if path.is_dir():
            out.update(dict.fromkeys(_walk(path)))
        else:
            out[path] = None
    return list(out)
