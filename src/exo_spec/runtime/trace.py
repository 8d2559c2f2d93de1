"""Readable one-line renderings of events, for terminals and logs."""

from __future__ import annotations

from exo_spec.runtime.wire import (
    ChunkGenerated,
    DownloadProgressed,
    ErrorChunk,
    Event,
    RunnerFailed,
    RunnerLoading,
    RunnerStatusUpdated,
    TaskAcknowledged,
    TaskStatusUpdated,
)

__all__ = ["describe_event"]


def _mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB"


def describe_event(event: Event) -> str:
    """``RunnerStatusUpdated(RunnerLoading(2/4))``-style text, short enough for one line."""
    if isinstance(event, RunnerStatusUpdated):
        status = event.runner_status
        name = type(status).__name__
        if isinstance(status, RunnerLoading):
            return f"RunnerStatusUpdated({name}({status.layers_loaded}/{status.total_layers}))"
        if isinstance(status, RunnerFailed):
            return f"RunnerStatusUpdated({name}({status.error_message!r}))"
        return f"RunnerStatusUpdated({name})"
    if isinstance(event, TaskStatusUpdated):
        tail = f": {event.error_message}" if event.error_message else ""
        return f"TaskStatusUpdated({event.task_id}, {event.task_status}){tail}"
    if isinstance(event, TaskAcknowledged):
        return f"TaskAcknowledged({event.task_id})"
    if isinstance(event, DownloadProgressed):
        p = event.progress
        return (
            f"DownloadProgress({event.task_id}, {p.files_done}/{p.total_files} files, "
            f"{_mb(p.downloaded_bytes)} of {_mb(p.total_bytes)})"
        )
    if isinstance(event, ChunkGenerated):
        chunk = event.chunk
        if isinstance(chunk, ErrorChunk):
            return f"ChunkGenerated({event.task_id}, error: {chunk.error_message})"
        finish = f", finish={chunk.finish_reason}" if chunk.finish_reason else ""
        return f"ChunkGenerated({event.task_id}, {chunk.text!r}{finish})"
    raise TypeError(f"not an event: {type(event).__name__}")
