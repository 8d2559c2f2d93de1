"""The code table: every code exo-spec can report, in one literal table (like ruff's ``codes``).

Nothing registers itself here and importing this module has no side effects: the linter, the
conformance suite and ``exo-spec trace-check`` all report :class:`~exo_spec.spec.diagnostics.Diagnostic`
records whose code is in :data:`CODES`, and ``--select``/``--ignore`` are checked against it.

The prefixes:

- ``EXS0xx`` the spec file's schema (the loader), ``EXS1xx`` names that refer to nothing,
  ``EXS2xx`` the spec's semantics (``exo-spec check``);
- ``EXS3xx`` generated code, ``EXS4xx`` a runner's binding (``exo-spec check``);
- ``EXS5xx`` a runner's events disagree with the spec (``exo-spec conformance``, and
  ``exo-spec trace-check`` on a log with task lines);
- ``EXS6xx`` a recorded event log on its own (``exo-spec trace-check``);
- ``EXS7xx`` an invariant broken by runners, supervisors, the planner and faults together
  (``exo-spec explore``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from attrs import frozen

__all__ = [
    "BY_CODE",
    "BY_NAME",
    "CODES",
    "DEFAULT_CODES",
    "Code",
    "Example",
    "Explanation",
    "Origin",
    "Severity",
    "code_for",
    "matches_any",
    "selected",
    "severity_of",
]

Severity = Literal["error", "warning"]
Origin = Literal["loader", "check", "codegen", "runtime", "conformance", "trace-check", "explore"]


@frozen
class Code:
    """One code: its kebab-case name, a one-line summary, who reports it and its severity."""

    code: str
    name: str
    summary: str
    origin: Origin
    severity: Severity = "error"
    default: bool = True
    """Whether the code is reported when nothing selects it by name (``select`` unset)."""


@frozen
class Example:
    """A small input that triggers a code."""

    kind: Literal["spec", "trace", "fixture"]
    description: str
    edits: tuple[tuple[str, str], ...] = ()
    lines: tuple[str, ...] = ()
    also: tuple[str, ...] = ()


@frozen
class Explanation:
    """Why the code matters and what to write instead; the summary is the code table's."""

    why: str
    instead: str
    example: Example


def _c(
    code: str,
    name: str,
    summary: str,
    origin: Origin,
    severity: Severity = "error",
    *,
    default: bool = True,
) -> Code:
    return Code(code, name, summary, origin, severity, default)


CODES: tuple[Code, ...] = (
    # -- EXS0xx: the spec file's schema ----------------------------------------------------------
    _c("EXS000", "unreadable-spec", "the spec file cannot be read", "loader"),
    _c("EXS001", "yaml-syntax", "YAML syntax error, or the file is not UTF-8", "loader"),
    _c("EXS002", "unknown-key", "unknown key (with did-you-mean)", "loader"),
    _c("EXS003", "wrong-type", "a value has the wrong type", "loader"),
    _c("EXS004", "missing-key", "a required key is missing", "loader"),
    _c("EXS005", "bad-identifier", "a name is not a valid identifier", "loader"),
    _c("EXS006", "unsupported-version", "unsupported spec version", "loader"),
    _c("EXS007", "duplicate-key", "duplicate key", "loader"),
    _c(
        "EXS008",
        "spec-too-large",
        "the spec is too large, too deep or expands too far through aliases",
        "loader",
    ),
    # -- EXS1xx: names that refer to nothing -----------------------------------------------------
    _c(
        "EXS101",
        "unknown-state",
        "unknown state reference (initial, from, via, to, on_error, defer)",
        "check",
    ),
    _c("EXS102", "unknown-guard", "unknown guard in a rule's when", "check"),
    _c("EXS103", "unknown-action", "unknown action in a rule's do", "check"),
    _c("EXS104", "guard-syntax", "guard expression syntax error", "loader"),
    _c("EXS105", "unknown-deferred-task", "unknown task in defer", "check"),
    _c(
        "EXS106",
        "unknown-event",
        "unknown or malformed event template or progress kind",
        "loader",
    ),
    # -- EXS2xx: the spec's semantics ------------------------------------------------------------
    _c(
        "EXS201",
        "unreachable-state",
        "state unreachable from the initial state under every guard value",
        "check",
    ),
    _c(
        "EXS202",
        "required-state-unreachable",
        "a required state unreachable under some value of the constant guards",
        "check",
    ),
    _c("EXS203", "trap-state", "trap state: no final state is reachable from it", "check"),
    _c("EXS204", "final-state-exits", "final state with outgoing rules or defers", "check"),
    _c(
        "EXS205",
        "transient-without-timeout",
        "transient state without timeout_s or stall_timeout_s",
        "check",
    ),
    _c("EXS206", "task-accepted-nowhere", "task accepted in no state", "check"),
    _c(
        "EXS207",
        "final-task-missing",
        "a task-handling state where the task that ends the runner is not accepted",
        "check",
    ),
    _c(
        "EXS208",
        "overlapping-rules",
        "two rules for the same state and task can be enabled at once",
        "check",
    ),
    _c(
        "EXS209",
        "rule-never-fires",
        "a rule that can never fire (impossible guard, or shadowed by an earlier rule)",
        "check",
    ),
    _c(
        "EXS210",
        "missing-contract-event",
        "a state change or task outcome without its event in the contract",
        "check",
    ),
    _c("EXS211", "unused-guard", "declared guard never used in a when", "check", "warning"),
    _c("EXS212", "unused-action", "declared action never used in a do", "check", "warning"),
    _c(
        "EXS213",
        "deferred-and-accepted",
        "a cell both deferred and accepted by a rule",
        "check",
    ),
    _c(
        "EXS214",
        "source-handles-no-tasks",
        "a rule or defer whose source handles no tasks (final or transient)",
        "check",
    ),
    _c("EXS215", "duplicate-status", "two states report the same status", "check"),
    _c(
        "EXS216",
        "bad-via-or-to",
        "a via state that is not transient, or a to state that is transient",
        "check",
    ),
    _c(
        "EXS217",
        "bad-on-error",
        "an action-bearing rule without a usable on_error state",
        "check",
    ),
    _c(
        "EXS218",
        "dead-end-state",
        "dead end: under some guard values a resting state accepts only ending tasks "
        "(off unless selected: a machine may well have states that can only end)",
        "check",
        default=False,
    ),
    # -- EXS3xx / EXS4xx: generated code and bindings --------------------------------------------
    _c(
        "EXS301",
        "stale-generated-code",
        "generated code is stale: regenerate it with exo-spec generate",
        "codegen",
    ),
    _c(
        "EXS302",
        "name-collision",
        "a name would collide with the generated machine's own API",
        "codegen",
    ),
    _c(
        "EXS303",
        "generated-tests-too-large",
        "the generated exhaustive tests would be too large (guards, cells or transition pairs)",
        "codegen",
    ),
    _c(
        "EXS401",
        "unbound-guard-or-action",
        "a guard or action has no binding in the runner implementation",
        "runtime",
    ),
    # -- EXS5xx: a runner's events against the spec ----------------------------------------------
    _c(
        "EXS501",
        "missing-runner-status",
        "a status change without its RunnerStatusUpdated",
        "conformance",
    ),
    _c(
        "EXS502",
        "wrong-runner-status",
        "a RunnerStatusUpdated with another status than the spec's",
        "conformance",
    ),
    _c(
        "EXS503",
        "redundant-runner-status",
        "a RunnerStatusUpdated without a status change",
        "conformance",
    ),
    _c(
        "EXS504",
        "rejected-legal-task",
        "a task the spec accepts was failed by the runner",
        "conformance",
    ),
    _c(
        "EXS505",
        "running-before-guard",
        "a rejected task was reported Running before its guard was checked",
        "conformance",
    ),
    _c(
        "EXS506",
        "accepted-illegal-task",
        "a task the spec rejects was run by the runner",
        "conformance",
    ),
    _c("EXS507", "out-of-order", "the expected events arrived out of order", "conformance"),
    _c(
        "EXS508",
        "wrong-final-status",
        "a task ended with another final status than the spec's",
        "conformance",
    ),
    _c("EXS509", "no-final-status", "a task never got its final status", "conformance"),
    _c("EXS510", "missing-event", "an event of the contract was never sent", "conformance"),
    _c(
        "EXS511",
        "unexpected-event",
        "an event the contract does not call for",
        "conformance",
    ),
    _c(
        "EXS512",
        "second-final-status",
        "a task got another status after its final one",
        "conformance",
    ),
    _c("EXS513", "hang", "the runner did not return in time", "conformance"),
    _c("EXS514", "loop-died", "the runner's loop died on a task", "conformance"),
    _c(
        "EXS515",
        "wrong-runner-id",
        "a RunnerStatusUpdated with another runner id than the context's",
        "conformance",
    ),
    _c(
        "EXS516",
        "event-for-wrong-task",
        "an event of the contract sent under another task's id",
        "conformance",
    ),
    _c(
        "EXS517",
        "wrong-chunk",
        "chunks whose text or order is not what the engine produced for the task",
        "conformance",
    ),
    _c("EXS518", "progress-backwards", "a progress counter that went backwards", "conformance"),
    _c(
        "EXS519",
        "empty-failure-message",
        "a Failed task status or RunnerFailed without a message",
        "conformance",
    ),
    _c(
        "EXS520",
        "event-after-return",
        "an event emitted after run() returned (from a thread left behind)",
        "conformance",
    ),
    _c(
        "EXS521",
        "cancel-ignored",
        "the engine was asked for more than one token after a cancel of its chat",
        "conformance",
    ),
    _c(
        "EXS522",
        "engine-call-outside-rule",
        "an engine action the spec's rules do not run there (engine.close() outside Shutdown)",
        "conformance",
    ),
    # -- EXS6xx: a recorded log on its own -------------------------------------------------------
    _c("EXS601", "unparsable-line", "a log line that is not a tagged event", "trace-check"),
    _c(
        "EXS602",
        "no-initial-status",
        "the log does not start with the initial RunnerStatusUpdated",
        "trace-check",
    ),
    _c(
        "EXS603",
        "repeated-runner-status",
        "the same runner status twice in a row in a log",
        "trace-check",
    ),
    _c(
        "EXS604",
        "forbidden-transition",
        "a status change that is no transition of the spec",
        "trace-check",
    ),
    _c(
        "EXS605",
        "after-final-status",
        "an event for a task after its final status",
        "trace-check",
    ),
    _c(
        "EXS606",
        "task-never-finished",
        "a task in the log never gets a final status",
        "trace-check",
    ),
    _c(
        "EXS607",
        "missing-required-event",
        "an accepted task without an event the contract requires (its TaskAcknowledged)",
        "trace-check",
    ),
    # -- EXS7xx: runners, supervisors, the planner and faults together ---------------------------
    _c("EXS701", "task-final-once", "a task without exactly one final status", "explore"),
    _c(
        "EXS702",
        "action-outside-rule",
        "a task reached an action in a state whose rule does not accept it",
        "explore",
    ),
    _c("EXS703", "unemitted-state-change", "a state change that was not emitted", "explore"),
    _c("EXS704", "cleanup-twice", "a runner process's cleanup ran more than once", "explore"),
    _c(
        "EXS705",
        "alive-after-delete",
        "a runner process alive after it left the node's table",
        "explore",
    ),
    _c("EXS706", "stuck", "a configuration where nothing can happen, short of done", "explore"),
    _c(
        "EXS707",
        "not-live",
        "with no fault, a placed instance that can no longer reach ready",
        "explore",
    ),
    _c(
        "EXS708",
        "collective-deadlock",
        "a rank entered a collective out of the group's order",
        "explore",
    ),
    _c(
        "EXS709",
        "restart-budget",
        "a runner given up before its restart budget (reset on success) was spent",
        "explore",
    ),
    _c(
        "EXS710",
        "state-limit",
        "the exploration stopped at --max-states: its results are partial",
        "explore",
        "warning",
    ),
)

BY_CODE: dict[str, Code] = {c.code: c for c in CODES}
BY_NAME: dict[str, Code] = {c.name: c for c in CODES}
DEFAULT_CODES: tuple[str, ...] = tuple(c.code for c in CODES if c.default)
"""The codes reported when nothing is selected."""
_ANY = Code("", "", "", "check")


def code_for(name: str) -> str:
    """The code of the finding named ``name`` (``KeyError`` for a name not in the table)."""
    return BY_NAME[name].code


def severity_of(code: str) -> Severity:
    """The table's severity for ``code`` (``error`` for a code not in the table)."""
    info = BY_CODE.get(code)
    return "error" if info is None else info.severity


def matches_any(prefix: str) -> bool:
    """Whether some code in the table starts with ``prefix`` (``EXS2`` or ``EXS208``)."""
    return any(c.code.startswith(prefix) for c in CODES)


def selected(code: str, select: Sequence[str] | None, ignore: Sequence[str] | None) -> bool:
    """Ruff-style selection by code prefix: ``EXS2`` selects every ``EXS2xx`` code. With no
    ``select``, only the codes on by default are (:attr:`Code.default`; EXS218 is not)."""
    if select:
        if not any(code.startswith(p) for p in select):
            return False
    elif not BY_CODE.get(code, _ANY).default:
        return False
    return not (ignore and any(code.startswith(p) for p in ignore))
