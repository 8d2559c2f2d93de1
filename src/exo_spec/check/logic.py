"""Guard logic for the linter: partial evaluation and a small search for witness valuations.

Guard expressions are tiny, so a split-and-simplify search is enough: it fixes one guard at a
time and prunes as soon as an expression is decided, so its cost grows with the number of
guards the expressions use, never with the number of guards the spec declares.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence

from exo_spec.model.valuations import valuations
from exo_spec.spec.expr import And, Expr, Name, Not, Or, TrueExpr
from exo_spec.spec.types import Spec

__all__ = [
    "Valuation",
    "constant_valuations",
    "names_of",
    "partial",
    "witness",
]

Valuation = dict[str, bool]


def names_of(exprs: Iterable[Expr]) -> tuple[str, ...]:
    """The guard names the expressions use, in first-use order, without repeats."""
    return tuple(dict.fromkeys(name for expr in exprs for name in expr.names()))


def partial(expr: Expr, values: Mapping[str, bool]) -> bool | None:
    """Evaluate with some guards unknown: ``None`` when the value depends on them."""
    if isinstance(expr, TrueExpr):
        return True
    if isinstance(expr, Name):
        return values.get(expr.name)
    if isinstance(expr, Not):
        inner = partial(expr.operand, values)
        return None if inner is None else not inner
    assert isinstance(expr, (And, Or))
    decides = isinstance(expr, Or)  # the value that decides alone: false for and, true for or
    left = partial(expr.left, values)
    if left is decides:
        return decides
    right = partial(expr.right, values)
    if right is decides:
        return decides
    return None if left is None or right is None else not decides


def witness(
    wanted: Sequence[tuple[Expr, bool]], fixed: Mapping[str, bool] | None = None
) -> Valuation | None:
    """A valuation under which every ``expr`` evaluates to its wanted value, or ``None``.

    Guards in ``fixed`` keep their value; the others are free. The result names only the
    guards the expressions use (plus ``fixed``), first false then true, so it is deterministic.
    """
    values: Valuation = dict(fixed or {})
    free = [n for n in names_of(e for e, _ in wanted) if n not in values]
    return _search(wanted, values, free, 0)


def _search(
    wanted: Sequence[tuple[Expr, bool]], values: Valuation, free: list[str], index: int
) -> Valuation | None:
    undecided = False
    for expr, want in wanted:
        got = partial(expr, values)
        if got is None:
            undecided = True
        elif got != want:
            return None
    if not undecided:
        return dict(values)
    if index >= len(free):
        return None
    name = free[index]
    for value in (False, True):
        values[name] = value
        found = _search(wanted, values, free, index + 1)
        del values[name]
        if found is not None:
            return found
    return None


def constant_valuations(spec: Spec) -> Iterator[Valuation]:
    """Every valuation of the constant guards some rule uses (one empty one when none is)."""
    used = set(names_of(rule.when for rule in spec.rules))
    names = [name for name in spec.constant_guards() if name in used]
    yield from valuations(tuple(names))
