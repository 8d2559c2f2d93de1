"""The byte path of a download: the hashing writer and the wide-read transport."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx2
import pytest

from exo_spec.engine.hub_http import open_client
from exo_spec.engine.hub_io import WIDE_READ, BodyTooLongError, HashingWriter, write_body
from exo_spec.engine.listing import Digest, Listed
from exo_spec.testing.hub import serve_hub


def _digest_for(data: bytes) -> Digest:
    return Digest(Listed(len(data), hashlib.sha256(data).hexdigest(), None))


def test_hashing_writer_file_and_digest_agree(tmp_path: Path) -> None:
    data = os.urandom(3 * WIDE_READ + 17)
    digest = _digest_for(data)
    path = tmp_path / "f.incomplete"
    with path.open("wb", buffering=0) as f, HashingWriter(f, digest) as out:
        for pos in range(0, len(data), 100_000):
            out.write(data[pos : pos + 100_000])
    assert path.read_bytes() == data
    assert digest.size == len(data)
    assert digest.verdict() == (None, hashlib.sha256(data).hexdigest())


def test_hashing_writer_leaves_digest_complete_when_the_block_raises(tmp_path: Path) -> None:
    data = os.urandom(WIDE_READ)
    digest = _digest_for(data)
    path = tmp_path / "f.incomplete"

    def write_then_drop() -> None:
        with path.open("wb", buffering=0) as f, HashingWriter(f, digest) as out:
            out.write(data[:1000])
            out.write(data[1000:5000])
            raise ConnectionError("dropped")

    with pytest.raises(ConnectionError):
        write_then_drop()
    assert digest.size == 5000 == path.stat().st_size
    resumed = _digest_for(data)
    resumed.read_prefix(path, 5000)
    assert resumed.size == digest.size


def test_client_reads_bodies_whole_over_the_wide_transport(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    data = os.urandom(2 * WIDE_READ + 5)
    (repo / "model.safetensors").write_bytes(data)
    with serve_hub({"exo-test/wide": repo}) as hub, open_client() as client:
        url = f"{hub.url}/exo-test/wide/resolve/main/model.safetensors"
        with client.stream("GET", url) as response:
            got = b"".join(response.iter_bytes())
    assert got == data


def _reader(data: bytes, step: int) -> tuple[list[int], Callable[[memoryview], int]]:
    """A ``read_into`` that copies ``data`` out ``step`` bytes at a time, noting each buffer."""
    seen: list[int] = []
    pos = 0

    def read_into(view: memoryview) -> int:
        nonlocal pos
        seen.append(id(view.obj))
        count = min(step, len(view), len(data) - pos)
        view[:count] = data[pos : pos + count]
        pos += count
        return count

    return seen, read_into


def test_received_chunks_are_written_and_hashed_in_order_in_reused_buffers(
    tmp_path: Path,
) -> None:
    data = os.urandom(40 * WIDE_READ + 3)
    digest = _digest_for(data)
    path = tmp_path / "f.incomplete"
    seen, read_into = _reader(data[100:], WIDE_READ)
    with path.open("wb", buffering=0) as f, HashingWriter(f, digest) as out:
        out.write(data[:100])  # a chunk of its own first, as the head of a body
        while out.receive(read_into):
            pass
    assert path.read_bytes() == data
    assert digest.verdict() == (None, hashlib.sha256(data).hexdigest())
    chunks = -(-(len(data) - 100) // WIDE_READ)
    assert len(seen) == chunks + 1  # the chunks and the empty read that ends them
    assert len(set(seen)) <= 8  # the writer's buffers, used again once hashed


def test_a_failed_receive_writes_nothing_and_keeps_file_and_digest_in_step(
    tmp_path: Path,
) -> None:
    data = os.urandom(5000)
    digest = _digest_for(data)
    path = tmp_path / "f.incomplete"

    def broken(_view: memoryview) -> int:
        raise httpx2.ReadError("reset")

    def write_then_fail() -> None:
        with path.open("wb", buffering=0) as f, HashingWriter(f, digest) as out:
            out.write(data[:1000])
            out.receive(broken)

    with pytest.raises(httpx2.ReadError):
        write_then_fail()
    assert digest.size == 1000 == path.stat().st_size


@contextmanager
def _hub_body(
    tmp_path: Path, data: bytes, digest: Digest
) -> Iterator[tuple[httpx2.Response, HashingWriter]]:
    """A response for ``data`` from the local hub, and a hashing writer into a partial file."""
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "model.safetensors").write_bytes(data)
    with (
        serve_hub({"exo-test/body": repo}) as hub,
        open_client() as client,
        client.stream("GET", f"{hub.url}/exo-test/body/resolve/main/model.safetensors") as got,
        (tmp_path / "f.incomplete").open("wb", buffering=0) as f,
        HashingWriter(f, digest) as out,
    ):
        yield got, out


@pytest.mark.parametrize("size", [0, 17, WIDE_READ - 1, 3 * WIDE_READ + 5])
def test_a_plain_body_is_read_straight_from_the_socket(tmp_path: Path, size: int) -> None:
    data = os.urandom(size)
    digest = _digest_for(data)
    with _hub_body(tmp_path, data, digest) as (response, out):
        counts = list(write_body(response, out, size, 10.0))
        # the body came through the socket: httpx saw at most its first read
        assert response.num_bytes_downloaded <= max(WIDE_READ, 1)
    assert sum(counts) == size
    assert (tmp_path / "f.incomplete").read_bytes() == data
    assert digest.verdict() == (None, hashlib.sha256(data).hexdigest())


def test_a_body_longer_than_the_room_is_refused_before_a_byte_is_written(
    tmp_path: Path,
) -> None:
    with (
        _hub_body(tmp_path, os.urandom(4096), _digest_for(b"")) as (response, out),
        pytest.raises(BodyTooLongError),
    ):
        list(write_body(response, out, 4095, 10.0))
    assert (tmp_path / "f.incomplete").stat().st_size == 0


@pytest.mark.parametrize("room", [10, 9])
def test_a_body_httpx_must_decode_goes_through_httpx(tmp_path: Path, room: int) -> None:
    """A response not on the wide transport's socket (here a chunked one from a mock) is read
    through httpx, with the same bound."""
    data = b"0123456789"

    def chunked(_request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, content=iter([data[:4], data[4:]]))

    path = tmp_path / "f.incomplete"
    with (
        httpx2.Client(transport=httpx2.MockTransport(chunked)) as client,
        client.stream("GET", "http://hub.invalid/x") as response,
        path.open("wb", buffering=0) as f,
        HashingWriter(f, _digest_for(data)) as out,
    ):
        if room < len(data):
            with pytest.raises(BodyTooLongError):
                list(write_body(response, out, room, 10.0))
        else:
            assert list(write_body(response, out, room, 10.0)) == [4, 6]
    assert path.read_bytes() == data[: 4 if room < len(data) else 10]
