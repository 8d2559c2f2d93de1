"""A counterexample as a pytest test against the real runtime and supervisor.

:func:`replay_test` writes the test: the harness of :mod:`.replay_harness` (as text: the
explorer never imports the runtime), then the trace's steps as calls on ``RuntimeRanks`` (each
rank a real runner, ``exo_spec.runtime.runner.run``, over the conformance suite's scripted
engine) when the trace has no process-level step, else on ``SupervisedRanks`` (each rank a
real ``RunnerSupervisor`` running ``tests.supervisor.engines:ScriptedEngine`` in a
subprocess: crashes are ``SIGKILL``, deleting the instance is ``close()``). The test then
asserts, on the real events, the invariants the harness can see (EXS701 every task final once,
EXS702, EXS703 on the runtime; EXS701, EXS705 on the supervisor). It runs from the
repository's root (``python -m pytest test_replay_exs701.py``).

A passing replay says the real system keeps the invariant on that schedule: the finding is
about the model, or needs what the scripted engines do not have (peers that block in a
collective, an action that stalls once); a failing one reproduces the bug. What cannot be
replayed (a stall, a deadline) is written as a comment in the test.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from exo_spec.explore.config import ExploreConfig
from exo_spec.explore.invariants import INVARIANTS
from exo_spec.explore.replay_harness import HARNESS
from exo_spec.explore.search import Violation
from exo_spec.explore.state import Step

__all__ = ["replay_test"]

Outcome = Literal["ok", "fail"]
"""An action's ending, as the conformance suite's ``EngineScript.outcomes`` spells it."""

_PROCESS_STEPS = frozenset({"crash", "reap", "delete", "close", "kill", "closed", "deadline"})


def _outcomes(trace: Sequence[Step]) -> dict[int, dict[str, list[Outcome]]]:
    out: dict[int, dict[str, list[Outcome]]] = {}
    for step in trace:
        if step.what in ("finish", "raise") and step.action is not None:
            ending: Outcome = "ok" if step.what == "finish" else "fail"
            out.setdefault(step.rank, {}).setdefault(step.action, []).append(ending)
    return out


def _blocked(trace: Sequence[Step]) -> dict[int, list[str]]:
    """Per rank, the actions the trace starts and never ends (a crash or a kill ends them)."""
    started: dict[int, set[str]] = {}
    ended: dict[int, set[str]] = {}
    for step in trace:
        if step.action is None:
            continue
        into = started if step.what == "take" else ended
        into.setdefault(step.rank, set()).add(step.action)
    out = {rank: sorted(a - ended.get(rank, set())) for rank, a in started.items()}
    return {rank: actions for rank, actions in out.items() if actions}


def replay_test(config: ExploreConfig, violation: Violation) -> str:
    """A pytest module that replays ``violation``'s trace against the real system."""
    trace = violation.trace
    supervised = any(step.what in _PROCESS_STEPS for step in trace)
    n = config.runners
    lines = [
        f'"""Replays the shortest trace to {violation.code} found by `exo-spec explore` '
        f"({config.describe()}).",
        "",
        f"{violation.code}: {INVARIANTS.get(violation.code, violation.code)}.",
        f"The model: {violation.message}.",
        "",
        "Passes when the real system keeps the invariant on this schedule; fails when it",
        'reproduces the finding."""',
        "",
        HARNESS,
        "",
    ]
    body: list[str] = []
    if supervised:
        fail = {
            rank: {action: "injected fault: the action raised" for action in actions}
            for rank, actions in _outcomes(trace).items()
            if any(o == "fail" for outcome in actions.values() for o in outcome)
        }
        body.append(f"    ranks = SupervisedRanks({n}, max_restarts={config.max_restarts},")
        body.append(f"                            fail={fail!r}, block={_blocked(trace)!r})")
        body.append("    with ranks:")
        indent = "        "
    else:
        body.append(f"    ranks = RuntimeRanks({n}, weights={config.weights},")
        body.append(f"                         outcomes={_outcomes(trace)!r})")
        indent = "    "
    polled: dict[int, list[bool]] = {}  # per rank, each CancelTask taken: while generating?
    for step in trace:
        if step.what == "take" and step.task == "CancelTask":
            polled.setdefault(step.rank, []).append(step.text.endswith("(polled)"))
    for number, step in enumerate(trace, 1):
        comment = f"# {number}. {step.text}"
        if step.what in ("plan", "chat") and step.task is not None:
            body.append(f"{indent}ranks.send({step.rank}, {step.task!r})  {comment}")
        elif step.what == "cancel":
            target = int(step.text.rsplit("(naming c", 1)[1].split(")")[0])
            taken = polled.get(step.rank, [])
            during = taken.pop(0) if taken else False
            call = f"ranks.send({step.rank}, 'CancelTask', target={target}, during={during})"
            body.append(f"{indent}{call}  {comment}")
        elif step.what in ("finish", "raise") and supervised and step.task is not None:
            body.append(f"{indent}ranks.wait({step.rank}, {step.task!r})  {comment}")
        elif step.what == "crash" and supervised:
            body.append(f"{indent}ranks.crash({step.rank})  {comment}")
        elif step.what == "delete" and supervised:
            body.append(f"{indent}ranks.delete()  {comment}")
        elif step.what in ("stall", "deadline"):
            body.append(f"{indent}{comment} (not replayed: no one-shot stall)")
        else:
            body.append(f"{indent}{comment}")
    if not supervised:
        body.append("    ranks.run()")
    body.append("    assert ranks.problems() == []")
    name = f"test_replay_{violation.code.lower()}"
    lines += ["", f"def {name}() -> None:", *body, ""]
    return "\n".join(lines)
