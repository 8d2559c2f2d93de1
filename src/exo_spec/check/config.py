"""Which codes are reported, configured as ruff configures its rules, and inline suppressions.

``[tool.exo-spec]`` in the nearest ``pyproject.toml`` (found from the spec's directory upwards;
the first that has the table wins, as ruff does)::

    [tool.exo-spec]
    select = ["EXS"]                 # the codes or prefixes reported (default: every code on
                                     # by default; EXS218 is not)
    extend-select = ["EXS218"]       # added to select (or to the default codes)
    ignore = ["EXS211"]              # never reported
    extend-ignore = []               # added to ignore
    per-file-ignores = {"spec/legacy/*.yaml" = ["EXS203"]}   # globs relative to the pyproject

    [[tool.exo-spec.generate]]       # what ``exo-spec generate`` writes, one table a spec
    spec = "spec/upload.yaml"        # the spec (paths are relative to the pyproject)
    out = "generated"                # its docs and tests (default: generated)
    module = "upload_machine"        # the machine's dotted module name (default: <machine>_machine)
    module-root = "generated"        # the folder that name is imported from (default: out)

On the command line, ``--select`` replaces ``select`` and ``extend-select``, and ``--ignore``
adds to ``ignore``. ``exo-spec generate`` lints with the same selection.

A finding is suppressed by a comment on the line it points at: ``# noqa: EXS218`` (several
codes separated by commas; prefixes such as ``EXS2`` work too) or a bare ``# noqa`` for every
code on that line.
"""

from __future__ import annotations

import fnmatch
import re
import tomllib
from collections.abc import Iterable, Sequence
from pathlib import Path, PurePosixPath
from typing import Any

from attrs import frozen

from exo_spec.spec.codes import DEFAULT_CODES, matches_any
from exo_spec.spec.diagnostics import Diagnostic

__all__ = [
    "ConfigError",
    "GenerateEntry",
    "RuleConfig",
    "find_config",
    "generate_entry",
    "selection",
    "suppressed",
    "unsuppressed",
]

_KEYS = ("select", "extend-select", "ignore", "extend-ignore", "per-file-ignores", "generate")
_GENERATE_KEYS = ("spec", "out", "module", "module-root")
_NOQA = re.compile(r"#\s*noqa(?::\s*(?P<codes>[A-Z0-9]+(?:\s*,\s*[A-Z0-9]+)*))?", re.IGNORECASE)


class ConfigError(Exception):
    """``[tool.exo-spec]`` cannot be read: the message names the file and the key."""


@frozen
class GenerateEntry:
    """One ``[[tool.exo-spec.generate]]`` table, its paths resolved against the pyproject's folder."""

    spec: Path
    out: Path
    module: str | None = None
    module_root: Path | None = None


@frozen
class RuleConfig:
    """``[tool.exo-spec]`` as read; ``root`` is the directory of its ``pyproject.toml``."""

    select: tuple[str, ...] | None = None
    extend_select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    per_file_ignores: tuple[tuple[str, tuple[str, ...]], ...] = ()
    root: Path | None = None
    generate: tuple[GenerateEntry, ...] = ()


def find_config(spec_path: str | Path) -> RuleConfig:
    """The ``[tool.exo-spec]`` table of the nearest ``pyproject.toml`` above ``spec_path``
    that has one (an empty configuration when none does)."""
    start = Path(spec_path).resolve().parent
    for folder in (start, *start.parents):
        candidate = folder / "pyproject.toml"
        if not candidate.is_file():
            continue
        try:
            data = tomllib.loads(candidate.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"{candidate}: cannot read it: {exc}") from exc
        table = data.get("tool", {}).get("exo-spec")
        if table is not None:
            return _parse(table, candidate)
    return RuleConfig()


def _parse(table: Any, where: Path) -> RuleConfig:
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: [tool.exo-spec] must be a table")
    unknown = sorted(set(table) - set(_KEYS))
    if unknown:
        raise ConfigError(
            f"{where}: unknown key {unknown[0]!r} in [tool.exo-spec]; expected one of: "
            + ", ".join(_KEYS)
        )
    files = table.get("per-file-ignores", {})
    if not isinstance(files, dict):
        raise ConfigError(f"{where}: per-file-ignores must be a table of glob = [codes]")
    select = table.get("select")
    return RuleConfig(
        select=None if select is None else _codes(select, "select", where),
        extend_select=_codes(table.get("extend-select", []), "extend-select", where),
        ignore=_codes(table.get("ignore", []), "ignore", where)
        + _codes(table.get("extend-ignore", []), "extend-ignore", where),
        per_file_ignores=tuple(
            (str(glob), _codes(codes, f"per-file-ignores.{glob!r}", where))
            for glob, codes in files.items()
        ),
        root=where.parent,
        generate=_generate(table.get("generate", []), where),
    )


def _generate(value: Any, where: Path) -> tuple[GenerateEntry, ...]:
    if isinstance(value, dict):
        value = [value]
    shape = 'a list of tables, like [[tool.exo-spec.generate]] spec = "spec/x.yaml"'
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise ConfigError(f"{where}: generate must be {shape}")
    entries = []
    for number, table in enumerate(value, 1):
        at = f"{where}: generate #{number}"
        unknown = sorted(set(table) - set(_GENERATE_KEYS))
        if unknown:
            raise ConfigError(
                f"{at}: unknown key {unknown[0]!r}; expected one of: " + ", ".join(_GENERATE_KEYS)
            )
        for key in _GENERATE_KEYS:
            if key in table and (not isinstance(table[key], str) or not table[key]):
                raise ConfigError(f"{at}: {key} must be a non-empty string")
        if "spec" not in table:
            raise ConfigError(f"{at}: spec is missing; it names the spec file to generate from")
        root = table.get("module-root")
        entries.append(
            GenerateEntry(
                spec=where.parent / table["spec"],
                out=where.parent / table.get("out", "generated"),
                module=table.get("module"),
                module_root=None if root is None else where.parent / root,
            )
        )
    return tuple(entries)


def generate_entry(config: RuleConfig, spec_path: str | Path) -> GenerateEntry | None:
    """The ``[[tool.exo-spec.generate]]`` table for the spec at ``spec_path``, if there is one."""
    wanted = Path(spec_path).resolve()
    return next((e for e in config.generate if e.spec.resolve() == wanted), None)


def _codes(value: Any, key: str, where: Path) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f'{where}: {key} must be a list of codes, like ["EXS218"]')
    for code in value:
        if not matches_any(code.upper()):
            raise ConfigError(f"{where}: {key}: no code starts with {code!r}")
    return tuple(code.upper() for code in value)


def selection(
    config: RuleConfig,
    spec_path: str | Path,
    select: Sequence[str] | None = None,
    ignore: Sequence[str] | None = None,
) -> tuple[list[str] | None, list[str]]:
    """``(select, ignore)`` for one spec: the command line's ``select`` replaces the configured
    ``select`` and ``extend-select`` (as ruff's does); every ignore that applies to this file
    is added to the command line's."""
    if select:
        chosen: list[str] | None = list(select)
    else:
        chosen = None if config.select is None else list(config.select)
        if config.extend_select:
            chosen = [*(chosen or DEFAULT_CODES), *config.extend_select]
    skipped = [*config.ignore, *(ignore or ())]
    skipped += [
        c
        for glob, codes in config.per_file_ignores
        if _matches(glob, spec_path, config)
        for c in codes
    ]
    return chosen, skipped


def _matches(glob: str, spec_path: str | Path, config: RuleConfig) -> bool:
    path = Path(spec_path).resolve()
    names = [path.name, path.as_posix()]
    if config.root is not None and path.is_relative_to(config.root.resolve()):
        names.append(path.relative_to(config.root.resolve()).as_posix())
    return any(fnmatch.fnmatchcase(name, glob) or PurePosixPath(name).match(glob) for name in names)


def _noqa(line: str) -> tuple[str, ...] | None:
    """The codes a line's ``# noqa`` names (``()`` for a bare one); ``None`` without one."""
    found = _NOQA.search(line)
    if found is None:
        return None
    codes = found.group("codes")
    return () if codes is None else tuple(c.strip().upper() for c in codes.split(","))


def suppressed(d: Diagnostic, lines: Sequence[str]) -> bool:
    """Whether ``d``'s line carries a ``# noqa`` for its code."""
    if not 1 <= d.loc.line <= len(lines):
        return False
    codes = _noqa(lines[d.loc.line - 1])
    return codes is not None and (not codes or any(d.code.startswith(c) for c in codes))


def unsuppressed(found: Iterable[Diagnostic], path: str, text: str) -> list[Diagnostic]:
    """``found`` without the findings in the spec at ``path`` that a ``# noqa`` suppresses."""
    lines = text.splitlines()
    return [d for d in found if d.loc.path != path or not suppressed(d, lines)]
