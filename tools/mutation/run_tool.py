"""Measure the generated suite with a real mutation tool (cosmic-ray), outside ``make test``.

cosmic-ray plants its own mutants (operators, numbers, comparisons, booleans, exceptions,
removed decorators, ...) in the generated runner machine and in the shared base module
``src/exo_spec/machine.py``, and runs the generated suite against each one. It mutates files in
place, so everything runs on a copy of the project in a temporary directory (with the copy
first on ``PYTHONPATH``); the working tree is never touched.

    python tools/mutation/run_tool.py [--module machine --module base] [--sample N] [--seed 0]
                                      [--timeout 60] [--results tools/mutation/results.json]
    python tools/mutation/run_tool.py --render     # MUTATION.md from the results file only

``--sample N`` runs N mutants per module, drawn with ``--seed`` from all the tool's mutants
(the others are recorded as not run); without it every mutant runs. The results file keeps
what ran: the tool's mutant count, how many ran, killed, survived, timed out, the time, and
every survivor's diff. ``MUTATION.md`` is rendered from it, with each survivor's class taken
from ``survivors.toml`` (``"<module>:<line>:<operator>:<occurrence>" = "equivalent: why"``).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
MODULES = {
    "machine": "src/exo_spec/generated/runner_machine.py",
    "base": "src/exo_spec/machine.py",
}
COPY = ("src", "generated", "spec", "pyproject.toml")
TESTS = "generated/tests"
RESULTS = HERE / "results.json"
SURVIVORS = HERE / "survivors.toml"
REPORT = HERE / "MUTATION.md"


def test_command() -> str:
    return f"{sys.executable} -m pytest -x -q -p no:randomly -p no:cacheprovider {TESTS}"


def _config(module: str, timeout: float) -> str:
    return (
        "[cosmic-ray]\n"
        f"module-path = {json.dumps(MODULES[module])}\n"
        f"timeout = {timeout}\n"
        "excluded-modules = []\n"
        f"test-command = {json.dumps(test_command())}\n"
        "\n[cosmic-ray.distributor]\nname = 'local'\n"
    )


def _copy(work: Path) -> None:
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".hypothesis")
    for item in COPY:
        source = ROOT / item
        if source.is_dir():
            shutil.copytree(source, work / item, ignore=ignore)
        else:
            shutil.copy(source, work / item)


def _cosmic(args: list[str], work: Path, env: dict[str, str], budget: float | None = None) -> bool:
    """Run cosmic-ray; False when it was stopped at the end of ``budget`` seconds."""
    tool = Path(sys.executable).parent / "cosmic-ray"
    with subprocess.Popen([str(tool), *args], cwd=work, env=env, start_new_session=True) as proc:
        try:
            code = proc.wait(timeout=budget)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGTERM)  # the tool and the test run it started
            proc.wait()
            return False
    if code != 0:
        raise subprocess.CalledProcessError(code, args)
    return True


def _run_module(
    module: str,
    work: Path,
    env: dict[str, str],
    sample: int | None,
    seed: int,
    timeout: float,
    budget: float | None,
) -> dict[str, Any]:
    from cosmic_ray.work_db import WorkDB, use_db
    from cosmic_ray.work_item import TestOutcome, WorkerOutcome, WorkResult

    config, session = work / f"{module}.toml", work / f"{module}.sqlite"
    config.write_text(_config(module, timeout), encoding="utf-8")
    _cosmic(["init", str(config), str(session)], work, env)
    with use_db(str(session), WorkDB.Mode.open) as db:
        ids = sorted(item.job_id for item in db.work_items)
        chosen = set(
            ids if sample is None else random.Random(seed).sample(ids, min(sample, len(ids)))
        )
        skipped = [job for job in ids if job not in chosen]
        if skipped:
            db.set_multiple_results(skipped, WorkResult(worker_outcome=WorkerOutcome.SKIPPED))
    start = time.monotonic()
    finished = _cosmic(["exec", str(config), str(session)], work, env, budget)
    if not finished:  # the mutant in flight may be left in place: restore the module
        shutil.copy(ROOT / MODULES[module], work / MODULES[module])
    seconds = time.monotonic() - start
    counts = {"killed": 0, "survived": 0, "timeout": 0, "incompetent": 0, "error": 0}
    survivors: list[dict[str, Any]] = []
    with use_db(str(session), WorkDB.Mode.open) as db:
        for item, result in db.completed_work_items:
            if result.worker_outcome == WorkerOutcome.SKIPPED:
                continue
            spec = item.mutations[0]
            if result.worker_outcome != WorkerOutcome.NORMAL:
                counts["error"] += 1
            elif result.test_outcome == TestOutcome.KILLED:
                counts["timeout" if result.output == "timeout" else "killed"] += 1
            elif result.test_outcome == TestOutcome.INCOMPETENT:
                counts["incompetent"] += 1
            else:
                counts["survived"] += 1
                survivors.append(
                    {
                        "key": f"{module}:{spec.start_pos[0]}:{spec.operator_name}:{spec.occurrence}",
                        "line": spec.start_pos[0],
                        "operator": spec.operator_name,
                        "occurrence": spec.occurrence,
                        "diff": "\n".join(
                            line
                            for line in (result.diff or "").splitlines()
                            if line.startswith(("+", "-")) and not line.startswith(("+++", "---"))
                        ),
                    }
                )
    survivors.sort(key=lambda s: (s["line"], s["operator"], s["occurrence"]))
    return {
        "path": MODULES[module],
        "mutants": len(ids),
        "ran": sum(counts.values()),
        "not_run": len(ids) - sum(counts.values()),
        "finished": finished,
        **counts,
        "seconds": round(seconds, 1),
        "survivors": survivors,
    }


def measure(
    modules: list[str], sample: int | None, seed: int, timeout: float, budget: float | None
) -> dict[str, Any]:
    from importlib.metadata import version

    results: dict[str, Any] = {
        "tool": f"cosmic-ray {version('cosmic-ray')}",
        "test_command": f"python -m pytest -x -q -p no:randomly -p no:cacheprovider {TESTS}",
        "timeout_s": timeout,
        "sample_per_module": sample,
        "seed": seed,
        "budget_s": budget,
        "commit": subprocess.run(
            ["git", "describe", "--always", "--dirty"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip(),
        "modules": {},
    }
    with tempfile.TemporaryDirectory(prefix="exo-mutation-") as tmp:
        work = Path(tmp)
        _copy(work)
        env = dict(os.environ, PYTHONPATH=str(work / "src"))
        baseline = subprocess.run(
            test_command().split(), cwd=work, env=env, capture_output=True, text=True, check=False
        )
        if baseline.returncode != 0:
            raise SystemExit("the generated suite fails on the unmutated copy:\n" + baseline.stdout)
        for module in modules:
            results["modules"][module] = _run_module(
                module, work, env, sample, seed, timeout, budget
            )
    return results


def render(results: dict[str, Any], classes: dict[str, str]) -> str:
    lines = [
        "# Mutation testing of the generated suite",
        "",
        f"Rendered by `tools/mutation/run_tool.py --render` from `results.json`; run with "
        f"`make mutation` (not part of `make test`). Tool: **{results['tool']}**; test command "
        f"per mutant: `{results['test_command']}` with a {results['timeout_s']:g} s timeout.",
        "",
    ]
    if results.get("commit"):
        lines += [f"The suite and modules measured are those of commit `{results['commit']}`.", ""]
    sample = results["sample_per_module"]
    if sample is not None:
        lines += [
            f"A sample of {sample} mutants per module ran (seed {results['seed']}), drawn "
            "uniformly from all the tool's mutants; the others did not run and no rate is "
            "claimed for them.",
            "",
        ]
    cut = any(m["ran"] < m["mutants"] for m in results["modules"].values())
    if results.get("budget_s") is not None and not cut:
        lines += [
            f"Every mutant ran (the budget of {results['budget_s']:g} s per module was not reached).",
            "",
        ]
    if results.get("budget_s") is not None and cut:
        lines += [
            f"Each module had a budget of {results['budget_s']:g} s: cosmic-ray runs its pending "
            "mutants in random order, so those that ran before the budget ended are a uniform "
            "sample; the rest did not run (the not-run column) and no rate is claimed for them.",
            "",
        ]
    lines += [
        "| module | tool's mutants | ran | not run | killed | timeouts | survived | incompetent | errors | "
        "killed of ran | time |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for m in results["modules"].values():
        dead = m["killed"] + m["timeout"]
        rate = f"{100 * dead / m['ran']:.1f}%" if m["ran"] else "-"
        lines.append(
            f"| `{m['path']}` | {m['mutants']} | {m['ran']} | {m['mutants'] - m['ran']} | "
            f"{m['killed']} | {m['timeout']} | "
            f"{m['survived']} | {m['incompetent']} | {m['error']} | {rate} | {m['seconds']:.0f} s |"
        )
    survivors = [s for m in results["modules"].values() for s in m["survivors"]]
    verdicts = [classes.get(s["key"], "unclassified") for s in survivors]
    equivalent = sum(v.startswith("equivalent") for v in verdicts)
    ran = sum(m["ran"] for m in results["modules"].values())
    dead = sum(m["killed"] + m["timeout"] for m in results["modules"].values())
    if ran:
        lines += [
            "",
            f"In all: {ran} mutants ran, {dead} killed ({100 * dead / ran:.1f}%); of the "
            f"{len(survivors)} survivors {equivalent} are classified equivalent, "
            f"{sum(v.startswith('real gap') for v in verdicts)} a real gap and "
            f"{verdicts.count('unclassified')} unclassified. Counting only the mutants not "
            f"classified equivalent: {dead}/{ran - equivalent} killed"
            + (f" ({100 * dead / (ran - equivalent):.1f}%)." if ran > equivalent else "."),
        ]
    lines += ["", "## Survivors", ""]
    any_survivor = False
    for m in results["modules"].values():
        for s in m["survivors"]:
            any_survivor = True
            verdict = classes.get(s["key"], "unclassified")
            lines += [
                f"- `{m['path']}:{s['line']}` {s['operator']} #{s['occurrence']}: {verdict}",
                "",
                "  ```diff",
                *(f"  {line}" for line in s["diff"].splitlines()),
                "  ```",
                "",
            ]
    if not any_survivor:
        lines.append("None.")
    return "\n".join(lines).rstrip() + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--module", action="append", choices=sorted(MODULES))
    parser.add_argument("--sample", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--timeout", type=float, default=60.0)
    parser.add_argument("--budget", type=float, default=None, help="seconds per module")
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--render", action="store_true", help="only render MUTATION.md")
    args = parser.parse_args(argv)
    if not args.render:
        results = measure(
            args.module or list(MODULES), args.sample, args.seed, args.timeout, args.budget
        )
        args.results.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    results = json.loads(args.results.read_text(encoding="utf-8"))
    classes = tomllib.loads(SURVIVORS.read_text(encoding="utf-8")) if SURVIVORS.exists() else {}
    REPORT.write_text(render(results, classes), encoding="utf-8")
    print(REPORT.read_text(encoding="utf-8"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
