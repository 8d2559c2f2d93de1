"""The generated test suite: deterministic, complete, clean, and passing on generated machines."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from exo_spec.codegen import render
from exo_spec.codegen.source import header_lines
from exo_spec.codegen.tests_gen import render_tests
from exo_spec.model.cells import cell_rows
from exo_spec.model.paths import edges, exo_trace, pairs
from exo_spec.spec import Spec, load_spec

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "spec" / "examples").glob("*.yaml"))
MODULE = "exo_spec.generated.runner_machine"


def _load(path: Path) -> Spec:
    loaded = load_spec(path.relative_to(ROOT).as_posix() if path.is_relative_to(ROOT) else path)
    assert loaded.spec is not None, loaded.diagnostics
    return loaded.spec


def test_rendering_is_deterministic(runner_spec: Spec) -> None:
    assert render_tests(runner_spec, MODULE) == render_tests(runner_spec, MODULE)


@pytest.mark.parametrize("seed", ["0", "1", "4242"])
def test_rendering_ignores_the_hash_seed(seed: str) -> None:
    code = (
        "import hashlib, sys\n"
        "from exo_spec.spec import load_spec\n"
        "from exo_spec.codegen.tests_gen import render_tests\n"
        f"files = render_tests(load_spec(sys.argv[1]).spec, {MODULE!r})\n"
        "print(hashlib.sha256(repr(sorted(files.items())).encode()).hexdigest())\n"
    )
    env = dict(os.environ, PYTHONHASHSEED=seed)
    done = subprocess.run(
        [sys.executable, "-c", code, "spec/runner.yaml"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    files = render_tests(_load(ROOT / "spec" / "runner.yaml"), MODULE)
    assert done.stdout.strip() == hashlib.sha256(repr(sorted(files.items())).encode()).hexdigest()


def test_every_file_has_the_generated_header(runner_spec: Spec) -> None:
    files = render_tests(runner_spec, MODULE)
    assert sorted(files) == [
        "_runner_bindings.py",
        "test_runner_cells.py",
        "test_runner_nested.py",
        "test_runner_pairs.py",
        "test_runner_surface.py",
        "test_runner_trace.py",
        "test_runner_walk.py",
    ]
    for text in files.values():
        head = text.splitlines()[:4]
        assert head == header_lines(runner_spec)
        assert head[1] == f"# spec sha256: {runner_spec.sha256}"
        assert head[3] == "# @generated"


def test_cell_ids_are_unique_and_cover_every_state_and_task(runner_spec: Spec) -> None:
    rows = cell_rows(runner_spec)
    ids = [row.id for row in rows]
    assert len(ids) == len(set(ids))
    cells = {(row.state, row.step.task) for row in rows}
    assert cells == {(s.name, t) for s in runner_spec.cell_states() for t in runner_spec.tasks}
    text = render_tests(runner_spec, MODULE)["test_runner_cells.py"]
    for name in ids:
        assert f'    "{name}": (\n' in text
    assert "idle-LoadModel-has_group=1,weights_present=1-reject" in ids
    assert "ready-ChatCompletion-cancelled" in ids
    assert "running-ChatCompletion-defer" in ids


def test_every_transition_pair_is_driven(runner_spec: Spec) -> None:
    found, infeasible = pairs(runner_spec)
    expected = {
        (a.rule, a.result, b.rule, b.result)
        for a in edges(runner_spec)
        for b in edges(runner_spec)
        if b.rule.source == a.end
    }
    driven = {(p.first.task, p.second.task) for p in found}
    assert infeasible == ()
    assert len(found) == len(expected)
    assert ("ChatCompletion", "ChatCompletion") in driven


def test_exo_trace_is_the_one_exo_asserts(runner_spec: Spec) -> None:
    trace = exo_trace(runner_spec)
    assert trace is not None
    constants, path = trace
    assert constants == (("has_group", False),)
    events = [e for step in path for e in step.expect.events]
    life = [
        ("downloading", "idle"),
        ("loading", "loaded"),
        ("warming_up", "ready"),
        ("running", "ready"),
        ("running", "ready"),
        ("shutting_down", "shutdown"),
    ]
    expected: list[tuple[str | None, ...]] = []
    for via, to in life:
        expected += [
            ("task_status", "Running", None),
            ("runner_status", via, None),
            ("acknowledged",),
            ("task_status", "Complete", None),
            ("runner_status", to, None),
        ]
    assert events == expected


def test_a_bad_module_name_is_refused(runner_spec: Spec) -> None:
    with pytest.raises(ValueError, match="not a dotted Python name"):
        render_tests(runner_spec, "exo_spec_generated.runner-machine; import os")


def _stem(path: Path) -> str:
    return path.stem


def _write(spec: Spec, out: Path) -> None:
    for name, text in render(spec).items():
        path = out / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def _lint_tree(tmp_path: Path) -> Path:
    """A copy of the project's lint setup with ``generated/`` in a temporary directory."""
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    (tmp_path / "src").symlink_to(ROOT / "src")
    return tmp_path / "generated"


@pytest.mark.parametrize("spec_path", [ROOT / "spec" / "runner.yaml", *EXAMPLES], ids=_stem)
def test_generated_tests_pass_ruff(spec_path: Path, tmp_path: Path) -> None:
    _write(_load(spec_path), _lint_tree(tmp_path))
    ruff = str(Path(sys.executable).parent / "ruff")
    for command in (
        [ruff, "check", "generated/tests"],
        [ruff, "format", "--check", "generated/tests"],
    ):
        done = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, check=False)
        assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("spec_path", EXAMPLES, ids=_stem)
def test_generated_tests_pass_on_the_generated_machine(spec_path: Path, tmp_path: Path) -> None:
    """The runner's own suite runs from generated/; the example specs' suites run here."""
    out = tmp_path / "generated"
    _write(_load(spec_path), out)
    env = dict(os.environ, PYTHONPATH=str(out), PYTEST_DISABLE_PLUGIN_AUTOLOAD="1")
    (tmp_path / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    args = ["-q", "-p", "no:cacheprovider", "-c", str(tmp_path / "pytest.ini")]
    done = subprocess.run(
        [sys.executable, "-m", "pytest", *args, "--rootdir", str(tmp_path), str(out / "tests")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert " passed" in done.stdout
