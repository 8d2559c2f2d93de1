"""The runner runtime: a task loop over the generated machine, wire types, the engine protocol.

Logs go through loguru, bound with ``runner_id`` and ``task_id``; like any library, exo-spec's
logging is disabled until the application enables it (``logger.enable("exo_spec")``;
:mod:`exo_spec.logs`, where every module that logs takes its ``logger``).

The names below are imported from their modules at first use, so importing one module of the
runtime (the wire types, the engine protocol) does not import the others.
"""

from typing import TYPE_CHECKING

from exo_spec.lazy import exports

if TYPE_CHECKING:
    from exo_spec.runtime.binding import (
        BindingError,
        binding_problems,
        check_binding,
        resolve_object,
    )
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

__getattr__ = exports(
    globals(),
    {
        "BindingError": "exo_spec.runtime.binding",
        "binding_problems": "exo_spec.runtime.binding",
        "check_binding": "exo_spec.runtime.binding",
        "resolve_object": "exo_spec.runtime.binding",
        "Emit": "exo_spec.runtime.runner",
        "Runner": "exo_spec.runtime.runner",
        "TaskSource": "exo_spec.runtime.runner",
        "run": "exo_spec.runtime.runner",
    },
)
