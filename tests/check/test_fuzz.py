"""Any input gives diagnostics and an exit code, never a traceback (random and mutated YAML)."""

from __future__ import annotations

import copy
import itertools
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from exo_spec.cli import main

ROOT = Path(__file__).parents[2]
RUNNER_TEXT = (ROOT / "spec" / "runner.yaml").read_text(encoding="utf-8")
RUNNER: dict[str, Any] = yaml.safe_load(RUNNER_TEXT)


def _fast(examples: int) -> settings:
    """A bounded budget: the whole module runs in well under 15 s."""
    return settings(
        max_examples=examples,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture],
    )


_counter = itertools.count()


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


def _check(workdir: Path, data: bytes, capsys: pytest.CaptureFixture[str]) -> None:
    path = workdir / f"spec{next(_counter)}.yaml"
    path.write_bytes(data)
    code = main(["check", str(path)])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    assert "internal error" not in out
    if code == 0:
        assert err == "All checks passed.\n"
    else:
        assert code in (1, 2)
        assert out.startswith(str(path)), (out, err)
        assert err.startswith("Found ")


@_fast(100)
@given(st.binary(max_size=400))
def test_random_bytes(workdir: Path, capsys: pytest.CaptureFixture[str], data: bytes) -> None:
    _check(workdir, data, capsys)


SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=12)
)
TREES = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
KEYS = st.sampled_from(
    [
        "version",
        "machine",
        "initial",
        "guards",
        "actions",
        "states",
        "tasks",
        "defer",
        "on_error",
        "events",
    ]
)


@_fast(70)
@given(st.dictionaries(KEYS, TREES, max_size=10) | TREES)
def test_random_yaml_trees(workdir: Path, capsys: pytest.CaptureFixture[str], tree: Any) -> None:
    _check(workdir, yaml.safe_dump(tree, allow_unicode=True).encode("utf-8"), capsys)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            out += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            out += _paths(value, (*prefix, index))
    return out


PATHS = [p for p in _paths(RUNNER) if p]
REPLACEMENTS = st.one_of(
    SCALARS,
    st.just(10**400),
    st.just(-1),
    st.just("ünïcødé_名前"),
    st.just("weights_present and"),
    st.just({"a": {"b": {"c": {"d": {"e": [[[[["deep"]]]]]}}}}}),
    st.just([]),
    st.just({}),
)


@_fast(70)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(PATHS), st.sampled_from(["delete", "replace", "rename"]), REPLACEMENTS
        ),
        min_size=1,
        max_size=3,
    )
)
def test_mutated_runner_spec(
    workdir: Path, capsys: pytest.CaptureFixture[str], edits: list[tuple[tuple[Any, ...], str, Any]]
) -> None:
    data = copy.deepcopy(RUNNER)
    for path, how, value in edits:
        parent: Any = data
        try:
            for key in path[:-1]:
                parent = parent[key]
            last = path[-1]
            if how == "delete":
                del parent[last]
            elif how == "replace":
                parent[last] = value
            elif isinstance(parent, dict) and last in parent:
                parent["ñame_" + str(value)[:10]] = parent.pop(last)
        except (KeyError, IndexError, TypeError):
            continue
    _check(
        workdir, yaml.safe_dump(data, allow_unicode=True, sort_keys=False).encode("utf-8"), capsys
    )


@_fast(40)
@given(st.integers(min_value=0, max_value=RUNNER_TEXT.count("\n") - 1), st.integers(1, 3))
def test_duplicated_or_deleted_lines(
    workdir: Path, capsys: pytest.CaptureFixture[str], line: int, times: int
) -> None:
    lines = RUNNER_TEXT.splitlines(keepends=True)
    duplicated = lines[: line + 1] + [lines[line]] * times + lines[line + 1 :]
    _check(workdir, "".join(duplicated).encode("utf-8"), capsys)
    deleted = lines[:line] + lines[line + times :]
    _check(workdir, "".join(deleted).encode("utf-8"), capsys)


def test_deep_nesting(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _check(workdir, ("[" * 5000 + "]" * 5000).encode(), capsys)
    _check(workdir, ("a:\n" + "".join(" " * i + "b:\n" for i in range(1, 300))).encode(), capsys)
