"""The runner runtime: a task loop over the generated machine, wire types, the engine protocol.

Logs go through loguru, bound with ``runner_id`` and ``task_id``; like any library, exo-spec's
logging is disabled until the application enables it (``logger.enable("exo_spec")``;
:mod:`exo_spec.logs`).
"""

import exo_spec.logs  # noqa: F401  (disables the library's logging until it is turned on)
from exo_spec.runtime.binding import BindingError, binding_problems, check_binding, resolve_object
from exo_spec.runtime.runner import Emit, Runner, TaskSource, run

__all__ = [
    "BindingError",
    "Emit",
    "Runner",
    "TaskSource",
    "binding_problems",
    "check_binding",
    "resolve_object",
    "run",
]
