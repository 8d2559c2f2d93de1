"""exo-spec's logging: loguru, off until the application turns it on, as any library's should.

Importing this module disables the ``exo_spec`` loggers; every module of exo-spec that logs
takes ``logger`` from here (``from exo_spec.logs import logger``), so nothing logs before that; :func:`show_logs` turns them on, on stderr. The CLI calls it for ``-v`` and
``--log-level``; a program using the library calls ``logger.enable("exo_spec")`` itself.
"""

from __future__ import annotations

import sys

from loguru import logger

__all__ = ["logger", "show_logs"]

logger.disable("exo_spec")


def show_logs(level: str) -> None:
    """Show exo-spec's logs at ``level`` and above on stderr (and only there)."""
    logger.remove()
    logger.add(sys.stderr, level=level)
    logger.enable("exo_spec")
