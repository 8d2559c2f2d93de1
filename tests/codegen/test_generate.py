"""exo-spec generate: determinism, refusal of bad specs, --check, and the committed output."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from exo_spec.cli import main
from exo_spec.codegen import check_generated, generate, render
from exo_spec.spec import load_spec

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "spec" / "examples").glob("*.yaml"))

_DUMP = (
    "import sys, hashlib; from exo_spec.codegen import render; from exo_spec.spec import "
    "load_spec; files = render(load_spec(sys.argv[1]).spec); "
    "print(hashlib.sha256(repr(sorted(files.items())).encode()).hexdigest())"
)


def test_output_is_identical_across_hash_seeds() -> None:
    digests = set()
    for seed in ("0", "12345"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        done = subprocess.run(
            [sys.executable, "-c", _DUMP, "spec/runner.yaml"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        digests.add(done.stdout.strip())
    assert len(digests) == 1


def test_generated_header_has_no_timestamp() -> None:
    spec = load_spec("spec/runner.yaml").spec
    assert spec is not None
    files = render(spec)
    assert not re.search(r"\b20\d\d-\d\d-\d\d\b", "".join(files.values()))
    machine = files["runner_machine.py"]
    assert "DO NOT EDIT" in machine
    assert "@generated" in machine
    assert spec.sha256 in machine
    assert "spec/runner.yaml" in machine


def test_committed_output_is_fresh() -> None:
    fresh = check_generated(
        Path("spec/runner.yaml"),
        ROOT / "generated",
        module="exo_spec.generated.runner_machine",
        module_root=ROOT / "src",
    )
    assert fresh == []


HOSTILE = [
    'x"; import os; "',
    "__import__",
    "a\nb",
]


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_state_name_is_refused(tmp_path: Path, name: str) -> None:
    text = (ROOT / "spec" / "runner.yaml").read_text()
    quoted = json.dumps(name)  # a YAML double-quoted scalar
    text = text.replace("  failed: {status: RunnerFailed}", f"  {quoted}: {{status: RunnerFailed}}")
    spec_path = tmp_path / "hostile.yaml"
    spec_path.write_text(text)
    result = generate(spec_path, tmp_path / "out")
    assert not result.ok
    assert any(d.code in {"EXS005", "EXS302"} for d in result.diagnostics)
    assert not (tmp_path / "out").exists()


def test_task_colliding_with_machine_attribute_is_refused(tmp_path: Path) -> None:
    text = (ROOT / "spec" / "runner.yaml").read_text().replace("CancelTask", "dispatch")
    spec_path = tmp_path / "collide.yaml"
    spec_path.write_text(text)
    result = generate(spec_path, tmp_path / "out")
    assert [d.code for d in result.diagnostics] == ["EXS302"]
    assert "transitions.Machine" in result.diagnostics[0].message
    assert not (tmp_path / "out").exists()


def test_check_detects_drift(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A copy of the project (spec/ beside generated/) is fresh until a generated file changes."""
    out = tmp_path / "generated"
    shutil.copytree(ROOT / "generated", out, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "spec", tmp_path / "spec")
    root = tmp_path / "src"
    (root / "exo_spec" / "generated").mkdir(parents=True)
    shutil.copy(ROOT / "src/exo_spec/generated/runner_machine.py", root / "exo_spec/generated")
    spec = str(tmp_path / "spec" / "runner.yaml")
    where = ["--out", str(out), "--module", "exo_spec.generated.runner_machine"]
    where += ["--module-root", str(root)]
    assert main(["generate", "--spec", spec, *where, "--check"]) == 0
    machine = root / "exo_spec" / "generated" / "runner_machine.py"
    machine.write_text(machine.read_text().replace("emit_initial: bool = True", "emit_initial=0"))
    capsys.readouterr()
    assert main(["generate", "--spec", spec, *where, "--check"]) == 1
    captured = capsys.readouterr()
    assert "-        emit_initial=0" in captured.out
    assert "+        emit_initial: bool = True," in captured.out
    assert "stale" in captured.err
    stale = check_generated(
        Path(spec), out, module="exo_spec.generated.runner_machine", module_root=root
    )
    assert [d.code for d in stale] == ["EXS301"]
    assert "--module exo_spec.generated.runner_machine --module-root" in stale[0].message


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_examples_generate(tmp_path: Path, example: Path) -> None:
    result = generate(example, tmp_path)
    if not result.ok:  # an example written to show a linter finding is refused, not generated
        assert result.written == ()
        return
    module = next(p for p in result.written if p.name.endswith("_machine.py"))
    compile(module.read_text(), str(module), "exec")


def test_generated_machine_ships_in_the_package_and_imports_outside_the_repo(
    tmp_path: Path,
) -> None:
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert 'packages = ["src/exo_spec"]' in pyproject
    assert "exo_spec_generated" not in pyproject
    done = subprocess.run(
        [sys.executable, "-c", "import exo_spec.generated.runner_machine as m; print(m.__name__)"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.strip() == "exo_spec.generated.runner_machine"
