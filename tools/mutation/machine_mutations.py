"""The mutations of the runner machine that its generated tests must kill.

Each mutation is a text edit of one file: ``src/exo_spec/generated/runner_machine.py``
(``target="machine"``, what the generator writes for the spec) or ``src/exo_spec/machine.py``
(``target="base"``, the machinery every generated machine shares). It replaces ``old`` by
``new``, at its only occurrence, or at the first occurrence after the unique text ``within``
(a method's ``def`` line, say). An anchor that is not found is an error, never a silent
no-op: when the generator's output or the base module changes, these edits must follow.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["MUTATIONS", "Mutation", "MutationNotAppliedError", "Target"]

Target = Literal["machine", "base"]


class MutationNotAppliedError(ValueError):
    """A mutation's anchor text is not in the machine source (or not only once)."""


@dataclass(frozen=True)
class Mutation:
    """One edit of the ``target`` source; ``doc`` says what bug it plants."""

    name: str
    doc: str
    old: str
    new: str
    within: str | None = None
    target: Target = "machine"

    def apply(self, source: str) -> str:
        start = 0
        if self.within is not None:
            if source.count(self.within) != 1:
                raise MutationNotAppliedError(
                    f"mutation {self.name} did not apply: {self.within!r} occurs "
                    f"{source.count(self.within)} times, expected once"
                )
            start = source.index(self.within)
        elif source.count(self.old) != 1:
            raise MutationNotAppliedError(
                f"mutation {self.name} did not apply: {self.old!r} occurs "
                f"{source.count(self.old)} times, expected once"
            )
        at = source.find(self.old, start)
        if at < 0:
            raise MutationNotAppliedError(
                f"mutation {self.name} did not apply: {self.old!r} not found"
                + (f" after {self.within!r}" if self.within else "")
            )
        mutated = source[:at] + self.new + source[at + len(self.old) :]
        if mutated == source:
            raise MutationNotAppliedError(f"mutation {self.name} did not apply: no change")
        return mutated


def _rule(name: str) -> str:
    return f"    def {name}(self, task: object) -> RunnerState:\n"


_I = "        "  # a rule body's indent
_E = "            "  # the indent inside a rule's except block

MUTATIONS: tuple[Mutation, ...] = (
    Mutation(
        "drop-transition",
        "Shutdown is no longer accepted in loaded",
        '        self.add_transition(\n            "Shutdown",\n            "loaded",\n'
        '            "shutting_down",\n'
        "            fire=RunnerMachine._rule12_Shutdown_loaded,\n        )\n",
        "",
    ),
    Mutation(
        "retarget-transition",
        "DownloadModel from connected comes back to idle (state and its event)",
        f"{_I}self._enter(RunnerState.connected, None)\n{_I}return RunnerState.connected\n",
        f"{_I}self._enter(RunnerState.idle, None)\n{_I}return RunnerState.idle\n",
        within=_rule("_rule3_DownloadModel_connected"),
    ),
    Mutation(
        "retarget-state-only",
        "ConnectToGroup returns idle while the runner is in connected",
        f"{_I}return RunnerState.connected\n",
        f"{_I}return RunnerState.idle\n",
        within=_rule("_rule4_ConnectToGroup_idle"),
    ),
    Mutation(
        "enter-without-move",
        "entering a state emits its event but leaves the state unchanged",
        "        self._runner_status(state, message)\n        self._state = state\n",
        "        self._runner_status(state, message)\n",
        target="base",
    ),
    Mutation(
        "swap-guard",
        "ConnectToGroup is guarded by weights_present instead of has_group",
        "guards=((bindings.has_group, True),),",
        "guards=((bindings.weights_present, True),),",
    ),
    Mutation(
        "negate-guard",
        "LoadModel in idle needs has_group instead of not has_group",
        "guards=((bindings.has_group, False), (bindings.weights_present, True)),",
        "guards=((bindings.has_group, True), (bindings.weights_present, True)),",
    ),
    Mutation(
        "drop-guard",
        "LoadModel in idle no longer needs weights_present",
        "guards=((bindings.has_group, False), (bindings.weights_present, True)),",
        "guards=((bindings.has_group, False),),",
    ),
    Mutation(
        "ignore-guards",
        "dispatch fires the first rule of a cell whatever its guards say",
        "                if guard.guard() != guard.target:\n",
        "                if False:\n",
        target="base",
    ),
    Mutation(
        "drop-entry-emission",
        "entering warming_up emits no runner status",
        "        self._runner_status(state, message)\n        self._state = state\n",
        '        if state != "warming_up":\n'
        "            self._runner_status(state, message)\n"
        "        self._state = state\n",
        target="base",
    ),
    Mutation(
        "drop-initial-emission",
        "a new machine does not report its initial state",
        "            self._runner_status(self._state, None)\n",
        "            pass\n",
        target="base",
    ),
    Mutation(
        "wrong-initial",
        "a new machine starts in failed",
        "initial: RunnerState = RunnerState.idle,",
        "initial: RunnerState = RunnerState.failed,",
    ),
    Mutation(
        "reorder-success-events",
        "ChatCompletion reports ready before its task completes",
        f'{_I}self._task_status(task, "Complete", None)\n'
        f"{_I}if self._state is not RunnerState.running:\n{_I}    return self._state\n"
        f"{_I}self._enter(RunnerState.ready, None)\n",
        f"{_I}self._enter(RunnerState.ready, None)\n"
        f'{_I}self._task_status(task, "Complete", None)\n',
        within=_rule("_rule8_ChatCompletion_ready"),
    ),
    Mutation(
        "reorder-accept-events",
        "DownloadModel from idle acknowledges before reporting downloading",
        f"{_I}self._enter(RunnerState.downloading, None)\n{_I}self._acknowledged(task)\n",
        f"{_I}self._acknowledged(task)\n{_I}self._enter(RunnerState.downloading, None)\n",
        within=_rule("_rule1_DownloadModel_idle"),
    ),
    Mutation(
        "accept-forbidden-cell",
        "StartWarmup is accepted in idle",
        "        # The legs taken inside a rule, after its first (never triggered alone).\n",
        '        self.add_transition(\n            "StartWarmup",\n            "idle",\n'
        '            "warming_up",\n            fire=RunnerMachine._rule7_StartWarmup_loaded,\n'
        "        )\n"
        "        # The legs taken inside a rule, after its first (never triggered alone).\n",
    ),
    Mutation(
        "drop-defer",
        "ChatCompletion is rejected, not queued, while a generation runs",
        "        (RunnerState.running, RunnerTask.ChatCompletion),\n",
        "",
    ),
    Mutation(
        "defer-forbidden-cell",
        "StartWarmup is queued, not rejected, in ready",
        "        (RunnerState.running, RunnerTask.Shutdown),\n",
        "        (RunnerState.running, RunnerTask.Shutdown),\n"
        "        (RunnerState.ready, RunnerTask.StartWarmup),\n",
    ),
    Mutation(
        "on-error-target",
        "a failing warmup moves the runner to idle instead of failed",
        f"{_E}self._enter(RunnerState.failed, message)\n{_E}return RunnerState.failed\n",
        f"{_E}self._enter(RunnerState.idle, message)\n{_E}return RunnerState.idle\n",
        within=_rule("_rule7_StartWarmup_loaded"),
    ),
    Mutation(
        "drop-failure-message",
        "a failing load reports failed without the error message",
        f"{_E}self._enter(RunnerState.failed, message)\n",
        f"{_E}self._enter(RunnerState.failed, None)\n",
        within=_rule("_rule5_LoadModel_connected"),
    ),
    Mutation(
        "drop-acknowledged",
        "Shutdown from idle is never acknowledged",
        f"{_I}self._acknowledged(task)\n",
        "",
        within=_rule("_rule10_Shutdown_idle"),
    ),
    Mutation(
        "swap-complete-failed",
        "Shutdown from ready reports Failed on success",
        f'{_I}self._task_status(task, "Complete", None)\n',
        f'{_I}self._task_status(task, "Failed", None)\n',
        within=_rule("_rule13_Shutdown_ready"),
    ),
    Mutation(
        "skip-action",
        "LoadModel in idle never calls load",
        f"{_I}    if self._do_load(task) is not None:\n",
        f"{_I}    if None is not None:\n",
        within=_rule("_rule6_LoadModel_idle"),
    ),
    Mutation(
        "action-gets-another-task",
        "generate is called without the task",
        "            result = self._do_generate(task)\n",
        "            result = self._do_generate(None)\n",
    ),
    Mutation(
        "status-for-another-task",
        "DownloadModel from failed reports Running for no task",
        f'{_I}self._task_status(task, "Running", None)\n',
        f'{_I}self._task_status(None, "Running", None)\n',
        within=_rule("_rule2_DownloadModel_failed"),
    ),
    Mutation(
        "cancelled-as-complete",
        "a cancelled generation reports Complete",
        f'{_I}    self._task_status(task, "Cancelled", None)\n',
        f'{_I}    self._task_status(task, "Complete", None)\n',
    ),
    Mutation(
        "cancel-reports-status",
        "CancelTask announces running although the state does not change",
        f'{_I}self._task_status(task, "Complete", None)\n{_I}return self._state\n',
        f'{_I}self._task_status(task, "Complete", None)\n{_I}self._enter(RunnerState.running, None)\n'
        f"{_I}return self._state\n",
    ),
    Mutation(
        "reject-without-event",
        "a rejected task gets no Failed status",
        '        self._task_status(task, "Failed", message)\n',
        "        pass\n",
        within="    def _reject(self, task: object, message: str) -> None:\n",
    ),
    Mutation(
        "rejection-message-guards",
        "the rejection message prints guard values inverted",
        "rejection_text(state, task, guards, needs, allowed, queued)",
        "rejection_text(state, task, [(n, not v) for n, v in guards], needs, allowed, queued)",
        target="base",
    ),
    Mutation(
        "drop-queued-tail",
        "the rejection message in running no longer lists the queued tasks",
        "rejection_text(state, task, guards, needs, allowed, queued)",
        "rejection_text(state, task, guards, needs, allowed, ())",
        target="base",
    ),
    Mutation(
        "allowed-ignores-guards",
        "allowed() lists every task with a rule, whatever the guards",
        "            if any(leg.enabled() for leg in legs)\n",
        "            if legs\n",
        target="base",
    ),
    Mutation(
        "failure-message-type",
        "the Failed status carries the exception type, not its text",
        "    return str(exc) or type(exc).__name__\n",
        "    return type(exc).__name__\n",
        target="base",
    ),
)
