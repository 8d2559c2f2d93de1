"""A package's public names, imported from their modules at first use (PEP 562).

A package ``__init__`` that re-exports its modules' names would import all of them whenever any
one of its modules is imported (a runner process importing ``exo_spec.supervisor.child`` would
import the whole supervisor). Instead the package names, in one explicit table, the module each
public name comes from; :func:`exports` returns the module-level ``__getattr__`` that imports it
on first access, and type checkers read the same names from an ``if TYPE_CHECKING:`` block.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, MutableMapping

__all__ = ["exports"]


def exports(
    namespace: MutableMapping[str, object], table: Mapping[str, str]
) -> Callable[[str], object]:
    """The ``__getattr__`` of the package whose ``globals()`` is ``namespace``: ``name`` from
    module ``table[name]``, then kept in the namespace (``__getattr__`` is not asked again);
    ``AttributeError`` for a name the table does not hold."""
    package = namespace["__name__"]

    def attribute(name: str) -> object:
        module = table.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        namespace[name] = value
        return value

    return attribute
