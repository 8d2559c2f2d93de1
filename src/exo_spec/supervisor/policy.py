"""What a supervisor is told to do about failures: restarts, shutdown escalation, liveness."""

from __future__ import annotations

from attrs import frozen

__all__ = ["DEFAULT_LIVENESS", "Liveness", "RestartPolicy", "StopBounds"]


@frozen
class RestartPolicy:
    """Restart a runner that crashed or overran a deadline, ``max_restarts`` times in a row,
    after ``backoff_s`` doubling up to ``max_backoff_s``; a completed task resets the count."""

    max_restarts: int = 3
    backoff_s: float = 0.5
    max_backoff_s: float = 30.0

    def delay(self, attempt: int) -> float:
        return float(min(self.max_backoff_s, self.backoff_s * 2 ** max(0, attempt - 1)))


@frozen
class StopBounds:
    """Shutdown escalation: the Shutdown task gets ``shutdown_s`` (default: the spec's
    ``shutting_down`` timeout), then SIGTERM gets ``terminate_s``, then SIGKILL ``kill_s``."""

    shutdown_s: float | None = None
    terminate_s: float = 2.0
    kill_s: float = 2.0


@frozen
class Liveness:
    """The runner sends a heartbeat every ``heartbeat_s`` from a thread of its own; a runner
    not heard from (no heartbeat, no event) for ``timeout_s`` is frozen: it is killed, its
    tasks fail and it is restarted by the budget. Before its first message a runner gets
    ``startup_s`` (spawning and imports)."""

    heartbeat_s: float = 0.5
    timeout_s: float = 10.0
    startup_s: float = 60.0

    def silent_at(
        self, pid: int | None, started_at: float, heard_at: float | None
    ) -> tuple[float, str]:
        """When a runner last heard at ``heard_at`` (``None``: never, spawned at
        ``started_at``) will have been silent too long, and the cause to report then."""
        if heard_at is None:
            bound, since, what = self.startup_s, started_at, "no message since it was spawned"
        else:
            bound, since, what = self.timeout_s, heard_at, "no heartbeat or event"
        return since + bound, f"runner process {pid} stopped responding: {what} for {bound:g} s"


DEFAULT_LIVENESS = Liveness()
