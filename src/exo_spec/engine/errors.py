"""The engine's errors: one shallow hierarchy under :class:`EngineError`."""

from __future__ import annotations

__all__ = [
    "EngineError",
    "EngineNotSupported",
    "GroupError",
    "GroupLostError",
    "ModelLoadError",
    "ModelNotLoadedError",
]


class EngineError(Exception):
    """An engine action failed."""


class EngineNotSupported(EngineError):  # noqa: N818 (reads as a verdict, like NotImplemented)
    """The engine was asked for something it does not do (yet)."""


class ModelNotLoadedError(EngineError):
    """An action that needs a model ran before ``load`` finished, or after ``close``."""


class ModelLoadError(EngineError):
    """The model directory is missing, incomplete or not loadable by mlx_lm."""


class GroupError(EngineError):
    """The distributed group could not be formed (bad peers, a second join, mlx refused)."""


class GroupLostError(GroupError):
    """A peer of the group went away during a collective: the group cannot be used again."""
