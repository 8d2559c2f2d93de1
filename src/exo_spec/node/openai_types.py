"""OpenAI's chat-completions shapes: the request as pydantic validates it, the responses as JSON.

Only what the node serves: ``messages``, ``max_tokens`` (or ``max_completion_tokens``),
``temperature``, ``top_p``, ``seed``, ``stop`` and ``stream``; other fields OpenAI defines are
accepted and ignored, as the official clients send some by default. Errors are OpenAI's error
object, ``{"error": {"message", "type", "param", "code"}}``.
"""

from __future__ import annotations

import time
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from exo_spec.runtime.engine_protocol import ChatMessage, ChatRequest

__all__ = [
    "ChatCompletionRequest",
    "Message",
    "chunk_json",
    "completion_json",
    "error_json",
    "models_json",
]

MAX_TOKENS_LIMIT = 32_768


class Message(BaseModel):
    """One chat message; content may be a string or OpenAI's list of text parts."""

    model_config = ConfigDict(extra="ignore")

    role: Literal["system", "user", "assistant", "developer"]
    content: str | list[dict[str, Any]]

    def text(self) -> str:
        if isinstance(self.content, str):
            return self.content
        return "".join(str(part.get("text", "")) for part in self.content)


class StreamOptions(BaseModel):
    model_config = ConfigDict(extra="ignore")

    include_usage: bool = False


class ChatCompletionRequest(BaseModel):
    """``POST /v1/chat/completions``: what the node reads of it."""

    model_config = ConfigDict(extra="ignore")

    model: str = Field(min_length=1)
    messages: list[Message] = Field(min_length=1)
    max_tokens: int | None = Field(default=None, ge=1, le=MAX_TOKENS_LIMIT)
    max_completion_tokens: int | None = Field(default=None, ge=1, le=MAX_TOKENS_LIMIT)
    temperature: float = Field(default=0.0, ge=0.0, le=2.0)
    top_p: float = Field(default=1.0, gt=0.0, le=1.0)
    seed: int | None = None
    stop: str | list[str] | None = None
    stream: bool = False
    stream_options: StreamOptions | None = None
    n: int = Field(default=1, ge=1, le=1)

    @field_validator("stop")
    @classmethod
    def _at_most_four_stops(cls, value: str | list[str] | None) -> str | list[str] | None:
        if isinstance(value, list) and len(value) > 4:
            raise ValueError(f"at most 4 stop sequences, got {len(value)}")
        return value

    def to_chat_request(self) -> ChatRequest:
        stops = (self.stop,) if isinstance(self.stop, str) else tuple(self.stop or ())
        messages = tuple(
            ChatMessage("system" if m.role == "developer" else m.role, m.text())
            for m in self.messages
        )
        return ChatRequest(
            messages,
            max_tokens=self.max_completion_tokens or self.max_tokens or 64,
            temperature=self.temperature,
            top_p=self.top_p,
            stop=tuple(s for s in stops if s),
            seed=self.seed,
        )


def error_json(
    message: str, kind: str, *, param: str | None = None, code: str | None = None
) -> dict[str, Any]:
    """OpenAI's error object."""
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}


def models_json(models: list[tuple[str, str]]) -> dict[str, Any]:
    """``GET /v1/models``: ``(model id, owner)`` pairs."""
    now = int(time.time())
    return {
        "object": "list",
        "data": [
            {"id": model, "object": "model", "created": now, "owned_by": owner}
            for model, owner in models
        ],
    }


def usage_json(prompt_tokens: int, completion_tokens: int) -> dict[str, int]:
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }


def chunk_json(
    completion_id: str,
    model: str,
    created: int,
    delta: dict[str, str],
    finish_reason: str | None = None,
    usage: dict[str, int] | None = None,
) -> dict[str, Any]:
    """One ``chat.completion.chunk`` of a stream."""
    choice = {"delta": delta, "finish_reason": finish_reason}
    return _completion("chat.completion.chunk", completion_id, model, created, choice, usage)


def completion_json(
    completion_id: str,
    model: str,
    created: int,
    text: str,
    finish_reason: str,
    usage: dict[str, int],
) -> dict[str, Any]:
    """A whole ``chat.completion``."""
    choice = {"message": {"role": "assistant", "content": text}, "finish_reason": finish_reason}
    return _completion("chat.completion", completion_id, model, created, choice, usage)


def _completion(
    kind: str,
    completion_id: str,
    model: str,
    created: int,
    choice: dict[str, Any],
    usage: dict[str, int] | None,
) -> dict[str, Any]:
    """What a chunk and a whole completion share: the ids, the one choice and the usage."""
    return {
        "id": completion_id,
        "object": kind,
        "created": created,
        "model": model,
        "choices": [{"index": 0, **choice}],
        "usage": usage,
    }
