"""``--chats``: the node submits ChatCompletions and cancels them, so the runner's defer, cancel
and running paths are explored (bounded: a number of chats per rank, one cancel each)."""

from __future__ import annotations

from collections import deque

from exo_spec.explore import ExploreConfig, explore
from exo_spec.explore.search import initial_config
from exo_spec.explore.semantics import Semantics
from exo_spec.explore.transitions import successors
from exo_spec.spec import Spec


def _texts(config: ExploreConfig) -> set[str]:
    """Every step's text in the reachable configurations (rank prefixes dropped)."""
    sem = Semantics(config)
    start = initial_config(sem)
    seen = {start}
    queue = deque([start])
    texts: set[str] = set()
    while queue:
        for step, nxt, _ in successors(sem, queue.popleft()):
            texts.add(step.text.split(": ", 1)[-1])
            if nxt not in seen:
                seen.add(nxt)
                queue.append(nxt)
    return texts


def test_chats_reach_the_defer_cancel_and_running_paths(runner_spec: Spec) -> None:
    texts = _texts(ExploreConfig(runner_spec, chats=2, weights=True))
    expected = {
        "takes ChatCompletion in ready: now running (generate runs)",
        "CancelTask in running: asks c0 to stop (polled)",
        "CancelTask in running: c1 cancelled in the queue (polled)",
        "generate stops: ChatCompletion cancelled, now ready",
        "generate ends: ChatCompletion complete, now ready",
        "CancelTask rejected in ready",
    }
    assert expected <= texts, sorted(expected - texts)


def test_chats_explore_clean_with_faults(runner_spec: Spec) -> None:
    for runners, faults in ((1, ("crash", "raise", "stall")), (2, ())):
        config = ExploreConfig(
            runner_spec, runners=runners, faults=faults, chats=1 if runners > 1 else 2, weights=True
        )
        result = explore(config)
        assert result.complete
        assert result.violations == ()
