"""One rank's moves, given what they read of its peers: the pure part of a transition.

Each function takes the exploration's :class:`.Semantics`, the rank's number and record (and
the facts about its peers that :mod:`.transitions` computed) and returns the rank's move as a
:data:`Local`: its label, the rank's new record with its dead fields reset (:func:`forget`),
what it breaks (the transition's own checks and :func:`.invariants.runner_problems` on the new
record), the faults it spends and whether it ends the process. Being functions of those
arguments alone, :mod:`.transitions` memoises them.
"""

from __future__ import annotations

from collections.abc import Iterator

from exo_spec.explore.invariants import (
    ACTION_OUTSIDE_RULE,
    CLEANUP_TWICE,
    COLLECTIVE_DEADLOCK,
    RESTART_BUDGET,
    TASK_FINAL_ONCE,
    Found,
    runner_problems,
)
from exo_spec.explore.semantics import Semantics, Started
from exo_spec.explore.state import ALIVE, CLEAN, GONE, UNCLEAN, Proc, Runner, Step, Task
from exo_spec.model import Deferred, ModelEvent, Rejected, RunnerStatus, TaskStatus

__all__ = [
    "NONE",
    "Local",
    "action_ends",
    "close",
    "closed",
    "collective",
    "crash",
    "forget",
    "forget_plans",
    "kill",
    "plan",
    "poll",
    "reap",
    "submit",
    "take",
]

Local = tuple[Step, Runner, tuple[Found, ...], int, bool, int]
"""One rank's move: its label, the rank's new record, what it breaks, the faults it spends,
whether it ends the rank's process, and the new record's number."""

_FINAL = ("Complete", "Failed", "Cancelled")
NONE: frozenset[str] = frozenset()


class _Builder:
    """One rank's move under construction: its record and what it breaks."""

    def __init__(self, sem: Semantics, i: int, r: Runner) -> None:
        self.sem = sem
        self.i = i
        self.r = r
        self.found: list[Found] = []
        self.faults = 0
        self.ends = False

    def done(self, step: Step) -> Local:
        self.found.extend(runner_problems(self.i, self.r))
        new = forget(self.r)
        return step, new, tuple(self.found), self.faults, self.ends, self.sem.intern(new)

    # -- events ------------------------------------------------------------------------------

    def final(self, task: Task, status: str) -> None:
        r = self.r
        if task not in r.open:
            self.found.append(
                (
                    TASK_FINAL_ONCE,
                    f"task {task[1]} of rank {self.i} got a second final status ({status})",
                )
            )
            return
        model = self.sem.config.supervisor
        open_ = tuple(t for t in r.open if t != task)
        r = r._replace(open=open_)
        if task[0] == "p":
            backoff = 0 if status == "Complete" else r.backoff + 1
            r = r._replace(node_task=None, backoff=backoff)
        if status == "Complete":
            r = r._replace(streak=0, failures=0 if model.reset_on_success else r.failures)
        self.r = r

    def emit(self, task: Task | None, events: tuple[ModelEvent, ...]) -> None:
        for event in events:
            if isinstance(event, RunnerStatus):
                self.r = self.r._replace(seen=event.state)
            elif isinstance(event, TaskStatus) and event.status in _FINAL and task is not None:
                self.final(task, event.status)

    # -- processes and cleanup ---------------------------------------------------------------

    def end_process(self, proc: Proc) -> None:
        """The rank's process ends: its machine is gone (and its peers lose their group). Its
        queue goes too: only a live process takes from it, and a restart starts with none (the
        queued tasks stay open until the cleanup fails them)."""
        self.r = self.r._replace(
            state=None,
            current=None,
            source=None,
            hung=0,
            proc=proc,
            done=NONE,
            queue=(),
            stop=False,
        )
        self.ends = True

    def cleanup(self, seen: str) -> None:
        """``_finish``: fail every open task once, publishing the supervisor's status."""
        r = self.r
        if self.sem.config.supervisor.cleanup_guard and r.finished:
            return
        r = r._replace(finished=True, cleanups=r.cleanups + 1, seen=seen, queue=())
        self.r = r
        if r.cleanups > 1:
            self.found.append(
                (CLEANUP_TWICE, f"the cleanup of rank {self.i}'s process ran {r.cleanups} times")
            )
        for task in r.open:
            self.final(task, "Failed")


def forget(r: Runner) -> Runner:
    """``r`` with the fields nothing reads again set to their defaults (a sound reduction:
    configurations that differ only there have the same futures, labels and findings).

    Once ``close()`` began (so the instance is deleted) the planner never runs again and the
    watcher never restarts: the planner's bookkeeping (``node_task``, ``backoff``, ``spent``)
    and the restart counts are dead. Once the rank left the node's table and its process is
    reaped, only its open tasks still matter (a task never finished is a finding at rest).
    A closing rank whose process ended is never restarted: what its mirror saw (read by the
    planner and by the restart decision) and its weights (read by ``step()``) are dead too."""
    if not r.closing:
        return r
    if r.closed and r.proc == GONE:
        return Runner(None, proc=GONE, closing=True, closed=True, open=r.open)
    if r.proc != ALIVE and (r.seen or r.weights):  # never restarted: its mirror is dead too
        r = r._replace(seen="", weights=False)
    if r.failures or r.streak or r.node_task is not None or r.backoff or r.spent:
        return r._replace(failures=0, streak=0, node_task=None, backoff=0, spent=False)
    return r


def forget_plans(r: Runner) -> Runner:
    """Once the instance is deleted the planner never runs again and the node submits no
    chat: its bookkeeping is dead
    (``spent`` and ``backoff`` settle a rank at rest, but at rest after a deletion every
    rank has left the table, which settles it anyway)."""
    if r.node_task is None and not r.backoff and not r.spent and not r.chats and not r.cancels:
        return r
    return r._replace(node_task=None, backoff=0, spent=False, chats=0, cancels=NONE)


def _label(
    i: int, what: str, actor: str, text: str, task: str | None = None, action: str | None = None
) -> Step:
    return Step(actor, i, what, task, f"rank {i}: {text}", action)


def plan(sem: Semantics, i: int, r: Runner, name: str) -> Local:
    return submit(sem, i, r, ("p", name))


def submit(sem: Semantics, i: int, r: Runner, task: Task) -> Local:
    """The node submits ``task`` to rank ``i``: the planner's next task, a chat or a cancel."""
    kind, name = task
    b = _Builder(sem, i, r)
    if kind == "p":
        r = r._replace(node_task=name, open=(*r.open, task))
        what, verb = "plan", f"plans {name}"
    elif kind[0] == "c":
        r = r._replace(chats=r.chats + 1, open=(*r.open, task))
        what, verb = "chat", f"submits {name} {kind}"
    else:
        target = f"c{kind[1:]}"
        r = r._replace(cancels=r.cancels | {target}, open=(*r.open, task))
        what, verb = "cancel", f"submits {name} {kind} (naming {target})"
    b.r = r
    where = f"(the node sees {sem.view_state(r)})"
    if (r.finished and r.proc == GONE) or r.closing:
        b.final(task, "Failed")
        text = f"the node {verb} {where}; the supervisor fails it: no process"
    elif r.proc == ALIVE:
        b.r = r._replace(queue=(*r.queue, task))
        text = f"the node {verb} {where}"
    else:
        text = f"the node {verb} {where}; it goes to a process that has ended"
    return b.done(_label(i, what, "node", text, name))


def poll(sem: Semantics, i: int, r: Runner) -> Local | None:
    """Between tokens the running action polls its queue: a deferred task stays queued (in
    order), the first other one is handled now (a CancelTask, or a rejection)."""
    assert r.state is not None
    for k, task in enumerate(r.queue):
        out = sem.outcome(r.state, task[1], r.weights)
        if isinstance(out, Deferred):
            continue
        b = _Builder(sem, i, r._replace(queue=r.queue[:k] + r.queue[k + 1 :]))
        if isinstance(out, Rejected):
            b.emit(task, out.events)
            text = f"{task[1]} rejected in {r.state} (polled)"
            return b.done(_label(i, "take", "runner", text, task[1]))
        if out.rule.via is not None:
            return None  # a rule that would leave a running action: not in the runtime's loop
        b.emit(task, out.accept + out.success)
        text = run_instant(b, task, out) + " (polled)"
        return b.done(_label(i, "take", "runner", f"{task[1]} in {r.state}: {text}", task[1]))
    return None


def run_instant(b: _Builder, task: Task, out: Started) -> str:
    """The effect of a rule without a ``via`` state: the runner's own ``cancel`` stops the
    running chat it names, or fails the queued one; anything else has none."""
    if out.rule.action != "cancel" or task[0][0] != "x":
        return "done"
    target = f"c{task[0][1:]}"
    r = b.r
    if r.current is not None and r.current[0] == target:
        b.r = r._replace(stop=True)
        return f"asks {target} to stop"
    for queued in r.queue:
        if queued[0] == target:
            b.r = r._replace(queue=tuple(t for t in r.queue if t != queued))
            b.final(queued, "Cancelled")
            return f"{target} cancelled in the queue"
    return f"nothing to cancel ({target} is not running or queued)"


def take(sem: Semantics, i: int, r: Runner, why: str | None) -> Local | None:
    assert r.state is not None
    task = r.queue[0]
    out = sem.outcome(r.state, task[1], r.weights)
    b = _Builder(sem, i, r._replace(queue=r.queue[1:]))
    if isinstance(out, Rejected):
        b.emit(task, out.events)
        return b.done(_label(i, "take", "runner", f"{task[1]} rejected in {r.state}", task[1]))
    if not isinstance(out, Started):
        return None  # deferred: it waits at the head of the queue
    rule = out.rule
    if rule.source != r.state or rule.task != task[1]:
        b.found.append(
            (
                ACTION_OUTSIDE_RULE,
                f"{task[1]} reached action {rule.action} in {r.state}; its rule is for "
                f"{rule.source}",
            )
        )
    if rule.via is None or rule.action is None:
        b.emit(task, out.accept + out.success)
        effect = run_instant(b, task, out)
        b.r = b.r._replace(state=out.success_state)
        text = f"{task[1]} in {r.state}" + ("" if effect == "done" else f": {effect}")
        return b.done(_label(i, "take", "runner", text, task[1]))
    b.emit(task, out.accept)
    hung = 0
    if why is not None:
        hung = 2
        b.found.append((COLLECTIVE_DEADLOCK, why))
    source = sem.ending_source(r.state, task[1], r.weights)
    b.r = b.r._replace(state=rule.via, current=task, source=source, hung=hung)
    text = f"takes {task[1]} in {r.state}: now {rule.via} ({rule.action} runs)"
    return b.done(_label(i, "take", "runner", text, task[1], rule.action))


def action_ends(
    sem: Semantics, i: int, r: Runner, budget: bool, can_complete: bool, lost: bool
) -> Iterator[Local]:
    cfg = sem.config
    assert r.current is not None
    assert r.source is not None
    assert r.state is not None
    task = r.current
    out = sem.outcome(r.source, task[1], r.weights)
    assert isinstance(out, Started)
    in_group = collective(sem, task[1])
    if can_complete and r.stop and out.cancelled_state is not None:
        b = _Builder(sem, i, r)
        b.r = r._replace(current=None, source=None, stop=False)
        b.emit(task, out.cancelled)
        b.r = b.r._replace(state=out.cancelled_state)
        text = f"{out.rule.action} stops: {task[1]} cancelled, now {out.cancelled_state}"
        yield b.done(_label(i, "finish", "runner", text, task[1], out.rule.action))
    elif can_complete:
        b = _Builder(sem, i, r)
        done = r.done | {task[1]} if in_group else r.done
        weights = True if out.rule.action == "download" else r.weights
        b.r = r._replace(current=None, source=None, weights=weights, done=done)
        b.emit(task, out.success)
        b.r = b.r._replace(state=out.success_state)
        text = f"{out.rule.action} ends: {task[1]} complete, now {out.success_state}"
        if sem.spec.state(out.success_state).final:
            b.end_process(CLEAN)
            text += "; the process exits"
        yield b.done(_label(i, "finish", "runner", text, task[1], out.rule.action))
    collective_fault = in_group and "peer-lost" in cfg.faults and budget
    if ("raise" in cfg.faults and budget) or collective_fault or lost:
        b = _Builder(sem, i, r)
        if not lost:
            b.faults = 1
        b.r = r._replace(current=None, source=None, hung=0, stop=False)
        b.emit(task, out.failure)
        b.r = b.r._replace(state=out.failure_state)
        cause = "a peer's process ended" if lost else "injected"
        text = f"{out.rule.action} raises ({cause}): {task[1]} failed, now {out.failure_state}"
        actor = "runner" if lost else "fault"
        yield b.done(_label(i, "raise", actor, text, task[1], out.rule.action))
    if "stall" in cfg.faults and budget and r.hung == 0:
        b = _Builder(sem, i, r)
        b.faults = 1
        b.r = r._replace(hung=1)
        text = f"{out.rule.action} stalls in {r.state}"
        yield b.done(_label(i, "stall", "fault", text, task[1]))
    if r.hung and sem.has_deadline[r.state]:
        b = _Builder(sem, i, r)
        b.end_process(UNCLEAN)
        text = f"{r.state}'s deadline passes: the supervisor kills the process"
        yield b.done(_label(i, "deadline", "supervisor", text, task[1]))


def reap(sem: Semantics, i: int, r: Runner) -> Local:
    """The watcher reports the end of rank ``i``'s process, and restarts it if it may."""
    cfg = sem.config
    b = _Builder(sem, i, r)
    clean = r.proc == CLEAN
    shutting_down = r.seen == "shutting_down"
    b.cleanup("shutdown" if clean else "failed")
    r = b.r
    if clean:
        b.r = r._replace(proc=GONE)
        return b.done(_label(i, "reap", "supervisor", "the watcher reaps the process (clean)"))
    r = r._replace(failures=r.failures + 1, streak=r.streak + 1)
    restart = not r.closing and not shutting_down and r.failures <= cfg.max_restarts
    if restart:
        b.r = r._replace(
            state=sem.initial,
            proc=ALIVE,
            finished=False,
            cleanups=0,
            queue=(),
            done=NONE,
        )
        b.emit(None, sem.initial_events)
        text = f"the watcher reaps the process (failure {r.failures}) and restarts it"
        return b.done(_label(i, "reap", "supervisor", text))
    spent = not r.closing and not shutting_down
    b.r = r._replace(proc=GONE, spent=r.spent or spent)
    if spent and r.streak <= cfg.max_restarts:
        b.found.append(
            (
                RESTART_BUDGET,
                f"the supervisor gave rank {i} up after {r.streak} failure(s) in a row "
                f"(its budget is {cfg.max_restarts} restarts, reset by a completed task)",
            )
        )
    text = "the watcher reaps the process: not restarted" + (" (budget spent)" if spent else "")
    return b.done(_label(i, "reap", "supervisor", text))


def close(sem: Semantics, i: int, r: Runner) -> Local:
    b = _Builder(sem, i, r)
    r = r._replace(closing=True)
    text = "close(): "
    if not (r.proc == GONE or (r.finished and r.proc != ALIVE)):
        task: Task = ("s", "Shutdown")
        queue = (*r.queue, task) if r.proc == ALIVE else r.queue
        r = r._replace(open=(*r.open, task), queue=queue)
        text += "sends Shutdown"
    else:
        text += "no process to stop"
    if not sem.config.supervisor.drop_after_exit:
        r = r._replace(closed=True)
        text += "; the runner leaves the node's table at once"
    b.r = r
    return b.done(_label(i, "close", "supervisor", text))


def crash(sem: Semantics, i: int, r: Runner) -> Local:
    b = _Builder(sem, i, r)
    b.faults = 1
    b.end_process(UNCLEAN)
    return b.done(_label(i, "crash", "fault", f"the runner process crashes in {r.state}"))


def kill(sem: Semantics, i: int, r: Runner) -> Local:
    b = _Builder(sem, i, r)
    b.end_process(CLEAN)
    return b.done(_label(i, "kill", "supervisor", "close() escalates: the process is killed"))


def closed(sem: Semantics, i: int, r: Runner) -> Local:
    b = _Builder(sem, i, r)
    if r.proc != GONE:
        b.cleanup("failed" if r.proc == UNCLEAN else "shutdown")
    b.r = b.r._replace(closed=True)
    return b.done(_label(i, "closed", "supervisor", "close() returns: removed from the node"))


def collective(sem: Semantics, task: str) -> bool:
    return sem.config.group and task in sem.config.policy.collective
