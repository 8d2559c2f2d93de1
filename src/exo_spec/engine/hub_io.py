"""The byte path of a download: wide socket reads, and a writer that hashes on a second thread.

A body on loopback or a fast link is CPU-bound in Python, not in the network. Two costs dominate
(profiled with cProfile on the local hub): httpcore reads the socket 64 KiB at a time, and every
read costs a dozen Python calls through h11 and httpx; and sha256 runs at about 2 GB/s, as slow as
the socket itself. So the connection's stream asks the socket for up to ``WIDE_READ`` bytes per
read (a TLS socket still returns one record per read), and :class:`HashingWriter` writes each chunk
in the receiving thread and feeds it to the file's ``Digest`` on a second thread (hashlib and file
writes release the GIL), so hashing overlaps the next read.
"""

from __future__ import annotations

import os
import queue
import ssl
import threading
from collections.abc import Iterable
from types import TracebackType
from typing import Any, BinaryIO

import httpcore2
import httpx2

from exo_spec.engine.listing import Digest

__all__ = ["WIDE_READ", "HashingWriter", "WideReadTransport"]

WIDE_READ = 1024 * 1024
"""Bytes asked of the socket per read (httpcore's own size is 64 KiB)."""
_QUEUE_DEPTH = 8
"""Chunks written but not yet hashed, at most (each at most ``WIDE_READ`` bytes)."""


class _WideStream(httpcore2.NetworkStream):
    """A connection's stream whose reads ask for at least ``WIDE_READ`` bytes."""

    def __init__(self, inner: httpcore2.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max(max_bytes, WIDE_READ), timeout)

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, timeout)

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore2.NetworkStream:
        return _WideStream(self._inner.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _WideBackend(httpcore2.NetworkBackend):
    """httpcore's synchronous backend, with wide reads on every stream it opens."""

    def __init__(self) -> None:
        self._inner = httpcore2.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore2.NetworkStream:
        stream = self._inner.connect_tcp(host, port, timeout, local_address, socket_options)
        return _WideStream(stream)

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore2.NetworkStream:
        return _WideStream(self._inner.connect_unix_socket(path, timeout, socket_options))

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


class WideReadTransport(httpx2.HTTPTransport):
    """httpx's transport without connection reuse, over a pool whose streams read wide.

    httpx does not take a network backend, so the pool it builds is replaced by one built the same
    way with :class:`_WideBackend` (proxies from the environment keep httpx's own transports)."""

    def __init__(self, verify: ssl.SSLContext) -> None:
        super().__init__(verify=verify, limits=httpx2.Limits(max_keepalive_connections=0))
        self._pool = httpcore2.ConnectionPool(
            ssl_context=verify,
            max_keepalive_connections=0,
            network_backend=_WideBackend(),
        )


class HashingWriter:
    """Writes chunks to ``f`` in the caller's thread and feeds them, in order, to ``digest`` on a
    second thread. Leaving the ``with`` block (also by an exception) waits until ``digest`` holds
    every byte written, so the file and its digest always agree."""

    def __init__(self, f: BinaryIO, digest: Digest) -> None:
        self._fd = f.fileno()
        self._digest = digest
        self._queue: queue.Queue[bytes | None] = queue.Queue(maxsize=_QUEUE_DEPTH)
        self._thread = threading.Thread(target=self._run, name="hub-hash", daemon=True)
        self._thread.start()

    def write(self, chunk: bytes) -> None:
        view = memoryview(chunk)
        while view:
            view = view[os.write(self._fd, view) :]
        self._queue.put(chunk)

    def _run(self) -> None:
        while (chunk := self._queue.get()) is not None:
            self._digest.update(chunk)

    def __enter__(self) -> HashingWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._queue.put(None)
        self._thread.join()
