"""Render ``<machine>_machine.py``: a specialised ``transitions.Machine`` for one spec.

The module is written in ruff-format style by construction (``ruff format --check`` passes on
it) and type-checks under ``mypy --strict``. Its shape:

* ``<M>State`` / ``<M>Task`` enums, the ``<M>Guards`` / ``<M>Actions`` / ``<M>Events``
  protocols and ``<M>Bindings`` combining them, ``TaskRejected`` and ``TaskDeferred``;
* ``StateChangeError``, raised by every way of setting the state other than a dispatch;
* subclasses of transitions' ``Condition`` (a guard is a bound method taking no arguments),
  ``Transition`` (a leg of a rule; the first leg's ``fire`` runs the whole rule) and ``Event``
  (a task's trigger is ``dispatch``);
* ``<M>Machine``: one straight-line method per rule, a per-(state, task) table of legs and a
  ``dispatch`` that walks it without allocating transitions' ``EventData``. The state lives in
  a private slot written only by ``_enter``, which emits ``runner_status``; ``state`` is a
  read-only property and ``set_state`` raises. A rule whose via state accepts tasks checks,
  after its action, whether a task run inside the action moved the runner; if so it reports
  its own task's end and leaves the state where that task put it.
"""

from __future__ import annotations

from exo_spec.codegen.source import comment_lines, header_lines, ident, py_str, spec_path_text
from exo_spec.model.plan import Conjunct, Op, Phase, RulePlan, conjuncts, plan_rule, reject_phase
from exo_spec.spec.expr import And, Expr, Name, Not, Or, TrueExpr
from exo_spec.spec.types import Rule, Spec

__all__ = ["class_prefix", "machine_module_name", "render_machine"]


def class_prefix(spec: Spec) -> str:
    """``runner`` -> ``Runner``; ``my_machine`` -> ``MyMachine``."""
    return "".join(part[:1].upper() + part[1:] for part in ident(spec.machine).split("_") if part)


def machine_module_name(spec: Spec) -> str:
    """The generated module's name: ``runner_machine``."""
    return f"{ident(spec.machine)}_machine"


def _all_sorted(names: list[str]) -> list[str]:
    """``__all__`` in the order ruff's RUF022 wants: CONSTANTS, Classes, functions."""

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
        self.exprs: dict[str, str] = {}  # generated predicate name -> expression code

    def w(self, *lines: str) -> None:
        self.lines.extend(lines)

    # -- top of the module ----------------------------------------------------------------------

    def render(self) -> str:
        spec, p = self.spec, self.p
        self.w(*header_lines(spec))
        self.w(
            f'"""The {ident(spec.machine)} machine: a transitions.Machine generated from the spec.',
            "",
            f"{p}Machine.dispatch(task_name, task) runs one task exactly as exo_spec.model.step()",
            "says: the accept events, the action, then the success, cancelled or failure events.",
            "",
            "The state is held in a private slot that only _enter writes, and _enter first emits",
            "runner_status: no code path changes the state without its event. The public state",
            "attribute is read-only and transitions' set_state raises StateChangeError (auto",
            "transitions are off), so the only way to change the state is to dispatch a task.",
            "",
            "A task dispatched from inside an action (one an interruptible state accepts while the",
            "action runs there) is a rule of its own, as exo_spec.model.step treats each task",
            "separately. When such a nested rule moves the runner (to on_error when its action",
            "raises), the outer rule, once its own action returns or raises, emits its task's final",
            "status as its own result says (Complete, Cancelled or Failed) but no runner_status and",
            "no state change: the runner stays where the nested rule put it, and the machine never",
            "takes an edge the spec does not have.",
            '"""',
            "",
            "from __future__ import annotations",
            "",
            "import enum",
            "from collections.abc import Callable",
            "from typing import Any, Literal, NoReturn, Protocol",
            "",
            "import transitions",
            "from transitions.core import Condition, Event, EventData, MachineError, State, Transition",
            "",
            "from exo_spec.model import CANCELLED, Cancelled",
            "",
        )
        exported = [
            "ACTIONS",
            "CANCELLED",
            "CONSTANT_GUARDS",
            "FINAL_STATES",
            "GUARDS",
            "STATUS_OF",
            "TIMEOUTS",
            "SPEC_PATH",
            "SPEC_SHA256",
            "ActionOutcome",
            f"{p}Actions",
            f"{p}Bindings",
            f"{p}Events",
            f"{p}Guards",
            f"{p}Machine",
            f"{p}State",
            f"{p}Task",
            "TaskDeferred",
            "StateChangeError",
            "TaskRejected",
            "TaskStatusName",
        ]
        self.w("__all__ = [", *(f"    {py_str(n)}," for n in _all_sorted(exported)), "]", "")
        self.w(
            f"SPEC_PATH = {py_str(spec_path_text(spec))}", f"SPEC_SHA256 = {py_str(spec.sha256)}"
        )
        self.enums()
        self.protocols()
        self.exceptions()
        self.public_tables()
        self.tables()
        self.support()
        self.machine()
        return "\n".join(self.lines) + "\n"

    def enums(self) -> None:
        spec, p = self.spec, self.p
        self.w(
            "", "", f"class {p}State(enum.StrEnum):", '    """Every state, in spec order."""', ""
        )
        for state in spec.states:
            flags = [
                f
                for f, on in (
                    ("transient", state.transient),
                    ("interruptible", state.interruptible),
                    ("final", state.final),
                )
                if on
            ]
            note = f"  # {ident(state.status)}" + (f" ({', '.join(flags)})" if flags else "")
            self.w(f"    {ident(state.name)} = {py_str(state.name)}{note}")
        self.w("", "", f"class {p}Task(enum.StrEnum):", '    """Every task, in spec order."""', "")
        for task in spec.tasks:
            self.w(f"    {ident(task)} = {py_str(task)}")
        self.w(
            "",
            "",
            'TaskStatusName = Literal["Running", "Complete", "Failed", "Cancelled"]',
            "ActionOutcome = Cancelled | None",
            '"""What an action returns: None, or CANCELLED when a cancellable action stopped early."""',
        )

    def protocols(self) -> None:
        spec, p = self.spec, self.p
        self.w(
            "",
            "",
            f"class {p}Guards(Protocol):",
            '    """One method per guard, taking no arguments; the machine calls them to decide."""',
        )
        for guard in spec.guards:
            doc = guard.doc + (" (constant)" if guard.constant else "")
            self.w(
                "", *comment_lines(doc, "    # "), f"    def {ident(guard.name)}(self) -> bool: ..."
            )
        if not spec.guards:
            self.w("", "    pass")
        self.w(
            "",
            "",
            f"class {p}Actions(Protocol):",
            '    """One method per action: it receives the task and raises on failure."""',
        )
        for action in spec.actions:
            doc = action.doc + (" (cancellable)" if action.cancellable else "")
            self.w(
                "",
                *comment_lines(doc, "    # "),
                f"    def {ident(action.name)}(self, task: object) -> ActionOutcome: ...",
            )
        if not spec.actions:
            self.w("", "    pass")
        self.w(
            "",
            "",
            f"class {p}Events(Protocol):",
            '    """Where the machine emits the contract\'s events."""',
            "",
            "    def task_status(self, task: object, status: TaskStatusName, message: str | None) -> None: ...",
            "",
            f"    def runner_status(self, state: {p}State, message: str | None) -> None: ...",
            "",
            "    def acknowledged(self, task: object) -> None: ...",
            "",
            "",
            f"class {p}Bindings({p}Guards, {p}Actions, {p}Events, Protocol):",
            '    """Everything a machine is bound to: guards, actions and the event sink."""',
        )

    def exceptions(self) -> None:
        p = self.p
        self.w(
            "",
            "",
            "class TaskRejected(Exception):  # noqa: N818",
            '    """No rule accepts the task here; the reject events were emitted, the state is unchanged."""',
            "",
            "    def __init__(",
            "        self,",
            f"        state: {p}State,",
            f"        task: {p}Task,",
            "        guards: tuple[tuple[str, bool], ...],",
            f"        allowed: tuple[{p}Task, ...],",
            "        message: str,",
            "    ) -> None:",
            "        super().__init__(message)",
            "        self.state = state",
            "        self.task = task",
            "        self.guards = guards",
            "        self.allowed = allowed",
            "        self.message = message",
            "",
            "",
            "class TaskDeferred(Exception):  # noqa: N818",
            '    """The task waits: the caller queues it until the runner leaves this state."""',
            "",
            f"    def __init__(self, state: {p}State, task: {p}Task) -> None:",
            '        super().__init__(f"task {task} waits in state {state}: queue it")',
            "        self.state = state",
            "        self.task = task",
            "",
            "",
            "class StateChangeError(MachineError):",
            '    """The state was set directly; only a dispatched task changes it (with its event)."""',
            "",
            "    def __init__(self, attempt: str) -> None:",
            "        super().__init__(",
            '            f"{attempt} would change the state without its event; dispatch a task instead "',
            f'            "({p}Machine.dispatch), which emits runner_status with every change"',
            "        )",
        )

    def public_tables(self) -> None:
        """The facts of the spec a runtime and a supervisor need, without reading the YAML."""
        spec, p = self.spec, self.p

        def seconds(value: float | None) -> str:
            return "None" if value is None else repr(float(value))

        timed = [s for s in spec.states if s.timeout_s is not None or s.stall_timeout_s is not None]
        self.w(
            "",
            "",
            "# The status each state reports (the name of its wire type).",
            f"STATUS_OF: dict[{p}State, str] = {{",
            *(f"    {p}State.{ident(s.name)}: {py_str(ident(s.status))}," for s in spec.states),
            "}",
            "# (timeout_s, stall_timeout_s) of each state that has a deadline; None where unset.",
            f"TIMEOUTS: dict[{p}State, tuple[float | None, float | None]] = {{",
            *(
                f"    {p}State.{ident(s.name)}: ({seconds(s.timeout_s)}, {seconds(s.stall_timeout_s)}),"
                for s in timed
            ),
            "}",
            f"FINAL_STATES: frozenset[{p}State] = frozenset(",
            "    {",
            *(f"        {p}State.{ident(s.name)}," for s in spec.states if s.final),
            "    }",
            ")",
            *_str_tuple("GUARDS", [g.name for g in spec.guards]),
            *_str_tuple("CONSTANT_GUARDS", list(spec.constant_guards())),
            *_str_tuple("ACTIONS", [a.name for a in spec.actions]),
        )

    def tables(self) -> None:
        spec, p = self.spec, self.p
        waiting = [s.name for s in spec.states if s.transient and not s.accepts_tasks]
        self.w(
            "",
            "",
            "# States whose tasks wait in the queue (transient and not interruptible).",
            f"_WAITING: frozenset[{p}State] = frozenset(",
            "    {",
            *(f"        {p}State.{ident(s)}," for s in waiting),
            "    }",
            ")",
        )
        self.w(
            "# Cells where a task is queued rather than rejected.",
            f"_DEFERRED: frozenset[tuple[{p}State, {p}Task]] = frozenset(",
            "    {",
            *(
                f"        ({p}State.{ident(s)}, {p}Task.{ident(t)}),"
                for s, t, _ in sorted(spec.defer, key=lambda d: (d[2], d[0], d[1]))
            ),
            "    }",
            ")",
        )
        self.w(
            "# The guard expressions of each cell's rules (for the rejection message).",
            f"_NEEDS: dict[{p}State, dict[{p}Task, tuple[str, ...]]] = {{",
        )
        for state in spec.states:
            cell = [(t, spec.rules_for(state.name, t)) for t in spec.tasks]
            cell = [(t, rules) for t, rules in cell if rules]
            if not cell:
                continue
            self.w(f"    {p}State.{ident(state.name)}: {{")
            for task, rules in cell:
                needs = ", ".join(py_str(str(rule.when)) for rule in rules)
                comma = "," if len(rules) == 1 else ""
                self.w(f"        {p}Task.{ident(task)}: ({needs}{comma}),")
            self.w("    },")
        self.w("}")
        self.w(f"_QUEUED: dict[{p}State, str] = {{")
        for state in spec.states:
            queued = [t for t in spec.tasks if spec.deferred(state.name, t)]
            if queued:
                self.w(
                    f"    {p}State.{ident(state.name)}: {py_str('; queued here: ' + ', '.join(queued))},"
                )
        self.w("}")

    def support(self) -> None:
        p = self.p
        self.w(
            "",
            "",
            "def _failure_message(exc: BaseException) -> str:",
            '    """The Failed status message: the exception text, or its type when it has none."""',
            "    return str(exc) or type(exc).__name__",
            "",
            "",
            "def _rejection_message(",
            f"    state: {p}State,",
            f"    task: {p}Task,",
            "    guards: tuple[tuple[str, bool], ...],",
            f"    allowed: tuple[{p}Task, ...],",
            ") -> str:",
            '    """The same text as exo_spec.model.rejection_message."""',
            "    shown = \", \".join(f\"{name}={'true' if value else 'false'}\" for name, value in guards)",
            '    where = f"state {state}" + (f" ({shown})" if shown else "")',
            "    needs = _NEEDS.get(state, {}).get(task)",
            "    if needs:",
            '        why = "its rules here need " + " or ".join(f"\'{need}\'" for need in needs)',
            "    else:",
            '        why = f"no rule accepts {task} in {state}"',
            '    listed = ", ".join(allowed) or "none"',
            '    tail = _QUEUED.get(state, "")',
            '    return f"task {task} rejected in {where}: {why}; allowed here: {listed}{tail}"',
            "",
            "",
            "class _NotCancellableError(Exception):",
            '    """An action that the spec does not declare cancellable returned CANCELLED."""',
            "",
            "    def __init__(self, action: str) -> None:",
            "        super().__init__(",
            '            f"action {action} returned CANCELLED, but the spec does not declare it cancellable"',
            "        )",
            "",
            "",
            "class _Guard(Condition):",
            '    """A guard: a bound method of the bindings, called with no arguments."""',
            "",
            "    def __init__(self, func: Callable[[], bool], target: bool) -> None:",
            "        super().__init__(func, target)",
            "        self.guard = func",
            "",
            "    def check(self, event_data: EventData) -> bool:",
            "        return self.guard() == self.target",
            "",
            "",
            f'_Fire = Callable[["{p}Machine", object], {p}State]',
            "",
            "",
            f"def _leg_only(machine: {p}Machine, task: object) -> {p}State:",
            '    raise MachineError("this transition is one leg of a rule; dispatch the task instead")',
            "",
            "",
            "class _Leg(Transition):",
            '    """One transition of a rule. A task\'s first leg fires the whole rule; the legs',
            "    after it (to the rule's target, to on_error) are taken inside it.",
            '    """',
            "",
            "    condition_cls = _Guard",
            "",
            "    def __init__(",
            "        self,",
            "        source: str,",
            "        dest: str | None,",
            "        *args: object,",
            "        guards: tuple[tuple[Callable[[], bool], bool], ...] = (),",
            "        fire: _Fire = _leg_only,",
            "    ) -> None:",
            "        super().__init__(source, dest)  # type: ignore[arg-type]  # None: internal",
            "        self.guards = tuple(_Guard(func, target) for func, target in guards)",
            "        self.conditions = list[Condition](self.guards)",
            "        self.fire = fire",
            "",
            "    def enabled(self) -> bool:",
            "        return all(guard.guard() == guard.target for guard in self.guards)",
            "",
            "    def execute(self, event_data: EventData) -> bool:",
            '        """transitions\' entry point: run the whole rule when its guards hold."""',
            "        machine = event_data.machine",
            f"        if not isinstance(machine, {p}Machine):",
            f'            raise MachineError("a {p}Machine leg ran on another machine")',
            "        if not self.enabled():",
            "            return False",
            "        args = tuple(event_data.args)",
            "        self.fire(machine, args[0] if args else None)",
            "        return True",
            "",
            "",
            "class _TaskEvent(Event):",
            '    """A task\'s trigger: machine.LoadModel(task) is machine.dispatch(LoadModel, task)."""',
            "",
            "    def trigger(self, model: object, *args: Any, **kwargs: Any) -> bool:",
            "        machine = self.machine",
            f"        if not isinstance(machine, {p}Machine) or kwargs or len(args) > 1:",
            '            raise MachineError(f"{self.name}(task) takes one task payload")',
            f"        machine.dispatch({p}Task(self.name), args[0] if args else None)",
            "        return True",
            "",
            "",
            "class _LegEvent(Event):",
            '    """The legs after a rule\'s first: listed for introspection, never triggered."""',
            "",
            "    def trigger(self, model: object, *args: Any, **kwargs: Any) -> bool:",
            '        raise MachineError(f"{self.name} is taken inside a rule; dispatch the task")',
        )

    # -- the machine ------------------------------------------------------------------------------

    def machine(self) -> None:
        spec, p = self.spec, self.p
        self.w(
            "",
            "",
            f"class {p}Machine(transitions.Machine):",
            f'    """The {ident(spec.machine)} lifecycle; bound to guards, actions and an event sink."""',
            "",
            "    transition_cls = _Leg",
            "    event_cls = _TaskEvent",
            "",
            "    def __init__(",
            "        self,",
            f"        bindings: {p}Bindings,",
            "        *,",
            f"        initial: {p}State = {p}State.{ident(spec.initial)},",
            "        emit_initial: bool = True,",
            "    ) -> None:",
            "        self._state = initial  # written only by _enter once constructed",
            "        self._bindings = bindings",
            "        self._runner_status = bindings.runner_status",
            "        self._task_status = bindings.task_status",
            "        self._acknowledged = bindings.acknowledged",
        )
        for action in spec.actions:
            self.w(f"        self._do_{ident(action.name)} = bindings.{ident(action.name)}")
        self.w(
            "        super().__init__(",
            f"            states=[State(state, final=state in FINAL_STATES) for state in {p}State],",
            "            initial=initial,",
            "            auto_transitions=False,",
            "            send_event=False,",
            "            ignore_invalid_triggers=False,",
            "        )",
            "        self._guards: tuple[tuple[str, Callable[[], bool]], ...] = (",
            *(f"            ({py_str(g.name)}, bindings.{ident(g.name)})," for g in spec.guards),
            "        )",
        )
        self.transitions_()
        self.w(
            f"        self._cells: dict[{p}State, dict[{p}Task, tuple[_Leg, ...]]] = {{",
            f"            state: {{task: self._legs(state, task) for task in {p}Task}} for state in {p}State",
            "        }",
            "        if emit_initial:",
            "            self._runner_status(initial, None)",
            "",
            "    @property",
            f"    def state(self) -> {p}State:",
            '        """The state the machine is in (read-only: dispatch a task to change it)."""',
            "        return self._state",
            "",
            "    @state.setter",
            "    def state(self, value: object) -> NoReturn:",
            '        raise StateChangeError(f"assigning state = {value!r}")',
            "",
            "    @property",
            f"    def current(self) -> {p}State:",
            '        """The state the machine is in."""',
            "        return self._state",
            "",
            "    def set_state(self, state: str | enum.Enum | State, model: object | None = None) -> None:",
            '        """Raises StateChangeError: only a dispatched task changes the state.',
            "",
            "        transitions calls it once, while the machine registers itself as its own model,",
            "        to set the state it already holds; that call is let through and changes nothing.",
            '        """',
            "        if not self.models and (model is None or model is self):",
            "            node = state if isinstance(state, State) else self.get_state(state)",
            "            if node.value is self._state:",
            "                return",
            "        name = state.name if isinstance(state, State) else str(state)",
            '        raise StateChangeError(f"set_state({name!r})")',
            "",
            f"    def _enter(self, state: {p}State, message: str | None) -> None:",
            '        """The only write of the state once constructed: emit runner_status, then move."""',
            "        self._runner_status(state, message)",
            "        self._state = state",
            "",
            f"    def dispatch(self, task_name: {p}Task, task: object) -> {p}State:  # type: ignore[override]",
            '        """Run one task and return the new state.',
            "",
            "        Emits the accept events, runs the action, emits the success, cancelled or failure",
            "        events (an action that raises moves the machine to on_error). Raises TaskDeferred",
            "        for a task that waits, and TaskRejected (after the reject events) for one that no",
            "        rule accepts here.",
            '        """',
            "        try:",
            "            legs = self._cells[self._state][task_name]",
            "        except KeyError:",
            f'            known = ", ".join({p}Task)',
            '            raise ValueError(f"unknown task {task_name!r}; one of: {known}") from None',
            "        for leg in legs:",
            "            for guard in leg.guards:",
            "                if guard.guard() != guard.target:",
            "                    break",
            "            else:",
            "                return leg.fire(self, task)",
            "        return self._refuse(task_name, task)",
            "",
            f"    def allowed(self) -> tuple[{p}Task, ...]:",
            '        """The tasks some rule accepts now (guards evaluated), in spec order."""',
            "        return tuple(",
            "            task",
            "            for task, legs in self._cells[self._state].items()",
            "            if any(leg.enabled() for leg in legs)",
            "        )",
            "",
            f"    def _legs(self, state: {p}State, task: {p}Task) -> tuple[_Leg, ...]:",
            "        if (state, task) in _DEFERRED:",
            "            return ()",
            "        event = self.events[task.value]",
            "        legs = event.transitions.get(state.name, [])",
            "        return tuple(leg for leg in legs if isinstance(leg, _Leg))",
            "",
            f"    def _refuse(self, task_name: {p}Task, task: object) -> NoReturn:",
            "        state = self._state",
            "        if state in _WAITING or (state, task_name) in _DEFERRED:",
            "            raise TaskDeferred(state, task_name)",
            "        guards = tuple((name, guard()) for name, guard in self._guards)",
            "        allowed = self.allowed()",
            "        message = _rejection_message(state, task_name, guards, allowed)",
        )
        self.ops(reject_phase(spec, spec.initial).ops, "message", "        ")
        self.w("        raise TaskRejected(state, task_name, guards, allowed, message)")
        for plan in self.plans:
            self.rule(plan)

    def transitions_(self) -> None:
        """Register every leg with transitions' own add_transition."""
        spec, p = self.spec, self.p
        leg_events: list[str] = []
        legs: list[str] = []
        for plan in self.plans:
            rule = plan.rule
            dest = plan.accept.end if plan.accept.end != rule.source else None
            guard_items = [
                f"({self.guard_func(lit)}, {lit.target})" for lit in conjuncts(rule.when)
            ]
            guards = "(" + ", ".join(guard_items) + ("," if len(guard_items) == 1 else "") + ")"
            self.w(
                "        self.add_transition(",
                f"            {py_str(rule.task)},",
                f"            {py_str(rule.source)},",
                f"            {py_str(dest) if dest else 'None'},",
                *([f"            guards={guards},"] if guard_items else []),
                f"            fire={p}Machine.{self.rule_method[rule]},",
                "        )",
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
                leg = (event, plan.accept.end, phase.end)
                text = f"        self.add_transition({py_str(event)}, {py_str(leg[1])}, {py_str(leg[2])})"
                if text not in legs:
                    legs.append(text)
        if leg_events:
            self.w(
                "        # The legs taken inside a rule, after its first (never triggered alone)."
            )
            for event in leg_events:
                self.w(f"        self.events[{py_str(event)}] = _LegEvent({py_str(event)}, self)")
            self.w(*legs)
        del spec

    def guard_func(self, lit: Conjunct) -> str:
        if lit.guard is not None:
            return f"bindings.{ident(lit.guard)}"
        code = _expr_code(lit.expr, "bindings")
        return f"lambda: {code}"

    def ops(self, ops: tuple[Op, ...], message: str, indent: str) -> None:
        p = self.p
        for op in ops:
            msg = message if op.with_message else "None"
            if op.kind == "status":
                self.w(f"{indent}self._task_status(task, {py_str(op.status or '')}, {msg})")
            elif op.kind == "ack":
                self.w(f"{indent}self._acknowledged(task)")
            else:
                self.w(f"{indent}self._enter({p}State.{ident(op.state or '')}, {msg})")

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
                f"                raise _NotCancellableError({py_str(action)})",
            )
        self.w("        except Exception as exc:", "            message = _failure_message(exc)")
        self.finish(plan.failure, "message", "            ", via)
        if plan.cancelled is not None:
            self.w("        if result is CANCELLED:")
            self.finish(plan.cancelled, "None", "            ", via)
        self.finish(plan.success, "None", "        ", via)

    def finish(self, phase: Phase, message: str, indent: str, via: str | None = None) -> None:
        """A phase's ops and its return. With ``via`` (a nested task may have moved the runner
        while the action ran), the phase's state changes happen only if the runner is still in
        ``via``; otherwise the phase emits its other events and returns the state as it is."""
        p = self.p
        if via is None:
            self.ops(phase.ops, message, indent)
            self.w(f"{indent}return {p}State.{ident(phase.end)}")
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
        self.w(f"{indent}if self._state is not {p}State.{ident(via)}:")
        if not split:
            self.ops(tuple(op for op in phase.ops if op.kind != "move"), message, indent + "    ")
        self.w(f"{indent}    return self._state")
        self.ops(after, message, indent)
        self.w(f"{indent}return {p}State.{ident(phase.end)}")


def _str_tuple(name: str, items: list[str]) -> list[str]:
    """A ``tuple[str, ...]`` constant in the layout ruff format keeps (magic trailing comma)."""
    if not items:
        return [f"{name}: tuple[str, ...] = ()"]
    return [f"{name}: tuple[str, ...] = (", *(f"    {py_str(ident(i))}," for i in items), ")"]


def render_machine(spec: Spec) -> str:
    """The text of ``<machine>_machine.py`` for ``spec`` (which must have no check errors)."""
    return _Module(spec).render()
