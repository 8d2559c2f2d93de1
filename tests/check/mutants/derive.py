"""Derive the mutant corpus from spec/runner.yaml: ``python -m tests.check.mutants.derive``.

Each mutant is a few textual edits of the real spec (each ``old`` must occur exactly once), the
code(s) the mutation is about (``expect``) and the other codes it legitimately also triggers
(``extra``). The YAML files and ``expected.yaml`` are committed; ``test_mutants.py`` checks that
the linter reports exactly ``expect`` + ``extra`` for each, and that the files are not stale.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from tests.check.mutants.table import MUTANTS, Mutant

__all__ = ["HERE", "SPEC", "apply", "main"]

HERE = Path(__file__).parent
SPEC = HERE.parents[2] / "spec" / "runner.yaml"


def apply(text: str, mutant: Mutant) -> str:
    """The spec text with the mutant's edits applied; an edit that does not match raises."""
    for old, new in mutant.edits:
        count = text.count(old)
        if count != 1:
            raise ValueError(f"mutant {mutant.name}: {old!r} occurs {count} times, expected once")
        text = text.replace(old, new)
    header = f"# mutant {mutant.name}: {mutant.why}\n"
    return header + text


def expectations() -> dict[str, dict[str, object]]:
    return {
        m.name: {
            "why": m.why,
            "seed": m.seed,
            "expect": sorted(m.expect),
            "extra": sorted(m.extra),
        }
        for m in MUTANTS
    }


def main() -> None:
    text = SPEC.read_text(encoding="utf-8")
    for old in HERE.glob("*.yaml"):
        old.unlink()
    for mutant in MUTANTS:
        (HERE / f"{mutant.name}.yaml").write_text(apply(text, mutant), encoding="utf-8")
    dumped = yaml.safe_dump(expectations(), sort_keys=True, allow_unicode=True, width=100)
    (HERE / "expected.yaml").write_text(dumped, encoding="utf-8")


if __name__ == "__main__":
    main()
