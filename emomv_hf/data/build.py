"""Building the EmoMV Hub dataset folders: from the authors' release, or from labelled segments.

``build_hub_dataset`` turns the release of one dataset into ``<output_dir>/<dataset>/`` (configs ``pairs``
and ``segments``); ``build_pairs_dataset`` runs the pairing of :mod:`.pairing` on a CSV of labelled
segments and writes the same layout. Both write atomically (see :func:`.hub_folder.write_hub_folder`).
"""

from __future__ import annotations

import csv
import hashlib
import os
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path

import h5py
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from emomv_hf import __version__
from emomv_hf.emotions import EMOTION_TO_INDEX, EMOTIONS

from .dataset_card import make_dataset_card, split_counts
from .hub_folder import write_hub_folder
from .pairing import LabelledSegment, Pair, coerce_segments, make_pairs, split_by_source
from .release import (
    RELEASE_URL,
    MissingReleaseFilesError,
    MissingReleaseFileWarning,
    PairAnnotation,
    ReleaseFormatError,
    get_layout,
    missing_files,
    read_pair_split,
    read_segment_split,
    resolve_release_dir,
)
from .schema import (
    MUSIC_FEATURE_DIM,
    PAIR_FEATURES,
    PAIRS_CONFIG,
    SEGMENT_FEATURES,
    SEGMENTS_CONFIG,
    VIDEO_FEATURE_DIM,
)

# --------------------------------------------------------------------------------------------------------
# Arrow tables in the Hub schema
# --------------------------------------------------------------------------------------------------------


def _fixed_size_list(features: np.ndarray) -> pa.FixedSizeListArray:
    # Straight from the float32 buffer: the stored values are bit-identical to the array.
    values = np.ascontiguousarray(features, dtype=np.float32)
    return pa.FixedSizeListArray.from_arrays(pa.array(values.reshape(-1), type=pa.float32()), values.shape[1])


def pairs_table(
    pairs: Sequence[PairAnnotation | Pair], video_features: np.ndarray, music_features: np.ndarray
) -> pa.Table:
    """A ``pairs`` table: row ``i`` is ``pairs[i]`` with ``video_features[i]`` (2304,) and ``music_features[i]`` (128,)."""
    if not len(pairs) == len(video_features) == len(music_features):
        raise ValueError(
            f"{len(pairs)} pairs, {len(video_features)} video and {len(music_features)} music feature rows"
        )

    def emotion(value: int | str) -> int:
        return value if isinstance(value, int) else EMOTION_TO_INDEX[value]

    columns = [
        pa.array([pair.pair_id for pair in pairs], pa.string()),
        pa.array([pair.video_segment_id for pair in pairs], pa.string()),
        pa.array([pair.music_segment_id for pair in pairs], pa.string()),
        pa.array([int(pair.label) for pair in pairs], pa.int64()),
        pa.array([emotion(pair.video_emotion) for pair in pairs], pa.int64()),
        pa.array([emotion(pair.music_emotion) for pair in pairs], pa.int64()),
        _fixed_size_list(video_features.reshape(len(pairs), VIDEO_FEATURE_DIM)),
        _fixed_size_list(music_features.reshape(len(pairs), MUSIC_FEATURE_DIM)),
    ]
    return pa.Table.from_arrays(columns, schema=PAIR_FEATURES.arrow_schema)


def segments_table(
    segment_ids: Sequence[str],
    emotions: Sequence[int],
    video_features: np.ndarray,
    music_features: np.ndarray,
) -> pa.Table:
    """A ``segments`` table: ids, emotion indices, video ``(N, 2304)`` and music ``(N, 128)`` features."""
    columns = [
        pa.array(list(segment_ids), pa.string()),
        pa.array([int(emotion) for emotion in emotions], pa.int64()),
        _fixed_size_list(video_features.reshape(len(segment_ids), VIDEO_FEATURE_DIM)),
        _fixed_size_list(music_features.reshape(len(segment_ids), MUSIC_FEATURE_DIM)),
    ]
    return pa.Table.from_arrays(columns, schema=SEGMENT_FEATURES.arrow_schema)


# --------------------------------------------------------------------------------------------------------
# From the authors' release
# --------------------------------------------------------------------------------------------------------


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _file_line(root: Path, relative: str) -> str:
    path = root / relative
    line = f"- `{relative}`: {path.stat().st_size:,} bytes, sha256 `{_sha256(path)[:16]}`"
    if path.suffix == ".h5":
        with h5py.File(path, "r") as handle:
            (name,) = list(handle)
            dataset = handle[name]
            line += f", dataset `{name}` {tuple(dataset.shape)} {dataset.dtype}"
            if dataset.dtype != np.float32:
                line += " (converted to float32)"
    return line


def build_hub_dataset(
    release_dir: str | os.PathLike | None, dataset: str, output_dir: str | os.PathLike, strict: bool = False
) -> Path:
    """Build ``output_dir/<dataset>`` (a Hub dataset folder) from the authors' release and return it.

    Args:
        release_dir: release root (``None``: see :func:`.release.resolve_release_dir`).
        dataset: ``"emomv-a"``, ``"emomv-b"`` or ``"emomv-c"``.
        output_dir: parent folder of the dataset folder.
        strict: a missing release file is an error instead of a warning that skips its split.

    Rows keep the release order; features are the h5 rows as float32 (bit-identical for float32 files,
    converted for the float64 VGGish files of the release).

    Raises:
        ReleaseFormatError: a release file is malformed (message names file, row and field).
        MissingReleaseFilesError: files are missing and ``strict``, or no split at all can be built.
    """
    layout = get_layout(dataset)
    root = resolve_release_dir(release_dir)

    wanted = {(PAIRS_CONFIG, files.split): files for files in layout.pair_splits}
    wanted[(SEGMENTS_CONFIG, layout.segment_split.split)] = layout.segment_split
    missing = [path for files in wanted.values() for path in missing_files(root, files.files)]
    if missing and strict:
        raise MissingReleaseFilesError(
            f"{dataset}: {len(missing)} release file(s) missing under {root}: " + ", ".join(missing), missing
        )
    for path in missing:
        warnings.warn(
            f"{dataset}: release file missing, its split is skipped: {root / path}",
            MissingReleaseFileWarning,
            stacklevel=2,
        )

    tables: dict[str, dict[str, pa.Table]] = {PAIRS_CONFIG: {}, SEGMENTS_CONFIG: {}}
    used: list[str] = []
    for (config, split), files in wanted.items():
        if missing_files(root, files.files):
            continue
        if config == PAIRS_CONFIG:
            annotations, video, music = read_pair_split(root, files)
            tables[config][split] = pairs_table(annotations, video, music)
        else:
            segments, video, music = read_segment_split(root, files, layout.segment_csv_format)
            tables[config][split] = segments_table(
                [s.segment_id for s in segments], [s.emotion for s in segments], video, music
            )
        used.extend(files.files)
    tables = {config: splits for config, splits in tables.items() if splits}
    if not tables:
        raise MissingReleaseFilesError(
            f"{dataset}: no split can be built, {len(missing)} release file(s) missing under {root}: "
            + ", ".join(missing),
            missing,
        )

    summary = (
        f"{layout.pretty_name} is one of the three EmoMV datasets for affective music-video correspondence "
        f"learning (classification: does the music match the video's emotion? and retrieval). It is built "
        f"from {layout.source}; segments last {layout.segment_seconds} s and their emotions are "
        f"{'annotated by humans' if layout.labels == 'human' else 'predicted by an emotion classifier (the three predictions from video only, music only and both agree)'}. "
        "This folder holds the authors' pre-extracted features and pair annotations, converted to Parquet."
    )
    provenance = [
        f"- Built by `emomv-hf` {__version__} (`emomv_hf.data.build_hub_dataset`) from the folder "
        f"`{layout.folder}` of the authors' feature release ({RELEASE_URL}).",
        "- Rows are in release order; row i of each split is row i of its annotation CSV and of both feature "
        "files. Features are stored as float32 and are bit-identical to the h5 rows; float64 files are "
        "converted to float32.",
        "- Source files:",
        *(f"  {_file_line(root, path)}" for path in used),
    ]
    if missing:
        provenance += ["- Missing from the release used for this build (their splits are absent):"]
        provenance += [f"  - `{path}`" for path in missing]
    pairing_note = (
        "The pairs here are exactly the authors' published pairs (their annotation CSVs)."
        + (
            " For the test split the authors dropped two matched pairs at random to balance it."
            if dataset == "emomv-a"
            else ""
        )
        + " The same recipe is reimplemented, pure and seeded, in `emomv_hf.data.pairing.make_pairs` "
        "(`dataset_scripts/create_pairs.py`) for new segments."
    )
    card = make_dataset_card(
        name=dataset,
        pretty_name=layout.pretty_name,
        summary=summary,
        tables=tables,
        provenance=provenance,
        pairing_note=pairing_note,
    )
    return write_hub_folder(Path(output_dir) / dataset, tables, card)


def describe_hub_folder(folder: str | os.PathLike) -> dict[str, dict[str, dict[str, int]]]:
    """Counts per config and split of a built folder (read from the Parquet files, without ``datasets``).

    Returns ``{config: {split: {"rows": n, ["matched": m, "mismatched": k]}}}``.
    """
    folder = Path(folder)
    result: dict[str, dict[str, dict[str, int]]] = {}
    for path in sorted((folder / "data").glob("*/*.parquet")):
        config, split = path.parent.name, path.name.split("-")[0]
        if config == PAIRS_CONFIG:
            counts = split_counts(pq.read_table(path, columns=["label"]))
        else:
            counts = {"rows": pq.read_metadata(path).num_rows}
        result.setdefault(config, {})[split] = counts
    return result


def format_hub_folder_summary(folder: str | os.PathLike) -> str:
    """The folder and one line per config/split with its row (and matched/mismatched) counts, for printing."""
    lines = [str(folder)]
    for config, splits in describe_hub_folder(folder).items():
        for split, counts in splits.items():
            extra = (
                f" ({counts['matched']} matched, {counts['mismatched']} mismatched)"
                if "matched" in counts
                else ""
            )
            lines.append(f"  {config}/{split}: {counts['rows']} rows{extra}")
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------------------
# From labelled segments (the pairing pipeline)
# --------------------------------------------------------------------------------------------------------

SEGMENT_CSV_COLUMNS = ("segment_id", "emotion", "video_features", "music_features")
"""Required columns of a segments CSV; optional: ``source_id`` and ``split``."""


class _FeatureReader:
    """Reads feature vectors named as ``path`` (a 1-D vector) or ``path#row`` (a row of a 2-D array) from
    ``.npy`` or single-dataset ``.h5`` files, caching each file."""

    def __init__(self, base_dir: Path):
        self.base_dir = base_dir
        self.cache: dict[Path, np.ndarray] = {}

    def _load(self, path: Path) -> np.ndarray:
        if path not in self.cache:
            if path.suffix in {".h5", ".hdf5"}:
                with h5py.File(path, "r") as handle:
                    names = [name for name, item in handle.items() if isinstance(item, h5py.Dataset)]
                    if len(names) != 1:
                        raise ReleaseFormatError(
                            f"{path}: expected exactly one HDF5 dataset, found {len(names)}"
                        )
                    self.cache[path] = np.asarray(handle[names[0]][()])
            elif path.suffix == ".npy":
                self.cache[path] = np.load(path, allow_pickle=False)
            else:
                raise ValueError(f"{path}: feature files must be .npy, .h5 or .hdf5")
        return self.cache[path]

    def read(self, reference: str, dim: int, where: str) -> np.ndarray:
        name, _, row = reference.partition("#")
        path = Path(name) if Path(name).is_absolute() else self.base_dir / name
        if not path.is_file():
            raise ReleaseFormatError(f"{where}: feature file not found: {path}")
        try:
            array = self._load(path)
        except ValueError as error:
            raise ReleaseFormatError(f"{where}: {error}") from None
        if row:
            if array.ndim != 2 or not row.isdigit() or int(row) >= array.shape[0]:
                raise ReleaseFormatError(f"{where}: {path} has shape {array.shape}, no row {row!r}")
            vector = array[int(row)]
        else:
            vector = array.reshape(-1) if array.ndim == 2 and array.shape[0] == 1 else array
        if vector.ndim != 1 or vector.shape[0] != dim:
            raise ReleaseFormatError(
                f"{where}: wrong feature width: expected {dim} values, got shape {vector.shape}"
            )
        vector = vector.astype(np.float32)
        if not np.isfinite(vector).all():
            raise ReleaseFormatError(
                f"{where}: non-finite value at column {int(np.argmin(np.isfinite(vector)))}"
            )
        return vector


def read_segments_csv(
    path: str | os.PathLike,
) -> tuple[list[LabelledSegment], dict[str, str], dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Read a segments CSV (header: ``segment_id, emotion, video_features, music_features[, source_id][,
    split]``; feature paths relative to the CSV, ``file.h5#row`` selects a row).

    Returns the segments, their given splits (may be empty), and video ``(2304,)`` / music ``(128,)``
    vectors by segment id.
    """
    path = Path(path)
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        header = reader.fieldnames or []
        absent = [column for column in SEGMENT_CSV_COLUMNS if column not in header]
        if absent:
            raise ReleaseFormatError(f"{path}: missing column(s) {', '.join(absent)} (header: {header})")
        rows = list(reader)
    features = _FeatureReader(path.parent)
    segments, splits, video, music = [], {}, {}, {}
    seen: dict[str, int] = {}
    for line, row in enumerate(rows, start=2):
        segment_id = (row.get("segment_id") or "").strip()
        if not segment_id:
            raise ReleaseFormatError(f"{path}, line {line}, field segment_id: empty")
        if segment_id in seen:
            raise ReleaseFormatError(
                f"{path}, line {line}, field segment_id: duplicated segment id {segment_id!r} (first on line {seen[segment_id]})"
            )
        seen[segment_id] = line
        try:
            (segment,) = coerce_segments(
                [(segment_id, (row.get("emotion") or "").strip(), (row.get("source_id") or "").strip())]
            )
        except ValueError as error:
            raise ReleaseFormatError(f"{path}, line {line}, field emotion/segment_id: {error}") from None
        segments.append(segment)
        split = (row.get("split") or "").strip()
        if split:
            splits[segment_id] = split
        video[segment_id] = features.read(
            row["video_features"].strip(), VIDEO_FEATURE_DIM, f"{path}, line {line}, field video_features"
        )
        music[segment_id] = features.read(
            row["music_features"].strip(), MUSIC_FEATURE_DIM, f"{path}, line {line}, field music_features"
        )
    if splits and len(splits) != len(segments):
        raise ReleaseFormatError(f"{path}: column split is filled for {len(splits)} of {len(segments)} rows")
    return segments, splits, video, music


def _evaluation_split(splits: Sequence[str]) -> str:
    for name in ("test", "validation"):
        if name in splits:
            return name
    return splits[-1]


def build_pairs_dataset(
    segments_csv: str | os.PathLike,
    output_dir: str | os.PathLike,
    *,
    name: str = "emomv-pairs",
    seed: int = 0,
    balance: bool | Mapping[str, bool] = True,
    group_by_source: bool = False,
    validation_fraction: float = 0.2,
    max_per_source: int | None = 2,
) -> Path:
    """Pair labelled segments (:func:`.pairing.make_pairs`) and write ``output_dir/<name>`` in the Hub layout.

    Splits come from the CSV's ``split`` column; without it, ``group_by_source`` makes the EmoMV-C split
    (:func:`.pairing.split_by_source`), else everything is ``train``. The ``segments`` config holds the
    segments used by the pairs of the evaluation split (``test``, else ``validation``, else the last).
    ``balance`` may be one bool or one per split (EmoMV-A balances its test split only).
    """
    csv_path = Path(segments_csv)
    segments, given_splits, video, music = read_segments_csv(csv_path)
    dropped: list[LabelledSegment] = []
    if given_splits:
        by_split: dict[str, list[LabelledSegment]] = {}
        for segment in segments:
            by_split.setdefault(given_splits[segment.segment_id], []).append(segment)
        order = {"train": 0, "validation": 1, "test": 2}
        by_split = dict(sorted(by_split.items(), key=lambda item: (order.get(item[0], 3), item[0])))
    elif group_by_source:
        grouped = split_by_source(
            segments, seed=seed, validation_fraction=validation_fraction, max_per_source=max_per_source
        )
        by_split = {"train": list(grouped.train), "validation": list(grouped.validation)}
        by_split = {split: items for split, items in by_split.items() if items}
        dropped = list(grouped.dropped)
    else:
        by_split = {"train": segments}

    pair_tables: dict[str, pa.Table] = {}
    results = {}
    for split, items in by_split.items():
        split_balance = balance.get(split, True) if isinstance(balance, Mapping) else balance
        result = make_pairs(items, seed=seed, balance=split_balance)
        results[split] = result
        pairs = result.pairs
        pair_tables[split] = pairs_table(
            pairs,
            np.stack([video[pair.video_segment_id] for pair in pairs])
            if pairs
            else np.zeros((0, VIDEO_FEATURE_DIM), np.float32),
            np.stack([music[pair.music_segment_id] for pair in pairs])
            if pairs
            else np.zeros((0, MUSIC_FEATURE_DIM), np.float32),
        )
    evaluation = _evaluation_split(list(pair_tables))
    used = [pair.video_segment_id for pair in results[evaluation].pairs]
    emotion_of = {segment.segment_id: segment.emotion for segment in segments}
    segment_ids = sorted(set(used), key=used.index)
    tables = {
        PAIRS_CONFIG: pair_tables,
        SEGMENTS_CONFIG: {
            evaluation: segments_table(
                segment_ids,
                [EMOTIONS.index(emotion_of[s]) for s in segment_ids],
                np.stack([video[s] for s in segment_ids]).reshape(-1, VIDEO_FEATURE_DIM),
                np.stack([music[s] for s in segment_ids]).reshape(-1, MUSIC_FEATURE_DIM),
            )
        },
    }
    split_source = (
        "the CSV's `split` column"
        if given_splits
        else f"`split_by_source(seed={seed}, validation_fraction={validation_fraction}, max_per_source={max_per_source})`"
        if group_by_source
        else "none (all segments in `train`)"
    )
    provenance = [
        f"- Built by `emomv-hf` {__version__} (`emomv_hf.data.build_pairs_dataset`) from `{csv_path.name}` "
        f"({len(segments)} segments, sha256 `{_sha256(csv_path)[:16]}`).",
        f"- Options: seed {seed}, balance {balance}, split by {split_source}.",
        *(
            f"- Split `{split}`: {len(by_split[split])} segments, swaps per emotion pair "
            + ", ".join(f"{a}-{b} {count}" for (a, b), count in result.swaps.items())
            + f"; {len(result.unused_segment_ids)} matched pairs dropped by balancing."
            for split, result in results.items()
        ),
    ]
    if dropped:
        provenance.append(f"- {len(dropped)} segments dropped by the per-source cap of {max_per_source}.")
    card = make_dataset_card(
        name=name,
        pretty_name=name,
        summary=(
            f"{name}: music-video pairs made from labelled segments with the EmoMV pairing recipe, in the "
            "schema of the EmoMV datasets."
        ),
        tables=tables,
        provenance=provenance,
        pairing_note="The pairs here were made by `emomv_hf.data.pairing.make_pairs` with the options below.",
    )
    return write_hub_folder(Path(output_dir) / name, tables, card)
