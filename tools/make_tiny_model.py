"""Build the embedded tiny model ``exo-spec/tiny-kjv`` from the King James Bible.

Trains a byte-level BPE tokenizer and a small llama-shaped model with mlx on the CPU, then
writes an mlx_lm-loadable directory (config.json, model.safetensors, tokenizer.json,
tokenizer_config.json with a ChatML template, generation_config.json, README.md).

The corpus comes from Debian's ``bible-kjv-text`` package (``apt-get install bible-kjv-text``).
``CORPUS`` may be:

* a plain text file, one verse per line (``Ge1:1 In the beginning ...`` references are
  stripped), or a directory of ``*.txt`` files;
* the package's compressed ``bible.data`` (``dpkg -L bible-kjv-text``), decoded with the
  ``bible`` program of the ``bible-kjv`` package (installed with it).

Everything is seeded: the same corpus and options give the same weights on the same machine.

Usage::

    python tools/make_tiny_model.py /usr/lib/bible.data
    python tools/make_tiny_model.py kjv.txt --out /tmp/tiny --steps 100
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, cast

import mlx.core as mx
import mlx.optimizers as optim
import numpy as np
from mlx import nn
from mlx.utils import tree_flatten
from mlx_lm.models.llama import Model, ModelArgs
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO_ROOT / "src" / "exo_spec" / "engine" / "models" / "tiny-kjv"
BIBLE_DATA_MAGIC = b"EC02Compressed"
VERSE_REF = re.compile(r"^\s*[1-3]?[A-Za-z]+\d+:\d+\s+")
SPECIAL_TOKENS = ("<|endoftext|>", "<|im_start|>", "<|im_end|>")
CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)
SAMPLE_PROMPT = "And God said"


def read_corpus(path: Path) -> list[str]:
    """Return the verses of the corpus at ``path`` (file, directory or ``bible.data``)."""
    if path.is_dir():
        files = sorted(path.rglob("*.txt"))
        if not files:
            raise SystemExit(f"{path}: no *.txt files in this directory")
        text = "\n".join(f.read_text(encoding="utf-8") for f in files)
    else:
        with path.open("rb") as fh:
            head = fh.read(len(BIBLE_DATA_MAGIC))
        text = decode_bible_data(path) if head == BIBLE_DATA_MAGIC else path.read_text("utf-8")
    verses = [VERSE_REF.sub("", line).strip() for line in text.splitlines()]
    verses = [" ".join(v.split()) for v in verses if len(v.split()) >= 3]
    if len(verses) < 100:
        raise SystemExit(f"{path}: only {len(verses)} verses found; expected the whole KJV")
    return verses


def decode_bible_data(path: Path) -> str:
    """Decode Debian's compressed ``bible.data`` with the ``bible`` program."""
    exe = shutil.which("bible")
    if exe is None:
        raise SystemExit(
            f"{path} is a compressed bible.data file; decoding it needs the `bible` program "
            "(apt-get install bible-kjv), or pass a plain text file instead"
        )
    name = path.name
    result = subprocess.run(
        [exe, "-f", "-p", str(path.parent), "-d", name, "Gen1:1-Rev22:21"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        check=True,
        text=True,
    )
    return result.stdout


def named_leaves(tree: Any) -> list[tuple[str, mx.array]]:
    return cast(list[tuple[str, mx.array]], tree_flatten(tree))


def leaves(tree: Any) -> list[mx.array]:
    return [pair[1] for pair in named_leaves(tree)]


def train_tokenizer(verses: Sequence[str], vocab_size: int) -> Tokenizer:
    """A byte-level BPE tokenizer with the ChatML special tokens."""
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=list(SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(verses, trainer=trainer)
    return tok


def conversations(verses: Sequence[str], rng: random.Random) -> Iterator[str]:
    """ChatML conversations: the user gives the start of a verse, the assistant goes on.

    Half the time the assistant continues the verse; otherwise the user gives a whole verse
    and the assistant answers with the next one.
    """
    for i, verse in enumerate(verses):
        words = verse.split()
        if rng.random() < 0.5 and len(words) >= 6:
            cut = rng.randint(2, min(6, len(words) - 2))
            user, answer = " ".join(words[:cut]), " ".join(words[cut:])
        else:
            user, answer = verse, verses[(i + 1) % len(verses)]
        yield (f"<|im_start|>user\n{user}<|im_end|>\n<|im_start|>assistant\n{answer}<|im_end|>\n")


def token_stream(tok: Tokenizer, verses: Sequence[str], seed: int) -> np.ndarray:
    rng = random.Random(seed)
    docs = list(conversations(verses, rng))
    ids: list[int] = []
    for enc in tok.encode_batch(docs):
        ids.extend(enc.ids)
    return np.asarray(ids, dtype=np.int32)


def batches(
    data: np.ndarray, batch_size: int, seq_len: int, steps: int, seed: int
) -> Iterator[tuple[mx.array, mx.array]]:
    rng = np.random.default_rng(seed)
    high = len(data) - seq_len - 1
    for _ in range(steps):
        starts = rng.integers(0, high, size=batch_size)
        chunk = np.stack([data[s : s + seq_len + 1] for s in starts])
        yield mx.array(chunk[:, :-1]), mx.array(chunk[:, 1:])


def model_config(args: argparse.Namespace, vocab_size: int) -> dict[str, Any]:
    return {
        "model_type": "llama",
        "architectures": ["LlamaForCausalLM"],
        "hidden_size": args.hidden,
        "num_hidden_layers": args.layers,
        "intermediate_size": args.intermediate,
        "num_attention_heads": args.heads,
        "num_key_value_heads": args.heads,
        "rms_norm_eps": 1e-5,
        "vocab_size": vocab_size,
        "max_position_embeddings": 1024,
        "rope_theta": 10000.0,
        "tie_word_embeddings": True,
        "bos_token_id": None,
        "eos_token_id": vocab_ids(SPECIAL_TOKENS)["<|im_end|>"],
        "torch_dtype": "float16",
    }


def vocab_ids(tokens: Sequence[str]) -> dict[str, int]:
    # Special tokens are added first by the trainer, in order.
    return {t: i for i, t in enumerate(tokens)}


def train(args: argparse.Namespace) -> int:
    t0 = time.perf_counter()
    random.seed(args.seed)
    np.random.seed(args.seed)
    mx.random.seed(args.seed)

    verses = read_corpus(args.corpus)
    tok = train_tokenizer(verses, args.vocab)
    for i, t in enumerate(SPECIAL_TOKENS):
        if tok.token_to_id(t) != i:
            raise SystemExit(f"tokenizer: special token {t} has id {tok.token_to_id(t)}, not {i}")
    data = token_stream(tok, verses, args.seed)
    print(
        f"corpus: {len(verses)} verses, {len(data)} tokens, vocab {tok.get_vocab_size()}",
        file=sys.stderr,
    )

    config = model_config(args, tok.get_vocab_size())
    model = Model(ModelArgs.from_dict(config))  # type: ignore[no-untyped-call]
    n_params = sum(int(v.size) for v in leaves(model.parameters()))
    print(f"model: {n_params} parameters", file=sys.stderr)

    schedule = optim.join_schedules(
        [
            optim.linear_schedule(1e-5, args.lr, args.warmup),
            optim.cosine_decay(args.lr, args.steps - args.warmup, args.lr * 0.1),
        ],
        [args.warmup],
    )
    optimizer = optim.AdamW(learning_rate=schedule, weight_decay=0.01)

    def loss_fn(m: Model, x: mx.array, y: mx.array) -> mx.array:
        logits = m(x)
        return nn.losses.cross_entropy(logits, y, reduction="mean")

    loss_and_grad = nn.value_and_grad(model, loss_fn)  # type: ignore[attr-defined]
    state = [model.state, optimizer.state]

    def step(x: mx.array, y: mx.array) -> mx.array:
        loss, grads = loss_and_grad(model, x, y)
        grads, _ = optim.clip_grad_norm(grads, 1.0)  # type: ignore[no-untyped-call]
        optimizer.update(model, grads)
        return mx.array(loss)

    step = mx.compile(step, inputs=state, outputs=state)
    t_train = time.perf_counter()
    recent: list[float] = []
    for i, (x, y) in enumerate(batches(data, args.batch, args.seq, args.steps, args.seed), 1):
        loss = step(x, y)
        mx.eval(state)
        recent = [*recent[-19:], float(loss.item())]  # type: ignore[arg-type]
        if i % 25 == 0 or i == args.steps:
            rate = i * args.batch * args.seq / (time.perf_counter() - t_train)
            print(
                f"step {i}/{args.steps} loss {sum(recent) / len(recent):.3f} ({rate:.0f} tok/s)",
                file=sys.stderr,
            )
    final_loss = sum(recent) / len(recent)
    train_s = time.perf_counter() - t_train

    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    weights = {str(k): v.astype(mx.float16) for k, v in named_leaves(model.parameters())}
    mx.save_safetensors(str(out / "model.safetensors"), weights, metadata={"format": "mlx"})
    (out / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    tok.save(str(out / "tokenizer.json"))
    write_tokenizer_config(out)
    im_end = vocab_ids(SPECIAL_TOKENS)["<|im_end|>"]
    (out / "generation_config.json").write_text(
        json.dumps({"eos_token_id": im_end, "pad_token_id": 0}, indent=2) + "\n"
    )
    total_s = time.perf_counter() - t0
    sample = generate_sample(out)
    write_model_card(out, args, n_params, final_loss, train_s, total_s, sample)

    size = sum(f.stat().st_size for f in out.iterdir())
    print(f"training time: {train_s:.1f} s (total {total_s:.1f} s)")
    print(f"final loss: {final_loss:.3f}")
    print(f"model size: {size / 1e6:.2f} MB in {out}")
    print(f"sample ({SAMPLE_PROMPT!r}): {sample}")
    return 0


def write_tokenizer_config(out: Path) -> None:
    added = {
        str(i): {
            "content": t,
            "lstrip": False,
            "normalized": False,
            "rstrip": False,
            "single_word": False,
            "special": True,
        }
        for i, t in enumerate(SPECIAL_TOKENS)
    }
    config = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "added_tokens_decoder": added,
        "additional_special_tokens": ["<|im_start|>", "<|im_end|>"],
        "bos_token": None,
        "eos_token": "<|im_end|>",
        "pad_token": "<|endoftext|>",
        "unk_token": None,
        "clean_up_tokenization_spaces": False,
        "model_max_length": 1024,
        "chat_template": CHAT_TEMPLATE,
    }
    (out / "tokenizer_config.json").write_text(json.dumps(config, indent=2) + "\n")


def generate_sample(out: Path) -> str:
    from mlx_lm import generate, load

    loaded = load(str(out))
    model, tokenizer = loaded[0], loaded[1]
    prompt = tokenizer.apply_chat_template(  # type: ignore[no-untyped-call]
        [{"role": "user", "content": SAMPLE_PROMPT}], add_generation_prompt=True
    )
    return str(generate(model, tokenizer, prompt, max_tokens=60, verbose=False))


def write_model_card(
    out: Path,
    args: argparse.Namespace,
    n_params: int,
    final_loss: float,
    train_s: float,
    total_s: float,
    sample: str,
) -> None:
    card = f"""# tiny-kjv

A tiny llama-shaped chat model (hub id `exo-spec/tiny-kjv`) embedded in exo-spec so that the
engine, the runner and the conformance suite run a real model on any CPU without a download.
It writes verse-like King James English; it knows nothing else.

- Architecture: llama, {args.layers} layers, hidden {args.hidden}, MLP {args.intermediate},
  {args.heads} heads, tied embeddings, {n_params:,} parameters, float16 weights.
- Tokenizer: byte-level BPE (`tokenizers`), vocab {args.vocab}, ChatML chat template,
  special tokens `<|endoftext|>`, `<|im_start|>`, `<|im_end|>` (end of turn, EOS).
- Data: the King James Bible from Debian's `bible-kjv-text` package, formatted as ChatML
  conversations (the user gives the start of a verse or a whole verse; the assistant continues
  it or gives the next verse).
- Training: {args.steps} steps of AdamW (lr {args.lr}, warmup {args.warmup}, cosine decay),
  batch {args.batch} × {args.seq} tokens, seed {args.seed}, on CPU with mlx (2 cores, with the
  system OpenBLAS preloaded: the Linux `mlx[cpu]` wheel's reference BLAS is ~20x slower).
  Training time {train_s:.0f} s (total {total_s:.0f} s with tokenizer and data), final loss
  {final_loss:.3f}.

Made with:

```
apt-get install -y bible-kjv-text libopenblas0-pthread
.venv/bin/python tools/make_tiny_model.py /usr/lib/bible.data
```

Sample (prompt `{SAMPLE_PROMPT}`, chat template, greedy, 60 tokens):

> {sample.strip()}
"""
    (out / "README.md").write_text(card)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("corpus", type=Path, help="KJV text file, directory of *.txt, or bible.data")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT)
    p.add_argument("--vocab", type=int, default=1024)
    p.add_argument("--hidden", type=int, default=128)
    p.add_argument("--intermediate", type=int, default=384)
    p.add_argument("--layers", type=int, default=4)
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--steps", type=int, default=1000)
    p.add_argument("--warmup", type=int, default=100)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--seq", type=int, default=64)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--seed", type=int, default=0)
    return p.parse_args(argv)


def use_fast_blas() -> None:
    """Re-run this script with the system OpenBLAS preloaded, when there is one.

    The Linux ``mlx[cpu]`` wheel links the reference BLAS, which makes training ~20x slower;
    ``apt-get install libopenblas0-pthread`` provides a drop-in replacement.
    """
    if os.environ.get("LD_PRELOAD") or os.environ.get("TINY_MODEL_NO_OPENBLAS"):
        return
    lib = Path("/usr/lib/x86_64-linux-gnu/libopenblas.so.0")
    if sys.platform == "linux" and lib.exists():
        env = {**os.environ, "LD_PRELOAD": str(lib)}
        os.execve(sys.executable, [sys.executable, *sys.argv], env)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if not args.corpus.exists():
        print(f"{args.corpus}: no such file or directory", file=sys.stderr)
        return 2
    return train(args)


if __name__ == "__main__":
    use_fast_blas()
    sys.exit(main())
