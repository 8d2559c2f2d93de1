"""How large a spec the generated tests can enumerate.

The generated tests are exhaustive: every cell (state, task, guard valuation) is checked, and
every pair of consecutive transitions is driven along a path. Their size grows as
states x tasks x 2**guards and as the square of the transitions, so a spec of a few kilobytes
can ask for gigabytes and hours (30 states each reachable from every other by its own task:
26 MB of tests, two and a half minutes; 14 guards: 17 MB, three minutes). Past the bounds
below, ``exo-spec check`` and ``exo-spec generate`` refuse the spec at once (``EXS303``). The
shipped runner spec sits far inside them (2 guards, 168 cells, 109 candidate pairs).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

from exo_spec.spec.diagnostics import Diagnostic
from exo_spec.spec.types import Spec

__all__ = ["MAX_CELLS", "MAX_GUARDS", "MAX_PAIRS", "size_problems"]

MAX_GUARDS = 10
"""The most guards (2**10 valuations of them)."""
MAX_CELLS = 20_000
"""The most cells: states a task can be sent in x tasks x guard valuations."""
MAX_PAIRS = 2_000
"""The most candidate pairs of consecutive transitions."""

_ADVICE = "; merge guards that always change together, or split the machine in two"


def size_problems(spec: Spec) -> Iterator[Diagnostic]:
    """An ``EXS303`` finding for each bound the generated tests would pass."""
    where = spec.initial_loc
    if len(spec.guards) > MAX_GUARDS:
        yield Diagnostic(
            "EXS303",
            f"the spec declares {len(spec.guards)} guards; the generated tests check all "
            f"2**{len(spec.guards)} valuations of them, and at most {MAX_GUARDS} guards can be "
            f"generated{_ADVICE}",
            spec.guards[MAX_GUARDS].loc,
        )
        return
    states, tasks = len(spec.cell_states()), len(spec.tasks)
    cells = states * tasks * 2 ** len(spec.guards)
    if cells > MAX_CELLS:
        yield Diagnostic(
            "EXS303",
            f"the generated tests would check {cells} cells ({states} states x {tasks} tasks x "
            f"2**{len(spec.guards)} guard valuations); at most {MAX_CELLS} can be "
            f"generated{_ADVICE}",
            where,
        )
    transitions = _transitions(spec)
    leaving = Counter(source for source, _ in transitions)
    candidates = sum(leaving[end] for _, end in transitions)
    if candidates > MAX_PAIRS:
        yield Diagnostic(
            "EXS303",
            f"the generated tests would drive {candidates} pairs of consecutive transitions "
            f"(from {len(transitions)} transitions); at most {MAX_PAIRS} can be "
            f"generated{_ADVICE}",
            where,
        )


def _transitions(spec: Spec) -> list[tuple[str, str]]:
    """``(source, end)`` of every transition the tests drive (as ``model.paths.edges`` lists
    them: each rule with each action result), counted even where a name dangles."""
    cancellable = {action.name: action.cancellable for action in spec.actions}
    out: list[tuple[str, str]] = []
    for rule in spec.rules:
        out.append((rule.source, rule.target))
        if rule.action is not None:
            out.append((rule.source, spec.on_error))
            if cancellable.get(rule.action, True):
                out.append((rule.source, rule.target))
    return out
