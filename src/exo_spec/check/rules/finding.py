"""What a semantic rule yields, and the words its messages share.

A rule yields :data:`Finding` pairs, where and what; the code is the rule's own, from the
table in :mod:`exo_spec.check.rules` (:data:`~exo_spec.check.rules.CHECKS` turns each pair
into a :class:`~exo_spec.spec.diagnostics.Diagnostic`), so a rule cannot report under another's code.
"""

from __future__ import annotations

from typing import TypeAlias

from exo_spec.spec.diagnostics import Loc
from exo_spec.spec.types import Rule

__all__ = ["Finding", "rule_label"]

Finding: TypeAlias = tuple[Loc, str]
"""Where the problem is, and the message that teaches how to fix it."""


def rule_label(r: Rule) -> str:
    """``rule 2 of task LoadModel``: how a message names one of the spec's rules."""
    return f"rule {r.index + 1} of task {r.task}"
