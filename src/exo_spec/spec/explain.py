"""Each code's explanation: what it does, why, an example that triggers it, what to use instead.

``exo-spec rules CODE`` prints :func:`explain`. Every example is run as a test
(``tests/check/test_rule_examples.py``): a ``spec`` example is the shipped runner spec with its
``edits`` applied, checked; a ``trace`` example is a JSON Lines log checked against the shipped
runner spec by ``exo-spec trace-check``; a ``fixture`` example is described here and run by a
named test. Each yields its code, plus exactly the codes listed in ``also``.
"""

from __future__ import annotations

from exo_spec.spec.codes import BY_CODE, Example, Explanation
from exo_spec.spec.explain_explore import EXPLORE_CODES
from exo_spec.spec.explain_spec import SPEC_CODES
from exo_spec.spec.explain_trace import TRACE_CODES

__all__ = ["EXPLANATIONS", "Example", "Explanation", "explain"]


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


EXPLANATIONS: dict[str, Explanation] = {**SPEC_CODES, **TRACE_CODES, **EXPLORE_CODES}
