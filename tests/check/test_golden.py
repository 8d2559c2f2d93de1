"""Golden files pin the linter's text, json and sarif output for a few broken specs.

Regenerate with ``EXO_SPEC_UPDATE_GOLDEN=1 pytest tests/check/test_golden.py``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import jsonschema
import pytest

from exo_spec.cli import main

ROOT = Path(__file__).parents[2]
GOLDEN = Path(__file__).parent / "golden"
CASES = ("seed000_no_status_after_success", "seed002_load_only_from_idle", "overlap_download")
FORMATS = {"text": "txt", "json": "json", "sarif": "sarif", "github": "github"}

# The part of SARIF 2.1.0 that GitHub code scanning reads.
SARIF_SUBSET = {
    "type": "object",
    "required": ["version", "runs", "$schema"],
    "properties": {
        "version": {"const": "2.1.0"},
        "runs": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["tool", "results"],
                "properties": {
                    "tool": {
                        "type": "object",
                        "required": ["driver"],
                        "properties": {
                            "driver": {
                                "type": "object",
                                "required": ["name", "rules"],
                                "properties": {
                                    "name": {"type": "string"},
                                    "rules": {
                                        "type": "array",
                                        "items": {
                                            "type": "object",
                                            "required": ["id", "shortDescription"],
                                            "properties": {
                                                "id": {"type": "string"},
                                                "shortDescription": {
                                                    "type": "object",
                                                    "required": ["text"],
                                                },
                                            },
                                        },
                                    },
                                },
                            }
                        },
                    },
                    "results": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["ruleId", "level", "message", "locations"],
                            "properties": {
                                "level": {"enum": ["none", "note", "warning", "error"]},
                                "message": {
                                    "type": "object",
                                    "required": ["text"],
                                    "properties": {"text": {"type": "string", "minLength": 1}},
                                },
                                "locations": {
                                    "type": "array",
                                    "minItems": 1,
                                    "items": {
                                        "type": "object",
                                        "required": ["physicalLocation"],
                                        "properties": {
                                            "physicalLocation": {
                                                "type": "object",
                                                "required": ["artifactLocation", "region"],
                                                "properties": {
                                                    "artifactLocation": {
                                                        "type": "object",
                                                        "required": ["uri"],
                                                    },
                                                    "region": {
                                                        "type": "object",
                                                        "required": ["startLine", "startColumn"],
                                                        "properties": {
                                                            "startLine": {
                                                                "type": "integer",
                                                                "minimum": 1,
                                                            },
                                                            "startColumn": {
                                                                "type": "integer",
                                                                "minimum": 1,
                                                            },
                                                        },
                                                    },
                                                },
                                            }
                                        },
                                    },
                                },
                            },
                        },
                    },
                },
            },
        },
    },
}


def _run(
    case: str, fmt: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> str:
    monkeypatch.chdir(ROOT)
    code = main(["check", "--format", fmt, f"tests/check/mutants/{case}.yaml"])
    out, err = capsys.readouterr()
    assert code == 1
    assert err.startswith("Found ")
    return out


@pytest.mark.parametrize("fmt", sorted(FORMATS))
@pytest.mark.parametrize("case", CASES)
def test_golden(
    case: str, fmt: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    out = _run(case, fmt, capsys, monkeypatch)
    golden = GOLDEN / f"{case}.{FORMATS[fmt]}"
    if os.environ.get("EXO_SPEC_UPDATE_GOLDEN"):
        golden.write_text(out, encoding="utf-8")
    assert out == golden.read_text(encoding="utf-8")


@pytest.mark.parametrize("case", CASES)
def test_sarif_structure(case: str) -> None:
    log = json.loads((GOLDEN / f"{case}.sarif").read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator(SARIF_SUBSET).validate(log)
    run = log["runs"][0]
    ids = [r["id"] for r in run["tool"]["driver"]["rules"]]
    assert ids == sorted(ids)
    assert "EXS210" in ids
    assert "EXS000" in ids
    for result in run["results"]:
        assert ids[result["ruleIndex"]] == result["ruleId"]
        uri = result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        assert uri == f"tests/check/mutants/{case}.yaml"


def test_json_shape() -> None:
    rows = json.loads((GOLDEN / "seed002_load_only_from_idle.json").read_text(encoding="utf-8"))
    assert rows
    assert all(
        set(row) == {"code", "message", "severity", "path", "line", "column"} for row in rows
    )
