"""Random walks with hypothesis: long task sequences, mostly legal, with faults and cancels.

Each step draws the dynamic guard's value, then a task (usually one the spec allows in the
current state, sometimes any), whether its action raises, and for a chat the tasks that arrive
while it generates. Hypothesis shrinks a failing walk; the suite then shrinks it further by
deleting tasks while the same rule stays broken.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Callable

from attrs import evolve
from hypothesis import HealthCheck, Phase, Verbosity, given, seed, settings
from hypothesis import strategies as st

from exo_spec.conformance.execute import RunnerCallable
from exo_spec.conformance.hangs import Hangs
from exo_spec.conformance.oracle import expect
from exo_spec.conformance.scenario import CANCEL_TASK, ActionOutcome, Scenario, Send
from exo_spec.conformance.scenario_check import Outcome, run_scenario
from exo_spec.model import allowed_tasks
from exo_spec.spec import Spec

__all__ = ["WalkResult", "run_walks", "walks"]

MAX_TASKS = 12


def _interruptible_tasks(spec: Spec) -> tuple[frozenset[str], tuple[str, ...]]:
    """The tasks whose action polls for arrivals (via an interruptible state), and the tasks
    worth sending during it: those accepted or deferred there, and one it rejects."""
    interruptible = {s.name for s in spec.states if s.interruptible}
    hosts = frozenset(r.task for r in spec.rules if r.via in interruptible)
    handled = [
        t
        for t in spec.tasks
        if any(spec.deferred(s, t) for s in interruptible)
        or any(r.task == t and r.source in interruptible for r in spec.rules)
    ]
    rejected = [t for t in spec.tasks if t not in handled and t not in hosts][:1]
    return hosts, (*handled, *rejected)


def walks(spec: Spec, max_tasks: int = MAX_TASKS) -> st.SearchStrategy[Scenario]:
    """Scenarios that wander through ``spec``, biased towards the tasks it allows."""

    hosts, arrivals = _interruptible_tasks(spec)

    @st.composite
    def walk(draw: Callable[[st.SearchStrategy[object]], object]) -> Scenario:
        has_group = bool(draw(st.booleans()))
        ids = (f"t{n}" for n in itertools.count(1))
        sends: list[Send] = []
        state = spec.initial
        length = int(draw(st.integers(1, max_tasks)))  # type: ignore[call-overload]
        for _ in range(length):
            weights = bool(draw(st.booleans()))
            guards = dict.fromkeys(spec.constant_guards(), has_group) | dict.fromkeys(
                spec.dynamic_guards(), weights
            )
            legal = allowed_tasks(spec, state, guards) if spec.state(state).accepts_tasks else ()
            legal_pick = bool(draw(st.integers(0, 9).map(lambda n: n < 8)))
            pool = legal if legal and legal_pick else spec.tasks
            task = str(draw(st.sampled_from(pool)))
            result: ActionOutcome = "fail" if draw(st.integers(0, 11)) == 0 else "ok"
            task_id = next(ids)
            during: tuple[Send, ...] = ()
            if task in hosts and arrivals:
                arriving = draw(st.lists(st.sampled_from(arrivals), max_size=2))
                assert isinstance(arriving, list)
                arrived: list[Send] = []
                for kind in arriving:
                    # a cancel names the running task or one that arrived before it (queued)
                    aim = draw(st.sampled_from((task_id, *(a.id for a in arrived))))
                    cancel = kind == CANCEL_TASK
                    arrived.append(Send(next(ids), str(kind), target=str(aim) if cancel else None))
                during = tuple(arrived)
            target = sends[-1].id if task == CANCEL_TASK and sends else None
            sends.append(Send(task_id, task, weights, result, during, target))
            state = expect(spec, Scenario("walk", "walk", has_group, tuple(sends))).final_state
            if spec.state(state).final:
                break
        return Scenario("walk", "walk", has_group, tuple(sends))

    return walk()


class _FoundError(Exception):
    """A walk broke a rule (raised so that hypothesis shrinks it)."""


class WalkResult:
    """How many walks ran and the smallest failing one hypothesis found, if any."""

    def __init__(self) -> None:
        self.examples = 0
        self.failing: Outcome | None = None
        self.unfinished = False  # the run's budget was spent before every walk ran


def run_walks(
    runner: RunnerCallable,
    spec: Spec,
    *,
    examples: int,
    walk_seed: int,
    timeout_s: float,
    hangs: Hangs | None = None,
) -> WalkResult:
    """Run ``examples`` random walks (seeded); keep the shrunk failing one.

    With ``hangs``: a walk that reaches where the runner hung in a planned scenario is not
    run (that hang is reported already); one that reaches where it hung in an earlier walk
    fails without being run, so hypothesis shrinks a hung walk without re-running it."""
    result = WalkResult()
    if examples <= 0:
        return result
    name = f"walk[seed={walk_seed}]"
    hangs = hangs or Hangs(timeout_s)
    planned = dict(hangs.places)

    @seed(walk_seed)
    @settings(
        max_examples=examples,
        database=None,
        deadline=None,
        derandomize=False,
        verbosity=Verbosity.quiet,
        report_multiple_bugs=False,
        suppress_health_check=list(HealthCheck),
        phases=(Phase.generate, Phase.shrink),
        print_blob=False,
    )
    @given(walks(spec))
    def one_walk(scenario: Scenario) -> None:
        named = Scenario(name, "walk", scenario.has_group, scenario.sends)
        if hangs.spent:
            result.unfinished = True
            return
        expectation = expect(spec, named)
        hung = hangs.known(expectation)
        if hung is not None and result.failing is not None and hung not in planned.values():
            result.failing = evolve(result.failing, scenario=named, expectation=expectation)
            raise _FoundError(hung)
        if hung is not None:
            return
        result.examples += 1
        outcome = run_scenario(runner, spec, named, timeout_s=hangs.bound())
        run = outcome.run
        hangs.note(name, expectation, run.timed_out, run.seconds, run.received)
        if outcome.findings:
            result.failing = outcome
            raise _FoundError(outcome.findings[0].message)

    with contextlib.suppress(_FoundError):
        one_walk()
    return result
