"""The byte path of a download: wide socket reads, and a writer that hashes on a second thread.

A body on loopback or a fast link is CPU-bound in Python, not in the network. Three costs dominate
(profiled with cProfile on the local hub): httpcore reads the socket 64 KiB at a time, and every
read costs a dozen Python calls through h11 and httpx; every byte is copied three times after the
socket's own copy (into h11's receive buffer, out of it as a slice, into httpcore's ``bytes``);
and sha256 runs at about 2 GB/s, as slow as the socket itself. So the connection's stream asks
the socket for up to ``WIDE_READ`` bytes per read (a TLS socket still returns one record per
read); :func:`write_body` reads a plain body of known length straight from the socket into
reused buffers (``recv_into``: the socket's copy only); and :class:`HashingWriter` writes each
chunk in the receiving thread and feeds it to the file's ``Digest`` on a second thread (hashlib,
file writes and socket reads release the GIL), so hashing overlaps the next read.
"""

from __future__ import annotations

import functools
import os
import queue
import socket
import ssl
import threading
from collections.abc import Callable, Iterable, Iterator
from types import TracebackType
from typing import Any, BinaryIO

import httpcore2
import httpx2

from exo_spec.engine.listing import Digest

__all__ = ["WIDE_READ", "BodyTooLongError", "HashingWriter", "WideReadTransport", "write_body"]

WIDE_READ = 1024 * 1024
"""Bytes asked of the socket per read (httpcore's own size is 64 KiB)."""
_QUEUE_DEPTH = 8
"""Chunks written but not yet hashed, at most (each at most ``WIDE_READ`` bytes); also the most
receive buffers a writer allocates (on demand: a small file needs one)."""


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


class BodyTooLongError(Exception):
    """The body brings more bytes than there is room for (nothing beyond the room is written)."""


_Chunk = bytes | tuple[bytearray, int]  # a chunk of its own, or the first bytes of a buffer


class HashingWriter:
    """Writes chunks to ``f`` in the caller's thread and feeds them, in order, to ``digest`` on a
    second thread. Leaving the ``with`` block (also by an exception) waits until ``digest`` holds
    every byte written, so the file and its digest always agree.

    :meth:`write` takes a chunk the caller made; :meth:`receive` has the caller read one into a
    buffer of the writer's, which goes back to the writer once hashed (no copy on the way)."""

    def __init__(self, f: BinaryIO, digest: Digest) -> None:
        self._fd = f.fileno()
        self._digest = digest
        self._queue: queue.Queue[_Chunk | None] = queue.Queue(maxsize=_QUEUE_DEPTH)
        self._free: queue.SimpleQueue[bytearray] = queue.SimpleQueue()
        self._buffers = 0
        self._thread = threading.Thread(target=self._run, name="hub-hash", daemon=True)
        self._thread.start()

    def write(self, chunk: bytes) -> None:
        self._write(memoryview(chunk))
        self._queue.put(chunk)

    def receive(self, read_into: Callable[[memoryview], int]) -> int:
        """``read_into`` fills the front of a buffer and says how many bytes; they are written
        and hashed as one chunk. Returns that count (0: nothing was read)."""
        buffer = self._buffer()
        try:
            count = read_into(memoryview(buffer))
        except BaseException:
            self._free.put(buffer)
            raise
        if count <= 0:
            self._free.put(buffer)
            return 0
        self._write(memoryview(buffer)[:count])
        self._queue.put((buffer, count))
        return count

    def _buffer(self) -> bytearray:
        if self._buffers < _QUEUE_DEPTH:
            try:
                return self._free.get_nowait()
            except queue.Empty:
                self._buffers += 1
                return bytearray(WIDE_READ)
        return self._free.get()  # every buffer is out: wait for the hashing to free one

    def _write(self, view: memoryview) -> None:
        while view:
            view = view[os.write(self._fd, view) :]

    def _run(self) -> None:
        while (chunk := self._queue.get()) is not None:
            if isinstance(chunk, bytes):
                self._digest.update(chunk)
            else:
                buffer, count = chunk
                with memoryview(buffer) as view:
                    self._digest.update(view[:count])
                self._free.put(buffer)

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


def write_body(
    response: httpx2.Response, out: HashingWriter, room: int, read_timeout: float
) -> Iterator[int]:
    """Write ``response``'s body through ``out``, yielding the size of each chunk written;
    :class:`BodyTooLongError` once it would bring more than ``room`` bytes.

    A body of known length, not encoded, on a connection of :class:`WideReadTransport` (plain
    or TLS, no proxy) is read from the socket straight into ``out``'s buffers, after what h11
    already holds; any other body goes through httpx. Socket errors are httpx's: an early end is
    a ``RemoteProtocolError``, a read that waits ``read_timeout`` a ``ReadTimeout``."""
    direct = _direct(response)
    if direct is None:
        for chunk in response.iter_bytes():
            if len(chunk) > room:
                raise BodyTooLongError
            room -= len(chunk)
            out.write(chunk)
            yield len(chunk)
        return
    sock, length = direct
    if length > room:
        raise BodyTooLongError
    left = length
    raw = response.iter_raw()  # kept to the end: closing it would close the connection
    first = next(raw, b"")  # what h11 holds already, or one read
    if first:
        out.write(first)
        left -= len(first)
        yield len(first)
    while left > 0:
        count = out.receive(functools.partial(_recv_into, sock, read_timeout, left))
        if count == 0:
            raise httpx2.RemoteProtocolError(
                f"peer closed connection without sending complete message body: received "
                f"{length - left} bytes, expected {length}"
            )
        left -= count
        yield count


def _direct(response: httpx2.Response) -> tuple[socket.socket, int] | None:
    """The socket to read ``response``'s body from, and the body's length, where it can be read
    directly (see :func:`write_body`); ``None`` elsewhere."""
    stream = response.extensions.get("network_stream")
    headers = response.headers
    if (
        not isinstance(stream, _WideStream)
        or response.extensions.get("http_version") != b"HTTP/1.1"
        or headers.get("content-encoding", "identity").lower() != "identity"
        or "transfer-encoding" in headers
    ):
        return None
    try:
        length = int(headers.get("content-length", ""))
    except ValueError:
        return None
    sock = stream.get_extra_info("socket")
    return (sock, length) if isinstance(sock, socket.socket) and length >= 0 else None


def _recv_into(sock: socket.socket, timeout: float, left: int, view: memoryview) -> int:
    try:
        sock.settimeout(timeout)  # as httpcore's reads do
        return sock.recv_into(view, min(len(view), left))
    except TimeoutError as exc:
        raise httpx2.ReadTimeout(str(exc) or "timed out") from exc
    except OSError as exc:
        raise httpx2.ReadError(str(exc) or type(exc).__name__) from exc
