"""The wheel works installed, not only from a checkout: the generated machine, the embedded model
and the command line ship in it, and `exo-spec conformance` runs from a fresh environment."""

from __future__ import annotations

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
def fresh_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A new virtual environment with only the built wheel installed; its dependencies are
    reached through a path entry to this environment's site-packages (whose editable install
    of exo-spec is not activated, since .pth files are only read in site directories)."""
    uv = _uv()
    tmp = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [uv, "build", "--wheel", "--offline", "-q", "-o", str(tmp / "dist"), str(ROOT)],
        check=True,
        capture_output=True,
    )
    (wheel,) = (tmp / "dist").glob("exo_spec-*.whl")
    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run(
        [uv, "pip", "install", "-q", "--offline", "--no-deps", "--python", str(python), str(wheel)],
        check=True,
        capture_output=True,
    )
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    Path(purelib, "exo_spec_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
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
        "import exo_spec, exo_spec_generated.runner_machine as m\n"
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
