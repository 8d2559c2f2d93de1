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
    state_problems,
)
from exo_spec.explore.semantics import Semantics, Started
from exo_spec.explore.state import ALIVE, CLEAN, GONE, UNCLEAN, Config, Proc, Step, Task
from exo_spec.model import ModelEvent, Rejected, RunnerStatus, TaskStatus
from exo_spec.node.planner import Backoff, RunTask

__all__ = ["Move", "successors"]

Move = tuple[Step, Config, tuple[Found, ...]]

_FINAL = ("Complete", "Failed", "Cancelled")


class _Builder:
    """One transition under construction: the runners it changes and what it breaks."""

    def __init__(self, sem: Semantics, config: Config) -> None:
        self.sem = sem
        self.runners = list(config.runners)
        self.config = config
        self.found: list[Found] = []
        self.faults = config.faults
        self.deleted = config.deleted

    def done(self, step: Step) -> Move:
        new = Config(tuple(self.runners), self.faults, self.deleted)
        self.found.extend(state_problems(self.sem, new))
        return step, new, tuple(self.found)

    # -- events ------------------------------------------------------------------------------

    def final(self, i: int, task: Task, status: str) -> None:
        r = self.runners[i]
        if task not in r.open:
            self.found.append(
                (
                    TASK_FINAL_ONCE,
                    f"task {task[1]} of rank {i} got a second final status ({status})",
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
        self.runners[i] = r

    def emit(self, i: int, task: Task | None, events: tuple[ModelEvent, ...]) -> None:
        for event in events:
            if isinstance(event, RunnerStatus):
                self.runners[i] = self.runners[i]._replace(seen=event.state)
            elif isinstance(event, TaskStatus) and event.status in _FINAL and task is not None:
                self.final(i, task, event.status)

    # -- processes and cleanup ---------------------------------------------------------------

    def end_process(self, i: int, proc: Proc) -> None:
        """Rank ``i``'s process ends: its machine is gone, and its peers lose their group."""
        self.runners[i] = self.runners[i]._replace(
            state=None, current=None, source=None, hung=0, proc=proc, done=frozenset()
        )
        for j, r in enumerate(self.runners):
            if j != i and r.done:
                self.runners[j] = r._replace(done=frozenset())

    def cleanup(self, i: int, seen: str) -> None:
        """``_finish``: fail every open task once, publishing the supervisor's status."""
        r = self.runners[i]
        if self.sem.config.supervisor.cleanup_guard and r.finished:
            return
        r = r._replace(finished=True, cleanups=r.cleanups + 1, seen=seen, queue=())
        self.runners[i] = r
        if r.cleanups > 1:
            self.found.append(
                (CLEANUP_TWICE, f"the cleanup of rank {i}'s process ran {r.cleanups} times")
            )
        for task in r.open:
            self.final(i, task, "Failed")


def _label(i: int, what: str, actor: str, text: str, task: str | None = None) -> Step:
    return Step(actor, i, what, task, f"rank {i}: {text}")


def successors(sem: Semantics, config: Config) -> Iterator[Move]:
    """Every transition enabled in ``config``, with what each one breaks."""
    cfg = sem.config
    decisions = None
    for i, r in enumerate(config.runners):
        # -- the node's planner --------------------------------------------------------------
        if (
            not config.deleted
            and not r.closing
            and r.node_task is None
            and not r.spent
            and not Backoff(r.backoff, max_failures=cfg.max_failures).spent
        ):
            if decisions is None:
                decisions = sem.plan(config.runners)
            decision = decisions.get(sem.rank_id(i))
            if isinstance(decision, RunTask):
                yield _plan(sem, config, i, decision.task)
        # -- the runner ----------------------------------------------------------------------
        if r.proc == ALIVE and r.state is not None:
            if r.current is None and r.queue:
                move = _take(sem, config, i)
                if move is not None:
                    yield move
            if r.current is not None:
                yield from _action_ends(sem, config, i)
            if "crash" in cfg.faults and config.faults < cfg.fault_budget:
                b = _Builder(sem, config)
                b.faults += 1
                b.end_process(i, UNCLEAN)
                yield b.done(
                    _label(i, "crash", "fault", f"the runner process crashes in {r.state}")
                )
        # -- the supervisor ------------------------------------------------------------------
        if r.proc in (CLEAN, UNCLEAN):
            yield _reap(sem, config, i)
        if config.deleted and not r.closing:
            yield _close(sem, config, i)
        if r.closing and r.proc == ALIVE:
            b = _Builder(sem, config)
            b.end_process(i, CLEAN)
            yield b.done(
                _label(i, "kill", "supervisor", "close() escalates: the process is killed")
            )
        if r.closing and not r.closed and r.proc != ALIVE:
            b = _Builder(sem, config)
            if r.proc != GONE:
                b.cleanup(i, "failed" if r.proc == UNCLEAN else "shutdown")
            b.runners[i] = b.runners[i]._replace(closed=True)
            yield b.done(
                _label(i, "closed", "supervisor", "close() returns: removed from the node")
            )
    if cfg.delete and not config.deleted:
        b = _Builder(sem, config)
        b.deleted = True
        yield b.done(Step("env", -1, "delete", None, "the node deletes the instance"))


def _plan(sem: Semantics, config: Config, i: int, name: str) -> Move:
    b = _Builder(sem, config)
    r = config.runners[i]
    task: Task = ("p", name)
    r = r._replace(node_task=name, open=(*r.open, task))
    b.runners[i] = r
    where = f"(the node sees {sem.view_state(r)})"
    if (r.finished and r.proc == GONE) or r.closing:
        b.final(i, task, "Failed")
        text = f"the node plans {name} {where}; the supervisor fails it: no process"
    elif r.proc == ALIVE:
        b.runners[i] = r._replace(queue=(*r.queue, task))
        text = f"the node plans {name} {where}"
    else:
        text = f"the node plans {name} {where}; it goes to a process that has ended"
    return b.done(_label(i, "plan", "node", text, name))


def _take(sem: Semantics, config: Config, i: int) -> Move | None:
    r = config.runners[i]
    assert r.state is not None
    if not sem.spec.state(r.state).accepts_tasks:
        return None
    task = r.queue[0]
    out = sem.outcome(r.state, task[1], r.weights)
    b = _Builder(sem, config)
    b.runners[i] = r._replace(queue=r.queue[1:])
    if isinstance(out, Rejected):
        b.emit(i, task, out.events)
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
    b.emit(i, task, out.accept)
    if rule.via is None or rule.action is None:
        b.runners[i] = b.runners[i]._replace(state=out.success_state)
        return b.done(_label(i, "take", "runner", f"{task[1]} in {r.state}", task[1]))
    hung = 0
    why = _out_of_order(sem, config, i, task[1], rule.source, rule.via)
    if why is not None:
        hung = 2
        b.found.append((COLLECTIVE_DEADLOCK, why))
    b.runners[i] = b.runners[i]._replace(state=rule.via, current=task, source=r.state, hung=hung)
    text = f"takes {task[1]} in {r.state}: now {rule.via} ({rule.action} runs)"
    return b.done(_label(i, "take", "runner", text, task[1]))


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


def _peer_lost(config: Config, i: int) -> bool:
    return any(q.proc != ALIVE for j, q in enumerate(config.runners) if j != i)


def _action_ends(sem: Semantics, config: Config, i: int) -> Iterator[Move]:
    cfg = sem.config
    r = config.runners[i]
    assert r.current is not None
    assert r.source is not None
    assert r.state is not None
    task = r.current
    out = sem.outcome(r.source, task[1], r.weights)
    assert isinstance(out, Started)
    if _can_complete(sem, config, i):
        b = _Builder(sem, config)
        done = r.done | {task[1]} if _collective(sem, task[1]) else r.done
        weights = True if out.rule.action == "download" else r.weights
        b.runners[i] = r._replace(current=None, source=None, weights=weights, done=done)
        b.emit(i, task, out.success)
        b.runners[i] = b.runners[i]._replace(state=out.success_state)
        text = f"{out.rule.action} ends: {task[1]} complete, now {out.success_state}"
        if sem.spec.state(out.success_state).final:
            b.end_process(i, CLEAN)
            text += "; the process exits"
        yield b.done(_label(i, "finish", "runner", text, task[1]))
    budget = config.faults < cfg.fault_budget
    collective_fault = _collective(sem, task[1]) and "peer-lost" in cfg.faults and budget
    lost = _collective(sem, task[1]) and _peer_lost(config, i)
    if ("raise" in cfg.faults and budget) or collective_fault or lost:
        b = _Builder(sem, config)
        if not lost:
            b.faults += 1
        b.runners[i] = r._replace(current=None, source=None, hung=0)
        b.emit(i, task, out.failure)
        b.runners[i] = b.runners[i]._replace(state=out.failure_state)
        cause = "a peer's process ended" if lost else "injected"
        text = f"{out.rule.action} raises ({cause}): {task[1]} failed, now {out.failure_state}"
        yield b.done(_label(i, "raise", "runner" if lost else "fault", text, task[1]))
    if "stall" in cfg.faults and budget and r.hung == 0:
        b = _Builder(sem, config)
        b.faults += 1
        b.runners[i] = r._replace(hung=1)
        text = f"{out.rule.action} stalls in {r.state}"
        yield b.done(_label(i, "stall", "fault", text, task[1]))
    if r.hung and sem.has_deadline[r.state]:
        b = _Builder(sem, config)
        b.end_process(i, UNCLEAN)
        text = f"{r.state}'s deadline passes: the supervisor kills the process"
        yield b.done(_label(i, "deadline", "supervisor", text, task[1]))


def _reap(sem: Semantics, config: Config, i: int) -> Move:
    """The watcher reports the end of rank ``i``'s process, and restarts it if it may."""
    cfg = sem.config
    r = config.runners[i]
    b = _Builder(sem, config)
    clean = r.proc == CLEAN
    shutting_down = r.seen == "shutting_down"
    b.cleanup(i, "shutdown" if clean else "failed")
    r = b.runners[i]
    if clean:
        b.runners[i] = r._replace(proc=GONE)
        return b.done(_label(i, "reap", "supervisor", "the watcher reaps the process (clean)"))
    r = r._replace(failures=r.failures + 1, streak=r.streak + 1)
    restart = not r.closing and not shutting_down and r.failures <= cfg.max_restarts
    if restart:
        b.runners[i] = r._replace(
            state=sem.initial,
            proc=ALIVE,
            finished=False,
            cleanups=0,
            queue=(),
            done=frozenset(),
        )
        b.emit(i, None, sem.initial_events)
        text = f"the watcher reaps the process (failure {r.failures}) and restarts it"
        return b.done(_label(i, "reap", "supervisor", text))
    spent = not r.closing and not shutting_down
    b.runners[i] = r._replace(proc=GONE, spent=r.spent or spent)
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


def _close(sem: Semantics, config: Config, i: int) -> Move:
    r = config.runners[i]
    b = _Builder(sem, config)
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
    b.runners[i] = r
    return b.done(_label(i, "close", "supervisor", text))
