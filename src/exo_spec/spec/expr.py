"""Guard expressions: ``and`` / ``or`` / ``not`` over guard names, with parentheses.

Parsed into a small immutable AST by a hand-written recursive-descent parser; nothing is ever
``eval``-ed. ``not`` binds tighter than ``and``, which binds tighter than ``or``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping

from attrs import frozen

__all__ = ["And", "Expr", "ExprSyntaxError", "Name", "Not", "Or", "TrueExpr", "parse_expr"]

IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_TOKEN = re.compile(r"\s*(?:(\()|(\))|([A-Za-z_][A-Za-z0-9_]*)|(\S))")
_KEYWORDS = frozenset({"and", "or", "not"})


class ExprSyntaxError(ValueError):
    """A guard expression that does not parse; ``column`` is 0-based within the expression."""

    def __init__(self, message: str, column: int) -> None:
        super().__init__(message)
        self.message = message
        self.column = column


@frozen
class TrueExpr:
    """The guard of a rule with no ``when``: always enabled."""

    def evaluate(self, values: Mapping[str, bool]) -> bool:  # noqa: ARG002  # Expr's signature
        return True

    def names(self) -> Iterator[str]:
        return iter(())

    def __str__(self) -> str:
        return "true"


@frozen
class Name:
    """A reference to a declared guard."""

    name: str
    column: int = 0

    def evaluate(self, values: Mapping[str, bool]) -> bool:
        return values[self.name]

    def names(self) -> Iterator[str]:
        yield self.name

    def __str__(self) -> str:
        return self.name


@frozen
class Not:
    operand: Expr

    def evaluate(self, values: Mapping[str, bool]) -> bool:
        return not self.operand.evaluate(values)

    def names(self) -> Iterator[str]:
        return self.operand.names()

    def __str__(self) -> str:
        inner = str(self.operand)
        return f"not {inner}" if isinstance(self.operand, Name | Not) else f"not ({inner})"


@frozen
class _Binary:
    """What ``and`` and ``or`` share: two operands, whose guard names are used left first."""

    left: Expr
    right: Expr

    def names(self) -> Iterator[str]:
        yield from self.left.names()
        yield from self.right.names()


@frozen
class And(_Binary):
    def evaluate(self, values: Mapping[str, bool]) -> bool:
        return self.left.evaluate(values) and self.right.evaluate(values)

    def __str__(self) -> str:
        return f"{_wrap(self.left, Or)} and {_wrap(self.right, Or)}"


@frozen
class Or(_Binary):
    def evaluate(self, values: Mapping[str, bool]) -> bool:
        return self.left.evaluate(values) or self.right.evaluate(values)

    def __str__(self) -> str:
        return f"{self.left} or {self.right}"


Expr = TrueExpr | Name | Not | And | Or


def _wrap(expr: Expr, kind: type[Or]) -> str:
    return f"({expr})" if isinstance(expr, kind) else str(expr)


def _tokenize(text: str) -> list[tuple[str, int]]:
    tokens: list[tuple[str, int]] = []
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None:  # only trailing whitespace is left
            break
        kind_index = match.lastindex or 0
        tokens.append((match.group(kind_index), match.start(kind_index)))
        pos = match.end()
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokenize(text)
        self.index = 0

    def peek(self) -> str | None:
        return self.tokens[self.index][0] if self.index < len(self.tokens) else None

    def column(self) -> int:
        return self.tokens[self.index][1] if self.index < len(self.tokens) else len(self.text)

    def take(self) -> tuple[str, int]:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def parse(self) -> Expr:
        if not self.tokens:
            raise ExprSyntaxError("empty guard expression; write a guard name, or drop 'when'", 0)
        expr = self.parse_or()
        if self.peek() is not None:
            token, column = self.take()
            raise ExprSyntaxError(
                f"unexpected {token!r} after a complete expression; join terms with 'and' or 'or'",
                column,
            )
        return expr

    def parse_or(self) -> Expr:
        return self.parse_chain("or", self.parse_and, Or)

    def parse_and(self) -> Expr:
        return self.parse_chain("and", self.parse_not, And)

    def parse_chain(
        self, keyword: str, operand: Callable[[], Expr], join: type[And] | type[Or]
    ) -> Expr:
        """``operand (keyword operand)*``, grouped from the left."""
        expr = operand()
        while self.peek() == keyword:
            self.take()
            expr = join(expr, operand())
        return expr

    def parse_not(self) -> Expr:
        if self.peek() == "not":
            self.take()
            return Not(self.parse_not())
        return self.parse_atom()

    def parse_atom(self) -> Expr:
        token = self.peek()
        column = self.column()
        if token is None:
            raise ExprSyntaxError("expression ends early; expected a guard name or '('", column)
        if token == "(":
            self.take()
            expr = self.parse_or()
            if self.peek() != ")":
                raise ExprSyntaxError("missing ')' to close the '(' here", self.column())
            self.take()
            return expr
        if token in _KEYWORDS or not IDENTIFIER.match(token):
            raise ExprSyntaxError(
                f"unexpected {token!r}; expected a guard name, 'not' or '('", column
            )
        self.take()
        return Name(token, column)


def parse_expr(text: str) -> Expr:
    """Parse a ``when:`` expression; raise :class:`ExprSyntaxError` with a column on failure."""
    return _Parser(text).parse()
