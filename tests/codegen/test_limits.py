"""A small spec that asks for huge generated tests is refused at once (EXS303), not rendered."""

from __future__ import annotations

from pathlib import Path

import pytest

from exo_spec.cli import main
from exo_spec.codegen import generate
from exo_spec.codegen.limits import MAX_CELLS, MAX_GUARDS, MAX_PAIRS, _transitions, size_problems
from exo_spec.model.paths import edges
from exo_spec.spec import load_spec

ROOT = Path(__file__).resolve().parents[2]
SPECS = [ROOT / "spec" / "runner.yaml", *sorted((ROOT / "spec" / "examples").glob("*.yaml"))]
EVENTS = """events:
  accept: [TaskStatusUpdated(Running), TaskAcknowledged]
  success: [TaskStatusUpdated(Complete), RunnerStatusUpdated(to)]
  cancelled: [TaskStatusUpdated(Cancelled), RunnerStatusUpdated(to)]
  failure: [TaskStatusUpdated(Failed), RunnerStatusUpdated(on_error)]
  reject: [TaskStatusUpdated(Failed)]
"""


def _wide(n: int) -> str:
    """``n`` states, each the target of its own task sent from anywhere: n**2 transitions."""
    states = "".join(f"  s{i}: {{status: S{i}}}\n" for i in range(n))
    tasks = "".join(f'  T{i}: [{{from: "*", to: s{i}}}]\n' for i in range(n))
    return (
        "version: 1\nmachine: wide\ninitial: s0\nstates:\n"
        + states
        + "  broken: {status: Broken}\n  dead: {status: Dead, final: true}\n"
        + 'tasks:\n  Kill: [{from: "*", to: dead}]\n  Break: [{from: s0, to: broken}]\n'
        + tasks
        + "on_error: broken\n"
        + EVENTS
    )


def _guarded(n: int) -> str:
    """The runner spec with ``n`` more guards, all needed by one rule."""
    text = (ROOT / "spec" / "runner.yaml").read_text(encoding="utf-8")
    guards = "".join(f"  g{i}: a guard\n" for i in range(n))
    when = " and ".join(f"g{i}" for i in range(n))
    text = text.replace("guards:\n", "guards:\n" + guards, 1)
    return text.replace("tasks:\n", f"tasks:\n  Many:\n    - {{from: idle, when: {when}}}\n", 1)


@pytest.mark.parametrize("spec", SPECS, ids=[p.stem for p in SPECS])
def test_the_count_is_the_generators_own(spec: Path) -> None:
    loaded = load_spec(spec).spec
    assert loaded is not None
    assert sorted(_transitions(loaded)) == sorted((e.rule.source, e.end) for e in edges(loaded))
    assert list(size_problems(loaded)) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (_wide(30), f"at most {MAX_PAIRS} can be generated"),
        (_guarded(8), f"at most {MAX_CELLS} can be generated"),
        (_guarded(26), f"at most {MAX_GUARDS} guards can be generated"),
    ],
    ids=["30 states from anywhere", "10 guards", "28 guards"],
)
def test_a_spec_too_large_to_generate_is_refused_at_once(
    tmp_path: Path, text: str, expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "big.yaml"
    path.write_text(text, encoding="utf-8")
    result = generate(path, tmp_path / "out")  # before: minutes to hours, and gigabytes
    assert [d.code for d in result.diagnostics] == ["EXS303"]
    assert expected in result.diagnostics[0].message
    assert not (tmp_path / "out").exists()
    assert main(["check", str(path)]) == 1
    assert "EXS303" in capsys.readouterr().out
