"""The node daemon as a real subprocess on a free loopback port, for the API tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx2 as httpx

READY_TIMEOUT_S = 120.0
STOP_TIMEOUT_S = 60.0
MODEL = "exo-spec/tiny-kjv"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class NodeProcess:
    """``exo-spec node`` serving the embedded model from its own local hub."""

    def __init__(self, models_dir: Path, log: Path, *extra: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        self._log_file = log.open("wb")
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.proc = subprocess.Popen(
            [
                *(sys.executable, "-m", "exo_spec", "node", "--port", str(self.port)),
                *("--models-dir", str(models_dir), "--ignore-eos", *extra),
            ],
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            env=env,
        )
        self.http = httpx.Client(base_url=self.url, timeout=30.0)

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def state(self) -> dict[str, Any]:
        response = self.http.get("/state")
        response.raise_for_status()
        data: dict[str, Any] = response.json()
        return data

    def runner(self, instance: str = "instance-1") -> dict[str, Any]:
        runners: dict[str, Any] = self.state()["instances"][instance]["runners"]
        return next(iter(runners.values()))

    def wait_for(
        self, what: str, check: Callable[[], bool], timeout: float = READY_TIMEOUT_S
    ) -> None:
        """Poll ``check`` (bounded); fail with the node's output if it never holds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"the node exited {self.proc.returncode}:\n{self.output()}")
            try:
                if check():
                    return
            except (httpx.HTTPError, KeyError, StopIteration):
                pass
            time.sleep(0.05)
        raise AssertionError(f"{what}: not within {timeout} s\n{self.output()}")

    def wait_ready(self, instance: str = "instance-1") -> None:
        self.wait_for(f"{instance} ready", lambda: self.runner(instance)["state"] == "ready")

    def stop(self) -> int:
        """SIGTERM, then wait (bounded); SIGKILL as a last resort so no test leaks a node."""
        self.http.close()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
            raise AssertionError(f"the node did not stop on SIGTERM:\n{self.output()}") from None
        finally:
            self._log_file.close()
        return code
