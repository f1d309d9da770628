"""Reading and validating the authors' EmoMV feature release (CSV annotations + HDF5 features).

The release (github.com/ivyha010/EmoMV) holds, per dataset, pair annotation CSVs (no header, one row per
music-video pair), retrieval CSVs (one row per segment) and HDF5 files with one dataset each: SlowFast
``(N, 2304)`` video features and VGGish ``(N, 128)`` music features, row ``i`` matching CSV row ``i``.

Everything read here is checked; a problem raises :class:`ReleaseFormatError` naming the file, the row and
the field, so that a corrupt or edited release never turns silently into a Hub dataset.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

import numpy as np

from emomv_hf.emotions import (
    EMOTIONS,
    UnknownEmotionError,
    emotion_index,
    is_allowed_mismatch,
)

from ..io_utils import atomic_open, atomic_write_json, file_sha256, read_csv_rows
from .schema import MUSIC_FEATURE_DIM, MVED_PREFIXES, PAIR_SEPARATOR, VIDEO_FEATURE_DIM

if TYPE_CHECKING:
    import h5py

RELEASE_DIR_ENV = "EMOMV_RELEASE_DIR"
RELEASE_REPO = "ivyha010/EmoMV"
RELEASE_URL = f"https://github.com/{RELEASE_REPO}"
# The commit of the authors' repository that holds the feature files (pinned so downloads are reproducible).
RELEASE_REVISION = "681222dea2ade40196a0d3c266f359534362db86"
_RAW_URL = f"https://raw.githubusercontent.com/{RELEASE_REPO}/{RELEASE_REVISION}/{{path}}"
_LFS_URL = f"https://media.githubusercontent.com/media/{RELEASE_REPO}/{RELEASE_REVISION}/{{path}}"


class ReleaseFormatError(ValueError):
    """A release file is malformed; the message names the file, the row and the field."""


class MissingReleaseFilesError(FileNotFoundError):
    """Release files needed for a build are absent (always with ``strict=True``; otherwise when nothing is left)."""


class MissingReleaseFileWarning(UserWarning):
    """A release file is absent, so the split that needs it is skipped."""


class ReleaseNotFoundError(FileNotFoundError):
    """No release directory was given and it could not be downloaded."""

    exit_status = 2  # a script was not told where the release is: a usage error, as argparse's


# --------------------------------------------------------------------------------------------------------
# Layout of the release
# --------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SplitFiles:
    """Release files of one split: an annotation CSV and two feature files (paths relative to the release)."""

    split: str
    csv: str
    video_h5: str
    music_h5: str

    @property
    def files(self) -> tuple[str, str, str]:
        return (self.csv, self.video_h5, self.music_h5)


@dataclass(frozen=True)
class ReleaseLayout:
    """Where one EmoMV dataset lives in the release, and what it is."""

    name: str
    folder: str
    pair_splits: tuple[SplitFiles, ...]
    segment_split: SplitFiles
    segment_csv_format: str  # "mved" (folder, file name, label) or "segments" (folder, id, emotion, label)
    pretty_name: str
    source: str
    segment_seconds: int
    labels: str

    @property
    def files(self) -> list[str]:
        splits = (*self.pair_splits, self.segment_split)
        return [path for split in splits for path in split.files]


def _split_files(folder: str, split: str, csv_name: str, features_stem: str, features_dir: str) -> SplitFiles:
    return SplitFiles(
        split=split,
        csv=f"{folder}/{csv_name}.csv",
        video_h5=f"{folder}/{features_dir}/SlowFast_{features_stem}.h5",
        music_h5=f"{folder}/{features_dir}/VGGish_{features_stem}.h5",
    )


# Per dataset: the retrieval set's (CSV stem, feature stem) under ``for_retrieval/``, and where the videos come from.
_MVED_RETRIEVAL = "DS1_from_MVED_test_set_5_classes_for_retrieval"
_RETRIEVAL_STEMS = {
    "A": (_MVED_RETRIEVAL, _MVED_RETRIEVAL),
    "B": ("DS2_VAL_labels_for_retrieval", "DS2_VAL_for_retrieval"),
    "C": ("DS3_VAL_labels_for_retrieval", "DS3_VAL_for_retrieval"),
}
_SOURCES = {
    "A": "the MVED music video emotion dataset (human emotion labels, neutral class removed)",
    "B": "the AudioSet Music Mood dataset (YouTube music videos)",
    "C": "soundtrack music videos collected from YouTube by the authors",
}


def _layout(
    letter: str, splits: str, segment_split: str, csv_format: str, seconds: int, labels: str
) -> ReleaseLayout:
    """Layout of ``DS<n>_EmoMV_<letter>``; ``splits`` names the pair splits and their file tags
    (``"train:TRAIN validation:VAL"``)."""
    tag = f"DS{'ABC'.index(letter) + 1}"
    folder = f"{tag}_EmoMV_{letter}"
    pair_splits = []
    for item in splits.split():
        split, upper = item.split(":")
        stem = f"{tag}_{upper}_MATCH_MISMATCH"
        pair_splits.append(
            _split_files(folder, split, f"annotation/{stem}_labels", stem, "extracted_features")
        )
    csv_stem, features_stem = _RETRIEVAL_STEMS[letter]
    return ReleaseLayout(
        name=f"emomv-{letter.lower()}",
        folder=folder,
        pair_splits=tuple(pair_splits),
        segment_split=_split_files(
            folder, segment_split, f"for_retrieval/{csv_stem}", features_stem, "for_retrieval"
        ),
        segment_csv_format=csv_format,
        pretty_name=f"EmoMV-{letter}",
        source=_SOURCES[letter],
        segment_seconds=seconds,
        labels=labels,
    )


RELEASE_LAYOUTS: dict[str, ReleaseLayout] = {
    layout.name: layout
    for layout in (
        _layout("A", "train:TRAIN validation:VAL test:TEST", "test", "mved", 30, "human"),
        _layout("B", "train:TRAIN validation:VAL", "validation", "segments", 10, "predicted"),
        _layout("C", "train:TRAIN validation:VAL", "validation", "segments", 30, "predicted"),
    )
}


def get_layout(dataset: str) -> ReleaseLayout:
    """Release layout of ``dataset`` (one of ``emomv-a``, ``emomv-b``, ``emomv-c``)."""
    try:
        return RELEASE_LAYOUTS[dataset]
    except KeyError:
        raise ValueError(f"unknown dataset {dataset!r}; choose one of {', '.join(RELEASE_LAYOUTS)}") from None


# --------------------------------------------------------------------------------------------------------
# Finding (or downloading) the release
# --------------------------------------------------------------------------------------------------------


def _is_offline() -> bool:
    from huggingface_hub import constants

    flags = ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE")
    return bool(constants.HF_HUB_OFFLINE) or any(
        os.environ.get(flag, "").upper() in {"1", "ON", "YES", "TRUE"} for flag in flags
    )


def _not_found_message(reason: str) -> str:
    return (
        f"{reason}. Pass --release-dir DIR (or release_dir=DIR), or set {RELEASE_DIR_ENV}=DIR, where DIR is an "
        f"unpacked copy of {RELEASE_URL} (the folder holding DS1_EmoMV_A/, DS2_EmoMV_B/, DS3_EmoMV_C/)."
    )


def _check_release_dir(path: Path, origin: str) -> Path:
    if not path.is_dir():
        raise ReleaseNotFoundError(
            _not_found_message(f"the release directory {path} (from {origin}) does not exist")
        )
    if not any((path / layout.folder).is_dir() for layout in RELEASE_LAYOUTS.values()):
        folders = ", ".join(layout.folder for layout in RELEASE_LAYOUTS.values())
        raise ReleaseNotFoundError(
            _not_found_message(f"{path} (from {origin}) holds none of the release folders {folders}")
        )
    return path


def default_cache_dir() -> Path:
    """Where a downloaded release is kept: ``<datasets cache>/emomv-release/<revision>``."""
    from datasets import config

    return Path(config.HF_DATASETS_CACHE) / "emomv-release" / RELEASE_REVISION


def _fetch(url: str) -> bytes | None:
    """The content at ``url`` (whole: http.client refuses a body shorter than its Content-Length); None when the
    server has no such file (404)."""
    try:
        with urllib.request.urlopen(url, timeout=60) as response:
            return response.read()
    except urllib.error.HTTPError as error:
        if error.code == 404:
            return None
        raise


def _fetch_release_file(path: str) -> bytes | None:
    """Release file ``path``, verified; None when the repository lacks it.

    GitHub serves a file stored with Git LFS as a short pointer (the content's sha256 and size) on the raw
    endpoint; the content comes from the media endpoint and must match the pointer.
    """
    data = _fetch(_RAW_URL.format(path=path))
    if data is None or not data.startswith(b"version https://git-lfs"):
        return data
    pointer = dict(line.split(" ", 1) for line in data.decode().splitlines() if " " in line)
    expected = (pointer["oid"].removeprefix("sha256:"), int(pointer["size"]))
    data = _fetch(_LFS_URL.format(path=path)) or b""
    got = (hashlib.sha256(data).hexdigest(), len(data))
    if got != expected:
        raise OSError(
            f"{path}: downloaded {got[1]} bytes with sha256 {got[0]}, but its Git LFS pointer names "
            f"{expected[1]} bytes with sha256 {expected[0]}"
        )
    return data


def download_release() -> Path:
    """Download the release files at :data:`RELEASE_REVISION` from GitHub into :func:`default_cache_dir`
    (skipping those a previous call downloaded and verified).

    Files the repository lacks are skipped (the builders then warn about them). Each file is verified (a Git LFS
    file against its pointer) before it is written under its name, atomically; ``.verified.json`` records the
    sha256 of what was written, so that a file it does not list or that changed since (a pointer or a partial file
    an earlier version left) is downloaded again.
    """
    root = default_cache_dir()
    record = root / ".verified.json"
    verified = json.loads(record.read_text()) if record.is_file() else {}
    for path in (path for layout in RELEASE_LAYOUTS.values() for path in layout.files):
        destination = root / path
        if destination.is_file() and verified.get(path) == file_sha256(destination):
            continue
        data = _fetch_release_file(path)
        if data is None:
            continue
        with atomic_open(destination, binary=True) as handle:
            handle.write(data)
        verified[path] = hashlib.sha256(data).hexdigest()
        atomic_write_json(record, verified)
    return root


def _absolute(path: str | os.PathLike) -> Path:
    return Path(os.path.abspath(Path(path).expanduser()))


def resolve_release_dir(release_dir: str | os.PathLike | None) -> Path:
    """The release root, absolute: ``release_dir``, else ``$EMOMV_RELEASE_DIR``, else a download into the HF
    cache. Relative paths are taken from the current folder.

    Raises:
        ReleaseNotFoundError: the given directory is not a release, or none was given and the machine is
            offline (the message says what to pass).
    """
    # Made absolute here, once: a relative path means the current folder, whatever file it is later
    # written into or resolved against.
    if release_dir is not None and str(release_dir) != "":
        return _check_release_dir(_absolute(release_dir), "--release-dir")
    from_env = os.environ.get(RELEASE_DIR_ENV)
    if from_env:
        return _check_release_dir(_absolute(from_env), f"${RELEASE_DIR_ENV}")
    if _is_offline():
        raise ReleaseNotFoundError(
            _not_found_message("no release directory was given and the machine is offline")
        )
    try:
        downloaded = download_release()
    except OSError as error:  # urllib's URLError included
        raise ReleaseNotFoundError(
            _not_found_message(
                f"no release directory was given and downloading {RELEASE_URL} failed ({error})"
            )
        ) from error
    return _check_release_dir(downloaded, "a download")


# --------------------------------------------------------------------------------------------------------
# Feature files
# --------------------------------------------------------------------------------------------------------


@contextmanager
def open_feature_dataset(path: str | os.PathLike) -> Iterator[h5py.Dataset]:
    """The single dataset of an HDF5 feature file, open for reading (the release names it ``default`` for
    SlowFast and ``data`` for VGGish files, so whatever single dataset is there is taken).

    Raises:
        ReleaseFormatError: the file is not HDF5, or holds no or several datasets.
    """
    # Only reading the authors' HDF5 files needs h5py; training imports this module without it.
    import h5py

    path = Path(path)
    try:
        handle = h5py.File(path, "r")
    except OSError as error:
        raise ReleaseFormatError(f"{path}: not a readable HDF5 file ({error})") from error
    with handle:
        names = [name for name, item in handle.items() if isinstance(item, h5py.Dataset)]
        if len(names) != 1:
            raise ReleaseFormatError(
                f"{path}: expected exactly one HDF5 dataset, found {len(names)}"
                + (f" ({', '.join(names)})" if names else "")
            )
        yield handle[names[0]]


def load_feature_file(path: str | os.PathLike) -> np.ndarray:
    """The array stored in a ``.npy`` file or a single-dataset ``.h5``/``.hdf5`` file, as stored (unchecked).

    Raises:
        ReleaseFormatError: unknown suffix, or a file that cannot be read as its suffix says.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in {".h5", ".hdf5"}:
        with open_feature_dataset(path) as dataset:
            return np.asarray(dataset[()])
    if suffix == ".npy":
        try:
            array = np.load(path, allow_pickle=False)  # EOFError: an empty file
        except (OSError, ValueError, EOFError) as error:
            raise ReleaseFormatError(f"{path}: not a readable .npy file ({error})") from None
        if not isinstance(array, np.ndarray):  # np.load opens an .npz archive whatever its name
            raise ReleaseFormatError(f"{path}: not a .npy file but an .npz archive")
        return array
    raise ReleaseFormatError(f"{path}: feature files must be .npy, .h5 or .hdf5")


def check_features(features: np.ndarray, dim: int, where: str) -> np.ndarray:
    """``features`` (one ``(dim,)`` vector or ``(N, dim)`` rows) as float32, checking width and finiteness.

    Raises:
        ReleaseFormatError: wrong shape or dtype, or a NaN/inf value (the message gives row and column).
    """
    if features.shape[-1] != dim:
        raise ReleaseFormatError(
            f"{where}: wrong feature width: expected {dim} values per row, got {features.shape[-1]} "
            f"(shape {features.shape})"
        )
    if not np.issubdtype(features.dtype, np.floating):
        raise ReleaseFormatError(f"{where}: expected floating-point features, got dtype {features.dtype}")
    features = np.ascontiguousarray(features, dtype=np.float32)
    bad = ~np.isfinite(features.reshape(-1, dim))
    if bad.any():
        row, column = (int(i) for i in np.argwhere(bad)[0])
        position = f"row {row}, column {column}" if features.ndim == 2 else f"column {column}"
        raise ReleaseFormatError(
            f"{where}, {position}: non-finite value {features.reshape(-1, dim)[row, column]} "
            f"({int(bad.any(axis=1).sum())} row(s) affected)"
        )
    return features


def read_features(path: str | os.PathLike, dim: int) -> np.ndarray:
    """Read the single dataset of an HDF5 feature file as float32 ``(N, dim)``, checking every value.

    VGGish files of the release may be float64; they are converted to float32 (the Hub schema's dtype).
    """
    with open_feature_dataset(path) as dataset:
        where = f"{path}, dataset {dataset.name.lstrip('/')!r}"
        if dataset.ndim != 2:
            raise ReleaseFormatError(
                f"{where}: expected a 2-D array (rows, {dim}), got shape {dataset.shape}"
            )
        features = dataset[()]
    return check_features(features, dim, where)


# --------------------------------------------------------------------------------------------------------
# CSV files
# --------------------------------------------------------------------------------------------------------


def _read_csv_rows(path: Path, fields: str) -> list[list[str]]:
    rows, count = read_csv_rows(path), fields.count(",") + 1
    for line, row in enumerate(rows, start=1):
        if len(row) != count:
            raise ReleaseFormatError(
                f"{path}, line {line}: expected {count} fields ({fields}), got {len(row)}: {row}"
            )
    return rows


def check_new_id(seen: dict[str, int], value: str, path: os.PathLike | str, line: int, field: str) -> None:
    """Record the id ``value`` of CSV line ``line`` in ``seen`` (id -> first line).

    Raises:
        ReleaseFormatError: ``value`` is empty, or was already seen on an earlier line.
    """
    if not value:
        raise ReleaseFormatError(f"{path}, line {line}, field {field}: empty")
    if value in seen:
        raise ReleaseFormatError(
            f"{path}, line {line}, field {field}: duplicated {field.replace('_', ' ')} {value!r} "
            f"(first on line {seen[value]})"
        )
    seen[value] = line


def check_split_name(value: str, path: os.PathLike | str, line: int) -> str:
    """``value``, the split of CSV line ``line`` (``""``: none given). It names shard files and a split of the
    card's YAML: a `ReleaseFormatError` refuses what ``datasets`` cannot load as a split (``..``, ``/``)."""
    from datasets.naming import _split_re

    if value and not re.fullmatch(_split_re, value):
        raise ReleaseFormatError(
            f"{path}, line {line}, field split: {value!r} is not a split name (letters, digits, _ and .)"
        )
    return value


def _emotion(path: Path, line: int, field: str, name: str) -> int:
    try:
        return emotion_index(name)
    except UnknownEmotionError as error:
        raise ReleaseFormatError(f"{path}, line {line}, field {field}: {error}") from None


def _check_label(path: Path, line: int, field: str, value: str, expected: int, name_field: str) -> None:
    try:
        label = int(value)
    except ValueError:
        raise ReleaseFormatError(f"{path}, line {line}, field {field}: not an integer: {value!r}") from None
    if label != expected:
        raise ReleaseFormatError(
            f"{path}, line {line}, field {field}: index {label} disagrees with {name_field} "
            f"{EMOTIONS[expected]!r} (index {expected})"
        )


@dataclass(frozen=True)
class PairAnnotation:
    """One row of a pair annotation CSV, validated. Emotions are class indices."""

    pair_id: str
    video_segment_id: str
    music_segment_id: str
    label: int  # 1 matched, 0 mismatched
    video_emotion: int
    music_emotion: int


def read_pair_csv(path: str | os.PathLike) -> list[PairAnnotation]:
    """Read and validate a pair annotation CSV (no header, ``folder, pair_id, match, video_emotion,
    music_emotion, video_label, music_label``)."""
    path = Path(path)
    rows = _read_csv_rows(
        path, "folder, pair_id, match, video_emotion, music_emotion, video_label, music_label"
    )
    seen: dict[str, int] = {}
    annotations = []
    for line, (_folder, pair_id, match, video_name, music_name, video_label, music_label) in enumerate(
        rows, start=1
    ):
        check_new_id(seen, pair_id, path, line, "pair_id")
        if match not in {"0", "1"}:
            raise ReleaseFormatError(f"{path}, line {line}, field match: expected 0 or 1, got {match!r}")
        video_emotion = _emotion(path, line, "video_emotion", video_name)
        music_emotion = _emotion(path, line, "music_emotion", music_name)
        _check_label(path, line, "video_label", video_label, video_emotion, "video_emotion")
        _check_label(path, line, "music_label", music_label, music_emotion, "music_emotion")
        if match == "1":
            if video_emotion != music_emotion:
                raise ReleaseFormatError(
                    f"{path}, line {line}, field match: matched pair {pair_id!r} has different emotions "
                    f"({EMOTIONS[video_emotion]} video, {EMOTIONS[music_emotion]} music)"
                )
            video_id = music_id = pair_id
        else:
            if video_emotion == music_emotion:
                raise ReleaseFormatError(
                    f"{path}, line {line}, field music_emotion: mismatched pair {pair_id!r} has the same "
                    f"emotion ({EMOTIONS[video_emotion]}) on both streams"
                )
            if not is_allowed_mismatch(video_emotion, music_emotion):
                raise ReleaseFormatError(
                    f"{path}, line {line}, field music_emotion: mismatched pair {pair_id!r} pairs "
                    f"{EMOTIONS[video_emotion]} with {EMOTIONS[music_emotion]}, which the paper excludes"
                )
            if pair_id.count(PAIR_SEPARATOR) != 1:
                raise ReleaseFormatError(
                    f"{path}, line {line}, field pair_id: a mismatched pair id must be "
                    f"'<video segment>{PAIR_SEPARATOR}<music segment>', got {pair_id!r}"
                )
            video_id, music_id = pair_id.split(PAIR_SEPARATOR)
            if not video_id or not music_id:
                raise ReleaseFormatError(
                    f"{path}, line {line}, field pair_id: empty segment id in {pair_id!r}"
                )
        annotations.append(
            PairAnnotation(pair_id, video_id, music_id, int(match), video_emotion, music_emotion)
        )
    return annotations


# The MVED retrieval CSV names files, not segments; EmoMV-A pair ids prefix the file stem with the emotion
# (schema.MVED_PREFIXES), so the same prefix makes segment ids that join with the pairs.


def read_segment_csv(path: str | os.PathLike, csv_format: str) -> dict[str, list]:
    """Read and validate a retrieval CSV: its ``segment_id`` and ``emotion`` (class index) columns.

    ``csv_format="segments"`` (EmoMV-B/C): ``folder, segment_id, emotion, label``.
    ``csv_format="mved"`` (EmoMV-A): ``folder, file name, label``, the emotion being the folder above
    ``video`` (``.../Excited/video``); the segment id is ``<emotion>_<file stem>`` as in the pair ids.
    """
    path = Path(path)
    fields = "folder, segment_id, emotion, label" if csv_format == "segments" else "folder, file name, label"
    rows = _read_csv_rows(path, fields)
    seen: dict[str, int] = {}
    columns: dict[str, list] = {"segment_id": [], "emotion": []}
    for line, row in enumerate(rows, start=1):
        if csv_format == "segments":
            _folder, segment_id, name, label = row
            emotion = _emotion(path, line, "emotion", name)
            _check_label(path, line, "label", label, emotion, "emotion")
        else:
            folder, file_name, label = row
            parts = PurePosixPath(folder).parts
            emotion_folder = parts[-2] if len(parts) >= 2 and parts[-1] == "video" else (parts or [""])[-1]
            emotion = _emotion(path, line, "folder", emotion_folder)
            _check_label(path, line, "label", label, emotion, "folder emotion")
            segment_id = (
                f"{MVED_PREFIXES[EMOTIONS[emotion]]}_{PurePosixPath(file_name).stem}" if file_name else ""
            )
        check_new_id(seen, segment_id, path, line, "segment_id")
        columns["segment_id"].append(segment_id)
        columns["emotion"].append(emotion)
    return columns


# --------------------------------------------------------------------------------------------------------
# Whole splits
# --------------------------------------------------------------------------------------------------------


def read_split_features(release_dir: Path, files: SplitFiles, num_rows: int) -> tuple[np.ndarray, np.ndarray]:
    """Video ``(N, 2304)`` and music ``(N, 128)`` features of a split whose CSV has ``num_rows`` rows: row ``i`` of
    each is for CSV row ``i``."""
    features = []
    for path, dim in ((files.video_h5, VIDEO_FEATURE_DIM), (files.music_h5, MUSIC_FEATURE_DIM)):
        features.append(read_features(release_dir / path, dim))
        if features[-1].shape[0] != num_rows:
            raise ReleaseFormatError(
                f"{release_dir / path}: {features[-1].shape[0]} feature rows, but {release_dir / files.csv} has "
                f"{num_rows} rows (row i of the CSV must match row i of each feature file)"
            )
    video, music = features
    return video, music
