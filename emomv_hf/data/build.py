"""Building the EmoMV Hub dataset folders: from the authors' release, or from labelled segments.

``build_hub_dataset`` turns the release of one dataset into ``<output_dir>/<dataset>/`` (configs ``pairs``
and ``segments``); ``build_pairs_dataset`` runs the pairing of :mod:`.pairing` on a CSV of labelled
segments and writes the same layout. Both write atomically (see :func:`.hub_folder.write_hub_folder`).
"""

from __future__ import annotations

import functools
import os
import warnings
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import datasets
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from emomv_hf._version import __version__
from emomv_hf.emotions import ALLOWED_MISMATCH_PAIRS, EMOTIONS
from emomv_hf.io_utils import counted, dataset_folder_sha256, file_sha256, read_csv_records

from .card import RELEASE_LICENSE_NOTE, UNKNOWN_LICENSE, make_dataset_card, user_license_note
from .hub_folder import write_hub_folder
from .loading import load_segments
from .pairing import LabelledSegment, PairingResult, coerce_segments, make_pairs, split_by_source
from .release import (
    RELEASE_URL,
    MissingReleaseFilesError,
    MissingReleaseFileWarning,
    ReleaseFormatError,
    check_features,
    check_new_id,
    check_split_name,
    get_layout,
    load_feature_file,
    open_feature_dataset,
    read_pair_csv,
    read_segment_csv,
    read_split_features,
    resolve_release_dir,
)
from .schema import (
    MUSIC_FEATURE_DIM,
    PAIRS_CONFIG,
    SEGMENT_FEATURES,
    SEGMENTS_CONFIG,
    VIDEO_FEATURE_DIM,
    pairs_table,
    schema_table,
    segments_from_pairs,
    source_video_id,
    split_counts,
)

# --------------------------------------------------------------------------------------------------------
# From the authors' release
# --------------------------------------------------------------------------------------------------------


def _file_line(root: Path, relative: str) -> str:
    path = root / relative
    line = f"- `{relative}`: {path.stat().st_size:,} bytes, sha256 `{file_sha256(path)}`"
    if path.suffix == ".h5":
        with open_feature_dataset(path) as dataset:
            line += f", dataset `{dataset.name.lstrip('/')}` {tuple(dataset.shape)} {dataset.dtype}"
            if dataset.dtype != np.float32:
                line += " (converted to float32)"
    return line


def build_hub_dataset(
    release_dir: str | os.PathLike | None,
    dataset: str,
    output_dir: str | os.PathLike,
    strict: bool = False,
    *,
    overwrite: bool = False,
    repo_id: str | None = None,
) -> Path:
    """Build ``output_dir/<dataset>`` (a Hub dataset folder) from the authors' release and return it.

    Args:
        release_dir: release root (``None``: see :func:`.release.resolve_release_dir`).
        dataset: ``"emomv-a"``, ``"emomv-b"`` or ``"emomv-c"``.
        output_dir: parent folder of the dataset folder.
        strict: a missing release file is an error instead of a warning that skips its split.
        overwrite: replace ``output_dir/<dataset>`` even if it holds files a build does not write.
        repo_id: the Hub id the card's loading example names (the folder is pushed there); default the folder.

    Rows keep the release order; features are the h5 rows as float32 (bit-identical for float32 files,
    converted for the float64 VGGish files of the release).

    Raises:
        ReleaseFormatError: a release file is malformed (message names file, row and field).
        MissingReleaseFilesError: files are missing and ``strict``, or no split at all can be built.
        UnexpectedFilesError: the dataset folder holds other files and not ``overwrite``.
    """
    layout = get_layout(dataset)
    root = resolve_release_dir(release_dir)

    missing = [path for path in layout.files if not (root / path).is_file()]
    missing_text = f"{len(missing)} release file(s) missing under {root}: " + ", ".join(missing)
    if missing and strict:
        raise MissingReleaseFilesError(f"{dataset}: {missing_text}")
    for path in missing:
        warnings.warn(
            f"{dataset}: release file missing, its split is skipped: {root / path}",
            MissingReleaseFileWarning,
            stacklevel=2,
        )

    tables: dict[str, dict[str, pa.Table]] = {PAIRS_CONFIG: {}, SEGMENTS_CONFIG: {}}
    used: list[str] = []
    for files in (*layout.pair_splits, layout.segment_split):
        if set(files.files) & set(missing):
            continue
        if files is not layout.segment_split:
            annotations = read_pair_csv(root / files.csv)
            video, music = read_split_features(root, files, len(annotations))
            tables[PAIRS_CONFIG][files.split] = pairs_table(annotations, video, music)
        else:
            columns = read_segment_csv(root / files.csv, layout.segment_csv_format)
            video, music = read_split_features(root, files, len(columns["segment_id"]))
            tables[SEGMENTS_CONFIG][files.split] = schema_table(
                {**columns, "video_features": video, "music_features": music}, SEGMENT_FEATURES
            )
        used.extend(files.files)
    tables = {config: splits for config, splits in tables.items() if splits}
    if not tables:
        raise MissingReleaseFilesError(f"{dataset}: no split can be built, {missing_text}")

    summary = (
        f"{layout.pretty_name} is one of the three EmoMV datasets for affective music-video correspondence "
        f"learning (classification: does the music match the video's emotion? and retrieval). It is built "
        f"from {layout.source}; segments last {layout.segment_seconds} s and their emotions are "
        f"{'annotated by humans' if layout.labels == 'human' else 'predicted by an emotion classifier (the three predictions from video only, music only and both agree)'}. "
        "This folder holds the authors' pre-extracted features and pair annotations, converted to Parquet."
    )
    provenance = [
        f"- Built by `emomv-hf` {__version__} (`emomv_hf.data.build.build_hub_dataset`) from the folder "
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
    folder = Path(output_dir) / dataset
    card = make_dataset_card(
        pretty_name=layout.pretty_name,
        summary=summary,
        tables=tables,
        provenance=provenance,
        pairing_note=pairing_note,
        repo_id=repo_id or str(folder),
        license="mit",
        license_note=RELEASE_LICENSE_NOTE,
        labels_note=(
            "The emotions were annotated by people (MVED's labels, as the authors released them)."
            if layout.labels == "human"
            else "The emotion labels were **predicted** by an emotion classifier (modified Feature AttendAffectNet), "
            "not annotated by people; the matched/mismatched labels inherit its errors. Only EmoMV-A has human "
            "labels."
        ),
    )
    return write_hub_folder(folder, tables, card, overwrite=overwrite)


def describe_hub_folder(folder: str | os.PathLike) -> dict[str, dict[str, dict[str, int]]]:
    """Counts per config and split of a built folder (read from the Parquet files, without ``datasets``), summed
    over a split's shards.

    Returns ``{config: {split: {"rows": n, ["matched": m, "mismatched": k]}}}``.
    """
    folder = Path(folder)
    result: dict[str, dict[str, Counter]] = {}
    for path in sorted((folder / "data").glob("*/*.parquet")):
        config, split = path.parent.name, path.name.split("-")[0]
        if config == PAIRS_CONFIG:
            counts = split_counts(pq.read_table(path, columns=["label"]))
        else:
            counts = {"rows": pq.read_metadata(path).num_rows}
        result.setdefault(config, {}).setdefault(split, Counter()).update(counts)
    return {
        config: {split: dict(counts) for split, counts in splits.items()} for config, splits in result.items()
    }


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
            lines.append(f"  {config}/{split}: {counted(counts['rows'], 'row')}{extra}")
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------------------
# From labelled segments (the pairing pipeline)
# --------------------------------------------------------------------------------------------------------


def _read_feature(
    load: Callable[[Path], np.ndarray], base_dir: Path, reference: str, dim: int, where: str
) -> np.ndarray:
    """The feature vector named ``path`` (a 1-D vector) or ``path#row`` (a row of a 2-D array), ``path``
    relative to ``base_dir``, read by ``load`` (:func:`.release.load_feature_file`, cached)."""
    name, _, row = reference.partition("#")
    if not name:
        raise ReleaseFormatError(f"{where}: empty")
    path = base_dir / name  # an absolute name stays itself
    if not path.is_file():
        raise ReleaseFormatError(f"{where}: feature file not found: {path}")
    try:
        array = load(path)
    except ReleaseFormatError as error:
        raise ReleaseFormatError(f"{where}: {error}") from None
    if row:
        if array.ndim != 2 or not (row.isascii() and row.isdigit()) or int(row) >= array.shape[0]:
            raise ReleaseFormatError(f"{where}: {path} has shape {array.shape}, no row {row!r}")
        vector = array[int(row)]
    else:
        vector = array.reshape(-1) if array.ndim == 2 and array.shape[0] == 1 else array
    if vector.ndim != 1:
        raise ReleaseFormatError(
            f"{where}: wrong feature width: expected {dim} values, got shape {vector.shape}"
        )
    return check_features(vector, dim, where)


def read_segments_csv(
    path: str | os.PathLike,
) -> tuple[list[LabelledSegment], dict[str, str], dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Read a segments CSV (header: ``segment_id, emotion, video_features, music_features[, source_id][,
    split]``; feature paths relative to the CSV, ``file.h5#row`` selects a row).

    Returns the segments, their given splits (may be empty), and video ``(2304,)`` / music ``(128,)``
    vectors by segment id.
    """
    path = Path(path)
    header, rows = read_csv_records(path)
    absent = [column for column in SEGMENT_FEATURES if column not in header]  # the segments' own columns
    if absent:
        raise ReleaseFormatError(f"{path}: missing column(s) {', '.join(absent)} (header: {header})")
    if not rows:
        raise ReleaseFormatError(f"{path}: no rows below the header")
    load = functools.cache(load_feature_file)  # a file holds the rows of many segments: read it once
    segments, splits, video, music = [], {}, {}, {}
    seen: dict[str, int] = {}
    for line, row in enumerate(rows, start=2):
        segment_id = (row.get("segment_id") or "").strip()
        check_new_id(seen, segment_id, path, line, "segment_id")
        try:
            (segment,) = coerce_segments(
                [(segment_id, (row.get("emotion") or "").strip(), (row.get("source_id") or "").strip())]
            )
        except ValueError as error:
            raise ReleaseFormatError(f"{path}, line {line}, field emotion/segment_id: {error}") from None
        segments.append(segment)
        if split := check_split_name((row.get("split") or "").strip(), path, line):
            splits[segment_id] = split
        for stream, vectors, dim in (
            ("video", video, VIDEO_FEATURE_DIM),
            ("music", music, MUSIC_FEATURE_DIM),
        ):
            field = f"{stream}_features"
            reference = (row[field] or "").strip()  # None: a short row lacks the field
            vectors[segment_id] = _read_feature(
                load, path.parent, reference, dim, f"{path}, line {line}, field {field}"
            )
    if splits and len(splits) != len(segments):
        raise ReleaseFormatError(f"{path}: column split is filled for {len(splits)} of {len(segments)} rows")
    return segments, splits, video, music


def read_extracted_segments(
    folder: str | os.PathLike,
) -> tuple[list[LabelledSegment], dict[str, str], dict[str, np.ndarray], dict[str, np.ndarray]]:
    """:func:`read_segments_csv` for a folder written by ``dataset_scripts/extract_features.py`` (the
    ``segments`` config; its ``source`` column is the source id). Splits are given when the folder has more than
    a ``train`` split. Every row needs an emotion and both features (pairing uses both streams); the features,
    written by the package, are trusted."""
    try:
        loaded = load_segments(folder)
    except Exception as error:  # datasets raises many kinds; all mean "not a segments folder"
        raise ReleaseFormatError(
            f"{folder}: not a segments dataset folder of extract_features.py ({type(error).__name__}: {error})"
        ) from None
    loaded.check_unique_ids(folder)
    ids, emotions = loaded.segment_ids, loaded.emotions
    video, has_video = loaded.features("video")
    music, has_music = loaded.features("music")
    missing = {
        "emotion": np.array([emotion is None for emotion in emotions], dtype=bool),
        "video_features": ~has_video,
        "music_features": ~has_music,
    }
    unusable = [
        f"{segment_id} (no {', '.join(what for what, absent in missing.items() if absent[row])})"
        for row, segment_id in enumerate(ids)
        if any(absent[row] for absent in missing.values())
    ]
    if unusable:
        shown = ", ".join(unusable[:5]) + (f" and {len(unusable) - 5} more" if len(unusable) > 5 else "")
        raise ReleaseFormatError(
            f"{folder}: {len(unusable)} segment(s) cannot be paired: {shown}; label them (emotion) or leave out "
            "media without a video or an audio stream"
        )
    sources = loaded.column("source") or [None] * len(ids)
    segments = [
        LabelledSegment(segment_id, EMOTIONS[emotion], source or None)
        for segment_id, emotion, source in zip(ids, emotions, sources, strict=True)
    ]
    splits = dict(zip(ids, loaded.split_of_row, strict=True)) if set(loaded.split_of_row) != {"train"} else {}
    return segments, splits, dict(zip(ids, video, strict=True)), dict(zip(ids, music, strict=True))


class DegenerateDatasetError(ValueError):
    """Labelled segments give a split without matched or without mismatched pairs."""


def _degenerate_split(split: str, segments: Sequence[LabelledSegment], result: PairingResult) -> str:
    """What makes ``split`` degenerate (no matched or no mismatched pair), or ``""``."""
    if result.num_matched and result.num_mismatched:
        return ""
    counts = Counter(segment.emotion for segment in segments)
    present = ", ".join(f"{emotion} {counts[emotion]}" for emotion in EMOTIONS if counts[emotion]) or "none"
    missing = [emotion for emotion in EMOTIONS if not counts[emotion]]
    # A swap takes one cluster-2 segment of each emotion of an allowed pair, and cluster 2 holds half
    # (rounded down) of each emotion's segments: two segments of each of two allowed emotions at least.
    pairs = ", ".join(f"{a}-{b}" for a, b in ALLOWED_MISMATCH_PAIRS)
    what = [] if result.num_matched else ["no matched pair (balancing keeps as many as there are mismatched)"]
    if not result.num_mismatched:
        what.append(
            f"no mismatched pair (a mismatched pair needs at least 2 segments of each emotion of an allowed "
            f"pair: {pairs})"
        )
    return (
        f"split {split!r} has {len(segments)} segment(s) (per emotion: {present}"
        + (f"; none {', '.join(missing)}" if missing else "")
        + f") and gets {len(result.pairs)} pair(s): "
        + " and ".join(what)
    )


def pair_split_tables(
    by_split: Mapping[str, Sequence[LabelledSegment]],
    video: Mapping[str, np.ndarray],
    music: Mapping[str, np.ndarray],
    *,
    seed: int = 0,
    balance: bool = True,
    allow_degenerate: bool = False,
    where: str = "segments",
) -> tuple[dict[str, dict[str, pa.Table]], dict[str, PairingResult], list[str]]:
    """Pair each split's labelled segments (:func:`.pairing.make_pairs`) into the tables of a dataset folder:
    ``{"pairs": {split: table}, "segments": {evaluation split: table}}`` (the ``segments`` config holds the
    segments of the evaluation split's pairs: ``test``, else ``validation``, else the last split), with the
    pairing result of each split and the card's provenance lines on the pairing (swaps, balancing and
    degenerate splits).

    Raises :class:`DegenerateDatasetError` (message starting with ``where``) for a split without matched or
    without mismatched pairs unless ``allow_degenerate``, which warns instead.
    """
    pair_tables: dict[str, pa.Table] = {}
    results: dict[str, PairingResult] = {}
    problems: list[str] = []
    for split, items in by_split.items():
        result = make_pairs(items, seed=seed, balance=balance)
        results[split] = result
        problem = _degenerate_split(split, items, result)
        if problem:
            problems.append(problem)
        pairs = result.pairs
        pair_tables[split] = pairs_table(  # reshapes the rows, none included, to (len(pairs), width)
            pairs,
            np.array([video[pair.video_segment_id] for pair in pairs], np.float32),
            np.array([music[pair.music_segment_id] for pair in pairs], np.float32),
        )
    if problems and not allow_degenerate:
        raise DegenerateDatasetError(
            f"{where}: " + "; ".join(problems) + ". Add segments, or pass --allow-degenerate "
            "(allow_degenerate=True) to write it anyway."
        )
    empty = [split for split, table in pair_tables.items() if table.num_rows == 0]
    if empty:  # a Parquet split without rows cannot be loaded: not even allow_degenerate writes one
        raise DegenerateDatasetError(
            f"{where}: split(s) {', '.join(empty)} get no pair at all, which no dataset can hold, even with "
            f"allow_degenerate (segments per split {', '.join(f'{k} {len(v)}' for k, v in by_split.items())}); "
            "add segments"
        )
    for problem in problems:
        warnings.warn(f"{where}: {problem}", stacklevel=3)
    evaluation = next((name for name in ("test", "validation") if name in pair_tables), list(pair_tables)[-1])
    # The segments of the evaluation split's pairs (every video segment of a pair is the music of one too).
    segments = segments_from_pairs(datasets.Dataset(pair_tables[evaluation]))
    tables = {PAIRS_CONFIG: pair_tables, SEGMENTS_CONFIG: {evaluation: segments.data.table}}
    notes = [
        f"- Split `{split}`: {len(by_split[split])} segments, swaps per emotion pair "
        + ", ".join(f"{a}-{b} {count}" for (a, b), count in result.swaps.items())
        + f"; {len(result.unused_segment_ids)} matched pairs dropped by balancing."
        for split, result in results.items()
    ]
    notes += [f"- Degenerate, written with `allow_degenerate`: {problem}." for problem in problems]
    return tables, results, notes


def build_pairs_dataset(
    segments: str | os.PathLike,
    output_dir: str | os.PathLike,
    *,
    name: str = "emomv-pairs",
    seed: int = 0,
    balance: bool = True,
    group_by_source: bool = False,
    validation_fraction: float = 0.2,
    max_per_source: int | None = 2,
    allow_degenerate: bool = False,
    overwrite: bool = False,
    license: str = UNKNOWN_LICENSE,
    repo_id: str | None = None,
) -> Path:
    """Pair labelled ``segments`` (a CSV, or a folder of extract_features.py) with :func:`pair_split_tables` and
    write ``output_dir/<name>`` in the Hub layout.

    Splits come from the CSV's ``split`` column (a folder's splits); without it, ``group_by_source`` makes the
    EmoMV-C split (:func:`.pairing.split_by_source`; ``max_per_source`` 0 or None: no cap), else everything is
    ``train``. A split without matched or without mismatched pairs cannot train or evaluate a correspondence
    model: see ``allow_degenerate`` in :func:`pair_split_tables`. ``overwrite``, ``repo_id``: as
    :func:`build_hub_dataset`. ``license``: the Hub licence id of the user's data (default unknown, ``other``).
    """
    csv_path = Path(segments)
    read = read_extracted_segments if csv_path.is_dir() else read_segments_csv
    labelled, given_splits, video, music = read(csv_path)
    if unnamed := [segment for segment in labelled if segment.source != source_video_id(segment.segment_id)]:
        # Pairs keep no source: train.py's held-out and cv protocols group them by the source their ids name.
        warnings.warn(
            f"{csv_path}: {len(unnamed)} segment(s) have a source_id their id does not name ({unnamed[0].segment_id!r}"
            f" of {unnamed[0].source!r}): the pairs keep ids, not sources, so train.py's held-out and cv protocols "
            "group them by the source an id names (`<source>_<number>`) and may put one source on both sides; "
            "name such segments `<source>_<number>`",
            stacklevel=2,
        )
    max_per_source = max_per_source or None
    dropped: list[LabelledSegment] = []
    if given_splits:
        by_split: dict[str, list[LabelledSegment]] = {}
        for segment in labelled:
            by_split.setdefault(given_splits[segment.segment_id], []).append(segment)
        order = {"train": 0, "validation": 1, "test": 2}
        by_split = dict(sorted(by_split.items(), key=lambda item: (order.get(item[0], 3), item[0])))
        split_source = (
            "the splits of the segments folder" if csv_path.is_dir() else "the CSV's `split` column"
        )
    elif group_by_source:
        grouped = split_by_source(
            labelled, seed=seed, validation_fraction=validation_fraction, max_per_source=max_per_source
        )
        by_split = {"train": list(grouped.train), "validation": list(grouped.validation)}
        by_split = {split: items for split, items in by_split.items() if items}
        dropped = list(grouped.dropped)
        split_source = f"`split_by_source(seed={seed}, validation_fraction={validation_fraction}, max_per_source={max_per_source})`"
    else:
        by_split = {"train": labelled}
        split_source = "none (all segments in `train`)"

    tables, results, notes = pair_split_tables(
        by_split,
        video,
        music,
        seed=seed,
        balance=balance,
        allow_degenerate=allow_degenerate,
        where=str(csv_path),
    )
    # A segments folder's digest is that of its Parquet shards (as the comparisons fingerprint datasets).
    digest = (
        file_sha256(csv_path)
        if csv_path.is_file()
        else dataset_folder_sha256(csv_path).removeprefix("sha256:")
    )
    provenance = [
        f"- Built by `emomv-hf` {__version__} (`emomv_hf.data.build.build_pairs_dataset`) from `{csv_path.name}` "
        f"({len(labelled)} segments, sha256 `{digest}`).",
        f"- Options: seed {seed}, balance {balance}, split by {split_source}.",
        *(
            [f"- {len(dropped)} segments dropped by the per-source cap of {max_per_source}."]
            if dropped
            else []
        ),
        *notes,
    ]
    return write_pairs_folder(
        Path(output_dir) / name,
        tables,
        provenance,
        made_from="labelled segments with the EmoMV pairing recipe",
        pairs_made="with the options below",
        labels_note=f"The emotions are the labels given in `{csv_path.name}`: this package did not check them, and "
        "the matched/mismatched labels inherit their errors.",
        license=license,
        repo_id=repo_id,
        overwrite=overwrite,
        source=csv_path,
    )


def write_pairs_folder(
    folder: Path,
    tables: Mapping[str, Mapping[str, pa.Table]],
    provenance: Sequence[str],
    *,
    made_from: str,
    pairs_made: str,
    labels_note: str,
    license: str,
    repo_id: str | None,
    overwrite: bool,
    source: str | os.PathLike,
    labelling: str | None = None,
) -> Path:
    """Write the pairs of the user's own segments (``tables`` of :func:`pair_split_tables`) and their card to
    ``folder``: the card's summary says they were made from ``made_from``, its pairing note how ``make_pairs`` made
    them (``pairs_made``); the licence is the user's, and the card loads the folder from ``repo_id`` (else the
    folder as given). ``source``, the segments or media they were made from, is never replaced. Other arguments: as
    :func:`.card.make_dataset_card` and :func:`.hub_folder.write_hub_folder`.
    """
    card = make_dataset_card(
        pretty_name=folder.name,
        summary=f"{folder.name}: music-video pairs made from {made_from}, in the schema of the EmoMV datasets.",
        tables=tables,
        provenance=provenance,
        pairing_note=f"The pairs here were made by `emomv_hf.data.pairing.make_pairs` {pairs_made}.",
        repo_id=repo_id or str(folder),
        license=license,
        license_note=user_license_note(license),
        labels_note=labels_note,
        labelling=labelling,
    )
    return write_hub_folder(folder, tables, card, overwrite=overwrite, inputs=[source])
