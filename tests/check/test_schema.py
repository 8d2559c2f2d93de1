"""spec/runner.schema.json agrees with the loader: valid specs validate, schema-level mutations
are rejected by both."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from exo_spec.check import lint, lint_loaded
from exo_spec.spec import load_spec_text
from exo_spec.spec.types import DEFAULT_EVENTS, PROGRESS_KINDS

ROOT = Path(__file__).parents[2]
SCHEMA = json.loads((ROOT / "spec" / "runner.schema.json").read_text(encoding="utf-8"))
VALID = [ROOT / "spec" / "runner.yaml", *sorted((ROOT / "spec" / "examples").glob("*.yaml"))]
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)


def test_schema_is_a_valid_draft_2020_12_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    progress = SCHEMA["$defs"]["action"]["oneOf"][2]["properties"]["progress"]["oneOf"][0]
    assert tuple(progress["enum"]) == PROGRESS_KINDS


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.name)
def test_valid_specs_validate_and_lint_clean(path: Path) -> None:
    VALIDATOR.validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    assert lint(path) == []


def test_runner_yaml_points_at_the_schema() -> None:
    first = (ROOT / "spec" / "runner.yaml").read_text(encoding="utf-8").splitlines()[0]
    assert first == "# yaml-language-server: $schema=runner.schema.json"


Data = dict[str, Any]


def _set(*path: str, value: Any) -> Callable[[Data], None]:
    def mutate(data: Data) -> None:
        node = data
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value

    return mutate


def _del(*path: str) -> Callable[[Data], None]:
    def mutate(data: Data) -> None:
        node = data
        for key in path[:-1]:
            node = node[key]
        del node[path[-1]]

    return mutate


def _rename(*path: str, new: str) -> Callable[[Data], None]:
    def mutate(data: Data) -> None:
        node = data
        for key in path[:-1]:
            node = node[key]
        node[new] = node.pop(path[-1])

    return mutate


def _rule(task: str, key: str, value: Any) -> Callable[[Data], None]:
    def mutate(data: Data) -> None:
        data["tasks"][task][0][key] = value

    return mutate


MUTATIONS: dict[str, tuple[Callable[[Data], None], str]] = {
    "unknown_top_key": (_set("colour", value="red"), "EXS002"),
    "unknown_state_key": (_set("states", "idle", "timout_s", value=3), "EXS002"),
    "unknown_rule_key": (_rule("StartWarmup", "unless", "has_group"), "EXS002"),
    "unknown_guard_key": (_set("guards", "has_group", "fixed", value=True), "EXS002"),
    "unknown_events_key": (_set("events", "progress", value=[]), "EXS002"),
    "version_is_a_string": (_set("version", value="1"), "EXS003"),
    "timeout_is_a_string": (_set("states", "loading", "timeout_s", value="soon"), "EXS003"),
    "timeout_is_negative": (_set("states", "loading", "timeout_s", value=-5), "EXS003"),
    "transient_is_a_string": (_set("states", "loading", "transient", value="yes"), "EXS003"),
    "rules_are_a_mapping": (_set("tasks", "StartWarmup", value={"from": "loaded"}), "EXS003"),
    "accept_is_a_string": (_set("events", "accept", value="TaskAcknowledged"), "EXS003"),
    "when_is_a_list": (_rule("ConnectToGroup", "when", ["has_group"]), "EXS003"),
    "states_is_a_list": (_set("states", value=["idle"]), "EXS003"),
    "machine_name_with_dash": (_set("machine", value="run-ner"), "EXS005"),
    "state_name_starts_with_digit": (_rename("states", "failed", new="1failed"), "EXS005"),
    "task_name_is_a_keyword": (_rename("tasks", "CancelTask", new="class"), "EXS005"),
    "guard_name_is_and": (_rename("guards", "weights_present", new="and"), "EXS005"),
    "status_with_space": (_set("states", "idle", "status", value="Runner Idle"), "EXS005"),
    "via_with_dot": (_rule("StartWarmup", "via", "warming.up"), "EXS005"),
    "missing_initial": (_del("initial"), "EXS004"),
    "missing_status": (_del("states", "idle", "status"), "EXS004"),
    "missing_from": (lambda data: data["tasks"]["StartWarmup"][0].pop("from"), "EXS004"),
    "version_2": (_set("version", value=2), "EXS006"),
    "unknown_event": (_set("events", "reject", value=["TaskFailed"]), "EXS106"),
    "unknown_progress": (_set("actions", "load", "progress", value=["Layers"]), "EXS106"),
}


def _runner() -> Data:
    data: Data = yaml.safe_load((ROOT / "spec" / "runner.yaml").read_text(encoding="utf-8"))
    return data


@pytest.mark.parametrize("name", sorted(MUTATIONS))
def test_schema_and_loader_both_reject(name: str) -> None:
    mutate, code = MUTATIONS[name]
    data = copy.deepcopy(_runner())
    mutate(data)
    errors = list(VALIDATOR.iter_errors(data))
    assert errors, f"the schema accepts mutation {name}"
    result = load_spec_text(yaml.safe_dump(data, sort_keys=False), "mutant.yaml")
    codes = {d.code for d in result.diagnostics}
    assert code in codes, f"the loader gives {sorted(codes)} for {name}, expected {code}"


def test_a_spec_without_events_gets_the_default_contract() -> None:
    data = copy.deepcopy(_runner())
    del data["events"]
    VALIDATOR.validate(data)
    result = load_spec_text(yaml.safe_dump(data, sort_keys=False), "plain.yaml")
    assert result.diagnostics == ()
    assert result.spec is not None
    contract = result.spec.events
    shown = {o: tuple(str(e) for e in contract.of(o)) for o in DEFAULT_EVENTS}
    assert shown == DEFAULT_EVENTS
    assert lint_loaded(result) == []


def test_an_outcome_left_out_has_no_events() -> None:
    data = copy.deepcopy(_runner())
    del data["events"]["reject"]
    VALIDATOR.validate(data)
    result = load_spec_text(yaml.safe_dump(data, sort_keys=False), "partial.yaml")
    assert result.diagnostics == ()
    assert result.spec is not None
    assert result.spec.events.reject == ()
    assert [d.code for d in lint_loaded(result)] == ["EXS210"]
