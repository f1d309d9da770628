"""New EmoMV-style datasets from unlabelled music videos (paper sections 3.2-3.3).

The paper labelled unlabelled music-video segments with an emotion tagger and kept only the reliable ones. Here,
in this order, each stage counting what it keeps and why the others go:

1. **input**: segments of extracted features (``dataset_scripts/extract_features.py``, run here on raw media), or
   the segments of an EmoMV dataset folder (its pairs' segments; their labels are ignored by the filters and only
   compared with the tags at the end);
2. **both streams**: a segment without a video or an audio stream cannot be tagged three ways;
3. **agreement**: the tagger's predictions from video only, music only and both must be the same class;
4. **not neutral**: a segment tagged neutral is dropped (a tagger with a neutral class);
5. **per-source cap**: at most ``max_segments_per_source`` segments of one source video (seeded choice);
6. **split** 80/20 grouped by source (:func:`.pairing.split_by_source`) and **pairing** of each split
   (:func:`.pairing.make_pairs`, balanced).

The paper (EmoMV-C) applied the per-source cap before dropping neutral segments; dropping them first, as here,
keeps up to ``max_segments_per_source`` non-neutral segments of a source where the paper could keep fewer.

Reruns resume: extraction keeps its finished shards and the tags are kept (``tags.parquet`` in the work folder)
as long as the tagger and the segments are the same; the output folder is written atomically.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import torch

from emomv_hf._version import __version__
from emomv_hf.emotions import EMOTIONS
from emomv_hf.io_utils import counted, markdown_table, model_fingerprint

from .build import DegenerateDatasetError, pair_split_tables, write_pairs_folder
from .card import UNKNOWN_LICENSE
from .hub_folder import write_parquet
from .loading import Segments, load_emomv, load_segments
from .pairing import LabelledSegment, PairingResult, split_by_source
from .release import ReleaseFormatError
from .schema import (
    MUSIC_FEATURE_DIM,
    PAIRS_CONFIG,
    SEGMENTS_CONFIG,
    VIDEO_FEATURE_DIM,
    segments_from_pairs,
    source_video_id,
)

TAGS_FILE = "tags.parquet"
"""The tags of a run, in its work folder: one row per tagged segment, one column per input."""


@dataclass
class UnlabelledSegments:
    """Segments to tag: ids, source videos, features (rows of an absent stream are zeros) and the labels the input
    carried, if any (ignored by the filters)."""

    segment_ids: list[str]
    sources: list[str]
    video: np.ndarray
    has_video: np.ndarray
    music: np.ndarray
    has_music: np.ndarray
    given_emotions: list[int | None]
    description: str

    def __len__(self) -> int:
        return len(self.segment_ids)

    def digest(self) -> str:
        """SHA-256 of the ids, sources and features: what the tags of a previous run must have been made from."""
        digest = hashlib.sha256()
        digest.update(json.dumps([self.segment_ids, self.sources]).encode())
        for array in (self.video, self.music, self.has_video, self.has_music):
            digest.update(np.ascontiguousarray(array).tobytes())
        return digest.hexdigest()


def is_segments_folder(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a folder of already extracted segments (an EmoMV dataset or extract_features output)."""
    folder = Path(path)
    return (folder / "data" / PAIRS_CONFIG).is_dir() or any(
        (folder / "data" / SEGMENTS_CONFIG).glob("*.parquet")
    )


def read_unlabelled_segments(folder: str | os.PathLike) -> UnlabelledSegments:
    """The segments of an EmoMV dataset folder (config ``pairs``: the segments of its pairs) or of a folder
    written by ``extract_features.py`` (config ``segments``, with ``source``). Both are folders the package
    wrote, so their features are trusted."""
    folder = Path(folder)
    if (folder / "data" / PAIRS_CONFIG).is_dir():
        pairs = load_emomv(str(folder), PAIRS_CONFIG)
        segments = Segments.from_splits(
            {name: segments_from_pairs(split).data.table for name, split in pairs.items()}
        )
        description = (
            f"the {len(segments)} segments of the pairs of the EmoMV dataset folder `{folder.name}` (splits "
            f"{', '.join(pairs)}; their labels are ignored by the filters)"
        )
    elif is_segments_folder(folder):
        segments = load_segments(folder)
        description = f"the {len(segments)} segments extracted into `{folder.name}` (splits {', '.join(segments.splits)})"
    else:
        raise ReleaseFormatError(
            f"{folder}: neither an EmoMV dataset folder (data/pairs) nor extract_features.py output (data/segments)"
        )
    segments.check_unique_ids(folder)
    ids = segments.segment_ids
    sources = segments.column("source") or [None] * len(ids)
    return UnlabelledSegments(
        ids,
        [source or source_video_id(segment_id) for source, segment_id in zip(sources, ids, strict=True)],
        *segments.features("video"),
        *segments.features("music"),
        segments.emotions,
        description,
    )


# --------------------------------------------------------------------------------------------------------
# Tagging
# --------------------------------------------------------------------------------------------------------


def check_tagger(model: torch.nn.Module, where: str = "--tagger") -> None:
    """A tagger for EmoMV datasets: an `EmoMVForEmotionTagging` over exactly the video and music streams."""
    from emomv_hf.modeling_emomv_tagging import EmoMVForEmotionTagging

    if not isinstance(model, EmoMVForEmotionTagging):
        raise ValueError(f"{where}: {type(model).__name__} is not an emotion tagger (EmoMVForEmotionTagging)")
    config = model.config
    streams = dict(zip(config.stream_names, config.stream_feature_sizes, strict=True))
    if streams != {"video": VIDEO_FEATURE_DIM, "music": MUSIC_FEATURE_DIM}:
        raise ValueError(
            f"{where}: the tagger's streams are {streams}; EmoMV segments have video ({VIDEO_FEATURE_DIM}) and music "
            f"({MUSIC_FEATURE_DIM}) features"
        )


@torch.no_grad()
def tag_segments(
    model: torch.nn.Module, video: np.ndarray, music: np.ndarray, batch_size: int = 256
) -> dict[str, np.ndarray]:
    """The tagger's predicted class of every segment (rows of ``video`` `(N, 2304)` and ``music`` `(N, 128)`)
    from each of the config's `input_modes`: ``{"video": (N,), "music": (N,), "joint": (N,)}``."""
    model.eval()
    arrays = {"video_features": video, "music_features": music}
    predictions: dict[str, np.ndarray] = {}
    for mode, names in model.config.input_modes.items():
        chunks = []
        for start in range(0, len(video), batch_size):
            inputs = model.prepare_inputs(
                **{name: arrays[name][start : start + batch_size] for name in names}
            )
            chunks.append(model(**inputs).logits.argmax(-1).cpu().numpy())
        predictions[mode] = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.int64)
    return predictions


def _cached_tags(path: Path, key: dict[str, str]) -> dict[str, np.ndarray] | None:
    if not path.is_file():
        return None
    table = pq.read_table(path)
    stored = json.loads((table.schema.metadata or {}).get(b"emomv_tags", b"{}"))
    if stored != key:
        return None
    return {name: table.column(name).to_numpy() for name in table.column_names if name != "segment_id"}


def _write_tags(path: Path, key: dict[str, str], ids: Sequence[str], tags: Mapping[str, np.ndarray]) -> None:
    # The tags are int64 class indices (argmax); an empty id list needs its type stated.
    table = pa.table({"segment_id": pa.array(list(ids), pa.string()), **tags})
    write_parquet(path, table, {"emomv_tags": json.dumps(key)})


# --------------------------------------------------------------------------------------------------------
# Filters and the dataset
# --------------------------------------------------------------------------------------------------------


@dataclass
class StageCount:
    """One stage of the filters: segments kept, dropped by reason (reasons that dropped none are left out), and
    the kept ones per class (tagged stages)."""

    stage: str
    kept: int
    dropped: dict[str, int] = field(default_factory=dict)
    per_class: dict[str, int] | None = None

    def __post_init__(self) -> None:
        self.dropped = {reason: count for reason, count in self.dropped.items() if count}

    @property
    def why(self) -> str:
        """The reasons and counts of the dropped segments, ``""`` when none was dropped."""
        return "; ".join(f"{count} {reason}" for reason, count in self.dropped.items())

    def describe(self) -> str:
        return f"{self.stage}: kept {self.kept} ({self.why or 'none dropped'})"


@dataclass
class CreationSummary:
    """What :func:`create_dataset` did: the written folder, every stage's counts, the tags' distribution per input,
    the segments per split and emotion, and the pairing of each split."""

    folder: Path
    stages: list[StageCount]
    predicted: dict[str, dict[str, int]]
    splits: dict[str, dict[str, int]]
    pairs: dict[str, PairingResult]
    tags_reused: bool = False
    extraction: str | None = None
    agreement_with_given: tuple[int, int] | None = None

    @property
    def kept_fraction(self) -> float:
        """Segments in the final splits over input segments."""
        return sum(sum(counts.values()) for counts in self.splits.values()) / max(self.stages[0].kept, 1)

    def describe(self) -> str:
        lines = [str(self.folder)]
        if self.extraction:
            lines.append(f"  extraction: {self.extraction}")
        lines.append(f"  tags: {'reused from the previous run' if self.tags_reused else 'computed'}")
        lines += [f"  {stage.describe()}" for stage in self.stages]
        for split, result in self.pairs.items():
            lines.append(
                f"  pairs/{split}: {counted(len(result.pairs), 'pair')} ({result.num_matched} matched, "
                f"{result.num_mismatched} mismatched) from {counted(sum(self.splits[split].values()), 'segment')}, "
                f"{counted(len(result.unused_segment_ids), 'matched pair')} dropped by balancing"
            )
        lines.append(f"  kept fraction: {self.kept_fraction:.4f}")
        return "\n".join(lines)


def _per_class(labels: Sequence[int], names: Sequence[str]) -> dict[str, int]:
    counts = Counter(int(label) for label in labels)
    return {name: counts.get(index, 0) for index, name in enumerate(names)}


def _labelling_markdown(
    summary: CreationSummary,
    names: Sequence[str],
    tagger: str,
    max_segments_per_source: int | None,
    validation_fraction: float,
    seed: int,
) -> str:
    def with_total(label: str, counts: dict[str, int]) -> list:
        return [label, *counts.values(), sum(counts.values())]

    inputs = {"video": "video only", "music": "music only", "joint": "both"}
    parts = [
        f"Every segment was tagged by the emotion tagger `{tagger}` (`EmoMVForEmotionTagging`, the paper's modified "
        "Feature AttendAffectNet) three times: from its video features only, its music features only, and both. "
        "It was kept only when the three predictions agree and are not neutral; "
        + (
            f"then at most {max_segments_per_source} segments of one source video were kept (seeded choice)"
            if max_segments_per_source
            else "no per-source cap was applied"
        )
        + f", and the sources were split {round(100 * (1 - validation_fraction))}/{round(100 * validation_fraction)} "
        f"into train and validation (seed {seed}). The labels are predictions, not human annotations.",
        "Filters (every input segment is kept or dropped once; the counts add up to the input):",
        markdown_table(
            ["stage", "kept", "dropped (why)"], [[s.stage, s.kept, s.why or "–"] for s in summary.stages]
        ),
        "Tags of the segments with both streams, per input (as the paper's Table 3):",
        markdown_table(
            ["input", *names, "total"],
            [with_total(inputs.get(mode, mode), counts) for mode, counts in summary.predicted.items()],
        ),
        "Kept segments per tagged emotion after each filter (as the paper's Table 4):",
        markdown_table(
            ["after", *names, "total"],
            [with_total(s.stage, s.per_class) for s in summary.stages if s.per_class is not None],
        ),
        "Segments per split and emotion:",
        markdown_table(["split", *EMOTIONS, "total"], [with_total(*item) for item in summary.splits.items()]),
    ]
    if summary.agreement_with_given is not None:
        agree, total = summary.agreement_with_given
        parts.append(
            f"Of the {total} kept segments that carried a label in the input, {agree} ({100 * agree / total:.1f} %) "
            "were tagged with that label."
        )
    return "\n\n".join(parts)


def create_dataset(
    media: str | os.PathLike,
    tagger: str | os.PathLike | torch.nn.Module,
    output_dir: str | os.PathLike,
    *,
    work_dir: str | os.PathLike | None = None,
    max_segments_per_source: int | None = 2,
    validation_fraction: float = 0.2,
    seed: int = 0,
    tagging_batch_size: int = 256,
    extraction: Mapping[str, Any] | None = None,
    allow_degenerate: bool = False,
    overwrite: bool = False,
    repo_id: str | None = None,
    license: str = UNKNOWN_LICENSE,
) -> CreationSummary:
    """Tag, filter, split and pair the segments of ``media`` into the EmoMV dataset folder ``output_dir``.

    Args:
        media: an EmoMV dataset folder or an ``extract_features.py`` folder (read), else raw media (a folder, a
            CSV or a Hub dataset, see :func:`emomv_hf.features.extract_dataset`), extracted into
            ``work_dir/features`` first with the options ``extraction``.
        tagger: an `EmoMVForEmotionTagging` or its folder / Hub id.
        output_dir: the dataset folder written (configs ``pairs`` and ``segments``, and the card).
        work_dir: where extracted features and tags are kept between runs (default: ``<output_dir>.work``).
        max_segments_per_source: the per-source cap (None: no cap).
        validation_fraction, seed: the grouped split and the pairing (:func:`.pairing.split_by_source`).
        allow_degenerate: write a split without matched or mismatched pairs (with a warning) instead of refusing.
        overwrite, repo_id, license: as :func:`.build.build_pairs_dataset`.

    Raises:
        ValueError: a bad tagger, or no segment left after the filters (the message lists every stage).
        DegenerateDatasetError: a split without matched or mismatched pairs, or without any pair (its message
            ends with every stage).
        ReleaseFormatError: bad input features (file, segment and field named).
    """
    output_dir = Path(output_dir)
    # Named from the absolute path: `.` has no name of its own.
    named = Path(os.path.abspath(output_dir))
    work_dir = Path(work_dir) if work_dir is not None else named.with_name(named.name + ".work")
    if isinstance(tagger, torch.nn.Module):
        model, tagger_name = tagger, type(tagger).__name__
    else:
        from emomv_hf.models_registry import load_model

        model, tagger_name = load_model(str(tagger)), str(tagger)
    check_tagger(model)
    names = list(model.config.class_names)

    extraction_note = None
    if is_segments_folder(media):
        segments = read_unlabelled_segments(media)
    else:
        from emomv_hf.features.extract import extract_dataset

        features_dir = work_dir / "features"
        result = extract_dataset(media, features_dir, **dict(extraction or {}))
        extraction_note = (
            f"{counted(result.rows, 'segment')} in {features_dir}: {result.extracted} extracted now, {result.skipped} already "
            f"present, {len(result.all_failures)} left out"
        )
        if not result.rows:
            raise ValueError(f"{media}: no segment could be extracted")
        segments = read_unlabelled_segments(features_dir)

    stages = [StageCount("input", len(segments))]
    both = segments.has_video & segments.has_music
    stages.append(
        StageCount(
            "both streams",
            int(both.sum()),
            {
                "without a video stream": int((~segments.has_video).sum()),
                "without an audio stream": int((segments.has_video & ~segments.has_music).sum()),
            },
        )
    )
    rows = np.flatnonzero(both)
    ids = [segments.segment_ids[row] for row in rows]
    key = {"tagger": model_fingerprint(model), "segments": segments.digest()}
    tags = _cached_tags(work_dir / TAGS_FILE, key)
    reused = tags is not None
    if tags is None:
        tags = tag_segments(model, segments.video[rows], segments.music[rows], tagging_batch_size)
        _write_tags(work_dir / TAGS_FILE, key, ids, tags)
    predicted = {mode: _per_class(values, names) for mode, values in tags.items()}

    agree = np.all([values == tags["joint"] for values in tags.values()], axis=0)
    stages.append(
        StageCount(
            "three predictions agree",
            int(agree.sum()),
            {"whose video-only, music-only and joint predictions differ": int((~agree).sum())},
            _per_class(tags["joint"][agree], names),
        )
    )
    neutral = model.config.neutral_index
    not_neutral = agree & (tags["joint"] != (-1 if neutral is None else neutral))
    stages.append(
        StageCount(
            "not neutral",
            int(not_neutral.sum()),
            {"tagged neutral": int((agree & ~not_neutral).sum())},
            _per_class(tags["joint"][not_neutral], names),
        )
    )
    labelled = [
        LabelledSegment(ids[index], EMOTIONS[int(tags["joint"][index])], segments.sources[rows[index]])
        for index in np.flatnonzero(not_neutral)
    ]
    grouped = split_by_source(
        labelled, seed=seed, validation_fraction=validation_fraction, max_per_source=max_segments_per_source
    )
    kept = [*grouped.train, *grouped.validation]
    stages.append(
        StageCount(
            f"at most {max_segments_per_source} per source"
            if max_segments_per_source
            else "no per-source cap",
            len(kept),
            {f"beyond the first {max_segments_per_source} of their source": len(grouped.dropped)},
            _per_class([EMOTIONS.index(segment.emotion) for segment in kept], names),
        )
    )
    filters = "; ".join(stage.describe() for stage in stages)
    if not kept:
        raise ValueError(
            f"{media}: no segment passed the filters ({filters}); tag more segments or use a better tagger"
        )
    by_split = {"train": list(grouped.train), "validation": list(grouped.validation)}
    by_split = {split: items for split, items in by_split.items() if items}
    video = dict(zip(segments.segment_ids, segments.video, strict=True))
    music = dict(zip(segments.segment_ids, segments.music, strict=True))
    try:
        tables, results, notes = pair_split_tables(
            by_split, video, music, seed=seed, allow_degenerate=allow_degenerate, where=str(media)
        )
    except DegenerateDatasetError as error:
        # Each filter's counts say which of them left a split too few segments or emotions to pair.
        raise DegenerateDatasetError(f"{error} (filters: {filters})") from None
    splits = {
        split: _per_class([EMOTIONS.index(s.emotion) for s in items], EMOTIONS)
        for split, items in by_split.items()
    }
    given = dict(zip(segments.segment_ids, segments.given_emotions, strict=True))
    agrees = [s.emotion == EMOTIONS[given[s.segment_id]] for s in kept if given[s.segment_id] is not None]
    agreement = (sum(agrees), len(agrees)) if agrees else None
    summary = CreationSummary(
        output_dir, stages, predicted, splits, results, reused, extraction_note, agreement
    )
    provenance = [
        f"- Built by `emomv-hf` {__version__} (`emomv_hf.data.create.create_dataset`, "
        f"`dataset_scripts/create_dataset.py`) from {segments.description}.",
        f"- Tagger: `{tagger_name}` (sha256 of its configuration and weights `{key['tagger']}`); classes "
        f"{', '.join(names)}.",
        f"- Options: {f'max {max_segments_per_source} segments' if max_segments_per_source else 'no cap'} per source, "
        f"validation fraction {validation_fraction}, "
        f"seed {seed}, balanced pairs.",
        *([f"- Extraction: {extraction_note}."] if extraction_note else []),
        *notes,
    ]
    write_pairs_folder(
        output_dir,
        tables,
        provenance,
        made_from="automatically tagged music-video segments with the EmoMV recipe (paper sections 3.2-3.3: "
        "three-way tag agreement, per-source cap, grouped split, pairing)",
        pairs_made="from the tagged segments",
        labels_note=f"The emotions were **predicted** by the tagger `{tagger_name}`, not annotated by people (see "
        '"How the segments were labelled"); the matched/mismatched labels inherit its errors.',
        license=license,
        repo_id=repo_id,
        overwrite=overwrite,
        source=media,
        labelling=_labelling_markdown(
            summary, names, tagger_name, max_segments_per_source, validation_fraction, seed
        ),
    )
    return summary
