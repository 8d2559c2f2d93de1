"""The download manifest and ``weights_present``: are a model's files on disk and intact?

After a download, ``.exo-manifest.json`` in the model directory records each file's size and
sha256. ``weights_present`` checks every file against it; a missing manifest means nothing is
present. Hashes are cached by (path, size, mtime, inode), and only for files whose mtime is
well in the past, so a file rewritten within the same clock tick is never trusted stale.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from attrs import frozen

__all__ = [
    "MANIFEST_NAME",
    "Manifest",
    "ManifestEntry",
    "WeightsCheck",
    "file_sha256",
    "read_manifest",
    "safe_relative_path",
    "weights_present",
    "write_manifest",
]

MANIFEST_NAME = ".exo-manifest.json"
_RESERVED_PREFIXES = (".cache/", MANIFEST_NAME)
_RACY_WINDOW_S = 2.0
_CHUNK = 4 * 1024 * 1024

_hash_cache: dict[tuple[str, int, int, int], str] = {}
_hash_lock = threading.Lock()


@frozen
class ManifestEntry:
    """One downloaded file: path relative to the model directory, size and sha256."""

    path: str
    size: int
    sha256: str


@frozen
class WeightsCheck:
    """The verdict of :func:`weights_present`: ``ok``, or each problem by file."""

    ok: bool
    problems: tuple[str, ...]


def safe_relative_path(model_dir: Path, name: str) -> Path | None:
    """``model_dir / name`` when ``name`` is a plain relative path inside it, else None."""
    if (
        not name
        or "\\" in name
        or "\0" in name
        or name.startswith("/")
        or (len(name) > 1 and name[1] == ":")
        or name.startswith(_RESERVED_PREFIXES)
    ):
        return None
    parts = name.split("/")
    if any(part in ("", ".", "..") for part in parts):
        return None
    target = model_dir.joinpath(*parts)
    try:
        target.resolve().relative_to(model_dir.resolve())
    except ValueError:
        return None
    return target


def file_sha256(path: Path) -> str:
    """The sha256 of ``path``, from the cache when the file is unchanged since it was hashed."""
    st = path.stat()
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns, st.st_ino)
    with _hash_lock:
        cached = _hash_cache.get(key)
    if cached is not None:
        return cached
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    value = digest.hexdigest()
    if time.time() - st.st_mtime_ns / 1e9 > _RACY_WINDOW_S:
        with _hash_lock:
            _hash_cache[key] = value
    return value


def write_manifest(
    model_dir: Path,
    *,
    repo_id: str,
    revision: str,
    commit: str,
    endpoint: str,
    entries: Iterable[ManifestEntry],
) -> Path:
    """Write ``.exo-manifest.json`` atomically; return its path."""
    payload = {
        "format": 1,
        "repo_id": repo_id,
        "revision": revision,
        "commit": commit,
        "endpoint": endpoint,
        "files": [
            {"path": e.path, "size": e.size, "sha256": e.sha256}
            for e in sorted(entries, key=lambda e: e.path)
        ],
    }
    target = model_dir / MANIFEST_NAME
    tmp = target.with_name(f"{MANIFEST_NAME}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(payload, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    tmp.replace(target)
    return target


@frozen
class Manifest:
    """A parsed manifest."""

    repo_id: str
    revision: str
    commit: str
    files: tuple[ManifestEntry, ...]


def read_manifest(model_dir: Path) -> Manifest | str:
    """The manifest of ``model_dir``, or a sentence saying why there is none usable."""
    path = model_dir / MANIFEST_NAME
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return f"{path}: no manifest (the model was never completely downloaded here)"
    except (OSError, ValueError) as error:
        return f"{path}: unreadable manifest ({error})"
    try:
        files = tuple(
            ManifestEntry(str(f["path"]), int(f["size"]), str(f["sha256"])) for f in raw["files"]
        )
        return Manifest(str(raw["repo_id"]), str(raw["revision"]), str(raw["commit"]), files)
    except (KeyError, TypeError, ValueError) as error:
        return f"{path}: malformed manifest (missing or bad field {error})"


def weights_present(model_dir: Path, needed: Callable[[str], bool] | None = None) -> WeightsCheck:
    """Check every file of the manifest in ``model_dir``: exists, right size, right sha256.

    ``needed`` selects the files to check by their manifest path (one rank of a pipeline
    needs only its own layers' weight files); by default every file is checked."""
    manifest = read_manifest(model_dir)
    if isinstance(manifest, str):
        return WeightsCheck(ok=False, problems=(manifest,))
    problems: list[str] = []
    for entry in manifest.files:
        if needed is not None and not needed(entry.path):
            continue
        target = safe_relative_path(model_dir, entry.path)
        if target is None:
            problems.append(f"{entry.path}: unsafe path in manifest (outside {model_dir})")
            continue
        try:
            size = target.stat().st_size
        except FileNotFoundError:
            problems.append(f"{entry.path}: missing (expected {entry.size} bytes)")
            continue
        except OSError as error:
            problems.append(f"{entry.path}: unreadable ({error})")
            continue
        if size != entry.size:
            kind = "truncated or partial" if size < entry.size else "too large"
            problems.append(f"{entry.path}: size {size} bytes, expected {entry.size} ({kind})")
            continue
        actual = file_sha256(target)
        if actual != entry.sha256:
            problems.append(
                f"{entry.path}: sha256 mismatch (got {actual}, expected {entry.sha256}): corrupt"
            )
    return WeightsCheck(ok=not problems, problems=tuple(problems))
