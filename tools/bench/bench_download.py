"""Download throughput from the local hub: ``download_model`` against a raw ``urllib`` GET.

    python tools/bench/bench_download.py --size-mb 100 --repeat 5 --out bench.json

Builds a synthetic repo (config, tokenizer, one weights file of random bytes), serves it with
``serve_hub`` on 127.0.0.1 and reports MB/s (min / median over the repetitions) for a fresh
``download_model`` each time, and for a plain ``urllib`` GET of the same bytes as a baseline.
The hub runs in its own process (``tools/hub_server.py``), as a remote hub would, so the server
does not share the downloading interpreter's GIL; ``--hub-thread`` serves it from a thread of
this process instead.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from exo_spec.engine.download import download_model
from exo_spec.runtime.engine_protocol import DownloadProgress, ModelRef
from exo_spec.testing.hub import serve_hub

REPO = "exo-bench/synthetic"


def _make_repo(root: Path, size: int) -> int:
    root.mkdir(parents=True)
    (root / "config.json").write_text(json.dumps({"model_type": "llama"}))
    (root / "tokenizer.json").write_text(json.dumps({"model": {"vocab": {}}}))
    (root / "model.safetensors").write_bytes(os.urandom(size))
    return sum(p.stat().st_size for p in root.iterdir())


def _ignore(_: DownloadProgress) -> None:
    return None


def _summary(total_bytes: int, seconds: list[float]) -> dict[str, float]:
    rates = [total_bytes / 1e6 / s for s in seconds]
    return {"min_mb_s": min(rates), "median_mb_s": statistics.median(rates), "max_mb_s": max(rates)}


@contextmanager
def _hub(repo: Path, *, in_thread: bool) -> Iterator[str]:
    """The hub's URL: served from a thread here, or by ``tools/hub_server.py`` in its own process."""
    if in_thread:
        with serve_hub({REPO: repo}) as hub:
            yield hub.url
        return
    server = Path(__file__).resolve().parents[1] / "hub_server.py"
    proc = subprocess.Popen(
        [sys.executable, str(server), "--repo", f"{REPO}={repo}"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        if not url.startswith("http://"):
            raise RuntimeError(f"the hub server did not start (it printed {url!r})")
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=float, default=100.0)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--out", type=Path, help="write the results as JSON here")
    parser.add_argument(
        "--hub-thread", action="store_true", help="serve the hub from a thread of this process"
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="exo-bench-") as tmp:
        root = Path(tmp)
        total = _make_repo(root / "repo", int(args.size_mb * 1e6))
        with _hub(root / "repo", in_thread=args.hub_thread) as url:
            hub_times: list[float] = []
            raw_times: list[float] = []
            names = ("config.json", "tokenizer.json", "model.safetensors")
            # one untimed download first: the first one also pays for imports and the pool
            download_model(ModelRef(REPO), root / "models-warm-up", _ignore, endpoint=url)
            for i in range(args.repeat):  # interleaved: both sides see the same machine
                start = time.perf_counter()
                download_model(ModelRef(REPO), root / f"models-{i}", _ignore, endpoint=url)
                hub_times.append(time.perf_counter() - start)
                start = time.perf_counter()
                for name in names:
                    with urllib.request.urlopen(f"{url}/{REPO}/resolve/main/{name}") as response:
                        while response.read(1 << 20):
                            pass
                raw_times.append(time.perf_counter() - start)
    hub_summary = _summary(total, hub_times)
    raw_summary = _summary(total, raw_times)
    result = {
        "bytes": total,
        "repeat": args.repeat,
        "download_model": {"seconds": hub_times, **hub_summary},
        "urllib_get": {"seconds": raw_times, **raw_summary},
        "median_ratio": hub_summary["median_mb_s"] / raw_summary["median_mb_s"],
    }
    text = json.dumps(result, indent=2)
    print(text)
    if args.out is not None:
        args.out.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
