"""The mutant corpus: every broken spec is caught with exactly the codes it is expected to give."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from exo_spec.check import lint
from exo_spec.spec.codes import CODES
from tests.check.mutants.derive import SPEC, apply, expectations
from tests.check.mutants.table import MUTANTS

HERE = Path(__file__).parent / "mutants"
EXPECTED: dict[str, dict[str, list[str]]] = yaml.safe_load(
    (HERE / "expected.yaml").read_text(encoding="utf-8")
)


def _codes(name: str) -> set[str]:
    return {d.code for d in lint(HERE / f"{name}.yaml", select=["EXS"])}  # EXS218 too


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_mutant_is_caught(name: str) -> None:
    expect, extra = set(EXPECTED[name]["expect"]), set(EXPECTED[name]["extra"])
    got = _codes(name)
    assert expect <= got, f"{name}: missing {sorted(expect - got)}; got {sorted(got)}"
    assert got == expect | extra, (
        f"{name}: extra codes {sorted(got - expect - extra)}, absent {sorted(extra - got)}"
    )


def test_corpus_is_fresh() -> None:
    """The committed files are what ``python -m tests.check.mutants.derive`` writes today."""
    text = SPEC.read_text(encoding="utf-8")
    for mutant in MUTANTS:
        committed = (HERE / f"{mutant.name}.yaml").read_text(encoding="utf-8")
        assert committed == apply(text, mutant), f"stale mutant {mutant.name}: re-derive"
    assert expectations() == EXPECTED


def test_corpus_covers_every_code_and_every_seed() -> None:
    covered = {code for entry in EXPECTED.values() for code in entry["expect"]}
    own = {c.code for c in CODES if c.origin in ("check", "loader")}
    assert own - {"EXS000"} <= covered, f"no mutant for {sorted(own - covered - {'EXS000'})}"
    seeds = {entry["seed"] for entry in EXPECTED.values()}
    assert {"000", "001", "002"} <= seeds
    assert len(EXPECTED) >= 45


def test_catch_rate(capsys: pytest.CaptureFixture[str]) -> None:
    caught = [name for name, e in EXPECTED.items() if set(e["expect"]) <= _codes(name)]
    rate = len(caught) / len(EXPECTED)
    with capsys.disabled():
        print(f"\nmutant catch rate: {len(caught)}/{len(EXPECTED)} = {rate:.0%}")
    assert rate == 1.0


def test_seed_messages_teach() -> None:
    [d002] = [d for d in lint(HERE / "seed002_load_only_from_idle.yaml") if "loaded" in d.message]
    assert d002.message.startswith(
        "with has_group=true, state loaded is unreachable from idle (required: true); reachable: "
    )
    [d000] = lint(HERE / "seed000_no_status_after_success.yaml")
    assert "events.success has no RunnerStatusUpdated(to)" in d000.message
    overlap = lint(HERE / "overlap_load.yaml")
    assert [d.message for d in overlap] == [
        "task LoadModel in state connected has two rules enabled when has_group=true, "
        "weights_present=true (lines 51 and 52); add a guard that separates them"
    ]
