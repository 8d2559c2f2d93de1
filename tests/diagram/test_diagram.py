"""Diagrams draw exactly the spec's edges: ``exo-spec diagram`` (transitions' Mermaid and
Graphviz backends) and the Mermaid in ``generated/<machine>.md`` agree with the rules."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from exo_spec.cli import main
from exo_spec.codegen.docs_gen import render_docs
from exo_spec.diagram import DiagramError, draw
from exo_spec.spec import Spec, load_spec

ROOT = Path(__file__).parents[2]
SPECS = [*sorted((ROOT / "spec" / "examples").glob("*.yaml")), ROOT / "spec" / "runner.yaml"]

Edge = tuple[str, str, str]  # source, dest, label (a task and its guard, or an action's end)


def _load(path: Path) -> Spec:
    result = load_spec(path)
    assert result.spec is not None, result.diagnostics
    return result.spec


def expected_edges(spec: Spec) -> set[Edge]:
    """The spec's edges, read from its rules: with ``via``, the task's edge to ``via`` and the
    action's ends from there; without, the task's edge to the target and a failure's edge."""
    out: set[Edge] = set()
    for rule in spec.rules:
        action = spec.action(rule.action) if rule.action is not None else None
        task = rule.task + (f" [{rule.when}]" if rule.when_text is not None else "")
        if rule.via is not None:
            out.add((rule.source, rule.via, task))
            out.add((rule.via, rule.target, "done"))
            if action is not None:
                if action.cancellable:
                    out.add((rule.via, rule.target, "cancelled"))
                if spec.on_error != rule.via:
                    out.add((rule.via, spec.on_error, "error"))
        else:
            out.add((rule.source, rule.target, task))
            if action is not None and spec.on_error not in (rule.source, rule.target):
                out.add((rule.source, spec.on_error, "error"))
    return out


def _trigger(label: str) -> str:
    """The label without the action the docs add (``Load [guard] / load`` -> ``Load [guard]``)."""
    return label.strip().partition(" / ")[0]


def mermaid_edges(text: str, prefix: str = "") -> list[Edge]:
    found: list[Edge] = []
    for match in re.finditer(r"^\s*(\w+) --> (\w+): (.+)$", text, re.MULTILINE):
        source, dest = (name.removeprefix(prefix) for name in match.group(1, 2))
        found += [(source, dest, _trigger(label)) for label in match.group(3).split(" | ")]
    return found


def dot_edges(text: str) -> list[Edge]:
    found: list[Edge] = []
    pattern = r'^\s*(\w+) -> (\w+) \[label=(?:"((?:[^"\\]|\\.)*)"|(\w+))'
    for match in re.finditer(pattern, text, re.MULTILINE):
        label = match.group(3) if match.group(3) is not None else match.group(4)
        found += [(match[1], match[2], _trigger(part)) for part in label.split(" | ")]
    return found


@pytest.mark.parametrize("path", SPECS, ids=lambda p: p.stem)
def test_mermaid_has_exactly_the_specs_edges(path: Path) -> None:
    spec = _load(path)
    drawn = mermaid_edges(draw(spec, "mermaid"))
    assert len(drawn) == len(set(drawn))
    assert set(drawn) == expected_edges(spec)


@pytest.mark.parametrize("path", SPECS, ids=lambda p: p.stem)
def test_dot_has_exactly_the_specs_edges(path: Path) -> None:
    spec = _load(path)
    text = draw(spec, "dot")
    assert text.startswith(f"digraph {spec.machine} {{")
    drawn = dot_edges(text)
    assert len(drawn) == len(set(drawn))
    assert set(drawn) == expected_edges(spec)


@pytest.mark.parametrize("path", SPECS, ids=lambda p: p.stem)
def test_generated_docs_draw_exactly_the_specs_edges(path: Path) -> None:
    spec = _load(path)
    drawn = mermaid_edges(render_docs(spec), prefix="s_")
    assert len(drawn) == len(set(drawn))
    assert set(drawn) == expected_edges(spec)


def test_a_rule_without_via_draws_one_edge() -> None:
    """traffic_light's Repair (broken -> red, no via): one edge, no self-loop, no stray done."""
    spec = _load(ROOT / "spec" / "examples" / "traffic_light.yaml")
    for text, prefix in ((draw(spec, "mermaid"), ""), (render_docs(spec), "s_")):
        from_broken = [e for e in mermaid_edges(text, prefix) if e[0] == "broken"]
        assert sorted(from_broken) == [("broken", "dark", "PowerOff"), ("broken", "red", "Repair")]
        assert not [e for e in mermaid_edges(text, prefix) if e[0] == e[1]]
        assert "done" not in {e[2] for e in mermaid_edges(text, prefix) if e[0] == "red"}


def test_mermaid_marks_initial_final_and_transient_states() -> None:
    spec = _load(ROOT / "spec" / "examples" / "traffic_light.yaml")
    text = draw(spec, "mermaid")
    assert "stateDiagram-v2" in text
    assert "[*] --> red" in text
    assert "dark --> [*]" in text
    assert "Class amber s_transient" in text
    assert "Class red s_default" in text


def test_svg_without_graphviz_binary_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda _name: None)
    spec = _load(ROOT / "spec" / "runner.yaml")
    with pytest.raises(DiagramError, match="Graphviz's `dot` program"):
        draw(spec, "svg")


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot program is not installed")
def test_svg_with_graphviz_binary() -> None:
    assert "<svg" in draw(_load(ROOT / "spec" / "runner.yaml"), "svg")


def test_cli_writes_each_format(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = str(ROOT / "spec" / "examples" / "job_queue.yaml")
    assert main(["diagram", spec]) == 0
    assert "stateDiagram-v2" in capsys.readouterr().out
    out = tmp_path / "queue.dot"
    assert main(["diagram", spec, "-o", str(out)]) == 0  # the format from the suffix
    assert out.read_text(encoding="utf-8").startswith("digraph")
    assert main(["diagram", spec, "--format", "mermaid", "-o", str(out)]) == 0
    assert "stateDiagram-v2" in out.read_text(encoding="utf-8")
    assert main(["diagram", spec, "-o", str(tmp_path / "no" / "such" / "dir.mmd")]) == 2
    assert "cannot write" in capsys.readouterr().err


def test_cli_on_a_broken_spec(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["diagram", str(tmp_path / "none.yaml")]) == 2
    bad = ROOT / "tests" / "check" / "mutants" / "seed002_load_only_from_idle.yaml"
    assert main(["diagram", str(bad)]) == 1  # drawn, and the findings said
    out, err = capsys.readouterr()
    assert "stateDiagram-v2" in out
    assert "EXS202" in err
