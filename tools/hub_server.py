"""Serve local model directories as a Hugging Face-compatible hub on 127.0.0.1.

    python tools/hub_server.py --repo exo-spec/tiny-kjv=src/exo_spec/engine/models/tiny-kjv

prints the URL (use it as ``HF_ENDPOINT``) and serves until Ctrl-C.
"""

from __future__ import annotations

import argparse
import sys
import threading
from pathlib import Path

from exo_spec.testing.hub import HubFaults, serve_hub


def _repo_arg(value: str) -> tuple[str, Path]:
    repo_id, sep, directory = value.partition("=")
    if not sep or repo_id.count("/") != 1 or not directory:
        raise argparse.ArgumentTypeError(f"expected ORG/NAME=DIRECTORY, got {value!r}")
    path = Path(directory)
    if not path.is_dir():
        raise argparse.ArgumentTypeError(f"{directory!r} is not a directory")
    return repo_id, path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--repo", action="append", type=_repo_arg, required=True, help="ORG/NAME=DIRECTORY"
    )
    parser.add_argument("--port", type=int, default=0, help="port (0 picks a free one)")
    parser.add_argument("--delay", type=float, default=0.0, help="delay each response (s)")
    args = parser.parse_args(argv)
    repos = dict(args.repo)
    try:
        with serve_hub(repos, HubFaults(delay_s=args.delay), port=args.port) as hub:
            print(hub.url, flush=True)
            for repo_id in repos:
                print(f"serving {repo_id} ({hub.repos[repo_id].commit})", file=sys.stderr)
            threading.Event().wait()
    except KeyboardInterrupt:
        return 0
    except OSError as error:
        print(f"hub_server: cannot serve: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
