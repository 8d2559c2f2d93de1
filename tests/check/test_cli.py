"""``exo-spec check | rules | matrix``: exit codes, streams, options, hooks and cold start."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

from exo_spec.cli import main
from exo_spec.spec.codes import CODES

ROOT = Path(__file__).parents[2]
SPEC = ROOT / "spec" / "runner.yaml"
MUTANTS = Path(__file__).parent / "mutants"
HEAVY = ("mlx", "mlx_lm", "transitions", "loguru", "exo_spec.runtime", "exo_spec.engine")


@pytest.fixture
def clean_spec(tmp_path: Path) -> Path:
    """A copy of the runner spec with no generated/ beside it (so only the linter runs)."""
    path = tmp_path / "spec" / "runner.yaml"
    path.parent.mkdir()
    path.write_text(SPEC.read_text(encoding="utf-8"), encoding="utf-8")
    return path


def test_clean_spec_exits_0(clean_spec: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(clean_spec)]) == 0
    out, err = capsys.readouterr()
    assert out == ""
    assert err == "All checks passed.\n"


def test_default_path_is_spec_runner_yaml(
    clean_spec: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(clean_spec.parent.parent)
    assert main(["check"]) == 0


def test_findings_exit_1_results_on_stdout_summary_on_stderr(
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = MUTANTS / "seed002_load_only_from_idle.yaml"
    assert main(["check", str(path)]) == 1
    out, err = capsys.readouterr()
    assert out.count("EXS202") == 2
    assert out.startswith(f"{path}:34:3: EXS202 with has_group=true, state loaded is unreachable")
    assert err == "Found 2 problems.\n"


def test_unreadable_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(tmp_path / "missing.yaml")]) == 2
    assert "EXS000 cannot read the spec" in capsys.readouterr().out


def test_several_paths_are_reported_together(capsys: pytest.CaptureFixture[str]) -> None:
    paths = [str(MUTANTS / "unused_guard.yaml"), str(MUTANTS / "unused_action.yaml"), str(SPEC)]
    assert main(["check", *paths]) == 1
    out = capsys.readouterr().out
    assert "EXS211" in out
    assert "EXS212" in out


def test_select_and_ignore_by_prefix(capsys: pytest.CaptureFixture[str]) -> None:
    path = str(MUTANTS / "overlap_download.yaml")
    assert main(["check", "--select", "EXS208", path]) == 1
    assert "EXS209" not in capsys.readouterr().out
    assert main(["check", "--ignore", "exs20", path]) == 0
    assert main(["check", "--select", "EXS1,EXS3", path]) == 0


def test_unknown_format_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "--format", "xml", str(SPEC)]) == 2
    assert "invalid choice" in capsys.readouterr().err


def test_binding_without_a_runtime_check_is_a_usage_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(["check", "--binding", "nocolon", str(SPEC)])
    assert code == 2
    assert "MODULE:OBJECT" in capsys.readouterr().err


def test_explicit_generated_dir_without_output_is_reported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--generated DIR`` with nothing generated there: every expected file is missing."""
    spec_dir = tmp_path / "spec"
    spec_dir.mkdir()
    (spec_dir / "runner.yaml").write_text(SPEC.read_text(encoding="utf-8"), encoding="utf-8")
    code = main(
        ["check", "--generated", str(tmp_path / "generated"), str(spec_dir / "runner.yaml")]
    )
    out = capsys.readouterr().out
    assert code == 1
    assert "EXS301 generated file" in out
    assert "runner_machine.py is missing" in out


def test_unknown_select_code_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["check", "--select", "EXS9999", str(MUTANTS / "overlap_load.yaml")])
    assert code == 2
    assert "no rule code starts with EXS9999" in capsys.readouterr().err


def test_json_format(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "--format", "json", str(MUTANTS / "duplicate_status.yaml")]) == 1
    rows = json.loads(capsys.readouterr().out)
    assert [row["code"] for row in rows] == ["EXS215"]
    assert rows[0]["severity"] == "error"
    assert rows[0]["line"] == 40


def test_github_format_escapes(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "--format", "github", str(MUTANTS / "unused_guard.yaml")]) == 1
    line = capsys.readouterr().out.strip()
    assert line.startswith("::warning file=")
    assert ",title=EXS211::guard gpu_free is declared" in line


def test_rules_lists_every_code(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules"]) == 0
    out = capsys.readouterr().out
    assert [line.split()[0] for line in out.splitlines()] == [c.code for c in CODES]
    assert main(["rules", "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {"EXS101", "EXS202", "EXS210", "EXS218", "EXS301", "EXS401"} <= {r["code"] for r in rows}
    assert all(r["doc"] and r["severity"] in ("error", "warning") for r in rows)


def test_matrix(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["matrix", str(SPEC)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == [
        "state",
        "DownloadModel",
        "ConnectToGroup",
        "LoadModel",
        "StartWarmup",
        "ChatCompletion",
        "CancelTask",
        "Shutdown",
    ]
    rows = {line.split()[0]: line for line in lines[1:]}
    assert set(rows) == {"idle", "connected", "loaded", "ready", "running", "failed"}
    assert "→ loaded [has_group and weights_present]" in rows["connected"]
    assert "defer" in rows["running"]
    assert rows["loaded"].split()[1] == "-"
    column = lines[0].index("DownloadModel")
    assert all(line[column - 2 : column] == "  " and line[column] != " " for line in lines)


def test_matrix_of_an_unreadable_spec(tmp_path: Path) -> None:
    assert main(["matrix", str(tmp_path / "none.yaml")]) == 2


@pytest.mark.parametrize("where", ["repo", "elsewhere"])
def test_cold_start_imports_nothing_heavy(where: str, tmp_path: Path) -> None:
    spec = SPEC
    if where == "elsewhere":
        spec = tmp_path / "runner.yaml"
        spec.write_text(SPEC.read_text(encoding="utf-8"), encoding="utf-8")
    code = (
        "import sys\nfrom exo_spec.cli import main\n"
        f"rc = main(['check', {str(spec)!r}])\n"
        "print(sorted(sys.modules))\nsys.exit(rc)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        check=False,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    # in the repo, generated/ beside spec/ is checked too (EXS301); it is fresh (make test
    # runs `exo-spec generate --check` first)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    modules = ast.literal_eval(proc.stdout.strip().splitlines()[-1])
    heavy = sorted(m for m in modules if m.split(".")[0] in HEAVY or m.startswith(HEAVY))
    assert heavy == []


def test_binding_hook_reports_exs401(clean_spec: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``--binding`` asks the runtime (imported only then) whether every guard/action is bound."""
    code = main(["check", "--binding", "no_such_module_xyz:run", str(clean_spec)])
    out, err = capsys.readouterr()
    assert code == 1
    assert "Traceback" not in out + err
    assert "EXS401 binding no_such_module_xyz:run: cannot import module 'no_such_module_xyz'" in out
    code = main(["check", "--binding", "exo_spec.runtime.engine_protocol:Engine", str(clean_spec)])
    out, _ = capsys.readouterr()
    assert code == 1
    assert "guard 'has_group' is not bound" in out
    assert "event method 'task_status' is not bound" in out


def test_names_that_collide_with_the_generated_machine(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = tmp_path / "runner.yaml"
    spec.write_text(SPEC.read_text(encoding="utf-8").replace("  Shutdown:\n", "  dispatch:\n"))
    assert main(["check", "--select", "EXS302", str(spec)]) == 1
    assert "EXS302 task 'dispatch' collides with an attribute of transitions.Machine" in (
        capsys.readouterr().out
    )


def test_matrix_of_a_spec_with_findings_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    """The table is still printed (the spec loads); its findings go to stderr, as check's."""
    path = MUTANTS / "seed002_load_only_from_idle.yaml"
    assert main(["matrix", str(path)]) == 1
    out, err = capsys.readouterr()
    assert out.splitlines()[0].split()[0] == "state"
    assert err.count("EXS202") == 2


def test_matrix_of_a_spec_that_does_not_load_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("version: 1\nstates: [\n", encoding="utf-8")
    assert main(["matrix", str(path)]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert "EXS001" in err
