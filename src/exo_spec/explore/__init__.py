"""Model checking the runners of one instance, their supervisors, the node's planner and faults.

``explore(config)`` walks, breadth first with state hashing, every interleaving of N runners
(their machines are the spec's, stepped by :func:`exo_spec.model.step`), the supervisor of each
(restart budget reset on success, deadlines, cleanup), the node's planner (the pure function
the node calls, :func:`exo_spec.node.planner.plan_group`) and injected faults, and checks the
invariants of :mod:`.invariants` in every reachable configuration. A violation comes with its
shortest trace, as a step list (:mod:`.report`) and as a pytest test (:mod:`.replay`).
"""

from exo_spec.explore.config import FAULTS, ExploreConfig, Planner, SupervisorModel
from exo_spec.explore.report import findings, render_trace
from exo_spec.explore.search import ExploreResult, Violation, explore

__all__ = [
    "FAULTS",
    "ExploreConfig",
    "ExploreResult",
    "Planner",
    "SupervisorModel",
    "Violation",
    "explore",
    "findings",
    "render_trace",
]
