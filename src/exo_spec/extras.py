"""The optional extras of ``exo-spec`` and the one-line message for a missing one.

The core (spec, model, check, codegen, the machine, the runtime, the supervisor) needs only pure
Python packages. What is heavy, or serves one command, is an extra::

    pip install 'exo-spec[mlx]'          # the MLX engine and model downloads (demo, node)
    pip install 'exo-spec[conformance]'  # the conformance suite's random walks (hypothesis)
    pip install 'exo-spec[node]'         # the node daemon (fastapi, uvicorn)
    pip install 'exo-spec[diagram]'      # `exo-spec diagram --format dot|svg` (graphviz)
    pip install 'exo-spec[all]'          # everything

Code that needs an extra either checks first (:func:`require`) or lets the import fail; the CLI
turns a :class:`MissingExtraError` or a ``ModuleNotFoundError`` of a module listed in
:data:`EXTRA_OF` into one line naming the extra (exit code 2), never a traceback. This module
imports nothing of the project, so every layer may use it.
"""

from __future__ import annotations

import importlib.util

__all__ = ["EXTRA_OF", "MODULES", "MissingExtraError", "extra_for", "missing", "require"]

MODULES: dict[str, tuple[str, ...]] = {
    "mlx": ("mlx", "mlx_lm", "huggingface_hub"),
    "conformance": ("hypothesis",),
    "node": ("fastapi", "uvicorn"),
    "diagram": ("graphviz",),
}
"""The top-level modules each extra provides (what is checked before a command runs)."""

EXTRA_OF: dict[str, str] = {
    module: extra for extra, modules in MODULES.items() for module in modules
} | {"tqdm": "mlx", "starlette": "node", "transformers": "mlx", "numpy": "mlx"}
"""The extra that installs each top-level module (including what those bring along)."""


class MissingExtraError(ImportError):
    """Something needs an extra of exo-spec that is not installed."""

    def __init__(self, extras: tuple[str, ...], needed_for: str, module: str = "") -> None:
        self.extras = extras
        self.needed_for = needed_for
        install = f"'exo-spec[{','.join(extras)}]'"
        names = " and ".join(f"`{extra}`" for extra in extras)
        which = "extra" if len(extras) == 1 else "extras"
        missing_text = f" (no module named {module!r})" if module else ""
        super().__init__(
            f"{needed_for} needs the {names} {which}{missing_text}: pip install {install}"
        )


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a broken or half-installed package
        return False


def missing(*extras: str) -> tuple[str, ...]:
    """The extras among ``extras`` with a module that cannot be imported."""
    return tuple(
        extra for extra in extras if not all(_installed(module) for module in MODULES[extra])
    )


def require(needed_for: str, *extras: str) -> None:
    """Raise :class:`MissingExtraError` naming every extra of ``extras`` that is missing."""
    absent = missing(*extras)
    if absent:
        raise MissingExtraError(absent, needed_for)


def extra_for(exc: ImportError, needed_for: str) -> MissingExtraError | None:
    """The missing-extra error an import failure means, or ``None`` if it is not one."""
    if isinstance(exc, MissingExtraError):
        return exc
    if not isinstance(exc, ModuleNotFoundError) or not exc.name:
        return None
    top = exc.name.partition(".")[0]
    extra = EXTRA_OF.get(top)
    if extra is None:
        return None
    return MissingExtraError((extra,), needed_for, top)
