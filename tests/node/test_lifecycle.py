"""The node's processes for real: a runner killed mid-stream, and the node's own shutdown."""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable, Iterator

import httpx2 as httpx
import openai
import psutil
import pytest
from openai.types.chat import ChatCompletionMessageParam

from tests.node.nodeproc import MODEL, NodeProcess

PROMPT: list[ChatCompletionMessageParam] = [{"role": "user", "content": "In the beginning"}]


def client(node: NodeProcess) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{node.url}/v1", api_key="unused", timeout=60.0, max_retries=0)


def test_a_runner_killed_mid_stream_ends_the_stream_with_an_error_then_restarts(
    node: NodeProcess,
) -> None:
    pid = node.runner()["health"]["pid"]
    stream = client(node).chat.completions.create(
        model=MODEL,
        messages=PROMPT,
        max_tokens=1000,
        stream=True,
    )
    received = []
    with pytest.raises(openai.APIError, match="runner"):  # noqa: PT012
        for chunk in stream:
            received.append(chunk)
            if len(received) == 3:
                os.kill(pid, signal.SIGKILL)
    assert len(received) >= 3

    def restarted() -> bool:
        runner = node.runner()
        return bool(runner["state"] == "ready" and runner["health"]["restarts"] >= 1)

    node.wait_for("the runner restarted and ready again", restarted)
    assert node.runner()["health"]["pid"] != pid
    done = client(node).chat.completions.create(model=MODEL, messages=PROMPT, max_tokens=8)
    assert done.usage is not None
    assert done.usage.completion_tokens == 8


@pytest.fixture
def stopping_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeProcess]:
    """A node of its own for a test that stops it: the module's node stays up for the other
    tests, whichever order they run in."""
    root = tmp_path_factory.mktemp("stopping-node")
    process = NodeProcess(root / "models", root / "node.log")
    try:
        process.wait_ready()
        yield process
    finally:
        process.stop()


@pytest.fixture
def busy_stream(stopping_node: NodeProcess) -> Iterator[Callable[[], list[str]]]:
    """A stream that is open when the node is told to stop; call it for its lines once over."""
    node = stopping_node
    lines: list[str] = []
    started = threading.Event()

    def read() -> None:
        body = {"model": MODEL, "messages": PROMPT, "max_tokens": 300, "stream": True}
        try:
            with (
                httpx.Client(base_url=node.url, timeout=60) as http,
                http.stream("POST", "/v1/chat/completions", json=body) as response,
            ):
                for line in response.iter_lines():
                    started.set()
                    if line:
                        lines.append(line)
        except httpx.HTTPError as exc:
            lines.append(f"transport error: {exc}")
        finally:
            started.set()

    reader = threading.Thread(target=read)
    reader.start()
    assert started.wait(60)

    def finish() -> list[str]:
        reader.join(60)
        assert not reader.is_alive()
        return lines

    yield finish
    reader.join(60)


def test_sigterm_shuts_the_node_down_cleanly_leaving_no_process(
    stopping_node: NodeProcess, busy_stream: Callable[[], list[str]]
) -> None:
    node = stopping_node
    children = psutil.Process(node.proc.pid).children(recursive=True)
    runner_pid = node.runner()["health"]["pid"]
    assert runner_pid in {c.pid for c in children}
    assert node.stop() == 0
    _, alive = psutil.wait_procs(children, timeout=30)
    assert alive == [], f"left behind: {alive}\n{node.output()}"
    assert not psutil.pid_exists(runner_pid) or psutil.Process(runner_pid).status() == "zombie"
    assert "exo-spec node: stopped" in node.output()
    lines = busy_stream()  # the open stream ended: finished, or with an error event
    assert lines[-1] == "data: [DONE]" or '"error"' in lines[-1], lines[-3:]
