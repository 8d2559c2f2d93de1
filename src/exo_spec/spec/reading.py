"""Read a spec's bytes and compose its YAML node graph, within bounds that hostile input cannot pass.

A spec is a few kilobytes and a few levels deep. What this module refuses, before any schema
check sees the document:

- a path that is not a regular file (a FIFO would block, ``/dev/zero`` never ends): ``EXS000``;
- more than :data:`MAX_BYTES` bytes (only that many plus one are ever read): ``EXS008``;
- nesting deeper than :data:`MAX_DEPTH` levels, in flow (``[[[``) or block (``- - -``) style:
  ``EXS008``. libyaml's parser is iterative but PyYAML's C composer recurses once per level and
  overflows the C stack past some ten thousand levels (a segfault, not an exception), so the
  depth is measured on libyaml's *event stream* first, which stops at the first event too deep;
  the composer only ever sees a document that passed. Both loaders (C and pure Python) share
  this path, so the fast one stays in use;
- more than :data:`MAX_NODES` nodes once aliases are expanded (``*a`` repeated in lists of
  ``*a`` grows exponentially while the text stays small): ``EXS008``. The composed graph shares
  aliased nodes, so the expanded size is counted on it with one memoised pass.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import yaml

from exo_spec.spec.diagnostics import Diagnostic, Loc, echo

__all__ = [
    "MAX_BYTES",
    "MAX_DEPTH",
    "MAX_NODES",
    "compose",
    "decode_error_loc",
    "read_spec_bytes",
]

MAX_BYTES = 1 << 20
"""The largest spec read (1 MiB; the shipped spec is under 4 KB)."""
MAX_DEPTH = 64
"""The deepest nesting of mappings and lists (the shipped spec nests 4 levels)."""
MAX_NODES = 20_000
"""The most YAML nodes after alias expansion (the shipped spec has under 300)."""

_Base: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _SafeLoader(_Base):  # type: ignore[valid-type,misc]
    """PyYAML's safe loader (libyaml's when available, 4x faster); only its parser and composer
    are used (no objects are constructed)."""


def read_spec_bytes(path: str | Path) -> bytes | Diagnostic:
    """The bytes of the regular file at ``path``, or the diagnostic that says why not."""
    shown = str(path)
    where = Loc(shown, 1, 1)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)  # non-blocking: opening a FIFO with no writer returns at once
    except OSError as exc:
        return Diagnostic("EXS000", f"cannot read the spec: {_reason(exc)}", where)
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            return Diagnostic(
                "EXS000",
                f"cannot read the spec: it is {_file_kind(mode)}, not a regular file",
                where,
            )
        with os.fdopen(fd, "rb", closefd=False) as handle:
            data = handle.read(MAX_BYTES + 1)
    except OSError as exc:
        return Diagnostic("EXS000", f"cannot read the spec: {_reason(exc)}", where)
    finally:
        os.close(fd)
    if len(data) > MAX_BYTES:
        return Diagnostic(
            "EXS008",
            f"the spec is larger than {MAX_BYTES} bytes; a spec is a few kilobytes",
            where,
        )
    return data


def compose(text: str, path: str) -> yaml.Node | Diagnostic | None:
    """The YAML node graph of ``text`` (``None`` for an empty document), or why it is refused."""
    if len(text.encode("utf-8", "surrogatepass")) > MAX_BYTES:
        return Diagnostic(
            "EXS008",
            f"the spec is larger than {MAX_BYTES} bytes; a spec is a few kilobytes",
            Loc(path, 1, 1),
        )
    try:
        too_deep = _too_deep(text)
        if too_deep is not None:
            return Diagnostic(
                "EXS008",
                f"the YAML nests more than {MAX_DEPTH} levels; a spec needs a few levels at most",
                Loc(path, too_deep[0] + 1, too_deep[1] + 1),
            )
        root = yaml.compose(text, Loader=_SafeLoader)
    except yaml.MarkedYAMLError as exc:
        return Diagnostic(
            "EXS001", _syntax_message(exc, text), _at(path, exc.problem_mark or exc.context_mark)
        )
    except yaml.reader.ReaderError as exc:
        # libyaml counts bytes and PyYAML characters; find the character itself
        found = yaml.reader.Reader.NON_PRINTABLE.search(text)
        position = found.start() if found is not None else exc.position
        return Diagnostic("EXS001", _reader_message(exc), _offset_loc(path, text, position))
    except yaml.YAMLError as exc:
        message = echo(f"YAML syntax error: {exc}".splitlines()[0], 200)
        return Diagnostic("EXS001", message, Loc(path, 1, 1))
    except UnicodeEncodeError as exc:  # a lone surrogate, only possible in text given directly
        message = (
            f"the spec is not valid Unicode text (character {exc.start + 1}); save it as UTF-8"
        )
        return Diagnostic("EXS001", message, _offset_loc(path, text, exc.start))
    except RecursionError:  # kept as a safety net: the depth bound is far below the limit
        message = "the YAML is nested too deeply to read; a spec needs a few levels at most"
        return Diagnostic("EXS001", message, Loc(path, 1, 1))
    if root is not None:
        size = expanded_size(root, MAX_NODES)
        if size > MAX_NODES:
            return Diagnostic(
                "EXS008",
                f"the spec has more than {MAX_NODES} YAML nodes once its aliases are expanded; "
                "write each rule out, or share less through anchors and aliases",
                Loc(path, 1, 1),
            )
    return root


def expanded_size(root: yaml.Node, bound: int) -> int:
    """How many nodes ``root`` has with every alias expanded, counted up to just past ``bound``.

    Aliases are shared nodes in the composed graph; each node's expanded size is computed once
    (children first, iteratively), so a graph that expands to billions is measured in a few
    steps. A recursive alias cannot be composed by PyYAML, so the graph is acyclic.
    """
    sizes: dict[int, int] = {}
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, ready = stack.pop()
        if id(node) in sizes:
            continue
        children = _children(node)
        if ready:
            total = 1
            for child in children:
                total = min(total + sizes[id(child)], bound + 1)
            sizes[id(node)] = total
            continue
        stack.append((node, True))
        stack.extend((child, False) for child in children if id(child) not in sizes)
    return sizes[id(root)]


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [item for pair in node.value for item in pair]
    return []


def _too_deep(text: str) -> tuple[int, int] | None:
    """The 0-based line and column where the event stream first nests past :data:`MAX_DEPTH`,
    or ``None`` when it never does.

    Only events are produced (libyaml keeps its own stacks on the heap); nothing recurses.
    """
    depth = 0
    for event in yaml.parse(text, Loader=_SafeLoader):
        if isinstance(event, yaml.SequenceStartEvent | yaml.MappingStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                mark = event.start_mark
                return (0, 0) if mark is None else (mark.line, mark.column)
        elif isinstance(event, yaml.SequenceEndEvent | yaml.MappingEndEvent):
            depth -= 1
    return None


def _at(path: str, mark: yaml.Mark | None) -> Loc:
    return Loc(path, mark.line + 1, mark.column + 1) if mark is not None else Loc(path, 1, 1)


def _syntax_message(exc: yaml.MarkedYAMLError, text: str) -> str:
    """PyYAML's problem and its context (``while parsing a flow mapping at line 1, column 4``);
    a tab where a token must start is called a tab."""
    problem = exc.problem or exc.context or "malformed YAML"
    mark = exc.problem_mark
    tab = mark is not None and _char_at(text, mark.line, mark.column) == "\t"
    if mark is not None and tab:
        problem = (
            f"a tab at line {mark.line + 1}, column {mark.column + 1}: YAML does not allow tabs "
            "for indentation (or to start a value); indent with spaces"
        )
    context = ""
    if exc.context and not tab:
        where = exc.context_mark
        at = f" at line {where.line + 1}, column {where.column + 1}" if where is not None else ""
        context = f" ({exc.context}{at})"
    return f"YAML syntax error: {echo(problem, 200)}{echo(context, 200)}"


def _char_at(text: str, line: int, column: int) -> str:
    """The character at 0-based ``line`` and ``column`` of ``text`` (``""`` past its end)."""
    lines = text.split("\n")
    if not 0 <= line < len(lines):
        return ""
    row = lines[line]
    return row[column] if 0 <= column < len(row) else ""


def decode_error_loc(path: str, data: bytes, start: int) -> Loc:
    """The line:col of the byte at ``start`` that is not UTF-8 (the columns count characters)."""
    before = data[:start].decode("utf-8", "replace")
    return _offset_loc(path, before, len(before))


def _offset_loc(path: str, text: str, position: int) -> Loc:
    """The line:col of character ``position`` of ``text`` (as editors count them)."""
    position = max(0, min(position, len(text)))
    line = text.count("\n", 0, position) + 1
    col = position - (text.rfind("\n", 0, position) + 1) + 1
    return Loc(path, line, col)


def _reader_message(exc: yaml.reader.ReaderError) -> str:
    character = exc.character
    code = ord(character) if isinstance(character, str) else int(character)
    return (
        f"YAML syntax error: the character U+{code:04X} is not allowed in YAML "
        f"({exc.reason}); remove it"
    )


def _reason(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__


def _file_kind(mode: int) -> str:
    kinds = (
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISFIFO, "a FIFO (named pipe)"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    )
    return next((name for test, name in kinds if test(mode)), "a special file")
