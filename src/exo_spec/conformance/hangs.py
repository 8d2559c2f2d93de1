"""A hanging runner is cheap: a hang is waited for once per place, and never again.

A runner that blocks on a task blocks on it in every scenario that sends that task in that
state. :class:`Hangs` remembers each place ``(task, state)`` a runner hung at; a later scenario
(or random walk) that reaches a known place is not run, and once one hang was seen the other
scenarios run with a short bound (:data:`HANG_PROBE_S`, or ten times the slowest finished
scenario): a scripted engine answers in milliseconds. A hang's reproducer is computed from the
model, without re-running hung walks: the scenario is cut after the task it hung on, then tasks
are deleted while the model still reaches that place; the result is confirmed by one run.
"""

from __future__ import annotations

import time

from attrs import evolve

from exo_spec.conformance.oracle import Expectation, expect
from exo_spec.conformance.scenario import Scenario, Send, shrunk_candidates
from exo_spec.spec import Spec

__all__ = [
    "DEFAULT_BUDGET_S",
    "HANG_PROBE_S",
    "Hangs",
    "Place",
    "cut_after",
    "model_shrink",
    "place_of",
    "reaches",
]

HANG_PROBE_S = 0.25
"""The time bound of every scenario after the first hang (unless the runner is slow)."""
DEFAULT_BUDGET_S = 60.0
"""Seconds the whole run may take (``--budget``); scenarios left when it is spent are listed."""

Place = tuple[str, str]  # (task, state): where a runner hung
_START: Place = ("", "")  # it hung before reading a task: every scenario reaches it


def place_of(expectation: Expectation, received: tuple[str, ...]) -> Place:
    """Where a runner that received ``received`` and then hung was: its last task's place."""
    if not received:
        return _START
    return expectation.where(received[-1]) or _START


def reaches(expectation: Expectation, place: Place) -> bool:
    """Whether a scenario with ``expectation`` hands a task over at ``place``."""
    return place == _START or any((t, s) == place for _, t, s in expectation.handled)


class Hangs:
    """The places a runner hung at, the bound for the next scenario, and the run's budget."""

    def __init__(self, timeout_s: float, budget_s: float = DEFAULT_BUDGET_S) -> None:
        self.timeout_s = timeout_s
        self.places: dict[Place, str] = {}  # place -> the scenario that hung there
        self.slowest = 0.0
        self.deadline = time.perf_counter() + budget_s

    @property
    def spent(self) -> bool:
        """Whether the run's budget is spent (what is left is not run)."""
        return time.perf_counter() >= self.deadline

    def bound(self) -> float:
        """The time bound of the next scenario: the full timeout until a first hang."""
        if not self.places:
            return self.timeout_s
        return min(self.timeout_s, max(HANG_PROBE_S, 10 * self.slowest))

    def known(self, expectation: Expectation) -> str | None:
        """The scenario that hung at a place ``expectation`` reaches, if any."""
        return next((sid for p, sid in self.places.items() if reaches(expectation, p)), None)

    def note(
        self,
        scenario: str,
        expectation: Expectation,
        timed_out: bool,
        seconds: float,
        received: tuple[str, ...],
    ) -> Place | None:
        """Record one run; the place it hung at, if it hung."""
        if not timed_out:
            self.slowest = max(self.slowest, seconds)
            return None
        place = place_of(expectation, received)
        self.places.setdefault(place, scenario)
        return place


def cut_after(sends: tuple[Send, ...], task_id: str) -> tuple[Send, ...]:
    """``sends`` up to the one with ``task_id`` (the tasks arriving during it before it, too)."""
    out: list[Send] = []
    for send in sends:
        if send.id == task_id:
            return (*out, evolve(send, during=()))
        ids = [d.id for d in send.during]
        if task_id in ids:
            return (*out, evolve(send, during=send.during[: ids.index(task_id) + 1]))
        out.append(send)
    return tuple(out)


def model_shrink(spec: Spec, scenario: Scenario, place: Place) -> Scenario:
    """Delete tasks (no runs) while the model still hands a task over at ``place``."""
    current = scenario
    improved = True
    while improved:
        improved = False
        for sends in shrunk_candidates(current.sends):
            candidate = evolve(current, sends=sends)
            if reaches(expect(spec, candidate), place):
                current, improved = candidate, True
                break
    return current
