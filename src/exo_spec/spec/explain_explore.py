"""The explanations and examples of the explorer's codes (``EXS7xx``).

Each example is a ``fixture``: an exploration of a small configuration, often with a planted
bug (a variant of the planner or of the supervisor model), run by
``tests/check/test_rule_examples.py`` through ``tests/explore/variants.py``.
"""

from __future__ import annotations

from exo_spec.spec.codes import Example, Explanation

__all__ = ["EXPLORE_CODES"]


def _fixture(description: str) -> Example:
    return Example("fixture", description)


EXPLORE_CODES: dict[str, Explanation] = {
    "EXS701": Explanation(
        "a caller waiting on a task that never ends hangs, and a second final status is "
        "attributed to a task that is over",
        "fail every open task exactly once whatever ends the runner, and re-form a group "
        "whose rank was lost",
        _fixture(
            "exo-spec explore --runners 2 --faults crash --weights: a rank crashes "
            "while connecting; its peer's connect never ends"
        ),
    ),
    "EXS702": Explanation(
        "an action outside its rule is the 'LoadModel outside of state machine' bug",
        "hand every task to step() (the machine's dispatch) and nothing else",
        _fixture("a runner model that runs LoadModel's action in idle (a planted bug)"),
    ),
    "EXS703": Explanation(
        "the node plans from the supervisor's mirror: a change it never saw misleads it",
        "emit RunnerStatusUpdated on every state change, as events.* say",
        _fixture("a spec whose accept phase does not move to via (a planted bug)"),
    ),
    "EXS704": Explanation(
        "the watcher and close() both reach the cleanup; run twice it reports the runner "
        "failed twice ('Cleanup already in progress', seed 002)",
        "guard the cleanup so that the first caller reports and the second returns",
        _fixture("a supervisor model without the cleanup's once-only guard (planted)"),
    ),
    "EXS705": Explanation(
        "a runner removed from the node's table before its process exits keeps its memory "
        "and its ports, and a new instance collides with it",
        "return from close() only once the process has exited",
        _fixture("a supervisor model that drops the runner before its process exits (planted)"),
    ),
    "EXS706": Explanation(
        "a configuration where nothing can happen and the instance is neither ready nor "
        "deleted nor reported failed is a silent hang",
        "give every waiting rank something that ends its wait (a deadline, a re-plan, a "
        "failure reported)",
        _fixture(
            "exo-spec explore --runners 2 --faults crash --weights: after one rank "
            "restarts, its peers never leave connected"
        ),
    ),
    "EXS707": Explanation(
        "an instance that cannot become ready without a fault is a deadlock or a livelock "
        "of the planner",
        "plan so that every fair run reaches ready",
        _fixture("a planner that lets the last rank connect first (a planted bug)"),
    ),
    "EXS708": Explanation(
        "mx.distributed blocks until every rank has joined: a rank that enters a collective "
        "before its group, or the designated rank going early, deadlocks it",
        "let a rank take a collective task only once every rank has reached it, and the "
        "designated rank last (the node's GroupPolicy)",
        _fixture("a planner that plans LoadModel before every rank is connected (planted)"),
    ),
    "EXS709": Explanation(
        "a budget that a success does not reset gives a runner up after failures that "
        "were not in a row",
        "reset the restart count when a task completes",
        _fixture("a supervisor model that does not reset the budget on success (planted)"),
    ),
    "EXS710": Explanation(
        "a partial exploration proves nothing about the configurations it did not reach",
        "raise --max-states, or explore fewer runners or faults",
        _fixture("exo-spec explore --max-states 10"),
    ),
}
