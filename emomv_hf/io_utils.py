"""Atomic file writes: a reader (or a killed run) never sees a half-written output.

Every file and folder these writers produce gets the usual permissions of the process umask (``0644`` /
``0755`` under umask ``022``), whatever the library that wrote it into a staging folder chose: safetensors,
for one, writes its files ``0600``. Staging folders are named ``.<target>.tmp-<pid>-<random>``, so that a
later writer of the same target removes those a killed process left behind (:func:`make_staging_dir`).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import re
import shutil
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
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


def apply_umask(path: str | os.PathLike) -> None:
    """Give ``path`` (and, for a folder, everything below it) the permissions a plain ``open``/``mkdir`` would:
    ``0666 & ~umask`` for files, ``0777 & ~umask`` for folders."""
    umask = os.umask(0)  # the only way to read it: set it back at once
    os.umask(umask)
    root = Path(path)
    entries = [root, *root.rglob("*")] if root.is_dir() else [root]
    for entry in entries:
        if entry.is_symlink():
            continue
        entry.chmod((0o777 if entry.is_dir() else 0o666) & ~umask)


_STAGING = re.compile(r"^\.(?P<name>.+)\.(?P<kind>tmp|old)-(?P<pid>\d+)-[0-9a-f]{32}$")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # a process of another user
        return True
    return True


def make_staging_dir(target: str | os.PathLike, kind: str = "tmp") -> Path:
    """Create an empty sibling folder ``.<target name>.<kind>-<pid>-<random>``, after removing the staging folders
    of ``target`` whose owning process is gone: a ``tmp`` folder (a half-written output) always, an ``old`` folder
    (the previous ``target`` moved aside by :func:`replacing_dir`) only when ``target`` exists, since otherwise it
    is the last copy."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    for entry in target.parent.iterdir():
        match = _STAGING.match(entry.name)
        if not match or match["name"] != target.name or _pid_alive(int(match["pid"])):
            continue
        if match["kind"] == "tmp" or target.exists():
            shutil.rmtree(entry, ignore_errors=True)
    staging = target.parent / f".{target.name}.{kind}-{os.getpid()}-{uuid.uuid4().hex}"
    staging.mkdir()
    return staging


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
    version in one ``os.replace``. Everything moved in gets the umask permissions (see :func:`apply_umask`).
    """
    target = Path(target)
    target.mkdir(parents=True, exist_ok=True)
    staging = make_staging_dir(target)
    try:
        fill(staging)
        apply_umask(staging)
        for entry in sorted(staging.iterdir()):
            destination = target / entry.name
            if entry.is_dir() and destination.exists():
                shutil.rmtree(destination)
            os.replace(entry, destination)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def refuse_working_folder(target: Path) -> None:
    """Raise `FileExistsError` when ``target`` is or holds the working folder: replacing the folder a user stands
    in would leave their shell in a deleted one."""
    if Path.cwd().resolve().is_relative_to(target.resolve()):
        raise FileExistsError(
            f"{target}: is the folder this runs in (or holds it); choose another output folder"
        )


@contextmanager
def replacing_dir(target: str | os.PathLike) -> Iterator[Path]:
    """Yield an empty staging folder to write a whole new ``target`` into; when the block succeeds, the folder (with
    umask permissions, :func:`apply_umask`) replaces ``target``, else it is deleted and ``target`` stays as it was.

    Folders cannot be swapped in one step: the old one is moved aside, the new one put in place (the old one is
    put back if that fails), then the old one is deleted. A link to a folder: the folder is replaced, the link kept.
    A ``target`` that is or holds the working folder is refused (:func:`refuse_working_folder`).
    """
    target = Path(target).resolve() if Path(target).is_symlink() else Path(target)
    refuse_working_folder(target)
    staging = make_staging_dir(target)
    try:
        yield staging
        apply_umask(staging)
        if not target.exists():
            os.replace(staging, target)
            return
        backup = make_staging_dir(target, "old")
        backup.rmdir()
        os.replace(target, backup)
        try:
            os.replace(staging, target)
        except BaseException:
            os.replace(backup, target)
            raise
        shutil.rmtree(backup, ignore_errors=True)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _progress_bar_switch(library: str) -> tuple[bool, Callable[[], None], Callable[[], None]]:
    """(shown now, hide, show) of one library's progress bars."""
    import importlib

    if library == "huggingface_hub":
        import huggingface_hub.utils as hub

        return not hub.are_progress_bars_disabled(), hub.disable_progress_bars, hub.enable_progress_bars
    utils = importlib.import_module(
        {"datasets": "datasets.utils", "transformers": "transformers.utils.logging"}[library]
    )
    return utils.is_progress_bar_enabled(), utils.disable_progress_bar, utils.enable_progress_bar


@contextmanager
def progress_bars_off(*libraries: str) -> Iterator[None]:
    """Hide the progress bars of ``libraries`` (``"datasets"``, ``"transformers"``, ``"huggingface_hub"``) while
    the block runs, and show again those that were shown.

    A library's bar opened under the caller's own labelled bar is drawn one line lower with cursor-up codes, which
    a log shows as raw ``[A``; the caller's bar is the progress that matters."""
    switches = [_progress_bar_switch(library) for library in libraries]
    for _, hide, _ in switches:
        hide()
    try:
        yield
    finally:
        for shown, _, show in switches:
            if shown:
                show()


def _read_csv(path: str | os.PathLike, parse: Callable[[io.StringIO], Any]) -> Any:
    """``parse`` of a CSV file's text; a one-line `ValueError` names a file that is no UTF-8 CSV text."""
    path = Path(path)
    try:
        return parse(io.StringIO(path.read_text(encoding="utf-8-sig"), newline=""))
    except IsADirectoryError:
        raise ValueError(f"{path}: is a folder, not a CSV file") from None
    except UnicodeDecodeError as error:
        raise ValueError(
            f"{path}: not a UTF-8 text CSV file (undecodable byte at offset {error.start})"
        ) from None
    except FileNotFoundError:
        raise ValueError(f"{path}: CSV file not found") from None
    except OSError as error:
        raise ValueError(f"{path}: cannot read the CSV file ({error.strerror or error})") from None
    except csv.Error as error:
        raise ValueError(f"{path}: not a readable CSV file ({error})") from None


def read_csv_rows(path: str | os.PathLike) -> list[list[str]]:
    """Every row of a CSV file (no header handling), values stripped.

    Raises:
        ValueError: ``path`` is missing, a folder, or not UTF-8 CSV text.
    """
    return _read_csv(path, lambda text: [[value.strip() for value in row] for row in csv.reader(text)])


def read_csv_records(path: str | os.PathLike) -> tuple[list[str], list[dict[str, str]]]:
    """The header and the rows (as dicts keyed by the header) of a CSV file with a header line.

    Raises:
        ValueError: as :func:`read_csv_rows`.
    """

    def parse(text: io.StringIO) -> tuple[list[str], list[dict[str, str]]]:
        reader = csv.DictReader(text)
        rows = list(reader)
        return list(reader.fieldnames or []), rows

    return _read_csv(path, parse)


def file_sha256(path: str | os.PathLike) -> str:
    """Hex SHA-256 of a file's bytes (read in 1 MiB blocks)."""
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def files_sha256(files: Iterable[tuple[str, Path]]) -> str:
    """Hex SHA-256 over each file's name, size and bytes, in the order given: the content of a set of files."""
    digest = hashlib.sha256()
    for name, path in files:
        digest.update(f"{name}\0{path.stat().st_size}\0".encode())
        with open(path, "rb") as handle:
            while block := handle.read(1 << 20):
                digest.update(block)
    return digest.hexdigest()


def dataset_folder_sha256(folder: str | os.PathLike) -> str | None:
    """``sha256:<hex>`` of a dataset folder's content: :func:`files_sha256` over its Parquet files (relative path,
    size and bytes, sorted by path); None when ``folder`` is not a folder holding Parquet files."""
    folder = Path(folder).expanduser()
    files = sorted(folder.rglob("*.parquet")) if folder.is_dir() else []
    if not files:
        return None
    return "sha256:" + files_sha256((path.relative_to(folder).as_posix(), path) for path in files)


def model_fingerprint(model: Any) -> str:
    """Hex SHA-256 of a model's class, configuration and every tensor of its state dict: what its outputs depend on.

    Fields that name where or how the model was saved (path, library version, dtype) are left out.
    """
    import torch  # already loaded with any model

    digest = hashlib.sha256(type(model).__name__.encode())
    config = model.config.to_dict()
    for volatile in ("transformers_version", "_name_or_path", "architectures", "dtype", "torch_dtype"):
        config.pop(volatile, None)
    digest.update(json.dumps(config, sort_keys=True, default=str).encode())
    for name, tensor in sorted(model.state_dict().items()):
        digest.update(name.encode())
        # As raw bytes: numpy has no bfloat16 (a model saved in bf16 loads as bf16); for other dtypes the same bytes.
        digest.update(tensor.detach().to("cpu").contiguous().reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def markdown_table(header: Sequence[object], rows: Iterable[Sequence[object]]) -> str:
    """A GitHub Markdown table: one header row, a separator, one line per row (cells with ``str``)."""
    lines = ["| " + " | ".join(map(str, header)) + " |", "|" + "---|" * len(header)]
    return "\n".join([*lines, *("| " + " | ".join(map(str, row)) + " |" for row in rows)])


def counted(count: int, noun: str) -> str:
    """``"1 participant"``, ``"2 participants"``: a count with its noun in the right number."""
    return f"{count} {noun if count == 1 else noun + 's'}"


def looks_like_local_path(dataset: str) -> bool:
    """Whether ``dataset`` names a folder rather than a Hub id (``ORG/NAME``): it exists, starts with ``.``,
    ``/`` or ``~``, holds a separator other than the one ``/`` of a Hub id, or its parent folder exists."""
    if Path(dataset).expanduser().exists():
        return True
    if dataset.startswith((".", "/", "~")) or (os.sep != "/" and os.sep in dataset):
        return True
    if dataset.count("/") != 1:
        return "/" in dataset
    return Path(dataset).parent.is_dir()
