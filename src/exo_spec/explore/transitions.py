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

from collections.abc import Callable, Iterator
from typing import Any, TypeVar, cast

from exo_spec.explore import rank
from exo_spec.explore.invariants import Found
from exo_spec.explore.semantics import Semantics, Started
from exo_spec.explore.state import ALIVE, CLEAN, UNCLEAN, Config, Runner, Step
from exo_spec.node.planner import RunTask

__all__ = ["Ids", "Move", "Next", "moves", "successors"]

Move = tuple[Step, Config, tuple[Found, ...]]

Ids = tuple[int, ...]
"""A configuration's ranks as interned record numbers (:meth:`.Semantics.intern`)."""

Next = tuple[Step, tuple[Found, ...], Ids, int, bool]
"""A move for the search: its label, what it breaks, and the next configuration's numbered
records, faults and deletion."""

T = TypeVar("T")

_DELETE = Step("env", -1, "delete", None, "the node deletes the instance")


def _derived(sem: Semantics, how: str, rid: int) -> int:
    """The number of record ``rid`` with its planner bookkeeping forgotten (``forget``) or its
    completed collectives dropped (``ungroup``), memoised."""
    key = (how, rid)
    found = sem.derived.get(key)
    if found is None:
        r = sem.records[rid]
        new = rank.forget_plans(r) if how == "forget" else r._replace(done=rank.NONE)
        found = sem.derived[key] = sem.intern(new)
    return found


def _apply(sem: Semantics, config: Config, ids: Ids, i: int, local: rank.Local) -> Next:
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


def _memoised(
    memo: dict[tuple[object, ...], object],
    key: tuple[object, ...],
    make: Callable[..., T],
    *args: Any,
) -> T:
    """``make(*args)``, computed once per ``key`` (a rank's move depends only on what the key
    holds; see the module's note on speed)."""
    found = memo.get(key, memo)
    if found is memo:
        found = memo[key] = make(*args)
    return cast("T", found)


def _action_ends(
    sem: Semantics, i: int, r: Runner, budget: bool, can_complete: bool, lost: bool
) -> tuple[rank.Local, ...]:
    return tuple(rank.action_ends(sem, i, r, budget, can_complete, lost))


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
                local = _memoised(
                    memo, ("plan", i, rid, decision.task), rank.plan, sem, i, r, decision.task
                )
                yield _apply(sem, config, ids, i, local)
        # -- the node's chats and cancellations ---------------------------------------------
        if cfg.chats and not config.deleted:
            if r.chats < cfg.chats and sem.view_state(r) in sem.chat_states:
                chat = (f"c{r.chats}", "ChatCompletion")
                local = _memoised(memo, ("chat", i, rid), rank.submit, sem, i, r, chat)
                yield _apply(sem, config, ids, i, local)
            for kind, _ in r.open:
                if kind[0] == "c" and kind not in r.cancels:
                    cancel = (f"x{kind[1:]}", "CancelTask")
                    local = _memoised(
                        memo, ("cancel", i, rid, kind), rank.submit, sem, i, r, cancel
                    )
                    yield _apply(sem, config, ids, i, local)
        # -- the runner ----------------------------------------------------------------------
        if r.proc == ALIVE and r.state is not None:
            if r.current is not None and r.queue and sem.accepts_tasks[r.state]:
                polled = _memoised(memo, ("poll", i, rid), rank.poll, sem, i, r)
                if polled is not None:
                    yield _apply(sem, config, ids, i, polled)
            if r.current is None and r.queue and sem.accepts_tasks[r.state]:
                why = _why_deadlock(sem, config, i)
                taken = _memoised(memo, ("take", i, rid, why), rank.take, sem, i, r, why)
                if taken is not None:
                    yield _apply(sem, config, ids, i, taken)
            if r.current is not None:
                facts = _action_facts(sem, config, i)
                key = ("end", i, rid, budget, *facts)
                ends = _memoised(memo, key, _action_ends, sem, i, r, budget, *facts)
                for local in ends:
                    yield _apply(sem, config, ids, i, local)
            if crash:
                local = _memoised(memo, ("crash", i, rid), rank.crash, sem, i, r)
                yield _apply(sem, config, ids, i, local)
        # -- the supervisor ------------------------------------------------------------------
        if r.proc in (CLEAN, UNCLEAN):
            local = _memoised(memo, ("reap", i, rid), rank.reap, sem, i, r)
            yield _apply(sem, config, ids, i, local)
        if config.deleted and not r.closing:
            local = _memoised(memo, ("close", i, rid), rank.close, sem, i, r)
            yield _apply(sem, config, ids, i, local)
        if r.closing and r.proc == ALIVE:
            local = _memoised(memo, ("kill", i, rid), rank.kill, sem, i, r)
            yield _apply(sem, config, ids, i, local)
        if r.closing and not r.closed and r.proc != ALIVE:
            local = _memoised(memo, ("closed", i, rid), rank.closed, sem, i, r)
            yield _apply(sem, config, ids, i, local)
    if cfg.delete and not config.deleted:
        numbers = tuple(_derived(sem, "forget", n) for n in ids)
        yield _DELETE, (), numbers, config.faults, True


def _why_deadlock(sem: Semantics, config: Config, i: int) -> str | None:
    """Why rank ``i`` taking the head of its queue now deadlocks a collective, or ``None``."""
    r = config.runners[i]
    assert r.state is not None
    task = r.queue[0][1]
    if not rank.collective(sem, task):
        return None
    out = sem.outcome(r.state, task, r.weights)
    if not isinstance(out, Started) or out.rule.via is None or out.rule.action is None:
        return None
    return _out_of_order(sem, config, i, task, out.rule.source, out.rule.via)


def _out_of_order(
    sem: Semantics, config: Config, i: int, task: str, source: str, via: str
) -> str | None:
    """Why rank ``i`` entering ``task``'s collective now deadlocks it, or ``None``.

    Judged where the planner alone decides the order: no fault so far, the instance not
    deleted and every peer's process alive (a lost peer fails the collective instead)."""
    if not rank.collective(sem, task) or config.faults or config.deleted or _peer_lost(config, i):
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
    if r.hung or not rank.collective(sem, task):
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
    if not rank.collective(sem, r.current[1]):
        return r.hung == 0, False
    return _can_complete(sem, config, i), _peer_lost(config, i)


def _peer_lost(config: Config, i: int) -> bool:
    return any(q.proc != ALIVE for j, q in enumerate(config.runners) if j != i)
