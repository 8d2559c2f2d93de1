"""Every (state x fault) cell: the spec'd end state, every task's one final status, no hang,
no leaked process. Cells run a few at a time; the matrix prints at the end (``-s`` to see)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from multiprocessing import resource_tracker

import pytest

from exo_spec.runtime.wire import RunnerFailed, RunnerShutdown
from exo_spec_generated.runner_machine import RunnerState
from tests.supervisor.cells import (
    FAULTS,
    ROUTES,
    STALL,
    Cell,
    error_chunk_first,
    run_cell,
    runner_children,
)

CELLS = [(state, fault) for state in ROUTES for fault in FAULTS]
_VERDICTS: dict[tuple[RunnerState, str], bool] = {}

EXPECTED_CAUSE = {
    "SIGKILL": "killed by SIGKILL",
    "SIGTERM": "killed by SIGTERM",
    "raises": "scripted failure",
    "stalls": f"timed out after {STALL:g} s",
    "malformed": "malformed message",
    "closed": "the channel",
}


def _fd_count() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.fixture(scope="module")
def matrix() -> Iterator[dict[tuple[RunnerState, str], Cell]]:
    resource_tracker.ensure_running()  # spawn starts it once per parent; it holds one fd
    fds_before = _fd_count()
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = dict(zip(CELLS, pool.map(lambda c: run_cell(*c), CELLS), strict=True))
    yield results
    assert runner_children() == []
    assert _fd_count() <= fds_before


@pytest.mark.parametrize(("state", "fault"), CELLS, ids=[f"{s.value}-{f}" for s, f in CELLS])
def test_cell(matrix: dict[tuple[RunnerState, str], Cell], state: RunnerState, fault: str) -> None:
    _VERDICTS[(state, fault)] = False
    cell = matrix[(state, fault)]
    assert cell.problems == []
    assert not cell.leaked, f"runner process {cell.pid} still exists"
    assert set(cell.task_finals.values()) <= {"Complete", "Failed", "Cancelled"}, cell.task_finals
    if fault == "cleanup":
        assert isinstance(cell.final_status, RunnerShutdown)
        assert cell.closer_errors == []
        assert cell.signals.count("SIGTERM") <= 1
        assert cell.signals.count("SIGKILL") <= 1
        if ROUTES[state].transient:
            assert cell.task_finals["in-state"] == "Failed"
    else:
        assert isinstance(cell.final_status, RunnerFailed)
        assert EXPECTED_CAUSE[fault] in cell.final_status.error_message
        # an action that raises fails its task and leaves the runner process serving
        assert cell.alive_after_fault == (fault == "raises")
    if ROUTES[state].transient or fault in ("raises", "stalls"):
        assert cell.task_finals["in-state"] == "Failed"
    if state == RunnerState.running and fault in ("SIGKILL", "SIGTERM", "stalls", "closed"):
        assert error_chunk_first(cell, "in-state")
    _VERDICTS[(state, fault)] = True


def test_print_matrix(capsys: pytest.CaptureFixture[str]) -> None:
    """The matrix table (run with ``-s`` to see it in the output)."""
    width = max(len(f) for f in FAULTS) + 1
    lines = ["state".ljust(12) + "".join(f.ljust(width) for f in FAULTS)]
    for state in ROUTES:
        marks = ["ok" if _VERDICTS.get((state, f)) else "FAIL" for f in FAULTS]
        lines.append(state.value.ljust(12) + "".join(m.ljust(width) for m in marks))
    passed = sum(_VERDICTS.values())
    lines.append(f"fault matrix: {passed}/{len(CELLS)} cells passed")
    with capsys.disabled():
        print("\n" + "\n".join(lines))
    assert len(_VERDICTS) == len(CELLS)
