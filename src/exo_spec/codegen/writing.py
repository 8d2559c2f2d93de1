"""Write a set of generated files all together, or leave the output as it was.

Every changed file is first written in full to a staging folder inside the output directory
(same file system, so moves are renames). Only when all of them are staged, and every
destination is known to be a file or free, are they moved into place, each with one atomic
``os.replace``; the files they replace are kept aside until the end. If anything fails on the
way (a full disk while staging, a destination that is a folder, a permission), the files
already moved are put back, new folders are removed, and the error is raised: the output is
left exactly as it was.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path

__all__ = ["write_all"]


def write_all(out_dir: Path, files: Mapping[str, bytes]) -> tuple[list[Path], list[Path]]:
    """Write ``files`` (relative ``/``-separated path -> bytes) under ``out_dir``.

    Returns the paths written and the paths already up to date; raises :class:`OSError` with
    nothing changed when any file cannot be written.
    """
    changed = {name: data for name, data in files.items() if not _same(out_dir / name, data)}
    unchanged = [out_dir / name for name in files if name not in changed]
    if not changed:
        return [], unchanged
    created = _make_dirs(out_dir, [])
    try:
        staging = Path(tempfile.mkdtemp(prefix=".exo-spec-generate-", dir=out_dir))
    except OSError:
        _remove_dirs(created)
        raise
    try:
        for name, data in changed.items():
            _check_destination(out_dir, name)
            staged = staging / "new" / name
            staged.parent.mkdir(parents=True, exist_ok=True)
            staged.write_bytes(data)
        _commit(out_dir, staging, list(changed), created)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        _remove_dirs(created)
        raise
    shutil.rmtree(staging, ignore_errors=True)
    return [out_dir / name for name in changed], unchanged


def _commit(out_dir: Path, staging: Path, names: list[str], created: list[Path]) -> None:
    """Move every staged file into place; on any failure put back what was there."""
    done: list[tuple[Path, Path | None]] = []
    try:
        for name in names:
            dest = out_dir / name
            _make_dirs(dest.parent, created)
            backup: Path | None = None
            if dest.is_file():
                backup = staging / "old" / name
                backup.parent.mkdir(parents=True, exist_ok=True)
                os.replace(dest, backup)
            done.append((dest, backup))
            os.replace(staging / "new" / name, dest)
    except BaseException:
        for dest, backup in reversed(done):
            if backup is not None:
                os.replace(backup, dest)
            else:
                dest.unlink(missing_ok=True)
        raise


def _same(path: Path, data: bytes) -> bool:
    try:
        return path.is_file() and path.read_bytes() == data
    except OSError:
        return False


def _check_destination(out_dir: Path, name: str) -> None:
    """Refuse, before anything moves, a destination that is a folder or sits under a file."""
    dest = out_dir / name
    if dest.exists() and not dest.is_file():
        raise IsADirectoryError(21, "it is a folder, not a file", str(dest))
    for parent in dest.relative_to(out_dir).parents:
        folder = out_dir / parent
        if folder.exists() and not folder.is_dir():
            raise NotADirectoryError(20, "it is a file, not a folder", str(folder))


def _make_dirs(folder: Path, created: list[Path]) -> list[Path]:
    """Create ``folder`` and its missing parents, recording each one created (outermost first)."""
    missing: list[Path] = []
    probe = folder
    while not probe.exists():
        missing.append(probe)
        if probe.parent == probe:
            break
        probe = probe.parent
    for path in reversed(missing):
        path.mkdir()
        created.append(path)
    return created


def _remove_dirs(created: list[Path]) -> None:
    """Remove the folders this write created, innermost first, when they are empty again."""
    for path in reversed(created):
        try:
            path.rmdir()
        except OSError:
            continue
