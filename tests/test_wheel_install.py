"""The wheel works installed, not only from a checkout: the generated machine, the embedded model
and the command line ship in it, and `exo-spec conformance` runs from a fresh environment.

The core install (no extras: only the pure-Python dependencies of the lock) checks and draws
specs, and each command that needs an extra names it in one line; the pytest plugin it
registers does not break a project's pytest without hypothesis."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _uv() -> str:
    local = ROOT / ".tools" / "bin" / "uv"
    found = str(local) if local.exists() else shutil.which("uv")
    if found is None:
        pytest.skip("uv is not installed (make test installs it into .tools/)")
    return found


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [_uv(), "build", "--wheel", "--offline", "-q", "-o", str(tmp), str(ROOT)],
        check=True,
        capture_output=True,
    )
    (built,) = tmp.glob("exo_spec-*.whl")
    return built


def _purelib(python: Path) -> Path:
    return Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    )


@pytest.fixture(scope="module")
def fresh_venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A new virtual environment with only the built wheel installed; its dependencies are
    reached through a path entry to this environment's site-packages (whose editable install
    of exo-spec is not activated, since .pth files are only read in site directories)."""
    uv = _uv()
    tmp = tmp_path_factory.mktemp("wheel")
    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run(
        [uv, "pip", "install", "-q", "--offline", "--no-deps", "--python", str(python), str(wheel)],
        check=True,
        capture_output=True,
    )
    Path(_purelib(python), "exo_spec_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return venv


PYTEST_ONLY = ("pytest", "_pytest", "py.py", "pluggy", "iniconfig", "packaging", "pygments")


@pytest.fixture(scope="module")
def core_venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The core install: the lock's dependencies without any extra or group (uv sync, offline
    from uv's cache), then the wheel. pytest alone (no hypothesis) is reached through a folder
    of links, so that the plugin the wheel registers is loaded as in a user's project."""
    uv = _uv()
    venv = tmp_path_factory.mktemp("core") / "venv"
    subprocess.run(
        [uv, "sync", "--locked", "--offline", "-q", "--no-default-groups", "--no-install-project"],
        check=True,
        capture_output=True,
        cwd=ROOT,
        env={**os.environ, "UV_PROJECT_ENVIRONMENT": str(venv)},
    )
    python = venv / "bin" / "python"
    subprocess.run(
        [uv, "pip", "install", "-q", "--offline", "--no-deps", "--python", str(python), str(wheel)],
        check=True,
        capture_output=True,
    )
    here = Path(sysconfig.get_paths()["purelib"])
    shim = venv.parent / "pytest-only"
    shim.mkdir()
    for entry in here.iterdir():
        if entry.name.split("-")[0] in PYTEST_ONLY:
            (shim / entry.name).symlink_to(entry)
    (_purelib(python) / "pytest_only.pth").write_text(f"{shim}\n")
    return venv


def _run(venv: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(venv / "bin" / args[0]), *args[1:]],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_installed_package_has_the_machine_and_the_model(fresh_venv: Path, tmp_path: Path) -> None:
    probe = (
        "import exo_spec, exo_spec.generated.runner_machine as m\n"
        "from exo_spec.engine.mlx_engine import EMBEDDED_MODEL_DIR\n"
        "print(exo_spec.__file__); print(m.__file__)\n"
        "print(sorted(p.name for p in EMBEDDED_MODEL_DIR.iterdir()))\n"
    )
    result = _run(fresh_venv, "python", "-c", probe, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    package, machine, files = result.stdout.splitlines()
    assert str(fresh_venv) in package
    assert str(ROOT) not in package
    assert str(fresh_venv) in machine
    assert "model.safetensors" in files
    assert "tokenizer.json" in files


def test_installed_cli_checks_and_runs_conformance(fresh_venv: Path, tmp_path: Path) -> None:
    spec = tmp_path / "runner.yaml"
    shutil.copy(ROOT / "spec" / "runner.yaml", spec)
    check = _run(fresh_venv, "exo-spec", "check", str(spec), cwd=tmp_path)
    assert check.returncode == 0, check.stdout + check.stderr
    conformance = _run(
        fresh_venv,
        "exo-spec",
        "conformance",
        "--runner",
        "exo_spec.runtime.runner:run",
        "--spec",
        str(spec),
        cwd=tmp_path,
    )
    assert conformance.returncode == 0, conformance.stdout[-2000:] + conformance.stderr[-2000:]
    assert conformance.stdout.splitlines()[-1].startswith("conformant")


def _size_mb(venv: Path) -> float:
    purelib = _purelib(venv / "bin" / "python")
    return sum(p.stat().st_size for p in purelib.rglob("*") if p.is_file()) / 2**20


def test_core_install_is_light(core_venv: Path, tmp_path: Path) -> None:
    probe = (
        "import importlib.util as u\n"
        "heavy = ['mlx', 'mlx_lm', 'huggingface_hub', 'hypothesis', 'numpy', 'transformers',"
        " 'fastapi', 'uvicorn', 'graphviz', 'tqdm']\n"
        "print([m for m in heavy if u.find_spec(m) is not None])\n"
    )
    result = _run(core_venv, "python", "-c", probe, cwd=tmp_path)
    assert result.stdout.strip() == "[]", result.stdout + result.stderr
    assert _size_mb(core_venv) < 20  # the core's own files, pytest's links excluded


def test_core_install_checks_draws_and_generates(core_venv: Path, tmp_path: Path) -> None:
    spec = tmp_path / "light.yaml"
    shutil.copy(ROOT / "spec" / "examples" / "traffic_light.yaml", spec)
    check = _run(core_venv, "exo-spec", "check", str(spec), cwd=tmp_path)
    assert check.returncode == 0, check.stdout + check.stderr
    shipped = _run(core_venv, "exo-spec", "check", str(tmp_path), cwd=tmp_path)
    assert shipped.returncode == 0, shipped.stdout + shipped.stderr
    diagram = _run(core_venv, "exo-spec", "diagram", str(spec), cwd=tmp_path)
    assert diagram.returncode == 0, diagram.stderr
    assert "stateDiagram-v2" in diagram.stdout
    generate = _run(
        core_venv, "exo-spec", "generate", "--spec", str(spec), "--out", "gen", cwd=tmp_path
    )
    assert generate.returncode == 0, generate.stderr


@pytest.mark.parametrize(
    ("args", "extra"),
    [
        (["demo"], "mlx"),
        (["node"], "node,mlx"),
        (["conformance", "--runner", "exo_spec.runtime.runner:run"], "conformance"),
        (["diagram", "--format", "dot"], "diagram"),
    ],
)
def test_core_install_names_the_missing_extra(
    core_venv: Path, tmp_path: Path, args: list[str], extra: str
) -> None:
    spec = _purelib(core_venv / "bin" / "python") / "exo_spec" / "specs" / "runner.yaml"
    extra_args = [str(spec)] if args[0] == "diagram" else []
    result = _run(core_venv, "exo-spec", *args, *extra_args, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.startswith(f"exo-spec {args[0]}")
    assert result.stderr.count("\n") == 1, result.stderr
    assert f"pip install 'exo-spec[{extra}]'" in result.stderr


def test_core_install_ships_the_schema_and_the_format_reference(core_venv: Path) -> None:
    package = _purelib(core_venv / "bin" / "python") / "exo_spec"
    assert (package / "specs" / "runner.schema.json").is_file()
    assert (package / "specs" / "examples" / "traffic_light.yaml").is_file()
    assert "| `stall_timeout_s` |" in (package / "docs" / "spec-format.md").read_text()


def test_core_install_plugin_leaves_pytest_working(core_venv: Path, tmp_path: Path) -> None:
    """exo-spec's pytest plugin loads in every run; without hypothesis a project's tests still
    run, the scenarios run, and only the random walks ask for the extra."""
    (tmp_path / "test_mine.py").write_text("def test_ok():\n    assert True\n")
    plain = _run(core_venv, "python", "-m", "pytest", "-q", "-p", "no:cacheprovider", cwd=tmp_path)
    assert plain.returncode == 0, plain.stdout + plain.stderr
    assert "1 passed" in plain.stdout
    runner = ["--exo-spec-runner", "exo_spec.runtime.runner:run"]
    walks = _run(core_venv, "python", "-m", "pytest", "-q", *runner, cwd=tmp_path)
    assert walks.returncode == 4, walks.stdout + walks.stderr  # a usage error
    assert "pip install 'exo-spec[conformance]'" in walks.stdout + walks.stderr
    scenarios = _run(
        core_venv, "python", "-m", "pytest", "-q", *runner, "--exo-spec-examples", "0", cwd=tmp_path
    )
    assert scenarios.returncode == 0, scenarios.stdout[-2000:] + scenarios.stderr[-2000:]
