"""What a runner process does before it reports Idle, pinned as properties rather than timings:
its entry module imports nothing of the supervisor's side, of the YAML loader or of loguru, and
it does not run the parent's ``__main__`` again (as multiprocessing's spawn would)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import psutil

from exo_spec.runtime.wire import (
    CancelTask,
    LoadModel,
    Shutdown,
    StartWarmup,
    Task,
    TaskId,
)
from exo_spec.supervisor.child import encode_task
from tests.supervisor.cells import BOUND, chat

NOT_BEFORE_IDLE = [
    "asyncio",
    "cattrs",
    "exo_spec.cli",
    "exo_spec.spec.loader",
    "exo_spec.supervisor.fanout",
    "exo_spec.supervisor.mirror",
    "exo_spec.supervisor.runner_supervisor",
    "loguru",
    "mlx",
    "yaml",
]
ROOT = Path(__file__).resolve().parents[2]


def _fresh(code: str) -> str:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    done = subprocess.run(
        [sys.executable, "-c", code],
        check=False,
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=BOUND,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_runner_entry_imports_nothing_of_the_supervisor_yaml_or_loguru() -> None:
    code = "import sys, json, exo_spec.supervisor.child; print(json.dumps(sorted(sys.modules)))"
    loaded = set(json.loads(_fresh(code)))
    assert "exo_spec.supervisor.child" in loaded
    assert sorted(loaded & set(NOT_BEFORE_IDLE)) == []


SCRIPT = """
import os, sys
with open(sys.argv[1], "a") as marks:  # every run of this file as a program's main module
    marks.write(f"{os.getpid()}\\n")

if __name__ == "__main__":
    import psutil
    from exo_spec.supervisor import EngineFactory, RunnerSupervisor
    from tests.supervisor.cells import group_context

    supervisor = RunnerSupervisor(
        group_context("main"), EngineFactory("exo_spec.conformance.scripted_engine:ScriptedEngine")
    )
    supervisor.start()
    supervisor.wait_status("RunnerIdle", {bound})
    children = [p.cmdline() for p in psutil.Process().children(recursive=True)]
    print(supervisor.pid, flush=True)
    print(len(children), flush=True)
    if sys.argv[2] == "close":
        supervisor.close()
"""


def _run_script(tmp_path: Path, ending: str) -> tuple[list[str], int, int]:
    script = tmp_path / "program.py"
    script.write_text(SCRIPT.replace("{bound}", repr(BOUND)))
    marks = tmp_path / "marks"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), *sys.path])}
    done = subprocess.run(
        [sys.executable, str(script), str(marks), ending],
        check=False,
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=BOUND,
    )
    assert done.returncode == 0, done.stderr
    pid, children = (int(line) for line in done.stdout.split())
    return marks.read_text().split(), pid, children


def test_a_runner_does_not_run_the_parents_main_module_again(tmp_path: Path) -> None:
    runs, _, children = _run_script(tmp_path, "close")
    assert len(runs) == 1  # the program itself, not its runner
    assert children == 1  # the runner, and no resource tracker beside it


def test_a_runner_left_running_ends_with_its_supervisors_interpreter(tmp_path: Path) -> None:
    _, pid, _ = _run_script(tmp_path, "leave")
    try:
        runner = psutil.Process(pid)
    except psutil.NoSuchProcess:
        return
    _, alive = psutil.wait_procs([runner], timeout=BOUND)
    for process in alive:
        process.kill()
    assert alive == []


SERVE = """
import json, socket, sys
from multiprocessing.connection import Connection
from exo_spec.conformance.scripted_engine import ScriptedEngine
from exo_spec.runtime.engine_protocol import ModelRef
from exo_spec.runtime.runner import QuietLog, Runner
from exo_spec.runtime.wire import BoundInstance, InstanceId, RunnerContext, RunnerId
from exo_spec.supervisor.child import PipeTaskSource
from exo_spec.supervisor.emitter import FlushingEngine, PipeEmitter

a, b = socket.socketpair()
supervisor, runner_end = Connection(a.detach()), Connection(b.detach())
for message in json.loads(sys.argv[1]):
    supervisor.send_bytes(message.encode())
instance = BoundInstance(InstanceId("i"), ModelRef("org/m"))
context = RunnerContext(RunnerId("r"), instance, "/nonexistent/models", "/nonexistent/m")
emit = PipeEmitter(runner_end)
runner = Runner(context, FlushingEngine(ScriptedEngine(), emit.flush), emit, QuietLog())
runner.serve(PipeTaskSource(runner_end, runner.fail_unreadable, emit.flush, emit.cork))
emit.flush()
print(json.dumps({"cattrs": "cattrs" in sys.modules, "state": str(runner.state)}))
from exo_spec.supervisor.process import decode_events
seen = []
while supervisor.poll(0):
    for e in decode_events(supervisor.recv_bytes()):
        status = getattr(e, "task_status", None) or type(getattr(e, "runner_status", e)).__name__
        seen.append([getattr(e, "task_id", ""), status])
print(json.dumps(seen))
"""


def test_a_runner_serves_its_usual_tasks_without_the_wire_converter() -> None:
    """Tasks read and events written by the channel's codec: no cattrs in the runner process
    from load to shutdown (about 40 ms of imports at start-up)."""
    tasks: list[Task] = [
        LoadModel(TaskId("load")),
        StartWarmup(TaskId("warm")),
        chat("chat"),
        CancelTask(TaskId("cancel"), TaskId("nothing")),
        Shutdown(TaskId("down")),
    ]
    messages = json.dumps([encode_task(task).decode() for task in tasks])
    served, events = _fresh(SERVE.replace("sys.argv[1]", repr(messages))).splitlines()
    assert json.loads(served) == {"cattrs": False, "state": "shutdown"}
    seen = [tuple(pair) for pair in json.loads(events)]
    finals = {task: status for task, status in seen if status in ("Complete", "Failed")}
    assert finals == dict.fromkeys(["load", "warm", "chat", "cancel", "down"], "Complete")
    assert ("", "RunnerLoading") in seen
    assert ("chat", "ChunkGenerated") in seen
