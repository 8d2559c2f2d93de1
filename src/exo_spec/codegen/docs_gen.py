"""Render ``<machine>.md``: the diagram, the state x task matrix, the events and the timeouts.

Plain GitHub Markdown with a Mermaid ``stateDiagram-v2``. Names are identifiers; free text
(docs) goes through :func:`_cell`, which escapes what Markdown tables and HTML would read.
"""

from __future__ import annotations

import re
import urllib.parse

from exo_spec.codegen.source import header_lines, ident, spec_path_text
from exo_spec.model.drawing import drawn_edges
from exo_spec.model.plan import Op, plan_rule, reject_phase
from exo_spec.spec.types import Spec

__all__ = ["render_docs"]


def _cell(text: str) -> str:
    """Free text safe inside a Markdown table cell."""
    clean = "".join(ch if ch.isprintable() else " " for ch in text)
    for raw, escaped in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ("|", "\\|")):
        clean = clean.replace(raw, escaped)
    return clean.strip()


def _seconds(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:g} s"


def _ops(ops: tuple[Op, ...]) -> str:
    return " → ".join(str(op) for op in ops) or "(none)"


def _diagram(spec: Spec) -> list[str]:
    node = {s.name: f"s_{ident(s.name)}" for s in spec.states}
    lines = ["```mermaid", "stateDiagram-v2"]
    for state in spec.states:
        lines.append(f'    state "{ident(state.name)}" as {node[state.name]}')
    lines.append(f"    [*] --> {node[spec.initial]}")
    edges = (f"    {node[e.source]} --> {node[e.dest]}: {e.label}" for e in drawn_edges(spec))
    lines.extend(dict.fromkeys(edges))
    lines.extend(f"    {node[s.name]} --> [*]" for s in spec.states if s.final)
    transient = [node[s.name] for s in spec.states if s.transient]
    if transient:
        lines.append("    classDef transient fill:#fff3cd,stroke:#b58900")
        lines.append(f"    class {','.join(transient)} transient")
    lines.append("```")
    return lines


def _matrix(spec: Spec) -> list[str]:
    tasks = list(spec.tasks)
    lines = [
        "| state | " + " | ".join(tasks) + " |",
        "|---|" + "---|" * len(tasks),
    ]
    for state in spec.cell_states():
        cells: list[str] = []
        for task in tasks:
            if spec.deferred(state.name, task):
                cells.append("queued")
                continue
            rules = spec.rules_for(state.name, task)
            if not rules:
                cells.append("—")
                continue
            parts = []
            for rule in rules:
                path = " → ".join(s for s in (rule.via, rule.target) if s is not None)
                if rule.via is None and rule.target == rule.source:
                    path = "(stays)"
                guard = f" if `{rule.when}`" if rule.when_text is not None else ""
                parts.append(f"→ {path}{guard}")
            cells.append("<br>".join(parts))
        lines.append(f"| **{ident(state.name)}** | " + " | ".join(cells) + " |")
    return lines


def _events(spec: Spec) -> list[str]:
    lines: list[str] = []
    for task in spec.tasks:
        lines += ["", f"### {ident(task)}", ""]
        lines += ["| from | when | accept | action | success | cancelled | failure |"]
        lines += ["|---|---|---|---|---|---|---|"]
        for rule in spec.rules:
            if rule.task != task:
                continue
            plan = plan_rule(spec, rule)
            action = rule.action or "—"
            if rule.action is not None and spec.action(rule.action).progress:
                action += " (" + ", ".join(spec.action(rule.action).progress) + ")*"
            lines.append(
                f"| {ident(rule.source)} | {f'`{rule.when}`' if rule.when_text else '—'} "
                f"| {_ops(plan.accept.ops)} | {action} | {_ops(plan.success.ops)} "
                f"| {_ops(plan.cancelled.ops) if plan.cancelled else '—'} "
                f"| {_ops(plan.failure.ops) if plan.failure else '—'} |"
            )
    return lines


def _link(path: str) -> str:
    """A Markdown link to the spec, ``path`` relative to the project root: the text is a code
    span (plain escaped text when the path holds a backtick), the target is percent-encoded."""
    text = (
        f"`{_cell(path)}`"
        if "`" not in path
        else re.sub(r"([\\`*_\[\]()#!])", r"\\\1", _cell(path))
    )
    return f"[{text}]({urllib.parse.quote('../' + path, safe='/._-~')})"


def render_docs(spec: Spec) -> str:
    """The text of ``<machine>.md`` for ``spec``."""
    name = ident(spec.machine)
    lines = [
        "<!--",
        *(line.replace("--", "-&#45;") for line in header_lines(spec, "")),
        "-->",
        "",
        f"# The `{name}` machine",
        "",
        f"Generated from {_link(spec_path_text(spec))}. "
        f"Initial state: `{ident(spec.initial)}`; an action that raises moves the runner to "
        f"`{ident(spec.on_error)}`.",
        "",
        "## Diagram",
        "",
        "Transient states (the runner is inside an action) are highlighted; `done`, `cancelled` "
        "and `error` are the ends of a rule's action.",
        "",
        *_diagram(spec),
        "",
        "## States",
        "",
        "| state | status | kind | timeout | stall timeout |",
        "|---|---|---|---|---|",
    ]
    for state in spec.states:
        kind = ", ".join(
            k
            for k, on in (
                ("resting", not state.transient and not state.final),
                ("transient", state.transient),
                ("interruptible", state.interruptible),
                ("final", state.final),
                ("required", state.required),
            )
            if on
        )
        lines.append(
            f"| `{ident(state.name)}` | {ident(state.status)} | {kind} "
            f"| {_seconds(state.timeout_s)} | {_seconds(state.stall_timeout_s)} |"
        )
    lines += [
        "",
        "## State × task matrix",
        "",
        "Each cell is a transition (`→ via → to`, with its guard), `queued` (the task waits "
        "until the runner leaves the state) or `—` (rejected, the state is unchanged).",
        "",
        *_matrix(spec),
        "",
        "## Guards",
        "",
        "| guard | kind | meaning |",
        "|---|---|---|",
        *(
            f"| `{ident(g.name)}` | {'constant' if g.constant else 'dynamic'} | {_cell(g.doc)} |"
            for g in spec.guards
        ),
        "",
        "## Actions",
        "",
        "| action | progress | cancellable | meaning |",
        "|---|---|---|---|",
        *(
            f"| `{ident(a.name)}` | {', '.join(a.progress) or '—'} "
            f"| {'yes' if a.cancellable else 'no'} | {_cell(a.doc)} |"
            for a in spec.actions
        ),
        "",
        "## Events per task",
        "",
        "In order, as `exo_spec.model.step` emits them. A `RunnerStatusUpdated` appears only "
        "where the state changes; the action's progress events come between accept and the "
        "outcome. A rejected task emits "
        f"{_ops(reject_phase(spec, spec.initial).ops)} (with the reason) and keeps its state.",
        *_events(spec),
        "",
    ]
    return "\n".join(lines)
