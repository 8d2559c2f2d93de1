"""The local hub's repositories: files served from a folder or from bytes, with the sizes,
hashes and commit a Hugging Face hub lists for them. Stdlib and attrs only."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
from pathlib import Path

from attrs import frozen

__all__ = ["CHUNK", "MAIN", "HubFile", "HubRepo", "load_repo"]

_LFS_SUFFIXES = (".safetensors", ".bin", ".gguf", ".npz", ".pt", ".pth", ".h5")
_LFS_MIN_SIZE = 10 * 1024 * 1024
CHUNK = 1024 * 1024
MAIN = "main"


@frozen
class HubFile:
    """One file of a served repo: where its bytes are and its content hashes."""

    path: str
    source: Path | None
    data: bytes | None
    size: int
    sha256: str
    git_sha1: str
    lfs: bool

    def read(self, start: int, end: int) -> Iterator[bytes]:
        """Yield the bytes ``[start, end)`` in chunks."""
        if self.data is not None:
            for pos in range(start, end, CHUNK):
                yield self.data[pos : min(end, pos + CHUNK)]
            return
        if self.source is None:
            return
        with self.source.open("rb") as f:
            f.seek(start)
            pos = start
            while pos < end:
                chunk = f.read(min(CHUNK, end - pos))
                if not chunk:
                    return
                pos += len(chunk)
                yield chunk


@frozen
class HubRepo:
    """A repo at its one revision ``main``: files by path and the commit sha."""

    repo_id: str
    files: Mapping[str, HubFile]
    commit: str


def _hub_file(path: str, source: Path | None, data: bytes | None) -> HubFile:
    sha256 = hashlib.sha256()
    size = 0
    if data is not None:
        sha256.update(data)
        size = len(data)
        git = hashlib.sha1(f"blob {size}\0".encode() + data, usedforsecurity=False)
    else:
        assert source is not None
        size = source.stat().st_size
        git = hashlib.sha1(f"blob {size}\0".encode(), usedforsecurity=False)
        with source.open("rb") as f:
            while chunk := f.read(CHUNK):
                sha256.update(chunk)
                git.update(chunk)
    lfs = path.endswith(_LFS_SUFFIXES) or size >= _LFS_MIN_SIZE
    return HubFile(path, source, data, size, sha256.hexdigest(), git.hexdigest(), lfs)


def _commit_of(files: Mapping[str, HubFile]) -> str:
    digest = hashlib.sha1(usedforsecurity=False)
    for path in sorted(files):
        digest.update(f"{path}\0{files[path].sha256}\n".encode())
    return digest.hexdigest()


def load_repo(
    repo_id: str, directory: Path, extra_files: Mapping[str, bytes] | None = None
) -> HubRepo:
    """Index ``directory`` (recursively, hidden entries skipped) as repo ``repo_id``.

    ``extra_files`` adds files by name exactly as given, unchecked: a malicious server's listing.
    """
    files: dict[str, HubFile] = {}
    for source in sorted(directory.rglob("*")):
        rel = source.relative_to(directory)
        if source.is_file() and not any(part.startswith(".") for part in rel.parts):
            files[rel.as_posix()] = _hub_file(rel.as_posix(), source, None)
    for name, data in (extra_files or {}).items():
        files[name] = _hub_file(name, None, data)
    return HubRepo(repo_id, files, _commit_of(files))
