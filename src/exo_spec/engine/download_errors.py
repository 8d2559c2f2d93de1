"""The errors of model downloads: one family, each naming the repo, the hub and what to do."""

from __future__ import annotations

__all__ = [
    "CorruptDownloadError",
    "DownloadError",
    "DownloadTimeoutError",
    "HubResponseError",
    "HubUnreachableError",
    "InvalidRepoIdError",
    "ModelsDirError",
    "OfflineMissingError",
    "RepoNotFoundError",
    "RevisionNotFoundError",
    "UnsafePathError",
    "UnverifiableFileError",
]


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
    """The hub did not answer, or answer fast enough, within the bounds."""


class HubResponseError(DownloadError):
    """The hub answered with an error (e.g. a 5xx) or with something malformed or too large."""


class UnsafePathError(DownloadError):
    """The hub listed a file name that would be written outside the model directory."""


class UnverifiableFileError(HubResponseError):
    """The hub listed a file without the size and hash needed to verify it; it is not fetched."""


class CorruptDownloadError(DownloadError):
    """A downloaded file does not match the hub's size or hash; it was removed."""


class ModelsDirError(DownloadError):
    """The models folder (or the model's directory in it) cannot be written."""
