"""Batch extraction: media files -> a Hub dataset folder of per-segment SlowFast / VGGish features.

Layout of the output folder (``load_dataset(OUT, "segments")`` reads it; ``create_pairs.py --segments OUT``
pairs it)::

    OUT/README.md                                        card; its YAML declares the config and features
    OUT/data/segments/<split>-<k>-of-<n>.parquet         rows of :data:`~emomv_hf.data.schema.EXTRACTED_SEGMENT_FEATURES`
    OUT/failures.csv                                     media files / segments left out, with the reason

The media files are cut into shards of ``files_per_shard`` files in a fixed order. A shard is written
atomically when all its files are done, so a rerun skips finished shards and a killed run loses at most the
shards in progress; the shards also record the files they left out (in their Parquet metadata), from which
``failures.csv`` is rebuilt. Under ``torchrun`` / ``accelerate launch`` the shards are split between the
processes (``PartialState.split_between_processes``); the main process writes the card after all are done, so
the folder is the same as a single-process run's.
"""

from __future__ import annotations

import csv
import functools
import json
import logging
import os
import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import torch

from ..data.hub_folder import DATA_DIR, shard_path, write_parquet
from ..data.schema import EXTRACTED_SEGMENT_FEATURES, schema_table
from ..emotions import EMOTION_TO_INDEX, UnknownEmotionError, normalize_emotion
from ..io_utils import atomic_open, atomic_write_text, read_csv_records
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
_FAILURES_KEY = "emomv_failures"
_SETTINGS_KEY = "emomv_extraction"


class FeatureExtractionError(RuntimeError):
    """Extraction of one segment failed (bad media, non-finite features); the message names the segment."""


@dataclass(frozen=True)
class ExtractionFailure:
    """A media file (``segment_id`` empty: it could not even be cut into segments) or a segment left out."""

    media: str
    segment_id: str
    reason: str


@dataclass(frozen=True)
class MediaItem:
    """One media file to extract (the unit of sharding): a path, or row ``row`` of a Hub dataset's video
    column. ``window`` ``(segment_id, start, end)`` gives one explicit segment (a CSV row with times);
    without it the file is cut into segments named ``<prefix or stem>_<NN>``."""

    name: str
    path: Path | None = None
    row: int | None = None
    emotion: str = ""
    source_id: str = ""
    split: str = "train"
    prefix: str = ""
    window: tuple[str, float, float | None] | None = None


@dataclass(frozen=True)
class MediaSegment:
    """One time window of one media file to extract (times in seconds)."""

    segment_id: str
    path: Path
    start: float
    end: float
    emotion: str = ""
    source_id: str = ""


def _emotion_from_folder(path: Path) -> str:
    """Emotion named by a parent folder (e.g. the EmoMV-A layout ``.../Fear/video/x.mp4``), else ``""``."""
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


def _split_name(text: str, where: str) -> str:
    """A CSV row's ``split`` (default ``train``): it names the shard files, so it must be a split name the
    ``datasets`` library accepts (word characters and single dots: no path separator, no ``..``)."""
    from datasets.naming import _split_re

    split = text.strip() or "train"
    if not re.match(_split_re, split):
        raise ValueError(f"{where}, field split: {split!r} is not a split name (letters, digits, _ and .)")
    return split


def _items_of_csv(table: Path) -> list[MediaItem]:
    header, rows = read_csv_records(table)
    if "path" not in header:
        raise ValueError(f"{table}: a media CSV needs a 'path' column (header: {header})")
    items = []
    for line, row in enumerate(rows, start=2):
        where = f"{table}, line {line}"
        path = Path(row["path"].strip())
        path = path if path.is_absolute() else table.parent / path
        segment_id = (row.get("segment_id") or "").strip()
        start_text, end_text = (row.get("start") or "").strip(), (row.get("end") or "").strip()
        window = None
        if start_text or end_text:
            try:
                start = float(start_text or 0.0)
                end = float(end_text) if end_text else None
            except ValueError:
                raise ValueError(f"{where}: start/end must be numbers of seconds") from None
            if end is not None and end <= start:
                raise ValueError(f"{where}: empty time window [{start}, {end})")
            window = (segment_id or f"{path.stem}_{int(start * 1000):08d}", start, end)
        items.append(
            MediaItem(
                name=str(path),
                path=path,
                emotion=_normalized_emotion(row.get("emotion"), where),
                source_id=(row.get("source_id") or "").strip() or path.stem,
                split=_split_name(row.get("split") or "", where),
                prefix=segment_id if window is None else "",
                window=window,
            )
        )
    return items


@dataclass
class MediaSource:
    """Where the items' bytes come from: files, or a Hub dataset's video column (``dataset`` does not decode it;
    materialised per item)."""

    items: list[MediaItem]
    dataset: Any = None
    column: str = ""

    def open_path(self, item: MediaItem, scratch: Path) -> Path:
        """A file path to decode ``item`` from (a Hub dataset row's bytes are written to ``scratch``)."""
        if item.path is not None:
            return item.path
        value = self.dataset[item.row][self.column]
        if value.get("bytes") is None:
            return Path(value["path"])
        suffix = Path(value.get("path") or "video.mp4").suffix or ".mp4"
        path = scratch / f"row{item.row:06d}{suffix}"
        path.write_bytes(value["bytes"])
        return path


def _hub_dataset_source(dataset, source: str) -> MediaSource:
    from datasets import Video

    columns = [name for name, feature in dataset.features.items() if isinstance(feature, Video)]
    if not columns:
        raise ValueError(f"the dataset has no Video column (columns: {', '.join(dataset.column_names)})")
    column = columns[0]
    raw = dataset.cast_column(column, Video(decode=False))
    label_column = next((name for name in ("emotion", "label") if name in raw.column_names), None)
    label_feature = raw.features.get(label_column) if label_column else None
    items = []
    for row, value in enumerate(raw.select_columns([column])[column]):
        where = f"{source}, row {row}"
        if not value or (value.get("bytes") is None and not value.get("path")):
            raise ValueError(f"{where}: the {column!r} column holds no video")
        stem = Path(value["path"]).stem if value.get("path") else f"row{row:06d}"
        emotion = ""
        if label_column is not None:
            label = raw[row][label_column]
            if hasattr(label_feature, "int2str") and isinstance(label, int):
                label = label_feature.int2str(label) if label >= 0 else ""
            emotion = _normalized_emotion(label, where)
        items.append(MediaItem(name=f"{source}[{row}] {stem}", row=row, emotion=emotion, source_id=stem))
    return MediaSource(items, dataset=raw, column=column)


def list_media(media: str | os.PathLike, *, split: str = "train") -> MediaSource:
    """The media items of a folder (every media file below it, sorted; an emotion-named parent folder labels
    it), a CSV (``path`` and optionally ``segment_id, start, end, emotion, source_id, split``) or a Hub dataset
    (a local folder or ``ORG/NAME``) with a ``Video`` column (and optionally ``emotion`` / ``label``)."""
    media_path = Path(media)
    if media_path.is_dir():
        files = sorted(
            p for p in media_path.rglob("*") if p.is_file() and p.suffix.lower() in MEDIA_EXTENSIONS
        )
        if files:
            return MediaSource(
                [
                    MediaItem(name=str(p), path=p, emotion=_emotion_from_folder(p), source_id=p.stem)
                    for p in files
                ]
            )
    elif media_path.is_file():
        return MediaSource(_items_of_csv(media_path))
    if not media_path.exists() and str(media).count("/") != 1:
        raise FileNotFoundError(f"{media}: neither a folder, a CSV file nor a Hub dataset id (ORG/NAME)")
    from emomv_hf.data.loading import load_hub_dataset

    try:
        dataset = load_hub_dataset(media, split=split)
    except Exception as error:  # datasets raises many kinds; all mean "not a dataset we can read"
        if media_path.is_dir():
            raise FileNotFoundError(
                f"{media}: no media files ({', '.join(MEDIA_EXTENSIONS)}) and not a Hub dataset folder "
                f"({type(error).__name__}: {error})"
            ) from None
        raise FileNotFoundError(
            f"{media}: cannot load the Hub dataset ({type(error).__name__}: {error})"
        ) from None
    return _hub_dataset_source(dataset, str(media))


def _segments_of_item(item: MediaItem, path: Path, segment_seconds: float) -> tuple[list[MediaSegment], Any]:
    """The segments of one item and the probed stream facts (``MediaError`` for an unusable file)."""
    info = probe_media(path)
    if not info.has_video and not info.has_audio:
        raise MediaError(f"{path}: no video and no audio stream")
    if info.duration is None and (item.window is None or item.window[2] is None):
        raise MediaError(f"{path}: unknown duration; give start/end times in a CSV")
    if item.window is not None:
        segment_id, start, end = item.window
        end = info.duration if end is None else end
        return [MediaSegment(segment_id, path, start, end, item.emotion, item.source_id)], info
    stem = item.prefix or item.source_id or path.stem
    return [
        MediaSegment(f"{stem}_{index:02d}", path, start, end, item.emotion, item.source_id)
        for index, (start, end) in enumerate(split_into_segments(info.duration, segment_seconds), start=1)
    ], info


# ------------------------------------------------------------------------------------------------------------
# Decoding (in DataLoader workers) and the models (in the main loop)
# ------------------------------------------------------------------------------------------------------------


@dataclass
class _DecodedSegment:
    segment: MediaSegment
    video: dict[str, torch.Tensor] | None = None  # SlowFast processor output, batch of one
    music: torch.Tensor | None = None  # VGGish examples (E, 1, 96, 64)
    error: str = ""  # neither stream could be read: the segment is left out
    dropped: str = ""  # one stream could not be read: its feature is null


@dataclass
class _DecodedItem:
    media: str  # the item's name
    segments: list[_DecodedSegment] = field(default_factory=list)
    error: str = ""


def _decode_item(
    item: MediaItem,
    source: MediaSource,
    segment_seconds: float,
    video_processor,
    audio_processor,
    scratch: Path,
) -> _DecodedItem:
    """Decode and preprocess one media item (the DataLoader's ``collate_fn``: it runs in the workers)."""
    result = _DecodedItem(item.name)
    try:
        path = source.open_path(item, scratch)
        segments, info = _segments_of_item(item, path, segment_seconds)
    except (MediaError, ValueError, OSError) as error:
        result.error = str(error).removeprefix(f"{item.path}: ")
        return result
    audio, audio_error = None, ""
    if info.has_audio:
        try:
            audio = read_audio(path)
        except MediaError as error:
            audio_error = str(error)
    for segment in segments:
        # A stream that cannot be read (audio too short for one VGGish example, no frames in the window) makes
        # only its own feature null, as a file without that stream does; the segment fails without both.
        decoded, errors = _DecodedSegment(segment), []
        if info.has_video:
            try:
                frames = read_video_frames(
                    path, segment.start, segment.end, num_frames=video_processor.num_frames
                )
                decoded.video = dict(video_processor(frames, return_tensors="pt"))
            except (MediaError, ValueError) as error:
                errors.append(f"video: {error}")
        if info.has_audio:
            try:
                if audio is None:
                    raise MediaError(audio_error)
                first = int(round(segment.start * VGGISH_SAMPLE_RATE))
                last = int(round(segment.end * VGGISH_SAMPLE_RATE))
                decoded.music = audio_processor.examples(audio[first:last], VGGISH_SAMPLE_RATE)
            except (MediaError, ValueError) as error:  # ValueError: too short for one 0.96 s example
                errors.append(f"music: {error}")
        if decoded.video is None and decoded.music is None:
            decoded.error = "; ".join(errors)
        elif errors:
            decoded.dropped = "; ".join(errors)
        result.segments.append(decoded)
    if item.path is None:
        path.unlink(missing_ok=True)  # a Hub row's scratch copy
    return result


def _check_finite(array: np.ndarray, segment: MediaSegment, kind: str) -> np.ndarray:
    """``array`` as float32 (its width is the model's); bad media can make it NaN/inf."""
    array = np.asarray(array, dtype=np.float32)
    if not np.isfinite(array).all():
        raise FeatureExtractionError(
            f"segment {segment.segment_id!r} ({segment.path}, {segment.start:.2f}-{segment.end:.2f} s): "
            f"{kind} feature holds NaN/inf"
        )
    return array


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


def _write_shard(path: Path, rows: list[dict], failures: list[ExtractionFailure], settings: dict) -> None:
    columns = {name: [row[name] for row in rows] for name in EXTRACTED_SEGMENT_FEATURES}
    metadata = {
        _FAILURES_KEY: json.dumps([f.__dict__ for f in failures]),
        _SETTINGS_KEY: json.dumps(settings, sort_keys=True),
    }
    write_parquet(path, schema_table(columns, EXTRACTED_SEGMENT_FEATURES), metadata)


def _shard_metadata(path: Path, key: str, default: str):
    """The JSON value ``_write_shard`` stored under ``key`` in the shard's Parquet metadata."""
    return json.loads((pq.read_schema(path).metadata or {}).get(key.encode(), default))


def recorded_extraction_settings(folder: str | os.PathLike) -> dict | None:
    """The settings (``segment_seconds``, ...) the extraction that wrote ``folder`` recorded in its shards, or
    ``None`` for a folder without extraction shards (a built EmoMV dataset, a Hub id)."""
    shards = sorted(Path(folder).glob(f"{DATA_DIR}/{CONFIG}/*.parquet"))
    return (_shard_metadata(shards[0], _SETTINGS_KEY, "{}") or None) if shards else None


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


def _extract_shard(
    shard: Shard,
    source: MediaSource,
    extractors: dict,
    *,
    segment_seconds: float,
    on_error: str,
    num_workers: int,
    batch_size: int,
    scratch: Path,
    progress,
) -> tuple[list[dict], list[ExtractionFailure]]:
    (video_processor, video_model), (audio_processor, audio_model) = (
        extractors["slowfast"],
        extractors["vggish"],
    )
    items = [source.items[index] for index in shard.files]
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
    rows: list[dict] = []
    failures: list[ExtractionFailure] = []

    def fail(media: str, segment_id: str, reason: str) -> None:
        message = f"segment {segment_id!r} ({media}): {reason}" if segment_id else f"{media}: {reason}"
        if on_error == "raise":
            raise FeatureExtractionError(message)
        logger.error("skipped %s", message)
        failures.append(ExtractionFailure(media, segment_id, reason))

    for decoded in loader:
        if decoded.error:
            fail(decoded.media, "", decoded.error)
            progress.update(1)
            continue
        good = [s for s in decoded.segments if not s.error]
        for bad in decoded.segments:
            if bad.error:
                fail(decoded.media, bad.segment.segment_id, bad.error)
            elif bad.dropped:
                logger.warning(
                    "segment %r (%s): %s; kept without it", bad.segment.segment_id, decoded.media, bad.dropped
                )
        video_features: dict[str, np.ndarray] = {}
        with_video = [s for s in good if s.video is not None]
        for start in range(0, len(with_video), batch_size):
            batch = with_video[start : start + batch_size]
            slow = torch.cat([s.video["pixel_values_slow"] for s in batch]).to(video_model.device)
            fast = torch.cat([s.video["pixel_values_fast"] for s in batch]).to(video_model.device)
            with torch.no_grad():
                output = video_model(pixel_values_slow=slow, pixel_values_fast=fast)
            for s, feature in zip(batch, output.pooler_output.float().cpu().numpy(), strict=True):
                video_features[s.segment.segment_id] = feature
        for s in good:
            segment = s.segment
            try:
                video = music = None
                if s.video is not None:
                    video = _check_finite(video_features[segment.segment_id], segment, "video (SlowFast)")
                if s.music is not None:
                    with torch.no_grad():
                        output = audio_model(s.music.unsqueeze(0).to(audio_model.device))
                    music = _check_finite(
                        output.pooler_output[0].float().cpu().numpy(), segment, "music (VGGish)"
                    )
            except FeatureExtractionError as error:
                fail(decoded.media, segment.segment_id, str(error))
                continue
            rows.append(
                {
                    "segment_id": segment.segment_id,
                    "emotion": EMOTION_TO_INDEX[segment.emotion] if segment.emotion else None,
                    "video_features": video,
                    "music_features": music,
                    "source": segment.source_id,
                    "start": segment.start,
                    "end": segment.end,
                    "media": decoded.media,
                }
            )
        progress.update(1)
    return rows, failures


def _write_failures(output_dir: Path, failures: Sequence[ExtractionFailure]) -> None:
    path = output_dir / FAILURES_CSV
    if not failures:
        path.unlink(missing_ok=True)  # a report from an earlier run would no longer be true
        return
    with atomic_open(path, newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["media", "segment_id", "reason"])
        writer.writeheader()
        writer.writerows({**f.__dict__, "reason": f.reason.replace("\n", " ")} for f in failures)


def _finalize(
    output_dir: Path, shards: Sequence[Shard], settings: dict, media: str
) -> tuple[int, list[ExtractionFailure]]:
    """Main process, after every shard is written: the card and ``failures.csv``; the folder's rows, failures."""
    from ..data.card import make_extraction_card

    tables: dict[str, list[pa.Table]] = {}
    failures: list[ExtractionFailure] = []
    for shard in shards:
        path = output_dir / shard.path
        tables.setdefault(shard.split, []).append(pq.read_table(path))
        failures += [ExtractionFailure(**entry) for entry in _shard_metadata(path, _FAILURES_KEY, "[]")]
    by_split = {split: pa.concat_tables(parts) for split, parts in tables.items()}
    card = make_extraction_card(
        name=output_dir.name, tables=by_split, settings=settings, media=media, left_out=len(failures)
    )
    atomic_write_text(output_dir / "README.md", str(card))
    _write_failures(output_dir, failures)
    rows = sum(table.num_rows for table in by_split.values())
    ids = [i for table in by_split.values() for i in table.column("segment_id").to_pylist()]
    duplicated = sorted({i for i in ids if ids.count(i) > 1}) if len(set(ids)) != len(ids) else []
    if duplicated:
        raise ValueError(f"{media}: duplicated segment id(s) {', '.join(duplicated[:5])}")
    return rows, failures


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
        output_dir: the dataset folder (module docstring); finished shards in it are kept (resume).
        extractor: the extractors (converted checkpoint folders, or random weights for tests), the segment
            length and the device (default: this process's accelerate device); built only when a shard is left
            to extract.
        on_error: ``"raise"`` stops at the first bad file or segment; ``"skip"`` logs it, leaves it out and lists
            it with its reason in ``failures.csv``.
        files_per_shard: media files per Parquet shard (the unit of resuming and of splitting between processes).
        num_workers: DataLoader workers decoding media while the models run (0: decode in this process).
        batch_size: SlowFast clips per model call (the last bits of a feature may depend on it).
        dataset_split: the split of a Hub dataset ``media`` to read.
    """
    from accelerate import PartialState
    from tqdm.auto import tqdm

    if on_error not in {"raise", "skip"}:
        raise ValueError("on_error must be 'raise' or 'skip'")
    # On a machine without a GPU (or with --device cpu), torchrun's processes are CPU processes (gloo).
    extractor = extractor or ExtractorArguments()
    extractor.weights()  # a bad --extractor folder is refused before anything is read
    segment_seconds, device = extractor.segment_seconds, extractor.device
    cpu = (device is not None and torch.device(device).type == "cpu") or not torch.cuda.is_available()
    state = PartialState(cpu=cpu)
    source = list_media(media, split=dataset_split)
    shards = plan_shards(source.items, files_per_shard)
    output_dir = Path(output_dir)
    settings = {"segment_seconds": segment_seconds, "files_per_shard": files_per_shard}
    expected = {shard.path for shard in shards}
    stray = sorted(
        p.relative_to(output_dir).as_posix()
        for p in (output_dir / "data" / CONFIG).glob("*.parquet")  # nothing when the folder is new
        if p.relative_to(output_dir).as_posix() not in expected
    )
    if stray:
        raise FileExistsError(
            f"{output_dir}: holds shards of another run ({', '.join(stray[:3])}): other media or "
            "--files-per-shard; use another --output-dir or remove the folder"
        )
    for shard in shards:
        path = output_dir / shard.path
        if path.is_file() and (written := _shard_metadata(path, _SETTINGS_KEY, "{}")) != settings:
            raise FileExistsError(
                f"{path}: written with other settings ({written}, now {settings}); use another "
                "--output-dir or remove the folder"
            )
    summary = ExtractionSummary(output_dir)
    with state.split_between_processes(shards) as mine:
        pending = [shard for shard in mine if not (output_dir / shard.path).is_file()]
        for shard in mine:
            if shard not in pending:
                summary.skipped += pq.read_metadata(output_dir / shard.path).num_rows
        extractors = extractor.load(device or str(state.device)) if pending else {}
        bar = tqdm(
            total=sum(len(shard.files) for shard in pending),
            desc=f"extracting (process {state.process_index})" if state.num_processes > 1 else "extracting",
            unit="file",
            disable=not progress,
        )
        with tempfile.TemporaryDirectory(prefix="emomv-media-") as scratch:
            for shard in pending:
                rows, failures = _extract_shard(
                    shard,
                    source,
                    extractors,
                    segment_seconds=segment_seconds,
                    on_error=on_error,
                    num_workers=num_workers,
                    batch_size=batch_size,
                    scratch=Path(scratch),
                    progress=bar,
                )
                _write_shard(output_dir / shard.path, rows, failures, settings)
                summary.extracted += len(rows)
        bar.close()
    if state.num_processes > 1:  # totals of every process (all_gather_object: every process takes part)
        from accelerate.utils import gather_object

        counts = gather_object([(summary.extracted, summary.skipped)])
        summary.extracted, summary.skipped = (sum(values) for values in zip(*counts, strict=True))
    state.wait_for_everyone()
    if state.is_main_process:
        summary.rows, summary.all_failures = _finalize(output_dir, shards, settings, str(media))
        if summary.all_failures:
            logger.error(
                "%d item(s) left out, listed with their reasons in %s",
                len(summary.all_failures),
                output_dir / FAILURES_CSV,
            )
    state.wait_for_everyone()
    return summary


__all__ = [
    "CONFIG",
    "FAILURES_CSV",
    "ExtractionFailure",
    "ExtractionSummary",
    "FeatureExtractionError",
    "extract_dataset",
    "list_media",
    "split_into_segments",
]
