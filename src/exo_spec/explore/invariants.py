"""The invariants, each with its code in the one code table (:mod:`exo_spec.spec.codes`).

Safety invariants are checked on every transition (:func:`state_problems` on the configuration
it leads to, and the transition's own checks in :mod:`.transitions`); :func:`rest_problems`
judges a configuration where nothing is enabled; bounded liveness is checked over the graph
by :mod:`.search`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from exo_spec.explore.state import ALIVE, Config, Runner

if TYPE_CHECKING:
    from exo_spec.explore.semantics import Semantics

__all__ = [
    "ACTION_OUTSIDE_RULE",
    "ALIVE_AFTER_DELETE",
    "CLEANUP_TWICE",
    "COLLECTIVE_DEADLOCK",
    "INVARIANTS",
    "NOT_LIVE",
    "RESTART_BUDGET",
    "STATE_LIMIT",
    "STUCK",
    "TASK_FINAL_ONCE",
    "UNEMITTED_STATE_CHANGE",
    "Found",
    "rest_problems",
    "runner_problems",
    "state_problems",
]

Found = tuple[str, str]
"""A broken invariant: its code and what happened."""

TASK_FINAL_ONCE = "EXS701"
ACTION_OUTSIDE_RULE = "EXS702"
UNEMITTED_STATE_CHANGE = "EXS703"
CLEANUP_TWICE = "EXS704"
ALIVE_AFTER_DELETE = "EXS705"
STUCK = "EXS706"
NOT_LIVE = "EXS707"
COLLECTIVE_DEADLOCK = "EXS708"
RESTART_BUDGET = "EXS709"
STATE_LIMIT = "EXS710"

INVARIANTS: dict[str, str] = {
    TASK_FINAL_ONCE: "every submitted task reaches exactly one final status",
    ACTION_OUTSIDE_RULE: "no task reaches an action in a state whose rule does not accept it",
    UNEMITTED_STATE_CHANGE: "every state change is emitted",
    CLEANUP_TWICE: "cleanup runs at most once per runner process",
    ALIVE_AFTER_DELETE: "after the instance is deleted no runner is alive",
    STUCK: "no configuration is stuck",
    NOT_LIVE: "with fair scheduling and no fault, a placed instance reaches ready",
    COLLECTIVE_DEADLOCK: "collectives are entered in the group's order (no deadlock)",
    RESTART_BUDGET: "a runner is given up only after its restart budget, reset on success",
}
"""Each invariant's code and the line the report gives it."""


def state_problems(sem: Semantics, config: Config) -> list[Found]:  # noqa: ARG001  # one signature for every check
    """The invariants that hold in every configuration."""
    out: list[Found] = []
    for i, r in enumerate(config.runners):
        out.extend(runner_problems(i, r))
    return out


def runner_problems(i: int, r: Runner) -> list[Found]:
    """The invariants of one rank's record; each depends on that record alone, so a transition
    checks only the rank it changes."""
    out: list[Found] = []
    if r.proc == ALIVE and r.state is not None and r.seen != r.state:
        out.append(
            (
                UNEMITTED_STATE_CHANGE,
                f"rank {i} is in {r.state} but its supervisor last saw {r.seen}: "
                "a state change was not emitted",
            )
        )
    if r.closed and r.proc == ALIVE:
        out.append(
            (
                ALIVE_AFTER_DELETE,
                f"rank {i} left the node's table while its process is alive (in {r.state})",
            )
        )
    return out


def _settled(sem: Semantics, config: Config, i: int) -> bool:
    """Rank ``i`` needs nothing more: at the goal, closed, or given up (and reported)."""
    r = config.runners[i]
    if r.closed or r.spent or sem.backoff_spent(r.backoff):
        return True
    return r.proc == ALIVE and r.state == sem.config.goal and not r.queue and r.current is None


def rest_problems(sem: Semantics, config: Config) -> list[Found]:
    """What is wrong with a configuration where no transition is enabled."""
    out: list[Found] = []
    for i, r in enumerate(config.runners):
        for task in r.open:
            out.append(
                (
                    TASK_FINAL_ONCE,
                    f"task {task[1]} of rank {i} never reaches a final status "
                    f"(rank {i} is {r.state or 'without a process'})",
                )
            )
    unsettled = [i for i in range(len(config.runners)) if not _settled(sem, config, i)]
    if unsettled:
        where = ", ".join(_where(config, i) for i in unsettled)
        out.append((STUCK, f"nothing is enabled, no deadline is pending, and {where}"))
    return out


def _where(config: Config, i: int) -> str:
    r = config.runners[i]
    if r.state is None:
        return f"rank {i} has no process"
    if r.current is not None:
        return f"rank {i} is blocked in {r.state} ({r.current[1]})"
    return f"rank {i} waits in {r.state}"
