"""Model downloads through ``huggingface_hub.snapshot_download``, with progress and a manifest.

``download_model`` asks the hub for the repo's files at a revision (one metadata request with a
timeout), rejects any file name that would land outside the model directory, downloads the
files matching the model's patterns into ``<models_dir>/<org>--<name>`` with the real
``snapshot_download`` (resuming a dropped transfer with a ``Range`` request), verifies each file
against the hub's size and hash, and writes ``.exo-manifest.json``. ``HF_ENDPOINT``,
``HF_TOKEN`` and ``HF_HUB_OFFLINE`` are read when called (``huggingface_hub`` reads its own
copies once, at import). In offline mode no request is made: the manifest decides.
"""

from __future__ import annotations

import fnmatch
import hashlib
import os
import re
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import httpx2
from huggingface_hub import HfApi, snapshot_download
from huggingface_hub import errors as hf_errors

from exo_spec.engine.weights import (
    ManifestEntry,
    WeightsCheck,
    read_manifest,
    safe_relative_path,
    weights_present,
    write_manifest,
)
from exo_spec.runtime.engine_protocol import DownloadProgress, ModelRef

__all__ = [
    "DEFAULT_ENDPOINT",
    "DEFAULT_MODELS_DIR",
    "CorruptDownloadError",
    "DownloadError",
    "DownloadTimeoutError",
    "HubResponseError",
    "HubUnreachableError",
    "InvalidRepoIdError",
    "OfflineMissingError",
    "RepoNotFoundError",
    "RevisionNotFoundError",
    "TerminalProgress",
    "UnsafePathError",
    "WeightsCheck",
    "download_model",
    "model_dir_for",
    "models_dir",
    "weights_present",
]

DEFAULT_MODELS_DIR = Path("~/.local/share/exo/models")
DEFAULT_ENDPOINT = "https://huggingface.co"
_DEFAULT_TIMEOUT_S = 10.0
_REPO_PART = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,95}")
_TRUE = {"1", "ON", "YES", "TRUE"}


class DownloadError(Exception):
    """A model could not be downloaded or found locally."""


class InvalidRepoIdError(DownloadError, ValueError):
    """The repo id is not ``org/name`` with safe characters."""


class RepoNotFoundError(DownloadError):
    """The hub has no such repo (or it is private and the token does not grant access)."""


class RevisionNotFoundError(DownloadError):
    """The repo exists but the revision does not."""


class OfflineMissingError(DownloadError):
    """Offline mode is on and the model's files are not all present and verified."""


class HubUnreachableError(DownloadError):
    """The hub could not be reached, or the connection broke and did not recover."""


class DownloadTimeoutError(HubUnreachableError):
    """The hub did not answer within the timeout."""


class HubResponseError(DownloadError):
    """The hub answered with an unexpected error (e.g. a 5xx)."""


class UnsafePathError(DownloadError):
    """The hub listed a file name that would be written outside the model directory."""


class CorruptDownloadError(DownloadError):
    """A downloaded file does not match the hub's size or hash; it was removed."""


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

    def bar_class(self) -> type[Any]:
        """A tqdm look-alike class bound to this tracker (``snapshot_download(tqdm_class=...)``).

        ``snapshot_download`` makes three bars: files done (no byte unit), bytes written
        ("Reconstructing"), and bytes received; the first two feed the tracker.
        """
        tracker = self

        class _Bar:
            def __init__(self, *args: object, **kwargs: Any) -> None:
                desc = str(kwargs.get("desc") or "")
                self.kind = (
                    "files"
                    if kwargs.get("unit") != "B"
                    else ("bytes" if desc.startswith("Reconstruct") else "other")
                )
                self.n = int(kwargs.get("initial") or 0)
                self.total = kwargs.get("total")
                self.format_dict: dict[str, object] = {"rate": None}
                if self.kind == "bytes" and self.n:
                    tracker.add(nbytes=self.n)

            def update(self, n: float | None = 1) -> None:
                inc = int(n or 0)
                self.n += inc
                if self.kind == "bytes":
                    tracker.add(nbytes=inc)
                elif self.kind == "files":
                    tracker.add(nfiles=inc)

            def __enter__(self) -> _Bar:
                return self

            def __exit__(self, *exc: object) -> None:
                return None

            def close(self) -> None:
                return None

            def refresh(self, *args: object, **kwargs: object) -> None:
                return None

            def set_description(self, *args: object, **kwargs: object) -> None:
                return None

            def set_description_str(self, *args: object, **kwargs: object) -> None:
                return None

            def set_postfix_str(self, *args: object, **kwargs: object) -> None:
                return None

        return _Bar


def _escape_pattern(name: str) -> str:
    return "".join(f"[{c}]" if c in "*?[" else c for c in name)


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
        if isinstance(e, hf_errors.OfflineModeIsEnabled):
            return OfflineMissingError(
                f"{where}: huggingface_hub is in offline mode (HF_HUB_OFFLINE was set when it "
                "was imported) and the files are not all present"
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


def _verify(target: Path, name: str, size: int | None, sha256: str | None, sha1: str | None) -> str:
    """Hash ``target``; remove it and raise CorruptDownloadError if it disagrees with the hub."""
    actual_size = target.stat().st_size
    digest256 = hashlib.sha256()
    digest1 = hashlib.sha1(f"blob {actual_size}\0".encode(), usedforsecurity=False)
    with target.open("rb") as f:
        while chunk := f.read(4 * 1024 * 1024):
            digest256.update(chunk)
            digest1.update(chunk)
    problem = None
    if size is not None and actual_size != size:
        problem = f"size {actual_size} bytes, expected {size}"
    elif sha256 is not None and digest256.hexdigest() != sha256:
        problem = f"sha256 {digest256.hexdigest()}, expected {sha256}"
    elif sha256 is None and sha1 is not None and digest1.hexdigest() != sha1:
        problem = f"git blob sha1 {digest1.hexdigest()}, expected {sha1}"
    if problem is not None:
        target.unlink(missing_ok=True)
        raise CorruptDownloadError(
            f"{name}: downloaded file does not match the hub ({problem}); it was removed, "
            "download again"
        )
    return digest256.hexdigest()


def download_model(
    model: ModelRef,
    models_dir: Path,
    progress: Callable[[DownloadProgress], None],
    *,
    endpoint: str | None = None,
    token: str | None = None,
    timeout_s: float | None = None,
    offline: bool | None = None,
) -> Path:
    """Download ``model`` into ``models_dir`` (resuming), verify it, return the model directory.

    ``endpoint`` defaults to ``$HF_ENDPOINT`` then huggingface.co; ``token`` to ``$HF_TOKEN``;
    ``offline`` to ``$HF_HUB_OFFLINE``. ``timeout_s`` bounds each metadata request (info,
    per-file ``HEAD``). Raises a DownloadError subclass for every expected failure.
    """
    target = model_dir_for(models_dir, model.repo_id)
    endpoint = (endpoint or os.environ.get("HF_ENDPOINT") or DEFAULT_ENDPOINT).rstrip("/")
    token = token or os.environ.get("HF_TOKEN") or None
    timeout = _DEFAULT_TIMEOUT_S if timeout_s is None else timeout_s
    if offline is None:
        offline = _env_true("HF_HUB_OFFLINE") or _env_true("TRANSFORMERS_OFFLINE")
    where = f"repo {model.repo_id!r} revision {model.revision!r}"

    if offline:
        return _offline(model, target, progress, where)

    api = HfApi(endpoint=endpoint, token=token)
    try:
        info = api.model_info(
            model.repo_id, revision=model.revision, files_metadata=True, timeout=timeout
        )
    except Exception as error:
        raise _translate(error, model.repo_id, model.revision, endpoint, timeout) from error
    commit = str(info.sha or "")
    siblings = {s.rfilename: s for s in (info.siblings or [])}
    if not commit or not siblings:
        raise HubResponseError(f"{where} at {endpoint}: the hub sent no commit sha or no files")

    unsafe = [n for n in siblings if safe_relative_path(target, n) is None]
    if unsafe:
        raise UnsafePathError(
            f"{where} at {endpoint}: refusing file names that would be written outside "
            f"{target}: {', '.join(map(repr, sorted(unsafe)))}; accepted: relative paths "
            "without '.', '..' or empty parts, not under '.cache/'"
        )
    selected = sorted(
        n
        for n in siblings
        if any(
            fnmatch.fnmatchcase(n, p + "*" if p.endswith("/") else p) for p in model.allow_patterns
        )
    )
    if not selected:
        raise DownloadError(
            f"{where} at {endpoint}: no file matches {list(model.allow_patterns)}; the repo "
            f"has: {', '.join(sorted(siblings))}"
        )

    def expected(name: str) -> tuple[int | None, str | None, str | None]:
        s = siblings[name]
        return s.size, (s.lfs.sha256 if s.lfs is not None else None), s.blob_id

    total_bytes = sum(expected(n)[0] or 0 for n in selected)
    manifest = read_manifest(target)
    if (
        not isinstance(manifest, str)
        and manifest.commit == commit
        and {e.path for e in manifest.files} == set(selected)
        and weights_present(target).ok
    ):
        _Tracker(progress, total_bytes, len(selected), 0, 0).finish()
        return target

    present = [n for n in selected if (target / n).is_file()]
    tracker = _Tracker(
        progress,
        total_bytes,
        len(selected),
        sum(expected(n)[0] or 0 for n in present),
        0,
    )
    tracker.add()
    target.mkdir(parents=True, exist_ok=True)
    try:
        snapshot_download(
            model.repo_id,
            revision=commit,
            allow_patterns=[_escape_pattern(n) for n in selected],
            local_dir=target,
            cache_dir=target / ".cache" / "hub",
            endpoint=endpoint,
            token=token,
            etag_timeout=timeout,
            tqdm_class=tracker.bar_class(),
            max_workers=4,
        )
    except Exception as error:
        raise _translate(error, model.repo_id, model.revision, endpoint, timeout) from error

    entries = []
    for name in selected:
        path = target / name
        if not path.is_file():
            raise HubResponseError(f"{where} at {endpoint}: {name} was listed but not downloaded")
        size, sha256, sha1 = expected(name)
        digest = _verify(path, name, size, sha256, sha1)
        entries.append(ManifestEntry(name, path.stat().st_size, digest))
    write_manifest(
        target,
        repo_id=model.repo_id,
        revision=model.revision,
        commit=commit,
        endpoint=endpoint,
        entries=entries,
    )
    tracker.finish()
    return target


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
