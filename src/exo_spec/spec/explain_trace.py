"""The explanations and examples of the codes about a runner's events (``EXS5xx``, ``EXS6xx``)."""

from __future__ import annotations

from exo_spec.spec.codes import Example, Explanation

__all__ = ["TRACE_CODES"]

TRACE_CODES: dict[str, Explanation] = {
    "EXS501": Explanation(
        "the coordinator never learns of the status change (seed 000)",
        "send RunnerStatusUpdated on every status change, as events.* say",
        Example(
            "trace",
            "a log checked against the shipped runner spec",
            lines=(
                '{"RunnerStatusUpdated": {"runner_id": "r", "runner_status": {"RunnerIdle": {}}}}',
                '{"task": {"Shutdown": {"task_id": "t1"}}}',
                '{"TaskStatusUpdated": {"task_id": "t1", "task_status": "Running", "error_message": null}}',
                '{"RunnerStatusUpdated": {"runner_id": "r", "runner_status": {"RunnerShuttingDown": {}}}}',
                '{"TaskAcknowledged": {"task_id": "t1"}}',
                '{"TaskStatusUpdated": {"task_id": "t1", "task_status": "Complete", "error_message": null}}',
            ),
            also=(),
        ),
    ),
    "EXS502": Explanation(
        "the coordinator believes the runner is in another state",
        "send the status of the state the spec's rule leads to",
        Example(
            "trace",
            "a log checked against the shipped runner spec",
            lines=(
                '{"RunnerStatusUpdated": {"runner_id": "r", "runner_status": {"RunnerIdle": {}}}}',
                '{"task": {"Shutdown": {"task_id": "t1"}}}',
                '{"TaskStatusUpdated": {"task_id": "t1", "task_status": "Running", "error_message": null}}',
                '{"RunnerStatusUpdated": {"runner_id": "r", "runner_status": {"RunnerShuttingDown": {}}}}',
                '{"TaskAcknowledged": {"task_id": "t1"}}',
                '{"TaskStatusUpdated": {"task_id": "t1", "task_status": "Complete", "error_message": null}}',
                '{"RunnerStatusUpdated": {"runner_id": "r", "runner_status": {"RunnerFailed": {}}}}',
            ),
            also=(),
        ),
    ),
    "EXS503": Explanation(
        "RunnerStatusUpdated is sent only when the status changes",
        "send it once per status change",
        Example(
            "trace",
            "a log checked against the shipped runner spec",
            lines=(
                '{"RunnerStatusUpdated": {"runner_id": "r", "runner_status": {"RunnerIdle": {}}}}',
                '{"task": {"Shutdown": {"task_id": "t1"}}}',
                '{"TaskStatusUpdated": {"task_id": "t1", "task_status": "Running", "error_message": null}}',
                '{"RunnerStatusUpdated": {"runner_id": "r", "runner_status": {"RunnerShuttingDown": {}}}}',
                '{"TaskAcknowledged": {"task_id": "t1"}}',
                '{"TaskStatusUpdated": {"task_id": "t1", "task_status": "Complete", "error_message": null}}',
                '{"RunnerStatusUpdated": {"runner_id": "r", "runner_status": {"RunnerShutdown": {}}}}',
                '{"RunnerStatusUpdated": {"runner_id": "r", "runner_status": {"RunnerShutdown": {}}}}',
            ),
            also=("EXS603",),
        ),
    ),
    "EXS504": Explanation(
        "the spec accepts the task there; failing it loses work (seed 002)",
        "handle the task as the spec's rule says",
        Example(
            "trace",
            "a log checked against the shipped runner spec",
            lines=(
                '{"RunnerStatusUpdated": {"runner_id": "r", "runner_status": {"RunnerIdle": {}}}}',
                '{"task": {"Shutdown": {"task_id": "t1"}}}',
                '{"TaskStatusUpdated": {"task_id": "t1", "task_status": "Failed", "error_message": null}}',
            ),
            also=(),
        ),
    ),
    "EXS505": Explanation(
        "a rejected task must never be reported Running",
        "check the guard before reporting the task Running",
        Example(
            "trace",
            "a log checked against the shipped runner spec",
            lines=(
                '{"RunnerStatusUpdated": {"runner_id": "r", "runner_status": {"RunnerIdle": {}}}}',
                '{"task": {"StartWarmup": {"task_id": "t1"}}}',
                '{"TaskStatusUpdated": {"task_id": "t1", "task_status": "Running", "error_message": null}}',
                '{"TaskStatusUpdated": {"task_id": "t1", "task_status": "Failed", "error_message": null}}',
            ),
            also=("EXS607",),
        ),
    ),
    "EXS506": Explanation(
        "a task the spec rejects must fail without changing the state",
        "reject the task with TaskStatusUpdated(Failed)",
        Example(
            "trace",
            "a log checked against the shipped runner spec",
            lines=(
                '{"RunnerStatusUpdated": {"runner_id": "r", "runner_status": {"RunnerIdle": {}}}}',
                '{"task": {"StartWarmup": {"task_id": "t1"}}}',
                '{"TaskStatusUpdated": {"task_id": "t1", "task_status": "Running", "error_message": null}}',
                '{"TaskAcknowledged": {"task_id": "t1"}}',
                '{"TaskStatusUpdated": {"task_id": "t1", "task_status": "Complete", "error_message": null}}',
            ),
            also=(),
        ),
    ),
    "EXS507": Explanation(
        "exo's order is the contract: the task's outcome before the resting status",
        "send the events in the order of events.*",
        Example(
            "trace",
            "a log checked against the shipped runner spec",
            lines=(
                '{"RunnerStatusUpdated": {"runner_id": "r", "runner_status": {"RunnerIdle": {}}}}',
                '{"task": {"Shutdown": {"task_id": "t1"}}}',
                '{"RunnerStatusUpdated": {"runner_id": "r", "runner_status": {"RunnerShuttingDown": {}}}}',
                '{"TaskStatusUpdated": {"task_id": "t1", "task_status": "Running", "error_message": null}}',
                '{"TaskAcknowledged": {"task_id": "t1"}}',
                '{"TaskStatusUpdated": {"task_id": "t1", "task_status": "Complete", "error_message": null}}',
                '{"RunnerStatusUpdated": {"runner_id": "r", "runner_status": {"RunnerShutdown": {}}}}',
            ),
            also=(),
        ),
    ),
    "EXS508": Explanation(
        "the task's outcome is wrong",
        "end the task with the status of events.* for its outcome",
        Example(
            "trace",
            "a log checked against the shipped runner spec",
            lines=(
                '{"RunnerStatusUpdated": {"runner_id": "r", "runner_status": {"RunnerIdle": {}}}}',
                '{"task": {"Shutdown": {"task_id": "t1"}}}',
                '{"TaskStatusUpdated": {"task_id": "t1", "task_status": "Running", "error_message": null}}',
                '{"RunnerStatusUpdated": {"runner_id": "r", "runner_status": {"RunnerShuttingDown": {}}}}',
                '{"TaskAcknowledged": {"task_id": "t1"}}',
                '{"TaskStatusUpdated": {"task_id": "t1", "task_status": "Cancelled", "error_message": null}}',
                '{"RunnerStatusUpdated": {"runner_id": "r", "runner_status": {"RunnerShutdown": {}}}}',
            ),
            also=(),
        ),
    ),
    "EXS509": Explanation(
        "a task without a final status is waited for forever",
        "end every task with Complete, Failed or Cancelled",
        Example(
            "trace",
            "a log checked against the shipped runner spec",
            lines=(
                '{"RunnerStatusUpdated": {"runner_id": "r", "runner_status": {"RunnerIdle": {}}}}',
                '{"task": {"Shutdown": {"task_id": "t1"}}}',
                '{"TaskStatusUpdated": {"task_id": "t1", "task_status": "Running", "error_message": null}}',
                '{"RunnerStatusUpdated": {"runner_id": "r", "runner_status": {"RunnerShuttingDown": {}}}}',
                '{"TaskAcknowledged": {"task_id": "t1"}}',
                '{"RunnerStatusUpdated": {"runner_id": "r", "runner_status": {"RunnerShutdown": {}}}}',
            ),
            also=("EXS606",),
        ),
    ),
    "EXS510": Explanation(
        "the coordinator waits for the missing event",
        "send every event of events.* for the outcome",
        Example(
            "trace",
            "a log checked against the shipped runner spec",
            lines=(
                '{"RunnerStatusUpdated": {"runner_id": "r", "runner_status": {"RunnerIdle": {}}}}',
                '{"task": {"Shutdown": {"task_id": "t1"}}}',
                '{"TaskStatusUpdated": {"task_id": "t1", "task_status": "Running", "error_message": null}}',
                '{"RunnerStatusUpdated": {"runner_id": "r", "runner_status": {"RunnerShuttingDown": {}}}}',
                '{"TaskStatusUpdated": {"task_id": "t1", "task_status": "Complete", "error_message": null}}',
                '{"RunnerStatusUpdated": {"runner_id": "r", "runner_status": {"RunnerShutdown": {}}}}',
            ),
            also=("EXS607",),
        ),
    ),
    "EXS511": Explanation(
        "an event the contract does not call for confuses the coordinator",
        "send only the events of events.*",
        Example(
            "trace",
            "a log checked against the shipped runner spec",
            lines=(
                '{"RunnerStatusUpdated": {"runner_id": "r", "runner_status": {"RunnerIdle": {}}}}',
                '{"task": {"Shutdown": {"task_id": "t1"}}}',
                '{"TaskStatusUpdated": {"task_id": "t1", "task_status": "Running", "error_message": null}}',
                '{"RunnerStatusUpdated": {"runner_id": "r", "runner_status": {"RunnerShuttingDown": {}}}}',
                '{"TaskAcknowledged": {"task_id": "t1"}}',
                '{"TaskStatusUpdated": {"task_id": "t1", "task_status": "Complete", "error_message": null}}',
                '{"RunnerStatusUpdated": {"runner_id": "r", "runner_status": {"RunnerShutdown": {}}}}',
                '{"TaskAcknowledged": {"task_id": "t1"}}',
            ),
            also=("EXS605",),
        ),
    ),
    "EXS512": Explanation(
        "a task's final status is final",
        "send nothing for a task after its final status",
        Example(
            "trace",
            "a log checked against the shipped runner spec",
            lines=(
                '{"RunnerStatusUpdated": {"runner_id": "r", "runner_status": {"RunnerIdle": {}}}}',
                '{"task": {"Shutdown": {"task_id": "t1"}}}',
                '{"TaskStatusUpdated": {"task_id": "t1", "task_status": "Running", "error_message": null}}',
                '{"RunnerStatusUpdated": {"runner_id": "r", "runner_status": {"RunnerShuttingDown": {}}}}',
                '{"TaskAcknowledged": {"task_id": "t1"}}',
                '{"TaskStatusUpdated": {"task_id": "t1", "task_status": "Complete", "error_message": null}}',
                '{"RunnerStatusUpdated": {"runner_id": "r", "runner_status": {"RunnerShutdown": {}}}}',
                '{"TaskStatusUpdated": {"task_id": "t1", "task_status": "Complete", "error_message": null}}',
            ),
            also=("EXS605",),
        ),
    ),
    "EXS513": Explanation(
        "a runner that does not return blocks its node",
        "let the loop serve the next task; report long work with progress events",
        Example(
            "fixture", "exo-spec conformance --timeout 2 with a runner whose loop blocks on a task"
        ),
    ),
    "EXS514": Explanation(
        "an action that raises must fail the task, not the runner",
        "catch the action's error, fail the task and move to on_error",
        Example(
            "fixture",
            "exo-spec conformance --runner tests.conformance.runners.exception_kills_loop:run",
        ),
    ),
    "EXS515": Explanation(
        "the coordinator files a status under the runner id it carries",
        "send the context's runner id on every RunnerStatusUpdated",
        Example(
            "fixture",
            "exo-spec conformance --runner tests.conformance.runners.wrong_runner_id:run",
        ),
    ),
    "EXS516": Explanation(
        "an event under another task's id is attributed to that task (a CancelTask's events "
        "finishing the chat it cancels)",
        "send every event of a task under its own id",
        Example(
            "fixture",
            "exo-spec conformance --runner tests.conformance.runners.cancel_events_carry_target:run",
        ),
    ),
    "EXS517": Explanation(
        "the client receives other text than the model generated",
        "send every chunk the engine yields, in its order, under the chat's task id",
        Example(
            "fixture",
            "exo-spec conformance --runner tests.conformance.runners.first_chunk_dropped:run",
        ),
    ),
    "EXS518": Explanation(
        "progress that goes backwards misleads every dashboard and stall detector",
        "report the counters the engine reports, in its order",
        Example(
            "fixture",
            "exo-spec conformance --runner tests.conformance.runners.load_progress_backwards:run",
        ),
    ),
    "EXS519": Explanation(
        "a failure without a message cannot be diagnosed",
        "say why the task failed (the rejection, or the action's error)",
        Example(
            "fixture",
            "exo-spec conformance --runner tests.conformance.runners.no_failure_message:run",
        ),
    ),
    "EXS520": Explanation(
        "an event after run() returned reaches a coordinator that has moved on",
        "join every thread the runner starts before run() returns",
        Example(
            "fixture",
            "exo-spec conformance --runner tests.conformance.runners.thread_left_behind:run",
        ),
    ),
    "EXS521": Explanation(
        "a cancel that does not stop the engine keeps the node busy (and billed) for nothing",
        "have the engine's cancelled() callback answer true once a CancelTask names the chat",
        Example(
            "fixture",
            "exo-spec conformance --runner tests.conformance.runners.cancel_ignored:run",
        ),
    ),
    "EXS522": Explanation(
        "an engine action outside its rule (engine.close() after a failure) frees what the "
        "next task needs",
        "call the engine only from the action of the rule that runs it",
        Example(
            "fixture",
            "exo-spec conformance --runner tests.conformance.runners.close_on_failure:run",
        ),
    ),
    "EXS601": Explanation(
        "a line that is not a tagged event cannot be checked",
        "write one tagged event, task line or header per line",
        Example(
            "trace",
            "a log checked against the shipped runner spec",
            lines=(
                '{"RunnerStatusUpdated": {"runner_id": "r", "runner_status": {"RunnerIdle": {}}}}',
                "{oops",
            ),
            also=(),
        ),
    ),
    "EXS602": Explanation(
        "the log must show where the runner started",
        "start the log with the runner's first RunnerStatusUpdated",
        Example(
            "trace",
            "a log checked against the shipped runner spec",
            lines=(
                '{"RunnerStatusUpdated": {"runner_id": "r", "runner_status": {"RunnerReady": {}}}}',
            ),
            also=(),
        ),
    ),
    "EXS603": Explanation(
        "RunnerStatusUpdated is sent only when the status changes",
        "send it once per status change",
        Example(
            "trace",
            "a log checked against the shipped runner spec",
            lines=(
                '{"RunnerStatusUpdated": {"runner_id": "r", "runner_status": {"RunnerIdle": {}}}}',
                '{"RunnerStatusUpdated": {"runner_id": "r", "runner_status": {"RunnerIdle": {}}}}',
            ),
            also=(),
        ),
    ),
    "EXS604": Explanation(
        "the runner took a path the spec forbids, or a status event is missing",
        "send every status change; follow the spec's rules",
        Example(
            "trace",
            "a log checked against the shipped runner spec",
            lines=(
                '{"RunnerStatusUpdated": {"runner_id": "r", "runner_status": {"RunnerIdle": {}}}}',
                '{"RunnerStatusUpdated": {"runner_id": "r", "runner_status": {"RunnerReady": {}}}}',
            ),
            also=(),
        ),
    ),
    "EXS605": Explanation(
        "a task's final status is final",
        "send nothing for a task after its final status",
        Example(
            "trace",
            "a log checked against the shipped runner spec",
            lines=(
                '{"RunnerStatusUpdated": {"runner_id": "r", "runner_status": {"RunnerIdle": {}}}}',
                '{"TaskStatusUpdated": {"task_id": "t1", "task_status": "Failed", "error_message": null}}',
                '{"TaskStatusUpdated": {"task_id": "t1", "task_status": "Complete", "error_message": null}}',
            ),
            also=(),
        ),
    ),
    "EXS606": Explanation(
        "a task without a final status is waited for forever",
        "end every task with Complete, Failed or Cancelled",
        Example(
            "trace",
            "a log checked against the shipped runner spec",
            lines=(
                '{"RunnerStatusUpdated": {"runner_id": "r", "runner_status": {"RunnerIdle": {}}}}',
                '{"TaskStatusUpdated": {"task_id": "t1", "task_status": "Running", "error_message": null}}',
            ),
            also=("EXS607",),
        ),
    ),
    "EXS607": Explanation(
        "a log without a required event is refused whatever else it holds (task lines or not)",
        "send every event of events.accept: TaskAcknowledged after the task is Running",
        Example(
            "trace",
            "a log without task lines, checked against the shipped runner spec",
            lines=(
                '{"RunnerStatusUpdated": {"runner_id": "r", "runner_status": {"RunnerIdle": {}}}}',
                '{"TaskStatusUpdated": {"task_id": "t1", "task_status": "Running", "error_message": null}}',
                '{"RunnerStatusUpdated": {"runner_id": "r", "runner_status": {"RunnerShuttingDown": {}}}}',
                '{"TaskStatusUpdated": {"task_id": "t1", "task_status": "Complete", "error_message": null}}',
                '{"RunnerStatusUpdated": {"runner_id": "r", "runner_status": {"RunnerShutdown": {}}}}',
            ),
            also=(),
        ),
    ),
}
