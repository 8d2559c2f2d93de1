"""Benchmark ``MlxEngine.generate`` against calling ``mlx_lm.stream_generate`` directly.

    .venv/bin/python tools/bench/bench_engine.py [--model DIR] [--max-tokens 128]
        [--repeat 7] [--out tools/bench/out/bench_engine.json]

Both sides run the same model, the same chat-templated prompt, greedy sampling and the same
number of tokens (EOS is ignored on both sides so that lengths match), interleaved repetition
by repetition (alternating which goes first) after one warm-up each. Reported: tokens/s
(generated tokens over the whole call, prompt included) and time to first token, min and
median; decode tok/s from the median gap between consecutive tokens over all runs, and tokens
per CPU second of this process (both less sensitive to other load on the machine); and the
ratios engine/direct.
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

import mlx.core as mx
from mlx_lm import load, stream_generate
from mlx_lm.sample_utils import make_sampler

from exo_spec.engine.mlx_engine import EMBEDDED_MODEL_DIR, MlxEngine
from exo_spec.runtime.engine_protocol import ChatMessage, ChatRequest

PROMPT = "And God said"


def never() -> bool:
    return False


class Run(NamedTuple):
    """One drained stream: items, seconds to the first, wall and CPU seconds, gaps."""

    items: int
    first_s: float
    total_s: float
    cpu_s: float
    gaps: list[float]


def timed(stream: Iterator[object]) -> Run:
    """Drain ``stream``, timing it."""
    c0 = time.process_time()
    t0 = time.perf_counter()
    stamps: list[float] = []
    for _ in stream:
        stamps.append(time.perf_counter())
    first = stamps[0] - t0 if stamps else 0.0
    gaps = [b - a for a, b in itertools.pairwise(stamps)]
    total = time.perf_counter() - t0
    return Run(len(stamps), first, total, time.process_time() - c0, gaps)


def bench(model_dir: Path, max_tokens: int, repeat: int) -> dict[str, Any]:
    engine = MlxEngine(ignore_eos=True)
    for _ in engine.load(model_dir):
        pass
    loaded = load(str(model_dir))
    model, tokenizer = loaded[0], loaded[1]
    tokenizer.eos_token_ids = set()
    messages = [{"role": "user", "content": PROMPT}]
    prompt: list[int] = tokenizer.apply_chat_template(  # type: ignore[no-untyped-call]
        messages, add_generation_prompt=True
    )
    request = ChatRequest(
        messages=(ChatMessage("user", PROMPT),), max_tokens=max_tokens, temperature=0.0
    )
    sampler = make_sampler(temp=0.0)

    def direct() -> Iterator[object]:
        return iter(stream_generate(model, tokenizer, prompt, max_tokens, sampler=sampler))

    def via_engine() -> Iterator[object]:
        return iter(engine.generate(request, never))

    sides: dict[str, Callable[[], Iterator[object]]] = {
        "mlx_lm.stream_generate": direct,
        "MlxEngine.generate": via_engine,
    }
    runs: dict[str, list[Run]] = {name: [] for name in sides}
    for fn in sides.values():  # warm-up: compile kernels, fill caches
        timed(fn())
    order = list(sides.items())
    for i in range(repeat):  # ABBA order: neither side always runs right after the other
        for name, fn in order if i % 2 == 0 else order[::-1]:
            mx.clear_cache()
            runs[name].append(timed(fn()))

    result: dict[str, Any] = {
        "model": str(model_dir),
        "prompt_tokens": len(prompt),
        "max_tokens": max_tokens,
        "repeat": repeat,
        "device": str(mx.default_device()),
        "sides": {},
    }
    for name, samples in runs.items():
        counts = {r.items for r in samples}
        tps = [r.items / r.total_s for r in samples]
        ttft = [r.first_s * 1000 for r in samples]
        gaps = [g for r in samples for g in r.gaps]
        cpu_tps = [r.items / r.cpu_s for r in samples]
        result["sides"][name] = {
            "tokens": sorted(counts),
            "tok_s_max": max(tps),
            "tok_s_median": statistics.median(tps),
            "ttft_ms_min": min(ttft),
            "ttft_ms_median": statistics.median(ttft),
            "decode_tok_s": 1.0 / statistics.median(gaps),
            "cpu_tok_s_median": statistics.median(cpu_tps),
        }
    eng, ref = result["sides"]["MlxEngine.generate"], result["sides"]["mlx_lm.stream_generate"]
    result["ratio_tok_s_median"] = eng["tok_s_median"] / ref["tok_s_median"]
    result["ratio_tok_s_best"] = eng["tok_s_max"] / ref["tok_s_max"]
    result["ratio_decode_tok_s"] = eng["decode_tok_s"] / ref["decode_tok_s"]
    result["ratio_cpu_tok_s"] = eng["cpu_tok_s_median"] / ref["cpu_tok_s_median"]
    engine.close()
    return result


def print_table(result: dict[str, Any]) -> None:
    print(
        f"{result['max_tokens']} tokens, prompt {result['prompt_tokens']} tokens, "
        f"{result['repeat']} interleaved repetitions, {result['device']}"
    )
    header = f"{'':24} {'tokens':>7} {'tok/s best':>11} {'tok/s med':>10} "
    print(
        header + f"{'TTFT min ms':>12} {'TTFT med ms':>12} {'decode tok/s':>13} {'tok/CPU-s':>10}"
    )
    for name, s in result["sides"].items():
        tokens = ",".join(str(t) for t in s["tokens"])
        print(
            f"{name:24} {tokens:>7} {s['tok_s_max']:>11.1f} {s['tok_s_median']:>10.1f} "
            f"{s['ttft_ms_min']:>12.2f} {s['ttft_ms_median']:>12.2f} {s['decode_tok_s']:>13.1f} "
            f"{s['cpu_tok_s_median']:>10.1f}"
        )
    print(
        f"ratio engine/direct: median {result['ratio_tok_s_median']:.3f}, "
        f"best {result['ratio_tok_s_best']:.3f}, "
        f"decode (median gap between tokens) {result['ratio_decode_tok_s']:.3f}, "
        f"per CPU second {result['ratio_cpu_tok_s']:.3f}"
    )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="MlxEngine.generate vs mlx_lm.stream_generate")
    p.add_argument("--model", type=Path, default=EMBEDDED_MODEL_DIR)
    p.add_argument("--max-tokens", type=int, default=128)
    p.add_argument("--repeat", type=int, default=7)
    p.add_argument("--out", type=Path, default=None, help="write the results as JSON here")
    args = p.parse_args(argv)
    if not (args.model / "config.json").is_file():
        print(f"{args.model}: not a model directory (no config.json)", file=sys.stderr)
        return 2
    result = bench(args.model, args.max_tokens, args.repeat)
    print_table(result)
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
