"""Render ``<machine>.md``."""

from __future__ import annotations

from exo_spec.spec.types import Spec


def render_docs(spec: Spec) -> str:
    return ""
