"""What a hub lists for a model: the files, their sizes and hashes; which to fetch; whether a
file on disk is the one listed (``mismatch`` reads it; ``Digest`` hashes a file as it is
written, so a download is verified without reading it back)."""

from __future__ import annotations

import fnmatch
import hashlib
import json
import re
from pathlib import Path

from attrs import frozen

from exo_spec.engine.download_errors import (
    DownloadError,
    HubResponseError,
    UnsafePathError,
    UnverifiableFileError,
)
from exo_spec.engine.weights import safe_relative_path
from exo_spec.runtime.engine_protocol import ModelRef

__all__ = ["Digest", "Listed", "mismatch", "parse_info", "select"]

_SHA1 = re.compile(r"[0-9a-f]{40}")
_SHA256 = re.compile(r"[0-9a-f]{64}")


@frozen
class Listed:
    """A file as the hub lists it: size and content hashes, each None when not (validly) given."""

    size: int | None
    sha256: str | None
    sha1: str | None


def parse_info(body: bytes, where: str) -> tuple[str, dict[str, Listed]]:
    """The commit and the listed files of a model-info answer; HubResponseError if malformed."""
    try:
        data = json.loads(body)
    except ValueError as error:
        raise HubResponseError(f"{where}: the model info is not JSON ({error})") from error
    commit = data.get("sha") if isinstance(data, dict) else None
    siblings = data.get("siblings") if isinstance(data, dict) else None
    if not isinstance(commit, str) or not isinstance(siblings, list) or not siblings:
        raise HubResponseError(f"{where}: the hub sent no commit sha or no files")
    if _SHA1.fullmatch(commit) is None:
        raise HubResponseError(f"{where}: the hub sent {commit[:80]!r} as the commit sha")
    files: dict[str, Listed] = {}
    for sibling in siblings:
        name = sibling.get("rfilename") if isinstance(sibling, dict) else None
        if not isinstance(name, str):
            raise HubResponseError(
                f"{where}: the hub listed a file without a name: {sibling!r}"[:300]
            )
        size = sibling.get("size")
        lfs = sibling.get("lfs")
        sha256 = lfs.get("sha256") if isinstance(lfs, dict) else None
        sha1 = sibling.get("blobId")
        files[name] = Listed(
            size if isinstance(size, int) and not isinstance(size, bool) and size >= 0 else None,
            sha256 if isinstance(sha256, str) and _SHA256.fullmatch(sha256) else None,
            sha1 if isinstance(sha1, str) and _SHA1.fullmatch(sha1) else None,
        )
    return commit, files


def select(model: ModelRef, target: Path, files: dict[str, Listed], where: str) -> list[str]:
    """The files to fetch; refuses unsafe names and files that could not be verified."""
    unsafe = [n for n in files if safe_relative_path(target, n) is None]
    if unsafe:
        raise UnsafePathError(
            f"{where}: refusing file names that would be written outside "
            f"{target}: {', '.join(map(repr, sorted(unsafe)))}; accepted: relative paths "
            "without '.', '..' or empty parts, not under '.cache/'"
        )
    selected = sorted(
        n
        for n in files
        if any(
            fnmatch.fnmatchcase(n, p + "*" if p.endswith("/") else p) for p in model.allow_patterns
        )
    )
    if not selected:
        raise DownloadError(
            f"{where}: no file matches {list(model.allow_patterns)}; the repo "
            f"has: {', '.join(sorted(files))}"
        )
    unverifiable = []
    for name in selected:
        f = files[name]
        missing = ["no size"] * (f.size is None) + ["no hash"] * (f.sha256 is f.sha1 is None)
        if missing:
            unverifiable.append(f"{name!r} ({', '.join(missing)})")
    if unverifiable:
        raise UnverifiableFileError(
            f"{where}: the hub listed {', '.join(unverifiable)}; refusing to download files "
            "that cannot be verified (a Hugging Face hub lists a size and a sha256 or git blob "
            "sha1 for every file: check the endpoint)"
        )
    return selected


_READ = 4 * 1024 * 1024


class Digest:
    """The hashes of a file's bytes, fed in order as they are written: its sha256, and its git
    blob sha1 when the listing has no sha256 (the blob header needs the size, known up front).
    ``size`` counts the bytes fed so far."""

    def __init__(self, listed: Listed) -> None:
        self._listed = listed
        self.reset()

    def reset(self) -> None:
        """Forget every byte (the file is written again from its start)."""
        self.size = 0
        self._sha256 = hashlib.sha256()
        self._sha1 = (
            hashlib.sha1(f"blob {self._listed.size}\0".encode(), usedforsecurity=False)
            if self._listed.sha256 is None
            else None
        )

    def update(self, chunk: bytes | memoryview) -> None:
        self.size += len(chunk)
        self._sha256.update(chunk)
        if self._sha1 is not None:
            self._sha1.update(chunk)

    def read_prefix(self, path: Path, size: int) -> None:
        """Start over from the first ``size`` bytes of ``path`` (a partial file being resumed)."""
        self.reset()
        with path.open("rb") as fh:
            while self.size < size and (chunk := fh.read(min(_READ, size - self.size))):
                self.update(chunk)

    def verdict(self) -> tuple[str | None, str]:
        """Why the bytes fed differ from the listing (None if they match), and their sha256."""
        f, sha256 = self._listed, self._sha256.hexdigest()
        problem = None
        if self.size != f.size:
            problem = f"size {self.size} bytes, expected {f.size}"
        elif f.sha256 is not None and sha256 != f.sha256:
            problem = f"sha256 {sha256}, expected {f.sha256}"
        elif self._sha1 is not None and self._sha1.hexdigest() != f.sha1:
            problem = f"git blob sha1 {self._sha1.hexdigest()}, expected {f.sha1}"
        return problem, sha256


def mismatch(path: Path, f: Listed) -> tuple[str | None, str]:
    """Why ``path`` differs from the hub's listing (None if it matches), and its sha256."""
    digest = Digest(f)
    digest.read_prefix(path, path.stat().st_size)
    return digest.verdict()
