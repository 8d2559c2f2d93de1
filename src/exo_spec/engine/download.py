"""Model downloads from a Hugging Face hub, bounded, resumable and verified, with progress.

``download_model`` asks the hub for the repo's files at a revision (one metadata request, bounded
in bytes and in total time), rejects any file name that would land outside the model directory
and any file the hub lists without a size and a hash (it could not be verified), then fetches
each file matching the model's patterns into ``<models_dir>/<org>--<name>``. A file's bytes go
first to ``.cache/exo/partial/<hash>.incomplete``: a dropped connection, or a later call after the
process was killed, resumes from what is there with a ``Range`` request. Each file is checked
against the hub's size and hash before it is moved into place; ``.exo-manifest.json`` is written
last, and leftovers (partial files of other versions) are removed once a download succeeds. A
lock file serialises downloads of one model directory across threads and processes.

Every body must keep a minimum rate (``DownloadLimits``; see ``exo_spec.engine.hub_http`` for
how the bounds are enforced and why ``snapshot_download`` is not used). ``HF_ENDPOINT``,
``HF_TOKEN`` and ``HF_HUB_OFFLINE`` are read when called. In offline mode no request is made:
the manifest decides. Every expected failure is a ``DownloadError``.
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO
from urllib.parse import quote

import httpx2
from attrs import evolve
from huggingface_hub import errors as hf_errors
from huggingface_hub import hf_hub_url
from huggingface_hub.utils import build_hf_headers  # type: ignore[attr-defined]  # lazy export

from exo_spec.engine import download_errors
from exo_spec.engine.download_errors import *  # noqa: F403  (its errors are this module's API too)
from exo_spec.engine.download_errors import (
    CorruptDownloadError,
    DownloadError,
    DownloadTimeoutError,
    HubResponseError,
    HubUnreachableError,
    InvalidRepoIdError,
    ModelsDirError,
    OfflineMissingError,
    RepoNotFoundError,
    RevisionNotFoundError,
)
from exo_spec.engine.hub_http import DownloadLimits, fetch_file, get_bounded, open_client
from exo_spec.engine.listing import Digest, Listed, mismatch, parse_info, select
from exo_spec.engine.weights import (
    ManifestEntry,
    WeightsCheck,
    read_manifest,
    weights_present,
    write_manifest,
)
from exo_spec.runtime.engine_protocol import DownloadProgress, ModelRef

__all__ = [
    "DEFAULT_ENDPOINT",
    "DEFAULT_MODELS_DIR",
    "DownloadLimits",
    "TerminalProgress",
    "WeightsCheck",
    "download_model",
    "model_dir_for",
    "models_dir",
    "weights_present",
]
__all__ += download_errors.__all__  # every DownloadError, importable from here too

DEFAULT_MODELS_DIR = Path("~/.local/share/exo/models")
DEFAULT_ENDPOINT = "https://huggingface.co"
_REPO_PART = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,95}")
_TRUE = {"1", "ON", "YES", "TRUE"}
_WORK = Path(".cache") / "exo"
_LEGACY = (Path(".cache") / "huggingface", Path(".cache") / "hub")


def models_dir(override: Path | None = None) -> Path:
    """Where models live: ``override`` (a CLI flag), else ``$EXO_MODELS_DIR``, else the default."""
    if override is not None:
        return override.expanduser()
    env = os.environ.get("EXO_MODELS_DIR")
    return Path(env).expanduser() if env else DEFAULT_MODELS_DIR.expanduser()


def _check_repo_id(repo_id: str) -> tuple[str, str]:
    org, sep, name = repo_id.partition("/")
    valid = (
        sep == "/"
        and _REPO_PART.fullmatch(org) is not None
        and _REPO_PART.fullmatch(name) is not None
        and ".." not in repo_id
        and "--" not in repo_id
    )
    if not valid:
        raise InvalidRepoIdError(
            f"invalid repo id {repo_id!r}: expected 'org/name', each part 1-96 characters of "
            "letters, digits, '.', '_' or '-', starting with a letter or digit, without '..' or "
            "'--' (e.g. 'mlx-community/Qwen3-0.6B-4bit')"
        )
    return org, name


def model_dir_for(models_dir: Path, repo_id: str) -> Path:
    """``<models_dir>/<org>--<name>`` for a valid ``repo_id``; raises InvalidRepoIdError."""
    org, name = _check_repo_id(repo_id)
    return models_dir / f"{org}--{name}"


def _env_true(name: str) -> bool:
    return os.environ.get(name, "").strip().upper() in _TRUE


class _Tracker:
    """Turns huggingface_hub's progress-bar calls into monotone DownloadProgress callbacks."""

    def __init__(
        self,
        callback: Callable[[DownloadProgress], None],
        total_bytes: int,
        total_files: int,
        done_bytes: int,
        done_files: int,
    ) -> None:
        self._callback = callback
        self._lock = threading.Lock()
        self.total_bytes = total_bytes
        self.total_files = total_files
        self._base_bytes = done_bytes
        self._base_files = done_files
        self._raw_bytes = 0
        self._raw_files = 0
        self._last = (-1, -1)  # bytes and files last reported (none yet)

    def add(self, *, nbytes: int = 0, nfiles: int = 0) -> None:
        with self._lock:
            self._raw_bytes += nbytes
            self._raw_files += nfiles
            self._emit(
                min(self.total_bytes, self._base_bytes + max(0, self._raw_bytes)),
                min(self.total_files, self._base_files + self._raw_files),
            )

    def finish(self) -> None:
        with self._lock:
            self._emit(self.total_bytes, self.total_files)

    def _emit(self, nbytes: int, nfiles: int) -> None:
        nbytes = max(nbytes, self._last[0])
        nfiles = max(nfiles, self._last[1])
        if (nbytes, nfiles) == self._last:
            return
        self._last = (nbytes, nfiles)
        self._callback(DownloadProgress(nbytes, self.total_bytes, nfiles, self.total_files))


def _translate(
    error: BaseException, repo_id: str, revision: str, endpoint: str, timeout_s: float
) -> DownloadError:
    where = f"repo {repo_id!r} revision {revision!r} at {endpoint}"
    chain: list[BaseException] = []
    seen: BaseException | None = error
    while seen is not None and seen not in chain:
        chain.append(seen)
        seen = seen.__cause__ or seen.__context__
    for e in chain:
        if isinstance(e, hf_errors.RevisionNotFoundError):
            return RevisionNotFoundError(
                f"{where}: revision not found; accepted: a branch or tag of the repo "
                "(usually 'main') or a full 40-hex commit sha"
            )
        if isinstance(e, hf_errors.RepositoryNotFoundError | hf_errors.GatedRepoError):
            return RepoNotFoundError(
                f"{where}: repo not found (or private/gated and the token does not grant "
                "access); check the id ('org/name'), HF_ENDPOINT and HF_TOKEN"
            )
        if isinstance(e, httpx2.TimeoutException):
            return DownloadTimeoutError(
                f"{where}: no answer within {timeout_s:g} s from {endpoint} ({type(e).__name__}); "
                "retry, raise the timeout, or check the endpoint"
            )
        if isinstance(e, httpx2.TransportError):
            return HubUnreachableError(
                f"{where}: cannot reach {endpoint} ({type(e).__name__}: {e}); check "
                "HF_ENDPOINT and the network, or set HF_HUB_OFFLINE=1 to use local files"
            )
        if isinstance(e, hf_errors.HfHubHTTPError):
            status = e.response.status_code if e.response is not None else "?"
            first = str(e).splitlines()[0] if str(e) else type(e).__name__
            return HubResponseError(f"{where}: the hub answered HTTP {status}: {first}")
    return DownloadError(f"{where}: download failed: {type(error).__name__}: {error}")


@contextmanager
def _locked(lock_path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``lock_path`` (one download per model directory at a time)."""
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with lock_path.open("a") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def download_model(
    model: ModelRef,
    models_dir: Path,
    progress: Callable[[DownloadProgress], None],
    *,
    endpoint: str | None = None,
    token: str | None = None,
    timeout_s: float | None = None,
    offline: bool | None = None,
    limits: DownloadLimits | None = None,
) -> Path:
    """Download ``model`` into ``models_dir`` (resuming), verify it, return the model directory.

    ``endpoint`` defaults to ``$HF_ENDPOINT`` then huggingface.co; ``token`` to ``$HF_TOKEN``;
    ``offline`` to ``$HF_HUB_OFFLINE``. ``limits`` bounds every answer of the hub (defaults:
    :class:`DownloadLimits`); ``timeout_s``, if given, replaces its ``metadata_timeout_s``.
    Raises a DownloadError subclass for every expected failure.
    """
    target = model_dir_for(models_dir, model.repo_id)
    endpoint = (endpoint or os.environ.get("HF_ENDPOINT") or DEFAULT_ENDPOINT).rstrip("/")
    token = token or os.environ.get("HF_TOKEN") or None
    limits = limits or DownloadLimits()
    if timeout_s is not None:
        limits = evolve(limits, metadata_timeout_s=timeout_s)
    if offline is None:
        offline = _env_true("HF_HUB_OFFLINE") or _env_true("TRANSFORMERS_OFFLINE")
    where = f"repo {model.repo_id!r} revision {model.revision!r}"

    if offline:
        return _offline(model, target, progress, where)

    where = f"{where} at {endpoint}"
    headers = build_hf_headers(token=token)
    try:
        with open_client() as client:
            body = get_bounded(
                client,
                f"{endpoint}/api/models/{model.repo_id}/revision/{quote(model.revision, safe='')}",
                headers=headers,
                params={"blobs": "true"},
                limits=limits,
                what="model info",
                where=where,
            )
            commit, files = parse_info(body, where)
            selected = select(model, target, files, where)
            manifest = read_manifest(target)
            total_bytes = sum(files[n].size or 0 for n in selected)
            if (
                not isinstance(manifest, str)
                and manifest.commit == commit
                and {e.path for e in manifest.files} == set(selected)
                and weights_present(target).ok
            ):
                _Tracker(progress, total_bytes, len(selected), 0, 0).finish()
                return target
            target.mkdir(parents=True, exist_ok=True)
            with _locked(target / _WORK / "lock"):
                entries = _fetch_all(
                    client,
                    model,
                    target,
                    commit,
                    files,
                    selected,
                    headers,
                    limits,
                    endpoint,
                    where,
                    progress,
                )
                write_manifest(
                    target,
                    repo_id=model.repo_id,
                    revision=model.revision,
                    commit=commit,
                    endpoint=endpoint,
                    entries=entries,
                )
                _clean_leftovers(target)
    except DownloadError:
        raise
    except (httpx2.HTTPError, hf_errors.HfHubHTTPError) as error:  # the latter is an OSError
        raise _translate(
            error, model.repo_id, model.revision, endpoint, limits.metadata_timeout_s
        ) from error
    except OSError as error:
        raise ModelsDirError(
            f"{where}: cannot write {error.filename or target}: {error.strerror or error}; "
            "choose a writable models folder with space left (--models-dir or EXO_MODELS_DIR)"
        ) from error
    except Exception as error:
        raise _translate(
            error, model.repo_id, model.revision, endpoint, limits.metadata_timeout_s
        ) from error
    return target


def _fetch_all(
    client: httpx2.Client,
    model: ModelRef,
    target: Path,
    commit: str,
    files: dict[str, Listed],
    selected: list[str],
    headers: dict[str, str],
    limits: DownloadLimits,
    endpoint: str,
    where: str,
    progress: Callable[[DownloadProgress], None],
) -> list[ManifestEntry]:
    """Fetch every selected file that is not already in place; return the manifest entries."""
    partial_dir = target / _WORK / "partial"
    partials = {n: partial_dir / f"{files[n].sha256 or files[n].sha1}.incomplete" for n in selected}
    entries: dict[str, ManifestEntry] = {}
    for name in selected:
        path = target / name
        if path.is_file():
            problem, digest = mismatch(path, files[name])
            if problem is None:
                entries[name] = ManifestEntry(name, path.stat().st_size, digest)
    on_disk = sum(p.stat().st_size for n, p in partials.items() if n not in entries and p.is_file())
    tracker = _Tracker(
        progress,
        sum(files[n].size or 0 for n in selected),
        len(selected),
        sum(e.size for e in entries.values()) + on_disk,
        len(entries),
    )
    tracker.add()
    partial_dir.mkdir(parents=True, exist_ok=True)
    # smallest first: configs and tokenizers are in place before the weights' long transfer
    for name in sorted(selected, key=lambda n: (files[n].size or 0, n)):
        if name in entries:
            continue
        listed, partial = files[name], partials[name]
        hashed = Digest(listed)
        fetch_file(
            client,
            hf_hub_url(model.repo_id, name, revision=commit, endpoint=endpoint),
            headers=headers,
            partial=partial,
            size=listed.size or 0,
            limits=limits,
            name=name,
            where=where,
            on_bytes=lambda n: tracker.add(nbytes=n),
            digest=hashed,
        )
        written = partial.stat().st_size
        if hashed.size != written:  # complete on disk before this call: read it once
            hashed.read_prefix(partial, written)
        problem, sha256 = hashed.verdict()
        if problem is not None:
            partial.unlink(missing_ok=True)
            raise CorruptDownloadError(
                f"{where}: {name}: downloaded file does not match the hub ({problem}); it was "
                "removed, download again"
            )
        path = target / name
        path.parent.mkdir(parents=True, exist_ok=True)
        partial.replace(path)
        entries[name] = ManifestEntry(name, listed.size or 0, sha256)
        tracker.add(nfiles=1)
    tracker.finish()
    return [entries[n] for n in selected]


def _clean_leftovers(target: Path) -> None:
    """Remove partial files (of other versions) and what older downloaders left in ``.cache``."""
    for leftover in (_WORK / "partial", *_LEGACY):
        shutil.rmtree(target / leftover, ignore_errors=True)


def _offline(
    model: ModelRef, target: Path, progress: Callable[[DownloadProgress], None], where: str
) -> Path:
    manifest = read_manifest(target)
    if isinstance(manifest, str):
        raise OfflineMissingError(
            f"{where}: offline mode (HF_HUB_OFFLINE) and {manifest}; download it once online"
        )
    if model.revision not in (manifest.revision, manifest.commit):
        raise OfflineMissingError(
            f"{where}: offline mode and {target} holds revision {manifest.revision!r} "
            f"(commit {manifest.commit}); download the requested revision online"
        )
    check = weights_present(target)
    if not check.ok:
        raise OfflineMissingError(
            f"{where}: offline mode and the local files are incomplete: "
            + "; ".join(check.problems)
        )
    total = sum(e.size for e in manifest.files)
    _Tracker(progress, total, len(manifest.files), 0, 0).finish()
    return target


def _fmt_bytes(n: int) -> str:
    return f"{n / 1e6:.1f} MB"


class TerminalProgress:
    """A DownloadProgress callback: a ``\\r`` bar on a TTY, else one line per finished file."""

    def __init__(self, label: str = "download", stream: IO[str] | None = None) -> None:
        self._label = label
        self._stream = stream if stream is not None else sys.stderr
        self._tty = self._stream.isatty()
        self._last_files = -1
        self._last_draw = 0.0

    def __call__(self, p: DownloadProgress) -> None:
        done = p.files_done == p.total_files and p.downloaded_bytes == p.total_bytes
        text = (
            f"{self._label}: {_fmt_bytes(p.downloaded_bytes)}/{_fmt_bytes(p.total_bytes)}, "
            f"{p.files_done}/{p.total_files} files"
        )
        if self._tty:
            now = time.monotonic()
            if not done and now - self._last_draw < 0.1:
                return
            self._last_draw = now
            frac = p.downloaded_bytes / p.total_bytes if p.total_bytes else 1.0
            filled = int(30 * frac)
            bar = "#" * filled + "." * (30 - filled)
            self._stream.write(f"\r[{bar}] {frac:6.1%} {text}" + ("\n" if done else ""))
            self._stream.flush()
        elif p.files_done != self._last_files:
            self._last_files = p.files_done
            self._stream.write(text + "\n")
            self._stream.flush()
