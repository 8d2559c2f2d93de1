"""Deadlines of the transient states, from the spec, and a pure clock that enforces them.

Entering a transient state starts its ``timeout_s`` (total) and ``stall_timeout_s`` (no
progress) deadlines; a progress event (``RunnerLoading(k, n)``, ``ChunkGenerated``,
``DownloadProgressed``) restarts the stall deadline. :class:`DeadlineClock` takes ``now`` as
an argument, so its behaviour is a function of its inputs.
"""

from __future__ import annotations

from collections.abc import Mapping

from attrs import define, frozen

from exo_spec.generated.runner_machine import STATUS_OF, TIMEOUTS, RunnerState

__all__ = [
    "STATE_OF_STATUS",
    "Deadline",
    "DeadlineClock",
    "spec_deadlines",
    "state_label",
]

STATE_OF_STATUS: dict[str, RunnerState] = {status: state for state, status in STATUS_OF.items()}


@frozen
class Deadline:
    """How long a transient state may last in all, and without progress (``None``: no bound)."""

    timeout_s: float | None = None
    stall_timeout_s: float | None = None


def spec_deadlines(
    overrides: Mapping[RunnerState | str, Deadline] | None = None,
) -> dict[RunnerState, Deadline]:
    """The spec's deadlines (generated ``TIMEOUTS``), with ``overrides`` by state or name."""
    table = {state: Deadline(*bounds) for state, bounds in TIMEOUTS.items()}
    for key, deadline in (overrides or {}).items():
        try:
            state = RunnerState(key)
        except ValueError:
            known = ", ".join(s.value for s in RunnerState)
            raise ValueError(f"no state {key!r} to set a deadline for; states: {known}") from None
        table[state] = deadline
    return table


def state_label(state: RunnerState) -> str:
    """``warming_up`` -> ``Warming up`` for messages."""
    return state.value.replace("_", " ").capitalize()


def _seconds(value: float) -> str:
    return f"{value:g} s"


@define
class DeadlineClock:
    """The deadlines of the state the runner is in now; pure over the ``now`` it is given."""

    table: dict[RunnerState, Deadline]
    state: RunnerState | None = None
    entered_at: float = 0.0
    progress_at: float = 0.0

    def enter(self, state: RunnerState, now: float) -> None:
        """The runner entered ``state``: its deadlines start now."""
        self.state, self.entered_at, self.progress_at = state, now, now

    def progress(self, now: float) -> None:
        """A progress event: the stall deadline starts again."""
        self.progress_at = now

    def stop(self) -> None:
        """No deadlines any more (the runner is gone)."""
        self.state = None

    def next_expiry(self) -> float | None:
        """The time of the nearest deadline, or ``None`` when none runs."""
        deadline = self._deadline()
        if deadline is None:
            return None
        times = []
        if deadline.timeout_s is not None:
            times.append(self.entered_at + deadline.timeout_s)
        if deadline.stall_timeout_s is not None:
            times.append(self.progress_at + deadline.stall_timeout_s)
        return min(times) if times else None

    def expired(self, now: float) -> str | None:
        """Why the runner has overrun its state at ``now`` (e.g. ``Loading timed out after
        900 s``), or ``None`` while it is within its deadlines."""
        deadline = self._deadline()
        if deadline is None or self.state is None:
            return None
        label = state_label(self.state)
        if deadline.timeout_s is not None and now >= self.entered_at + deadline.timeout_s:
            return f"{label} timed out after {_seconds(deadline.timeout_s)}"
        stall = deadline.stall_timeout_s
        if stall is not None and now >= self.progress_at + stall:
            return f"{label} stalled: no progress for {_seconds(stall)}"
        return None

    def _deadline(self) -> Deadline | None:
        return None if self.state is None else self.table.get(self.state)
