"""Benchmark a two-rank pipeline group against one rank, and the per-token cancel agreement.

    .venv/bin/python tools/bench/bench_group.py [--model DIR] [--max-tokens 128] [--repeat 5]
        [--out tools/bench/out/bench_group.json]

One rank: ``MlxEngine`` in this process. Two ranks: ``MlxEngine`` in two spawned processes
joined over MLX's ``ring`` backend on 127.0.0.1 (connect, load their half of the layers,
warm up). Every side generates the same greedy tokens (EOS ignored, so lengths match), after
one warm-up. The group runs twice: agreeing on the cancel flag every token
(``cancel_every=1``) and only once per generation (``cancel_every`` larger than the
generation), which prices the agreement per token. Reported: tokens/s (median of the repeats,
prompt included) per side and the ratios.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import socket
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from exo_spec.engine.mlx_engine import EMBEDDED_MODEL_DIR, MlxEngine
from exo_spec.runtime.engine_protocol import ChatMessage, ChatRequest, GroupPeer

PROMPT = "And God said"
NEVER_AGREE = 1 << 30


def _request(max_tokens: int) -> ChatRequest:
    return ChatRequest(messages=(ChatMessage("user", PROMPT),), max_tokens=max_tokens)


def _tokens_per_s(engine: MlxEngine, max_tokens: int, repeat: int) -> list[float]:
    list(engine.generate(_request(max_tokens), lambda: False))  # warm-up
    rates = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        n = sum(1 for _ in engine.generate(_request(max_tokens), lambda: False))
        rates.append(n / (time.perf_counter() - t0))
    return rates


def _rank(
    rank: int, ports: list[int], model: str, cfg: dict[str, int], out: Any
) -> None:  # pragma: no cover - runs in a spawned process
    engine = MlxEngine(ignore_eos=True, cancel_every=cfg["cancel_every"])
    peers = [GroupPeer(r, f"127.0.0.1:{p}") for r, p in enumerate(ports)]
    engine.connect(rank, peers)
    list(engine.load(Path(model)))
    engine.warmup()
    rates = _tokens_per_s(engine, cfg["max_tokens"], cfg["repeat"])
    engine.close()
    out.put((rank, rates))


def _free_ports(n: int) -> list[int]:
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [int(s.getsockname()[1]) for s in socks]
    for s in socks:
        s.close()
    return ports


def group_rates(model: Path, max_tokens: int, repeat: int, cancel_every: int) -> list[float]:
    """The output rank's tokens/s over ``repeat`` generations of a two-rank group."""
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    cfg = {"max_tokens": max_tokens, "repeat": repeat, "cancel_every": cancel_every}
    ports = _free_ports(2)
    procs = [
        ctx.Process(target=_rank, args=(r, ports, str(model), cfg, out), daemon=True)
        for r in range(2)
    ]
    for p in procs:
        p.start()
    results = dict(out.get(timeout=600) for _ in procs)
    for p in procs:
        p.join(30)
    return list(results[0])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=EMBEDDED_MODEL_DIR)
    parser.add_argument("--max-tokens", type=int, default=128)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)

    single = MlxEngine(ignore_eos=True)
    list(single.load(args.model))
    one = _tokens_per_s(single, args.max_tokens, args.repeat)
    single.close()
    every = group_rates(args.model, args.max_tokens, args.repeat, 1)
    once = group_rates(args.model, args.max_tokens, args.repeat, NEVER_AGREE)

    med = {k: statistics.median(v) for k, v in (("one", one), ("every", every), ("once", once))}
    per_token_ms = (1 / med["every"] - 1 / med["once"]) * 1e3
    result = {
        "max_tokens": args.max_tokens,
        "repeat": args.repeat,
        "one_rank_tok_s": round(med["one"], 1),
        "two_ranks_tok_s_agree_every_token": round(med["every"], 1),
        "two_ranks_tok_s_agree_once": round(med["once"], 1),
        "two_ranks_over_one": round(med["every"] / med["one"], 3),
        "agreement_cost_ms_per_token": round(per_token_ms, 3),
    }
    text = json.dumps(result, indent=2)
    sys.stdout.write(text + "\n")
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
