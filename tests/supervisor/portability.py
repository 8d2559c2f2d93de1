"""What the supervisor's tests need from the platform, and skip marks for where it is missing.

The scripted engine sabotages its channel on SIGUSR1/SIGUSR2 and finds that channel among its
open descriptors in ``/proc/self/fd``; the fault matrix counts descriptors there too. Both are
Linux facilities (CI runs Linux); elsewhere the tests that need them are skipped, not errors.
"""

from __future__ import annotations

import os
import signal

import pytest

__all__ = [
    "HAS_PROC_FD",
    "HAS_SIGKILL",
    "HAS_SIGUSR",
    "missing_for_fault",
    "needs_proc_fd",
    "needs_sabotage",
    "needs_sigkill",
]

HAS_PROC_FD = os.path.isdir("/proc/self/fd")
HAS_SIGUSR = hasattr(signal, "SIGUSR1") and hasattr(signal, "SIGUSR2")
HAS_SIGKILL = hasattr(signal, "SIGKILL")

_NO_PROC_FD = "needs /proc/self/fd (Linux) to find or count file descriptors"
_NO_SABOTAGE = (
    "needs SIGUSR1/SIGUSR2 and /proc/self/fd (Linux): the scripted engine sabotages its "
    "channel on those signals and finds the channel in /proc/self/fd"
)
_NO_SIGKILL = "needs SIGKILL (POSIX) to crash the runner process"

needs_proc_fd = pytest.mark.skipif(not HAS_PROC_FD, reason=_NO_PROC_FD)
needs_sabotage = pytest.mark.skipif(not (HAS_SIGUSR and HAS_PROC_FD), reason=_NO_SABOTAGE)
needs_sigkill = pytest.mark.skipif(not HAS_SIGKILL, reason=_NO_SIGKILL)


def missing_for_fault(fault: str) -> str | None:
    """Why a fault cannot be injected on this platform; ``None`` when it can."""
    if fault in ("malformed", "closed") and not (HAS_SIGUSR and HAS_PROC_FD):
        return _NO_SABOTAGE
    if fault in ("SIGKILL", "SIGTERM", "orphaned") and not HAS_SIGKILL:
        return _NO_SIGKILL
    if fault == "frozen" and not hasattr(signal, "SIGSTOP"):
        return "needs SIGSTOP (POSIX) to freeze the runner"
    return None
