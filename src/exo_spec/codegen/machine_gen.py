"""Render ``<machine>_machine.py``: the spec's part of a ``transitions.Machine``.

What every machine shares is hand-written in :mod:`exo_spec.machine`. The module written here
subclasses its ``SpecMachine`` and holds only what varies with the spec: the state and task
enums, the bindings' protocols, the public tables and the ``MachineTables``, and a machine
whose ``__init__`` registers every rule with ``add_transition`` and which has one
straight-line method per rule (accept events, action, success / cancelled / failure events)
and the contract's reject events.

Code is written one way: lines through ``_Module.w``, names through ``ident``, literals
through ``py_str``. The output is in ruff-format style and type-checks under mypy --strict.
"""

from __future__ import annotations

from collections.abc import Iterable

from exo_spec.codegen.source import comment_lines, header_lines, ident, py_str, spec_path_text
from exo_spec.model.plan import Conjunct, Op, Phase, RulePlan, conjuncts, plan_rule, reject_phase
from exo_spec.spec.expr import And, Expr, Name, Not, Or, TrueExpr
from exo_spec.spec.types import Rule, Spec

__all__ = ["TABLES", "class_prefix", "machine_module_name", "render_machine"]

TABLES = tuple(
    "ACTIONS CONSTANT_GUARDS FINAL_STATES GUARDS SPEC_PATH SPEC_SHA256 STATUS_OF TIMEOUTS".split()  # noqa: SIM905
)
"""The tables every generated module publishes (its generated tests check each one)."""

# The generated module's public names: the same for every spec, and the spec's classes.
_EXPORTS = [
    *TABLES,
    *"CANCELLED ActionOutcome StateChangeError TaskDeferred TaskRejected TaskStatusName".split(),  # noqa: SIM905
]
_CLASSES = ("Actions", "Bindings", "Events", "Guards", "Machine", "State", "Task")


def class_prefix(spec: Spec) -> str:
    """``runner`` -> ``Runner``; ``my_machine`` -> ``MyMachine``."""
    return "".join(part[:1].upper() + part[1:] for part in ident(spec.machine).split("_") if part)


def machine_module_name(spec: Spec) -> str:
    """The generated module's name: ``runner_machine``."""
    return f"{ident(spec.machine)}_machine"


def _all_sorted(names: Iterable[str]) -> list[str]:
    """``__all__`` (or an import list) in the order ruff wants: CONSTANTS, Classes, functions."""

    def key(name: str) -> tuple[int, str]:
        rank = 0 if name.isupper() else 1 if name[:1].isupper() else 2
        return rank, name

    return sorted(names, key=key)


def _expr_code(expr: Expr, guards: str) -> str:
    """A Python expression calling the guard methods of ``guards`` (names are identifiers)."""
    if isinstance(expr, TrueExpr):
        return "True"
    if isinstance(expr, Name):
        return f"{guards}.{ident(expr.name)}()"
    if isinstance(expr, Not):
        return f"not {_paren(expr.operand, guards, Not)}"
    if isinstance(expr, And):
        return f"{_paren(expr.left, guards, And)} and {_paren(expr.right, guards, And)}"
    if isinstance(expr, Or):
        return f"{_expr_code(expr.left, guards)} or {_expr_code(expr.right, guards)}"
    raise TypeError(expr)


def _paren(expr: Expr, guards: str, context: type[Not] | type[And]) -> str:
    simple = isinstance(expr, Name | TrueExpr | Not) or (context is And and isinstance(expr, And))
    code = _expr_code(expr, guards)
    return code if simple else f"({code})"


class _Module:
    def __init__(self, spec: Spec) -> None:
        self.spec = spec
        self.p = class_prefix(spec)
        self.lines: list[str] = []
        self.plans = [plan_rule(spec, rule) for rule in spec.rules]
        self.rule_method: dict[Rule, str] = {
            plan.rule: f"_rule{n}_{ident(plan.rule.task)}_{ident(plan.rule.source)}"
            for n, plan in enumerate(self.plans, start=1)
        }

    def w(self, *lines: str) -> None:
        self.lines.extend(lines)

    def state(self, name: str) -> str:
        return f"{self.p}State.{ident(name)}"

    def task(self, name: str) -> str:
        return f"{self.p}Task.{ident(name)}"

    def block(self, head: str, items: Iterable[str], tail: str, indent: str = "") -> None:
        """``head``, one item a line with a trailing comma, ``tail`` (ruff format's layout)."""
        self.w(f"{indent}{head}", *(f"{indent}    {item}," for item in items), f"{indent}{tail}")

    def frozenset_(self, name: str, of: str, items: Iterable[str]) -> None:
        self.w(f"{name}: frozenset[{of}] = frozenset(")
        self.block("{", items, "}", "    ")
        self.w(")")

    # -- top of the module ----------------------------------------------------------------------

    def render(self) -> str:
        spec, p = self.spec, self.p
        actions = [plan.rule.action for plan in self.plans if plan.failure is not None]
        shared = {"ActionOutcome", "EventSink", "MachineTables", "SpecMachine", "StateChangeError"}
        shared |= {"TaskDeferred", "TaskRejected", "TaskStatusName"}
        if actions:
            shared.add("failure_message")
        if any(plan.failure is not None and plan.cancelled is None for plan in self.plans):
            shared.add("NotCancellableError")
        if any(
            phase is not None and phase.end != plan.accept.end
            for plan in self.plans
            for phase in (plan.success, plan.cancelled, plan.failure)
        ):
            shared.add("LegEvent")
        self.w(*header_lines(spec))
        self.w(
            f'"""The {ident(spec.machine)} machine: a transitions.Machine generated from the spec.',
            "",
            f"{p}Machine.dispatch(task_name, task) runs one task exactly as exo_spec.model.step()",
            "says. What every machine shares (dispatch, the state slot that only _enter writes, the",
            "legs and events transitions sees, the errors) is in exo_spec.machine; this module holds",
            "the spec's enums, protocols and tables, the rules' registration and one method per rule.",
            '"""',
            "",
            "from __future__ import annotations",
            "",
            "import enum",
            "from typing import Protocol",
            "",
        )
        self.block("from exo_spec.machine import (", _all_sorted(shared), ")")
        self.w("from exo_spec.model import CANCELLED", "")
        exported = [*_EXPORTS, *(p + kind for kind in _CLASSES)]
        self.block("__all__ = [", map(py_str, _all_sorted(exported)), "]")
        self.w("", f"SPEC_PATH = {py_str(spec_path_text(spec))}")
        self.w(f"SPEC_SHA256 = {py_str(spec.sha256)}")
        self.enums()
        self.protocols()
        self.public_tables()
        self.tables()
        self.machine()
        return "\n".join(self.lines) + "\n"

    def enums(self) -> None:
        spec, p = self.spec, self.p
        self.w(
            "", "", f"class {p}State(enum.StrEnum):", '    """Every state, in spec order."""', ""
        )
        for state in spec.states:
            flags = [
                flag for flag in ("transient", "interruptible", "final") if getattr(state, flag)
            ]
            note = f"  # {ident(state.status)}" + (f" ({', '.join(flags)})" if flags else "")
            self.w(f"    {ident(state.name)} = {py_str(state.name)}{note}")
        self.w("", "", f"class {p}Task(enum.StrEnum):", '    """Every task, in spec order."""', "")
        self.w(*(f"    {ident(task)} = {py_str(task)}" for task in spec.tasks))

    def protocols(self) -> None:
        spec, p = self.spec, self.p
        self.w("", "", f"class {p}Guards(Protocol):")
        self.w(
            '    """One method per guard, taking no arguments; the machine calls them to decide."""'
        )
        for guard in spec.guards:
            doc = guard.doc + (" (constant)" if guard.constant else "")
            self.w(
                "", *comment_lines(doc, "    # "), f"    def {ident(guard.name)}(self) -> bool: ..."
            )
        if not spec.guards:
            self.w("", "    pass")
        self.w("", "", f"class {p}Actions(Protocol):")
        self.w('    """One method per action: it receives the task and raises on failure."""')
        for action in spec.actions:
            doc = action.doc + (" (cancellable)" if action.cancellable else "")
            self.w("", *comment_lines(doc, "    # "))
            self.w(f"    def {ident(action.name)}(self, task: object) -> ActionOutcome: ...")
        if not spec.actions:
            self.w("", "    pass")
        self.w(
            "",
            "",
            f"class {p}Events(EventSink[{p}State], Protocol):",
            '    """Where the machine emits the contract\'s events: task_status, runner_status, acknowledged."""',
            "",
            "",
            f"class {p}Bindings({p}Guards, {p}Actions, {p}Events, Protocol):",
            '    """Everything a machine is bound to: guards, actions and the event sink."""',
        )

    def public_tables(self) -> None:
        """The facts of the spec a runtime and a supervisor need, without reading the YAML."""
        spec, p = self.spec, self.p

        def seconds(value: float | None) -> str:
            return "None" if value is None else repr(float(value))

        timed = [s for s in spec.states if s.timeout_s is not None or s.stall_timeout_s is not None]
        self.w("", "", "# The status each state reports (the name of its wire type).")
        self.block(
            f"STATUS_OF: dict[{p}State, str] = {{",
            (f"{self.state(s.name)}: {py_str(ident(s.status))}" for s in spec.states),
            "}",
        )
        self.w(
            "# (timeout_s, stall_timeout_s) of each state that has a deadline; None where unset."
        )
        self.block(
            f"TIMEOUTS: dict[{p}State, tuple[float | None, float | None]] = {{",
            (
                f"{self.state(s.name)}: ({seconds(s.timeout_s)}, {seconds(s.stall_timeout_s)})"
                for s in timed
            ),
            "}",
        )
        self.frozenset_(
            "FINAL_STATES", f"{p}State", (self.state(s.name) for s in spec.states if s.final)
        )
        for name, items in (
            ("GUARDS", [g.name for g in spec.guards]),
            ("CONSTANT_GUARDS", list(spec.constant_guards())),
            ("ACTIONS", [a.name for a in spec.actions]),
        ):
            if items:
                self.block(f"{name}: tuple[str, ...] = (", (py_str(ident(i)) for i in items), ")")
            else:
                self.w(f"{name}: tuple[str, ...] = ()")

    def tables(self) -> None:
        """What the shared machinery reads: the ``MachineTables`` of this spec."""
        spec, p = self.spec, self.p
        self.w("", "", "# States whose tasks wait in the queue (transient and not interruptible).")
        waiting = (self.state(s.name) for s in spec.states if s.transient and not s.accepts_tasks)
        self.frozenset_("_WAITING", f"{p}State", waiting)
        self.w("# Cells where a task is queued rather than rejected.")
        deferred = sorted(spec.defer, key=lambda d: (d[2], d[0], d[1]))
        cells = (f"({self.state(s)}, {self.task(t)})" for s, t, _ in deferred)
        self.frozenset_("_DEFERRED", f"tuple[{p}State, {p}Task]", cells)
        self.w("# The guard expressions of each cell's rules (for the rejection message).")
        self.w(f"_NEEDS: dict[{p}State, dict[{p}Task, tuple[str, ...]]] = {{")
        for state in spec.states:
            cell = [(t, spec.rules_for(state.name, t)) for t in spec.tasks]
            cell = [(t, rules) for t, rules in cell if rules]
            if cell:
                self.block(
                    f"{self.state(state.name)}: {{",
                    (
                        f"{self.task(t)}: ({', '.join(py_str(str(r.when)) for r in rules)}"
                        + ("," if len(rules) == 1 else "")
                        + ")"
                        for t, rules in cell
                    ),
                    "},",
                    "    ",
                )
        self.w("}", "_TABLES = MachineTables(")
        self.w(f"    states={p}State,", f"    tasks={p}Task,", "    final=FINAL_STATES,")
        self.w("    waiting=_WAITING,", "    deferred=_DEFERRED,", "    needs=_NEEDS,", ")")

    # -- the machine ------------------------------------------------------------------------------

    def machine(self) -> None:
        spec, p = self.spec, self.p
        self.w(
            "",
            "",
            f"class {p}Machine(SpecMachine[{p}State, {p}Task]):",
            f'    """The {ident(spec.machine)} lifecycle; bound to guards, actions and an event sink."""',
            "",
            "    def __init__(",
            "        self,",
            f"        bindings: {p}Bindings,",
            "        *,",
            f"        initial: {p}State = {self.state(spec.initial)},",
            "        emit_initial: bool = True,",
            "    ) -> None:",
        )
        for action in spec.actions:
            self.w(f"        self._do_{ident(action.name)} = bindings.{ident(action.name)}")
        self.w("        super().__init__(", "            bindings,", "            _TABLES,")
        self.w("            initial,")
        guards = (f"({py_str(g.name)}, bindings.{ident(g.name)})" for g in spec.guards)
        self.block("guards=(", guards, "),", "            ")
        self.w("        )")
        self.transitions_()
        self.w("        self._ready(emit_initial)", "")
        self.w("    def _reject(self, task: object, message: str) -> None:")
        self.w('        """The contract\'s reject events; the state stays as it is."""')
        ops = reject_phase(spec, spec.initial).ops
        self.ops(ops, "message", "        ")
        if not ops:
            self.w("        del task, message  # the contract emits nothing on a rejection")
        for plan in self.plans:
            self.rule(plan)

    def transitions_(self) -> None:
        """Register every leg with transitions' own add_transition."""
        p = self.p
        leg_events: list[str] = []
        legs: list[str] = []
        for plan in self.plans:
            rule = plan.rule
            dest = plan.accept.end if plan.accept.end != rule.source else None
            guard_items = [
                f"({self.guard_func(lit)}, {lit.target})" for lit in conjuncts(rule.when)
            ]
            guards = "(" + ", ".join(guard_items) + ("," if len(guard_items) == 1 else "") + ")"
            self.block(
                "self.add_transition(",
                [
                    py_str(rule.task),
                    py_str(rule.source),
                    py_str(dest) if dest else "None",
                    *([f"guards={guards}"] if guard_items else []),
                    f"fire={p}Machine.{self.rule_method[rule]}",
                ],
                ")",
                "        ",
            )
            for phase, event in (
                (plan.success, f"_{rule.task}_done"),
                (plan.cancelled, f"_{rule.task}_cancelled"),
                (plan.failure, "_on_error"),
            ):
                if phase is None or phase.end == plan.accept.end:
                    continue
                if event not in leg_events:
                    leg_events.append(event)
                args = ", ".join(map(py_str, (event, plan.accept.end, phase.end)))
                if (text := f"        self.add_transition({args})") not in legs:
                    legs.append(text)
        if leg_events:
            self.w(
                "        # The legs taken inside a rule, after its first (never triggered alone)."
            )
            for event in leg_events:
                self.w(f"        self.events[{py_str(event)}] = LegEvent({py_str(event)}, self)")
            self.w(*legs)

    def guard_func(self, lit: Conjunct) -> str:
        if lit.guard is not None:
            return f"bindings.{ident(lit.guard)}"
        return f"lambda: {_expr_code(lit.expr, 'bindings')}"

    def ops(self, ops: tuple[Op, ...], message: str, indent: str) -> None:
        for op in ops:
            msg = message if op.with_message else "None"
            if op.kind == "status":
                self.w(f"{indent}self._task_status(task, {py_str(op.status or '')}, {msg})")
            elif op.kind == "ack":
                self.w(f"{indent}self._acknowledged(task)")
            else:
                self.w(f"{indent}self._enter({self.state(op.state or '')}, {msg})")

    def rule(self, plan: RulePlan) -> None:
        spec, p, rule = self.spec, self.p, plan.rule
        parts = [f"{rule.task} in {rule.source}"]
        if rule.when_text is not None:
            parts.append(f"when {rule.when}")
        if rule.via:
            parts.append(f"via {rule.via}")
        if rule.action:
            parts.append(f"do {rule.action}")
        parts.append(f"to {rule.target}")
        self.w(
            "",
            f"    def {self.rule_method[rule]}(self, task: object) -> {p}State:",
            f'        """{", ".join(parts[:1])}: {", ".join(parts[1:])} (spec line {rule.loc.line})."""',
        )
        self.ops(plan.accept.ops, "None", "        ")
        if rule.action is None or plan.failure is None:
            self.finish(plan.success, "None", "        ")
            return
        action = ident(rule.action)
        # A task dispatched from inside the action can move the runner only where some rule
        # starts in the state the action runs in (an interruptible state such as running).
        via = plan.accept.end if any(r.source == plan.accept.end for r in spec.rules) else None
        if via is not None:
            self.w(
                f"        # A task dispatched inside {action} may move the runner; then this task only",
                "        # reports its end, and the runner stays where that task put it.",
            )
        self.w("        try:")
        if plan.cancelled is not None:
            self.w(f"            result = self._do_{action}(task)")
        else:
            self.w(
                f"            if self._do_{action}(task) is not None:",
                f"                raise NotCancellableError({py_str(action)})",
            )
        self.w("        except Exception as exc:", "            message = failure_message(exc)")
        self.finish(plan.failure, "message", "            ", via)
        if plan.cancelled is not None:
            self.w("        if result is CANCELLED:")
            self.finish(plan.cancelled, "None", "            ", via)
        self.finish(plan.success, "None", "        ", via)

    def finish(self, phase: Phase, message: str, indent: str, via: str | None = None) -> None:
        """A phase's ops and its return. With ``via`` (a nested task may have moved the runner
        while the action ran), the phase's state changes happen only if the runner is still in
        ``via``; otherwise the phase emits its other events and returns the state as it is."""
        if via is None:
            self.ops(phase.ops, message, indent)
            self.w(f"{indent}return {self.state(phase.end)}")
            return
        moves = [n for n, op in enumerate(phase.ops) if op.kind == "move"]
        if not moves:
            self.ops(phase.ops, message, indent)
            self.w(f"{indent}return self._state")
            return
        # Usually the task's own events all come before its first move: emit them, then check.
        split = all(op.kind == "move" for op in phase.ops[moves[0] :])
        before = phase.ops[: moves[0]] if split else ()
        after = phase.ops[moves[0] :] if split else phase.ops
        self.ops(before, message, indent)
        self.w(f"{indent}if self._state is not {self.state(via)}:")
        if not split:
            self.ops(tuple(op for op in phase.ops if op.kind != "move"), message, indent + "    ")
        self.w(f"{indent}    return self._state")
        self.ops(after, message, indent)
        self.w(f"{indent}return {self.state(phase.end)}")


def render_machine(spec: Spec) -> str:
    """The text of ``<machine>_machine.py`` for ``spec`` (which must have no check errors)."""
    return _Module(spec).render()
