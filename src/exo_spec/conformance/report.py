"""The suite's report as text, JSON or JUnit XML; a violation's reproducer as a pytest test."""

from __future__ import annotations

import contextlib
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

from exo_spec.conformance.execute import DEFAULT_TIMEOUT_S
from exo_spec.conformance.paths import default_spec_path
from exo_spec.conformance.scenario_check import Violation
from exo_spec.conformance.suite import Report

__all__ = ["reproducer_test", "to_json", "to_junit", "to_text"]


def _relative(spec_path: str) -> str:
    path = Path(spec_path)
    if path.resolve() == default_spec_path().resolve():
        return path.name
    with contextlib.suppress(ValueError):
        path = path.resolve().relative_to(Path.cwd().resolve())
    return str(path)


def _spec_source(spec_path: str) -> str:
    """The spec as the test names it: the shipped one by name, else relative to here."""
    if Path(spec_path).resolve() == default_spec_path().resolve():
        return "default_spec_path()"
    return repr(_relative(spec_path))


def reproducer_test(
    violation: Violation, runner: str, spec_path: str, timeout_s: float = DEFAULT_TIMEOUT_S
) -> str:
    """A ready-to-paste pytest test that fails while the violation is there (the spec named
    relatively or as the shipped one, the run's time bound)."""
    module, _, attribute = runner.partition(":")
    name = re.sub(r"\W+", "_", f"{violation.category}_{violation.rule}").strip("_").lower()
    scenario = violation.reproducer
    where = violation.loc.replace(spec_path, _relative(spec_path))
    return (
        f"def test_conformance_{name}() -> None:\n"
        f'    """{violation.message.replace(chr(34) * 3, "")} ({violation.rule}, {where})"""\n'
        f"    from exo_spec.conformance import Scenario, Send, check_scenario, default_spec_path\n"
        f"    from exo_spec.spec import load_spec\n"
        f"    from {module} import {attribute.split('.')[0]}\n\n"
        f"    spec = load_spec({_spec_source(spec_path)}).spec\n"
        f"    assert spec is not None\n"
        f"    scenario = {scenario!r}\n"
        f"    found = check_scenario({attribute}, spec, scenario, timeout_s={timeout_s!r})\n"
        f"    assert [v.headline for v in found] == []\n"
    )


def _groups(report: Report) -> dict[tuple[str, str], list[Violation]]:
    groups: dict[tuple[str, str], list[Violation]] = {}
    for violation in report.violations:
        groups.setdefault((violation.category, violation.rule), []).append(violation)
    return groups


def _window(lines: tuple[str, ...], index: int) -> str:
    lo = max(0, index - 4)
    shown = [
        f"      {'>' if k == index else ' '} {k:3d} {line}"
        for k, line in enumerate(lines[lo : index + 3], lo)
    ]
    return "\n".join(shown) if shown else "      (none)"


def _expected_at(violation: Violation) -> int:
    """The expected event due where the traces part (the same index only as a fallback)."""
    if violation.expected_index is not None:
        return violation.expected_index
    return min(violation.index, len(violation.expected) - 1)


def to_text(report: Report) -> str:
    counts = ", ".join(f"{n} {kind}" for kind, n in report.counts().items())
    head = (
        f"exo-spec conformance: {report.runner} against {report.spec}\n"
        f"{len(report.results)} scenarios ({counts}; {report.walks} random walks, seed "
        f"{report.seed}); {len(report.unreachable)} generated paths no runner can reach\n"
    )
    skipped = sum(1 for r in report.results if r.skipped)
    if skipped:
        head += f"{skipped} scenario(s) not run: they reach where the runner hung\n"
    if report.unfinished:
        head += (
            f"{len(report.unfinished)} scenario(s) not run: the budget of {report.budget_s:g}s "
            f"was spent (--budget): {', '.join(report.unfinished[:3])}"
            f"{' ...' if len(report.unfinished) > 3 else ''}\n"
        )
    if report.conformant:
        return head + f"conformant ({report.seconds:.1f}s)\n"
    out = [head]
    for (category, rule), group in _groups(report).items():
        first = group[0]
        out.append(
            f"\nVIOLATION {first.code} {category} ({rule}, {first.loc}) in {len(group)} "
            "scenario(s)\n"
            f"  {first.headline}\n"
            f"  reproduce with: {first.reproducer.describe()}\n"
            f"  actual events (> marks the first wrong one):\n{_window(first.actual, first.index)}\n"
            f"  expected events (> marks the one due there):\n"
            f"{_window(first.expected, _expected_at(first))}\n"
            "  as a test:\n\n"
            + "\n".join(
                "    " + line if line else ""
                for line in reproducer_test(
                    first, report.runner, report.spec, report.timeout_s
                ).splitlines()
            )
            + "\n"
        )
        others = [v.scenario for v in group[1:6]]
        if others:
            out.append(f"  also in: {', '.join(others)}{' ...' if len(group) > 6 else ''}\n")
    out.append(
        f"\n{len(report.violations)} violation(s) of {len(_groups(report))} rule(s) "
        f"in {sum(1 for r in report.results if r.violations)} scenario(s) ({report.seconds:.1f}s)\n"
    )
    return "".join(out)


def _violation_json(violation: Violation, report: Report) -> dict[str, object]:
    return {
        "scenario": violation.scenario,
        "code": violation.code,
        "category": violation.category,
        "rule": violation.rule,
        "location": violation.loc,
        "message": violation.message,
        "expected": list(violation.expected),
        "actual": list(violation.actual),
        "index": violation.index,
        "reproducer": violation.reproducer.describe(),
        "test": reproducer_test(violation, report.runner, report.spec, report.timeout_s),
    }


def to_json(report: Report) -> str:
    data = {
        "runner": report.runner,
        "spec": report.spec,
        "conformant": report.conformant,
        "scenarios": len(report.results),
        "counts": report.counts(),
        "walks": report.walks,
        "seed": report.seed,
        "unreachable": list(report.unreachable),
        "unfinished": list(report.unfinished),
        "skipped": {r.id: r.skipped for r in report.results if r.skipped},
        "seconds": round(report.seconds, 3),
        "violations": [_violation_json(v, report) for v in report.violations],
    }
    return json.dumps(data, indent=2) + "\n"


def to_junit(report: Report) -> str:
    failures = sum(1 for r in report.results if r.violations)
    suite = ET.Element(
        "testsuite",
        name=f"exo-spec conformance {report.runner}",
        tests=str(len(report.results)),
        failures=str(failures),
        errors="0",
        time=f"{report.seconds:.3f}",
    )
    for result in report.results:
        case = ET.SubElement(
            suite,
            "testcase",
            classname=f"conformance.{result.kind}",
            name=result.id,
            time=f"{result.seconds:.3f}",
        )
        if result.skipped:
            ET.SubElement(case, "skipped", message=result.skipped)
        for violation in result.violations:
            failure = ET.SubElement(
                case, "failure", message=violation.summary, type=violation.category
            )
            failure.text = (
                "expected:\n  "
                + "\n  ".join(violation.expected)
                + "\nactual:\n  "
                + "\n  ".join(violation.actual)
                + "\n\n"
                + reproducer_test(violation, report.runner, report.spec, report.timeout_s)
            )
    ET.indent(suite)
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(suite, encoding="unicode") + "\n"
    )
