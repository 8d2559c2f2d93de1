"""The node process: the local hub (unless one is given), the node, and uvicorn serving it.

uvicorn is the ASGI server (exo's own choice, with FastAPI): well kept, small, and it handles
SIGTERM and SIGINT itself. On either it stops accepting connections, lets open streams end (up
to ``graceful_s``), then the app's lifespan closes the node: every runner gets Shutdown, then
SIGTERM and SIGKILL by the supervisor's bounds, so no runner process outlives the node.
"""

from __future__ import annotations

import contextlib
import signal
import socket
import sys
from collections.abc import Iterator
from pathlib import Path
from types import FrameType

import uvicorn
from attrs import frozen

from exo_spec.logs import logger
from exo_spec.node.app import create_app
from exo_spec.node.service import Node
from exo_spec.spec import Spec
from exo_spec.supervisor import EngineFactory
from exo_spec.testing.hub import serve_hub

__all__ = ["NodeConfig", "serve"]

ENGINE = "exo_spec.engine.mlx_engine:MlxEngine"


@frozen
class NodeConfig:
    """How to run the node; ``hub`` ``None`` serves the embedded model from a local hub."""

    spec: Spec
    host: str = "127.0.0.1"
    port: int = 52415
    models_dir: Path = Path("models")
    hub: str | None = None
    place: tuple[str, ...] | None = None
    ranks: int = 1
    ignore_eos: bool = False
    graceful_s: float = 10.0


class _Server(uvicorn.Server):
    """uvicorn, except that a handled SIGTERM or SIGINT is not raised again once it has shut
    down: the node exits 0 after a graceful shutdown, as a daemon's supervisor expects."""

    node: Node | None = None

    def handle_exit(self, sig: int, _frame: FrameType | None) -> None:
        if self.node is not None:
            self.node.closing = True  # new chats get 503, the event streams end
        logger.info("exo-spec node: signal {} received, shutting down", sig)
        if self.should_exit and sig == signal.SIGINT:
            self.force_exit = True
        self.should_exit = True


def _weights_present(model_dir: Path) -> bool:
    from exo_spec.engine.weights import weights_present  # noqa: PLC0415 (the runner's guard)

    return weights_present(model_dir).ok


@contextlib.contextmanager
def _hub(config: NodeConfig) -> Iterator[tuple[str, tuple[str, ...]]]:
    """The hub's URL and the models to place at start."""
    from exo_spec.engine.mlx_engine import (  # noqa: PLC0415 (mlx: only when serving)
        EMBEDDED_MODEL_DIR,
        EMBEDDED_MODEL_REPO_ID,
    )

    if config.hub is not None:
        yield config.hub, config.place or ()
        return
    with serve_hub({EMBEDDED_MODEL_REPO_ID: EMBEDDED_MODEL_DIR}) as hub:
        yield hub.url, config.place if config.place is not None else (EMBEDDED_MODEL_REPO_ID,)


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    sock.setblocking(False)
    return sock


def serve(config: NodeConfig) -> int:
    """Run the node until SIGTERM or SIGINT; 0 after a clean shutdown."""
    from exo_spec.engine.download import model_dir_for  # noqa: PLC0415 (huggingface_hub)
    from exo_spec.engine.group import OUTPUT_RANK  # noqa: PLC0415 (mlx: only when serving)

    with _hub(config) as (hub_url, models):
        kwargs: dict[str, str | bool] = {"endpoint": hub_url}
        if config.ignore_eos:
            kwargs["ignore_eos"] = True
        node = Node(
            config.spec,
            config.models_dir,
            EngineFactory(ENGINE, kwargs),
            weights=_weights_present,
            model_dir_for=model_dir_for,
            output_rank=OUTPUT_RANK,
        )

        async def place_all(node: Node) -> None:
            for model in models:
                await node.place(model, ranks=config.ranks)

        app = create_app(node, on_startup=place_all)
        sock = _bind(config.host, config.port)
        host, port = sock.getsockname()[:2]
        server = _Server(
            uvicorn.Config(
                app,
                log_level="warning",
                timeout_graceful_shutdown=int(config.graceful_s),
                lifespan="on",
            )
        )
        server.node = node
        sys.stderr.write(
            f"exo-spec node: serving on http://{host}:{port} (hub {hub_url}, models in "
            f"{config.models_dir}, placing {', '.join(models) or 'nothing'}"
            f"{f' on {config.ranks} ranks each' if config.ranks > 1 else ''})\n"
        )
        sys.stderr.flush()
        server.run(sockets=[sock])
        logger.info("exo-spec node stopped")
    sys.stderr.write("exo-spec node: stopped\n")
    return 0 if server.started else 1
