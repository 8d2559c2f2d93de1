"""MlxEngine on the real embedded tiny model (CPU)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from exo_spec.engine.mlx_engine import (
    EMBEDDED_MODEL_DIR,
    EMBEDDED_MODEL_REPO_ID,
    EngineError,
    GroupError,
    MlxEngine,
    ModelLoadError,
    ModelNotLoadedError,
)
from exo_spec.runtime.engine_protocol import (
    ChatMessage,
    ChatRequest,
    GroupPeer,
    LoadProgress,
    TokenChunk,
)


def never() -> bool:
    return False


def ask(content: str, **kwargs: object) -> ChatRequest:
    return ChatRequest(messages=(ChatMessage("user", content),), **kwargs)  # type: ignore[arg-type]


def text_of(chunks: list[TokenChunk]) -> str:
    return "".join(c.text for c in chunks)


@pytest.fixture(scope="module")
def progress() -> list[LoadProgress]:
    return []


@pytest.fixture(scope="module")
def engine(progress: list[LoadProgress]) -> Iterator[MlxEngine]:
    eng = MlxEngine()
    progress.extend(eng.load(EMBEDDED_MODEL_DIR))
    yield eng
    eng.close()


def run(engine: MlxEngine, request: ChatRequest) -> list[TokenChunk]:
    return list(engine.generate(request, never))


def test_embedded_model_ships_with_the_package() -> None:
    assert EMBEDDED_MODEL_REPO_ID == "exo-spec/tiny-kjv"
    for name in ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"):
        assert (EMBEDDED_MODEL_DIR / name).is_file(), name
    assert MlxEngine().weights_present(EMBEDDED_MODEL_DIR)


def test_load_progress_counts_layers_in_order(
    engine: MlxEngine, progress: list[LoadProgress]
) -> None:
    assert engine.loaded
    n = progress[-1].total_layers
    assert n >= 2
    assert progress == [LoadProgress(k, n) for k in range(1, n + 1)]


def test_generate_streams_readable_words(engine: MlxEngine) -> None:
    chunks = run(engine, ask("And God said", max_tokens=48))
    assert chunks[-1].finish_reason in ("stop", "length")
    assert all(c.finish_reason is None for c in chunks[:-1])
    text = text_of(chunks)
    letters = sum(ch.isascii() and (ch.isalpha() or ch.isspace()) for ch in text)
    assert letters >= 0.8 * len(text), text
    words = set(re.findall(r"[A-Za-z]+", text))
    assert len(words) >= 5, text


def test_greedy_is_deterministic(engine: MlxEngine) -> None:
    request = ask("In the beginning", max_tokens=24)
    assert run(engine, request) == run(engine, request)


def test_same_seed_same_sample(engine: MlxEngine) -> None:
    request = ask("The LORD is my shepherd", max_tokens=24, temperature=1.0, top_p=0.9, seed=7)
    assert text_of(run(engine, request)) == text_of(run(engine, request))


def test_max_tokens_finishes_with_length(engine: MlxEngine) -> None:
    chunks = run(engine, ask("And God said", max_tokens=5))
    assert len(chunks) == 5
    assert [c.finish_reason for c in chunks] == [None, None, None, None, "length"]


def test_max_tokens_exactly(engine: MlxEngine) -> None:
    chunks = run(engine, ask("And", max_tokens=1))
    assert len(chunks) == 1
    assert chunks[0].finish_reason in ("length", "stop")


def test_stop_string_cuts_the_text(engine: MlxEngine) -> None:
    full = text_of(run(engine, ask("And God said", max_tokens=48)))
    # A stop string spanning a space spans two tokens (the BPE splits before spaces).
    space = full.index(" ", 8)
    stop = full[space - 2 : space + 3]
    assert len(stop) == 5, full
    index = full.find(stop)
    chunks = run(engine, ask("And God said", max_tokens=48, stop=("zzzz", stop)))
    assert chunks[-1].finish_reason == "stop"
    assert text_of(chunks) == full[:index]


def test_cancellation_between_tokens(engine: MlxEngine) -> None:
    seen: list[TokenChunk] = []

    def after_three() -> bool:
        return len(seen) >= 3

    for chunk in engine.generate(ask("And God said", max_tokens=48), after_three):
        seen.append(chunk)
    assert [c.finish_reason for c in seen] == [None, None, None, "cancelled"]
    assert seen[-1].text == ""


def test_warmup_runs(engine: MlxEngine) -> None:
    engine.warmup()


def test_warmup_before_load_raises() -> None:
    with pytest.raises(ModelNotLoadedError, match=r"warmup called before load\(\)"):
        MlxEngine().warmup()


def test_close_twice_then_generate_raises() -> None:
    eng = MlxEngine()
    for _ in eng.load(EMBEDDED_MODEL_DIR):
        pass
    eng.close()
    eng.close()
    assert not eng.loaded
    with pytest.raises(ModelNotLoadedError, match=r"generate called after close\(\)"):
        eng.generate(ask("hi"), never)


def test_load_of_a_missing_directory_raises(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match=r"no config\.json"):
        list(MlxEngine().load(tmp_path / "nothing"))


@pytest.mark.parametrize(
    ("rank", "peers", "why"),
    [
        (0, [GroupPeer(0, "127.0.0.1:1")], "at least two peers"),
        (0, [GroupPeer(0, "127.0.0.1:1"), GroupPeer(2, "127.0.0.1:2")], "exactly once"),
        (2, [GroupPeer(0, "127.0.0.1:1"), GroupPeer(1, "127.0.0.1:2")], "rank 2 is not"),
        (0, [GroupPeer(0, "127.0.0.1"), GroupPeer(1, "127.0.0.1:2")], "expected host:port"),
        (0, [GroupPeer(0, "127.0.0.1:0"), GroupPeer(1, "127.0.0.1:2")], "expected host:port"),
    ],
)
def test_connect_refuses_a_malformed_group_without_blocking(
    rank: int, peers: list[GroupPeer], why: str
) -> None:
    with pytest.raises(GroupError, match=why) as info:
        MlxEngine().connect(rank, peers)
    assert isinstance(info.value, EngineError)


def test_importing_the_engine_package_does_not_import_mlx() -> None:
    code = "import sys, exo_spec.engine; print('mlx' in sys.modules, 'mlx_lm' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.split() == ["False", "False"]


@pytest.mark.parametrize(
    ("segments", "stops", "expected"),
    [
        (["Let there ", "be li", "ght"], ("be light",), ("Let there ", True)),
        (["Let there ", "b", "e"], ("be light",), ("Let there be", False)),
        (["abc", "def"], (), ("abcdef", False)),
        (["a:", ":b"], ("::", "b"), ("a", True)),
    ],
)
def test_stop_matcher_finds_stops_split_across_segments(
    segments: list[str], stops: tuple[str, ...], expected: tuple[str, bool]
) -> None:
    from exo_spec.engine.mlx_engine import _StopMatcher

    matcher = _StopMatcher(stops)
    out = ""
    for segment in segments:
        text, hit = matcher.feed(segment)
        out += text
        if hit:
            assert (out, True) == expected
            return
    assert (out + matcher.flush(""), False) == expected


def test_a_pipeline_rank_needs_only_its_layers_weight_files(tmp_path: Path) -> None:
    from exo_spec.engine.group import layer_range, shard_files
    from exo_spec.engine.weights import ManifestEntry, file_sha256, weights_present, write_manifest

    index = {"weight_map": {"model.embed_tokens.weight": "a.safetensors"}}
    index["weight_map"] |= {f"model.layers.{i}.mlp.weight": f"l{i}.safetensors" for i in range(4)}
    (tmp_path / "model.safetensors.index.json").write_text(json.dumps(index))
    assert layer_range(4, 0, 2) == (2, 4)  # rank 0 runs the last layers (it owns the output)
    assert layer_range(4, 1, 2) == (0, 2)
    assert shard_files(tmp_path, 2, 4) == frozenset(
        {"a.safetensors", "l2.safetensors", "l3.safetensors"}
    )
    entries = []
    for name in ("a.safetensors", "l0.safetensors", "l2.safetensors", "l3.safetensors"):
        (tmp_path / name).write_bytes(name.encode())
        entries.append(ManifestEntry(name, len(name), file_sha256(tmp_path / name)))
    entries.append(ManifestEntry("l1.safetensors", 3, "0" * 64))  # missing: rank 1's layer
    write_manifest(tmp_path, repo_id="o/m", revision="main", commit="c", endpoint="e",
                   entries=entries)  # fmt: skip
    needed = shard_files(tmp_path, 2, 4) or frozenset()
    assert weights_present(tmp_path, needed=needed.__contains__).ok
    assert not weights_present(tmp_path).ok
    assert shard_files(tmp_path / "none", 0, 1) is None
