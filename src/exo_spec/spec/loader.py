"""Load a spec from YAML into :class:`~exo_spec.spec.types.Spec`, keeping file:line:col.

Only safe YAML is read: the node graph is composed with PyYAML's safe loader and walked by
hand, so no tag can construct an object. Schema problems (unknown keys, wrong types, names that
are not identifiers, malformed guard expressions) are collected, never raised: the caller gets
every one of them at once, as :class:`~exo_spec.spec.diagnostics.Diagnostic` values.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import yaml
from attrs import frozen

from exo_spec.spec.diagnostics import Diagnostic, Loc, quote
from exo_spec.spec.expr import And, Expr, ExprSyntaxError, Not, Or, TrueExpr, parse_expr
from exo_spec.spec.nodes import STR, Fields, NodeReader, expected, kind_of, valid_name
from exo_spec.spec.reading import compose, decode_error_loc, read_spec_bytes
from exo_spec.spec.types import (
    EVENT_KINDS,
    OUTCOMES,
    PROGRESS_KINDS,
    STATE_REFS,
    TASK_STATUSES,
    ActionDecl,
    ContractEvent,
    EventContract,
    GuardDecl,
    Rule,
    Spec,
    StateDecl,
    default_contract,
)

__all__ = ["SUPPORTED_VERSIONS", "LoadResult", "load_spec", "load_spec_text", "valid_name"]

SUPPORTED_VERSIONS = (1,)
_EVENT = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*)\s*(?:\(\s*([A-Za-z_][A-Za-z0-9_]*)\s*\))?\s*\Z")
_INT = "tag:yaml.org,2002:int"

_TOP_REQUIRED = ("version", "machine", "initial", "states", "tasks")
_TOP_OPTIONAL = ("guards", "actions", "defer", "on_error", "events")
_STATE_KEYS = (
    "status",
    "transient",
    "interruptible",
    "final",
    "required",
    "timeout_s",
    "stall_timeout_s",
    "doc",
)
_RULE_KEYS = ("from", "when", "via", "do", "to")


@frozen
class LoadResult:
    """A spec (``None`` when its top level could not be read) and the schema diagnostics."""

    spec: Spec | None
    diagnostics: tuple[Diagnostic, ...]
    text: str = ""
    """The spec's text, when it could be decoded (for inline ``# noqa`` comments)."""
    path: str = ""

    @property
    def ok(self) -> bool:
        return self.spec is not None and not self.diagnostics


def load_spec(path: str | Path) -> LoadResult:
    """Read and load the spec at ``path``; an unreadable file is an ``EXS000`` diagnostic."""
    shown = str(path)
    data = read_spec_bytes(path)
    if isinstance(data, Diagnostic):
        return LoadResult(None, (data,))
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        bad = data[exc.start : exc.start + 1].hex().upper()
        message = f"the spec is not UTF-8 text (the byte 0x{bad}); save it as UTF-8"
        loc = decode_error_loc(shown, data, exc.start)
        return LoadResult(None, (Diagnostic("EXS001", message, loc),))
    return load_spec_text(text, shown)


def load_spec_text(text: str, path: str = "<spec>") -> LoadResult:
    """Load a spec from YAML text; ``path`` is what diagnostics name."""
    reader = _Reader(path)
    spec = reader.read(text)
    diagnostics = tuple(sorted(reader.diagnostics, key=Diagnostic.sort_key))
    return LoadResult(spec, diagnostics, text, path)


class _Reader(NodeReader):
    """The spec's schema, section by section, over :class:`NodeReader`'s typed reads."""

    # -- the document -------------------------------------------------------------------------

    def read(self, text: str) -> Spec | None:
        root = compose(text, self.path)
        if isinstance(root, Diagnostic):
            self.diagnostics.append(root)
            return None
        if root is None:
            self.error("EXS004", "the spec is empty; it needs " + ", ".join(_TOP_REQUIRED), None)
            return None
        top = self.mapping(root, "the spec", _TOP_REQUIRED, _TOP_REQUIRED + _TOP_OPTIONAL)
        if top is None:
            return None
        return self.build(root, top, text)

    def build(self, root: yaml.Node, top: Fields, text: str) -> Spec | None:
        version = self.version(top)
        machine = self.name(top["machine"][1], "machine") if "machine" in top else None
        initial = self.name(top["initial"][1], "initial") if "initial" in top else None
        guards = self.guards(top["guards"][1]) if "guards" in top else []
        actions = self.actions(top["actions"][1]) if "actions" in top else []
        states = self.states(top["states"][1]) if "states" in top else []
        tasks: list[tuple[str, Loc]] = []
        rules: list[Rule] = []
        if "tasks" in top:
            tasks, rules = self.tasks(top["tasks"][1], states)
        defer = self.defer(top["defer"][1]) if "defer" in top else []
        on_error = self.name(top["on_error"][1], "on_error") if "on_error" in top else None
        events = (
            self.events(top["events"][1]) if "events" in top else default_contract(self.loc(root))
        )
        if version is None or machine is None or initial is None or events is None:
            return None
        return Spec(
            path=self.path,
            sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
            version=version,
            machine=machine,
            initial=initial,
            guards=tuple(guards),
            actions=tuple(actions),
            states=tuple(states),
            tasks=tuple(name for name, _ in tasks),
            task_locs=tuple(loc for _, loc in tasks),
            rules=tuple(rules),
            defer=tuple(defer),
            on_error=on_error or "",
            on_error_loc=self.loc(top["on_error"][1] if "on_error" in top else root),
            events=events,
            initial_loc=self.loc(top["initial"][1]),
        )

    def version(self, top: Fields) -> int | None:
        if "version" not in top:
            return None
        node = top["version"][1]
        if not (isinstance(node, yaml.ScalarNode) and node.tag == _INT):
            self.error("EXS003", f"version must be an integer, not {kind_of(node)}", node)
            return None
        value = int(str(node.value))
        if value not in SUPPORTED_VERSIONS:
            supported = ", ".join(map(str, SUPPORTED_VERSIONS))
            self.error("EXS006", f"spec version {value} is not supported; use {supported}", node)
            return None
        return value

    def guards(self, node: yaml.Node) -> list[GuardDecl]:
        out: list[GuardDecl] = []
        for name, (key, value) in (self.mapping(node, "guards") or {}).items():
            if self.name(key, "guard name") is None:
                continue
            doc, constant = "", False
            if isinstance(value, yaml.ScalarNode) and value.tag == STR:
                doc = str(value.value)
            else:
                fields = self.mapping(value, f"guard {name}", (), ("doc", "constant")) or {}
                if "doc" in fields:
                    doc = self.string(fields["doc"][1], f"doc of guard {name}") or ""
                if "constant" in fields:
                    constant = bool(self.boolean(fields["constant"][1], f"constant of {name}"))
            out.append(GuardDecl(name, doc, constant, self.loc(key)))
        return out

    def actions(self, node: yaml.Node) -> list[ActionDecl]:
        out: list[ActionDecl] = []
        allowed = ("doc", "progress", "cancellable")
        for name, (key, value) in (self.mapping(node, "actions") or {}).items():
            if self.name(key, "action name") is None:
                continue
            doc, cancellable = "", False
            progress: tuple[str, ...] = ()
            if isinstance(value, yaml.ScalarNode) and value.tag == STR:
                doc = str(value.value)
            elif not (isinstance(value, yaml.ScalarNode) and value.value in ("", "~", "null")):
                fields = self.mapping(value, f"action {name}", (), allowed) or {}
                if "doc" in fields:
                    doc = self.string(fields["doc"][1], f"doc of action {name}") or ""
                if "progress" in fields:
                    progress = self.progress(fields["progress"][1], name)
                if "cancellable" in fields:
                    flag = self.boolean(fields["cancellable"][1], f"cancellable of {name}")
                    cancellable = bool(flag)
            out.append(ActionDecl(name, doc, progress, cancellable, self.loc(key)))
        return out

    def progress(self, node: yaml.Node, action: str) -> tuple[str, ...]:
        kinds: list[str] = []
        for kind, item in self.names(node, f"progress of action {action}"):
            if kind not in PROGRESS_KINDS:
                self.error(
                    "EXS106",
                    f"unknown progress event {quote(kind)} of action {action}; "
                    f"{expected(kind, PROGRESS_KINDS)}",
                    item,
                )
            else:
                kinds.append(kind)
        return tuple(kinds)

    def states(self, node: yaml.Node) -> list[StateDecl]:
        out: list[StateDecl] = []
        for name, (key, value) in (self.mapping(node, "states") or {}).items():
            if self.name(key, "state name") is None:
                continue
            fields = self.mapping(value, f"state {name}", ("status",), _STATE_KEYS)
            if fields is None or "status" not in fields:
                # still declared: the rules that name it must not also say it does not exist
                out.append(StateDecl(name, "", self.loc(key)))
                continue
            status = self.name(fields["status"][1], f"status of state {name}")
            flags: dict[str, bool] = {}
            for flag in ("transient", "interruptible", "final", "required"):
                if flag in fields:
                    flags[flag] = bool(self.boolean(fields[flag][1], f"{flag} of state {name}"))
            timeout = stall = None
            if "timeout_s" in fields:
                timeout = self.seconds(fields["timeout_s"][1], f"timeout_s of state {name}")
            if "stall_timeout_s" in fields:
                stall = self.seconds(fields["stall_timeout_s"][1], f"stall_timeout_s of {name}")
            if "doc" in fields:
                self.string(fields["doc"][1], f"doc of state {name}")
            out.append(
                StateDecl(
                    name,
                    status or "",
                    self.loc(key),
                    transient=flags.get("transient", False),
                    interruptible=flags.get("interruptible", False),
                    final=flags.get("final", False),
                    required=flags.get("required", False),
                    timeout_s=timeout,
                    stall_timeout_s=stall,
                )
            )
        return out

    def tasks(
        self, node: yaml.Node, states: list[StateDecl]
    ) -> tuple[list[tuple[str, Loc]], list[Rule]]:
        tasks: list[tuple[str, Loc]] = []
        rules: list[Rule] = []
        resting = [s.name for s in states if not s.final and not s.transient]
        for task, (key, value) in (self.mapping(node, "tasks") or {}).items():
            if self.name(key, "task name") is None:
                continue
            tasks.append((task, self.loc(key)))
            items = self.sequence(value, f"the rules of task {task}") or []
            for index, item in enumerate(items):
                rules.extend(self.rule(task, index, item, resting))
        return tasks, rules

    def rule(self, task: str, index: int, node: yaml.Node, resting: list[str]) -> list[Rule]:
        what = f"rule {index + 1} of task {task}"
        fields = self.mapping(node, what, ("from",), _RULE_KEYS)
        if fields is None or "from" not in fields:
            return []
        sources: list[str] = []
        for source, item in self.names(fields["from"][1], f"'from' of {what}"):
            if source == "*":
                sources.extend(resting)
            elif valid_name(source):
                sources.append(source)
            else:
                self.error("EXS005", f"'from' of {what}: {quote(source)} is not a state name", item)
        when, when_text = self.when(fields, what)
        via = self.name(fields["via"][1], f"'via' of {what}") if "via" in fields else None
        action = self.name(fields["do"][1], f"'do' of {what}") if "do" in fields else None
        target = self.name(fields["to"][1], f"'to' of {what}") if "to" in fields else None
        if when is None:
            return []
        loc = self.loc(node)
        return [
            Rule(task, index, source, when, when_text, via, action, target or source, loc)
            for source in dict.fromkeys(sources)
        ]

    def when(self, fields: Fields, what: str) -> tuple[Expr | None, str | None]:
        if "when" not in fields:
            return TrueExpr(), None
        node = fields["when"][1]
        text = self.string(node, f"'when' of {what}")
        if text is None:
            return None, None
        try:
            expr = parse_expr(text)
            if _depth(expr) > _MAX_EXPR_DEPTH:
                raise ExprSyntaxError(
                    f"the expression nests more than {_MAX_EXPR_DEPTH} levels; simplify it", 0
                )
            return expr, text
        except RecursionError:
            message = f"guard expression of {what} is nested too deeply; simplify it"
            self.error("EXS104", message, node)
            return None, None
        except ExprSyntaxError as exc:
            loc = self.loc(node)
            style = node.style if isinstance(node, yaml.ScalarNode) else None
            col = loc.col + exc.column + (1 if style in ("'", '"') else 0)
            self.diagnostics.append(
                Diagnostic(
                    "EXS104",
                    f"guard expression {quote(text)} of {what}: {exc.message}",
                    Loc(self.path, loc.line, col),
                )
            )
            return None, None

    def defer(self, node: yaml.Node) -> list[tuple[str, str, Loc]]:
        out: list[tuple[str, str, Loc]] = []
        for state, (key, value) in (self.mapping(node, "defer") or {}).items():
            if self.name(key, "state name in defer") is None:
                continue
            for task, item in self.names(value, f"defer of state {state}"):
                out.append((state, task, self.loc(item)))
        return out

    def events(self, node: yaml.Node) -> EventContract | None:
        fields = self.mapping(node, "events", (), OUTCOMES)
        if fields is None:
            return None
        parsed: dict[str, tuple[ContractEvent, ...]] = {}
        for outcome in OUTCOMES:
            if outcome not in fields:
                parsed[outcome] = ()
                continue
            items = self.sequence(fields[outcome][1], f"events.{outcome}") or []
            parsed[outcome] = tuple(
                event for item in items if (event := self.event(item, outcome)) is not None
            )
        return EventContract(
            parsed["accept"],
            parsed["success"],
            parsed["cancelled"],
            parsed["failure"],
            parsed["reject"],
            self.loc(node),
        )

    def event(self, node: yaml.Node, outcome: str) -> ContractEvent | None:
        text = self.string(node, f"an event of events.{outcome}")
        if text is None:
            return None
        match = _EVENT.match(text)
        if match is None:
            self.error(
                "EXS106",
                f"event {quote(text)} in events.{outcome} is not of the form Kind or Kind(argument)",
                node,
            )
            return None
        kind, arg = match.group(1), match.group(2)
        allowed_args: tuple[str, ...] = {
            "TaskStatusUpdated": TASK_STATUSES,
            "RunnerStatusUpdated": STATE_REFS,
            "TaskAcknowledged": (),
        }.get(kind, ())
        if kind not in EVENT_KINDS:
            self.error(
                "EXS106",
                f"unknown event {quote(kind)} in events.{outcome}; {expected(kind, EVENT_KINDS)}",
                node,
            )
            return None
        if (arg is None) != (not allowed_args) or (arg is not None and arg not in allowed_args):
            shown = ", ".join(f"{kind}({a})" for a in allowed_args) or kind
            self.error("EXS106", f"event {quote(text)} in events.{outcome}: write {shown}", node)
            return None
        return ContractEvent(kind, arg, self.loc(node))


_MAX_EXPR_DEPTH = 64


def _depth(expr: Expr) -> int:
    """How deeply an expression nests (iteratively, so any parsed expression can be measured)."""
    deepest = 0
    stack: list[tuple[Expr, int]] = [(expr, 1)]
    while stack:
        node, level = stack.pop()
        deepest = max(deepest, level)
        if isinstance(node, Not):
            stack.append((node.operand, level + 1))
        elif isinstance(node, And | Or):
            stack += [(node.left, level + 1), (node.right, level + 1)]
    return deepest
