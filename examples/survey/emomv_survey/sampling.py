"""Drawing the label-validation survey's samples (paper section 4.1) and the manifest that lists them.

From each dataset the paper draws ten music-video pairs, five matched and five mismatched, with every emotion
equally often. :func:`draw_samples` does the same for any even number per dataset: in each group (matched,
mismatched) the video emotions are as equal as the group size allows, and so are the music emotions; a
mismatched sample pairs emotions the dataset allows (:data:`~emomv_hf.emotions.ALLOWED_MISMATCH_PAIRS`), and
no segment is shown twice within one dataset. The draw is a seeded backtracking search, so one seed gives one
manifest.

The manifest (JSON) lists the samples in survey order, each with a neutral id (``S01``: a pair id would give
the label away), its dataset, label, segment ids, emotions and, where a media folder holds them, the video and
music files the form plays with the media folder they come from (``media_root``).

Media files are checked where they are found and again where they are served: a media file must be a regular
file inside its media folder once every symlink is resolved (:func:`resolve_media`), so a link in the media
folder to ``/etc/passwd`` (or a manifest edited to name a file elsewhere) is refused with one line naming it.
"""

from __future__ import annotations

import json
import os
import random
import stat
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from emomv_hf.emotions import EMOTIONS, MATCH_LABELS
from emomv_hf.io_utils import atomic_write_json

MANIFEST_VERSION = 2
"""Version 2 records each sample's ``media_root``; a version 1 manifest (without it) is read with media paths
relative to the manifest's folder only."""

MEDIA_EXTENSIONS: tuple[str, ...] = (
    ".mp4",
    ".webm",
    ".mkv",
    ".mov",
    ".m4v",
    ".ogv",
    ".mp3",
    ".wav",
    ".ogg",
    ".m4a",
    ".opus",
    ".flac",
)
"""Extensions looked up for ``<segment id><ext>`` in a media folder, in this order (a music video file serves
as the music of its segment too: the form plays its audio track)."""


class SamplingError(ValueError):
    """The dataset cannot give the requested balanced draw, or a manifest is malformed."""


@dataclass(frozen=True)
class SurveySample:
    """One survey sample: a music-video pair of ``dataset`` shown as ``sample_id``.

    ``label`` is ``"matched"`` or ``"mismatched"``; emotions are canonical names; ``video_media`` and
    ``music_media`` are absolute file paths or ``None`` (the form then says "no media file"), and
    ``media_root`` is the absolute media folder they must lie in (the server serves nothing outside it).
    """

    sample_id: str
    dataset: str
    pair_id: str
    label: str
    video_segment_id: str
    music_segment_id: str
    video_emotion: str
    music_emotion: str
    video_media: str | None = None
    music_media: str | None = None
    media_root: str | None = None


PAIR_FIELDS = ("pair_id", "label", "video_segment_id", "music_segment_id", "video_emotion", "music_emotion")
"""The fields of a pair row (:func:`read_pairs`) that a :class:`SurveySample` keeps; the others are media."""
MEDIA_FIELDS = ("video_media", "music_media", "media_root")
NAMED_FIELDS = {"label": MATCH_LABELS, "video_emotion": EMOTIONS, "music_emotion": EMOTIONS}
"""The fields a manifest holds by name: field -> its names, in class-index order."""


def read_pairs(dataset_dir: str | os.PathLike, splits: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """The pairs of a built dataset folder (``build_emomv.py`` / ``create_pairs.py`` output) as plain rows
    (``pair_id``, segment ids, ``label`` name, emotion names), from ``splits`` (default: all) in order.

    Raises:
        SamplingError: a split is missing, or a pair's label or emotion is no class (-1: unlabelled).
    """
    from emomv_hf.data.loading import load_emomv

    pairs = load_emomv(str(dataset_dir))
    chosen = list(pairs) if splits is None else list(splits)
    unknown = [split for split in chosen if split not in pairs]
    if unknown:
        raise SamplingError(f"{dataset_dir}: no split {', '.join(unknown)} (it has {', '.join(pairs)})")
    rows = []
    for split in chosen:
        for index, row in enumerate(pairs[split].select_columns(list(PAIR_FIELDS))):
            for key, values in NAMED_FIELDS.items():
                if row[key] not in range(len(values)):  # -1 (datasets' "no label") would index from the end
                    raise SamplingError(
                        f"{dataset_dir}: {split}[{index}] {key} is {row[key]}, not a class 0-{len(values) - 1} "
                        "(-1: no label); draw from labelled splits (--split)"
                    )
                row[key] = values[row[key]]
            rows.append(row)
    return rows


def _balanced(count: int, rng: random.Random) -> list[str]:
    """``count`` emotion names, each ``count // 5`` times, the remainder going to randomly chosen emotions."""
    names = list(EMOTIONS) * (count // len(EMOTIONS))
    names += rng.sample(list(EMOTIONS), count % len(EMOTIONS))
    rng.shuffle(names)
    return names


def _draw_group(
    candidates: list[dict[str, Any]],
    count: int,
    matched: bool,
    rng: random.Random,
    dataset: str,
    used: set[str],
) -> list[dict[str, Any]]:
    """``count`` rows of ``candidates`` with balanced emotions and none of the segments in ``used`` (the
    dataset's segments drawn so far), which takes the chosen rows' segments."""

    def search(slot: int) -> bool:
        nonlocal steps
        if slot == count:
            return True
        for row in by_video[video_wanted[slot]]:
            steps += 1
            if steps > 200_000:
                return False
            music = row["music_emotion"]
            segments = {row["video_segment_id"], row["music_segment_id"]}
            if music_left[music] == 0 or segments & used:
                continue
            music_left[music] -= 1
            used.update(segments)
            chosen.append(row)
            if search(slot + 1):
                return True
            chosen.pop()
            used.difference_update(segments)
            music_left[music] += 1
        return False

    # The emotions of a remainder (count not a multiple of 5) are drawn at random, and a mismatched group's may
    # not pair up (fearful video and tense music are never mismatched): such a draw is made again.
    for _ in range(20 if count % len(EMOTIONS) else 1):
        video_wanted = _balanced(count, rng)
        music_left = Counter(video_wanted if matched else _balanced(count, rng))
        by_video: dict[str, list[dict[str, Any]]] = {emotion: [] for emotion in EMOTIONS}
        for row in candidates:
            by_video[row["video_emotion"]].append(row)
        for rows in by_video.values():
            rng.shuffle(rows)
        chosen: list[dict[str, Any]] = []
        steps = 0
        if search(0):
            return chosen
    have = Counter(row["video_emotion"] for row in candidates)
    kind = "matched" if matched else "mismatched"
    raise SamplingError(
        f"{dataset}: cannot draw {count} {kind} pairs with balanced emotions and distinct segments "
        f"(its {kind} pairs by video emotion: {dict(have)})"
    )


def draw_samples(
    pairs_by_dataset: Mapping[str, Sequence[Mapping[str, Any]]],
    per_dataset: int = 10,
    seed: int = 0,
    media_dirs: Mapping[str, str | os.PathLike | None] | None = None,
) -> list[SurveySample]:
    """Draw ``per_dataset`` samples (half matched, half mismatched, balanced emotions) from each dataset and
    return them all in one seeded random survey order, numbered ``S01``, ``S02``, ...

    Args:
        pairs_by_dataset: dataset name -> pair rows as :func:`read_pairs` gives them.
        per_dataset: samples per dataset, even (the paper: 10).
        seed: seeds the draw and the order.
        media_dirs: dataset name -> folder of ``<segment id><ext>`` media files (see :func:`find_media`).
    """
    if per_dataset <= 0 or per_dataset % 2:
        raise SamplingError(f"per_dataset must be a positive even number (half matched), got {per_dataset}")
    rng = random.Random(seed)
    drawn: list[tuple[str, dict[str, Any]]] = []
    for dataset, rows in pairs_by_dataset.items():
        used: set[str] = set()  # no segment twice within the dataset: matched and mismatched groups share it
        for matched in (True, False):
            group = [row for row in rows if (row["label"] == "matched") == matched]
            chosen = _draw_group(group, per_dataset // 2, matched, rng, dataset, used)
            drawn += [(dataset, row) for row in chosen]
    rng.shuffle(drawn)
    width = max(2, len(str(len(drawn))))
    samples = []
    for index, (dataset, row) in enumerate(drawn, start=1):
        folder = (media_dirs or {}).get(dataset)
        video_media = find_media(folder, row["video_segment_id"]) if folder else None
        music_media = find_media(folder, row["music_segment_id"]) if folder else None
        samples.append(
            SurveySample(
                sample_id=f"S{index:0{width}d}",
                dataset=dataset,
                **{key: row[key] for key in PAIR_FIELDS},
                video_media=video_media,
                music_media=music_media,
                media_root=str(Path(folder).resolve()) if video_media or music_media else None,
            )
        )
    return samples


class MediaError(SamplingError):
    """A media file is not a regular file inside its media folder (a symlink out of it, a device, a folder)."""


def resolve_media(root: str | os.PathLike, media: str | os.PathLike) -> Path:
    """``media`` (relative paths are relative to ``root``) with every symlink resolved, checked to be a regular
    video or audio file (:data:`MEDIA_EXTENSIONS`, any case) inside the resolved ``root``.

    Raises:
        MediaError: one line naming the file: it does not exist, leaves the media folder (itself or through a
            symlink), is not a regular file or has no :data:`MEDIA_EXTENSIONS` extension.
    """
    folder = Path(root).resolve()
    path = Path(media)
    path = path if path.is_absolute() else folder / path
    try:
        resolved = path.resolve(strict=True)
    except (OSError, RuntimeError) as error:  # missing, a dangling or looping link, unreadable
        raise MediaError(f"media file {path} does not exist ({type(error).__name__})") from None
    if not resolved.is_relative_to(folder):
        through = f" (a link to {resolved})" if resolved != path.absolute() else ""
        raise MediaError(f"media file {path}{through} is outside the media folder {folder}: refused")
    try:
        mode = resolved.stat().st_mode
    except OSError as error:
        raise MediaError(f"media file {path} cannot be read ({error.strerror})") from None
    if not stat.S_ISREG(mode):
        raise MediaError(f"media file {path} is not a regular file: refused")
    if resolved.suffix.lower() not in MEDIA_EXTENSIONS:  # the manifest or the database beside the media, say
        raise MediaError(f"media file {path} is not a video or audio file: refused")
    return resolved


def find_media(folder: str | os.PathLike, segment_id: str) -> str | None:
    """The absolute path of ``folder/<segment_id><ext>`` for the first of :data:`MEDIA_EXTENSIONS` that exists,
    checked by :func:`resolve_media` (a symlink leaving ``folder`` or a non-regular file raises
    :class:`MediaError`)."""
    root = Path(folder)
    if not root.is_dir():
        raise FileNotFoundError(f"media folder {root} does not exist")
    if not segment_id or segment_id in (".", "..") or any(c in segment_id for c in "/\\\0"):
        raise MediaError(f"segment id {segment_id!r} cannot name a media file")
    for extension in MEDIA_EXTENSIONS:
        candidate = root / f"{segment_id}{extension}"
        if os.path.lexists(candidate):
            return str(resolve_media(root, candidate))
    return None


def write_manifest(
    path: str | os.PathLike, samples: Sequence[SurveySample], *, seed: int | None = None
) -> Path:
    """Write ``samples`` to a JSON manifest (atomically)."""
    payload = {"version": MANIFEST_VERSION, "seed": seed, "samples": [asdict(sample) for sample in samples]}
    return atomic_write_json(path, payload)


def load_manifest(path: str | os.PathLike) -> list[SurveySample]:
    """Read a manifest; media paths are checked by :func:`resolve_media` and made absolute.

    A sample's ``media_root`` (relative: to the manifest's folder) is the folder its media must lie in, and
    relative media paths are relative to it; a sample without one (a version 1 manifest) may name media only
    by paths relative to the manifest's folder, which is then its media root.

    Raises:
        SamplingError: a sample lacks a field, repeats an id, or names an unknown label or emotion.
        MediaError: a media file is outside its media folder or not a regular file; an absolute media path
            without a ``media_root``.
        FileNotFoundError: the manifest or a media file it names does not exist.
    """
    path = Path(path)
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:  # both name no file
        raise SamplingError(f"{path}: not valid JSON ({error})") from error
    if (
        not isinstance(payload, dict)
        or not isinstance(payload.get("samples"), list)
        or not payload["samples"]
    ):
        raise SamplingError(f"{path}: expected an object with a non-empty 'samples' list")
    names = {field.name for field in fields(SurveySample)}
    required = names - set(MEDIA_FIELDS)
    samples, seen = [], set()
    for index, entry in enumerate(payload["samples"]):
        where = f"{path}: sample {index}"
        if not isinstance(entry, dict):
            raise SamplingError(f"{where}: expected an object")
        missing = sorted(required - set(entry))
        if missing:
            raise SamplingError(f"{where}: missing field(s) {', '.join(missing)}")
        extra = sorted(set(entry) - names)
        if extra:
            raise SamplingError(f"{where}: unknown field(s) {', '.join(extra)}")
        # media fields may be null; a number would be stored as text and the manifest refused on the next start
        wrong = [
            key
            for key, value in entry.items()
            if not isinstance(value, str) and (value is not None or key in required)
        ]
        if wrong:
            raise SamplingError(f"{where}: {wrong[0]} must be a string, got {entry[wrong[0]]!r}")
        if entry["sample_id"] in seen:
            raise SamplingError(f"{where}: sample_id {entry['sample_id']!r} appears twice")
        seen.add(entry["sample_id"])
        for key, allowed in NAMED_FIELDS.items():
            if entry[key] not in allowed:
                raise SamplingError(f"{where}: {key} {entry[key]!r} is not one of {', '.join(allowed)}")
        media_keys = [key for key in ("video_media", "music_media") if entry.get(key)]
        root = entry.get("media_root")
        if media_keys or root:
            if root is None:
                absolute = [key for key in media_keys if Path(entry[key]).is_absolute()]
                if absolute:
                    raise MediaError(
                        f"{where}: {absolute[0]} {entry[absolute[0]]} is an absolute path but the sample has no "
                        "media_root (a manifest from an older sample.py): draw it again with --media-dir"
                    )
            folder = path.parent / (root or ".")
            entry = {**entry, "media_root": str(folder.resolve())}
            for key in media_keys:
                media = folder / entry[key]  # an absolute path stays itself
                if not os.path.lexists(media):
                    raise FileNotFoundError(f"{where}: {key} {media} does not exist")
                try:
                    entry = {**entry, key: str(resolve_media(folder, media))}
                except MediaError as error:
                    raise MediaError(f"{where}: {key}: {error}") from None
        samples.append(SurveySample(**{key: entry.get(key) for key in names}))
    return samples
