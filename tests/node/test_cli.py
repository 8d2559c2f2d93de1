"""``exo-spec node`` on the command line: its help, the missing extra, and staying out of the
other commands' imports."""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest

from exo_spec.cli import main


def run_python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )


def test_node_help_lists_its_options(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["node", "--help"]) == 0
    out = capsys.readouterr().out
    for option in ("--host", "--port", "--models-dir", "--hub", "--place", "--ranks"):
        assert option in out


def test_a_missing_extra_is_a_usage_error_that_names_it() -> None:
    done = run_python(
        "import sys; sys.modules['uvicorn'] = None\n"
        "from exo_spec.cli import main\n"
        "sys.exit(main(['node', '--port', '0']))"
    )
    assert done.returncode == 2, done.stderr
    assert "pip install 'exo-spec[node]'" in done.stderr


def test_check_does_not_import_the_asgi_stack() -> None:
    done = run_python(
        "import sys\n"
        "from exo_spec.cli import main\n"
        "main(['check', 'spec/runner.yaml'])\n"
        "print(sorted(m for m in ('fastapi', 'uvicorn', 'starlette') if m in sys.modules))"
    )
    assert done.stdout.strip().splitlines()[-1] == "[]", done.stderr


def test_a_port_in_use_is_a_clean_error() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        done = subprocess.run(
            [sys.executable, "-m", "exo_spec", "node", "--port", str(port), "--no-place"],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert done.returncode == 2, done.stderr
    assert f"cannot serve on 127.0.0.1:{port}" in done.stderr
