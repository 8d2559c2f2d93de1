"""A finding's replay is a pytest test that runs as it is printed: against the real runtime (no
process-level step in the trace) or the real supervisor (a crash, a deletion)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import attrs

from exo_spec.explore import ExploreConfig, explore
from exo_spec.explore.replay import replay_test
from exo_spec.spec import Spec
from tests.explore.variants import SilentCancel, load_before_connected

ROOT = Path(__file__).resolve().parents[2]


def test_replays_run_against_the_real_runtime_and_supervisor(
    runner_spec: Spec, tmp_path: Path
) -> None:
    # a planted planner bug (LoadModel before every rank is connected): the real planner is clean
    runtime = attrs.evolve(
        ExploreConfig(runner_spec, runners=2, weights=True), planner=load_before_connected
    )
    deadlock = next(v for v in explore(runtime).violations if v.code == "EXS708")
    supervised = ExploreConfig(runner_spec, runners=2, faults=("crash",), weights=True)
    never_final = next(v for v in explore(supervised).violations if v.code == "EXS701")
    chats = ExploreConfig(runner_spec, chats=1, weights=True)
    silent = next(v for v in explore(chats, SilentCancel).violations if v.code == "EXS701")
    third = replay_test(chats, silent)
    assert "ranks.send(0, 'CancelTask', target=0, during=True)" in third
    (tmp_path / "test_replay_cancel.py").write_text(third, encoding="utf-8")
    first = replay_test(runtime, deadlock)
    second = replay_test(supervised, never_final)
    assert "RuntimeRanks(2, weights=True" in first
    assert "ranks.crash(1)  # 6. rank 1: the runner process crashes in connecting" in second
    (tmp_path / "test_replay_exs708.py").write_text(first, encoding="utf-8")
    (tmp_path / "test_replay_exs701.py").write_text(second, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    # the real system keeps both invariants on these schedules: the scripted engine's connect
    # does not wait for peers (EXS708 needs real collectives), and the supervisor fails the
    # blocked ConnectToGroup once when the instance's runners are closed (EXS701); the real
    # runner reports the CancelTask that the planted variant leaves without a final status
    assert done.returncode == 0, done.stdout + done.stderr
    assert "3 passed" in done.stdout
