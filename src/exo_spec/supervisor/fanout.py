"""Delivery of events to the supervisor's callers: blocking iterators, callbacks, asyncio.

Every subscriber sees the same events in the same order. A subscription ends (its iterator
stops) when the supervisor closes. A callback or subscription that raises is logged and skipped
for that event: it never stops delivery to the others, nor the supervisor's thread. A
subscription that falls ``backlog`` events behind is dropped (a subscriber that never reads
cannot grow the supervisor without bound): its reader gets the events it had, then
:class:`SubscriptionDroppedError`; the supervisor's health counts the dropped subscriptions.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterator
from typing import TypeVar

from exo_spec.logs import logger
from exo_spec.runtime.wire import Event

__all__ = ["AsyncSubscription", "Fanout", "Subscription", "SubscriptionDroppedError"]

_END = object()


class SubscriptionDroppedError(Exception):
    """This subscription fell too far behind and was dropped; later events did not reach it."""


class _Dropped:
    def __init__(self, backlog: int) -> None:
        self.error = SubscriptionDroppedError(
            f"subscription dropped: {backlog} events were waiting unread; the events after "
            f"them did not reach it (read faster, or subscribe again)"
        )


class Subscription:
    """A blocking stream of events: iterate, or ``get(timeout)`` one at a time."""

    def __init__(self, fanout: Fanout) -> None:
        self._fanout = fanout
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()

    def put(self, item: object) -> None:
        self._queue.put(item)

    def put_all(self, items: list[Event]) -> None:
        deque(map(self._queue.put, items), 0)  # one C loop: no Python frame per event

    def backlog(self) -> int:
        return self._queue.qsize()

    def get(self, timeout: float | None = None) -> Event | None:
        """The next event; ``None`` once the supervisor has closed; ``TimeoutError`` if none
        arrives within ``timeout`` seconds."""
        try:
            item = self._queue.get(timeout=timeout)
        except queue.Empty:
            raise TimeoutError(f"no event within {timeout} s") from None
        if type(item) is _Dropped:
            self._queue.put(item)
            raise item.error
        if item is _END:
            self._queue.put(_END)  # later calls end too
            return None
        return item  # type: ignore[return-value]

    def __iter__(self) -> Iterator[Event]:
        while (event := self.get()) is not None:
            yield event

    def close(self) -> None:
        self._fanout.unsubscribe(self)


class AsyncSubscription:
    """An asyncio stream of events, fed from the supervisor's threads."""

    def __init__(self, fanout: Fanout, loop: asyncio.AbstractEventLoop) -> None:
        self._fanout = fanout
        self._loop = loop
        self._queue: asyncio.Queue[object] = asyncio.Queue()
        self._put = 0  # written by the publisher only
        self._taken = 0  # written by the loop only

    def put(self, item: object) -> None:
        self._put += 1
        with contextlib.suppress(RuntimeError):  # a closed loop: nobody is listening
            self._loop.call_soon_threadsafe(self._queue.put_nowait, item)

    def put_all(self, items: list[Event]) -> None:
        """A batch in one hand-over to the loop (one wake-up of it, not one per event)."""
        self._put += len(items)
        with contextlib.suppress(RuntimeError):
            self._loop.call_soon_threadsafe(self._enqueue, items)

    def _enqueue(self, items: list[Event]) -> None:
        deque(map(self._queue.put_nowait, items), 0)

    def backlog(self) -> int:
        return self._put - self._taken

    async def _take(self) -> object:
        item = await self._queue.get()
        self._taken += 1
        if isinstance(item, _Dropped):
            raise item.error
        return item

    def __aiter__(self) -> AsyncIterator[Event]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[Event]:
        try:
            while (item := await self._take()) is not _END:
                yield item  # type: ignore[misc]
        finally:
            self._fanout.unsubscribe(self)

    async def get(self, timeout: float | None = None) -> Event | None:
        """The next event, ``None`` once the supervisor has closed."""
        item = await asyncio.wait_for(self._take(), timeout)
        return None if item is _END else item  # type: ignore[return-value]

    def close(self) -> None:
        self._fanout.unsubscribe(self)


_Sink = Subscription | AsyncSubscription
_S = TypeVar("_S", Subscription, AsyncSubscription)
_T = TypeVar("_T")


class Fanout:
    """Sends each published event to every subscriber and callback, in publication order."""

    def __init__(self, runner_id: str, backlog: int = 65536) -> None:
        self._log = logger.bind(runner_id=runner_id)
        self.backlog = backlog
        self.dropped = 0
        self._lock = threading.Lock()
        # replaced, never changed in place, so a publisher reads them without the lock
        self._sinks: tuple[_Sink, ...] = ()
        self._callbacks: tuple[Callable[[Event], None], ...] = ()
        self._ended = False

    def subscribe(self) -> Subscription:
        return self._add(Subscription(self))

    def subscribe_async(self) -> AsyncSubscription:
        return self._add(AsyncSubscription(self, asyncio.get_running_loop()))

    @property
    def has_callbacks(self) -> bool:
        return bool(self._callbacks)

    def add_callback(self, callback: Callable[[Event], None]) -> None:
        with self._lock:
            self._callbacks = (*self._callbacks, callback)

    def unsubscribe(self, sink: _Sink) -> None:
        with self._lock:
            self._sinks = tuple(s for s in self._sinks if s is not sink)

    def publish(self, events: list[Event]) -> None:
        """Deliver ``events``; callers hold the supervisor's order (one publisher at a time).
        Without callbacks, each subscription takes the batch at once (as many events as its
        backlog has room for, then it is dropped: as if they were put one at a time)."""
        sinks, callbacks = self._sinks, self._callbacks
        if not events:
            return
        if callbacks:
            for event in events:
                for sink in sinks:
                    if sink.backlog() >= self.backlog:
                        self._drop(sink)
                        continue
                    self._deliver(sink.put, event)
                for callback in callbacks:
                    self._deliver(callback, event)
            return
        for sink in sinks:
            room = self.backlog - sink.backlog()
            if room > 0:
                self._deliver(sink.put_all, events if room >= len(events) else events[:room])
            if room < len(events):
                self._drop(sink)

    def _drop(self, sink: _Sink) -> None:
        with self._lock:
            if sink not in self._sinks:
                return
            self._sinks = tuple(s for s in self._sinks if s is not sink)
            self.dropped += 1
        self._log.warning("a subscription fell {} events behind and was dropped", self.backlog)
        self._deliver(sink.put, _Dropped(self.backlog))

    def end(self) -> None:
        """No more events: every subscription's iterator stops."""
        with self._lock:
            self._ended = True
            sinks = self._sinks
        for sink in sinks:
            self._deliver(sink.put, _END)

    def _deliver(self, receiver: Callable[[_T], None], item: _T) -> None:
        """Hand ``item`` to one receiver; what it raises is logged, never propagated."""
        try:
            receiver(item)
        except Exception as exc:
            self._log.opt(exception=exc).error(
                "event subscriber {!r} raised {} on {!r}; delivery goes on",
                receiver,
                type(exc).__name__,
                item,
            )

    def _add(self, sink: _S) -> _S:
        with self._lock:
            if self._ended:
                sink.put(_END)
            else:
                self._sinks = (*self._sinks, sink)
        return sink
