"""The spec-format reference that ships in the wheel: every YAML example in it loads and lints
as it says (clean, or with the finding its ``# expect: CODE`` line names)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from exo_spec.check.lint import lint
from exo_spec.spec import load_spec

ROOT = Path(__file__).parents[2]
DOC = ROOT / "src" / "exo_spec" / "docs" / "spec-format.md"
SCHEMA = ROOT / "spec" / "runner.schema.json"
EXAMPLES = re.findall(r"^```yaml\n(.*?)^```", DOC.read_text(encoding="utf-8"), re.M | re.S)


def test_the_reference_has_examples() -> None:
    assert len(EXAMPLES) >= 5


@pytest.mark.parametrize("text", EXAMPLES, ids=lambda t: re.search(r"machine: (\w+)", t)[1])  # type: ignore[index]
def test_each_example_loads_and_lints_as_it_says(text: str, tmp_path: Path) -> None:
    path = tmp_path / "example.yaml"
    path.write_text(text, encoding="utf-8")
    loaded = load_spec(path)
    assert loaded.spec is not None, loaded.diagnostics
    codes = sorted({d.code for d in lint(path)})
    expect = re.match(r"# expect: (EXS\d+)", text)
    if expect is None:
        assert codes == [], [str(d) for d in lint(path)]
    else:
        assert codes == [expect[1]]


def test_every_key_of_the_schema_is_documented() -> None:
    """Each property the JSON Schema knows appears in the reference as `key`."""
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    keys = set(schema["properties"])
    for definition in schema["$defs"].values():
        for variant in [definition, *definition.get("oneOf", [])]:
            keys |= set(variant.get("properties", {}))
    text = DOC.read_text(encoding="utf-8")
    missing = sorted(k for k in keys if f"`{k}`" not in text)
    assert missing == []
