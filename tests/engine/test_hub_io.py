"""The byte path of a download: the hashing writer and the wide-read transport."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from exo_spec.engine.hub_http import open_client
from exo_spec.engine.hub_io import WIDE_READ, HashingWriter
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
