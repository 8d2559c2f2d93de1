"""Hostile spec inputs: each one is a clear diagnostic, never a crash, a hang or a huge message.

The inputs are built here, in ``tmp_path``; none is committed. A command that could crash the
interpreter (deep YAML) or block (a FIFO) runs in a subprocess, so a regression fails the test
instead of taking the test run down with it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from exo_spec.check import lint
from exo_spec.check.lint import MAX_PER_CODE
from exo_spec.spec import load_spec, load_spec_text
from exo_spec.spec.reading import MAX_BYTES, MAX_DEPTH, MAX_NODES, expanded_size

ROOT = Path(__file__).resolve().parents[2]
SPEC_TEXT = (ROOT / "spec" / "runner.yaml").read_text(encoding="utf-8")
# a bound on a command that must end; reaching it means it hung (no timing is asserted)
HANG = 120


def _check(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "exo_spec", "check", str(path)],
        capture_output=True,
        text=True,
        timeout=HANG,
        cwd=ROOT,
        check=False,
    )


DEEP = {
    "flow lists": "[" * 25_000 + "]" * 25_000,
    "flow mappings": "{a: " * 25_000 + "1" + "}" * 25_000,
    "block lists": "- " * 25_000 + "x\n",
    "block mappings": "".join(" " * i + "a:\n" for i in range(300)) + " " * 300 + "x\n",
}


@pytest.mark.parametrize("text", DEEP.values(), ids=DEEP.keys())
def test_deep_yaml_is_refused_before_the_parser_overflows(tmp_path: Path, text: str) -> None:
    path = tmp_path / "deep.yaml"
    path.write_text(f"version: 1\nnotes: {text}\n" if text[0] in "[{" else text, encoding="utf-8")
    done = _check(path)
    assert done.returncode == 1, done.stderr  # a segfault is -11
    assert f"EXS008 the YAML nests more than {MAX_DEPTH} levels" in done.stdout
    assert "Traceback" not in done.stderr


def test_nesting_at_the_bound_still_loads() -> None:
    text = SPEC_TEXT.replace(
        "machine: runner\n",
        "machine: runner\nnotes: " + "[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1) + "\n",
    )
    codes = {d.code for d in load_spec_text(text).diagnostics}
    assert "EXS008" not in codes


def _amplified(n: int) -> str:
    """N tasks, each aliasing one list of N copies of one rule: N*N rules from a few KB."""
    rule = "&rule {from: idle, do: download, to: idle}"
    rules = "&rules [" + ", ".join([rule, *["*rule"] * (n - 1)]) + "]"
    tasks = "".join(f"  T{i}: *rules\n" if i else f"  T0: {rules}\n" for i in range(n))
    return SPEC_TEXT.replace("tasks:\n", "tasks:\n" + tasks, 1)


def test_alias_amplification_is_bounded_with_one_clear_error() -> None:
    text = _amplified(400)  # 160,000 rules once expanded, from about 12 KB
    assert len(text) < 16_000
    diagnostics = load_spec_text(text, "amp.yaml").diagnostics
    assert [d.code for d in diagnostics] == ["EXS008"]
    assert "aliases" in diagnostics[0].message
    assert f"more than {MAX_NODES} YAML nodes" in diagnostics[0].message


def test_exponential_aliases_are_measured_without_expanding_them() -> None:
    levels = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    levels += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 30)]
    text = "\n".join(levels) + "\n"  # 10**30 nodes once expanded
    assert [d.code for d in load_spec_text(text).diagnostics] == ["EXS008"]


def test_expanded_size_counts_aliases_as_copies() -> None:
    import yaml

    root = yaml.compose("a: &x [1, 2]\nb: *x\nc: [*x, *x]\n")
    assert root is not None
    # mapping + 3 keys + 4 copies of (list + 2 items) + the list under c
    assert expanded_size(root, 10_000) == 1 + 3 + 4 * 3 + 1
    assert expanded_size(root, 5) == 6  # counted only up to just past the bound


def test_repeated_findings_of_one_rule_are_capped(tmp_path: Path) -> None:
    n = MAX_PER_CODE + 70
    tasks = "".join(f"  T{i}: [{{from: idle, do: nosuch{i}, to: idle}}]\n" for i in range(n))
    path = tmp_path / "many.yaml"
    path.write_text(SPEC_TEXT.replace("tasks:\n", "tasks:\n" + tasks, 1), encoding="utf-8")
    found = [d for d in lint(path) if d.code == "EXS103"]
    assert len(found) == MAX_PER_CODE + 1
    summary = [d for d in found if "not shown" in d.message]
    assert len(summary) == 1
    assert summary[0].message.startswith(f"{n - MAX_PER_CODE} more EXS103 findings not shown")


def test_a_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    if not hasattr(os, "mkfifo"):
        pytest.skip("no FIFOs on this platform")
    fifo = tmp_path / "spec.yaml"
    os.mkfifo(fifo)
    done = _check(fifo)  # before: blocked forever in open()
    assert done.returncode == 2
    assert "EXS000 cannot read the spec: it is a FIFO (named pipe), not a regular file" in (
        done.stdout
    )


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/null"])
def test_a_device_is_refused(device: str) -> None:
    if not Path(device).exists():
        pytest.skip(f"no {device} here")
    [diagnostic] = load_spec(device).diagnostics
    assert diagnostic.code == "EXS000"
    assert "a character device, not a regular file" in diagnostic.message


def test_a_directory_is_refused(tmp_path: Path) -> None:
    [diagnostic] = load_spec(tmp_path).diagnostics
    assert diagnostic.code == "EXS000"


def test_a_huge_file_is_refused_after_reading_a_bounded_prefix(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    with path.open("wb") as handle:  # sparse: 4 GiB that take no disk
        handle.truncate(4 << 30)
    [diagnostic] = load_spec(path).diagnostics
    assert diagnostic.code == "EXS008"
    assert f"larger than {MAX_BYTES} bytes" in diagnostic.message


@pytest.mark.parametrize(
    ("text", "line", "col"),
    [
        ("version: 1\nmachine: x\x00y\n", 2, 11),
        ("version: 1\n# ééé\nmachine: \u00e9x\x00y\n", 3, 12),
        ("version: 1\nmachine: x\x07y\n", 2, 11),
    ],
)
def test_a_control_character_is_located_at_its_line_and_column(
    text: str, line: int, col: int
) -> None:
    [diagnostic] = load_spec_text(text).diagnostics
    assert diagnostic.code == "EXS001"
    assert (diagnostic.loc.line, diagnostic.loc.col) == (line, col)
    assert "U+00" in diagnostic.message


def test_a_huge_guard_expression_is_not_echoed_in_full() -> None:
    when = " and ".join(["has_group"] * 50_000) + " and"
    text = SPEC_TEXT.replace(
        "when: has_group, via", f"when: '{when}', via"
    )  # 50,000 terms and a dangling 'and'
    found = [d for d in load_spec_text(text).diagnostics if d.code == "EXS104"]
    assert found
    assert all(len(d.message) < 400 for d in found)
    assert "more characters" in found[0].message


def test_a_huge_value_is_not_echoed_in_full() -> None:
    text = SPEC_TEXT.replace("version: 1\n", "version: " + "k" * 100_000 + "\n")
    [diagnostic] = load_spec_text(text).diagnostics
    assert diagnostic.code == "EXS003"
    assert len(diagnostic.message) < 400


@pytest.mark.parametrize(
    ("text", "line", "col", "parts"),
    [
        (
            "version: 1\nstates: {idle: 1\nmachine: [\n",
            3,
            8,
            (
                "did not find expected ',' or '}'",
                "while parsing a flow mapping at line 2, column 9",
            ),
        ),
        (
            "version: 1\nstates: [1, 2\n",
            3,
            1,
            ("expected ',' or ']'", "while parsing a flow sequence at line 2, column 9"),
        ),
    ],
)
def test_a_yaml_error_keeps_its_context(
    text: str, line: int, col: int, parts: tuple[str, ...]
) -> None:
    [diagnostic] = load_spec_text(text).diagnostics
    assert diagnostic.code == "EXS001"
    assert (diagnostic.loc.line, diagnostic.loc.col) == (line, col)
    for part in parts:
        assert part in diagnostic.message


@pytest.mark.parametrize(
    ("text", "line", "col"),
    [
        ("version: 1\nstates:\n\tidle: {}\n", 3, 1),
        ("version: 1\nstates:\n  a: 1\n  \tb: 2\n", 4, 3),
    ],
)
def test_a_tab_is_called_a_tab(text: str, line: int, col: int) -> None:
    [diagnostic] = load_spec_text(text).diagnostics
    assert diagnostic.code == "EXS001"
    assert (diagnostic.loc.line, diagnostic.loc.col) == (line, col)
    assert f"a tab at line {line}, column {col}" in diagnostic.message
    assert "indent with spaces" in diagnostic.message


def test_a_byte_that_is_not_utf8_is_placed_at_its_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes("version: 1\n# é\nmachine: caf".encode() + b"\xe9\n")
    [diagnostic] = load_spec(path).diagnostics
    assert diagnostic.code == "EXS001"
    assert (diagnostic.loc.line, diagnostic.loc.col) == (3, 13)
    assert "0xE9" in diagnostic.message
