"""The runner as a subprocess: spawn, deadlines from the spec, crash detection, restarts,
escalating shutdown, idempotent cleanup and a JSON health snapshot.

    supervisor = RunnerSupervisor(context, EngineFactory("mypkg.engines:MyEngine", {"x": 1}))
    with supervisor:
        events = supervisor.subscribe()
        supervisor.submit(DownloadModel(TaskId("d1"), model))
        supervisor.wait_task(TaskId("d1"), timeout=60)
"""

from exo_spec.supervisor.child import DEFAULT_ENGINE, EngineFactory
from exo_spec.supervisor.deadlines import Deadline, spec_deadlines
from exo_spec.supervisor.fanout import AsyncSubscription, Subscription, SubscriptionDroppedError
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
