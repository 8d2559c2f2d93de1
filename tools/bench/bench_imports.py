"""Import time of the core (``exo_spec.check``), the runtime and the engine against
``python -c pass``, each in a fresh interpreter, interleaved.

    .venv/bin/python tools/bench/bench_imports.py [--repeat 11] [--out F.json]

Bytecode caches are used as installed. One extra run per module with ``-X importtime`` names
the slowest imports (cumulative microseconds) and checks that the core does not import
``mlx``, ``mlx_lm`` or ``transitions``'s heavier friends by accident.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from benchkit import link, metric, result, write

ROOT = Path(__file__).resolve().parents[2]
BASE = "python -c pass"
MODULES = {
    "import exo_spec.check": "exo_spec.check",
    "import exo_spec.runtime": "exo_spec.runtime",
    "import exo_spec.engine.mlx_engine": "exo_spec.engine.mlx_engine",
}
HEAVY = ("mlx", "mlx_lm", "transformers", "huggingface_hub", "numpy")


def _code(label: str) -> str:
    return "pass" if label == BASE else label


def _once(label: str) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", _code(label)], cwd=ROOT, check=True)
    return time.perf_counter() - start


def importtime(module: str, top: int) -> dict[str, Any]:
    """The slowest imports (cumulative) and which heavy packages got imported."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", f"import {module}"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    )
    rows: list[tuple[int, str]] = []
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        parts = [p.strip() for p in line.removeprefix("import time:").split("|")]
        if len(parts) == 3 and parts[1].isdigit():
            rows.append((int(parts[1]), parts[2]))
    names = {name.strip() for _, name in rows}
    rows.sort(reverse=True)
    return {
        "modules": len(rows),
        "slowest_cumulative_us": [{"module": n.strip(), "us": us} for us, n in rows[:top]],
        "heavy_imported": [h for h in HEAVY if h in names],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=11)
    parser.add_argument("--top", type=int, default=6)
    parser.add_argument("--no-engine", action="store_true", help="leave out the MLX engine")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    modules = {k: v for k, v in MODULES.items() if not (args.no_engine and "engine" in v)}
    labels = [BASE, *modules]
    samples: dict[str, list[float]] = {label: [] for label in labels}
    for label in labels:  # warm the bytecode and file caches
        _once(label)
    for i in range(args.repeat):
        for label in labels if i % 2 == 0 else labels[::-1]:
            samples[label].append(_once(label))
    metrics = [metric(label, "ms", [s * 1000 for s in values]) for label, values in samples.items()]
    link(metrics, BASE)
    details = {label: importtime(module, args.top) for label, module in modules.items()}
    core_heavy: list[str] = details["import exo_spec.check"]["heavy_imported"]
    write(
        args.out,
        result(
            "imports",
            "Start-up: import time in a fresh interpreter",
            metrics,
            details=details,
            notes=[
                f"{args.repeat} interleaved runs each; wall time of the whole interpreter "
                "(start, import, exit).",
                "the core imports none of " + ", ".join(HEAVY)
                if not core_heavy
                else f"the core imports {', '.join(core_heavy)} (it should not)",
            ],
        ),
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
