"""Bounded HTTP to a hub: no answer can make a download hold unbounded memory or wait forever.

Every metadata request is bounded in bytes (``metadata_max_bytes``) and in total time, from
connect to its last byte (``metadata_timeout_s``). Every file body must bring at least
``body_min_bytes`` in every ``body_stall_s`` window, which bounds both silence and a trickle, and
may not exceed the size the hub listed. A body goes to an ``.incomplete`` file that the next
attempt (in this call or a later one, after a crash or a kill) resumes with a ``Range`` request.
Every byte written is fed to the file's ``Digest`` as it is written, on a second thread (a resumed
file's prefix is read back once), so the file is verified without a second pass over it; sockets
are read a megabyte at a time, and a plain body of known length straight into reused buffers
(``exo_spec.engine.hub_io``).

Time is enforced by a watchdog thread that shuts the request's socket down when the time is up,
so a read blocked on a silent or trickling server returns at once. It finds the socket through
httpcore's public ``trace`` request extension (``connection.connect_tcp`` / ``start_tls``).
``huggingface_hub``'s ``model_info`` and ``snapshot_download`` cannot be bounded this way through
their knobs: the first reads the whole body into memory with only a per-read timeout, the second
restarts every file from byte 0 in a uniquely named temporary file that it deletes on failure and
never resumes across calls. Its URLs, headers and error types are still the ones used here.
"""

from __future__ import annotations

import functools
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import httpx2
from attrs import frozen
from huggingface_hub import hf_raise_for_status

from exo_spec.engine.download_errors import (
    CorruptDownloadError,
    DownloadTimeoutError,
    HubResponseError,
    HubUnreachableError,
)
from exo_spec.engine.hub_io import BodyTooLongError, HashingWriter, WideReadTransport, write_body
from exo_spec.engine.listing import Digest

__all__ = ["DownloadLimits", "fetch_file", "get_bounded", "open_client"]

_ERROR_BODY_MAX = 64 * 1024
_SOCKET_EVENTS = ("connection.connect_tcp.complete", "connection.start_tls.complete")
_DROPPED_HEADERS = ("content-encoding", "content-length", "transfer-encoding")


@frozen
class DownloadLimits:
    """The bounds a hub's answers must keep; the defaults suit huggingface.co on a slow link."""

    metadata_timeout_s: float = 10.0
    """Total time for one metadata request, connect to last byte; also for a file's headers."""
    metadata_max_bytes: int = 32 * 1024 * 1024
    """Largest metadata answer read (a repo of thousands of files needs a few MB)."""
    body_stall_s: float = 10.0
    """The window in which a file body must bring ``body_min_bytes``."""
    body_min_bytes: int = 16 * 1024
    """Bytes a file body must bring in every window (or all it has left)."""
    body_retries: int = 3
    """Reconnects in a row, without a byte of progress, before a broken body is an error."""


@functools.cache
def _tls() -> ssl.SSLContext:
    """httpx's default TLS context, built once per process: loading the CA bundle takes tens of
    milliseconds, as long as a 50 MB body takes on loopback. (``SSL_CERT_FILE`` and
    ``SSL_CERT_DIR`` are read when it is built.)"""
    return httpx2.create_ssl_context()


def open_client() -> httpx2.Client:
    """A client without connection reuse, so that every request's socket is seen by its watchdog,
    and with wide socket reads (:mod:`exo_spec.engine.hub_io`)."""
    return httpx2.Client(
        follow_redirects=True,
        timeout=None,
        limits=httpx2.Limits(max_keepalive_connections=0),
        verify=_tls(),
        transport=WideReadTransport(_tls()),
    )


class _Watchdog:
    """Shuts a request's sockets down when a deadline passes or a window brings too few bytes."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._sockets: list[socket.socket] = []
        self._deadline: float | None = None
        self._window = 0.0
        self._need = 0
        self._got = 0
        self._left = 0
        self._done = False
        self.fired = False
        self.watching_rate = False
        self._thread = threading.Thread(target=self._run, name="hub-watchdog", daemon=True)
        self._thread.start()

    def trace(self, event: str, info: Mapping[str, Any]) -> None:
        """httpcore's ``trace`` extension: remember each socket the request opens."""
        if event not in _SOCKET_EVENTS:
            return
        stream = info.get("return_value")
        sock = stream.get_extra_info("socket") if stream is not None else None
        if isinstance(sock, socket.socket):
            with self._cond:
                self._sockets.append(sock)
                if self.fired:
                    _shutdown(sock)

    def deadline(self, seconds: float) -> None:
        """Fire ``seconds`` from now."""
        with self._cond:
            self._deadline = time.monotonic() + seconds
            self._window = 0.0
            self.watching_rate = False
            self._cond.notify()

    def rate(self, window: float, need: int, left: int) -> None:
        """Fire at the end of any ``window`` that brings fewer than ``need`` (or ``left``) bytes."""
        with self._cond:
            self._deadline = time.monotonic() + window
            self._window, self._need, self._got, self._left = window, need, 0, left
            self.watching_rate = True
            self._cond.notify()

    def progress(self, nbytes: int) -> None:
        with self._cond:
            self._got += nbytes
            self._left -= nbytes

    def stop(self) -> None:
        with self._cond:
            self._done = True
            self._cond.notify()
        self._thread.join()

    def _run(self) -> None:
        with self._cond:
            while not self._done:
                if self._deadline is None:
                    self._cond.wait()
                    continue
                remaining = self._deadline - time.monotonic()
                if remaining > 0:
                    self._cond.wait(remaining)
                    continue
                if self._window > 0 and self._got >= min(self._need, max(self._left, 0)):
                    self._got = 0
                    self._deadline = time.monotonic() + self._window
                    continue
                self.fired = True
                for sock in self._sockets:
                    _shutdown(sock)
                return


def _shutdown(sock: socket.socket) -> None:
    with suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)


@contextmanager
def _watched() -> Iterator[_Watchdog]:
    dog = _Watchdog()
    try:
        yield dog
    finally:
        dog.stop()


def _read_capped(response: httpx2.Response, cap: int, what: str, where: str) -> bytes:
    body = bytearray()
    for chunk in response.iter_bytes():
        body += chunk
        if len(body) > cap:
            raise HubResponseError(
                f"{where}: the {what} is more than {cap} bytes; refusing to read further (a "
                "hub's answer is far smaller: check the endpoint, or raise metadata_max_bytes)"
            )
    return bytes(body)


def _raise_for_status(response: httpx2.Response, body: bytes) -> None:
    """``hf_raise_for_status`` on the bounded body we read, for the hub's own error types."""
    if response.status_code < 400:
        return
    headers = [(k, v) for k, v in response.headers.multi_items() if k not in _DROPPED_HEADERS]
    hf_raise_for_status(
        httpx2.Response(
            response.status_code, headers=headers, content=body, request=response.request
        )
    )


def get_bounded(
    client: httpx2.Client,
    url: str,
    *,
    headers: Mapping[str, str],
    params: Mapping[str, str],
    limits: DownloadLimits,
    what: str,
    where: str,
) -> bytes:
    """The body of a ``GET``, within ``metadata_max_bytes`` and ``metadata_timeout_s`` in all."""
    total = limits.metadata_timeout_s
    with _watched() as dog:
        dog.deadline(total)
        try:
            with client.stream(
                "GET",
                url,
                params=dict(params),
                headers=dict(headers),
                timeout=httpx2.Timeout(total),
                extensions={"trace": dog.trace},
            ) as response:
                body = _read_capped(response, limits.metadata_max_bytes, what, where)
        except httpx2.TransportError as error:
            if dog.fired or isinstance(error, httpx2.TimeoutException):
                raise _too_slow(what, total, where) from error
            raise
        if dog.fired:
            raise _too_slow(what, total, where)
    _raise_for_status(response, body)
    return body


def _too_slow(what: str, total: float, where: str) -> DownloadTimeoutError:
    return DownloadTimeoutError(
        f"{where}: the {what} took more than {total:g} s in all (the hub is slow or trickling); "
        "retry, raise the timeout, or check the endpoint"
    )


@frozen
class _Body:
    """One file body to bring in: where from, where to, its bounds and its listed size."""

    url: str
    headers: Mapping[str, str]
    partial: Path
    size: int
    limits: DownloadLimits
    name: str
    where: str
    on_bytes: Callable[[int], None]
    digest: Digest


def fetch_file(
    client: httpx2.Client,
    url: str,
    *,
    headers: Mapping[str, str],
    partial: Path,
    size: int,
    limits: DownloadLimits,
    name: str,
    where: str,
    on_bytes: Callable[[int], None],
    digest: Digest,
) -> None:
    """Bring ``partial`` to ``size`` bytes from ``url``, resuming from what it already holds.
    ``digest`` is fed the bytes of ``partial`` in order; it holds them all on return unless the
    file was complete on disk already (then ``digest.size`` is behind: read the file)."""
    body = _Body(url, headers, partial, size, limits, name, where, on_bytes, digest)
    failures = 0
    while True:
        have = partial.stat().st_size if partial.exists() else 0
        if have > size:
            partial.unlink()
            have = 0
        if have == size:
            return
        error: httpx2.TransportError | None = None
        try:
            _fetch_from(client, body, have)
        except httpx2.TransportError as dropped:
            error = dropped
        now = partial.stat().st_size if partial.exists() else 0
        failures = 0 if now > have else failures + 1
        if now != size and failures > limits.body_retries:
            if error is not None:
                raise error
            raise HubUnreachableError(
                f"{where}: {name}: the hub ended the body at byte {now} of {size}, "
                f"{failures} times in a row; retry later (the download resumes)"
            )


def _fetch_from(client: httpx2.Client, body: _Body, have: int) -> None:
    limits, name, where, size, partial = body.limits, body.name, body.where, body.size, body.partial
    request_headers = dict(body.headers)
    if have:
        request_headers["Range"] = f"bytes={have}-"
    pos = have
    with _watched() as dog:
        dog.deadline(limits.metadata_timeout_s)
        try:
            with client.stream(
                "GET",
                body.url,
                headers=request_headers,
                timeout=httpx2.Timeout(2 * limits.body_stall_s, connect=limits.metadata_timeout_s),
                extensions={"trace": dog.trace},
            ) as response:
                if response.status_code == 416 and have:
                    partial.unlink(missing_ok=True)
                    return
                if response.status_code >= 400:
                    what = f"error answer for {name}"
                    _raise_for_status(
                        response, _read_capped(response, _ERROR_BODY_MAX, what, where)
                    )
                pos = _start_of(response, have, name, where)
                dog.rate(limits.body_stall_s, limits.body_min_bytes, size - pos)
                if body.digest.size != pos:  # a resumed file's prefix, hashed once; or a restart
                    body.digest.read_prefix(partial, pos)
                with (
                    partial.open("ab" if pos else "wb", buffering=0) as f,
                    HashingWriter(f, body.digest) as out,
                ):
                    for count in write_body(response, out, size - pos, 2 * limits.body_stall_s):
                        pos += count
                        dog.progress(count)
                        body.on_bytes(count)
        except BodyTooLongError:
            raise _too_long(body) from None
        except httpx2.TransportError as error:
            # the read timeout (two windows) backs the watchdog up: either is a stall
            if dog.fired or isinstance(error, httpx2.TimeoutException):
                raise _stalled(dog, limits, name, pos, size, where) from error
            raise
        if dog.fired:
            raise _stalled(dog, limits, name, pos, size, where)


def _too_long(body: _Body) -> CorruptDownloadError:
    body.partial.unlink()
    return CorruptDownloadError(
        f"{body.where}: {body.name}: the hub sent more than the {body.size} bytes it listed; the "
        "partial file was removed, download again"
    )


def _start_of(response: httpx2.Response, have: int, name: str, where: str) -> int:
    """Where the body starts: ``have`` for a 206 that resumes there, 0 for a whole 200."""
    if response.status_code != 206:
        return 0
    content_range = response.headers.get("Content-Range", "")
    unit, _, spec = content_range.partition(" ")
    first = spec.partition("-")[0]
    if unit != "bytes" or first != str(have):
        raise HubResponseError(
            f"{where}: {name}: asked for bytes from {have}, the hub answered Content-Range "
            f"{content_range!r}"
        )
    return have


def _stalled(
    dog: _Watchdog, limits: DownloadLimits, name: str, pos: int, size: int, where: str
) -> DownloadTimeoutError:
    if not dog.watching_rate:
        return DownloadTimeoutError(
            f"{where}: {name}: no response within {limits.metadata_timeout_s:g} s; retry, raise "
            "the timeout, or check the endpoint"
        )
    return DownloadTimeoutError(
        f"{where}: {name}: fewer than {limits.body_min_bytes} bytes in "
        f"{limits.body_stall_s:g} s from the hub (stalled at byte {pos} of {size}); retry later "
        f"(the download resumes from byte {pos}), or raise body_stall_s"
    )
