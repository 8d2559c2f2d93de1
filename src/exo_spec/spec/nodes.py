"""The YAML node primitives the spec loader is built from: typed reads that report, not raise.

:class:`NodeReader` reads one node as a mapping, a list, a string, a name, a flag or a number of
seconds; a node of another shape becomes an ``EXS00x`` diagnostic at the node's line:col and the
read returns ``None``. Every value from the spec that a message repeats is cut short
(:func:`~exo_spec.spec.diagnostics.quote`).
"""

from __future__ import annotations

import difflib
import keyword
import re
from collections.abc import Iterable

import yaml

from exo_spec.spec.diagnostics import Diagnostic, Loc, quote

__all__ = [
    "BOOL",
    "FLOAT",
    "INT",
    "STR",
    "Fields",
    "NodeReader",
    "expected",
    "kind_of",
    "text_of",
    "valid_name",
]

STR = "tag:yaml.org,2002:str"
INT = "tag:yaml.org,2002:int"
FLOAT = "tag:yaml.org,2002:float"
BOOL = "tag:yaml.org,2002:bool"
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*\Z")
_RESERVED = frozenset({"true", "false", "and", "or", "not", "None", "True", "False"})

Fields = dict[str, tuple[yaml.ScalarNode, yaml.Node]]
"""A mapping's entries by key: the key node and the value node."""


def valid_name(name: str) -> bool:
    """Names become Python identifiers in generated code: letters, digits, ``_``; no keywords."""
    return (
        bool(_NAME.match(name))
        and not keyword.iskeyword(name)
        and not keyword.issoftkeyword(name)
        and name not in _RESERVED
    )


class NodeReader:
    """Typed reads of YAML nodes; problems are collected in :attr:`diagnostics`."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.diagnostics: list[Diagnostic] = []

    def loc(self, node: yaml.Node | None) -> Loc:
        if node is None:
            return Loc(self.path, 1, 1)
        mark = node.start_mark
        return Loc(self.path, mark.line + 1, mark.column + 1)

    def error(self, code: str, message: str, node: yaml.Node | None) -> None:
        self.diagnostics.append(Diagnostic(code, message, self.loc(node)))

    def mapping(
        self,
        node: yaml.Node,
        what: str,
        required: Iterable[str] = (),
        allowed: Iterable[str] | None = None,
    ) -> Fields | None:
        if not isinstance(node, yaml.MappingNode):
            self.error("EXS003", f"{what} must be a mapping, not {kind_of(node)}", node)
            return None
        allowed_keys = None if allowed is None else tuple(allowed)
        out: Fields = {}
        for key, value in node.value:
            name = text_of(key)
            if name is None:
                self.error("EXS003", f"keys of {what} must be plain names, not {kind_of(key)}", key)
                continue
            if name in out:
                first = self.loc(out[name][0])
                self.error(
                    "EXS007",
                    f"duplicate key {quote(name)} in {what} (first at line {first.line}); "
                    "keep one of them",
                    key,
                )
                continue
            if allowed_keys is not None and name not in allowed_keys:
                self.error(
                    "EXS002",
                    f"unknown key {quote(name)} in {what}; {expected(name, allowed_keys)}",
                    key,
                )
                continue
            out[name] = (key, value)
        for name in required:
            if name not in out:
                self.error("EXS004", f"{what} is missing the required key {name!r}", node)
        return out

    def sequence(self, node: yaml.Node, what: str) -> list[yaml.Node] | None:
        if not isinstance(node, yaml.SequenceNode):
            self.error("EXS003", f"{what} must be a list, not {kind_of(node)}", node)
            return None
        return list(node.value)

    def string(self, node: yaml.Node, what: str) -> str | None:
        text = text_of(node)
        if text is not None:
            return text
        self.error("EXS003", f"{what} must be a string, not {kind_of(node)}", node)
        return None

    def name(self, node: yaml.Node, what: str) -> str | None:
        text = self.string(node, what)
        if text is None:
            return None
        if not valid_name(text):
            self.error(
                "EXS005",
                f"{what} {quote(text)} is not a valid name; use letters, digits and '_', starting with "
                "a letter, and not a Python keyword",
                node,
            )
            return None
        return text

    def boolean(self, node: yaml.Node, what: str) -> bool | None:
        if isinstance(node, yaml.ScalarNode) and node.tag == BOOL:
            return str(node.value).lower() in ("true", "yes", "on")
        self.error("EXS003", f"{what} must be true or false, not {kind_of(node)}", node)
        return None

    def seconds(self, node: yaml.Node, what: str) -> float | None:
        if isinstance(node, yaml.ScalarNode) and node.tag in (INT, FLOAT):
            try:
                value = float(str(node.value).replace("_", ""))
            except ValueError:
                value = -1.0
            if value > 0 and value != float("inf"):
                return value
        self.error(
            "EXS003", f"{what} must be a positive number of seconds, not {kind_of(node)}", node
        )
        return None

    def names(self, node: yaml.Node, what: str) -> list[tuple[str, yaml.Node]]:
        """A name or a list of names."""
        items = [node] if isinstance(node, yaml.ScalarNode) else self.sequence(node, what) or []
        out: list[tuple[str, yaml.Node]] = []
        for item in items:
            text = self.string(item, what)
            if text is not None:
                out.append((text, item))
        return out


def text_of(node: yaml.Node) -> str | None:
    """A scalar read as text where the spec expects a string or a name, else ``None``.

    YAML 1.1 resolves the plain words ``yes``, ``no``, ``on``, ``off`` (``true``, ``false``)
    to booleans; where the spec expects a name (a state ``off``, ``to: on``), that reading
    is never meant, so a plain scalar that resolved to a boolean is read as the text written.
    The composer keeps each scalar's source text, so nothing is lost. ``true`` and ``false``
    are then refused as names by :func:`valid_name` (they are reserved in guard expressions).
    """
    if not isinstance(node, yaml.ScalarNode):
        return None
    if node.tag == STR or (node.tag == BOOL and not node.style):  # plain: None or ""
        return str(node.value)
    return None


def kind_of(node: yaml.Node | None) -> str:
    """What a node is, for a message: ``a mapping``, ``a list``, ``the string 'x'``, ``null``."""
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    if isinstance(node, yaml.ScalarNode):
        if node.tag == STR:
            return f"the string {quote(str(node.value))}"
        if node.tag == "tag:yaml.org,2002:null":
            return "null"
        return quote(str(node.value))
    return "nothing"


def expected(name: str, allowed: Iterable[str]) -> str:
    """``did you mean 'x'? expected one of: ...`` for a name that is not one of ``allowed``."""
    options = tuple(allowed)
    close = difflib.get_close_matches(name, options, n=1) if len(name) <= 100 else []
    hint = f"did you mean {close[0]!r}? " if close else ""
    return f"{hint}expected one of: {', '.join(options)}"
