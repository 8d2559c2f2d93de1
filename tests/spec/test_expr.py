from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from exo_spec.spec import ExprSyntaxError, parse_expr

NAMES = ("a", "b", "c")


@pytest.mark.parametrize(
    ("text", "rendered"),
    [
        ("a", "a"),
        ("not a", "not a"),
        ("a and b or c", "a and b or c"),
        ("a and (b or c)", "a and (b or c)"),
        ("not (a or b)", "not (a or b)"),
        ("not not a", "not not a"),
        ("  a   and   b ", "a and b"),
    ],
)
def test_parse_and_render(text: str, rendered: str) -> None:
    assert str(parse_expr(text)) == rendered


def test_precedence_not_and_or() -> None:
    expr = parse_expr("not a and b or c")
    for a, b, c in itertools.product((False, True), repeat=3):
        assert expr.evaluate({"a": a, "b": b, "c": c}) == (((not a) and b) or c)


@pytest.mark.parametrize(
    ("text", "column", "fragment"),
    [
        ("", 0, "empty guard expression"),
        ("a and", 5, "ends early"),
        ("(a", 2, "missing ')'"),
        ("a b", 2, "join terms"),
        ("a && b", 2, "unexpected '&'"),
        ("and a", 0, "expected a guard name"),
        ("a or )", 5, "unexpected ')'"),
        ("__import__('os')", 10, "unexpected '('"),
    ],
)
def test_syntax_errors_name_the_column(text: str, column: int, fragment: str) -> None:
    with pytest.raises(ExprSyntaxError) as info:
        parse_expr(text)
    assert info.value.column == column
    assert fragment in info.value.message


_exprs = st.recursive(
    st.sampled_from(NAMES),
    lambda inner: st.one_of(
        inner.map(lambda e: f"not {e}"),
        st.tuples(inner, inner).map(lambda p: f"({p[0]} and {p[1]})"),
        st.tuples(inner, inner).map(lambda p: f"({p[0]} or {p[1]})"),
    ),
    max_leaves=8,
)


@given(_exprs, st.tuples(st.booleans(), st.booleans(), st.booleans()))
def test_rendering_round_trips_meaning(text: str, values: tuple[bool, bool, bool]) -> None:
    env = dict(zip(NAMES, values, strict=True))
    expr = parse_expr(text)
    again = parse_expr(str(expr))
    assert again.evaluate(env) == expr.evaluate(env)
    assert str(again) == str(expr)
