"""Atomic file writes: a reader (or a killed run) never sees a half-written output."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any


@contextmanager
def atomic_open(path: str | os.PathLike, *, binary: bool = False, **open_kwargs: Any) -> Iterator[IO]:
    """Open a temporary sibling of ``path`` for writing; on success it replaces ``path`` in one ``os.replace``.

    On any error the temporary file is removed and ``path`` keeps its previous content.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    # A unique name opened exclusively ("x"): same folder, so os.replace stays atomic, and the usual umask
    # permissions (mkstemp would make every output readable by its owner only).
    temporary = target.parent / f".{target.name}.{os.getpid()}.{uuid.uuid4().hex}.tmp"
    if not binary:
        open_kwargs.setdefault("encoding", "utf-8")
    try:
        with open(temporary, "xb" if binary else "x", **open_kwargs) as file:
            yield file
        os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` to ``path`` atomically (see :func:`atomic_open`)."""
    with atomic_open(path) as file:
        file.write(text)
    return Path(path)


def atomic_write_json(path: str | os.PathLike, payload: Any) -> Path:
    return atomic_write_text(path, json.dumps(payload, indent=2, sort_keys=True, allow_nan=True) + "\n")


def atomic_write_dir(target: str | os.PathLike, fill: Callable[[Path], None]) -> Path:
    """Let ``fill`` write a folder's contents into a temporary sibling, then move each entry into ``target``.

    Existing files of ``target`` that ``fill`` did not write are kept; each written file replaces its old
    version in one ``os.replace``.
    """
    target = Path(target)
    target.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    try:
        fill(staging)
        for entry in sorted(staging.iterdir()):
            destination = target / entry.name
            if entry.is_dir() and destination.exists():
                shutil.rmtree(destination)
            os.replace(entry, destination)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def replace_dir(source: str | os.PathLike, target: str | os.PathLike) -> Path:
    """Move a completely written folder ``source`` to ``target``, replacing any previous one.

    Folders cannot be swapped in one step: the old one is moved aside, the new one put in place (the old one is
    put back if that fails), then the old one is deleted.
    """
    source, target = Path(source), Path(target)
    if not target.exists():
        os.replace(source, target)
        return target
    backup = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
    backup.rmdir()
    os.replace(target, backup)
    try:
        os.replace(source, target)
    except BaseException:
        os.replace(backup, target)
        raise
    shutil.rmtree(backup, ignore_errors=True)
    return target
