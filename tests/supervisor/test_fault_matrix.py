"""Every (state x fault) cell: the spec'd end state, every task's one final status, no hang,
no leaked process. A module fixture runs every cell once, a few at a time; each cell is its own
test of that result, and the matrix prints from the same result (``-s`` to see it)."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from multiprocessing import resource_tracker

import pytest

from exo_spec.generated.runner_machine import RunnerState
from exo_spec.runtime.wire import RunnerFailed, RunnerShutdown
from tests.supervisor.cells import (
    FAULTS,
    ROUTES,
    STALL,
    Cell,
    error_chunk_first,
    run_cell,
    runner_children,
)
from tests.supervisor.portability import HAS_PROC_FD, missing_for_fault, needs_proc_fd

CELLS = [(state, fault) for state in ROUTES for fault in FAULTS]

EXPECTED_CAUSE = {
    "SIGKILL": "killed by SIGKILL",
    "SIGTERM": "killed by SIGTERM",
    "raises": "scripted failure",
    "stalls": f"timed out after {STALL:g} s",
    "malformed": "malformed message",
    "closed": "the channel",
    "frozen": "stopped responding: no heartbeat or event for 2 s",
}


def _fd_count() -> int | None:
    return len(os.listdir("/proc/self/fd")) if HAS_PROC_FD else None


@dataclass(frozen=True)
class Matrix:
    """Every runnable cell's observations, and what was left over once all had run."""

    cells: dict[tuple[RunnerState, str], Cell]
    fds_before: int | None
    fds_after: int | None
    children_after: list[str]


@pytest.fixture(scope="module")
def matrix() -> Matrix:
    if HAS_PROC_FD:
        resource_tracker.ensure_running()  # started now if ever: its fd is not counted as leaked
    fds_before = _fd_count()
    runnable = [cell for cell in CELLS if missing_for_fault(cell[1]) is None]
    with ThreadPoolExecutor(max_workers=4) as pool:
        cells = dict(zip(runnable, pool.map(lambda c: run_cell(*c), runnable), strict=True))
    return Matrix(cells, fds_before, _fd_count(), [repr(p) for p in runner_children()])


def verdict(state: RunnerState, fault: str, cell: Cell) -> list[str]:
    """Every way ``cell`` differs from what the spec requires (empty: the cell passed)."""
    problems = list(cell.problems)

    def check(ok: bool, message: str) -> None:
        if not ok:
            problems.append(message)

    check(not cell.leaked, f"runner process {cell.pid} still exists")
    if fault == "orphaned":  # the supervisor is gone with its records: the runner must be too
        return problems
    finals = set(cell.task_finals.values())
    check(finals <= {"Complete", "Failed", "Cancelled"}, f"unfinished tasks: {cell.task_finals}")
    in_state = cell.task_finals.get("in-state")
    if fault == "cleanup":
        check(isinstance(cell.final_status, RunnerShutdown), f"ended {cell.final_status}")
        check(cell.closer_errors == [], f"close() raised: {cell.closer_errors}")
        check(cell.signals.count("SIGTERM") <= 1, f"signals sent: {cell.signals}")
        check(cell.signals.count("SIGKILL") <= 1, f"signals sent: {cell.signals}")
    else:
        status = cell.final_status
        check(isinstance(status, RunnerFailed), f"ended {status}, not RunnerFailed")
        if isinstance(status, RunnerFailed):
            cause = EXPECTED_CAUSE[fault]
            check(cause in status.error_message, f"{status.error_message!r} lacks {cause!r}")
        # an action that raises fails its task and leaves the runner process serving
        check(
            cell.alive_after_fault == (fault == "raises"),
            f"runner process alive after the fault: {cell.alive_after_fault}",
        )
    if ROUTES[state].transient or fault in ("raises", "stalls"):
        check(in_state == "Failed", f"the task in the state ended {in_state}, not Failed")
    if state == RunnerState.running and fault in (
        "SIGKILL",
        "SIGTERM",
        "stalls",
        "closed",
        "frozen",
    ):
        check(error_chunk_first(cell, "in-state"), "no ErrorChunk before RunnerFailed")
    return problems


def _param(state: RunnerState, fault: str) -> object:
    reason = missing_for_fault(fault)
    marks = [] if reason is None else [pytest.mark.skip(reason=reason)]
    return pytest.param(state, fault, id=f"{state.value}-{fault}", marks=marks)


@pytest.mark.parametrize(("state", "fault"), [_param(*cell) for cell in CELLS])
def test_cell(matrix: Matrix, state: RunnerState, fault: str) -> None:
    assert verdict(state, fault, matrix.cells[(state, fault)]) == []


def test_no_runner_process_is_left(matrix: Matrix) -> None:
    assert matrix.children_after == []


@needs_proc_fd
def test_no_file_descriptor_is_leaked(matrix: Matrix) -> None:
    assert matrix.fds_before is not None
    assert matrix.fds_after is not None
    assert matrix.fds_after <= matrix.fds_before


def test_print_matrix(matrix: Matrix, capsys: pytest.CaptureFixture[str]) -> None:
    """The matrix table (run with ``-s`` to see it in the output)."""
    width = max(len(f) for f in FAULTS) + 1
    first = max(len(state.value) for state in ROUTES) + 1
    lines = ["state".ljust(first) + "".join(f.ljust(width) for f in FAULTS)]
    marks: dict[tuple[RunnerState, str], str] = {}
    for state, fault in CELLS:
        cell = matrix.cells.get((state, fault))
        if cell is None:
            marks[(state, fault)] = "skip"
        else:
            marks[(state, fault)] = "FAIL" if verdict(state, fault, cell) else "ok"
    for state in ROUTES:
        row = [marks[(state, f)] for f in FAULTS]
        lines.append(state.value.ljust(first) + "".join(m.ljust(width) for m in row))
    passed = sum(mark == "ok" for mark in marks.values())
    skipped = sum(mark == "skip" for mark in marks.values())
    lines.append(
        f"fault matrix: {passed}/{len(CELLS) - skipped} cells passed"
        + (f" ({skipped} skipped on this platform)" if skipped else "")
    )
    with capsys.disabled():
        print("\n" + "\n".join(lines))
    assert len(marks) == len(CELLS)
