"""Atomic file writes: a reader (or a killed run) never sees a half-written output."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` to ``path`` through a temporary file in the same folder and ``os.replace``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


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


def replace_dir(staging: str | os.PathLike, target: str | os.PathLike) -> Path:
    """Move a completely written folder to ``target``, replacing any previous one."""
    staging, target = Path(staging), Path(target)
    if target.exists():
        trash = target.with_name(f".{target.name}.old")
        shutil.rmtree(trash, ignore_errors=True)
        os.replace(target, trash)
        os.replace(staging, target)
        shutil.rmtree(trash, ignore_errors=True)
    else:
        os.replace(staging, target)
    return target
