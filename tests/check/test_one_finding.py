"""One mistake, one finding: every single mistake in a valid spec is reported once, by its root
code, and not again by the checks that rest on what it broke.

The corpus is derived: each mutation below is applied, in turn, at every place of the valid
spec where it can be made (every reference to a state, every guard in a 'when', every state's
status, every transient state's timeout).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import yaml

from exo_spec.check import lint_loaded
from exo_spec.spec import load_spec_text

VALID = """\
version: 1
machine: worker
initial: idle
guards:
  ready: {doc: the input is there}
actions:
  fetch: {doc: fetch the input}
  work: {doc: do the work}
states:
  idle: {status: Idle}
  fetching: {status: Fetching, transient: true, timeout_s: 5}
  working: {status: Working, transient: true, timeout_s: 10}
  failed: {status: Failed}
  stopped: {status: Stopped, final: true}
tasks:
  Run:
    - {from: idle, when: ready, via: working, do: work, to: idle}
    - {from: idle, when: not ready, via: fetching, do: fetch, to: idle}
  Reset:
    - {from: failed, to: idle}
  Stop:
    - {from: [idle, failed], to: stopped}
on_error: failed
"""

Data = dict[str, Any]
Mutation = tuple[str, str, Callable[[Data], None]]


def _mutations(data: Data) -> Iterator[Mutation]:
    """(id, the one expected code, the edit) for every place each kind of mistake fits."""
    for task, rules in data["tasks"].items():
        for index, rule in enumerate(rules):
            at = f"{task}[{index}]"
            for field in ("from", "via", "to"):
                if field in rule:
                    yield f"misspelt-{field}-{at}", "EXS101", _rule(task, index, field, _typo)
            if "when" in rule:
                yield f"undeclared-guard-{at}", "EXS102", _rule(task, index, "when", _typo_guard)
                yield f"guard-syntax-{at}", "EXS104", _rule(task, index, "when", _dangling)
            if "do" in rule:
                yield f"undeclared-action-{at}", "EXS103", _rule(task, index, "do", _typo)
    yield "misspelt-initial", "EXS101", _top("initial")
    yield "misspelt-on_error", "EXS101", _top("on_error")
    for state, body in data["states"].items():
        yield f"no-status-{state}", "EXS004", _state(state, lambda b: b.pop("status"))
        yield f"status-not-a-name-{state}", "EXS005", _state(state, _set("status", "Not A Name"))
        if "timeout_s" in body:
            for bad in (-1, 0, "soon"):
                edit = _state(state, _set("timeout_s", bad))
                yield f"bad-timeout-{bad}-{state}", "EXS003", edit


def _typo(name: Any) -> Any:
    if isinstance(name, list):
        return [_typo(name[0]), *name[1:]]
    return f"{name}x"


def _typo_guard(when: str) -> str:
    return when.replace("ready", "raedy")


def _dangling(when: str) -> str:
    return f"{when} and"


def _rule(task: str, index: int, field: str, edit: Callable[[Any], Any]) -> Callable[[Data], None]:
    def mutate(data: Data) -> None:
        rule = data["tasks"][task][index]
        rule[field] = edit(rule[field])

    return mutate


def _top(key: str) -> Callable[[Data], None]:
    def mutate(data: Data) -> None:
        data[key] = _typo(data[key])

    return mutate


def _set(key: str, value: Any) -> Callable[[Data], None]:
    def mutate(body: Data) -> None:
        body[key] = value

    return mutate


def _state(state: str, edit: Callable[[Data], Any]) -> Callable[[Data], None]:
    def mutate(data: Data) -> None:
        edit(data["states"][state])

    return mutate


BASE: Data = yaml.safe_load(VALID)
CORPUS = list(_mutations(BASE))


def test_the_valid_spec_is_clean() -> None:
    assert lint_loaded(load_spec_text(VALID, "worker.yaml")) == []


def test_the_corpus_covers_each_kind_of_mistake() -> None:
    assert {code for _, code, _ in CORPUS} == {
        "EXS003",
        "EXS004",
        "EXS005",
        "EXS101",
        "EXS102",
        "EXS103",
        "EXS104",
    }
    assert len(CORPUS) >= 30


@pytest.mark.parametrize(
    ("code", "mutate"), [(c, m) for _, c, m in CORPUS], ids=[i for i, _, _ in CORPUS]
)
def test_one_mistake_is_one_finding(code: str, mutate: Callable[[Data], None]) -> None:
    data = copy.deepcopy(BASE)
    mutate(data)
    found = lint_loaded(load_spec_text(yaml.safe_dump(data, sort_keys=False), "worker.yaml"))
    assert [d.code for d in found] == [code], [str(d) for d in found]
