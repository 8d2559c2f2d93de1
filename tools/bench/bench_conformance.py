"""Wall time of the conformance suite at the defaults: against the project's runtime, and
against runners that hang on one task (StartWarmup) and on every LoadModel.

``python tools/bench/bench_conformance.py`` (run from the repository root; it imports the
hanging fixtures from ``tests/conformance/runners``). Targets: both at most 10 s.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from exo_spec.conformance import default_spec_path
from exo_spec.conformance.suite import run_suite
from exo_spec.spec import load_spec

RUNNERS = {
    "ours": "exo_spec.runtime.runner",
    "hangs on StartWarmup": "tests.conformance.runners.hangs_on_warmup",
    "hangs on every LoadModel": "tests.conformance.runners.hangs_on_every_load",
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args(argv)
    spec = load_spec(default_spec_path()).spec
    assert spec is not None
    for label, module in RUNNERS.items():
        runner = importlib.import_module(module).run
        times = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            report = run_suite(runner, spec, runner_name=label)
            times.append(time.perf_counter() - start)
        verdict = "conformant" if report.conformant else f"{len(report.violations)} violation(s)"
        print(f"{label:28s} {min(times):6.2f} s (min of {args.repeat})  {verdict}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
