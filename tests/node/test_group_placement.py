"""A two-rank instance placed by the node for real: two runner processes forming one ring group
on 127.0.0.1, driven in the planner's order, serving chats from the output rank."""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Callable, Iterator
from typing import Any

import openai
import psutil
import pytest
from openai.types.chat import ChatCompletionMessageParam

from tests.node.nodeproc import MODEL, NodeProcess

PAIR = "instance-1"
SOLO = "solo"
PROMPTS: list[list[ChatCompletionMessageParam]] = [
    [{"role": "user", "content": "And God said,"}],
    [{"role": "user", "content": "In the beginning"}],
]


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeProcess]:
    """A node placing the model on a two-rank group at start (``--ranks 2``), and on one
    runner (``solo``) through the API, for the reference text."""
    root = tmp_path_factory.mktemp("group-node")
    process = NodeProcess(root / "models", root / "node.log", "--ranks", "2")
    try:
        wait_group_ready(process, PAIR)
        placed = process.http.post("/instance", json={"model": MODEL, "instance_id": SOLO})
        assert placed.status_code == 201, placed.text
        assert placed.json()["runner_ids"] == [f"{SOLO}/runner-0"]
        process.wait_ready(SOLO)
        yield process
    finally:
        process.stop()


def client(node: NodeProcess) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{node.url}/v1", api_key="unused", timeout=60.0, max_retries=0)


def group(node: NodeProcess, instance: str = PAIR) -> dict[str, Any]:
    found: dict[str, Any] = node.state()["instances"][instance]
    return found


def wait_group_ready(node: NodeProcess, instance: str, generation: int = 1) -> None:
    def ready() -> bool:
        found = group(node, instance)
        runners = found["runners"].values()
        return found["group"]["generation"] >= generation and all(
            r["state"] == "ready" for r in runners
        )

    node.wait_for(f"every rank of {instance} ready (generation {generation})", ready)


def pids(node: NodeProcess, instance: str = PAIR) -> list[int]:
    return [r["health"]["pid"] for r in group(node, instance)["runners"].values()]


def events_until(
    node: NodeProcess, done: Callable[[list[dict[str, Any]]], bool]
) -> list[dict[str, Any]]:
    """The node's event log (``GET /events``), read until ``done`` holds for what was read."""
    entries: list[dict[str, Any]] = []
    with node.http.stream("GET", "/events") as response:
        for line in response.iter_lines():
            if line.startswith("data: "):
                entries.append(json.loads(line[len("data: ") :]))
                if done(entries):
                    break
    return entries


def status_name(entry: dict[str, Any]) -> str | None:
    update = entry["event"].get("RunnerStatusUpdated")
    return None if update is None else next(iter(update["runner_status"]))


def first_seq(entries: list[dict[str, Any]], rank: int, status: str) -> int:
    return int(
        next(
            e["seq"]
            for e in entries
            if e["instance_id"] == PAIR
            and e["generation"] == 1
            and e["rank"] == rank
            and status_name(e) == status
        )
    )


def test_the_group_reaches_ready_in_the_planners_order(node: NodeProcess) -> None:
    def both_ready(entries: list[dict[str, Any]]) -> bool:
        ready = {
            e["rank"]
            for e in entries
            if e["instance_id"] == PAIR and status_name(e) == "RunnerReady"
        }
        return ready == {0, 1}

    entries = events_until(node, both_ready)
    connecting = [first_seq(entries, r, "RunnerConnecting") for r in (0, 1)]
    connected = [first_seq(entries, r, "RunnerConnected") for r in (0, 1)]
    loading = [first_seq(entries, r, "RunnerLoading") for r in (0, 1)]
    warming = [first_seq(entries, r, "RunnerWarmingUp") for r in (0, 1)]
    assert connecting[0] < connecting[1]  # the last rank connects last
    assert max(connected) < min(loading)  # load only once every rank is connected
    assert warming[1] < warming[0]  # rank 0 warms up last
    found = group(node)
    assert found["ranks"] == 2
    assert len(set(found["ports"])) == 2
    assert [r["rank"] for r in found["runners"].values()] == [0, 1]
    assert all(r["health"]["alive"] for r in found["runners"].values())


@pytest.mark.parametrize("prompt", PROMPTS)
def test_the_group_streams_the_one_rank_greedy_text(
    node: NodeProcess, prompt: list[ChatCompletionMessageParam]
) -> None:
    solo = client(node).chat.completions.create(
        model=SOLO, messages=prompt, max_tokens=24, temperature=0.0
    )
    expected = solo.choices[0].message.content or ""
    stream = client(node).chat.completions.create(
        model=PAIR, messages=prompt, max_tokens=24, temperature=0.0, stream=True
    )
    parts, finish = [], None
    for chunk in stream:
        if chunk.choices:
            parts.append(chunk.choices[0].delta.content or "")
            finish = chunk.choices[0].finish_reason or finish
    assert expected
    assert "".join(parts) == expected
    assert finish == "length"


@pytest.mark.parametrize(
    "killed",
    [pytest.param(1, id="other-rank"), pytest.param(0, id="output-rank", marks=pytest.mark.slow)],
)
def test_a_rank_killed_mid_stream_ends_the_stream_with_an_error_and_reforms_the_group(
    node: NodeProcess, killed: int
) -> None:
    found = group(node)
    generation = found["group"]["generation"]
    before = pids(node)
    stream = client(node).chat.completions.create(
        model=PAIR, messages=PROMPTS[0], max_tokens=900, stream=True
    )
    received = []
    with pytest.raises(openai.APIError, match=r"rank|runner"):  # noqa: PT012
        for chunk in stream:
            received.append(chunk)
            if len(received) == 3:
                os.kill(before[killed], signal.SIGKILL)
    assert len(received) >= 3
    wait_group_ready(node, PAIR, generation + 1)
    after = pids(node)
    assert not set(after) & set(before)  # the whole group was started again, not one rank
    for pid in before:
        assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == "zombie"
    done = client(node).chat.completions.create(model=PAIR, messages=PROMPTS[1], max_tokens=8)
    assert done.usage is not None
    assert done.usage.completion_tokens == 8


def test_delete_leaves_no_process_and_the_ports_form_a_group_again(node: NodeProcess) -> None:
    wait_group_ready(node, PAIR)
    ports = group(node)["ports"]
    before = pids(node)
    assert node.http.delete(f"/instance/{PAIR}").status_code == 200
    assert PAIR not in node.state()["instances"]
    for pid in before:
        assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == "zombie"
    # placed again at once on the same ports (and left placed: the module's other tests use it,
    # in any order)
    again = node.http.post(
        "/instance", json={"model": MODEL, "instance_id": PAIR, "ranks": 2, "ports": ports}
    )
    assert again.status_code == 201, again.text
    assert again.json()["ports"] == ports
    wait_group_ready(node, PAIR)
    assert set(pids(node)).isdisjoint(before)
    done = client(node).chat.completions.create(model=PAIR, messages=PROMPTS[0], max_tokens=4)
    assert done.usage is not None
    assert done.usage.completion_tokens == 4


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"ranks": 0}, "ranks"),
        ({"ranks": 9}, "ranks"),
        ({"ranks": 2, "ports": [5000]}, "one port per rank"),
        ({"ranks": 2, "ports": [5000, 5000]}, "a port of its own"),
        ({"ports": [5000]}, "one port per rank"),
    ],
)
def test_bad_group_placements_are_400(
    node: NodeProcess, body: dict[str, Any], message: str
) -> None:
    response = node.http.post("/instance", json={"model": MODEL, "instance_id": "bad", **body})
    assert response.status_code == 400
    assert message in response.json()["error"]["message"]
    assert "bad" not in node.state()["instances"]
