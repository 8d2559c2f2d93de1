"""The local hub's HTTP surface: headers, ranges and error codes, seen with plain urllib."""

from __future__ import annotations

import hashlib
import http.client
import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from exo_spec.testing.hub import HubFaults, HubServer, serve_hub

REPO = "org/model"
DATA = bytes(range(256)) * 400


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[HubServer]:
    (tmp_path / "model.safetensors").write_bytes(DATA)
    (tmp_path / "config.json").write_text("{}")
    with serve_hub({REPO: tmp_path}) as server:
        yield server


def _open(
    url: str, method: str = "GET", headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def test_head_carries_commit_etag_and_size(hub: HubServer) -> None:
    status, headers, body = _open(f"{hub.url}/{REPO}/resolve/main/model.safetensors", "HEAD")
    assert status == 200
    assert body == b""
    assert headers["X-Repo-Commit"] == hub.repos[REPO].commit
    assert headers["X-Linked-Etag"] == f'"{hashlib.sha256(DATA).hexdigest()}"'
    assert headers["X-Linked-Size"] == str(len(DATA))


def test_range_request_gets_206(hub: HubServer) -> None:
    url = f"{hub.url}/{REPO}/resolve/main/model.safetensors"
    status, headers, body = _open(url, headers={"Range": "bytes=1000-"})
    assert status == 206
    assert body == DATA[1000:]
    assert headers["Content-Range"] == f"bytes 1000-{len(DATA) - 1}/{len(DATA)}"
    status, _, _ = _open(url, headers={"Range": f"bytes={len(DATA)}-"})
    assert status == 416


@pytest.mark.parametrize(
    ("path", "code"),
    [
        ("/api/models/org/missing/revision/main", "RepoNotFound"),
        ("/api/models/org/model/revision/v2", "RevisionNotFound"),
        ("/org/model/resolve/main/nope.bin", "EntryNotFound"),
    ],
)
def test_errors_carry_hub_error_codes(hub: HubServer, path: str, code: str) -> None:
    status, headers, body = _open(hub.url + path)
    assert status == 404
    assert headers["X-Error-Code"] == code
    assert "error" in json.loads(body)


def test_info_lists_siblings_with_lfs_metadata(hub: HubServer) -> None:
    status, _, body = _open(f"{hub.url}/api/models/{REPO}/revision/main?blobs=true")
    info = json.loads(body)
    assert status == 200
    assert info["sha"] == hub.repos[REPO].commit
    weights = next(s for s in info["siblings"] if s["rfilename"] == "model.safetensors")
    assert weights["lfs"]["sha256"] == hashlib.sha256(DATA).hexdigest()


def test_fail_all_returns_500_and_can_be_switched_off(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{}")
    faults = HubFaults(fail_all=True)
    with serve_hub({REPO: tmp_path}, faults) as server:
        url = f"{server.url}/{REPO}/resolve/main/config.json"
        assert _open(url)[0] == 500
        faults.fail_all = False
        assert _open(url)[:3:2] == (200, b"{}")


def _stream(url: str, timeout: float = 5.0) -> http.client.HTTPResponse:
    response: http.client.HTTPResponse = urllib.request.urlopen(url, timeout=timeout)
    return response


def test_endless_info_keeps_sending_past_any_size(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{}")
    with serve_hub({REPO: tmp_path}, HubFaults(endless_info=True)) as server:
        response = _stream(f"{server.url}/api/models/{REPO}/revision/main")
        with response:
            assert response.headers["Transfer-Encoding"] == "chunked"
            received = sum(len(response.read(64 * 1024)) for _ in range(64))
            assert received == 64 * 64 * 1024


def test_trickled_info_arrives_a_byte_at_a_time(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{}")
    with serve_hub({REPO: tmp_path}, HubFaults(trickle_info_s=0.01)) as server:
        response = _stream(f"{server.url}/api/models/{REPO}/revision/main")
        with response:
            first = response.read1(4096)
            rest = response.read()
    # the whole answer takes seconds a byte at a time: the first read has only its start
    assert first.startswith(b"{")
    assert 0 < len(first) < len(first + rest) // 2
    assert json.loads(first + rest)["id"] == REPO


def test_trickled_and_held_bodies(hub: HubServer) -> None:
    hub.faults.trickle_files["config.json"] = 0.2
    hub.faults.hold_after_bytes["model.safetensors"] = 1000
    with _stream(f"{hub.url}/{REPO}/resolve/main/config.json") as response:
        first = response.read1(8)
        rest = response.read()
    # the body still arrives whole (that it trickles is what the download tests refuse)
    assert first + rest == b"{}"
    with _stream(f"{hub.url}/{REPO}/resolve/main/model.safetensors", timeout=0.3) as response:
        assert response.read(1000) == DATA[:1000]
        with pytest.raises(TimeoutError):
            response.read(1)
    assert hub.faults.held == {"model.safetensors"}
    assert hub.body_bytes("model.safetensors") == 1000


def test_omitted_metadata_leaves_out_size_and_hashes(hub: HubServer) -> None:
    hub.faults.omit_metadata.add("model.safetensors")
    _, _, body = _open(f"{hub.url}/api/models/{REPO}/revision/main?blobs=true")
    weights = next(s for s in json.loads(body)["siblings"] if s["rfilename"] == "model.safetensors")
    assert weights == {"rfilename": "model.safetensors"}
    _, _, body = _open(f"{hub.url}/api/models/{REPO}/tree/main")
    entry = next(e for e in json.loads(body) if e["path"] == "model.safetensors")
    assert entry == {"type": "file", "path": "model.safetensors"}
