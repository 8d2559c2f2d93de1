"""Guard valuations: every assignment of a set of guards, and how a valuation is written.

A valuation is written ``has_group=true, weights_present=false`` in messages (rejections, lint
findings, conformance contexts) and ``has_group=1,weights_present=0`` in test ids.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Mapping

from exo_spec.spec import Spec

__all__ = ["GuardValues", "flags_text", "full_valuation", "valuation_text", "valuations"]

GuardValues = tuple[tuple[str, bool], ...]
"""A full valuation of the spec's guards, in declaration order."""


def valuations(names: tuple[str, ...]) -> Iterator[dict[str, bool]]:
    """Every assignment of ``names``, all-false first."""
    for values in itertools.product((False, True), repeat=len(names)):
        yield dict(zip(names, values, strict=True))


def full_valuation(spec: Spec, values: Mapping[str, bool]) -> GuardValues:
    """Every guard of ``spec`` in declaration order, ``False`` where ``values`` says nothing."""
    return tuple((g.name, values.get(g.name, False)) for g in spec.guards)


def _pairs(values: Mapping[str, bool] | Iterable[tuple[str, bool]]) -> Iterable[tuple[str, bool]]:
    return values.items() if isinstance(values, Mapping) else values


def valuation_text(values: Mapping[str, bool] | Iterable[tuple[str, bool]]) -> str:
    """``has_group=true, weights_present=false``, in the order given."""
    return ", ".join(f"{name}={'true' if value else 'false'}" for name, value in _pairs(values))


def flags_text(values: Mapping[str, bool] | Iterable[tuple[str, bool]]) -> str:
    """``has_group=1,weights_present=0`` (a test id's spelling), in the order given."""
    return ",".join(f"{name}={int(value)}" for name, value in _pairs(values))
