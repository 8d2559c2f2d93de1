"""Every transition enabled in a configuration: the node's planner, each runner, each
supervisor, the environment (the instance deleted) and injected faults.

A runner's moves are :func:`exo_spec.model.step`'s answers (through :class:`.Semantics`): a task
taken in a resting state is rejected, deferred or accepted; an accepted task with an action
sits in the rule's ``via`` state until the action ends (success, a raise) or the process ends.
The supervisor follows ``RunnerSupervisor``: a process that ends is reaped by its watcher, its
open tasks fail once, and it is restarted while the budget allows; ``close()`` sends
``Shutdown``, escalates to a kill, and returns once the process has exited.

The group's collectives follow exo's facts (the node's :class:`GroupPolicy`): a collective
action ends once every rank is inside it (or has completed it with this group); a rank that
enters it before its group is there, or the designated rank entering before every other rank
is inside, deadlocks (``mx.distributed`` blocks forever: only the deadline ends it).

Speed: a rank's move depends on its own record and on a few facts about its peers (whether a
collective can complete, whether a peer's process ended, whether entering a collective now
deadlocks, whether the fault budget is left). Those facts are computed from the configuration
first; the move itself (its label, the rank's new record, the invariants it breaks) is then
memoised on ``(rank, record, facts)``, so a record seen in many configurations is stepped once.
The invariants of :func:`.invariants.runner_problems` depend on one record alone, so a move
checks only the rank it changes. A move that ends a process also clears its peers' completed
collectives (the group is gone): that is applied outside the memo.
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
from exo_spec.explore.state import ALIVE, CLEAN, GONE, UNCLEAN, Config, Proc, Runner, Step, Task
from exo_spec.model import Deferred, ModelEvent, Rejected, RunnerStatus, TaskStatus
from exo_spec.node.planner import RunTask

__all__ = ["Ids", "Move", "Next", "moves", "successors"]

Move = tuple[Step, Config, tuple[Found, ...]]

Ids = tuple[int, ...]
"""A configuration's ranks as interned record numbers (:meth:`.Semantics.intern`)."""

Next = tuple[Step, tuple[Found, ...], Ids, int, bool]
"""A move for the search: its label, what it breaks, and the next configuration's numbered
records, faults and deletion."""

Local = tuple[Step, Runner, tuple[Found, ...], int, bool, int]
"""One rank's move: its label, the rank's new record, what it breaks, the faults it spends,
whether it ends the rank's process, and the new record's number."""

_FINAL = ("Complete", "Failed", "Cancelled")
_NONE: frozenset[str] = frozenset()
_DELETE = Step("env", -1, "delete", None, "the node deletes the instance")


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
        new = _forget(self.r)
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
            done=_NONE,
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


def _forget(r: Runner) -> Runner:
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


def _forget_plans(r: Runner) -> Runner:
    """Once the instance is deleted the planner never runs again and the node submits no
    chat: its bookkeeping is dead
    (``spent`` and ``backoff`` settle a rank at rest, but at rest after a deletion every
    rank has left the table, which settles it anyway)."""
    if r.node_task is None and not r.backoff and not r.spent and not r.chats and not r.cancels:
        return r
    return r._replace(node_task=None, backoff=0, spent=False, chats=0, cancels=_NONE)


def _label(
    i: int, what: str, actor: str, text: str, task: str | None = None, action: str | None = None
) -> Step:
    return Step(actor, i, what, task, f"rank {i}: {text}", action)


def _derived(sem: Semantics, how: str, rid: int) -> int:
    """The number of record ``rid`` with its planner bookkeeping forgotten (``forget``) or its
    completed collectives dropped (``ungroup``), memoised."""
    key = (how, rid)
    found = sem.derived.get(key)
    if found is None:
        r = sem.records[rid]
        new = _forget_plans(r) if how == "forget" else r._replace(done=_NONE)
        found = sem.derived[key] = sem.intern(new)
    return found


def _apply(sem: Semantics, config: Config, ids: Ids, i: int, local: Local) -> Next:
    step, _, found, faults, ends, rid = local
    if config.deleted:
        rid = _derived(sem, "forget", rid)
    numbers = list(ids)
    numbers[i] = rid
    if ends:  # the group is gone: no peer keeps a collective it completed with it
        for j, q in enumerate(config.runners):
            if j != i and q.done:
                numbers[j] = _derived(sem, "ungroup", numbers[j])
    return step, found, tuple(numbers), config.faults + faults, config.deleted


def successors(sem: Semantics, config: Config) -> Iterator[Move]:
    """Every transition enabled in ``config``, with what each one breaks."""
    ids = tuple(sem.intern(r) for r in config.runners)
    for step, found, numbers, faults, deleted in moves(sem, config, ids):
        yield step, Config(tuple(sem.records[n] for n in numbers), faults, deleted), found


def moves(sem: Semantics, config: Config, ids: Ids) -> Iterator[Next]:
    """:func:`successors`, for the search: ``ids`` numbers ``config``'s records, and each move
    gives the next configuration as numbers (the search builds it only when it is new)."""
    cfg = sem.config
    memo = sem.moves
    budget = config.faults < cfg.fault_budget
    crash = "crash" in cfg.faults and budget
    decisions = None
    for i, r in enumerate(config.runners):
        rid = ids[i]
        # -- the node's planner --------------------------------------------------------------
        if (
            not config.deleted
            and not r.closing
            and r.node_task is None
            and not r.spent
            and not sem.backoff_spent(r.backoff)
        ):
            if decisions is None:
                decisions = sem.plan(config.runners)
            decision = decisions.get(sem.rank_id(i))
            if isinstance(decision, RunTask):
                key: tuple[object, ...] = ("plan", i, rid, decision.task)
                local = memo.get(key)
                if local is None:
                    local = memo[key] = _plan(sem, i, r, decision.task)
                yield _apply(sem, config, ids, i, local)  # type: ignore[arg-type]
        # -- the node's chats and cancellations ---------------------------------------------
        if cfg.chats and not config.deleted:
            if r.chats < cfg.chats and sem.view_state(r) in sem.chat_states:
                key = ("chat", i, rid)
                local = memo.get(key)
                if local is None:
                    local = memo[key] = _submit(sem, i, r, (f"c{r.chats}", "ChatCompletion"))
                yield _apply(sem, config, ids, i, local)  # type: ignore[arg-type]
            for kind, _ in r.open:
                if kind[0] == "c" and kind not in r.cancels:
                    key = ("cancel", i, rid, kind)
                    local = memo.get(key)
                    if local is None:
                        local = memo[key] = _submit(sem, i, r, (f"x{kind[1:]}", "CancelTask"))
                    yield _apply(sem, config, ids, i, local)  # type: ignore[arg-type]
        # -- the runner ----------------------------------------------------------------------
        if r.proc == ALIVE and r.state is not None:
            if r.current is not None and r.queue and sem.accepts_tasks[r.state]:
                key = ("poll", i, rid)
                local = memo.get(key, memo)
                if local is memo:
                    local = memo[key] = _poll(sem, i, r)
                if local is not None:
                    yield _apply(sem, config, ids, i, local)  # type: ignore[arg-type]
            if r.current is None and r.queue and sem.accepts_tasks[r.state]:
                why = _why_deadlock(sem, config, i)
                key = ("take", i, rid, why)
                local = memo.get(key, memo)
                if local is memo:
                    local = memo[key] = _take(sem, i, r, why)
                if local is not None:
                    yield _apply(sem, config, ids, i, local)  # type: ignore[arg-type]
            if r.current is not None:
                facts = _action_facts(sem, config, i)
                key = ("end", i, rid, budget, *facts)
                ends = memo.get(key)
                if ends is None:
                    ends = memo[key] = tuple(_action_ends(sem, i, r, budget, *facts))
                for local in ends:  # type: ignore[attr-defined]
                    yield _apply(sem, config, ids, i, local)
            if crash:
                key = ("crash", i, rid)
                local = memo.get(key)
                if local is None:
                    b = _Builder(sem, i, r)
                    b.faults = 1
                    b.end_process(UNCLEAN)
                    text = f"the runner process crashes in {r.state}"
                    local = memo[key] = b.done(_label(i, "crash", "fault", text))
                yield _apply(sem, config, ids, i, local)  # type: ignore[arg-type]
        # -- the supervisor ------------------------------------------------------------------
        if r.proc in (CLEAN, UNCLEAN):
            key = ("reap", i, rid)
            local = memo.get(key)
            if local is None:
                local = memo[key] = _reap(sem, i, r)
            yield _apply(sem, config, ids, i, local)  # type: ignore[arg-type]
        if config.deleted and not r.closing:
            key = ("close", i, rid)
            local = memo.get(key)
            if local is None:
                local = memo[key] = _close(sem, i, r)
            yield _apply(sem, config, ids, i, local)  # type: ignore[arg-type]
        if r.closing and r.proc == ALIVE:
            key = ("kill", i, rid)
            local = memo.get(key)
            if local is None:
                b = _Builder(sem, i, r)
                b.end_process(CLEAN)
                text = "close() escalates: the process is killed"
                local = memo[key] = b.done(_label(i, "kill", "supervisor", text))
            yield _apply(sem, config, ids, i, local)  # type: ignore[arg-type]
        if r.closing and not r.closed and r.proc != ALIVE:
            key = ("closed", i, rid)
            local = memo.get(key)
            if local is None:
                b = _Builder(sem, i, r)
                if r.proc != GONE:
                    b.cleanup("failed" if r.proc == UNCLEAN else "shutdown")
                b.r = b.r._replace(closed=True)
                text = "close() returns: removed from the node"
                local = memo[key] = b.done(_label(i, "closed", "supervisor", text))
            yield _apply(sem, config, ids, i, local)  # type: ignore[arg-type]
    if cfg.delete and not config.deleted:
        numbers = tuple(_derived(sem, "forget", n) for n in ids)
        yield _DELETE, (), numbers, config.faults, True


def _plan(sem: Semantics, i: int, r: Runner, name: str) -> Local:
    return _submit(sem, i, r, ("p", name))


def _submit(sem: Semantics, i: int, r: Runner, task: Task) -> Local:
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


def _poll(sem: Semantics, i: int, r: Runner) -> Local | None:
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
        text = _run_instant(b, task, out) + " (polled)"
        return b.done(_label(i, "take", "runner", f"{task[1]} in {r.state}: {text}", task[1]))
    return None


def _run_instant(b: _Builder, task: Task, out: Started) -> str:
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


def _why_deadlock(sem: Semantics, config: Config, i: int) -> str | None:
    """Why rank ``i`` taking the head of its queue now deadlocks a collective, or ``None``."""
    r = config.runners[i]
    assert r.state is not None
    task = r.queue[0][1]
    if not _collective(sem, task):
        return None
    out = sem.outcome(r.state, task, r.weights)
    if not isinstance(out, Started) or out.rule.via is None or out.rule.action is None:
        return None
    return _out_of_order(sem, config, i, task, out.rule.source, out.rule.via)


def _take(sem: Semantics, i: int, r: Runner, why: str | None) -> Local | None:
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
        effect = _run_instant(b, task, out)
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


def _collective(sem: Semantics, task: str) -> bool:
    return sem.config.group and task in sem.config.policy.collective


def _out_of_order(
    sem: Semantics, config: Config, i: int, task: str, source: str, via: str
) -> str | None:
    """Why rank ``i`` entering ``task``'s collective now deadlocks it, or ``None``.

    Judged where the planner alone decides the order: no fault so far, the instance not
    deleted and every peer's process alive (a lost peer fails the collective instead)."""
    if not _collective(sem, task) or config.faults or config.deleted or _peer_lost(config, i):
        return None
    me = config.runners[i]
    steps = sem.distance(source, me.weights)
    others = [(j, r) for j, r in enumerate(config.runners) if j != i]
    behind = [
        (j, r)
        for j, r in others
        if r.state != via
        and task not in r.done
        and ((d := sem.distance(r.state, r.weights)) is None or steps is None or d > steps)
    ]
    if behind:
        names = ", ".join(f"rank {j} ({r.state or 'no process'})" for j, r in behind)
        return (
            f"rank {i} entered {task}'s collective before its group was there: {names} "
            f"still further from {sem.config.goal}; it waits past its deadline"
        )
    last = sem.config.policy.collective[task]
    ranks = range(len(config.runners))
    if last is not None and i == (ranks[-1] if last == "last" else ranks[0]):
        outside = [(j, r) for j, r in others if r.state != via and task not in r.done]
        if outside:
            names = ", ".join(f"rank {j} ({r.state or 'no process'})" for j, r in outside)
            return (
                f"rank {i} must enter {task}'s collective {last}, once every other rank is in "
                f"{via}, but entered before {names}: the collective deadlocks"
            )
    return None


def _can_complete(sem: Semantics, config: Config, i: int) -> bool:
    r = config.runners[i]
    assert r.current is not None
    task = r.current[1]
    if r.hung or not _collective(sem, task):
        return r.hung == 0
    for j, q in enumerate(config.runners):
        if j == i or task in q.done:
            continue
        if q.proc != ALIVE or q.state != r.state or q.current != r.current or q.hung:
            return False
    return True


def _action_facts(sem: Semantics, config: Config, i: int) -> tuple[bool, bool]:
    """What rank ``i``'s running action depends on outside it: can it complete, and has a
    peer's process ended (a collective then fails)."""
    r = config.runners[i]
    assert r.current is not None
    if not _collective(sem, r.current[1]):
        return r.hung == 0, False
    return _can_complete(sem, config, i), _peer_lost(config, i)


def _peer_lost(config: Config, i: int) -> bool:
    return any(q.proc != ALIVE for j, q in enumerate(config.runners) if j != i)


def _action_ends(
    sem: Semantics, i: int, r: Runner, budget: bool, can_complete: bool, lost: bool
) -> Iterator[Local]:
    cfg = sem.config
    assert r.current is not None
    assert r.source is not None
    assert r.state is not None
    task = r.current
    out = sem.outcome(r.source, task[1], r.weights)
    assert isinstance(out, Started)
    collective = _collective(sem, task[1])
    if can_complete and r.stop and out.cancelled_state is not None:
        b = _Builder(sem, i, r)
        b.r = r._replace(current=None, source=None, stop=False)
        b.emit(task, out.cancelled)
        b.r = b.r._replace(state=out.cancelled_state)
        text = f"{out.rule.action} stops: {task[1]} cancelled, now {out.cancelled_state}"
        yield b.done(_label(i, "finish", "runner", text, task[1], out.rule.action))
    elif can_complete:
        b = _Builder(sem, i, r)
        done = r.done | {task[1]} if collective else r.done
        weights = True if out.rule.action == "download" else r.weights
        b.r = r._replace(current=None, source=None, weights=weights, done=done)
        b.emit(task, out.success)
        b.r = b.r._replace(state=out.success_state)
        text = f"{out.rule.action} ends: {task[1]} complete, now {out.success_state}"
        if sem.spec.state(out.success_state).final:
            b.end_process(CLEAN)
            text += "; the process exits"
        yield b.done(_label(i, "finish", "runner", text, task[1], out.rule.action))
    collective_fault = collective and "peer-lost" in cfg.faults and budget
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


def _reap(sem: Semantics, i: int, r: Runner) -> Local:
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
            done=_NONE,
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


def _close(sem: Semantics, i: int, r: Runner) -> Local:
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
