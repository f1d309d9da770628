"""The Hub schema of the EmoMV datasets, defined once, and Arrow tables in it.

Every builder (the authors' release, :mod:`emomv_hf.data.pairing` output) writes these features, and every
reader may rely on them: ``load_dataset(folder)`` yields ``PAIR_FEATURES`` rows (config ``pairs``) and
``load_dataset(folder, "segments")`` yields ``SEGMENT_FEATURES`` rows.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence

import datasets
import numpy as np
import pyarrow as pa
from datasets import ClassLabel, Features, List, Value

from emomv_hf.emotions import EMOTION_TO_INDEX, EMOTIONS, MATCH_LABELS

VIDEO_FEATURE_DIM = 2304
"""SlowFast R50 (Kinetics): pooled slow (2048) + fast (256) pathway features."""

MUSIC_FEATURE_DIM = 128
"""VGGish (AudioSet): mean of the 0.96 s frame embeddings."""

DATASET_NAMES: tuple[str, ...] = ("emomv-a", "emomv-b", "emomv-c")

PAIRS_CONFIG = "pairs"
SEGMENTS_CONFIG = "segments"

PAIR_SEPARATOR = "_PAIR_"
"""A mismatched pair id is ``<video segment id>_PAIR_<music segment id>`` (release convention)."""

MVED_PREFIXES: dict[str, str] = {
    name: {"fearful": "fear", "relaxing": "relax"}.get(name, name) for name in EMOTIONS
}
"""Emotion -> the prefix of EmoMV-A (MVED) segment ids, ``<prefix>_<file stem>``; two are spelt short
(``"fear_TEST_FEAR(6)-3-of-7"``, ``"relax_112"``)."""


def _emotion() -> ClassLabel:
    return ClassLabel(names=list(EMOTIONS))


PAIR_FEATURES = Features(
    {
        "pair_id": Value("string"),
        "video_segment_id": Value("string"),
        "music_segment_id": Value("string"),
        "label": ClassLabel(names=list(MATCH_LABELS)),
        "video_emotion": _emotion(),
        "music_emotion": _emotion(),
        "video_features": List(Value("float32"), length=VIDEO_FEATURE_DIM),
        "music_features": List(Value("float32"), length=MUSIC_FEATURE_DIM),
    }
)
"""One music-video pair: ``video_features`` (2304,) and ``music_features`` (128,), float32."""

SEGMENT_FEATURES = Features(
    {
        "segment_id": Value("string"),
        "emotion": _emotion(),
        "video_features": List(Value("float32"), length=VIDEO_FEATURE_DIM),
        "music_features": List(Value("float32"), length=MUSIC_FEATURE_DIM),
    }
)
"""One retrieval segment (both streams carry ``emotion``): features as in :data:`PAIR_FEATURES`."""


EXTRACTED_SEGMENT_FEATURES = Features(
    {
        **SEGMENT_FEATURES,
        "source": Value("string"),
        "start": Value("float64"),
        "end": Value("float64"),
        "media": Value("string"),
    }
)
"""A segment extracted from raw media (``dataset_scripts/extract_features.py``, config ``segments``): the
:data:`SEGMENT_FEATURES` plus its source video id, time window in seconds and the media it was cut from (the
file's absolute path, or ``<hub id>[<row>] <name>`` for a Hub dataset row). ``emotion`` is null for unlabelled
media; ``video_features`` / ``music_features`` are null for a file without that stream (audio-only / video-only).
"""


def make_pair_id(video_segment_id: str, music_segment_id: str) -> str:
    """Pair id of a video segment with a music segment (the segment id itself when they are equal)."""
    if video_segment_id == music_segment_id:
        return video_segment_id
    return f"{video_segment_id}{PAIR_SEPARATOR}{music_segment_id}"


def source_video_id(segment_id: str) -> str:
    """Source video of a segment: ``"yA9WhYnsD_4_06"`` -> ``"yA9WhYnsD_4"``.

    EmoMV-C segment ids are ``<YouTube id>_<segment number>``; the YouTube id may itself contain ``_``, so
    the split is on the last ``_`` and only when what follows is digits. EmoMV-A (MVED) ids are
    ``<emotion>_<video>-<k>-of-<n>``, segment k of the n cut from one video, whose segments may carry other
    emotions: ``"fear_TEST_MV(63)-2-of-9"`` -> ``"TEST_MV(63)"``; a whole MVED clip, numbered ones
    (``"relax_112"``) included, is its own source. Other ids are their own source.
    """
    mved = re.fullmatch(r"[a-z]+_(.+)-\d+-of-\d+", segment_id)
    if mved:
        return mved.group(1)
    if re.fullmatch(rf"(?:{'|'.join(MVED_PREFIXES.values())})_\d+", segment_id):
        return segment_id  # not segment 112 of a video "relax": the EmoMV-A clip numbered 112
    head, sep, tail = segment_id.rpartition("_")
    if sep and head and tail.isdigit():
        return head
    return segment_id


# Arrow tables in this schema (what the builders write as Parquet).


def fixed_size_list_array(features: np.ndarray) -> pa.FixedSizeListArray:
    """`(N, D)` float32 rows as an Arrow fixed-size-list column (`List(float32, length=D)`)."""
    # Straight from the float32 buffer: the stored values are bit-identical to the array.
    values = np.ascontiguousarray(features, dtype=np.float32)
    return pa.FixedSizeListArray.from_arrays(pa.array(values.reshape(-1), type=pa.float32()), values.shape[1])


def schema_table(columns: Mapping[str, Sequence | np.ndarray], features: Features) -> pa.Table:
    """Rows in ``features`` (every column of it, in its order) as an Arrow table with its schema.

    A 2-D array `(N, D)` of a fixed-length feature column goes to Arrow straight from its buffer
    (:func:`fixed_size_list_array`); any other column, lists with ``None`` for null included, goes through
    ``pa.array``. ``Dataset.from_dict(columns, features=features)`` gives the same table but encodes feature
    rows one by one in Python (about 40 s for 20,000 segments instead of a fraction of a second).
    """
    schema = features.arrow_schema
    arrays = [
        fixed_size_list_array(columns[field.name])
        if isinstance(columns[field.name], np.ndarray) and columns[field.name].ndim == 2
        else pa.array(list(columns[field.name]), field.type)
        for field in schema
    ]
    return pa.Table.from_arrays(arrays, schema=schema)


def pairs_table(pairs: Sequence, video_features: np.ndarray, music_features: np.ndarray) -> pa.Table:
    """A ``pairs`` table: row ``i`` is ``pairs[i]`` (a ``release.PairAnnotation`` or ``pairing.Pair``, emotions
    as indices or names) with ``video_features[i]`` (2304,) and ``music_features[i]`` (128,)."""

    def emotion(value: int | str) -> int:
        return value if isinstance(value, int) else EMOTION_TO_INDEX[value]

    columns = {
        "pair_id": [pair.pair_id for pair in pairs],
        "video_segment_id": [pair.video_segment_id for pair in pairs],
        "music_segment_id": [pair.music_segment_id for pair in pairs],
        "label": [int(pair.label) for pair in pairs],
        "video_emotion": [emotion(pair.video_emotion) for pair in pairs],
        "music_emotion": [emotion(pair.music_emotion) for pair in pairs],
        "video_features": video_features.reshape(len(pairs), VIDEO_FEATURE_DIM),
        "music_features": music_features.reshape(len(pairs), MUSIC_FEATURE_DIM),
    }
    return schema_table(columns, PAIR_FEATURES)


def segments_from_pairs(pairs) -> datasets.Dataset:
    """The ``segments`` set of a ``pairs`` split: every segment that is the video of one of its pairs and the
    music of one (with that pair's features and emotion), in order of first appearance as a video.

    This gives the retrieval set of a split that has no ``segments`` config (the folds of the ``cv`` protocol).
    On EmoMV-C validation it gives the ``segments`` config's 96 segments, ids, order and emotions, with the
    pairs' feature rows: the release's separate segment files differ from those on 7 video and 48 music rows
    (largest difference 0.42), so the ``cv`` retrieval numbers use the pair features throughout.
    """
    columns = pairs.with_format("numpy", columns=list(PAIR_FEATURES))[:]
    video_rows: dict[str, int] = {}
    music_rows: dict[str, int] = {}
    for row, (video_id, music_id) in enumerate(
        zip(columns["video_segment_id"], columns["music_segment_id"], strict=True)
    ):
        video_rows.setdefault(str(video_id), row)
        music_rows.setdefault(str(music_id), row)
    segment_ids = [segment for segment in video_rows if segment in music_rows]
    video = [video_rows[segment] for segment in segment_ids]
    table = schema_table(
        {
            "segment_id": segment_ids,
            "emotion": columns["video_emotion"][video],
            "video_features": columns["video_features"][video],
            "music_features": columns["music_features"][[music_rows[segment] for segment in segment_ids]],
        },
        SEGMENT_FEATURES,
    )
    return datasets.Dataset(table, info=datasets.DatasetInfo(features=SEGMENT_FEATURES))


def split_counts(table: pa.Table) -> dict[str, int]:
    """``rows``, ``matched`` and ``mismatched`` counts of a ``pairs`` table."""
    labels = Counter(table.column("label").to_pylist())
    return {"rows": table.num_rows, "matched": labels.get(1, 0), "mismatched": labels.get(0, 0)}
