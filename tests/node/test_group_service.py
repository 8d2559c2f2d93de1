"""The node's group handling in process, on scripted runner processes: the text comes from the
output rank only, a failed chat ends its stream, and a group that keeps breaking is given up
by its budget with no process left."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import psutil
import pytest

from exo_spec.node.planner import Backoff
from exo_spec.node.service import Instance, Node, NotReadyError
from exo_spec.runtime.engine_protocol import ChatMessage, ChatRequest
from exo_spec.spec import Spec
from exo_spec.supervisor import RestartPolicy, StopBounds
from tests.supervisor.engines import engine

BOUND_S = 60.0
MODEL = "exo-spec/tiny-kjv"


def make_node(spec: Spec, tmp_path: Path, **scripted: object) -> Node:
    return Node(
        spec,
        tmp_path,
        engine(**scripted),
        weights=lambda _: True,
        model_dir_for=lambda root, repo: root / repo.replace("/", "--"),
        restart=RestartPolicy(max_restarts=0),
        bounds=StopBounds(shutdown_s=2.0),
        group_restarts=Backoff(base_s=0.01, max_failures=2),
    )


async def until(node: Node, what: str, check: Callable[[], bool]) -> None:
    """Wait (bounded) for ``check``; fail with the node's state if it never holds."""
    try:
        async with asyncio.timeout(BOUND_S):
            while not check():
                await asyncio.sleep(0.02)
    except TimeoutError:
        raise AssertionError(f"{what}: not within {BOUND_S} s: {node.state_json()}") from None


def ready(node: Node, instance: Instance) -> bool:
    return all(r.state(node.spec) == "ready" for r in instance.ranks)


def ask() -> ChatRequest:
    return ChatRequest(messages=(ChatMessage("user", "hello"),), max_tokens=8)


def test_a_group_chat_streams_the_output_ranks_text_once(runner_spec: Spec, tmp_path: Path) -> None:
    async def main() -> None:
        node = make_node(runner_spec, tmp_path, tokens=4)
        try:
            instance = await node.place(MODEL, "pair", ranks=2)
            await until(node, "ready", lambda: ready(node, instance))
            stream = node.chat("pair", ask())
            texts = [
                item.chunk.text
                async for batch in stream.batches(BOUND_S)
                for item in batch
                if item.chunk is not None and hasattr(item.chunk, "text")
            ]
            assert texts == [" t0", " t1", " t2", " t3"]
            assert stream.status == "Complete"
            await until(node, "ready again", lambda: ready(node, instance))
            state = node.state_json()["instances"]["pair"]
            assert [r["rank"] for r in state["runners"].values()] == [0, 1]
            assert all(r["state"] == "ready" for r in state["runners"].values())
        finally:
            await node.close()

    asyncio.run(main())


def test_a_failed_group_chat_ends_its_stream_with_the_error(
    runner_spec: Spec, tmp_path: Path
) -> None:
    async def main() -> None:
        node = make_node(runner_spec, tmp_path, fail={"generate": "the group is lost"})
        try:
            instance = await node.place(MODEL, "pair", ranks=2)
            await until(node, "ready", lambda: ready(node, instance))
            stream = node.chat("pair", ask())
            async for _ in stream.batches(BOUND_S):
                pass
            assert stream.status == "Failed"
            assert stream.error is not None
        finally:
            await node.close()

    asyncio.run(main())


def test_a_group_that_keeps_breaking_is_given_up_by_its_budget(
    runner_spec: Spec, tmp_path: Path
) -> None:
    async def main() -> None:
        node = make_node(runner_spec, tmp_path, fail={"connect": "no peer came"})
        try:
            instance = await node.place(MODEL, "pair", ranks=2)
            await until(node, "given up", lambda: instance.failed is not None)
            assert instance.generation == 2  # formed again once, then the budget was spent
            assert "failed 2 times in a row" in (instance.failed or "")
            assert "no peer came" in (instance.failed or "")
            pids = [r.supervisor.pid for r in instance.ranks]
            assert all(not r.supervisor.health()["alive"] for r in instance.ranks)
            for pid in pids:
                assert (
                    pid is None
                    or not psutil.pid_exists(pid)
                    or (psutil.Process(pid).status() == "zombie")
                )
            with pytest.raises(NotReadyError, match="failed 2 times"):
                node.chat("pair", ask())
            group = node.state_json()["instances"]["pair"]["group"]
            assert group["failed"] == instance.failed
        finally:
            await node.close()

    asyncio.run(main())
