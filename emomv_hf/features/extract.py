"""Batch extraction: media files -> per-segment SlowFast / VGGish ``.npy`` files + a ``segments.csv``.

The CSV is the input of ``dataset_scripts/create_pairs.py`` (:func:`emomv_hf.data.build_pairs_dataset`):
columns ``segment_id, emotion, video_features, music_features, source_id`` (+ ``split`` when given) and the
provenance columns ``media, start, end``; feature paths are relative to the CSV.

Runs are resumable: a segment whose ``.npy`` outputs exist is not recomputed, and every output is written to a
temporary file first and moved into place with ``os.replace``, so an interrupted run never leaves a truncated
feature file behind.
"""

from __future__ import annotations

import csv
import logging
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..emotions import UnknownEmotionError, normalize_emotion
from ..io_utils import atomic_open, read_csv_records
from .media import VGGISH_SAMPLE_RATE, MediaError, probe_media, read_audio, read_video_frames
from .slowfast import NUM_FRAMES, SLOWFAST_FEATURE_DIM, SlowFastExtractor
from .vggish import VGGISH_EMBEDDING_DIM, VGGishExtractor

logger = logging.getLogger(__name__)

MEDIA_EXTENSIONS = (".mp4", ".mkv", ".webm", ".avi", ".mov", ".m4v", ".mpg", ".mpeg", ".flv")
OUTPUT_CSV_COLUMNS = (
    "segment_id",
    "emotion",
    "video_features",
    "music_features",
    "source_id",
    "media",
    "start",
    "end",
)


FAILURES_CSV = "failures.csv"
"""Written into the output folder by a run that skipped bad media or segments: ``media, segment_id, reason``."""


class FeatureExtractionError(RuntimeError):
    """Extraction of one segment failed (bad media, non-finite features); the message names the segment."""


@dataclass(frozen=True)
class ExtractionFailure:
    """A media file (``segment_id`` empty: it could not even be cut into segments) or a segment left out."""

    media: Path
    segment_id: str
    reason: str

    def describe(self) -> str:
        return f"{self.segment_id or 'file'} ({self.media}): {self.reason}"


@dataclass(frozen=True)
class MediaSegment:
    """One time window of one media file to extract (times in seconds)."""

    segment_id: str
    path: Path
    start: float
    end: float
    emotion: str = ""
    source_id: str = ""
    split: str = ""


def _safe_name(segment_id: str) -> str:
    # Segment ids become file names: keep them portable.
    return re.sub(r"[^A-Za-z0-9._-]", "_", segment_id)


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


def _segments_of_file(
    path: Path,
    segment_seconds: float,
    *,
    emotion: str = "",
    source_id: str = "",
    split: str = "",
    prefix: str | None = None,
) -> list[MediaSegment]:
    info = probe_media(path)
    if not info.has_video:
        raise MediaError(f"{path}: no video stream")
    if not info.has_audio:
        raise MediaError(f"{path}: no audio stream")
    if info.duration is None:
        raise MediaError(f"{path}: unknown duration; give start/end in a CSV")
    stem = prefix or path.stem
    return [
        MediaSegment(f"{stem}_{index:02d}", path, start, end, emotion, source_id or path.stem, split)
        for index, (start, end) in enumerate(split_into_segments(info.duration, segment_seconds), start=1)
    ]


def discover_segments(media: str | os.PathLike, segment_seconds: float = 30.0) -> list[MediaSegment]:
    """Segments to extract from a folder of media files or from a CSV; the first unreadable file raises.

    - Folder: every media file below it (sorted), cut into :func:`split_into_segments`; segment ids are
      ``<file stem>_<NN>`` (1-based, as EmoMV-C's ``<YouTube id>_<NN>``), ``source_id`` is the file stem and the
      emotion comes from a parent folder named after one (``Fear/``, ``relax/``, ...), else it is left empty.
    - CSV with a header: ``path`` (relative to the CSV) and optionally ``segment_id, start, end, emotion,
      source_id, split``. Rows without ``start``/``end`` are cut like folder files.
    """
    segments, _ = _discover(media, segment_seconds, skip_errors=False)
    return segments


def _discover(
    media: str | os.PathLike, segment_seconds: float, *, skip_errors: bool
) -> tuple[list[MediaSegment], list[ExtractionFailure]]:
    """:func:`discover_segments`; with ``skip_errors`` a media file that cannot be probed (corrupt, no audio or
    video stream) is returned as a failure instead of raising. Errors in the CSV itself always raise."""
    media = Path(media)
    failures: list[ExtractionFailure] = []

    def cut(path: Path, **kwargs) -> list[MediaSegment]:
        try:
            return _segments_of_file(path, segment_seconds, **kwargs)
        except MediaError as error:
            if not skip_errors:
                raise
            failures.append(ExtractionFailure(path, "", str(error).removeprefix(f"{path}: ")))
            return []

    if media.is_dir():
        files = sorted(p for p in media.rglob("*") if p.is_file() and p.suffix.lower() in MEDIA_EXTENSIONS)
        if not files:
            raise FileNotFoundError(f"{media}: no media files ({', '.join(MEDIA_EXTENSIONS)})")
        segments = []
        for path in files:
            segments += cut(path, emotion=_emotion_from_folder(path))
        return segments, failures
    if not media.is_file():
        raise FileNotFoundError(f"{media}: neither a folder nor a CSV file")
    header, rows = read_csv_records(media)
    if "path" not in header:
        raise ValueError(f"{media}: a media CSV needs a 'path' column (header: {header})")
    segments = []
    for line, row in enumerate(rows, start=2):
        where = f"{media}, line {line}"
        path = Path(row["path"].strip())
        path = path if path.is_absolute() else media.parent / path
        emotion = (row.get("emotion") or "").strip()
        if emotion:
            try:
                emotion = normalize_emotion(emotion)
            except UnknownEmotionError as error:
                raise ValueError(f"{where}, field emotion: {error}") from None
        source_id = (row.get("source_id") or "").strip()
        split = (row.get("split") or "").strip()
        segment_id = (row.get("segment_id") or "").strip()
        start_text, end_text = (row.get("start") or "").strip(), (row.get("end") or "").strip()
        if start_text or end_text:
            try:
                start = float(start_text or 0.0)
                end = float(end_text) if end_text else probe_media(path).duration
            except ValueError:
                raise ValueError(f"{where}: start/end must be numbers of seconds") from None
            except MediaError as error:
                if not skip_errors:
                    raise
                failures.append(ExtractionFailure(path, segment_id, str(error).removeprefix(f"{path}: ")))
                continue
            if end is None or end <= start:
                raise ValueError(f"{where}: empty time window [{start}, {end})")
            segment_id = segment_id or f"{path.stem}_{int(start * 1000):08d}"
            segments.append(
                MediaSegment(segment_id, path, start, end, emotion, source_id or path.stem, split)
            )
        else:
            segments += cut(
                path, emotion=emotion, source_id=source_id, split=split, prefix=segment_id or None
            )
    seen: dict[str, int] = {}
    for index, segment in enumerate(segments):
        if segment.segment_id in seen:
            raise ValueError(f"{media}: duplicated segment id {segment.segment_id!r}")
        seen[segment.segment_id] = index
    return segments, failures


def _save_atomic(path: Path, array: np.ndarray) -> None:
    with atomic_open(path, binary=True) as handle:
        np.save(handle, array, allow_pickle=False)


def _check_finite(array: np.ndarray, segment: MediaSegment, kind: str, dim: int) -> np.ndarray:
    array = np.asarray(array, dtype=np.float32)
    if array.shape != (dim,):
        raise FeatureExtractionError(
            f"segment {segment.segment_id!r}: {kind} feature has shape {array.shape}, expected ({dim},)"
        )
    if not np.isfinite(array).all():
        raise FeatureExtractionError(
            f"segment {segment.segment_id!r} ({segment.path}, {segment.start:.2f}-{segment.end:.2f} s): "
            f"{kind} feature holds NaN/inf"
        )
    return array


def _write_csv(path: Path, rows: Sequence[dict[str, str]], columns: Sequence[str]) -> None:
    with atomic_open(path, newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(columns))
        writer.writeheader()
        writer.writerows(rows)


@dataclass
class ExtractionSummary:
    """What :func:`extract_features` did: ``failed`` lists the ids of the segments left out, ``failures`` every
    left-out segment or media file with its reason (also in ``failures.csv`` of the output folder)."""

    csv_path: Path
    extracted: int
    skipped: int
    failed: list[str]
    failures: list[ExtractionFailure] = field(default_factory=list)

    @property
    def succeeded(self) -> int:
        """Segments whose features are in the output (extracted now or already there)."""
        return self.extracted + self.skipped


def _write_failures(output_dir: Path, failures: Sequence[ExtractionFailure]) -> None:
    path = output_dir / FAILURES_CSV
    if not failures:
        path.unlink(missing_ok=True)  # a report from an earlier run would no longer be true
        return
    rows = [
        {"media": str(f.media), "segment_id": f.segment_id, "reason": f.reason.replace("\n", " ")}
        for f in failures
    ]
    _write_csv(path, rows, ["media", "segment_id", "reason"])


def extract_features(
    segments: Iterable[MediaSegment],
    output_dir: str | os.PathLike,
    *,
    slowfast: SlowFastExtractor | None = None,
    vggish: VGGishExtractor | None = None,
    on_error: str = "raise",
    progress: bool = True,
    failures: Sequence[ExtractionFailure] = (),
) -> ExtractionSummary:
    """Extract the features of ``segments`` into ``output_dir``.

    Writes ``output_dir/video/<segment_id>.npy`` (2304 float32), ``output_dir/music/<segment_id>.npy``
    (128 float32) and ``output_dir/segments.csv`` (create_pairs format, see module docstring). Outputs that exist
    are kept (resume), so the extractors are only needed for missing ones.

    Args:
        segments: from :func:`discover_segments`.
        output_dir: output folder.
        slowfast, vggish: the extractors; either may be ``None`` when every output of its stream already exists.
        on_error: ``"raise"`` stops at the first failing segment; ``"skip"`` logs it (segment and reason),
            leaves it out of the CSV, removes any feature file of it, and goes on; the left-out segments are
            listed with their reasons in ``output_dir/failures.csv``.
        progress: show a tqdm bar.
        failures: media files that already failed before extraction (from discovery), for the report.
    """
    if on_error not in {"raise", "skip"}:
        raise ValueError("on_error must be 'raise' or 'skip'")
    segments = list(segments)
    output_dir = Path(output_dir)
    rows: list[dict[str, str]] = []
    extracted = skipped = 0
    failed: list[str] = []
    all_failures = list(failures)
    audio_cache: tuple[Path, np.ndarray] | None = None  # decode each file's audio once for all its segments

    iterator: Iterable[MediaSegment] = segments
    if progress:
        from tqdm.auto import tqdm

        iterator = tqdm(segments, desc="extracting", unit="segment")
    for segment in iterator:
        name = _safe_name(segment.segment_id)
        video_path = output_dir / "video" / f"{name}.npy"
        music_path = output_dir / "music" / f"{name}.npy"
        try:
            if video_path.is_file() and music_path.is_file():
                skipped += 1
            else:
                # Both features are computed before either is written: a segment whose music fails leaves
                # no orphan video file behind.
                video_feature = None
                if not video_path.is_file():
                    if slowfast is None:
                        raise FeatureExtractionError("no SlowFast extractor given")
                    frames = read_video_frames(
                        segment.path, segment.start, segment.end, num_frames=NUM_FRAMES
                    )
                    video_feature = _check_finite(
                        slowfast(frames), segment, "video (SlowFast)", SLOWFAST_FEATURE_DIM
                    )
                music_feature = None
                if not music_path.is_file():
                    if vggish is None:
                        raise FeatureExtractionError("no VGGish extractor given")
                    if audio_cache is None or audio_cache[0] != segment.path:
                        audio_cache = (segment.path, read_audio(segment.path))
                    audio = audio_cache[1]
                    first = int(round(segment.start * VGGISH_SAMPLE_RATE))
                    last = int(round(segment.end * VGGISH_SAMPLE_RATE))
                    try:
                        feature = vggish(audio[first:last])
                    except ValueError as error:  # too short for one 0.96 s example
                        raise MediaError(f"{segment.path}: {error}") from None
                    music_feature = _check_finite(feature, segment, "music (VGGish)", VGGISH_EMBEDDING_DIM)
                if video_feature is not None:
                    _save_atomic(video_path, video_feature)
                if music_feature is not None:
                    _save_atomic(music_path, music_feature)
                extracted += 1
        except (MediaError, FeatureExtractionError, ValueError) as error:
            message = f"segment {segment.segment_id!r} ({segment.path}): {error}"
            if on_error == "raise":
                raise FeatureExtractionError(message) from error
            logger.error("skipped %s", message)
            failed.append(segment.segment_id)
            all_failures.append(ExtractionFailure(segment.path, segment.segment_id, str(error)))
            # Not in the CSV, so any feature file of it (from this run or an earlier one) would be an orphan.
            video_path.unlink(missing_ok=True)
            music_path.unlink(missing_ok=True)
            continue
        rows.append(
            {
                "segment_id": segment.segment_id,
                "emotion": segment.emotion,
                "video_features": f"video/{name}.npy",
                "music_features": f"music/{name}.npy",
                "source_id": segment.source_id,
                "media": os.path.relpath(segment.path, output_dir),
                "start": f"{segment.start:.3f}",
                "end": f"{segment.end:.3f}",
                "split": segment.split,
            }
        )
    columns = list(OUTPUT_CSV_COLUMNS)
    if any(row["split"] for row in rows):
        columns.insert(5, "split")
    else:
        for row in rows:
            del row["split"]
    csv_path = output_dir / "segments.csv"
    _write_csv(csv_path, rows, columns)
    _write_failures(output_dir, all_failures)
    if all_failures:
        logger.error(
            "%d item(s) left out, listed with their reasons in %s",
            len(all_failures),
            output_dir / FAILURES_CSV,
        )
    unlabelled = sum(1 for row in rows if not row["emotion"])
    if unlabelled:
        logger.warning(
            "%d of %d segments have no emotion: fill the emotion column of %s before create_pairs.py",
            unlabelled,
            len(rows),
            csv_path,
        )
    return ExtractionSummary(csv_path, extracted, skipped, failed, all_failures)


def extract_folder(
    media: str | os.PathLike,
    output_dir: str | os.PathLike,
    *,
    slowfast_weights: str | os.PathLike | None = None,
    vggish_weights: str | os.PathLike | None = None,
    random_init: bool = False,
    segment_seconds: float = 30.0,
    device: str = "cpu",
    on_error: str = "raise",
    progress: bool = True,
) -> ExtractionSummary:
    """:func:`discover_segments` + build the extractors + :func:`extract_features` (what the CLI runs).

    Extractors are built only when some output of their stream is missing, so resuming a finished run needs
    neither the weights nor the seconds it takes to build SlowFast.
    """
    if on_error not in {"raise", "skip"}:
        raise ValueError("on_error must be 'raise' or 'skip'")
    segments, failures = _discover(media, segment_seconds, skip_errors=on_error == "skip")
    for failure in failures:
        logger.error("skipped %s", failure.describe())
    output_dir = Path(output_dir)
    names = [_safe_name(segment.segment_id) for segment in segments]
    need_video = any(not (output_dir / "video" / f"{n}.npy").is_file() for n in names)
    need_music = any(not (output_dir / "music" / f"{n}.npy").is_file() for n in names)
    slowfast = (
        SlowFastExtractor(slowfast_weights, random_init=random_init, device=device) if need_video else None
    )
    vggish = VGGishExtractor(vggish_weights, random_init=random_init, device=device) if need_music else None
    return extract_features(
        segments,
        output_dir,
        slowfast=slowfast,
        vggish=vggish,
        on_error=on_error,
        progress=progress,
        failures=failures,
    )
