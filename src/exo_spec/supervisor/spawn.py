"""Start a runner process: a fresh interpreter with its own small entry point.

multiprocessing's ``spawn`` start method re-runs the parent's ``__main__`` in the child (as
``__mp_main__``) before it imports the target: for the node daemon the whole CLI, for a script
whatever it imports; and it starts a resource tracker process beside the first child. A runner
needs neither. :class:`ChildProcess` starts ``python -c`` on
:func:`exo_spec.supervisor.child.spawned` instead, with the parent's ``sys.path``, the child's end of a socket pair (a
:class:`~multiprocessing.connection.Connection` on both sides, as before) and a sentinel pipe;
the runner's arguments arrive pickled as the first message on the connection.

A runner that outlives its supervisor's interpreter is terminated at exit, as multiprocessing
does for a daemonic process (on Linux the kernel kills it anyway: ``PR_SET_PDEATHSIG``).
"""

from __future__ import annotations

import atexit
import contextlib
import os
import socket
import subprocess
import sys
import threading
import weakref
from multiprocessing.connection import Connection, wait

__all__ = ["ENTRY", "ChildProcess"]

ENTRY = (
    "import gc; gc.disable(); import sys; sys.path[:] = sys.argv[2:]; "
    "from exo_spec.supervisor.child import spawned; spawned(int(sys.argv[1]))"
)
"""The child's program: the parent's ``sys.path`` (argv[2:]), then the runner on the fd in
argv[1]. It imports only :mod:`exo_spec.supervisor.child` and what that needs, with the cyclic
garbage collector off until the runner has reported Idle (imports make many objects and few
cycles: a twentieth of the start-up went to collections that found nothing to free)."""
_EXIT_BOUND_S = 1.0  # at the interpreter's exit: SIGTERM, this long, then SIGKILL


class ChildProcess:
    """A runner process and the parent's end of its connection.

    ``sentinel`` becomes readable when the process ends (the child holds the pipe's other end
    until then) without reaping it; ``poll`` and ``wait`` reap, as :class:`subprocess.Popen`'s.
    """

    def __init__(self, args: tuple[object, ...]) -> None:
        ours, theirs = socket.socketpair()
        self.conn = Connection(ours.detach())
        self.sentinel, held = os.pipe()
        try:
            self._popen = subprocess.Popen(
                [sys.executable, "-c", ENTRY, str(theirs.fileno()), *sys.path],
                stdin=subprocess.DEVNULL,
                pass_fds=(theirs.fileno(), held),
            )
        except BaseException:
            self.conn.close()
            os.close(self.sentinel)
            raise
        finally:
            theirs.close()
            os.close(held)
        self.pid: int = self._popen.pid
        self._sentinel_open = True
        _running.add(self)
        with contextlib.suppress(OSError):  # a child that died at once: its exit says why
            self.conn.send(args)

    def poll(self) -> int | None:
        """The exit code (negative: the signal) once the process has ended, else ``None``."""
        return self._popen.poll()

    def wait(self) -> int:
        return self._popen.wait()

    def terminate(self) -> None:
        self._popen.terminate()

    def kill(self) -> None:
        self._popen.kill()

    def close(self) -> None:
        """Release the sentinel once the process has ended (idempotent)."""
        if self._sentinel_open:
            self._sentinel_open = False
            os.close(self.sentinel)
        _running.discard(self)


_running: weakref.WeakSet[ChildProcess] = weakref.WeakSet()
_exiting = threading.Lock()


@atexit.register
def _end_runners() -> None:
    """Terminate the runners still running when the interpreter exits, then kill what stays."""
    with _exiting:
        left = [child for child in list(_running) if child.poll() is None]
        for child in left:
            with contextlib.suppress(OSError):
                child.terminate()
        for child in left:
            with contextlib.suppress(OSError, ValueError):  # its supervisor may close it now
                if not wait([child.sentinel], _EXIT_BOUND_S):
                    child.kill()
                child.wait()
