"""Writing a Hub dataset repository folder (Parquet shards + dataset card) atomically, and uploading it.

Layout (what ``datasets.load_dataset(folder)`` and ``load_dataset("ORG/name")`` read)::

    <name>/README.md                                   dataset card; its YAML declares configs + features
    <name>/data/<config>/<split>-00000-of-00001.parquet
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from huggingface_hub import DatasetCard, HfApi

from emomv_hf.io_utils import replace_dir

DATA_DIR = "data"


def shard_path(config: str, split: str) -> str:
    """Relative path of the (single) Parquet shard of ``config``/``split``."""
    return f"{DATA_DIR}/{config}/{split}-00000-of-00001.parquet"


def data_files_pattern(config: str, split: str) -> str:
    """The ``data_files`` glob declared for ``config``/``split`` in the card's YAML."""
    return f"{DATA_DIR}/{config}/{split}-*"


def write_hub_folder(
    target: str | os.PathLike, tables: Mapping[str, Mapping[str, pa.Table]], card: DatasetCard
) -> Path:
    """Write ``tables`` (config -> split -> table) and ``card`` to ``target``, replacing it atomically.

    Everything is written into a temporary sibling folder first and renamed at the end, so an error (or an
    interrupted build) never leaves a half-written ``target``; an existing ``target`` is only replaced by a
    complete new one.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    try:
        # mkdtemp makes a private (0700) folder; the published folder gets the usual permissions.
        umask = os.umask(0)
        os.umask(umask)
        staging.chmod(0o777 & ~umask)
        for config, splits in tables.items():
            for split, table in splits.items():
                path = staging / shard_path(config, split)
                path.parent.mkdir(parents=True, exist_ok=True)
                pq.write_table(table, path)
        card.save(staging / "README.md")
        replace_dir(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target


def push_to_hub(
    folder: str | os.PathLike,
    repo_id: str,
    *,
    token: str | None = None,
    private: bool = False,
    commit_message: str | None = None,
    api: HfApi | None = None,
) -> str:
    """Upload a folder written by :func:`write_hub_folder` as the dataset repository ``repo_id``.

    Returns the URL of the created commit.
    """
    folder = Path(folder)
    if not (folder / "README.md").is_file():
        raise FileNotFoundError(f"{folder} is not a Hub dataset folder (no README.md)")
    api = api if api is not None else HfApi(token=token)
    api.create_repo(repo_id, repo_type="dataset", private=private, exist_ok=True)
    info = api.upload_folder(
        folder_path=str(folder),
        repo_id=repo_id,
        repo_type="dataset",
        commit_message=commit_message or f"Upload {folder.name} built by emomv-hf",
    )
    return str(getattr(info, "commit_url", info))
