"""What a spec means, as pure functions over a loaded spec.

``step(spec, state, task, guards) -> outcome`` is the reference semantics; beside it the
event contract expanded per rule (:mod:`.plan`), guard valuations (:mod:`.valuations`), the
cell table (:mod:`.cells`) and the paths, pairs and exo's trace (:mod:`.paths`). The code
generator renders these and the conformance suite drives them; this package imports nothing
of the project but :mod:`exo_spec.spec`.
"""

from exo_spec.model.events import Acknowledged, ModelEvent, Progress, RunnerStatus, TaskStatus
from exo_spec.model.step import (
    CANCELLED,
    OK,
    Accepted,
    ActionResult,
    Cancelled,
    Deferred,
    ModelError,
    Raised,
    Rejected,
    StepOutcome,
    Succeeded,
    allowed_tasks,
    initial_events,
    not_cancellable_message,
    rejection_message,
    rejection_text,
    relevant_guards,
    step,
)

__all__ = [
    "CANCELLED",
    "OK",
    "Accepted",
    "Acknowledged",
    "ActionResult",
    "Cancelled",
    "Deferred",
    "ModelError",
    "ModelEvent",
    "Progress",
    "Raised",
    "Rejected",
    "RunnerStatus",
    "StepOutcome",
    "Succeeded",
    "TaskStatus",
    "allowed_tasks",
    "initial_events",
    "not_cancellable_message",
    "rejection_message",
    "rejection_text",
    "relevant_guards",
    "step",
]
