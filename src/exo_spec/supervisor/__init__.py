"""The runner as a subprocess: spawn, deadlines from the spec, crash detection, restarts,
escalating shutdown, idempotent cleanup and a JSON health snapshot.

    supervisor = RunnerSupervisor(context, EngineFactory("mypkg.engines:MyEngine", {"x": 1}))
    with supervisor:
        events = supervisor.subscribe()
        supervisor.submit(DownloadModel(TaskId("d1"), model))
        supervisor.wait_task(TaskId("d1"), timeout=60)

The names below are imported from their modules at first use: the runner process imports
:mod:`exo_spec.supervisor.child`, and with it this package, but none of the supervisor's side.
"""

from typing import TYPE_CHECKING

from exo_spec.lazy import exports

if TYPE_CHECKING:
    from exo_spec.supervisor.child import DEFAULT_ENGINE, EngineFactory
    from exo_spec.supervisor.deadlines import Deadline, spec_deadlines
    from exo_spec.supervisor.fanout import (
        AsyncSubscription,
        Subscription,
        SubscriptionDroppedError,
    )
    from exo_spec.supervisor.health import Health
    from exo_spec.supervisor.policy import Liveness, RestartPolicy, StopBounds
    from exo_spec.supervisor.process import describe_exit
    from exo_spec.supervisor.runner_supervisor import RunnerSupervisor, SupervisorError

__all__ = [
    "DEFAULT_ENGINE",
    "AsyncSubscription",
    "Deadline",
    "EngineFactory",
    "Health",
    "Liveness",
    "RestartPolicy",
    "RunnerSupervisor",
    "StopBounds",
    "Subscription",
    "SubscriptionDroppedError",
    "SupervisorError",
    "describe_exit",
    "spec_deadlines",
]

__getattr__ = exports(
    globals(),
    {
        "DEFAULT_ENGINE": "exo_spec.supervisor.child",
        "EngineFactory": "exo_spec.supervisor.child",
        "Deadline": "exo_spec.supervisor.deadlines",
        "spec_deadlines": "exo_spec.supervisor.deadlines",
        "AsyncSubscription": "exo_spec.supervisor.fanout",
        "Subscription": "exo_spec.supervisor.fanout",
        "SubscriptionDroppedError": "exo_spec.supervisor.fanout",
        "Health": "exo_spec.supervisor.health",
        "Liveness": "exo_spec.supervisor.policy",
        "RestartPolicy": "exo_spec.supervisor.policy",
        "StopBounds": "exo_spec.supervisor.policy",
        "describe_exit": "exo_spec.supervisor.process",
        "RunnerSupervisor": "exo_spec.supervisor.runner_supervisor",
        "SupervisorError": "exo_spec.supervisor.runner_supervisor",
    },
)
