"""The runner: every status change emitted, errors fail the task not the runner, nothing lost."""

from __future__ import annotations

import ast
import inspect
import itertools
from pathlib import Path
from typing import Literal

import pytest

from exo_spec.conformance.scripted_engine import EngineScript, ScriptedEngine
from exo_spec.generated.runner_machine import RunnerState
from exo_spec.model import Accepted, step
from exo_spec.runtime import runner as runner_module
from exo_spec.runtime.engine_protocol import ChatMessage, ChatRequest, GroupPeer, ModelRef
from exo_spec.runtime.runner import Runner, run
from exo_spec.runtime.trace import describe_event
from exo_spec.runtime.wire import (
    BoundInstance,
    CancelTask,
    ChatCompletion,
    ConnectToGroup,
    DownloadModel,
    Event,
    InstanceId,
    LoadModel,
    RunnerContext,
    RunnerId,
    Shutdown,
    StartWarmup,
    Task,
    TaskId,
    TaskStatusUpdated,
)
from exo_spec.spec import Spec

MODEL = ModelRef("exo-spec/tiny-kjv")
REQUEST = ChatRequest((ChatMessage("user", "In the beginning"),))


def context(group: bool = False) -> RunnerContext:
    peers = (GroupPeer(0, "127.0.0.1:5000"), GroupPeer(1, "127.0.0.1:5001")) if group else ()
    instance = BoundInstance(InstanceId("i"), MODEL, 0, peers)
    return RunnerContext(RunnerId("r"), instance, "/tmp/models", "/tmp/models/m")


def trace(
    tasks: list[Task], engine: ScriptedEngine | None = None, group: bool = False
) -> list[str]:
    events: list[Event] = []
    run(context(group), engine or ScriptedEngine(), tasks, events.append)
    return [describe_event(e) for e in events]


def lifecycle() -> list[Task]:
    return [
        DownloadModel(TaskId("d"), MODEL),
        LoadModel(TaskId("l")),
        StartWarmup(TaskId("w")),
        ChatCompletion(TaskId("c"), REQUEST),
        Shutdown(TaskId("s")),
    ]


def test_exo_trace_event_by_event() -> None:
    assert trace(lifecycle()) == [
        "RunnerStatusUpdated(RunnerIdle)",
        "TaskStatusUpdated(d, Running)",
        "RunnerStatusUpdated(RunnerDownloading)",
        "TaskAcknowledged(d)",
        "DownloadProgress(d, 1/2 files, 0.0 MB of 0.0 MB)",
        "DownloadProgress(d, 2/2 files, 0.0 MB of 0.0 MB)",
        "TaskStatusUpdated(d, Complete)",
        "RunnerStatusUpdated(RunnerIdle)",
        "TaskStatusUpdated(l, Running)",
        "RunnerStatusUpdated(RunnerLoading(0/0))",
        "TaskAcknowledged(l)",
        "RunnerStatusUpdated(RunnerLoading(1/3))",
        "RunnerStatusUpdated(RunnerLoading(2/3))",
        "RunnerStatusUpdated(RunnerLoading(3/3))",
        "TaskStatusUpdated(l, Complete)",
        "RunnerStatusUpdated(RunnerLoaded)",
        "TaskStatusUpdated(w, Running)",
        "RunnerStatusUpdated(RunnerWarmingUp)",
        "TaskAcknowledged(w)",
        "TaskStatusUpdated(w, Complete)",
        "RunnerStatusUpdated(RunnerReady)",
        "TaskStatusUpdated(c, Running)",
        "RunnerStatusUpdated(RunnerRunning)",
        "TaskAcknowledged(c)",
        "ChunkGenerated(c, 'In')",
        "ChunkGenerated(c, ' the')",
        "ChunkGenerated(c, ' beginning', finish=stop)",
        "TaskStatusUpdated(c, Complete)",
        "RunnerStatusUpdated(RunnerReady)",
        "TaskStatusUpdated(s, Running)",
        "RunnerStatusUpdated(RunnerShuttingDown)",
        "TaskAcknowledged(s)",
        "TaskStatusUpdated(s, Complete)",
        "RunnerStatusUpdated(RunnerShutdown)",
    ]


def test_load_model_in_connected_with_a_group() -> None:
    """Seed 002: the task that was rejected "outside of state machine" is accepted."""
    engine = ScriptedEngine()
    events = trace(
        [ConnectToGroup(TaskId("g")), DownloadModel(TaskId("d"), MODEL), LoadModel(TaskId("l"))],
        engine,
        group=True,
    )
    assert "RunnerStatusUpdated(RunnerConnected)" in events
    assert events[-2:] == ["TaskStatusUpdated(l, Complete)", "RunnerStatusUpdated(RunnerLoaded)"]
    assert engine.calls == ["connect", "download", "load"]


def test_illegal_task_is_rejected_and_the_loop_goes_on() -> None:
    engine = ScriptedEngine()
    events = trace([StartWarmup(TaskId("early")), *lifecycle()], engine)
    assert events[1] == (
        "TaskStatusUpdated(early, Failed): task StartWarmup rejected in state idle "
        "(has_group=false, weights_present=true): no rule accepts StartWarmup in idle; "
        "allowed here: DownloadModel, LoadModel, Shutdown"
    )
    assert events[2] == "TaskStatusUpdated(d, Running)"
    assert events[-1] == "RunnerStatusUpdated(RunnerShutdown)"
    assert "warmup" in engine.calls  # only the legal StartWarmup reached the engine


def test_action_error_fails_the_task_and_the_runner_recovers() -> None:
    engine = ScriptedEngine(EngineScript(raises={"load": "out of memory"}))
    tasks: list[Task] = [LoadModel(TaskId("l")), DownloadModel(TaskId("d"), MODEL)]
    events = trace(tasks, engine)
    assert events[:6] == [
        "RunnerStatusUpdated(RunnerIdle)",
        "TaskStatusUpdated(l, Running)",
        "RunnerStatusUpdated(RunnerLoading(0/0))",
        "TaskAcknowledged(l)",
        "TaskStatusUpdated(l, Failed): out of memory",
        "RunnerStatusUpdated(RunnerFailed('out of memory'))",
    ]
    assert events[-2:] == ["TaskStatusUpdated(d, Complete)", "RunnerStatusUpdated(RunnerIdle)"]


def test_chat_completion_while_running_is_deferred_not_lost() -> None:
    tasks = lifecycle()
    tasks.insert(4, ChatCompletion(TaskId("c2"), REQUEST))
    events = trace(tasks)
    finals = [e for e in events if e.startswith("TaskStatusUpdated") and "Running" not in e]
    assert finals == [
        "TaskStatusUpdated(d, Complete)",
        "TaskStatusUpdated(l, Complete)",
        "TaskStatusUpdated(w, Complete)",
        "TaskStatusUpdated(c, Complete)",
        "TaskStatusUpdated(c2, Complete)",
        "TaskStatusUpdated(s, Complete)",
    ]
    # c2 starts only after c has finished and the runner reported Ready again
    c_done = events.index("TaskStatusUpdated(c, Complete)")
    assert events.index("TaskStatusUpdated(c2, Running)") == c_done + 2


def test_cancel_stops_generation_between_tokens_and_both_tasks_end() -> None:
    engine = ScriptedEngine(EngineScript(tokens=("a", "b", "c", "d")))
    tasks = lifecycle()
    tasks.insert(4, CancelTask(TaskId("x"), TaskId("c")))
    events = trace(tasks, engine)
    start = events.index("TaskAcknowledged(c)")
    assert events[start + 1 : start + 7] == [
        "TaskStatusUpdated(x, Running)",
        "TaskAcknowledged(x)",
        "TaskStatusUpdated(x, Complete)",
        "ChunkGenerated(c, '', finish=cancelled)",
        "TaskStatusUpdated(c, Cancelled)",
        "RunnerStatusUpdated(RunnerReady)",
    ]


def test_cancel_of_a_queued_task_gives_it_a_final_status() -> None:
    tasks = lifecycle()
    tasks.insert(4, ChatCompletion(TaskId("c2"), REQUEST))
    tasks.insert(5, CancelTask(TaskId("x"), TaskId("c2")))
    events = trace(tasks)
    assert "TaskStatusUpdated(c2, Cancelled)" in events
    assert "TaskStatusUpdated(c2, Running)" not in events


def test_shutdown_during_generation_waits_for_it() -> None:
    tasks = lifecycle()
    tasks.insert(4, ChatCompletion(TaskId("c2"), REQUEST))
    tasks[3], tasks[4], tasks[5] = tasks[3], tasks[5], tasks[4]  # c, shutdown, c2
    events = trace(tasks)
    assert events.index("TaskStatusUpdated(c, Complete)") < events.index(
        "TaskStatusUpdated(s, Running)"
    )
    # c2 was queued behind the Shutdown: it still gets a final status
    assert events[-1] == (
        "TaskStatusUpdated(c2, Failed): task ChatCompletion not run: the runner has shut down"
    )


def test_every_task_gets_exactly_one_final_status() -> None:
    kinds: list[Task] = [
        DownloadModel(TaskId("d"), MODEL),
        LoadModel(TaskId("l")),
        StartWarmup(TaskId("w")),
        ChatCompletion(TaskId("c"), REQUEST),
        CancelTask(TaskId("x"), TaskId("c")),
        ConnectToGroup(TaskId("g")),
    ]
    for order in itertools.permutations(range(len(kinds)), 4):
        tasks = [kinds[i] for i in order] + [Shutdown(TaskId("s"))]
        events: list[Event] = []
        run(context(), ScriptedEngine(), tasks, events.append)
        finals = [
            e.task_id
            for e in events
            if isinstance(e, TaskStatusUpdated)
            and e.task_status in ("Complete", "Failed", "Cancelled")
        ]
        assert sorted(finals) == sorted(t.task_id for t in tasks), order


def test_engine_is_reached_only_through_the_machine(runner_spec: Spec) -> None:
    """In every cell where the spec does not accept LoadModel, engine.load is never called."""
    walk_to: dict[RunnerState, list[Task]] = {
        RunnerState.idle: [],
        RunnerState.loaded: [LoadModel(TaskId("l"))],
        RunnerState.ready: [LoadModel(TaskId("l")), StartWarmup(TaskId("w"))],
        RunnerState.failed: [LoadModel(TaskId("l"))],
    }
    probes = 0
    for state, prefix in walk_to.items():
        for weights in (False, True):
            first_load: tuple[Literal["fail"], ...] = (
                ("fail",) if state is RunnerState.failed else ()
            )
            engine = ScriptedEngine(EngineScript(outcomes={"load": first_load}))
            runner = Runner(context(), engine, lambda _: None)
            for task in prefix:
                runner.handle(task)
            assert runner.state == state
            engine.weights = weights
            engine.calls.clear()
            guards = {"has_group": False, "weights_present": weights}
            outcome = step(runner_spec, str(runner.state), "LoadModel", guards)
            runner.handle(LoadModel(TaskId("probe")))
            assert ("load" in engine.calls) == isinstance(outcome, Accepted), (state, weights)
            probes += 1
    assert probes == 8


def test_only_the_load_action_calls_engine_load() -> None:
    """Statically: in the runtime, ``.load(`` on the engine appears in the load action only."""
    source = Path(inspect.getfile(runner_module)).read_text()
    tree = ast.parse(source)
    callers: list[str] = []
    for func in ast.walk(tree):
        if isinstance(func, ast.FunctionDef):
            for node in ast.walk(func):
                if (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Attribute)
                    and node.func.attr == "load"
                    and "engine" in ast.unparse(node.func.value)
                ):
                    callers.append(func.name)
    assert callers == ["load"]


@pytest.mark.parametrize("bad", ["download", "connect", "warmup", "generate", "shutdown"])
def test_any_action_error_leaves_the_loop_serving(bad: str) -> None:
    engine = ScriptedEngine(EngineScript(raises={bad: f"{bad} broke"}))
    tasks: list[Task] = [
        ConnectToGroup(TaskId("g")),
        DownloadModel(TaskId("d"), MODEL),
        LoadModel(TaskId("l")),
        StartWarmup(TaskId("w")),
        ChatCompletion(TaskId("c"), REQUEST),
        Shutdown(TaskId("s")),
    ]
    events = trace(tasks, engine, group=True)
    assert any(f"Failed): {bad} broke" in e for e in events), events
    assert events[-1].startswith(
        ("RunnerStatusUpdated(RunnerShutdown)", "RunnerStatusUpdated(RunnerFailed")
    )


def test_cancel_cannot_drop_a_queued_shutdown() -> None:
    tasks = lifecycle()  # ..., c, s: the Shutdown is queued behind the generation
    tasks.insert(5, CancelTask(TaskId("x"), TaskId("s")))
    events = trace(tasks)
    assert "TaskStatusUpdated(x, Complete)" in events
    assert "TaskStatusUpdated(s, Cancelled)" not in events
    assert events[-1] == "RunnerStatusUpdated(RunnerShutdown)"


def _finals(events: list[Event]) -> list[str]:
    return [
        f"{e.task_id}:{e.task_status}"
        for e in events
        if isinstance(e, TaskStatusUpdated) and e.task_status in ("Complete", "Failed", "Cancelled")
    ]


@pytest.mark.parametrize(
    "reused",
    [
        pytest.param(ChatCompletion(TaskId("c"), REQUEST), id="a-chat-while-it-runs"),
        pytest.param(CancelTask(TaskId("c"), TaskId("c")), id="a-cancel-naming-itself"),
        pytest.param(LoadModel(TaskId("c")), id="another-kind"),
        pytest.param(ChatCompletion(TaskId("l"), REQUEST), id="an-ended-id"),
    ],
)
def test_a_task_id_already_used_is_refused_without_a_second_status(reused: Task) -> None:
    engine = ScriptedEngine(EngineScript(tokens=("a", "b", "c")))
    tasks = lifecycle()
    tasks.insert(4, reused)  # arrives while c generates (or after l ended)
    events: list[Event] = []
    run(context(), engine, tasks, events.append)
    assert sorted(_finals(events)) == [
        "c:Complete",
        "d:Complete",
        "l:Complete",
        "s:Complete",
        "w:Complete",
    ]
    assert [describe_event(e) for e in events] == trace(
        lifecycle(), ScriptedEngine(EngineScript(tokens=("a", "b", "c")))
    )


def test_ids_are_free_again_only_after_the_remembered_window(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(runner_module, "ENDED_IDS_KEPT", 1)
    tasks: list[Task] = [
        DownloadModel(TaskId("d"), MODEL),
        LoadModel(TaskId("l")),
        LoadModel(TaskId("d")),
    ]
    events: list[Event] = []
    run(context(), ScriptedEngine(), tasks, events.append)
    # "d" fell out of a window of one ended id: the second LoadModel is a new task (rejected in loaded)
    assert _finals(events) == ["d:Complete", "l:Complete", "d:Failed"]
