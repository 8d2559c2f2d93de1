"""``lint``: the loader's schema diagnostics, then every semantic rule, sorted and de-duplicated."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import attrs

from exo_spec.check.config import unsuppressed
from exo_spec.check.rules import CHECKS
from exo_spec.spec.codes import BY_CODE, selected
from exo_spec.spec.diagnostics import Diagnostic
from exo_spec.spec.loader import LoadResult, load_spec
from exo_spec.spec.types import Spec

__all__ = [
    "LOCAL",
    "MAX_PER_CODE",
    "REFERENCES",
    "cap_repeats",
    "finish",
    "lint",
    "lint_loaded",
    "lint_spec",
]

MAX_PER_CODE = 50
"""The most findings of one code reported; the rest are counted in one last finding."""


REFERENCES = frozenset({"EXS101", "EXS102", "EXS103", "EXS105"})
"""Names that refer to nothing: checked first, on any spec the loader could build."""
LOCAL = frozenset({"EXS204", "EXS205", "EXS214", "EXS215", "EXS216", "EXS217"})
"""How each state is declared and used, one at a time: sound once every name resolves."""


def lint_spec(spec: Spec, *, schema_errors: bool = False) -> list[Diagnostic]:
    """Run the semantic rules on a built spec, in stages, so that one mistake is one finding.

    The references come first. When the loader reported a schema error (``schema_errors``)
    nothing else runs: the loader dropped what it could not read (a rule with a broken guard,
    a state's timeout), and every later check would report the hole, not the mistake. When a
    name refers to nothing, the local checks run but the checks over the whole graph
    (reachability, cells, the event contract, unused guards and actions) do not: a misspelt
    'from' would also leave a state unreachable, a misspelt guard two rules overlapping.
    """
    found = _run(spec, REFERENCES)
    if schema_errors:
        return found
    broken = bool(found)
    found.extend(_run(spec, LOCAL))
    if not broken:
        found.extend(_run(spec, CHECKS.keys() - REFERENCES - LOCAL))
    return found


def _run(spec: Spec, codes: Iterable[str]) -> list[Diagnostic]:
    found: list[Diagnostic] = []
    for code in sorted(codes):
        try:
            found.extend(CHECKS[code](spec))
        except Exception as exc:  # a rule bug must not hide the other findings
            found.append(
                Diagnostic(
                    code,
                    f"internal error in rule {code} ({type(exc).__name__}: {exc}); "
                    "please report it with this spec",
                    spec.initial_loc,
                )
            )
    return found


def lint_loaded(
    result: LoadResult,
    select: Sequence[str] | None = None,
    ignore: Sequence[str] | None = None,
) -> list[Diagnostic]:
    """Findings for an already loaded spec: schema diagnostics, then the semantic rules, less
    those a ``# noqa`` on their line suppresses (:mod:`exo_spec.check.config`)."""
    found = list(result.diagnostics)
    if result.spec is not None:
        found.extend(lint_spec(result.spec, schema_errors=bool(result.diagnostics)))
    return finish(unsuppressed(found, result.path, result.text), select, ignore)


def finish(
    found: Iterable[Diagnostic],
    select: Sequence[str] | None = None,
    ignore: Sequence[str] | None = None,
) -> list[Diagnostic]:
    """Filter by selection, stamp each code's severity from the table, drop repeats, sort, and
    keep the first :data:`MAX_PER_CODE` of each code (:func:`cap_repeats`)."""
    out: dict[tuple[str, str, str, int, int], Diagnostic] = {}
    for raw in found:
        if not selected(raw.code, select, ignore):
            continue
        info = BY_CODE.get(raw.code)
        d = raw if info is None else attrs.evolve(raw, severity=info.severity)
        out.setdefault((d.code, d.message, d.loc.path, d.loc.line, d.loc.col), d)
    return cap_repeats(sorted(out.values(), key=Diagnostic.sort_key))


def cap_repeats(found: Sequence[Diagnostic], limit: int = MAX_PER_CODE) -> list[Diagnostic]:
    """The first ``limit`` findings of each code, in order; past that, one finding of the code
    (at the last one shown) says how many more there were."""
    seen: dict[str, int] = {}
    last: dict[str, Diagnostic] = {}
    kept: list[Diagnostic] = []
    for d in found:
        seen[d.code] = seen.get(d.code, 0) + 1
        if seen[d.code] <= limit:
            kept.append(d)
            last[d.code] = d
    for code, count in seen.items():
        if count > limit:
            kept.append(
                attrs.evolve(
                    last[code],
                    message=f"{count - limit} more {code} findings not shown (the first "
                    f"{limit} are); fix these and check again",
                )
            )
    return sorted(kept, key=Diagnostic.sort_key)


def lint(
    path: str | Path,
    select: Sequence[str] | None = None,
    ignore: Sequence[str] | None = None,
) -> list[Diagnostic]:
    """Lint the spec at ``path``: every problem at once, sorted by location."""
    return lint_loaded(load_spec(path), select, ignore)
