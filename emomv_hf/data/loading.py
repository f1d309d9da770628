"""Loading a built EmoMV dataset, from the Hub or from a local folder, and choosing its reported split; the one
reader of a ``segments`` config (:func:`load_segments`)."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import datasets
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc  # datasets imports it already

from emomv_hf.io_utils import looks_like_local_path

from .schema import EXTRACTED_SEGMENT_FEATURES, PAIR_FEATURES

_BUILD_HINT = (
    "build a local folder with `python dataset_scripts/build_emomv.py --release-dir DIR --output-dir datasets` "
    "and pass `datasets/emomv-c`"
)


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
        if path.is_file() and relative.parts[0] != ".cache":
            stat = path.stat()
            digest.update(f"{relative.as_posix()}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return Path(datasets.config.HF_DATASETS_CACHE) / "emomv_hf-local" / digest.hexdigest()[:20]


def _column_mismatch(column: pa.ChunkedArray, feature: Any) -> str | None:
    """Why ``column`` cannot be cast to the card's ``feature`` (None if it can): the row widths of a feature
    vector (``127 values per row``, ``127 to 128 values per row``), else the cast's error on one line."""
    from datasets.table import cast_array_to_feature

    try:
        cast_array_to_feature(column.combine_chunks(), feature)
    except (TypeError, ValueError, pa.ArrowException) as error:
        width = getattr(feature, "length", -1)
        if width > 0 and (pa.types.is_list(column.type) or pa.types.is_fixed_size_list(column.type)):
            widths = sorted(set(pc.list_value_length(column).drop_null().to_pylist()))
            if widths and widths != [width]:
                found = f"{widths[0]}" + (f" to {widths[-1]}" if len(widths) > 1 else "")
                return f"{found} values per row, not {width}"
        return " ".join(str(error).split())
    return None


def unreadable_file_message(dataset: str, *args: Any, **kwargs: Any) -> str | None:
    """The first data file of a local dataset folder that cannot be read (a truncated Parquet or Arrow file), holds
    no rows, or whose columns do not fit its card's features (the file and field named), or None. ``datasets``
    only says "An error occurred while generating the dataset"."""
    import pyarrow.parquet as pq

    builder = datasets.load_dataset_builder(dataset, *args, **kwargs)
    features = builder.info.features or {}
    for files in (builder.config.data_files or {}).values():
        for path in files:
            arrow = str(path).endswith(".arrow")
            try:
                if arrow:  # datasets' Arrow files are IPC streams
                    with pa.memory_map(str(path)) as source:
                        table = pa.ipc.open_stream(source).read_all()
                else:
                    table = pq.read_table(
                        path, columns=[name for name in features if name in pq.read_schema(path).names]
                    )
            except (OSError, pa.ArrowException) as error:
                kind = "Arrow" if arrow else "Parquet"
                return f"{path}: not a readable {kind} file ({' '.join(str(error).split())})"
            if not table.num_rows:  # datasets cannot generate a split from a file without rows either
                return f"{path} holds no rows"
            for name, feature in features.items():
                if name not in table.column_names:
                    return f"{path}: no column {name!r}, which the dataset card declares"
                mismatch = _column_mismatch(table.column(name), feature)
                if mismatch:
                    return f"{path}: field {name!r}: {mismatch}"
    return None


def load_hub_dataset(dataset: str | os.PathLike, *args: Any, **kwargs: Any):
    """``datasets.load_dataset(dataset, *args, **kwargs)``; a local folder gets its own
    :func:`local_cache_dir` (unless ``cache_dir`` is given).

    Raises:
        ValueError: a data file of the local folder does not fit its card's features (file and field named).
    """
    if not Path(dataset).expanduser().is_dir():
        return datasets.load_dataset(str(dataset), *args, **kwargs)
    dataset = os.path.expanduser(dataset)  # datasets would take '~/x' for a Hub id
    kwargs.setdefault("cache_dir", str(local_cache_dir(dataset)))
    try:
        return datasets.load_dataset(dataset, *args, **kwargs)
    except datasets.exceptions.DatasetGenerationError as error:
        message = unreadable_file_message(dataset, *args, **kwargs)
        if message is None:
            raise
        raise ValueError(message) from error


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
        loaded = load_hub_dataset(dataset, config)
    except (ConnectionError, FileNotFoundError) as error:
        raise type(error)(
            f"cannot load EmoMV dataset {dataset!r} (config {config!r}): {error}. Pass a Hub id while online, or "
            f"{_BUILD_HINT}."
        ) from error
    # The package reads labels as class indices: a card naming the classes in another order (its own, or
    # alphabetical) would show every label under another name, and one declaring them as strings or floats would
    # not give class indices at all (plain integers are read as indices).
    schema = {**PAIR_FEATURES, **EXTRACTED_SEGMENT_FEATURES}
    for split_name, split in list(loaded.items()):
        for name in ("video_features", "music_features"):
            # A card without features (a folder written by `Dataset.from_dict` from lists, say) gives lists of any
            # length and dtype: the package reads the schema's float32 rows of fixed width.
            if name in split.features and split.features[name] != schema[name]:
                mismatch = _column_mismatch(split.data.table.column(name), schema[name])
                if mismatch:
                    raise ValueError(f"{dataset} (config {config!r}): column {name!r}: {mismatch}")
                loaded[split_name] = split = split.cast_column(name, schema[name])
        for name, feature in split.features.items():
            expected = schema.get(name)
            if not isinstance(expected, datasets.ClassLabel):
                continue
            if isinstance(feature, datasets.ClassLabel):
                held = None if feature.names == expected.names else f"names its classes {feature.names}"
            else:
                indices = isinstance(feature, datasets.Value) and feature.dtype.startswith(("int", "uint"))
                held = None if indices else f"holds {feature}"
            if held:
                raise ValueError(
                    f"{dataset} (config {config!r}): column {name!r} {held}, not the classes {expected.names} "
                    "in this order: its labels would be read under other names, or not as classes"
                )
            # datasets does not check a stored index against the classes (a 7 would index past them).
            column = split.data.table.column(name)
            row = pc.index(pc.or_(pc.less(column, -1), pc.greater_equal(column, expected.num_classes)), True)
            if row.as_py() >= 0:
                raise ValueError(
                    f"{dataset} (config {config!r}): {split_name}[{row}] field {name!r}: {column[row.as_py()]} "
                    f"is no class of {expected.names} (-1: no label)"
                )
    return loaded


def unlabelled_rows(rows: datasets.Dataset, column: str) -> np.ndarray:
    """Positions of ``rows`` (a split, or a selection of one such as a cv fold) whose class ``column`` holds no
    label: datasets' -1, or null. Empty when ``rows`` have no such column."""
    if column not in rows.column_names:
        return np.empty(0, dtype=np.int64)
    values = rows.with_format("arrow", columns=[column])[:][column]
    return np.flatnonzero(pc.less(pc.fill_null(values, -1), 0).to_numpy(zero_copy_only=False))


def first_unlabelled(
    pairs: Mapping[str, datasets.Dataset], splits: Iterable[str], columns: Sequence[str]
) -> str | None:
    """``"pairs <split>[<row>] has no <column> (-1)"`` for the first of ``splits`` (in the order given), then of
    ``columns``, holding a row without a label (:func:`unlabelled_rows`); ``None`` when all are labelled."""
    for split in splits:
        for column in columns:
            if len(rows := unlabelled_rows(pairs[split], column)):
                return f"pairs {split}[{rows[0]}] has no {column} (-1)"
    return None


def reporting_split(pairs: datasets.DatasetDict) -> str:
    """The split results are reported on: ``test`` where the dataset has one (EmoMV-A), else ``validation``."""
    return "test" if "test" in pairs else "validation"


@dataclass
class Segments:
    """The rows of a ``segments`` config, its splits concatenated in order, as one Arrow table: the columns of
    :data:`.schema.SEGMENT_FEATURES`, and ``source``, ``start``, ``end``, ``media`` in a folder of extracted
    features (:data:`.schema.EXTRACTED_SEGMENT_FEATURES`, whose ``emotion`` and features may be null)."""

    table: pa.Table
    splits: list[str]
    split_of_row: list[str]

    @classmethod
    def from_splits(cls, tables: Mapping[str, pa.Table]) -> Segments:
        """The rows of the split ``tables`` (split -> table), concatenated in order."""
        split_of_row = [split for split, table in tables.items() for _ in range(table.num_rows)]
        return cls(pa.concat_tables(list(tables.values())), list(tables), split_of_row)

    def __len__(self) -> int:
        return self.table.num_rows

    @property
    def segment_ids(self) -> list[str]:
        return self.table.column("segment_id").to_pylist()

    def check_unique_ids(self, folder: str | os.PathLike) -> None:
        """Refuse a segment id that occurs twice (pairing and tagging key segments by id): ``ValueError`` naming
        ``folder`` and both rows, as ``split[row]``."""
        first_row: dict[str, int] = {}

        def place(row: int) -> str:
            split = self.split_of_row[row]
            return f"{split}[{row - self.split_of_row.index(split)}]"

        for row, segment_id in enumerate(self.segment_ids):
            if segment_id in first_row:
                raise ValueError(
                    f"{folder}: segment id {segment_id!r} occurs twice, as {place(first_row[segment_id])} and "
                    f"{place(row)}"
                )
            first_row[segment_id] = row

    def column(self, name: str) -> list | None:
        """A column's values (``None`` for null), or ``None`` when the config has no such column."""
        return self.table.column(name).to_pylist() if name in self.table.column_names else None

    @property
    def emotions(self) -> list[int | None]:
        """The ``emotion`` class indices, ``None`` for a segment without a label (null, or the -1 that ``datasets``
        stores for "no label"; every segment of a config without the column)."""
        emotions = self.column("emotion") or [None] * len(self)
        return [None if emotion is None or emotion < 0 else emotion for emotion in emotions]

    def features(self, stream: str) -> tuple[np.ndarray, np.ndarray]:
        """``<stream>_features`` as float32 rows `(N, D)`, zeros where null, and which rows have them `(N,)`."""
        column = self.table.column(f"{stream}_features").combine_chunks()
        dim = column.type.list_size
        # The child values hold a row (of any content) for every null too: slice by the column's offset.
        values = column.values.slice(column.offset * dim, len(column) * dim).to_numpy(zero_copy_only=False)
        rows = values.reshape(len(column), dim).astype(np.float32, copy=True)
        present = column.is_valid().to_numpy(zero_copy_only=False)
        rows[~present] = 0.0
        return rows, present


def load_segments(dataset: str | os.PathLike, split: str | None = None) -> Segments:
    """The ``segments`` config of ``dataset`` (a folder or Hub id, :func:`load_emomv`): ``split``, or every split.

    Raises:
        ValueError: ``dataset`` has no split ``split``.
    """
    loaded = load_emomv(str(dataset), "segments")
    if split is not None and split not in loaded:
        raise ValueError(f"{dataset}: no segments split {split!r} (splits: {', '.join(loaded)})")
    return Segments.from_splits(
        {name: loaded[name].data.table for name in ([split] if split is not None else loaded)}
    )
