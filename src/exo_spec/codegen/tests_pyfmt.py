"""Python literals laid out the way ``ruff format`` lays them out, for generated test tables.

A value is written flat when it fits on its line, and otherwise exploded one element per line
with a trailing comma (which ``ruff format`` then keeps), so generated files pass
``ruff format --check`` without running the formatter. Names reach source text only as
validated identifiers (:class:`Code`) or through :func:`~exo_spec.codegen.source.py_str`,
never pasted raw.
"""

from __future__ import annotations

from collections.abc import Sequence

from attrs import frozen

from exo_spec.codegen.source import py_str
from exo_spec.spec import valid_name

__all__ = ["LINE_LENGTH", "Call", "Code", "Literal", "attr", "lit"]

LINE_LENGTH = 100
_INDENT = "    "


@frozen
class Code:
    """Source text that is already safe: built from validated identifiers only."""

    text: str


@frozen
class Call:
    """``name(arg, ..., key=value, ...)``; ``args`` pairs a keyword (or ``None``) with a value."""

    name: str
    args: tuple[tuple[str | None, Literal], ...]


Literal = (
    str
    | bool
    | int
    | None
    | Code
    | Call
    | tuple["Literal", ...]
    | list["Literal"]
    | dict[str, "Literal"]
)


def attr(owner: str, name: str) -> Code:
    """``owner.name`` for an enum member; both parts must be identifiers from the spec."""
    for part in (*owner.split("."), name):
        if not valid_name(part):
            raise ValueError(f"{part!r} is not a valid identifier for generated code")
    return Code(f"{owner}.{name}")


def _flat(value: Literal) -> str:
    if isinstance(value, str):
        return py_str(value)
    if isinstance(value, bool | int) or value is None:
        return repr(value)
    if isinstance(value, Code):
        return value.text
    if isinstance(value, Call):
        inner = ", ".join(_flat(v) if k is None else f"{k}={_flat(v)}" for k, v in value.args)
        return f"{value.name}({inner})"
    if isinstance(value, tuple):
        if len(value) == 1:
            return f"({_flat(value[0])},)"
        return "(" + ", ".join(_flat(v) for v in value) + ")"
    if isinstance(value, list):
        return "[" + ", ".join(_flat(v) for v in value) + "]"
    return "{" + ", ".join(f"{py_str(k)}: {_flat(v)}" for k, v in value.items()) + "}"


def _items(value: Literal) -> tuple[str, str, Sequence[tuple[str, Literal]]] | None:
    """Opening text, closing text and ``(prefix, element)`` pairs of a collection or call."""
    if isinstance(value, Call):
        return f"{value.name}(", ")", [("" if k is None else f"{k}=", v) for k, v in value.args]
    if isinstance(value, tuple):
        return "(", ")", [("", v) for v in value]
    if isinstance(value, list):
        return "[", "]", [("", v) for v in value]
    if isinstance(value, dict):
        return "{", "}", [(f"{py_str(k)}: ", v) for k, v in value.items()]
    return None


def lit(value: Literal, level: int = 0, lead: int = 0, trail: int = 1) -> str:
    """``value`` as source starting ``lead`` columns after an indent of ``level`` steps.

    ``trail`` is the width of what follows on the last line (a ``,`` or a ``)``).
    """
    flat = _flat(value)
    items = _items(value)
    width = len(_INDENT) * level + lead + len(flat) + trail
    if items is None or width <= LINE_LENGTH or not items[2]:
        return flat
    opening, closing, elements = items
    inner = _INDENT * (level + 1)
    lines = [opening]
    for prefix, element in elements:
        lines.append(f"{inner}{prefix}{lit(element, level + 1, len(prefix), 1)},")
    lines.append(_INDENT * level + closing)
    return "\n".join(lines)
