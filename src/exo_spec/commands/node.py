"""``exo-spec node``: the daemon that embeds the runners behind an OpenAI-compatible API.

FastAPI and uvicorn come with the ``node`` extra (``pip install 'exo-spec[node]'``); they are
imported only here, when the command runs, so the other commands stay light.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from exo_spec.commands.common import ExitCode
from exo_spec.extras import require

__all__ = ["add_arguments", "run"]

DEFAULT_PORT = 52415


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT})"
    )
    parser.add_argument(
        "--models-dir",
        type=Path,
        help="where models are downloaded (default $EXO_MODELS_DIR, then exo-spec's cache)",
    )
    parser.add_argument(
        "--hub",
        metavar="URL",
        help="the Hugging Face hub to download from (default: serve the embedded tiny model "
        "from a local hub and place it)",
    )
    parser.add_argument(
        "--place",
        action="append",
        metavar="MODEL",
        help="a model (hub repo id) to place at start; repeatable (default with no --hub: the "
        "embedded tiny model)",
    )
    parser.add_argument("--no-place", action="store_true", help="place nothing at start")
    parser.add_argument(
        "--ranks",
        type=int,
        default=1,
        choices=range(1, 9),
        metavar="N",
        help="place each model at start on N runners forming one ring group on 127.0.0.1 "
        "(default 1: one runner)",
    )
    parser.add_argument(
        "--spec", type=Path, help="the runner spec (default: the one shipped with exo-spec)"
    )
    parser.add_argument(
        "--ignore-eos",
        action="store_true",
        help="generate until max_tokens or a stop string (benchmarks and tests)",
    )


def run(args: argparse.Namespace) -> int:
    require("exo-spec node", "node", "mlx")
    from exo_spec.conformance.paths import default_spec_path
    from exo_spec.engine.download import models_dir
    from exo_spec.node.daemon import NodeConfig, serve
    from exo_spec.spec import load_spec

    spec_path = args.spec or default_spec_path()
    loaded = load_spec(spec_path)
    if loaded.spec is None or not loaded.ok:
        for diagnostic in loaded.diagnostics:
            sys.stderr.write(f"{diagnostic}\n")
        sys.stderr.write(f"exo-spec node: the spec {spec_path} does not load\n")
        return ExitCode.USAGE
    place: tuple[str, ...] | None = tuple(args.place) if args.place else None
    if args.no_place:
        place = ()
    config = NodeConfig(
        loaded.spec,
        host=args.host,
        port=args.port,
        models_dir=models_dir(args.models_dir),
        hub=args.hub,
        place=place,
        ranks=args.ranks,
        ignore_eos=args.ignore_eos,
    )
    try:
        return serve(config)
    except OSError as exc:
        sys.stderr.write(f"exo-spec node: cannot serve on {args.host}:{args.port}: {exc}\n")
        return ExitCode.USAGE
