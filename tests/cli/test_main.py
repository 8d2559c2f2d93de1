"""What every command shares: ``--version``, the exit codes in ``--help``, ``-v``/``--log-level``,
a missing extra named in one line, and a reader that closes the pipe early."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from exo_spec import __version__
from exo_spec.cli import COMMANDS, main
from exo_spec.extras import MODULES, MissingExtraError, extra_for, missing

ROOT = Path(__file__).parents[2]
SPEC = ROOT / "spec" / "runner.yaml"


def _exo_spec(*args: str, stdout: int | None = None) -> subprocess.CompletedProcess[str]:
    code = "import sys\nfrom exo_spec.cli import main\nsys.exit(main(sys.argv[1:]))\n"
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=ROOT,
        stdout=stdout if stdout is not None else subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        timeout=120,
        check=False,
    )


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out == f"exo-spec {__version__}\n"


@pytest.mark.parametrize("command", [None, *COMMANDS])
def test_help_documents_the_exit_codes_and_log_options(
    command: str | None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([command, "--help"] if command else ["--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    for code in ("0 clean", "1 findings", "2 usage or I/O error", "missing extra", "130", "141"):
        assert code in text, (command, code)
    assert "--log-level LEVEL" in text
    assert "-v, --verbose" in text


@pytest.mark.parametrize("args", [["--log-level", "loud", "rules"], ["rules", "--log-level=x"]])
def test_a_bad_log_level_is_a_usage_error(
    args: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(args) == 2
    assert "invalid choice" in capsys.readouterr().err


def test_logs_are_off_by_default_and_on_with_verbose() -> None:
    """The runtime logs a rejected task as a warning; only -v/--log-level shows it."""
    args = ["conformance", "--runner", "exo_spec.runtime.runner:run", "--examples", "0"]
    quiet = _exo_spec(*args)
    assert quiet.returncode == 0, quiet.stderr
    assert "WARNING" not in quiet.stderr
    loud = _exo_spec("-v", *args)
    assert loud.returncode == 0, loud.stderr
    assert "| WARNING  | exo_spec.runtime.runner" in loud.stderr
    assert "| DEBUG " not in loud.stderr
    debug = _exo_spec(*args, "--log-level", "debug")
    assert "| DEBUG    | exo_spec.runtime.runner" in debug.stderr


@pytest.mark.parametrize(
    ("verbose", "level", "default", "shown"),
    [
        (0, None, None, None),
        (0, None, "INFO", "INFO"),
        (1, None, "INFO", "INFO"),
        (2, None, "INFO", "DEBUG"),
        (3, None, None, "DEBUG"),
        (0, "WARNING", "INFO", "WARNING"),
        (2, "ERROR", None, "ERROR"),
    ],
)
def test_a_commands_default_level_yields_to_v_and_log_level(
    monkeypatch: pytest.MonkeyPatch,
    verbose: int,
    level: str | None,
    default: str | None,
    shown: str | None,
) -> None:
    """The node logs at INFO by default; -vv and --log-level still choose (the daemon does
    not replace the handler the CLI installed)."""
    import exo_spec.logs
    from exo_spec.cli import configure_logging

    calls: list[str] = []
    monkeypatch.setattr(exo_spec.logs, "show_logs", calls.append)
    configure_logging(verbose, level, default)
    assert calls == ([] if shown is None else [shown])


def test_the_node_daemon_leaves_the_log_handlers_to_the_cli() -> None:
    source = (ROOT / "src" / "exo_spec" / "node" / "daemon.py").read_text()
    assert "logger.remove(" not in source
    assert "logger.add(" not in source


@pytest.mark.parametrize(
    "args",
    [
        ["matrix", str(SPEC)],
        ["rules"],
        ["generate", "--check"],
        ["diagram", str(SPEC)],
        ["check", "--format", "json", str(ROOT / "tests" / "check" / "mutants")],
    ],
)
def test_a_closed_pipe_ends_quietly(args: list[str]) -> None:
    """``exo-spec ... | head``: the reader is gone before the first write; no traceback."""
    read, write = os.pipe()
    os.close(read)
    try:
        proc = _exo_spec(*args, stdout=write)
    finally:
        os.close(write)
    assert proc.returncode in (0, 141), proc.stderr
    assert "Traceback" not in proc.stderr
    assert "BrokenPipeError" not in proc.stderr
    if args[0] != "generate":  # fresh: it writes nothing
        assert proc.returncode == 141


@pytest.mark.parametrize(
    ("args", "blocked", "extra"),
    [
        (["demo"], "mlx", "mlx"),
        (["node"], "fastapi", "node"),
        (["node"], "huggingface_hub", "mlx"),
        (["conformance", "--runner", "exo_spec.runtime.runner:run"], "hypothesis", "conformance"),
        (["diagram", "--format", "dot", str(SPEC)], "graphviz", "diagram"),
        (["diagram", "-o", "out.svg", str(SPEC)], "graphviz", "diagram"),
    ],
)
def test_a_missing_extra_is_one_line_naming_it(
    args: list[str],
    blocked: str,
    extra: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setitem(sys.modules, blocked, None)  # as if not installed
    assert main(args) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert len(err.splitlines()) == 1, err
    assert err.startswith(f"exo-spec {args[0]}")
    assert f"pip install 'exo-spec[{extra}]'" in err
    assert "Traceback" not in err


def test_an_import_of_a_missing_extra_deep_inside_is_named_too() -> None:
    """The backstop: a ModuleNotFoundError of an extra's module, wherever it is raised."""
    unrelated = ModuleNotFoundError("No module named 'numpyx'", name="numpyx")
    assert extra_for(unrelated, "x") is None
    error = ModuleNotFoundError("No module named 'mlx.core'", name="mlx.core")
    found = extra_for(error, "exo-spec demo")
    assert isinstance(found, MissingExtraError)
    assert str(found) == (
        "exo-spec demo needs the `mlx` extra (no module named 'mlx'): pip install 'exo-spec[mlx]'"
    )


def test_every_extra_is_declared_in_pyproject() -> None:
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    extras = project["optional-dependencies"]
    assert set(MODULES) | {"all"} == set(extras)
    assert extras["all"] == [f"exo-spec[{','.join(MODULES)}]"]
    assert missing(*MODULES) == ()  # the development environment has everything
    core = " ".join(project["dependencies"])
    for modules in MODULES.values():
        for module in modules:
            assert module.replace("_", "-") not in core
