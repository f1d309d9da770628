"""Batch extraction: media files -> a Hub dataset folder of per-segment SlowFast / VGGish features.

Layout of the output folder (``load_dataset(OUT, "segments")`` reads it; ``create_pairs.py --segments OUT``
pairs it)::

    OUT/README.md                                        card; its YAML declares the config and features
    OUT/data/segments/<split>-<k>-of-<n>.parquet         rows of :data:`~emomv_hf.data.schema.EXTRACTED_SEGMENT_FEATURES`
    OUT/failures.csv                                     media files / segments left out, with the reason

The media files are cut into shards of ``files_per_shard`` files in a fixed order. A shard is written
atomically when all its files are done, so a killed run loses at most the shards in progress. Each shard records
what its rows depend on (Parquet metadata): the settings (segment length, each extractor's fingerprint) and, per
media file, its listing (name, labels, window), its bytes (size, SHA-256; mtime, inode and ctime say when to
hash them again) and the files it left out, from which ``failures.csv`` is rebuilt. A rerun keeps the rows of
every file whose record still holds, extracts new and changed files, redoes shards made with other extractors or
settings (one line each says why) and drops files no longer in the media. A lock file (``.extraction.lock``)
keeps two extractions out of one folder. Under ``torchrun`` / ``accelerate launch`` the shards are split between
the processes (``PartialState.split_between_processes``) and only the main process takes the lock; it writes the
card after all are done, so the folder is the same as a single-process run's.
"""

from __future__ import annotations

import csv
import functools
import hashlib
import json
import logging
import math
import os
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import torch

from ..data.hub_folder import DATA_DIR, shard_path, write_parquet
from ..data.release import check_split_name
from ..data.schema import EXTRACTED_SEGMENT_FEATURES, schema_table
from ..emotions import EMOTION_TO_INDEX, UnknownEmotionError, normalize_emotion
from ..io_utils import atomic_open, atomic_write_text, file_sha256, read_csv_records
from .arguments import ExtractorArguments
from .media import (
    MEDIA_EXTENSIONS,
    VGGISH_SAMPLE_RATE,
    MediaError,
    probe_media,
    read_audio,
    read_video_frames,
)

logger = logging.getLogger(__name__)

CONFIG = "segments"
FAILURES_CSV = "failures.csv"
"""Written into the output folder by a run that skipped bad media or segments: ``media, segment_id, reason``."""
_SETTINGS_KEY = "emomv_extraction"
_INPUTS_KEY = "emomv_inputs"
LOCK_FILE = ".extraction.lock"
"""Locked (``filelock``) in the output folder while an extraction writes it; removed at the end."""


class FeatureExtractionError(RuntimeError):
    """Extraction of one segment failed (bad media, non-finite features); the message names the segment."""


class ExtractionFailure(NamedTuple):
    """A media file (``segment_id`` empty: it could not even be cut into segments) or a segment left out."""

    media: str
    segment_id: str
    reason: str


@dataclass(frozen=True)
class MediaItem:
    """One media file to extract (the unit of sharding): a path (that of row ``row`` of a Hub dataset's video
    column, checked, if the row holds one), else the bytes of row ``row``. ``window`` ``(segment_id, start,
    end)`` gives one explicit segment (a CSV row with times); without it the file is cut into segments named
    ``<prefix>_<NN>``."""

    name: str
    path: Path | None = None
    row: int | None = None
    emotion: str = ""
    source_id: str = ""
    split: str = "train"
    prefix: str = ""
    window: tuple[str, float, float | None] | None = None


def _emotion_from_folder(path: Path) -> str:
    """Emotion named by a parent folder of ``path`` (relative to the media folder; e.g. the EmoMV-A layout
    ``Fear/video/x.mp4``), else ``""``."""
    for parent in path.parents:
        try:
            return normalize_emotion(parent.name)
        except UnknownEmotionError:
            continue
    return ""


def split_into_segments(duration: float, segment_seconds: float) -> list[tuple[float, float]]:
    """Consecutive ``segment_seconds`` windows over ``duration``.

    A trailing remainder is kept when it is at least half a segment long (shorter tails are mostly credits
    or silence), and a file shorter than one segment gives one segment over its whole length.
    """
    if duration <= 0:
        return []
    if duration <= segment_seconds:
        return [(0.0, duration)]
    windows = []
    start = 0.0
    while start + segment_seconds <= duration + 1e-6:
        windows.append((start, start + segment_seconds))
        start += segment_seconds
    if duration - start >= segment_seconds / 2:
        windows.append((start, duration))
    return windows


# ------------------------------------------------------------------------------------------------------------
# Inputs: a folder, a CSV, or a Hub dataset with a Video column
# ------------------------------------------------------------------------------------------------------------


def _normalized_emotion(value: Any, where: str) -> str:
    text = "" if value is None else str(value).strip()
    if not text:
        return ""
    try:
        return normalize_emotion(text)
    except UnknownEmotionError as error:
        raise ValueError(f"{where}, field emotion: {error}") from None


def media_id(relative: str | os.PathLike) -> str:
    """The id of a media file from its path relative to the media folder: ``Fear/video1.mp4`` ->
    ``Fear-video1`` (its segments are ``Fear-video1_01``, ...; :func:`~emomv_hf.data.schema.source_video_id`
    gives the id back). Files of the same name in two folders get two ids, the same in every run."""
    return "-".join(Path(relative).with_suffix("").parts)


def _seconds(text: str, where: str, field: str) -> float:
    """A CSV time: a finite number of seconds >= 0 (``inf`` / ``nan`` / ``-5`` are refused here, not later)."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value >= 0):
        raise ValueError(f"{where}, field {field}: {text!r} is not a number of seconds >= 0")
    return value


def _check_unique_ids(items: Sequence[MediaItem], where: Sequence[str]) -> None:
    """Refuse items whose segment ids would collide (``where[i]`` names item ``i``): two windows of one id, two
    files cut into segments under one prefix, or a window id ``<prefix>_<digits>`` of a file's segment."""
    windows: dict[str, int] = {}
    prefixes: dict[str, int] = {}
    for index, item in enumerate(items):
        key, owner = (item.window[0], windows) if item.window is not None else (item.prefix, prefixes)
        if (clash := owner.setdefault(key, index)) != index:
            raise ValueError(
                f"{where[index]}: its segment ids would repeat those of {where[clash]} ({key!r}); give each "
                "file or window its own segment_id"
            )
    for index, item in enumerate(items):
        head, _, tail = item.window[0].rpartition("_") if item.window is not None else ("", "", "")
        if tail.isdigit() and head in prefixes:
            raise ValueError(
                f"{where[index]}: its segment id {item.window[0]!r} is one of those of {where[prefixes[head]]}; "
                "give it another segment_id"
            )


def _items_of_csv(table: Path) -> list[MediaItem]:
    """The items of a media CSV, every row checked before anything is extracted."""
    header, rows = read_csv_records(table)
    if "path" not in header:
        raise ValueError(f"{table}: a media CSV needs a 'path' column (header: {header})")
    if not rows:
        raise ValueError(f"{table}: no rows below the header")
    items, where = [], []
    for line, row in enumerate(rows, start=2):
        where.append(f"{table}, line {line}")
        if not (row["path"] or "").strip():
            raise ValueError(f"{where[-1]}, field path: empty")
        path = Path(row["path"].strip())
        path = path if path.is_absolute() else table.parent / path
        # Ids of files below the CSV's folder come from their relative path, as those of a media folder.
        relative = path.relative_to(table.parent) if path.is_relative_to(table.parent) else Path(path.name)
        source_id = (row.get("source_id") or "").strip() or media_id(relative)
        segment_id = (row.get("segment_id") or "").strip()
        start_text, end_text = (row.get("start") or "").strip(), (row.get("end") or "").strip()
        window = None
        if start_text or end_text:
            start = _seconds(start_text, where[-1], "start") if start_text else 0.0
            end = _seconds(end_text, where[-1], "end") if end_text else None
            if end is not None and end <= start:
                raise ValueError(f"{where[-1]}, field end: {end} is not after start {start}")
            window = (segment_id or f"{source_id}_{int(start * 1000):08d}", start, end)
        items.append(
            MediaItem(
                name=str(path),
                path=path,
                emotion=_normalized_emotion(row.get("emotion"), where[-1]),
                source_id=source_id,
                split=check_split_name((row.get("split") or "").strip(), table, line) or "train",
                prefix=segment_id or source_id if window is None else "",
                window=window,
            )
        )
    _check_unique_ids(items, where)
    return items


@dataclass
class MediaSource:
    """Where the items' bytes come from: files, or a Hub dataset's video column (``dataset`` does not decode it;
    materialised per item)."""

    items: list[MediaItem]
    dataset: Any = None
    column: str = ""
    unlisted: list[ExtractionFailure] = field(default_factory=list)  # left out while listing a folder

    def open_path(self, item: MediaItem, scratch: Path) -> Path:
        """A file path to decode ``item`` from (a Hub dataset row's bytes are written to ``scratch``)."""
        if item.path is not None:
            return item.path
        value = self.dataset[item.row][self.column]
        suffix = Path(value.get("path") or "video.mp4").suffix or ".mp4"
        path = scratch / f"row{item.row:06d}{suffix}"
        path.write_bytes(value["bytes"])
        return path

    def identity(self, item: MediaItem, recorded: Mapping[str, Any] | None) -> dict[str, Any]:
        """What the item's bytes are: ``size`` and ``sha256`` of a file, and its ``mtime_ns``, ``inode`` and
        ``ctime_ns`` (``error`` if it cannot be read). The contents are hashed only when one of the four stat
        values differs from ``recorded`` (an earlier run's record; a key it lacks differs): a rerun over
        unchanged media then reads no media. Size and mtime alone (make, rsync) miss a file replaced by one of
        the same size whose mtime was kept (``cp -p``, ``os.utime``); a user cannot set the inode or the
        ctime, which a write, a rename onto the file or a ``utime`` call changes. A file hashed again keeps its
        features when its SHA-256 is the same (a touched, copied or ``chmod``-ed file)."""
        if item.path is None:
            data = self.dataset[item.row][self.column]["bytes"]
            return {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
        try:
            stat = item.path.stat()
            identity = {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
            identity |= {"inode": stat.st_ino, "ctime_ns": stat.st_ctime_ns}
            if recorded and all(recorded.get(key) == value for key, value in identity.items()):
                return {**identity, "sha256": recorded["sha256"]}
            return {**identity, "sha256": file_sha256(item.path)}
        except OSError as error:  # decoding reports it (failures.csv or the error)
            return {"error": error.strerror or str(error)}


def _hub_dataset_source(dataset, source: str, folder: Path | None) -> MediaSource:
    """The items of a Hub dataset loaded from the local ``folder`` (``None``: a Hub id).

    A dataset is someone else's data: a row's path (symlinks resolved; a relative one is relative to ``folder``,
    as ``datasets.Video`` says) must lead into ``folder``, or for a Hub id into the Hugging Face caches it was
    downloaded into, else the row is refused (extraction would turn ``/home/me/private.mp4`` into features).
    """
    from datasets import Video, config
    from huggingface_hub import constants

    roots = [folder] if folder is not None else [config.HF_DATASETS_CACHE, constants.HF_HUB_CACHE]
    roots = [Path(os.path.realpath(root)) for root in roots]
    allowed = "the dataset's folder " if folder is not None else "the Hugging Face caches "
    allowed += " and ".join(map(str, roots))
    columns = [name for name, feature in dataset.features.items() if isinstance(feature, Video)]
    if not columns:
        raise ValueError(f"the dataset has no Video column (columns: {', '.join(dataset.column_names)})")
    column = columns[0]
    raw = dataset.cast_column(column, Video(decode=False))
    label_column = next((name for name in ("emotion", "label") if name in raw.column_names), None)
    label_feature = raw.features.get(label_column) if label_column else None
    videos = raw.select_columns([column])[column]
    labels = raw[label_column] if label_column else [None] * len(videos)
    stems = [
        Path(value["path"]).stem if value and value.get("path") else f"row{row:06d}"
        for row, value in enumerate(videos)
    ]
    # Rows of one file name (from two folders) get their row number too, so that their segment ids differ.
    repeated = {stem for stem, count in Counter(stems).items() if count > 1}
    items = []
    for row, (value, label, stem) in enumerate(zip(videos, labels, stems, strict=True)):
        where = f"{source}, row {row}"
        if not value or (value.get("bytes") is None and not value.get("path")):
            raise ValueError(f"{where}: the {column!r} column holds no video")
        path = None
        if value.get("bytes") is None:
            # realpath, not resolve: a symlink loop gives a path that does not exist (decoding reports it).
            path = Path(os.path.realpath((folder or Path()) / value["path"]))
            shown = value["path"] + ("" if value["path"] == str(path) else f" (-> {path})")
            inside = any(path.is_relative_to(root) for root in roots)
            if not inside or (path.exists() and not path.is_file()):  # a FIFO or a device: blocks, never ends
                what = f"is outside {allowed}" if not inside else "is not a regular file"
                raise ValueError(f"{where}: the {column!r} column's path {shown} {what}; refused")
        if hasattr(label_feature, "int2str") and isinstance(label, int):
            label = label_feature.int2str(label) if label >= 0 else ""
        source_id = f"{stem}-row{row}" if stem in repeated else stem
        emotion = _normalized_emotion(label, where)
        items.append(
            MediaItem(
                f"{source}[{row}] {stem}", path, row, emotion=emotion, source_id=source_id, prefix=source_id
            )
        )
    _check_unique_ids(items, [f"{source}, row {item.row}" for item in items])
    return MediaSource(items, dataset=raw, column=column)


def list_media(media: str | os.PathLike, *, split: str = "train") -> MediaSource:
    """The media items of a folder (every media file below it, sorted; an emotion-named parent folder labels
    it), a CSV (``path`` and optionally ``segment_id, start, end, emotion, source_id, split``) or a Hub dataset
    (a local folder or ``ORG/NAME``) with a ``Video`` column (and optionally ``emotion`` / ``label``)."""
    # Absolute: the ``media`` column names each file for whoever uses the library later, from any folder.
    media_path = Path(os.path.abspath(Path(media).expanduser()))
    if media_path.is_dir():
        # unlisted: sub-folders that could not be listed (a file below one must not vanish) and media names that
        # are not files (a FIFO or a device would block the decoder for ever)
        files, unlisted = [], []

        def unreadable(error: OSError) -> None:
            reason = f"cannot list the folder ({error.strerror or error}): its media files are left out"
            unlisted.append(ExtractionFailure(str(error.filename), "", reason))

        for root, _, names in os.walk(media_path, onerror=unreadable, followlinks=True):
            for path in (Path(root, name) for name in names if Path(name).suffix.lower() in MEDIA_EXTENSIONS):
                if path.exists() and not path.is_file():
                    unlisted.append(
                        ExtractionFailure(str(path), "", "not a regular file (a FIFO or a device)")
                    )
                else:
                    files.append(path)
        if files or unlisted:
            relative = {path: path.relative_to(media_path) for path in sorted(files)}
            items = [
                MediaItem(
                    str(p), p, emotion=_emotion_from_folder(r), source_id=media_id(r), prefix=media_id(r)
                )
                for p, r in relative.items()
            ]
            _check_unique_ids(items, [item.name for item in items])
            return MediaSource(items, unlisted=unlisted)
    elif media_path.is_file():
        return MediaSource(_items_of_csv(media_path))
    if not media_path.exists() and str(media).count("/") != 1:
        raise FileNotFoundError(f"{media}: neither a folder, a CSV file nor a Hub dataset id (ORG/NAME)")
    from emomv_hf.data.loading import load_hub_dataset

    try:
        dataset = load_hub_dataset(media, split=split)
    except Exception as error:  # datasets raises many kinds; all mean "not a dataset we can read"
        what = "cannot load the Hub dataset"
        if media_path.is_dir():
            what = f"no media files ({', '.join(MEDIA_EXTENSIONS)}) and not a Hub dataset folder"
        raise FileNotFoundError(f"{media}: {what} ({type(error).__name__}: {error})") from None
    return _hub_dataset_source(dataset, str(media), media_path if media_path.is_dir() else None)


# ------------------------------------------------------------------------------------------------------------
# Decoding (in DataLoader workers) and the models (in the main loop)
# ------------------------------------------------------------------------------------------------------------


@dataclass
class _DecodedSegment:
    """One time window (seconds) of one media item, decoded and preprocessed."""

    segment_id: str
    start: float
    end: float
    video: dict[str, torch.Tensor] | None = None  # SlowFast processor output, batch of one
    music: torch.Tensor | None = None  # VGGish examples (E, 1, 96, 64)
    error: str = ""  # neither stream could be read: the segment is left out
    dropped: str = ""  # one stream could not be read: its feature is null


def _decode_item(
    item: MediaItem,
    source: MediaSource,
    segment_seconds: float,
    video_processor,
    audio_processor,
    scratch: Path,
) -> tuple[list[_DecodedSegment], str]:
    """Cut one media item into segments, decode and preprocess them (the DataLoader's ``collate_fn``: it runs
    in the workers). Returns the segments, or ``[]`` and why the file could not be cut into segments."""
    try:
        path = source.open_path(item, scratch)
        info = probe_media(path)
        if not info.has_video and not info.has_audio:
            raise MediaError(f"{path}: no video and no audio stream")
        if info.duration is None and (item.window is None or item.window[2] is None):
            raise MediaError(f"{path}: unknown duration; give start/end times in a CSV")
    except (MediaError, ValueError, OSError) as error:
        return [], str(error).removeprefix(f"{item.path}: ")
    if item.window is not None:
        segment_id, start, end = item.window
        segments = [_DecodedSegment(segment_id, start, info.duration if end is None else end)]
    else:
        windows = enumerate(split_into_segments(info.duration, segment_seconds), start=1)
        segments = [_DecodedSegment(f"{item.prefix}_{i:02d}", start, end) for i, (start, end) in windows]
    audio, audio_error = None, ""
    if info.has_audio:
        try:
            # Up to the last window's end: silence before late audio is then bounded by the windows.
            audio = read_audio(path, end=max((segment.end for segment in segments), default=None))
        except MediaError as error:
            audio_error = str(error)
    for segment in segments:
        # A stream that cannot be read (audio too short for one VGGish example, no frames in the window) makes
        # only its own feature null, as a file without that stream does; the segment fails without both.
        errors = []
        if info.has_video:
            try:
                frames = read_video_frames(
                    path, segment.start, segment.end, num_frames=video_processor.num_frames
                )
                segment.video = dict(video_processor(frames, return_tensors="pt"))
            except (MediaError, ValueError) as error:
                errors.append(f"video: {error}")
        if info.has_audio:
            try:
                if audio is None:
                    raise MediaError(audio_error)
                first = int(round(segment.start * VGGISH_SAMPLE_RATE))
                last = int(round(segment.end * VGGISH_SAMPLE_RATE))
                segment.music = audio_processor.examples(audio[first:last], VGGISH_SAMPLE_RATE)
            except (MediaError, ValueError) as error:  # ValueError: too short for one 0.96 s example
                errors.append(f"music: {error}")
        if segment.video is None and segment.music is None:
            segment.error = "; ".join(errors)
        elif errors:
            segment.dropped = "; ".join(errors)
    if item.path is None:
        path.unlink(missing_ok=True)  # a Hub row's scratch copy
    return segments, ""


# ------------------------------------------------------------------------------------------------------------
# Shards
# ------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Shard:
    """``files`` (indices into the item list) of one split, written to ``path`` (relative to the folder)."""

    split: str
    path: str
    files: tuple[int, ...]


def plan_shards(items: Sequence[MediaItem], files_per_shard: int) -> list[Shard]:
    """Consecutive groups of ``files_per_shard`` items per split (splits in first-appearance order)."""
    if files_per_shard < 1:
        raise ValueError("files_per_shard must be >= 1")
    by_split: dict[str, list[int]] = {}
    for index, item in enumerate(items):
        by_split.setdefault(item.split, []).append(index)
    shards = []
    for split, indices in by_split.items():
        groups = [indices[i : i + files_per_shard] for i in range(0, len(indices), files_per_shard)]
        shards += [
            Shard(split, shard_path(CONFIG, split, k, len(groups)), tuple(group))
            for k, group in enumerate(groups)
        ]
    return shards


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def _item_record(item: MediaItem) -> dict[str, Any]:
    """What an item's rows depend on besides its bytes: its name, labels, split, id prefix and window."""
    return {key: value for key, value in asdict(item).items() if key not in ("path", "row")}


PREPROCESSING_REVISION = 4
"""The revision of the code between a file's bytes and the extractors' inputs (decoding, frame timing and rotation,
streams taken, resampling, cropping). Raise it with any change that alters features of the same bytes and weights:
shards of another revision are then redone (2: window times from a stream's first frame, rotation metadata, cover
art left out, the tutorial's centre crop; 3: audio and durations on the first video frame's timeline, Matroska's
durations from its last packets; 4: pytorchvideo's frames of a window, not the nearest to evenly spaced times)."""


def _features_key(settings: Mapping[str, Any]) -> str:
    """What every feature of a shard depends on: the segment length, the preprocessing revision and each
    extractor's fingerprint (not where its folder is, nor ``files_per_shard``, which only groups the rows)."""
    key = {"segment_seconds": settings.get("segment_seconds"), "preprocessing": settings.get("preprocessing")}
    for kind, fingerprint in settings.get("extractors", {}).items():
        random = "random weights " if fingerprint.get("random_weights") else ""
        key[f"{kind} extractor"] = random + fingerprint.get("sha256", "")
    return _canonical(key)


def _bytes_key(identity: Mapping[str, Any]) -> dict[str, Any]:
    """What a media identity says of the bytes (its stat values only say when to hash them again)."""
    return {key: value for key, value in identity.items() if key not in ("mtime_ns", "inode", "ctime_ns")}


def _write_shard(path: Path, table: pa.Table, inputs: list[dict], settings: dict) -> None:
    """``inputs``: per item, ``{"item", "file", "rows", "failures"}`` (its rows are consecutive, in order)."""
    metadata = {_INPUTS_KEY: _canonical(inputs), _SETTINGS_KEY: _canonical(settings)}
    write_parquet(path, table, metadata)


def recorded_extraction_settings(folder: str | os.PathLike) -> dict | None:
    """The settings (``segment_seconds``, ``files_per_shard``, ``extractors``: kind -> ``source``, ``sha256``,
    ``random_weights``) the extraction that wrote ``folder`` recorded in its shards, or ``None`` for a folder
    without extraction shards (a built EmoMV dataset, a Hub id)."""
    shards = sorted(Path(folder).glob(f"{DATA_DIR}/{CONFIG}/*.parquet"))
    metadata = (pq.read_schema(shards[0]).metadata or {}) if shards else {}
    return json.loads(metadata[_SETTINGS_KEY.encode()]) if _SETTINGS_KEY.encode() in metadata else None


@dataclass
class _Recorded:
    """What an earlier run's shard ``path`` (Parquet ``metadata``) recorded for one item: its ``inputs`` entry,
    the first of its rows (``offset``) and the shard's ``features`` key (:func:`_features_key`)."""

    path: Path
    metadata: dict[bytes, bytes]
    entry: dict
    offset: int
    features: str


def _recorded_rows(record: _Recorded, tables: dict[Path, pa.Table | None]) -> pa.Table | None:
    """The rows of ``record`` if its shard still holds them (``tables`` caches the shards read). A shard this
    run rewrote (the same name in a new layout of the media) no longer does: its items are extracted again."""
    if record.path not in tables:
        try:
            tables[record.path] = pq.read_table(record.path)
        except FileNotFoundError:
            tables[record.path] = None
    table = tables[record.path]
    if table is None or table.schema.metadata != record.metadata:
        return None
    return table.slice(record.offset, record.entry["rows"])


def _earlier_records(output_dir: Path) -> tuple[dict[str, _Recorded], list[Path]]:
    """The records of the shards already in ``output_dir`` (item record, canonical -> :class:`_Recorded`) and
    the shards. Parquet files an extraction did not write are refused (never deleted)."""
    records: dict[str, _Recorded] = {}
    shards = sorted((output_dir / DATA_DIR / CONFIG).glob("*.parquet"))
    for path in shards:
        try:
            metadata = pq.read_schema(path).metadata or {}
        except (OSError, pa.ArrowException) as error:
            raise FileExistsError(f"{path}: not a readable Parquet shard ({error}); remove it") from None
        if _SETTINGS_KEY.encode() not in metadata:
            raise FileExistsError(
                f"{output_dir}: {path.name} was not written by an extraction; use another --output-dir"
            )
        features, offset = _features_key(json.loads(metadata[_SETTINGS_KEY.encode()])), 0
        for entry in json.loads(metadata.get(_INPUTS_KEY.encode(), b"[]")):
            records[_canonical(entry["item"])] = _Recorded(path, metadata, entry, offset, features)
            offset += entry["rows"]
        if _INPUTS_KEY.encode() not in metadata:  # its files are extracted again, as new ones
            logger.warning("%s: written without a record of its media (an older emomv-hf): redone", path)
    return records, shards


def _describe_change(old: str, new: str) -> str:
    """How two :func:`_features_key` values differ, in words (``slowfast extractor 1a2b3c4d5e6f -> ...``)."""
    old_key, new_key = json.loads(old), json.loads(new)
    return ", ".join(
        f"{name} {str(old_key.get(name))[:27]} -> {str(value)[:27]}"  # enough of a hash to tell two apart
        for name, value in new_key.items()
        if old_key.get(name) != value
    )


def _build_shard(
    shard: Shard,
    source: MediaSource,
    records: dict[str, _Recorded],
    settings: dict,
    output_dir: Path,
    extract,
) -> tuple[int, int]:
    """Bring one shard up to date; ``(segments extracted, segments kept)``.

    Each item's rows are kept when an earlier run recorded the same item with the same bytes and the same
    features key, else extracted (``extract(items)``: :func:`_extract_items`). A shard whose every item is kept
    as it stands is not rewritten; otherwise one line says why it is redone.
    """
    features = _features_key(settings)
    path = output_dir / shard.path
    items = [source.items[index] for index in shard.files]
    keys = [_canonical(_item_record(item)) for item in items]
    earlier = [records.get(key) for key in keys]
    files = [
        source.identity(item, old.entry["file"] if old else None)
        for item, old in zip(items, earlier, strict=True)
    ]
    same_bytes = [
        old is not None and _bytes_key(old.entry["file"]) == _bytes_key(file)
        for old, file in zip(earlier, files, strict=True)
    ]
    usable = [same and old.features == features for same, old in zip(same_bytes, earlier, strict=True)]
    if all(usable) and all(old.path == path for old in earlier):
        metadata = earlier[0].metadata
        recorded = json.loads(metadata[_INPUTS_KEY.encode()])
        if [_canonical(entry["item"]) for entry in recorded] == keys:  # this shard, as it stands
            inputs = [{**old.entry, "file": file} for old, file in zip(earlier, files, strict=True)]
            if recorded != inputs or json.loads(metadata[_SETTINGS_KEY.encode()]) != settings:
                # Same bytes, new stat values (touched media) or a moved extractor folder: only records change.
                _write_shard(path, pq.read_table(path), inputs, settings)
            return 0, sum(entry["rows"] for entry in inputs)

    tables: dict[Path, pa.Table | None] = {}
    kept = [_recorded_rows(old, tables) if ok else None for old, ok in zip(earlier, usable, strict=True)]
    reasons = Counter()
    names = {record.entry["item"]["name"] for record in records.values()}
    for item, old, same, ok in zip(items, earlier, same_bytes, kept, strict=True):
        if ok is not None:
            reasons["kept"] += 1
        elif same and old.features != features:
            reasons[f"extracted with other settings ({_describe_change(old.features, features)})"] += 1
        elif same:
            reasons["unchanged but overwritten in this run (a new layout)"] += 1
        else:
            reasons["changed" if item.name in names else "new"] += 1
    stale = {reason: count for reason, count in reasons.items() if reason not in {"kept", "new"}}
    (logger.warning if stale else logger.info if records else logger.debug)(
        "%s %s: %s",
        "redoing" if stale else "writing",
        shard.path,
        ", ".join(f"{count} {reason} file(s)" for reason, count in reasons.items()),
    )
    to_extract = [item for item, piece in zip(items, kept, strict=True) if piece is None]
    extracted = iter(extract(to_extract) if to_extract else [])
    pieces, inputs = [], []
    for item, old, file, piece in zip(items, earlier, files, kept, strict=True):
        if piece is not None:
            failures = old.entry["failures"]
        else:
            rows, found = next(extracted)
            columns = {name: [row[name] for row in rows] for name in EXTRACTED_SEGMENT_FEATURES}
            piece = schema_table(columns, EXTRACTED_SEGMENT_FEATURES)
            failures = [f._asdict() for f in found]
        pieces.append(piece)
        inputs.append(
            {"item": _item_record(item), "file": file, "rows": piece.num_rows, "failures": failures}
        )
    table = pa.concat_tables(pieces).combine_chunks()
    _write_shard(path, table, inputs, settings)
    reused = sum(piece.num_rows for piece in kept if piece is not None)
    return table.num_rows - reused, reused


@dataclass
class ExtractionSummary:
    """What :func:`extract_dataset` did: segments ``extracted`` now and ``skipped`` (in shards an earlier run
    finished), summed over the processes; ``rows`` / ``all_failures`` (segments and files left out) count the
    whole folder (main process only)."""

    output_dir: Path
    extracted: int = 0
    skipped: int = 0
    rows: int = 0
    all_failures: list[ExtractionFailure] = field(default_factory=list)


@torch.no_grad()
def _extract_items(
    items: Sequence[MediaItem],
    source: MediaSource,
    extractors: Callable[[], dict],
    *,
    segment_seconds: float,
    on_error: str,
    num_workers: int,
    batch_size: int,
    scratch: Path,
    progress,
) -> list[tuple[list[dict], list[ExtractionFailure]]]:
    """The rows and the failures of each item, in order (``extractors()`` loads the extractors)."""
    video_processor, video_model = extractors()["slowfast"]
    audio_processor, audio_model = extractors()["vggish"]
    decode = functools.partial(
        _decode_item,
        source=source,
        segment_seconds=segment_seconds,
        video_processor=video_processor.video_processor,
        audio_processor=audio_processor.feature_extractor,
        scratch=scratch,
    )
    # Without batching (batch_size=None) the loader calls ``collate_fn`` on each item, in its workers.
    loader = torch.utils.data.DataLoader(items, batch_size=None, num_workers=num_workers, collate_fn=decode)
    results: list[tuple[list[dict], list[ExtractionFailure]]] = []

    def fail(media: str, segment_id: str, reason: str) -> None:
        message = f"segment {segment_id!r} ({media}): {reason}" if segment_id else f"{media}: {reason}"
        if on_error == "raise":
            raise FeatureExtractionError(message)
        logger.error("skipped %s", message)
        results[-1][1].append(ExtractionFailure(media, segment_id, reason))  # the item being extracted

    # The loader yields the items' decodings in order (also from workers).
    for item, (segments, error) in zip(items, loader, strict=True):
        media = item.name
        rows: list[dict] = []
        results.append((rows, []))
        if error:
            fail(media, "", error)
        good = [s for s in segments if not s.error]
        for bad in segments:
            if bad.error:
                fail(media, bad.segment_id, bad.error)
            elif bad.dropped:
                logger.warning("segment %r (%s): %s; kept without it", bad.segment_id, media, bad.dropped)
        video_features: dict[str, np.ndarray] = {}
        with_video = [s for s in good if s.video is not None]
        for start in range(0, len(with_video), batch_size):
            batch = with_video[start : start + batch_size]
            inputs = {key: torch.cat([s.video[key] for s in batch]) for key in batch[0].video}
            output = video_model(**{key: value.to(video_model.device) for key, value in inputs.items()})
            for s, feature in zip(batch, output.pooler_output.float().cpu().numpy(), strict=True):
                video_features[s.segment_id] = feature
        for s in good:
            video, music = video_features.get(s.segment_id), None
            if s.music is not None:
                output = audio_model(s.music.unsqueeze(0).to(audio_model.device))
                music = output.pooler_output[0].float().cpu().numpy()
            # Bad media can make a feature NaN/inf.
            streams = (("video (SlowFast)", video), ("music (VGGish)", music))
            if bad := [kind for kind, array in streams if array is not None and not np.isfinite(array).all()]:
                where = f"segment {s.segment_id!r} ({media}, {s.start:.2f}-{s.end:.2f} s)"
                fail(media, s.segment_id, f"{where}: {bad[0]} feature holds NaN/inf")
                continue
            rows.append(
                {
                    "segment_id": s.segment_id,
                    "emotion": EMOTION_TO_INDEX[item.emotion] if item.emotion else None,
                    "video_features": video,
                    "music_features": music,
                    "source": item.source_id,
                    "start": s.start,
                    "end": s.end,
                    "media": media,
                }
            )
        progress.update(1)
    return results


def _finalize(
    output_dir: Path,
    shards: Sequence[Shard],
    earlier_shards: Sequence[Path],
    records: Mapping[str, _Recorded],
    source: MediaSource,
    settings: dict,
    media: str,
) -> tuple[int, list[ExtractionFailure]]:
    """Main process, after every shard is written: remove the earlier shards this run's plan does not have
    (media files removed, another ``files_per_shard``), naming the media files whose rows go with them; write
    the card and ``failures.csv``. Returns the folder's rows and failures (first the sub-folders of the media
    that could not be listed)."""
    from ..data.card import make_extraction_card

    gone = sorted(
        {record.entry["item"]["name"] for record in records.values()} - {i.name for i in source.items}
    )
    if gone:
        shown = ", ".join(gone[:5]) + (f" and {len(gone) - 5} more" if len(gone) > 5 else "")
        logger.warning(
            "dropping the segments of %d media file(s) no longer in the media: %s", len(gone), shown
        )
    planned = {output_dir / shard.path for shard in shards}
    for path in earlier_shards:
        if path not in planned:
            path.unlink(missing_ok=True)

    tables: dict[str, list[pa.Table]] = {}
    failures = list(source.unlisted)
    for shard in shards:
        table = pq.read_table(output_dir / shard.path)
        tables.setdefault(shard.split, []).append(table)
        for entry in json.loads(table.schema.metadata[_INPUTS_KEY.encode()]):
            failures += [ExtractionFailure(**failure) for failure in entry["failures"]]
    by_split = {split: pa.concat_tables(parts) for split, parts in tables.items()}
    card = make_extraction_card(
        name=output_dir.name, tables=by_split, settings=settings, media=media, left_out=len(failures)
    )
    atomic_write_text(output_dir / "README.md", str(card))
    if failures:
        with atomic_open(output_dir / FAILURES_CSV, newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=["media", "segment_id", "reason"])
            writer.writeheader()
            writer.writerows({**f._asdict(), "reason": f.reason.replace("\n", " ")} for f in failures)
    else:  # a report from an earlier run would no longer be true
        (output_dir / FAILURES_CSV).unlink(missing_ok=True)
    return sum(table.num_rows for table in by_split.values()), failures


def extract_dataset(
    media: str | os.PathLike,
    output_dir: str | os.PathLike,
    extractor: ExtractorArguments | None = None,
    *,
    on_error: str = "raise",
    progress: bool = True,
    files_per_shard: int = 16,
    num_workers: int = 0,
    batch_size: int = 1,
    dataset_split: str = "train",
) -> ExtractionSummary:
    """Extract the features of every segment of ``media`` into the Hub dataset folder ``output_dir``.

    Args:
        media: a folder, a CSV or a Hub dataset (see :func:`list_media`).
        output_dir: the dataset folder (module docstring); the rows of its shards that still hold are kept.
        extractor: the extractors (converted checkpoint folders, or random weights for tests), the segment
            length and the device (default: this process's accelerate device); built only when a file is left
            to extract.
        on_error: ``"raise"`` stops at the first bad file or segment; ``"skip"`` logs it, leaves it out and lists
            it with its reason in ``failures.csv``.
        files_per_shard: media files per Parquet shard (the unit of resuming and of splitting between processes).
        num_workers: DataLoader workers decoding media while the models run (0: decode in this process).
        batch_size: SlowFast clips per model call (the last bits of a feature may depend on it).
        dataset_split: the split of a Hub dataset ``media`` to read.
    """
    from accelerate import PartialState
    from accelerate.utils import gather_object
    from tqdm.auto import tqdm

    if on_error not in {"raise", "skip"}:
        raise ValueError("on_error must be 'raise' or 'skip'")
    extractor = extractor or ExtractorArguments()
    # Missing weights or a bad --extractor folder are refused before anything is read.
    fingerprints = extractor.fingerprints()
    # On a machine without a GPU (or with --device cpu), torchrun's processes are CPU processes (gloo).
    device = extractor.device
    cpu = (device is not None and torch.device(device).type == "cpu") or not torch.cuda.is_available()
    state = PartialState(cpu=cpu)
    source = list_media(media, split=dataset_split)
    if not source.items:  # e.g. every file below an unreadable folder: an error, not an empty dataset
        raise MediaError(
            f"{media}: no media file to extract"
            + "".join(f"; {f.media}: {f.reason}" for f in source.unlisted)
        )
    if source.unlisted and on_error == "raise":
        raise MediaError(f"{source.unlisted[0].media}: {source.unlisted[0].reason} (--skip-errors goes on)")
    shards = plan_shards(source.items, files_per_shard)
    output_dir = Path(output_dir)
    settings = {"segment_seconds": extractor.segment_seconds, "files_per_shard": files_per_shard}
    settings["preprocessing"] = PREPROCESSING_REVISION
    settings["extractors"] = fingerprints
    summary = ExtractionSummary(output_dir)
    created = not output_dir.exists()
    label = f"extracting (process {state.process_index})" if state.num_processes > 1 else "extracting"
    # Built on the first item that needs them.
    extractors = functools.cache(lambda: extractor.load(extractor.device or str(state.device)))
    try:
        with (
            _main_process_lock(state, output_dir),
            tempfile.TemporaryDirectory(prefix="emomv-media-") as scratch,
        ):
            # Every process reads what the earlier shards recorded before any process rewrites one.
            records, earlier_shards = _earlier_records(output_dir)
            state.wait_for_everyone()
            with state.split_between_processes(shards) as mine:  # this process's share
                total = sum(len(shard.files) for shard in mine)
                bar = tqdm(total=total, desc=label, unit="file", disable=not progress)

                extract = functools.partial(
                    _extract_items,
                    source=source,
                    extractors=extractors,
                    segment_seconds=extractor.segment_seconds,
                    on_error=on_error,
                    num_workers=num_workers,
                    batch_size=batch_size,
                    scratch=Path(scratch),
                    progress=bar,
                )

                done = 0
                for shard in mine:
                    extracted, kept = _build_shard(shard, source, records, settings, output_dir, extract)
                    summary.extracted += extracted
                    summary.skipped += kept
                    done += len(shard.files)
                    bar.update(done - bar.n)  # the files kept as they were
                bar.close()
            # Totals of every process (all_gather_object: every process takes part; one process: as is).
            counts = gather_object([(summary.extracted, summary.skipped)])
            summary.extracted, summary.skipped = (sum(values) for values in zip(*counts, strict=True))
            state.wait_for_everyone()
            if state.is_main_process:
                summary.rows, summary.all_failures = _finalize(
                    output_dir, shards, earlier_shards, records, source, settings, str(media)
                )
            state.wait_for_everyone()
    except BaseException:
        if created and output_dir.is_dir() and not any(output_dir.iterdir()):
            output_dir.rmdir()  # a run that failed before writing anything leaves no empty folder behind
        raise
    if summary.all_failures:
        logger.error(
            "%d item(s) left out, listed with their reasons in %s",
            len(summary.all_failures),
            output_dir / FAILURES_CSV,
        )
    return summary


@contextmanager
def _main_process_lock(state, output_dir: Path) -> Iterator[None]:
    """Hold the output folder's :data:`LOCK_FILE` for the whole run: an OS lock (``filelock``), so the lock of a
    killed run is released with its process. Under torchrun the processes of one job share the folder: the main
    process takes the lock and tells the others whether it could."""
    from accelerate.utils import broadcast_object_list
    from filelock import FileLock, Timeout

    path = output_dir / LOCK_FILE
    lock = FileLock(path, timeout=0)
    refused = None
    if state.is_main_process:
        output_dir.mkdir(parents=True, exist_ok=True)
        try:
            lock.acquire()
        except Timeout:
            refused = f"{output_dir}: another extraction is writing it (it holds {path}); wait for it"
    if state.num_processes > 1:
        refused = broadcast_object_list([refused])[0]
    if refused is not None:
        raise FileExistsError(refused)
    try:
        yield
    finally:
        if lock.is_locked:
            # Removed while held (a run that opened it before then finds it unlinked and is refused), so the
            # folder ends as a run without a lock would leave it.
            path.unlink()
            lock.release()
