"""``generate``: spec -> files under ``generated/``; ``check_generated``: are they fresh?

:func:`render` is pure (spec in, relative path -> text out). :func:`generate` refuses any
spec with check errors (the loader's diagnostics, the linter's rules, and the names or
contracts the generated module could not honour) and then writes only what changed.
"""

from __future__ import annotations

import keyword
import os
import posixpath
from collections.abc import Iterator
from pathlib import Path

import attrs
from attrs import frozen

from exo_spec.check.config import ConfigError, find_config, selection, unsuppressed
from exo_spec.check.lint import cap_repeats, finish, lint_spec
from exo_spec.codegen.limits import size_problems
from exo_spec.codegen.machine_gen import machine_module_name, render_machine
from exo_spec.codegen.reserved import name_problems
from exo_spec.codegen.source import (
    TOOL,
    CodegenError,
    check_compiles,
    check_file_compiles,
    header_lines,
    header_origin,
)
from exo_spec.codegen.writing import write_all
from exo_spec.model.plan import plan_problems
from exo_spec.spec.diagnostics import Diagnostic, Loc
from exo_spec.spec.loader import load_spec
from exo_spec.spec.types import Spec

__all__ = [
    "GenerateResult",
    "Layout",
    "broken_files",
    "check_generated",
    "generate",
    "load_for_generation",
    "module_problem",
    "quick_check_generated",
    "regenerate_command",
    "render",
    "spec_problems",
]


@frozen
class Layout:
    """Where the files generated from one spec go.

    The docs and the tests go under ``out``; the machine module, importable as ``module``
    (default ``<machine>_machine``, from the spec's ``machine:``), goes under ``module_root``
    (default ``out``), at the path its dotted name gives. Nothing is shared between specs:
    several specs can be generated into one folder, each fresh on its own.
    """

    out: Path
    module: str | None = None
    module_root: Path | None = None

    def module_name(self, spec: Spec) -> str:
        return self.module or machine_module_name(spec)

    def root_from_out(self) -> str:
        """The module root relative to ``out`` (``/``-separated; ``.`` when it is ``out``)."""
        if self.module_root is None:
            return "."
        return Path(os.path.relpath(self.module_root.resolve(), self.out.resolve())).as_posix()


def module_problem(name: str) -> str | None:
    """Why ``name`` cannot be the generated machine's module name (None when it can)."""
    parts = name.split(".")
    for part in parts:
        if not (part.isidentifier() and part.isascii()) or keyword.iskeyword(part):
            return (
                f"--module {name!r} is not a dotted Python module name "
                f"({part!r} is not an identifier); use letters, digits and _, like upload_machine"
            )
    return None


@frozen
class GenerateResult:
    """What ``generate`` did: the files it wrote (changed ones only) and why it refused."""

    written: tuple[Path, ...]
    unchanged: tuple[Path, ...]
    diagnostics: tuple[Diagnostic, ...]

    @property
    def ok(self) -> bool:
        return not any(d.severity == "error" for d in self.diagnostics)


def spec_problems(spec: Spec) -> list[Diagnostic]:
    """Every error that stops generation, sorted like the linter sorts them."""
    select, ignore, text = _selection(spec)
    linted = unsuppressed(lint_spec(spec), spec.path, text)
    found = [d for d in finish(linted, select, ignore) if d.severity == "error"]
    found += list(name_problems(spec))
    found += list(size_problems(spec))
    if not found:  # the plans assume references resolve; only look once the rules pass
        found += list(plan_problems(spec))
    return cap_repeats(sorted(set(found), key=Diagnostic.sort_key))


def _selection(spec: Spec) -> tuple[list[str] | None, list[str], str]:
    """What ``[tool.exo-spec]`` selects for the spec's file, and the file's text for its
    ``# noqa`` comments (nothing for a spec that is not a file, or whose configuration cannot
    be read: ``check`` reports that)."""
    path = Path(spec.path)
    if not path.is_file():
        return None, [], ""
    try:
        select, ignore = selection(find_config(path), path)
        return select, ignore, path.read_text(encoding="utf-8")
    except (ConfigError, OSError, UnicodeDecodeError):
        return None, [], ""


def render(spec: Spec, *, module: str | None = None, module_root: str = ".") -> dict[str, str]:
    """Every generated file for ``spec``: path relative to the output folder (``/``-separated;
    the machine module's starts with ``..`` when its root lies outside) -> text. Pure.

    ``module`` is the machine's dotted module name (default ``<machine>_machine``) and
    ``module_root`` the folder it is imported from, relative to the output folder. Every Python
    file is compiled before it is returned: :class:`CodegenError` rather than a module that
    does not compile (or that holds code the spec smuggled in)."""
    # imported here: `exo-spec check` needs only quick_check_generated, which renders the machine
    from exo_spec.codegen.docs_gen import render_docs  # noqa: PLC0415
    from exo_spec.codegen.tests_gen import render_tests  # noqa: PLC0415

    name = module or machine_module_name(spec)
    problem = module_problem(name)
    if problem is not None:
        raise CodegenError(problem)
    files = {
        _module_key(name, module_root): render_machine(spec),
        f"{spec.machine}.md": render_docs(spec),
    }
    importable = None if module_root.startswith("..") else posixpath.join("..", module_root)
    for test_name, text in sorted(render_tests(spec, name, importable).items()):
        files[f"tests/{test_name}"] = text
    for key, text in files.items():
        if key.endswith(".py"):
            check_compiles(key, text)
    return files


def _module_key(module: str, module_root: str) -> str:
    return posixpath.normpath(posixpath.join(module_root, *module.split("."))) + ".py"


def _render_layout(spec: Spec, layout: Layout) -> dict[str, str]:
    return render(spec, module=layout.module, module_root=layout.root_from_out())


def _as_generated(spec: Spec, spec_path: Path, out_dir: Path) -> Spec:
    """The spec as generated files name it: its path relative to the project root (the folder
    holding the output directory), so the output does not depend on how the path was typed."""
    root = out_dir.resolve().parent
    try:
        shown = spec_path.resolve().relative_to(root).as_posix()
    except ValueError:
        shown = Path(os.path.relpath(spec_path.resolve(), root)).as_posix()
    return attrs.evolve(spec, path=shown)


def load_for_generation(spec_path: Path, out_dir: Path) -> tuple[Spec | None, list[Diagnostic]]:
    """The spec ready to render into ``out_dir`` (None, with the reasons, when it cannot be)."""
    loaded = load_spec(spec_path)
    if loaded.spec is None or loaded.diagnostics:
        return None, cap_repeats(loaded.diagnostics)
    problems = spec_problems(loaded.spec)
    return (None if problems else _as_generated(loaded.spec, spec_path, out_dir)), problems


def generate(
    spec_path: Path, out_dir: Path, *, module: str | None = None, module_root: Path | None = None
) -> GenerateResult:
    """Render ``spec_path`` into ``out_dir`` (the machine module under ``module_root``, default
    ``out_dir``); nothing is written when the spec has errors."""
    layout = Layout(out_dir, module, module_root)
    spec, problems = load_for_generation(spec_path, out_dir)
    if spec is None:
        return GenerateResult((), (), tuple(problems))
    try:
        files = _render_layout(spec, layout)
    except CodegenError as exc:
        return GenerateResult((), (), (_unsafe(spec_path, exc),))
    clash = _clash(spec_path, spec, out_dir, files)
    if clash is not None:
        return GenerateResult((), (), (clash,))
    base = _common_base(out_dir, files)
    encoded = {_rebase(out_dir, key, base): text.encode("utf-8") for key, text in files.items()}
    written, unchanged = write_all(base, encoded)
    return GenerateResult(tuple(written), tuple(unchanged), tuple(problems))


def _owner(path: Path) -> str | None:
    """The spec a generated file names in its header (None: no such file, or not generated)."""
    try:
        with path.open(encoding="utf-8") as handle:
            head = [handle.readline() for _ in range(6)]
    except (OSError, UnicodeDecodeError):
        return None
    return next((o for o in map(header_origin, head) if o is not None), None)


def _clash(spec_path: Path, spec: Spec, out_dir: Path, files: dict[str, str]) -> Diagnostic | None:
    """One diagnostic when files this spec would write were generated from another spec (two
    specs whose files have the same names); None when every file is free, ours or not
    generated."""
    mine = header_origin(header_lines(spec)[0])
    taken = [
        (key, owner)
        for key in files
        if (owner := _owner(out_dir / key)) is not None and owner != mine
    ]
    if not taken:
        return None
    key, owner = taken[0]
    shown = Path(os.path.normpath(out_dir / key)).as_posix()
    more = f" (and {len(taken) - 1} more of its files)" if len(taken) > 1 else ""
    return Diagnostic(
        "EXS302",
        f"{shown}{more} was generated from {owner}, and {spec.path} would "
        f"overwrite it (both name their machine {spec.machine!r}); nothing was written; "
        "give this spec another machine: name (or --module for the module alone), "
        "or another --out",
        Loc(str(spec_path), 1, 1),
    )


def _common_base(out_dir: Path, files: dict[str, str]) -> Path:
    """The folder holding every destination: ``out_dir``, or above it when the module's root
    lies outside (the files are written together, all or nothing, from there)."""
    folders = [os.path.normpath(out_dir / posixpath.dirname(key)) for key in files]
    return Path(os.path.commonpath([os.path.normpath(out_dir), *folders]) or ".")


def _rebase(out_dir: Path, key: str, base: Path) -> str:
    return Path(os.path.relpath(os.path.normpath(out_dir / key), base)).as_posix()


def _unsafe(spec_path: Path, exc: CodegenError) -> Diagnostic:
    message = f"cannot write the generated code safely: {exc}; nothing was written"
    return Diagnostic("EXS302", message, Loc(str(spec_path), 1, 1))


def stale_files(
    spec: Spec, out_dir: Path, *, module: str | None = None, module_root: Path | None = None
) -> Iterator[tuple[str, str, str | None]]:
    """``(path relative to out_dir, expected text, actual text or None)`` for each stale or
    missing file."""
    for name, text in _render_layout(spec, Layout(out_dir, module, module_root)).items():
        path = out_dir / name
        try:
            actual: str | None = path.read_bytes().decode("utf-8")
        except (OSError, UnicodeDecodeError):
            actual = None
        if actual != text:
            yield name, text, actual


def broken_files(out_dir: Path) -> Iterator[tuple[str, str]]:
    """``(relative path, why)`` for each generated Python file in ``out_dir`` that does not
    compile: any file whose first line says exo-spec generated it, whatever spec it names."""
    for path in sorted(out_dir.rglob("*.py")):
        name = path.relative_to(out_dir).as_posix()
        if "__pycache__" in name or name.startswith(".exo-spec-generate-"):
            continue
        try:
            data = path.read_bytes()
            data.decode("utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        if not data.startswith(f"# Generated by {TOOL} ".encode()):
            continue
        try:
            check_file_compiles(path, name, data)
        except CodegenError as exc:
            yield name, str(exc).removeprefix(f"{name} ")


def regenerate_command(spec_path: Path, layout: Layout) -> str:
    """The command that writes ``layout``'s files for ``spec_path``."""
    command = f"exo-spec generate --spec {spec_path.as_posix()} --out {layout.out.as_posix()}"
    if layout.module is not None:
        command += f" --module {layout.module}"
    if layout.module_root is not None:
        command += f" --module-root {layout.module_root.as_posix()}"
    return command


def _stale(spec_path: Path, layout: Layout, name: str, why: str) -> Diagnostic:
    shown = Path(os.path.normpath(layout.out / name)).as_posix()
    return Diagnostic(
        "EXS301",
        f"generated file {shown} {why}; regenerate it with {regenerate_command(spec_path, layout)}",
        Loc(str(spec_path), 1, 1),
    )


def quick_check_generated(
    spec_path: Path,
    out_dir: Path,
    *,
    explicit: bool = True,
    module: str | None = None,
    module_root: Path | None = None,
) -> list[Diagnostic]:
    """The linter's freshness check, cheap enough for every ``exo-spec check`` run.

    The machine module (fast to render) is compared byte for byte with what the generator
    writes now; every other file generated from this spec (its header names the spec) must
    carry the spec's current sha256 and this generator's version. ``exo-spec generate
    --check`` re-renders everything and shows the diff. Without ``explicit``, a directory that
    holds no machine for this spec is some other spec's output, and there is nothing to check.
    """
    layout = Layout(out_dir, module, module_root)
    loaded = load_spec(spec_path)
    if loaded.spec is None or loaded.diagnostics:
        return []  # the linter reports the spec's own problems
    spec = _as_generated(loaded.spec, spec_path, out_dir)
    name = layout.module_name(spec)
    problem = module_problem(name)
    if problem is not None:
        return [_unsafe(spec_path, CodegenError(problem))]
    machine = _module_key(name, layout.root_from_out())
    if not (out_dir / machine).is_file() and not explicit:
        return []
    out: list[Diagnostic] = []
    exact = {machine: render_machine(spec)}
    for name, text in exact.items():
        try:
            actual: str | None = (out_dir / name).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            actual = None
        if actual != text:
            out.append(
                _stale(spec_path, layout, name, "is missing" if actual is None else "is stale")
            )
    first, sha_line = header_lines(spec)[:2]
    origin = header_origin(first)
    docs = f"{spec.machine}.md"
    if not (out_dir / docs).is_file():
        out.append(_stale(spec_path, layout, docs, "is missing"))
    for path in sorted(p for p in out_dir.rglob("*") if p.suffix in (".py", ".md")):
        name = path.relative_to(out_dir).as_posix()
        if name in exact or "__pycache__" in name:
            continue
        try:
            head = path.read_text(encoding="utf-8").splitlines()[:6]
        except (OSError, UnicodeDecodeError):
            continue
        ours = [line for line in head if header_origin(line) == origin]
        if ours and (
            ours[0].strip("# ") != first.strip("# ")
            or not any(sha_line.strip("# ") == h.strip("# ") for h in head)
        ):
            out.append(
                _stale(
                    spec_path,
                    layout,
                    name,
                    "was generated from another version of the spec or of exo-spec",
                )
            )
    out += [_stale(spec_path, layout, name, why) for name, why in broken_files(out_dir)]
    return out


def check_generated(
    spec_path: Path, out_dir: Path, *, module: str | None = None, module_root: Path | None = None
) -> list[Diagnostic]:
    """An EXS301 diagnostic per generated file that is stale or missing (none when fresh).

    A spec that cannot be generated reports its own errors instead.
    """
    layout = Layout(out_dir, module, module_root)
    spec, problems = load_for_generation(spec_path, out_dir)
    if spec is None:
        return problems
    try:
        stale = [
            _stale(spec_path, layout, name, "is missing" if actual is None else "is stale")
            for name, _, actual in stale_files(
                spec, out_dir, module=module, module_root=module_root
            )
        ]
    except CodegenError as exc:
        return [_unsafe(spec_path, exc)]
    return stale + [_stale(spec_path, layout, n, why) for n, why in broken_files(out_dir)]
