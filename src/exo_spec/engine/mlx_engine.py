"""``MlxEngine``: the engine protocol on mlx and mlx_lm, single-node or as one rank of a group.

With ``exo_spec.engine.group`` this is the only code of exo-spec that imports ``mlx``. It loads
a model directory lazily and materialises it one transformer layer at a time (so ``load``
reports real progress), streams tokens with ``mlx_lm.generate.generate_step`` and handles EOS,
``max_tokens``, stop strings and cancellation between tokens.

In a group (``connect``) each rank loads its slice of the layers and every rank runs each
generation in lockstep: the cancel flag is agreed across ranks every ``cancel_every`` tokens,
only the output rank's chunks carry text (the others stream empty chunks with the same token
ids, which keeps their supervisors' stall deadlines fed), and a barrier ends each generation.

The tiny model embedded in the package (``EMBEDDED_MODEL_DIR``, hub id ``exo-spec/tiny-kjv``)
runs on any CPU in well under a second per request.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Generator, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import mlx.core as mx
from mlx.utils import tree_flatten
from mlx_lm.generate import generate_step
from mlx_lm.sample_utils import make_sampler
from mlx_lm.utils import load_model, load_tokenizer

from exo_spec.engine.errors import (
    EngineError,
    EngineNotSupported,
    GroupError,
    GroupLostError,
    ModelLoadError,
    ModelNotLoadedError,
)
from exo_spec.engine.group import (
    OUTPUT_RANK,
    Group,
    PipelineStage,
    layer_range,
    lockstep_tokens,
    shard_files,
)
from exo_spec.logs import logger
from exo_spec.runtime.engine_protocol import (
    ChatMessage,
    ChatRequest,
    DownloadProgress,
    GroupPeer,
    LoadProgress,
    ModelRef,
    TokenChunk,
)

if TYPE_CHECKING:
    from exo_spec.runtime.engine_protocol import Engine

__all__ = [
    "EMBEDDED_MODEL_DIR",
    "EMBEDDED_MODEL_REPO_ID",
    "EngineError",
    "EngineNotSupported",
    "GroupError",
    "GroupLostError",
    "MlxEngine",
    "ModelLoadError",
    "ModelNotLoadedError",
]

EMBEDDED_MODEL_DIR: Path = Path(__file__).resolve().parent / "models" / "tiny-kjv"
"""The tiny chat model shipped inside the package (llama, ~1M parameters, KJV English)."""

EMBEDDED_MODEL_REPO_ID = "exo-spec/tiny-kjv"
"""The hub id under which the embedded model is published (and served by the local hub)."""

WARMUP_TOKENS = 4
CANCEL_EVERY = 4
"""In a group, the cancel flag is agreed across ranks every this many tokens."""
_EMBEDDED_FILES = ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json")


class _Loaded:
    """A loaded model: the mlx module, the tokenizer wrapper and what generation needs."""

    __slots__ = ("eos_token_ids", "model", "model_dir", "tokenizer")

    def __init__(self, model_dir: Path, model: Any, tokenizer: Any, *, ignore_eos: bool) -> None:
        self.model_dir = model_dir
        self.model = model
        self.tokenizer = tokenizer
        eos = () if ignore_eos else tokenizer.eos_token_ids
        self.eos_token_ids: frozenset[int] = frozenset(int(t) for t in eos)


class MlxEngine:
    """The engine protocol on mlx/mlx_lm: a single-node instance, or one rank of a group."""

    def __init__(
        self,
        *,
        endpoint: str | None = None,
        ignore_eos: bool = False,
        cancel_every: int = CANCEL_EVERY,
    ) -> None:
        """``endpoint`` is the hub to download from (default ``$HF_ENDPOINT``, then the Hugging
        Face hub); ``ignore_eos=True`` generates until ``max_tokens`` or a stop string (benchmarks);
        ``cancel_every`` is how many tokens a group runs between two cancel agreements.
        """
        if cancel_every < 1:
            raise EngineError(f"cancel_every is {cancel_every}; expected at least 1 token")
        self._endpoint = endpoint
        self._loaded: _Loaded | None = None
        self._closed = False
        self._ignore_eos = ignore_eos
        self._cancel_every = cancel_every
        self._group: Group | None = None
        self._group_lost = False

    # -- download / connect -------------------------------------------------------------

    def download(
        self, model: ModelRef, models_dir: Path, progress: Callable[[DownloadProgress], None]
    ) -> Path:
        """Fetch ``model`` into ``models_dir`` (see ``exo_spec.engine.download``)."""
        from exo_spec.engine.download import download_model  # noqa: PLC0415 (optional module)

        return download_model(model, models_dir, progress, endpoint=self._endpoint)

    def weights_present(self, model_dir: Path) -> bool:
        """Every file of the model in ``model_dir`` is on disk and matches its manifest.

        The embedded model ships inside the package without a download manifest: it is present
        when its config and weights are.
        """
        if Path(model_dir).resolve() == EMBEDDED_MODEL_DIR:
            return all((EMBEDDED_MODEL_DIR / f).is_file() for f in _EMBEDDED_FILES)
        from exo_spec.engine.weights import weights_present  # noqa: PLC0415 (keep imports light)

        check = weights_present(Path(model_dir), needed=self._needed_files(Path(model_dir)))
        if not check.ok:
            logger.bind(model_dir=str(model_dir)).debug(
                "weights not present: {}", "; ".join(check.problems)
            )
        return check.ok

    def _needed_files(self, model_dir: Path) -> Callable[[str], bool] | None:
        """In a group: which of the manifest's files this rank needs (its layers' weight
        files, and every file that is not weights); ``None``: all of them."""
        if self._group is None:
            return None
        try:
            config = json.loads((model_dir / "config.json").read_text(encoding="utf-8"))
            num_layers = int(config["num_hidden_layers"])
        except (OSError, ValueError, KeyError, TypeError):
            return None  # the full check then reports what is wrong
        start, end = layer_range(num_layers, self._group.rank, self._group.size)
        shards = shard_files(model_dir, start, end)
        if shards is None:
            return None
        return lambda name: not name.endswith(".safetensors") or name in shards

    def connect(self, rank: int, peers: Sequence[GroupPeer]) -> None:
        """Join the ring group of ``peers`` as ``rank``; blocks until every peer has joined.

        ``mx.distributed.init`` cannot be interrupted: a runner whose peers never arrive is
        ended by its supervisor's ``connecting`` deadline (the process is killed)."""
        if self._group is not None or self._group_lost:
            raise GroupError(
                f"rank {rank} is already in a group (or was): mlx forms one group per "
                "process; start a fresh runner to join another"
            )
        self._group = Group.join(rank, peers)

    @property
    def group(self) -> Group | None:
        """The group this engine is a rank of, once connected."""
        return self._group

    # -- load / warmup --------------------------------------------------------------------

    @property
    def loaded(self) -> bool:
        """Whether a model is loaded and ready to generate."""
        return self._loaded is not None

    def load(self, model_dir: Path) -> Iterator[LoadProgress]:
        """Load ``model_dir``, yielding ``LoadProgress(k, n)`` as layer ``k`` of ``n`` is read."""
        model_dir = Path(model_dir)
        config_path = model_dir / "config.json"
        if not config_path.is_file():
            raise ModelLoadError(
                f"{model_dir}: no config.json; expected an mlx_lm model directory "
                "(config.json, *.safetensors, tokenizer files), e.g. the result of download"
            )
        self._drop_model()
        try:
            model, _config = load_model(model_dir, lazy=True)
        except (FileNotFoundError, ValueError) as exc:
            raise ModelLoadError(f"{model_dir}: {exc}") from exc
        runnable: Any = model
        if self._group is None:
            layers = list(_layers_of(model))
            # Everything outside the transformer layers (embeddings, final norm, head) first.
            mx.eval(_params_outside_layers(model))
        else:
            runnable = PipelineStage(model, self._group)
            layers = runnable.layers
            mx.eval([part.parameters() for part in runnable.outside_layers()])
        total = len(layers)
        for k, layer in enumerate(layers, 1):
            mx.eval(layer.parameters())
            yield LoadProgress(layers_loaded=k, total_layers=total)
        try:
            tokenizer = load_tokenizer(  # type: ignore[no-untyped-call]
                model_dir, eos_token_ids=_config.get("eos_token_id")
            )
        except (OSError, ValueError) as exc:
            raise ModelLoadError(f"{model_dir}: tokenizer not loadable: {exc}") from exc
        self._loaded = _Loaded(model_dir, runnable, tokenizer, ignore_eos=self._ignore_eos)
        self._closed = False

    def warmup(self) -> None:
        """Generate a few tokens so that the first real request does not pay for setup."""
        loaded = self._require_loaded("warmup")
        if self._group is not None:
            warm = (ChatMessage("user", "warmup"),)
            request = ChatRequest(messages=warm, max_tokens=WARMUP_TOKENS)
            for _ in self.generate(request, lambda: False):
                pass
            return
        prompt = mx.array(loaded.tokenizer.encode("warmup", add_special_tokens=False))
        for _ in zip(range(WARMUP_TOKENS), generate_step(prompt, loaded.model), strict=False):
            pass

    # -- generate ---------------------------------------------------------------------

    def generate(self, request: ChatRequest, cancelled: Callable[[], bool]) -> Iterator[TokenChunk]:
        """Stream the reply to ``request``; the last chunk carries the finish reason."""
        loaded = self._require_loaded("generate")
        if request.max_tokens < 1:
            raise EngineError(f"max_tokens is {request.max_tokens}; expected at least 1")
        prompt = self._prompt_ids(loaded, request)
        context = _context_length(loaded.model)
        if context is not None and prompt.size + request.max_tokens > context:
            raise EngineError(
                f"the prompt is {prompt.size} tokens and max_tokens is {request.max_tokens}: "
                f"together over the model's context of {context} tokens; shorten the prompt "
                f"or ask for at most {max(0, context - prompt.size)} tokens"
            )
        sampler = make_sampler(
            temp=request.temperature, top_p=request.top_p if request.top_p < 1.0 else 0.0
        )
        if self._group is not None:
            return self._group_stream(loaded, self._group, prompt, request, sampler, cancelled)
        if request.seed is not None:
            mx.random.seed(request.seed)
        steps = (
            int(step[0])
            for step in generate_step(
                prompt, loaded.model, max_tokens=request.max_tokens, sampler=sampler
            )
        )
        return _stream(loaded, steps, request, cancelled)

    def _group_stream(
        self,
        loaded: _Loaded,
        group: Group,
        prompt: mx.array,
        request: ChatRequest,
        sampler: Callable[[mx.array], mx.array],
        cancelled: Callable[[], bool],
    ) -> Iterator[TokenChunk]:
        """One generation in lockstep with the other ranks (see the module's docstring)."""
        every = self._cancel_every
        calls = 0

        def agreed_cancel() -> bool:
            nonlocal calls
            local = cancelled()  # also takes the tasks that arrived meanwhile
            due, calls = calls % every == 0, calls + 1
            return group.any(local) if due else False

        try:
            # every rank samples with the output rank's seed (the tokens must be the same)
            seed = request.seed if request.seed is not None else secrets.randbelow(2**31)
            mx.random.seed(group.from_output_rank(seed % 2**31))
            steps = lockstep_tokens(loaded.model, group, prompt, request.max_tokens, sampler)
            for chunk in _stream(loaded, steps, request, agreed_cancel):
                if chunk.finish_reason is not None:
                    group.barrier()  # no rank leaves while a peer still waits on it
                if group.rank == OUTPUT_RANK:
                    yield chunk
                else:
                    yield TokenChunk("", chunk.token_id, chunk.finish_reason)
        except GroupLostError:
            self._group_lost = True
            raise

    def _prompt_ids(self, loaded: _Loaded, request: ChatRequest) -> mx.array:
        messages = [{"role": m.role, "content": m.content} for m in request.messages]
        ids = loaded.tokenizer.apply_chat_template(messages, add_generation_prompt=True)
        return mx.array([int(i) for i in ids])

    # -- close ------------------------------------------------------------------------

    def close(self) -> None:
        """Drop the model, free mlx's buffer cache and leave the group; safe to repeat."""
        self._drop_model()
        if self._group is not None:
            self._group.leave()
            self._group = None

    def _drop_model(self) -> None:
        if self._loaded is not None:
            self._loaded = None
            self._closed = True
            mx.clear_cache()

    def _require_loaded(self, action: str) -> _Loaded:
        if self._loaded is None:
            when = "after close()" if self._closed else "before load()"
            raise ModelNotLoadedError(
                f"{action} called {when}: no model is loaded; run load(model_dir) first"
            )
        return self._loaded


def _context_length(model: object) -> int | None:
    """The model's context window (``max_position_embeddings``), when its config has one."""
    value = getattr(getattr(model, "args", None), "max_position_embeddings", None)
    return value if isinstance(value, int) and value > 0 else None


def _stream(
    loaded: _Loaded,
    steps: Generator[int, None, None],
    request: ChatRequest,
    cancelled: Callable[[], bool],
) -> Iterator[TokenChunk]:
    """The token loop: one chunk per token, stop strings held back until they can't match."""
    detok = loaded.tokenizer.detokenizer
    detok.reset()
    stops = _StopMatcher(request.stop)
    eos = loaded.eos_token_ids
    max_tokens = request.max_tokens
    token_id = -1
    try:
        n = 0
        while True:
            if cancelled():
                detok.finalize()
                yield TokenChunk(stops.flush(detok.last_segment), token_id, "cancelled")
                return
            step = next(steps, None)
            if step is None:  # generate_step ended early; nothing more will come
                detok.finalize()
                yield TokenChunk(stops.flush(detok.last_segment), token_id, "length")
                return
            token_id = step
            n += 1
            if token_id in eos:
                detok.finalize()
                yield TokenChunk(stops.flush(detok.last_segment), token_id, "stop")
                return
            detok.add_token(token_id)
            last = n >= max_tokens
            if last:
                detok.finalize()
            text, hit = stops.feed(detok.last_segment)
            if hit:
                yield TokenChunk(text, token_id, "stop")
                return
            if last:
                yield TokenChunk(text + stops.flush(""), token_id, "length")
                return
            yield TokenChunk(text, token_id)
    finally:
        steps.close()


class _StopMatcher:
    """Finds stop strings in streamed text, even when one is split across tokens.

    ``feed`` returns the text that is safe to emit now: everything except a tail that may
    still grow into a stop string. On a match it returns the text before the stop string.
    """

    __slots__ = ("_held", "_longest", "_stops")

    def __init__(self, stops: Sequence[str]) -> None:
        self._stops = tuple(s for s in stops if s)
        self._longest = max((len(s) for s in self._stops), default=0)
        self._held = ""

    def feed(self, segment: str) -> tuple[str, bool]:
        if not self._stops:
            return segment, False
        text = self._held + segment
        cut = min((i for s in self._stops if (i := text.find(s)) >= 0), default=-1)
        if cut >= 0:
            self._held = ""
            return text[:cut], True
        keep = self._partial_suffix(text)
        self._held = text[len(text) - keep :] if keep else ""
        return text[: len(text) - keep], False

    def flush(self, segment: str) -> str:
        text, hit = self.feed(segment)
        if hit:
            return text
        text, self._held = text + self._held, ""
        return text

    def _partial_suffix(self, text: str) -> int:
        """Length of the longest suffix of ``text`` that is a proper prefix of a stop string."""
        for k in range(min(len(text), self._longest - 1), 0, -1):
            tail = text[-k:]
            if any(s.startswith(tail) for s in self._stops):
                return k
        return 0


def _layers_of(model: Any) -> Sequence[Any]:
    layers = getattr(model, "layers", None)
    if layers is None:
        raise ModelLoadError(
            f"model class {type(model).__name__} has no `layers`; expected an mlx_lm "
            "transformer (llama, qwen2, mistral, ...)"
        )
    return list(layers)


def _params_outside_layers(model: Any) -> list[Any]:
    """Every parameter array of ``model`` that is not inside one of its layers."""
    inside = {id(v) for layer in _layers_of(model) for v in _leaves(layer.parameters())}
    return [v for v in _leaves(model.parameters()) if id(v) not in inside]


def _leaves(tree: Any) -> list[Any]:
    return [pair[1] for pair in tree_flatten(tree)]


if TYPE_CHECKING:
    _check: Engine = MlxEngine()
