"""The mutation check: every planted bug in the runner machine is caught by its tests."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TOOL = ROOT / "tools" / "mutation" / "mutate_machine.py"
MACHINE = ROOT / "src" / "exo_spec" / "generated" / "runner_machine.py"
BASE = ROOT / "src" / "exo_spec" / "machine.py"


def test_every_mutation_applies_to_the_machine_or_its_base(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(TOOL.parent))
    from machine_mutations import MUTATIONS

    paths = {"machine": MACHINE, "base": BASE}
    sources = {target: path.read_text(encoding="utf-8") for target, path in paths.items()}
    assert len(MUTATIONS) >= 20
    assert len({m.name for m in MUTATIONS}) == len(MUTATIONS)
    assert {m.target for m in MUTATIONS} == {"machine", "base"}
    mutants = {m.name: (m.target, m.apply(sources[m.target])) for m in MUTATIONS}
    assert len(set(mutants.values())) == len(MUTATIONS)
    for target, text in mutants.values():
        compile(text, str(paths[target]), "exec")


def test_a_missing_anchor_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(TOOL.parent))
    from machine_mutations import MUTATIONS, MutationNotAppliedError

    with pytest.raises(MutationNotAppliedError, match="did not apply"):
        MUTATIONS[0].apply("class RunnerMachine: pass\n")


def test_generated_tests_kill_the_mutants() -> None:
    done = subprocess.run(
        [sys.executable, str(TOOL), "--root", str(ROOT), "--workers", "2"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    score = re.search(r"mutation score: (\d+)/(\d+)", done.stdout)
    assert score is not None, done.stdout
    killed, total = int(score[1]), int(score[2])
    assert total >= 20
    assert killed / total >= 0.95, done.stdout
    assert "did not apply" not in done.stdout + done.stderr
