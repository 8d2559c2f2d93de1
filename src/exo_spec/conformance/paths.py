"""Where the runner spec shipped with exo-spec lives (the default ``--spec``).

An installed wheel carries a copy at ``exo_spec/specs/runner.yaml`` (``force-include`` in
``pyproject.toml``); an editable install or a source checkout reads the repository's
``spec/runner.yaml``. Either way the default does not depend on the working directory, so
``exo-spec conformance`` works from any project. This module imports nothing heavy: the CLI
asks it for the default before it loads anything else.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["default_spec_path"]

_PACKAGE = Path(__file__).resolve().parents[1]  # .../exo_spec


def default_spec_path() -> Path:
    """The shipped runner spec: the packaged copy if present, else the repository's."""
    packaged = _PACKAGE / "specs" / "runner.yaml"
    if packaged.is_file():
        return packaged
    return _PACKAGE.parents[1] / "spec" / "runner.yaml"  # src/exo_spec -> repository root
