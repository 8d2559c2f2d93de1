"""Each code's explanation: what it does, why, an example that triggers it, what to use instead.

``exo-spec rules CODE`` prints :func:`explain`. The explanations and examples are data
(``explanations.toml``, beside this, read when this module is imported: only ``exo-spec rules``
and the tests import it). Every example is run as a test (``tests/check/test_rule_examples.py``):
a ``spec`` example is the shipped runner spec with its ``edits`` applied, checked; a ``trace``
example is a JSON Lines log checked against the shipped runner spec by ``exo-spec trace-check``;
a ``fixture`` example is described here and run by a named test. Each yields its code, plus
exactly the codes listed in ``also``.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from exo_spec.spec.codes import BY_CODE, Example, Explanation

__all__ = ["EXPLANATIONS", "Example", "Explanation", "explain"]

_KINDS = ("spec", "trace", "fixture")


def _explanation(code: str, row: dict[str, Any], traces: dict[str, list[str]]) -> Explanation:
    kind = row["kind"]
    if kind not in _KINDS:
        raise ValueError(f"explanations.toml: {code}: bad kind {kind!r}")
    lines = [*traces[row["base"]], *row.get("lines", ())] if "base" in row else row.get("lines", ())
    example = Example(
        kind,
        row["description"],
        edits=tuple((old, new) for old, new in row.get("edits", ())),
        lines=tuple(lines),
        also=tuple(row.get("also", ())),
    )
    return Explanation(row["why"], row["instead"], example)


def _read_explanations() -> dict[str, Explanation]:
    with Path(__file__).with_name("explanations.toml").open("rb") as f:
        data = tomllib.load(f)
    traces = data.pop("traces")
    return {code: _explanation(code, row, traces) for code, row in data.items()}


def _example_text(example: Example) -> list[str]:
    out = [f"Example ({example.kind}): {example.description}"]
    if example.kind == "spec":
        out.append("  in the shipped runner spec (spec/runner.yaml), replace")
        for old, new in example.edits:
            out += [f"  - {line}" for line in old.splitlines() or [""]]
            out += [f"  + {line}" for line in new.splitlines() or [""]]
    for line in example.lines:
        out.append(f"  {line}")
    if example.also:
        out.append(f"  (also reported: {', '.join(example.also)})")
    return out


def explain(code: str) -> str:
    """The explanation of ``code`` as text (``KeyError`` for a code not in the table)."""
    info = BY_CODE[code]
    doc = EXPLANATIONS[code]
    lines = [
        f"{info.code} ({info.name}), {info.severity}, reported by the {info.origin}",
        "",
        f"What it does: reports {info.summary}.",
        f"Why: {doc.why}.",
        f"Use instead: {doc.instead}.",
        "",
        *_example_text(doc.example),
    ]
    return "\n".join(lines) + "\n"


EXPLANATIONS: dict[str, Explanation] = _read_explanations()
"""Every code's explanation, in the order of ``explanations.toml``."""
