"""Writing a Hub dataset repository folder (Parquet shards + dataset card) atomically.

Layout (what ``datasets.load_dataset(folder)`` and ``load_dataset("ORG/name")`` read)::

    <name>/README.md                                   dataset card; its YAML declares configs + features
    <name>/data/<config>/<split>-<k>-of-<n>.parquet

Every Parquet file of the package (these folders and the shards of feature extraction) is written by
:func:`write_parquet`. Uploading a written folder is :func:`emomv_hf.hub.push_to_hub` with ``repo_type="dataset"``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from huggingface_hub import DatasetCard

from emomv_hf.io_utils import atomic_open, refuse_working_folder, replacing_dir

from .schema import PAIRS_CONFIG

DATA_DIR = "data"
_OUTPUT = re.compile(rf"^(README\.md|{DATA_DIR}/[^/]+/[^/]+-\d{{5}}-of-\d{{5}}\.parquet)$")


class UnexpectedFilesError(FileExistsError):
    """The output folder holds files a build did not write; replacing it would delete them."""


def shard_path(config: str, split: str, index: int = 0, count: int = 1) -> str:
    """Relative path of shard ``index`` of the ``count`` Parquet shards of ``config``/``split``."""
    return f"{DATA_DIR}/{config}/{split}-{index:05d}-of-{count:05d}.parquet"


def write_parquet(
    path: str | os.PathLike, table: pa.Table, metadata: Mapping[str, str] | None = None
) -> None:
    """Write ``table`` (a table of :mod:`.schema`) to the Parquet file ``path`` atomically; ``metadata`` adds
    keys to its schema metadata (next to the ``huggingface`` features that ``datasets`` reads back)."""
    if metadata:
        table = table.replace_schema_metadata(
            {
                **(table.schema.metadata or {}),
                **{key.encode(): value.encode() for key, value in metadata.items()},
            }
        )
    with atomic_open(path, binary=True) as handle:
        if table.num_rows:
            pq.write_table(table, handle)
        else:  # no row group at all: datasets cannot read a row group of 0 rows
            pq.ParquetWriter(handle, table.schema).close()


def write_hub_folder(
    target: str | os.PathLike,
    tables: Mapping[str, Mapping[str, pa.Table]],
    card: DatasetCard,
    *,
    overwrite: bool = False,
    inputs: Sequence[str | os.PathLike] = (),
) -> Path:
    """Write ``tables`` (config -> split -> table) and ``card`` to ``target``, replacing it atomically
    (:func:`emomv_hf.io_utils.replacing_dir`: an error or a killed build leaves ``target`` as it was, and the next
    build of ``target`` removes a killed one's staging folder).

    Raises:
        UnexpectedFilesError: ``target`` holds files other than a previous build's (they would be deleted),
            unless ``overwrite``.
        FileExistsError: ``target`` exists and is not a folder, or is or holds one of the ``inputs`` it is made
            from (a folder of extracted segments looks like a previous build) or the working folder, even with
            ``overwrite``.
    """
    target = Path(target)
    if target.exists() and not target.is_dir():
        raise FileExistsError(f"{target}: exists and is not a folder")
    for source in inputs:
        if Path(source).exists() and Path(source).resolve().is_relative_to(target.resolve()):
            raise FileExistsError(
                f"{target}: is the input {source} (or holds it), which writing there would delete; "
                "choose another output folder"
            )
    refuse_working_folder(target)  # before the files it holds: --overwrite would not help
    if target.is_dir() and not overwrite:
        # Anything but README.md and the Parquet shards under data/ is no build's output, and a README.md without
        # pairs is no build's either (a build always writes both; extract_features.py writes segments alone).
        files = [path for path in sorted(target.rglob("*")) if not path.is_dir() or path.is_symlink()]
        names = [path.relative_to(target).as_posix() for path in files]
        built = any(_OUTPUT.match(name) and name.startswith(f"{DATA_DIR}/{PAIRS_CONFIG}/") for name in names)
        extra = [name for name in names if not (built and _OUTPUT.match(name))]
        if extra:
            shown = ", ".join(extra[:10]) + (f" and {len(extra) - 10} more" if len(extra) > 10 else "")
            raise UnexpectedFilesError(
                f"{target}: holds {len(extra)} file(s) a build does not write ({shown}); rebuilding would "
                "delete them. Move them away, or pass --overwrite (overwrite=True) to replace the folder."
            )
    with replacing_dir(target) as staging:
        for config, splits in tables.items():
            for split, table in splits.items():
                write_parquet(staging / shard_path(config, split), table)
        card.save(staging / "README.md")
    return target
