"""The supervisor's health snapshot: typed data that becomes plain JSON.

Every mapping has str keys (states and statuses by name, never enum members: seed 002's
health monitor crashed with ``keys must be str ... not ResourceState``) and every number is
finite, so ``json.dumps(snapshot.to_json(), allow_nan=False)`` cannot fail.
"""

from __future__ import annotations

import math
import os
from typing import Any

import attrs
from attrs import frozen

from exo_spec.supervisor.mirror import Mirror

__all__ = ["Health", "health_of", "rss_bytes"]


@frozen
class Health:
    """One snapshot of a supervised runner."""

    runner_id: str
    status: str
    status_message: str | None
    pid: int | None
    alive: bool
    uptime_s: float
    state_entries: dict[str, int]
    tasks: dict[str, int]
    in_flight: int
    last_error: str | None
    restarts: int
    restart_budget_left: int
    restart_budget_spent: bool
    subscribers_dropped: int
    supervisor_rss_bytes: int
    runner_rss_bytes: int | None

    def to_json(self) -> dict[str, Any]:
        """Plain JSON data: str keys, JSON scalars and objects only."""
        return attrs.asdict(self)


def rss_bytes(pid: int | None) -> int | None:
    """Resident memory of a process, or ``None`` when it is gone. (psutil is imported here,
    at the first snapshot: a runner process, which imports this package, never needs it.)"""
    import psutil  # noqa: PLC0415 (lazy: not in the runner process)

    try:
        return int(psutil.Process(pid if pid is not None else os.getpid()).memory_info().rss)
    except (psutil.Error, OSError):
        return None


def _finite(value: float) -> float:
    return round(value, 3) if math.isfinite(value) and value >= 0 else 0.0


def health_of(
    mirror: Mirror,
    *,
    runner_id: str,
    pid: int | None,
    alive: bool,
    uptime_s: float,
    restarts: int,
    restart_budget_left: int,
    restart_budget_spent: bool,
    subscribers_dropped: int = 0,
) -> Health:
    """A snapshot of ``mirror`` and the process facts around it."""
    status = mirror.status
    message = getattr(status, "error_message", None)
    return Health(
        runner_id=str(runner_id),
        status="Starting" if status is None else type(status).__name__,
        status_message=message if isinstance(message, str) else None,
        pid=pid,
        alive=alive,
        uptime_s=_finite(uptime_s),
        state_entries={str(k): int(v) for k, v in sorted(mirror.state_entries.items()) if v},
        tasks={str(k): int(v) for k, v in sorted(mirror.task_counts.items()) if v},
        in_flight=len(mirror.open_tasks),
        last_error=mirror.last_error,
        restarts=restarts,
        restart_budget_left=max(0, restart_budget_left),
        restart_budget_spent=restart_budget_spent,
        subscribers_dropped=subscribers_dropped,
        supervisor_rss_bytes=rss_bytes(None) or 0,
        runner_rss_bytes=rss_bytes(pid) if alive and pid is not None else None,
    )
