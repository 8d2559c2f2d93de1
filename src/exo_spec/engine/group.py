"""A pipeline group on MLX's distributed ``ring`` backend: joining it, a rank's stage, lockstep.

``Group.join(rank, peers)`` writes the ring hostfile (one ``host:port`` per rank, in rank order)
into a private temporary folder, points ``MLX_RANK``/``MLX_HOSTFILE`` at it and calls
``mx.distributed.init``. That call blocks, with no timeout, until every peer has arrived; it
cannot be interrupted from Python, so the runner process stays killable instead (the
supervisor's ``connecting`` deadline ends a runner whose peers never come).

The model is split by layers the way mlx_lm's ``PipelineMixin`` splits it: the highest rank
embeds the prompt and runs the first layers, rank 0 runs the last ones and owns the output; the
final hidden state is gathered on every rank, so each rank samples the same token and all ranks
step in lockstep. Every collective that fails because a peer went away raises
:class:`GroupLostError` instead of wedging.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Generator, Sequence
from pathlib import Path
from typing import Any

import mlx.core as mx
from mlx_lm.models.base import create_attention_mask
from mlx_lm.models.cache import KVCache

from exo_spec.engine.errors import GroupError, GroupLostError, ModelLoadError
from exo_spec.logs import logger
from exo_spec.runtime.engine_protocol import GroupPeer

__all__ = [
    "HOSTFILE_NAME",
    "OUTPUT_RANK",
    "Group",
    "PipelineStage",
    "layer_range",
    "lockstep_tokens",
    "ring_hosts",
    "shard_files",
]

HOSTFILE_NAME = "ring-hosts.json"
OUTPUT_RANK = 0
"""The rank that runs the last layers and streams the text of a generation."""

_SEED_BOUND = 2**31 - 1
_LAYER_KEY = re.compile(r"(?:^|\.)layers\.(\d+)\.")


def ring_hosts(rank: int, peers: Sequence[GroupPeer]) -> list[list[str]]:
    """The ring hostfile's content: one ``[host:port]`` per rank, in rank order."""
    ranks = sorted(p.rank for p in peers)
    if len(peers) < 2:
        raise GroupError(f"a group needs at least two peers, got {len(peers)}")
    if ranks != list(range(len(peers))):
        raise GroupError(
            f"peers have ranks {ranks}; expected each of 0..{len(peers) - 1} exactly once"
        )
    if not 0 <= rank < len(peers):
        raise GroupError(f"rank {rank} is not one of the peers' ranks 0..{len(peers) - 1}")
    for peer in peers:
        host, sep, port = peer.address.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise GroupError(
                f"peer {peer.rank} has address {peer.address!r}; expected host:port with an IP "
                "address and a port in 1..65535, e.g. 127.0.0.1:52415"
            )
    return [[p.address] for p in sorted(peers, key=lambda p: p.rank)]


class Group:
    """This process's membership of a ring group: collectives that name a lost peer."""

    def __init__(self, rank: int, size: int, handle: Any, folder: Path) -> None:
        self.rank = rank
        self.size = size
        self.handle = handle
        self.folder = folder

    @classmethod
    def join(cls, rank: int, peers: Sequence[GroupPeer]) -> Group:
        """Form the group (blocks until every peer has joined; kill the process to give up)."""
        hosts = ring_hosts(rank, peers)
        folder = Path(tempfile.mkdtemp(prefix=f"exo-spec-ring-{rank}-"))
        hostfile = folder / HOSTFILE_NAME
        hostfile.write_text(json.dumps(hosts), encoding="utf-8")
        os.environ["MLX_RANK"] = str(rank)
        os.environ["MLX_HOSTFILE"] = str(hostfile)
        log = logger.bind(rank=rank, size=len(peers))
        log.info("joining the ring group {}", " ".join(h[0] for h in hosts))
        try:
            handle = mx.distributed.init(strict=True, backend="ring")
            if handle.rank() != rank or handle.size() != len(peers):
                raise GroupError(
                    f"mlx formed a group of {handle.size()} as rank {handle.rank()}; "
                    f"expected rank {rank} of {len(peers)}"
                )
            group = cls(rank, len(peers), handle, folder)
            group.barrier()
        except (RuntimeError, ValueError, GroupError) as exc:
            _forget(folder)
            if isinstance(exc, GroupError):
                raise
            raise GroupError(f"rank {rank} could not join the ring group {hosts}: {exc}") from exc
        log.info("joined the ring group")
        return group

    # -- collectives -------------------------------------------------------------------------

    def eval(self, *arrays: Any) -> None:
        """``mx.eval`` that turns a lost peer into :class:`GroupLostError`."""
        try:
            mx.eval(*arrays)
        except RuntimeError as exc:
            raise GroupLostError(
                f"rank {self.rank} of {self.size}: the group is lost ({exc}); "
                "the instance must be formed again"
            ) from exc

    def barrier(self) -> None:
        """Return once every rank has reached its barrier."""
        self.eval(mx.distributed.all_sum(mx.array(1), group=self.handle))

    def any(self, flag: bool) -> bool:
        """Whether ``flag`` is true on at least one rank (every rank gets the same answer)."""
        total = mx.distributed.all_sum(mx.array(1 if flag else 0), group=self.handle)
        self.eval(total)
        return _as_int(total) > 0

    def from_output_rank(self, value: int) -> int:
        """``value`` as the output rank has it, on every rank (``0 <= value < 2**31``)."""
        if not 0 <= value <= _SEED_BOUND:
            raise GroupError(f"value {value} out of range 0..{_SEED_BOUND}")
        mine = value if self.rank == OUTPUT_RANK else 0
        total = mx.distributed.all_sum(mx.array(mine, dtype=mx.int32), group=self.handle)
        self.eval(total)
        return _as_int(total)

    # -- leaving -----------------------------------------------------------------------------

    def leave(self) -> None:
        """Drop the group and its hostfile folder; the sockets close when the process exits."""
        self.handle = None
        _forget(self.folder)


def _as_int(value: mx.array) -> int:
    return int(value.item())  # type: ignore[arg-type]  # a one-element array


def _forget(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)
    for name in ("MLX_RANK", "MLX_HOSTFILE"):
        os.environ.pop(name, None)


def layer_range(num_layers: int, rank: int, size: int) -> tuple[int, int]:
    """Layers ``[start, end)`` of ``rank``: an even split where the low ranks get the extra
    layers, and the highest rank runs the first layers (mlx_lm's ``PipelineMixin`` order)."""
    if num_layers < size:
        raise ModelLoadError(
            f"the model has {num_layers} layers; a pipeline of {size} ranks needs at least "
            f"one layer per rank"
        )
    base, extra = divmod(num_layers, size)
    split = [base + (1 if r < extra else 0) for r in range(size)]
    start = sum(split[rank + 1 :])
    return start, start + split[rank]


def shard_files(model_dir: Path, start: int, end: int) -> frozenset[str] | None:
    """The weight files holding layers ``[start, end)`` and everything outside the layers,
    from ``model.safetensors.index.json``; ``None`` when there is no index (one file)."""
    index = model_dir / "model.safetensors.index.json"
    try:
        weight_map = json.loads(index.read_text(encoding="utf-8"))["weight_map"]
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ModelLoadError(f"{index}: unreadable weight index ({exc})") from exc
    needed = set()
    for key, name in weight_map.items():
        match = _LAYER_KEY.search(key)
        if match is None or start <= int(match.group(1)) < end:
            needed.add(str(name))
    return frozenset(needed)


class PipelineStage:
    """The part of a llama-like mlx_lm model that one rank runs; called like the model."""

    def __init__(self, model: Any, group: Group) -> None:
        inner = getattr(model, "model", None)
        if inner is None or not all(hasattr(inner, a) for a in ("embed_tokens", "layers", "norm")):
            raise ModelLoadError(
                f"model class {type(model).__name__} cannot be pipelined: expected a llama-like "
                "mlx_lm model (model.embed_tokens, model.layers, model.norm)"
            )
        self.start, self.end = layer_range(len(inner.layers), group.rank, group.size)
        self.layers: list[Any] = list(inner.layers[self.start : self.end])
        self.total_layers = len(inner.layers)
        self._model = model
        self._inner = inner
        self._group = group

    def outside_layers(self) -> list[Any]:
        """The modules every rank keeps: the embedding, the final norm, the head if untied."""
        parts = [self._inner.embed_tokens, self._inner.norm]
        head = getattr(self._model, "lm_head", None)
        return parts if head is None else [*parts, head]

    def make_cache(self) -> list[KVCache]:
        return [KVCache() for _ in self.layers]  # type: ignore[no-untyped-call]

    def __call__(self, inputs: mx.array, cache: list[KVCache]) -> mx.array:
        rank, size, handle = self._group.rank, self._group.size, self._group.handle
        h = self._inner.embed_tokens(inputs)
        if rank < size - 1:
            h = mx.distributed.recv_like(h, rank + 1, group=handle)
        mask = create_attention_mask(h, cache[0])
        for layer, layer_cache in zip(self.layers, cache, strict=True):
            h = layer(h, mask, cache=layer_cache)
        if rank != OUTPUT_RANK:
            h = mx.distributed.send(h, rank - 1, group=handle)
            if cache[-1].keys is not None:  # keep the send in the cache's graph
                cache[-1].keys = mx.depends(cache[-1].keys, h)
        h = mx.distributed.all_gather(h, group=handle)[: h.shape[0]]
        h = self._inner.norm(h)
        head = getattr(self._model, "lm_head", None)
        logits: mx.array = self._inner.embed_tokens.as_linear(h) if head is None else head(h)
        return logits


def lockstep_tokens(
    stage: PipelineStage,
    group: Group,
    prompt: mx.array,
    max_tokens: int,
    sampler: Callable[[mx.array], mx.array],
) -> Generator[int, None, None]:
    """Token ids of a generation, one evaluated step at a time (no step left in flight, so
    every rank ends after the same step; the caller's barrier then closes the generation)."""
    cache = stage.make_cache()
    y = prompt
    for _ in range(max_tokens):
        logits = stage(y[None], cache)[:, -1, :]
        y = sampler(logits - mx.logsumexp(logits, keepdims=True))
        group.eval(y)
        yield _as_int(y)
