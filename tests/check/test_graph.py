"""The graph functions and the rules on specs with dangling references."""

from __future__ import annotations

from pathlib import Path

from exo_spec.check import can_reach_final, lint_spec, reachable, successors
from exo_spec.check.lint import LOCAL, REFERENCES
from exo_spec.check.logic import partial, witness
from exo_spec.check.rules import CHECKS
from exo_spec.spec import Spec, load_spec, load_spec_text, parse_expr

ROOT = Path(__file__).parents[2]


def _runner() -> Spec:
    spec = load_spec(ROOT / "spec" / "runner.yaml").spec
    assert spec is not None
    return spec


def test_reachable_per_constant_valuation() -> None:
    spec = _runner()
    alone = reachable(spec, {"has_group": False})
    group = reachable(spec, {"has_group": True})
    assert "connected" not in alone
    assert {"connecting", "connected", "loaded", "ready", "running"} <= group
    assert "loaded" in alone


def test_via_states_are_not_hubs() -> None:
    """idle -> downloading -> idle and connected -> downloading -> connected stay apart."""
    spec = _runner()
    assert "connected" not in reachable(spec, {"has_group": False})
    assert set(successors(spec, "idle", {"has_group": False})) == {
        "downloading",
        "idle",
        "failed",
        "loading",
        "loaded",
        "shutting_down",
        "shutdown",
    }


def test_can_reach_final_includes_transient_states() -> None:
    spec = _runner()
    ends = can_reach_final(spec, {"has_group": True})
    assert {"idle", "downloading", "running", "failed", "shutdown"} <= ends


def test_witness_and_partial() -> None:
    both = parse_expr("has_group and weights_present")
    either = parse_expr("not has_group or weights_present")
    assert partial(both, {"has_group": False}) is False
    assert partial(both, {"has_group": True}) is None
    assert witness([(both, True), (either, True)]) == {"has_group": True, "weights_present": True}
    assert witness([(both, True), (parse_expr("not weights_present"), True)]) is None
    assert witness([(both, True)], {"has_group": False}) is None


def test_witness_scales_with_the_guards_used_not_declared() -> None:
    chain = " and ".join(f"g{i}" for i in range(60))
    found = witness([(parse_expr(chain), True)])
    assert found is not None
    assert all(found.values())
    assert witness([(parse_expr(chain), True), (parse_expr("not g59"), True)]) is None


DANGLING = """
version: 1
machine: broken
initial: nowhere
guards: {g: a guard}
states:
  a: {status: A}
  b: {status: B, transient: true}
tasks:
  T:
    - {from: [a, ghost], when: g and h, via: phantom, do: act, to: elsewhere}
    - {from: b, to: a}
  U: []
defer: {ghost: [T, V], b: [U]}
on_error: spectre
events:
  accept: []
  success: []
  cancelled: []
  failure: []
  reject: []
"""


def test_rules_never_crash_on_dangling_references() -> None:
    result = load_spec_text(DANGLING, "dangling.yaml")
    assert result.spec is not None
    spec = result.spec
    found = [d for code in sorted(CHECKS) for d in CHECKS[code](spec)]  # every rule, unstaged
    codes = {d.code for d in found}
    assert {"EXS101", "EXS102", "EXS103", "EXS105", "EXS206", "EXS210", "EXS214"} <= codes
    staged = {d.code for d in lint_spec(spec)}  # what resting on the broken names is skipped
    assert staged == codes & (REFERENCES | LOCAL)
    messages = " | ".join(d.message for d in found)
    assert "initial names unknown state 'nowhere'" in messages
