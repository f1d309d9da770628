"""Loading a built EmoMV dataset, from the Hub or from a local folder, and choosing its reported split."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import datasets

_BUILD_HINT = (
    "build a local folder with `python dataset_scripts/build_emomv.py --release-dir DIR --output-dir datasets` "
    "and pass `datasets/emomv-c`"
)


def looks_like_local_path(dataset: str) -> bool:
    """Whether ``dataset`` names a folder rather than a Hub id (``ORG/NAME``): it exists, starts with ``.``,
    ``/`` or ``~``, holds a separator other than the one ``/`` of a Hub id, or its parent folder exists."""
    if Path(dataset).expanduser().exists():
        return True
    if dataset.startswith((".", "/", "~")) or (os.sep != "/" and os.sep in dataset):
        return True
    if os.altsep and os.altsep != "/" and os.altsep in dataset:
        return True
    if dataset.count("/") != 1:
        return "/" in dataset
    return Path(dataset).parent.is_dir()


def _missing_folder_message(dataset: str) -> str:
    path = Path(dataset).expanduser()
    existing = next((parent for parent in path.absolute().parents if parent.is_dir()), None)
    message = f"EmoMV dataset folder {dataset!r} does not exist ({path.absolute()})"
    if existing is not None:
        folders = sorted(child.name for child in existing.iterdir() if (child / "README.md").is_file())
        if folders:
            message += f"; dataset folders in {existing}: {', '.join(folders)}"
    return f"{message}. Pass an existing folder or a Hub id (ORG/NAME), or {_BUILD_HINT}."


def local_cache_dir(folder: str | os.PathLike) -> Path:
    """A datasets cache folder for the local dataset ``folder`` that changes whenever its files do.

    datasets 5 names the cache of a local folder after the folder's name and its README metadata only (the
    relative data-file patterns, not the files), so two folders called ``my_features`` with the same layout, or
    one folder rebuilt with new contents, would share one cache and silently load each other's rows. This key
    is the folder's absolute path and every file's relative path, size and modification time.
    """
    root = Path(folder).expanduser().resolve()
    digest = hashlib.sha256(str(root).encode())
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if path.is_file() and relative.parts[0] not in ("retrieval-index", ".cache"):
            stat = path.stat()
            digest.update(f"{relative.as_posix()}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return Path(datasets.config.HF_DATASETS_CACHE) / "emomv_hf-local" / digest.hexdigest()[:20]


def load_hub_dataset(dataset: str | os.PathLike, *args: Any, **kwargs: Any):
    """``datasets.load_dataset(dataset, *args, **kwargs)``; a local folder gets its own
    :func:`local_cache_dir` (unless ``cache_dir`` is given)."""
    dataset = str(dataset)
    if Path(dataset).expanduser().is_dir():
        kwargs.setdefault("cache_dir", str(local_cache_dir(dataset)))
    return datasets.load_dataset(dataset, *args, **kwargs)


def load_emomv(dataset: str, config: str = "pairs") -> datasets.DatasetDict:
    """Load an EmoMV Hub dataset (``emomv/emomv-c``) or a local folder built by ``build_emomv.py``.

    Raises:
        FileNotFoundError: ``dataset`` looks like a local path (see :func:`looks_like_local_path`) that does not
            exist, or the dataset cannot be found.
        ConnectionError: the Hub cannot be reached for a Hub id.
    """
    dataset = str(dataset)
    if looks_like_local_path(dataset) and not Path(dataset).expanduser().is_dir():
        raise FileNotFoundError(_missing_folder_message(dataset))
    try:
        return load_hub_dataset(dataset, config)
    except (ConnectionError, FileNotFoundError) as error:
        raise type(error)(
            f"cannot load EmoMV dataset {dataset!r} (config {config!r}): {error}. Pass a Hub id while online, or "
            f"{_BUILD_HINT}."
        ) from error


def reporting_split(pairs: datasets.DatasetDict) -> str:
    """The split results are reported on: ``test`` where the dataset has one (EmoMV-A), else ``validation``."""
    return "test" if "test" in pairs else "validation"
