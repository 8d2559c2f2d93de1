"""The node's API for real: the daemon as a subprocess, the official ``openai`` client."""

from __future__ import annotations

import json
import re
import threading
from pathlib import Path

import openai
import pytest
from openai.types.chat import ChatCompletionMessageParam

from tests.node.nodeproc import MODEL, NodeProcess

PROMPT: list[ChatCompletionMessageParam] = [{"role": "user", "content": "And God said,"}]


def client(node: NodeProcess) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{node.url}/v1", api_key="unused", timeout=60.0, max_retries=0)


def reference(node: NodeProcess, max_tokens: int) -> str:
    done = client(node).chat.completions.create(
        model=MODEL,
        messages=PROMPT,
        max_tokens=max_tokens,
        temperature=0.0,
    )
    return done.choices[0].message.content or ""


def stream_text(node: NodeProcess, max_tokens: int) -> tuple[str, str | None]:
    stream = client(node).chat.completions.create(
        model=MODEL,
        messages=PROMPT,
        max_tokens=max_tokens,
        stream=True,
    )
    parts, finish = [], None
    for chunk in stream:
        if chunk.choices:
            parts.append(chunk.choices[0].delta.content or "")
            finish = chunk.choices[0].finish_reason or finish
    return "".join(parts), finish


def test_models_lists_the_placed_model(node: NodeProcess) -> None:
    assert [m.id for m in client(node).models.list()] == [MODEL]


def test_health(node: NodeProcess) -> None:
    assert node.http.get("/health").json() == {"ok": True, "instances": 1}


def test_completion_without_streaming(node: NodeProcess) -> None:
    done = client(node).chat.completions.create(
        model=MODEL,
        messages=PROMPT,
        max_tokens=12,
        temperature=0.0,
        seed=1,
    )
    assert done.object == "chat.completion"
    assert done.choices[0].message.role == "assistant"
    assert done.choices[0].message.content
    assert done.choices[0].finish_reason == "length"
    assert done.usage is not None
    assert done.usage.completion_tokens == 12
    assert done.usage.total_tokens == done.usage.prompt_tokens + 12


def test_streaming_gives_the_same_text(node: NodeProcess) -> None:
    text, finish = stream_text(node, 12)
    assert text == reference(node, 12)
    assert finish == "length"


def test_raw_stream_is_server_sent_events_ending_with_done(node: NodeProcess) -> None:
    body = {"model": MODEL, "messages": PROMPT, "max_tokens": 4, "stream": True}
    with node.http.stream("POST", "/v1/chat/completions", json=body) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        lines = [line for line in response.iter_lines() if line]
    assert all(line.startswith("data: ") for line in lines)
    assert lines[-1] == "data: [DONE]"
    last = json.loads(lines[-2][len("data: ") :])
    assert last["usage"]["completion_tokens"] == 4


def test_eight_concurrent_streams_each_get_their_full_text(node: NodeProcess) -> None:
    expected = reference(node, 16)
    results: dict[int, tuple[str, str | None]] = {}
    errors: list[BaseException] = []

    def one(n: int) -> None:
        try:
            results[n] = stream_text(node, 16)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=one, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not errors
    assert results == {n: (expected, "length") for n in range(8)}


def test_stop_and_seed_and_top_p_are_accepted(node: NodeProcess) -> None:
    full = reference(node, 16)
    stop = full.split()[2]
    done = client(node).chat.completions.create(
        model=MODEL,
        messages=PROMPT,
        max_tokens=16,
        stop=[stop],
        seed=7,
        top_p=0.9,
    )
    text = done.choices[0].message.content or ""
    assert stop not in text
    assert done.choices[0].finish_reason == "stop"


def test_unknown_model_is_404(node: NodeProcess) -> None:
    with pytest.raises(openai.NotFoundError, match="not placed on this node"):
        client(node).chat.completions.create(model="nobody/nothing", messages=PROMPT)


@pytest.mark.parametrize(
    ("change", "param"),
    [
        ({"temperature": 3.0}, "temperature"),
        ({"max_tokens": 0}, "max_tokens"),
        ({"top_p": 0.0}, "top_p"),
        ({"messages": []}, "messages"),
        ({"stop": ["a", "b", "c", "d", "e"]}, "stop"),
    ],
)
def test_out_of_range_requests_are_400(
    node: NodeProcess, change: dict[str, object], param: str
) -> None:
    body = {"model": MODEL, "messages": PROMPT, **change}
    response = node.http.post("/v1/chat/completions", json=body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert error["param"] == param


def test_malformed_json_is_400(node: NodeProcess) -> None:
    response = node.http.post(
        "/v1/chat/completions", content=b"{bad", headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert "not valid JSON" in response.json()["error"]["message"]


def test_a_client_that_disconnects_cancels_its_task(node: NodeProcess) -> None:
    body = {"model": MODEL, "messages": PROMPT, "max_tokens": 1000, "stream": True}
    with node.http.stream("POST", "/v1/chat/completions", json=body) as response:
        first = json.loads(next(response.iter_lines())[len("data: ") :])
        task = first["id"]
    task_id = task.removeprefix("chatcmpl-").replace("-chat-", "/chat-")

    def cancelled() -> bool:
        tasks = node.runner()["tasks"]
        return bool(tasks[task_id]["status"] == "Cancelled")

    node.wait_for(f"{task_id} Cancelled", cancelled, timeout=60)
    assert reference(node, 4)  # the runner keeps serving


def test_events_stream_the_log(node: NodeProcess) -> None:
    with node.http.stream("GET", "/events") as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        entries = []
        for line in response.iter_lines():
            if line.startswith("data: "):
                entries.append(json.loads(line[len("data: ") :]))
            if len(entries) >= 3:
                break
    assert "RunnerStatusUpdated" in entries[0]["event"]
    assert entries[0]["runner_id"] == "instance-1/runner-0"


def test_placing_a_model_the_hub_lacks_is_503_with_the_runner_state(node: NodeProcess) -> None:
    placed = node.http.post("/instance", json={"model": "nobody/missing", "instance_id": "gone"})
    assert placed.status_code == 201
    node.wait_for(
        "the download failed", lambda: node.runner("gone")["backoff"]["failures"] >= 1, timeout=60
    )
    response = node.http.post(
        "/v1/chat/completions", json={"model": "nobody/missing", "messages": PROMPT}
    )
    assert response.status_code == 503
    message = response.json()["error"]["message"]
    assert "no ready runner" in message
    assert "allowed here:" in message or "allows:" in message
    removed = node.http.delete("/instance/gone")
    assert removed.status_code == 200
    assert node.http.delete("/instance/gone").status_code == 404
    assert "gone" not in node.state()["instances"]


def test_bad_placement_is_400(node: NodeProcess) -> None:
    response = node.http.post("/instance", json={"model": "not a repo id"})
    assert response.status_code == 400
    assert "invalid repo id" in response.json()["error"]["message"]


def test_state_is_json_from_the_wire_types(node: NodeProcess) -> None:
    reference(node, 2)  # a ChatCompletion of its own, whichever tests ran before
    runner = node.runner()
    assert runner["status"] == {"RunnerReady": {}} or runner["status"] == {"RunnerRunning": {}}
    assert runner["plan"] in ({"at": "ready"}, {"busy": "running"})
    assert runner["health"]["alive"] is True
    kinds = {t["task"] for t in runner["tasks"].values()}
    assert {"DownloadModel", "LoadModel", "StartWarmup", "ChatCompletion"} <= kinds


README = Path(__file__).resolve().parents[2] / "README.md"


def readme_node_section() -> str:
    text = README.read_text()
    start = text.index("## The node")
    return text[start : text.index("\n## ", start + 1)]


def test_readme_openai_snippet_runs_against_a_node(
    node: NodeProcess, capsys: pytest.CaptureFixture[str]
) -> None:
    block = re.search(r"```python\n(.*?)```", readme_node_section(), re.DOTALL)
    assert block is not None
    code = block.group(1).replace("http://127.0.0.1:52415", node.url)
    exec(compile(code, "README.md", "exec"), {})
    printed = capsys.readouterr().out
    assert len(printed.split()) >= 6


def test_readme_curl_request_is_served(node: NodeProcess) -> None:
    section = readme_node_section()
    curl = re.search(r"curl -s (\S+) .*?-d '(.*?)'", section, re.DOTALL)
    assert curl is not None
    url, body = curl.group(1), json.loads(curl.group(2))
    assert url == "http://127.0.0.1:52415/v1/chat/completions"
    response = node.http.post("/v1/chat/completions", json=body)
    assert response.status_code == 200
    assert response.json()["usage"]["completion_tokens"] == 12
