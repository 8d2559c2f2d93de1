"""The node's HTTP API on FastAPI: OpenAI's chat completions, and the node's own control.

- ``GET /v1/models``, ``POST /v1/chat/completions`` (``stream`` true: Server-Sent Events);
- ``POST /instance`` (place a model on one runner, or on a group of ``ranks``), ``DELETE /instance/{id}``, ``GET /state``,
  ``GET /health``, ``GET /events`` (the event log as Server-Sent Events).

Errors are OpenAI error objects: 400 for a malformed or out-of-range request, 404 for an
unknown model, 503 when no runner can take the chat (its state and allowed tasks in the text).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from exo_spec.node.openai_types import (
    ChatCompletionRequest,
    chunk_json,
    completion_json,
    error_json,
    models_json,
    usage_json,
)
from exo_spec.node.planner import PlacementError
from exo_spec.node.service import MAX_RANKS, ChatStream, Node, NodeError
from exo_spec.runtime.wire import ErrorChunk, TextChunk

__all__ = ["PlaceRequest", "create_app"]

_SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


class PlaceRequest(BaseModel):
    """``POST /instance``: the model to place, optionally the instance's id, and its ranks:
    more than one forms a ring group of runners on 127.0.0.1, on ``ports`` (one per rank) or
    on free ports the node picks."""

    model_config = ConfigDict(extra="forbid")

    model: str = Field(min_length=1)
    instance_id: str | None = Field(default=None, min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    ranks: int = Field(default=1, ge=1, le=MAX_RANKS)
    ports: list[Annotated[int, Field(ge=1, le=65535)]] | None = None


def _sse(data: dict[str, Any] | str) -> bytes:
    text = data if isinstance(data, str) else json.dumps(data, separators=(",", ":"))
    return f"data: {text}\n\n".encode()


def _error(status: int, message: str, kind: str, param: str | None = None) -> JSONResponse:
    return JSONResponse(error_json(message, kind, param=param), status_code=status)


def create_app(
    node: Node, *, on_startup: Callable[[Node], Awaitable[None]] | None = None
) -> FastAPI:
    """The ASGI app over ``node``; ``on_startup`` runs once the loop is up (placements)."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if on_startup is not None:
            await on_startup(node)
        try:
            yield
        finally:
            await node.close()

    app = FastAPI(title="exo-spec node", lifespan=lifespan)

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        if first.get("type") == "json_invalid":
            error = first.get("ctx", {}).get("error", "")
            return _error(400, f"the body is not valid JSON: {error}", "invalid_request_error")
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "body")
        message = f"{where}: {first.get('msg', 'invalid request')}" if where else str(exc)
        return _error(400, message, "invalid_request_error", where or None)

    @app.exception_handler(NodeError)
    async def refused(_: Request, exc: NodeError) -> JSONResponse:
        return _error(exc.status, str(exc), exc.kind)

    @app.exception_handler(PlacementError)
    async def unplaceable(_: Request, exc: PlacementError) -> JSONResponse:
        return _error(400, str(exc), "placement_error")

    @app.get("/health")
    async def health() -> dict[str, Any]:
        return {"ok": not node.closing, "instances": len(node.instances)}

    @app.get("/state")
    async def state() -> dict[str, Any]:
        return node.state_json()

    @app.post("/instance", status_code=201)
    async def place(body: PlaceRequest) -> dict[str, Any]:
        instance = await node.place(
            body.model, body.instance_id, ranks=body.ranks, ports=body.ports
        )
        return {
            "instance_id": instance.instance_id,
            "runner_id": instance.runner_id,
            "runner_ids": [r.runner_id for r in instance.ranks],
            "ports": list(instance.ports),
        }

    @app.delete("/instance/{instance_id}")
    async def remove(instance_id: str) -> dict[str, Any]:
        await node.remove(instance_id)
        return {"instance_id": instance_id, "removed": True}

    @app.get("/events")
    async def events(request: Request) -> StreamingResponse:
        backlog, queue = node.events()

        async def lines() -> AsyncIterator[bytes]:
            try:
                for entry in backlog:
                    yield _sse(entry)
                while not node.closing:
                    try:
                        entry = await asyncio.wait_for(queue.get(), 1.0)
                    except TimeoutError:
                        if await request.is_disconnected():
                            return
                        yield b": keep-alive\n\n"
                        continue
                    if not entry:
                        return
                    yield _sse(entry)
            finally:
                node.stop_listening(queue)

        return StreamingResponse(lines(), media_type="text/event-stream", headers=_SSE_HEADERS)

    @app.get("/v1/models")
    async def models() -> dict[str, Any]:
        return models_json(node.models())

    @app.post("/v1/chat/completions", response_model=None)
    async def chat(body: ChatCompletionRequest) -> StreamingResponse | JSONResponse:
        stream = node.chat(body.model, body.to_chat_request())
        completion_id = f"chatcmpl-{stream.task_id.replace('/', '-')}"
        created = int(time.time())
        if body.stream:
            return StreamingResponse(
                _stream(stream, body, completion_id, created),
                media_type="text/event-stream",
                headers=_SSE_HEADERS,
            )
        return await _whole(stream, body, completion_id, created)

    return app


def _prompt_tokens(body: ChatCompletionRequest) -> int:
    """A word count of the messages: the node does not tokenize (the runner does)."""
    return sum(len(m.text().split()) for m in body.messages)


async def _stream(
    stream: ChatStream, body: ChatCompletionRequest, completion_id: str, created: int
) -> AsyncIterator[bytes]:
    """The chat as OpenAI's chunks; an error event if the runner fails or dies mid-stream.
    A client that goes away cancels the task (the generator is closed: :meth:`ChatStream.close`)."""
    model = body.model
    tokens = 0
    yield _sse(chunk_json(completion_id, model, created, {"role": "assistant", "content": ""}))
    error: str | None = None
    finish: str | None = None
    async for batch in stream.batches():
        out: list[bytes] = []
        for item in batch:
            chunk = item.chunk
            if isinstance(chunk, TextChunk):
                tokens += 1
                if chunk.finish_reason is not None:
                    finish = "stop" if chunk.finish_reason == "cancelled" else chunk.finish_reason
                if chunk.text:
                    out.append(
                        _sse(chunk_json(completion_id, model, created, {"content": chunk.text}))
                    )
            elif isinstance(chunk, ErrorChunk):
                error = chunk.error_message
            elif item.status is not None and item.status != "Complete":
                error = error or item.error or f"the chat ended {item.status}"
        if out:
            yield b"".join(out)
    if error is not None:
        yield _sse(error_json(error, "server_error", code="runner_failed"))
        return
    usage = usage_json(_prompt_tokens(body), tokens)
    yield _sse(chunk_json(completion_id, model, created, {}, finish or "stop", usage))
    yield _sse("[DONE]")


async def _whole(
    stream: ChatStream, body: ChatCompletionRequest, completion_id: str, created: int
) -> JSONResponse:
    parts: list[str] = []
    tokens = 0
    finish = "stop"
    error: str | None = None
    async for batch in stream.batches():
        for item in batch:
            chunk = item.chunk
            if isinstance(chunk, TextChunk):
                tokens += 1
                parts.append(chunk.text)
                if chunk.finish_reason is not None and chunk.finish_reason != "cancelled":
                    finish = chunk.finish_reason
            elif isinstance(chunk, ErrorChunk):
                error = chunk.error_message
            elif item.status is not None and item.status != "Complete":
                error = error or item.error or f"the chat ended {item.status}"
    if error is not None:
        return _error(500, error, "server_error")
    usage = usage_json(_prompt_tokens(body), tokens)
    return JSONResponse(
        completion_json(completion_id, body.model, created, "".join(parts), finish, usage)
    )
