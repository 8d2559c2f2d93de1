"""A local Hugging Face-compatible hub: model repos served from local directories.

It implements the routes ``huggingface_hub`` uses for ``snapshot_download`` and
``hf_hub_download`` (model info, tree listing, ``HEAD``/``GET`` on ``resolve``), with the
headers the client reads (``X-Repo-Commit``, ``ETag``/``X-Linked-Etag``, ``X-Linked-Size``,
``Content-Range``) and the hub's ``X-Error-Code`` on errors, so the client raises its specific
exceptions. Faults (dropped, held or trickling connections, slow or never-ending metadata,
corrupted bytes, listings without sizes or hashes, 500s) are switched on per server through
:class:`HubFaults`, also while it runs.

Stdlib only, bound to 127.0.0.1; used by tests, the demo and the benchmarks.
"""

from __future__ import annotations

import hashlib
import json
import socket
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar
from urllib.parse import parse_qs, unquote, urlsplit

from attrs import define, field, frozen

from exo_spec.testing.hub_repo import CHUNK, MAIN, HubFile, HubRepo, load_repo

__all__ = ["HubFaults", "HubFile", "HubRepo", "HubServer", "load_repo", "serve_hub"]


@define
class HubFaults:
    """Misbehaviour on demand; fields may be changed while the server runs.

    ``drop_after_bytes`` maps a file path to N: the first ``GET`` that would send byte N of that
    file sends bytes up to N and closes the connection (once per path, so a retry resumes).
    ``hold_after_bytes`` is the same but keeps the connection open and silent instead, until the
    hub stops (once per path; the path is then in ``held``). ``trickle_files`` maps a file path to
    S: its body is sent one byte every S seconds. ``trickle_info_s`` does the same to model-info
    bodies; ``endless_info`` makes them never end (chunked padding until the client leaves).
    ``omit_metadata`` lists files whose size and hashes the listings leave out.
    """

    delay_s: float = 0.0
    drop_after_bytes: dict[str, int] = field(factory=dict)
    hold_after_bytes: dict[str, int] = field(factory=dict)
    trickle_files: dict[str, float] = field(factory=dict)
    trickle_info_s: float = 0.0
    endless_info: bool = False
    omit_metadata: set[str] = field(factory=set)
    corrupt_files: set[str] = field(factory=set)
    fail_files: set[str] = field(factory=set)
    fail_all: bool = False
    token: str | None = None
    dropped: set[str] = field(factory=set)
    held: set[str] = field(factory=set)


@frozen
class _Request:
    method: str
    path: str
    range: str | None


class HubServer:
    """A running local hub; see :func:`serve_hub`."""

    def __init__(self, repos: Mapping[str, HubRepo], faults: HubFaults, port: int = 0) -> None:
        self.repos = dict(repos)
        self.faults = faults
        self._lock = threading.Lock()
        self._requests: list[_Request] = []
        self._body_bytes: dict[str, int] = {}
        self.stopping = threading.Event()
        handler = type("_BoundHandler", (_Handler,), {"hub": self})
        self._httpd = ThreadingHTTPServer(("127.0.0.1", port), handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, args=(0.05,), name="hubserver", daemon=True
        )

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``, the value for ``HF_ENDPOINT``."""
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def requests(self) -> list[tuple[str, str]]:
        """Every request so far as ``(method, path)``."""
        with self._lock:
            return [(r.method, r.path) for r in self._requests]

    @property
    def range_requests(self) -> list[tuple[str, str]]:
        """Every request that carried a ``Range`` header, as ``(path, range)``."""
        with self._lock:
            return [(r.path, r.range) for r in self._requests if r.range is not None]

    def body_bytes(self, path: str) -> int:
        """Bytes of file ``path`` sent in ``GET`` bodies so far (all repos)."""
        with self._lock:
            return self._body_bytes.get(path, 0)

    def reset_counters(self) -> None:
        """Forget the recorded requests and byte counts."""
        with self._lock:
            self._requests.clear()
            self._body_bytes.clear()

    def record(self, method: str, path: str, range_header: str | None) -> None:
        with self._lock:
            self._requests.append(_Request(method, path, range_header))

    def count_body(self, path: str, n: int) -> None:
        with self._lock:
            self._body_bytes[path] = self._body_bytes.get(path, 0) + n

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)


@contextmanager
def serve_hub(
    repos: Mapping[str, Path | HubRepo], faults: HubFaults | None = None, port: int = 0
) -> Iterator[HubServer]:
    """Serve ``repos`` (repo id -> directory or loaded repo) on 127.0.0.1 until the block ends."""
    loaded = {
        repo_id: repo if isinstance(repo, HubRepo) else load_repo(repo_id, repo)
        for repo_id, repo in repos.items()
    }
    server = HubServer(loaded, faults or HubFaults(), port)
    server.start()
    try:
        yield server
    finally:
        server.stop()


class _HubError(Exception):
    def __init__(self, status: int, code: str | None, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


class _Handler(BaseHTTPRequestHandler):
    hub: ClassVar[HubServer]
    protocol_version = "HTTP/1.1"
    server_version = "exo-spec-hub/1"

    def log_message(self, format: str, *args: object) -> None:
        """Stay quiet: tests and benchmarks count requests instead."""

    def do_GET(self) -> None:
        self._serve(head=False)

    def do_HEAD(self) -> None:
        self._serve(head=True)

    def _serve(self, *, head: bool) -> None:
        hub = self.hub
        split = urlsplit(self.path)
        hub.record(self.command, split.path, self.headers.get("Range"))
        faults = hub.faults
        if faults.delay_s > 0 and hub.stopping.wait(faults.delay_s):
            return
        try:
            if faults.fail_all:
                raise _HubError(500, None, "internal error (injected)")
            if faults.token is not None and (
                self.headers.get("Authorization") != f"Bearer {faults.token}"
            ):
                raise _HubError(401, "RepoNotFound", "Repository not found (invalid token)")
            self._route(unquote(split.path), parse_qs(split.query), head=head)
        except _HubError as error:
            self._send_error(error, head=head)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _route(self, path: str, query: dict[str, list[str]], *, head: bool) -> None:
        parts = path.strip("/").split("/")
        if parts[:2] == ["api", "models"] and len(parts) >= 4:
            repo = self._repo(f"{parts[2]}/{parts[3]}")
            rest = parts[4:]
            if not rest:
                self._send_info(self._info(repo, query), head=head)
                return
            if rest[0] == "revision" and len(rest) == 2:
                self._revision(repo, rest[1])
                self._send_info(self._info(repo, query), head=head)
                return
            if rest[0] == "tree" and len(rest) >= 2:
                self._revision(repo, rest[1])
                recursive = query.get("recursive", ["false"])[0].lower() == "true"
                self._send_json(self._tree(repo, "/".join(rest[2:]), recursive), head=head)
                return
        if len(parts) >= 5 and parts[2] == "resolve":
            repo = self._repo(f"{parts[0]}/{parts[1]}")
            self._revision(repo, parts[3])
            self._resolve(repo, "/".join(parts[4:]), head=head)
            return
        raise _HubError(404, None, f"no route for {path}")

    def _repo(self, repo_id: str) -> HubRepo:
        repo = self.hub.repos.get(repo_id)
        if repo is None:
            raise _HubError(404, "RepoNotFound", f"Repository not found: {repo_id}")
        return repo

    def _revision(self, repo: HubRepo, revision: str) -> None:
        if revision not in (MAIN, repo.commit):
            raise _HubError(404, "RevisionNotFound", f"Invalid rev id: {revision}")

    def _info(self, repo: HubRepo, query: dict[str, list[str]]) -> object:
        blobs = query.get("blobs", ["false"])[0].lower() == "true"
        siblings: list[dict[str, object]] = []
        for f in repo.files.values():
            sibling: dict[str, object] = {"rfilename": f.path}
            if blobs and f.path not in self.hub.faults.omit_metadata:
                sibling.update(size=f.size, blobId=f.git_sha1)
                if f.lfs:
                    sibling["lfs"] = {"size": f.size, "sha256": f.sha256, "pointerSize": 134}
            siblings.append(sibling)
        org = repo.repo_id.split("/")[0]
        return {
            "_id": repo.commit[:24],
            "id": repo.repo_id,
            "modelId": repo.repo_id,
            "author": org,
            "sha": repo.commit,
            "private": False,
            "gated": False,
            "disabled": False,
            "tags": [],
            "siblings": siblings,
        }

    def _tree(self, repo: HubRepo, prefix: str, recursive: bool) -> object:
        base = f"{prefix.strip('/')}/" if prefix.strip("/") else ""
        entries: list[dict[str, object]] = []
        folders: set[str] = set()
        for f in repo.files.values():
            if not f.path.startswith(base):
                continue
            rest = f.path[len(base) :].split("/")
            for depth in range(1, len(rest)):
                if depth > 1 and not recursive:
                    break
                folders.add(base + "/".join(rest[:depth]))
            if len(rest) > 1 and not recursive:
                continue
            entry: dict[str, object] = {"type": "file", "path": f.path}
            if f.path in self.hub.faults.omit_metadata:
                entries.append(entry)
                continue
            entry.update(oid=f.git_sha1, size=f.size)
            if f.lfs:
                entry["lfs"] = {"oid": f.sha256, "size": f.size, "pointerSize": 134}
            entries.append(entry)
        if base and not entries and not folders:
            raise _HubError(404, "EntryNotFound", f"{prefix} does not exist on {MAIN}")
        dirs: list[dict[str, object]] = [
            {
                "type": "directory",
                "oid": hashlib.sha1(d.encode(), usedforsecurity=False).hexdigest(),
                "size": 0,
                "path": d,
            }
            for d in sorted(folders)
        ]
        return dirs + entries

    def _resolve(self, repo: HubRepo, path: str, *, head: bool) -> None:
        hub_file = repo.files.get(path)
        if hub_file is None:
            raise _HubError(404, "EntryNotFound", f"{path} does not exist on {MAIN}")
        faults = self.hub.faults
        if not head and path in faults.fail_files:
            raise _HubError(500, None, f"internal error serving {path} (injected)")
        size = hub_file.size
        start, end = 0, size
        status = 200
        range_header = self.headers.get("Range")
        if range_header and not head:
            parsed = _parse_range(range_header, size)
            if parsed is None:
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{size}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            start, end = parsed
            status = 206
        etag = hub_file.sha256 if hub_file.lfs else hub_file.git_sha1
        self.send_response(status)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(end - start))
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("ETag", f'"{etag}"')
        self.send_header("X-Repo-Commit", repo.commit)
        if hub_file.lfs:
            self.send_header("X-Linked-Etag", f'"{etag}"')
            self.send_header("X-Linked-Size", str(size))
        if status == 206:
            self.send_header("Content-Range", f"bytes {start}-{end - 1}/{size}")
        self.end_headers()
        if head:
            return
        drop_at = _once(faults.drop_after_bytes, faults.dropped, path, start, end)
        hold_at = _once(faults.hold_after_bytes, faults.held, path, start, end)
        cut_at = min(x for x in (drop_at, hold_at, end) if x is not None)
        trickle_s = faults.trickle_files.get(path, 0.0)
        corrupt_at = size // 2 if path in faults.corrupt_files else -1
        pos = start
        for chunk in hub_file.read(start, cut_at):
            out = chunk
            if start <= corrupt_at and pos <= corrupt_at < pos + len(chunk):
                i = corrupt_at - pos
                out = chunk[:i] + bytes([chunk[i] ^ 0xFF]) + chunk[i + 1 :]
            if not self._write_body(path, out, trickle_s):
                return
            pos += len(out)
        if drop_at is not None and pos == drop_at:
            self._drop()
        elif hold_at is not None and pos == hold_at:
            self.wfile.flush()
            self.hub.stopping.wait()
            self.close_connection = True

    def _write_body(self, path: str, data: bytes, trickle_s: float) -> bool:
        """Send ``data`` (one byte every ``trickle_s`` seconds if set); False once the hub stops."""
        if trickle_s <= 0:
            self.wfile.write(data)
            self.hub.count_body(path, len(data))
            return True
        for i in range(len(data)):
            if self.hub.stopping.wait(trickle_s):
                return False
            self.wfile.write(data[i : i + 1])
            self.wfile.flush()
            self.hub.count_body(path, 1)
        return True

    def _drop(self) -> None:
        self.wfile.flush()
        self.close_connection = True
        with suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def _send_info(self, payload: object, *, head: bool) -> None:
        faults = self.hub.faults
        if head or not (faults.endless_info or faults.trickle_info_s > 0):
            self._send_json(payload, head=head)
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        if faults.endless_info:
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            pad = b"[" + b" " * (CHUNK - 1)
            while not self.hub.stopping.is_set():
                self.wfile.write(b"%x\r\n%s\r\n" % (len(pad), pad))
            self.close_connection = True
            return
        body = json.dumps(payload).encode()
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        for i in range(len(body)):
            if self.hub.stopping.wait(faults.trickle_info_s):
                self.close_connection = True
                return
            self.wfile.write(body[i : i + 1])
            self.wfile.flush()

    def _send_json(self, payload: object, *, head: bool) -> None:
        body = json.dumps(payload).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def _send_error(self, error: _HubError, *, head: bool) -> None:
        body = json.dumps({"error": error.message}).encode()
        self.send_response(error.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        if error.code is not None:
            self.send_header("X-Error-Code", error.code)
        self.send_header("X-Error-Message", error.message)
        self.end_headers()
        if not head:
            self.wfile.write(body)


def _once(at: Mapping[str, int], done: set[str], path: str, start: int, end: int) -> int | None:
    """The byte where a once-per-path fault cuts this response, marking it done; else None."""
    n = at.get(path)
    if n is None or path in done or not start <= n < end:
        return None
    done.add(path)
    return n


def _parse_range(header: str, size: int) -> tuple[int, int] | None:
    """``bytes=a-b`` / ``bytes=a-`` / ``bytes=-n`` as a half-open ``[start, end)``, or None."""
    unit, _, spec = header.partition("=")
    if unit.strip() != "bytes" or "," in spec:
        return None
    first, _, last = spec.strip().partition("-")
    try:
        if not first:
            n = int(last)
            return (max(0, size - n), size) if n > 0 else None
        start = int(first)
        end = min(size, int(last) + 1) if last else size
    except ValueError:
        return None
    if start >= size or start >= end:
        return None
    return start, end
