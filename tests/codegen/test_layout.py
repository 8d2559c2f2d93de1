"""Where generated files go: a module per spec, several specs in one folder, the module's name
and root from the command line or ``[[tool.exo-spec.generate]]``, and the tests finding it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from exo_spec.cli import main
from exo_spec.codegen.generate import check_generated, generate, quick_check_generated

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "spec" / "examples"


def _project(tmp_path: Path, *names: str) -> Path:
    """A user's project: the named example specs under ``spec/``, nothing generated yet."""
    (tmp_path / "spec").mkdir()
    for name in names:
        shutil.copy(EXAMPLES / f"{name}.yaml", tmp_path / "spec" / f"{name}.yaml")
    return tmp_path


def _tree(folder: Path) -> set[str]:
    return {
        p.relative_to(folder).as_posix()
        for p in folder.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }


def _pytest(
    project: Path, *paths: str, pythonpath: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """pytest as a user starts it in their project: no configuration, and no PYTHONPATH unless
    ``pythonpath`` (where their package is) is given."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    if pythonpath is not None:
        env["PYTHONPATH"] = str(pythonpath)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *paths],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def test_two_specs_in_one_folder_share_no_file_and_are_both_fresh(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = _project(tmp_path, "traffic_light", "job_queue")
    monkeypatch.chdir(project)
    out = Path("generated")
    first = generate(Path("spec/traffic_light.yaml"), out)
    second = generate(Path("spec/job_queue.yaml"), out)
    assert first.ok
    assert second.ok
    mine = {p.as_posix() for p in first.written}
    theirs = {p.as_posix() for p in second.written}
    assert not mine & theirs
    assert "generated/traffic_light_machine.py" in mine
    assert "generated/job_machine.py" in theirs
    assert not any(name.endswith("__init__.py") for name in _tree(project / "generated"))
    for spec in ("spec/traffic_light.yaml", "spec/job_queue.yaml"):
        assert check_generated(Path(spec), out) == []
        assert quick_check_generated(Path(spec), out) == []
        assert main(["generate", "--spec", spec, "--check"]) == 0
        assert main(["check", spec]) == 0
    # regenerating one leaves the other's files alone, and both stay fresh
    again = generate(Path("spec/traffic_light.yaml"), out)
    assert again.written == ()
    assert check_generated(Path("spec/job_queue.yaml"), out) == []


def test_the_generated_tests_find_their_machines_however_pytest_starts(tmp_path: Path) -> None:
    project = _project(tmp_path, "traffic_light", "job_queue")
    for name in ("traffic_light", "job_queue"):
        spec, out = project / "spec" / f"{name}.yaml", project / "generated"
        assert generate(spec, out).ok
    done = _pytest(project, "generated/tests")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert " passed" in done.stdout
    inside = _pytest(project / "generated" / "tests", ".")
    assert inside.returncode == 0, inside.stdout[-3000:] + inside.stderr[-3000:]


def test_module_and_root_place_the_machine_in_a_package(tmp_path: Path) -> None:
    project = _project(tmp_path, "traffic_light")
    package = project / "src" / "lights"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text('"""A user\'s package."""\n')
    where = ["--out", str(project / "generated"), "--module", "lights.machine"]
    where += ["--module-root", str(project / "src")]
    spec = str(project / "spec" / "traffic_light.yaml")
    assert main(["generate", "--spec", spec, *where]) == 0
    assert (package / "machine.py").is_file()
    assert not (project / "generated" / "traffic_light_machine.py").exists()
    bindings = (project / "generated" / "tests" / "_traffic_light_bindings.py").read_text()
    assert "from lights.machine import (" in bindings
    assert "sys.path" not in bindings  # an installed package: nothing to put on the path
    assert main(["generate", "--spec", spec, *where, "--check"]) == 0
    # without the module flags, the check looks for the default module, which is missing
    assert main(["generate", "--spec", spec, "--out", str(project / "generated"), "--check"]) == 1
    done = _pytest(project, "generated/tests", pythonpath=project / "src")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]


def test_the_configured_specs_are_generated_checked_and_linted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    project = _project(tmp_path, "traffic_light", "job_queue")
    (project / "pyproject.toml").write_text(
        "[tool.exo-spec]\n"
        "[[tool.exo-spec.generate]]\n"
        'spec = "spec/traffic_light.yaml"\n'
        'module = "lights_machine"\n'
        "[[tool.exo-spec.generate]]\n"
        'spec = "spec/job_queue.yaml"\n'
        'out = "gen"\n'
    )
    monkeypatch.chdir(project)
    assert main(["generate"]) == 0
    assert {"lights_machine.py", "traffic_light.md"} <= _tree(project / "generated")
    assert "job_machine.py" in _tree(project / "gen")
    assert main(["generate", "--check"]) == 0
    assert main(["check", "spec"]) == 0
    machine = project / "generated" / "lights_machine.py"
    machine.write_text(machine.read_text() + "# edited\n")
    capsys.readouterr()
    assert main(["generate", "--check"]) == 1
    assert "lights_machine.py" in capsys.readouterr().out
    assert main(["check", "spec/traffic_light.yaml"]) == 1
    found = capsys.readouterr().out
    assert "EXS301" in found
    assert "--module lights_machine" in found


@pytest.mark.parametrize("name", ["lights-machine", "1lights", "class", "a..b", "pkg.", "ok.if"])
def test_a_module_name_that_python_cannot_import_is_a_usage_error(
    tmp_path: Path, name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    project = _project(tmp_path, "traffic_light")
    spec = str(project / "spec" / "traffic_light.yaml")
    out = project / "generated"
    assert main(["generate", "--spec", spec, "--out", str(out), "--module", name]) == 2
    err = capsys.readouterr().err
    assert f"--module {name!r} is not a dotted Python module name" in err
    assert "Traceback" not in err
    assert not out.exists()


def test_two_specs_with_the_same_machine_name_cannot_share_a_folder(tmp_path: Path) -> None:
    project = _project(tmp_path, "traffic_light")
    other = project / "spec" / "other_light.yaml"
    other.write_text((project / "spec" / "traffic_light.yaml").read_text())
    out = project / "generated"
    assert generate(project / "spec" / "traffic_light.yaml", out).ok
    before = {name: (out / name).read_bytes() for name in _tree(out)}
    result = generate(other, out)
    assert not result.ok
    assert result.written == ()
    [first] = result.diagnostics
    assert first.code == "EXS302"
    assert "was generated from spec/traffic_light.yaml" in first.message
    assert "another machine: name" in first.message
    assert "(and 8 more of its files)" in first.message
    assert {name: (out / name).read_bytes() for name in _tree(out)} == before


@pytest.mark.parametrize(
    ("table", "wanted"),
    [
        ('[[tool.exo-spec.generate]]\nout = "generated"\n', "spec is missing"),
        ('[[tool.exo-spec.generate]]\nspec = "spec/a.yaml"\nmodel = "x"\n', "unknown key 'model'"),
        ("[[tool.exo-spec.generate]]\nspec = 3\n", "spec must be a non-empty string"),
        ('[tool.exo-spec]\ngenerate = "spec/a.yaml"\n', "generate must be a list of tables"),
    ],
)
def test_a_bad_generate_table_is_named(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    table: str,
    wanted: str,
) -> None:
    project = _project(tmp_path, "traffic_light")
    (project / "pyproject.toml").write_text(table)
    monkeypatch.chdir(project)
    assert main(["generate"]) == 2
    err = capsys.readouterr().err
    assert wanted in err
    assert "pyproject.toml" in err
    assert not (project / "generated").exists()


def test_with_no_path_check_finds_the_specs_under_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    project = _project(tmp_path, "traffic_light", "job_queue")
    monkeypatch.chdir(project)
    assert main(["check"]) == 0
    broken = project / "spec" / "job_queue.yaml"
    broken.write_text(broken.read_text().replace("do: work", "do: wrok"))
    capsys.readouterr()
    assert main(["check"]) == 1
    out = capsys.readouterr().out
    assert "spec/job_queue.yaml" in out
    assert "wrok" in out


def test_with_no_spec_and_no_configuration_generate_says_what_to_pass(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    project = _project(tmp_path, "traffic_light")
    monkeypatch.chdir(project)
    assert main(["generate"]) == 2
    err = capsys.readouterr().err
    assert "pass --spec PATH" in err
    assert "[[tool.exo-spec.generate]]" in err
    assert "Traceback" not in err
    assert not (project / "generated").exists()


def _readme_block(after: str, fence: str) -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index(f"```{fence}\n", text.index(after)) + len(fence) + 4
    return text[start : text.index("```", start)]


def test_the_readme_walkthrough_of_a_users_own_spec_runs(tmp_path: Path) -> None:
    """The README's spec/upload.yaml checks clean, generates, and its Python example runs."""
    (tmp_path / "spec").mkdir()
    spec = tmp_path / "spec" / "upload.yaml"
    spec.write_text(_readme_block("A spec of your own", "yaml"))
    assert main(["check", str(spec)]) == 0
    assert generate(spec, tmp_path / "generated").ok
    program = tmp_path / "app.py"
    program.write_text(_readme_block("Using a generated machine", "python"))
    done = subprocess.run(
        [sys.executable, str(program)],
        cwd=tmp_path,
        env=dict(os.environ, PYTHONPATH=str(tmp_path / "generated")),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "task Send rejected in state done" in done.stdout


def test_a_file_generated_from_another_version_of_the_spec_is_named(tmp_path: Path) -> None:
    project = _project(tmp_path, "traffic_light", "job_queue")
    out = project / "generated"
    for name in ("traffic_light", "job_queue"):
        assert generate(project / "spec" / f"{name}.yaml", out).ok
    victim = out / "tests" / "test_traffic_light_walk.py"
    lines = victim.read_text(encoding="utf-8").split("\n")
    [at] = [i for i, line in enumerate(lines) if line.startswith("# spec sha256: ")]
    lines[at] = "# spec sha256: " + "0" * 64
    victim.write_text("\n".join(lines), encoding="utf-8")
    found = quick_check_generated(project / "spec" / "traffic_light.yaml", out)
    assert [d.code for d in found] == ["EXS301"]
    assert "test_traffic_light_walk.py was generated from another version" in found[0].message
    # the other spec's files are not this spec's business
    assert quick_check_generated(project / "spec" / "job_queue.yaml", out) == []
