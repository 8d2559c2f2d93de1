"""Mutation check: the generated tests must kill planted bugs in the runner machine.

Every mutation in ``machine_mutations.MUTATIONS`` is applied to a copy of its target in a
temporary directory: the generated machine module ``exo_spec/generated/runner_machine.py`` or
the shared base module ``exo_spec/machine.py``, in a copy of the ``exo_spec`` package. The
generated tests are run against each copy (a subprocess pytest with the copy first on
``PYTHONPATH``, ``-x -q``, two at a time). A mutant is *killed* when the tests fail. Prints the score, each mutation's fate and the survivors; exits 1 when the score
is below the threshold, 2 when a mutation does not apply or the unmutated machine fails.

    python tools/mutation/mutate_machine.py [--root .] [--workers 2] [--threshold 0.95]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from machine_mutations import MUTATIONS, Mutation, MutationNotAppliedError

__all__ = ["MutantResult", "main", "run_mutations"]

MACHINE = Path("src/exo_spec/generated/runner_machine.py")
BASE = Path("src/exo_spec/machine.py")
TESTS = Path("generated/tests")
PACKAGE = Path("src/exo_spec")
MACHINE_MODULE = "exo_spec.generated.runner_machine"
_PYTEST_INI = "[pytest]\naddopts = -p no:cacheprovider\nxfail_strict = true\n"


@dataclass(frozen=True)
class MutantResult:
    """What the tests did to one mutant (``None`` is the unmutated machine)."""

    mutation: Mutation | None
    killed: bool
    seconds: float
    output: str


def _package(work: Path, root: Path, name: str, source: str, base_source: str) -> Path:
    """A directory holding a copy of the ``exo_spec`` package (without the embedded model, which
    the generated tests never read) with ``source`` as its generated machine and
    ``base_source`` as its base module."""
    base = work / name
    package = base / PACKAGE.name
    shutil.copytree(root / PACKAGE, package, ignore=shutil.ignore_patterns("__pycache__", "models"))
    (package / MACHINE.relative_to(PACKAGE)).write_text(source, encoding="utf-8")
    (package / BASE.relative_to(PACKAGE)).write_text(base_source, encoding="utf-8")
    return base


def _stages(tests: Path) -> list[list[str]]:
    """The cell and trace tests first (small, they kill most mutants), then the rest."""
    files = sorted(tests.glob("test_*.py"))
    first = [f for f in files if f.stem.endswith(("_cells", "_trace"))]
    return [[str(f) for f in first], [str(f) for f in files if f not in first]]


def _run(
    base: Path, tests: Path, root: Path, mutation: Mutation | None, timeout: float
) -> MutantResult:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(base), *filter(None, [env.get("PYTHONPATH")])])
    env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"  # plugins are not needed and cost seconds
    command = [sys.executable, "-m", "pytest", "-x", "-q", "-c", str(tests.parent / "pytest.ini")]
    command += ["--rootdir", str(tests.parent)]
    started = time.monotonic()
    output = ""
    for stage in _stages(tests):
        if not stage:
            continue
        try:
            done = subprocess.run(
                command + stage,
                check=False,
                cwd=root,
                env=env,
                capture_output=True,
                text=True,
                timeout=timeout,
            )
        except subprocess.TimeoutExpired:
            return MutantResult(mutation, True, timeout, f"timed out after {timeout:.0f}s")
        output += done.stdout + done.stderr
        if done.returncode != 0:
            return MutantResult(mutation, True, time.monotonic() - started, output)
    return MutantResult(mutation, False, time.monotonic() - started, output)


def _which_machine(base: Path, root: Path, module: str = MACHINE_MODULE) -> str:
    env = dict(os.environ, PYTHONPATH=str(base))
    code = f"import {module} as m; print(m.__file__)"
    done = subprocess.run(
        [sys.executable, "-c", code], check=False, cwd=root, env=env, capture_output=True, text=True
    )
    return done.stdout.strip() or done.stderr.strip()


def run_mutations(
    root: Path, workers: int = 2, timeout: float = 120.0
) -> tuple[MutantResult, list[MutantResult]]:
    """The unmutated machine's run and one run per mutation (in ``MUTATIONS`` order).

    Raises :class:`MutationNotAppliedError` when any mutation's anchor is missing.
    """
    source = (root / MACHINE).read_text(encoding="utf-8")
    base_source = (root / BASE).read_text(encoding="utf-8")
    sources = {"machine": source, "base": base_source}
    mutants = [(m, m.apply(sources[m.target])) for m in MUTATIONS]  # anchors checked up front
    with tempfile.TemporaryDirectory(prefix="exo-spec-mutants-") as tmp:
        work = Path(tmp)
        tests = work / "suite" / "tests"
        shutil.copytree(root / TESTS, tests, ignore=shutil.ignore_patterns("__pycache__"))
        (tests.parent / "pytest.ini").write_text(_PYTEST_INI, encoding="utf-8")
        baseline_dir = _package(work, root, "baseline", source, base_source)
        for module in (MACHINE_MODULE, "exo_spec.machine"):
            imported = _which_machine(baseline_dir, root, module)
            if not imported.startswith(str(baseline_dir)):
                raise RuntimeError(f"the tests would import {module} from {imported}, not the copy")
        # the unmutated run first: it also leaves the tests compiled for the mutants' runs
        baseline = _run(baseline_dir, tests, root, None, timeout)
        dirs = [
            _package(
                work,
                root,
                f"m{i:02d}",
                text if m.target == "machine" else source,
                text if m.target == "base" else base_source,
            )
            for i, (m, text) in enumerate(mutants)
        ]
        with ThreadPoolExecutor(max_workers=workers) as pool:
            futures = [
                pool.submit(_run, d, tests, root, m, timeout)
                for d, (m, _) in zip(dirs, mutants, strict=True)
            ]
            return baseline, [f.result() for f in futures]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--root", type=Path, default=Path.cwd(), help="the repository root")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threshold", type=float, default=0.95)
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds per mutant")
    args = parser.parse_args(argv)
    root = args.root.resolve()
    started = time.monotonic()
    try:
        baseline, results = run_mutations(root, args.workers, args.timeout)
    except (MutationNotAppliedError, RuntimeError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if baseline.killed:
        print("error: the generated tests fail on the unmutated machine:", file=sys.stderr)
        print(baseline.output[-4000:], file=sys.stderr)
        return 2
    killed = sum(r.killed for r in results)
    score = killed / len(results)
    width = max(len(m.name) for m in MUTATIONS)
    for result in results:
        assert result.mutation is not None
        fate = "killed  " if result.killed else "SURVIVED"
        print(
            f"{fate} {result.mutation.name:<{width}}  {result.seconds:5.1f}s  {result.mutation.doc}"
        )
    print(
        f"mutation score: {killed}/{len(results)} = {score:.1%} "
        f"(threshold {args.threshold:.0%}; {time.monotonic() - started:.1f}s)"
    )
    survivors = [r.mutation.name for r in results if not r.killed and r.mutation]
    if survivors:
        print("survivors: " + ", ".join(survivors))
    return 0 if score >= args.threshold else 1


if __name__ == "__main__":
    sys.exit(main())
