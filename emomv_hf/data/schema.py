"""The Hub schema of the EmoMV datasets, defined once.

Every builder (the authors' release, :mod:`emomv_hf.data.pairing` output) writes these features, and every
reader may rely on them: ``load_dataset(folder)`` yields ``PAIR_FEATURES`` rows (config ``pairs``) and
``load_dataset(folder, "segments")`` yields ``SEGMENT_FEATURES`` rows.
"""

from __future__ import annotations

from datasets import ClassLabel, Features, List, Value

from emomv_hf.emotions import EMOTIONS, MATCH_LABELS

VIDEO_FEATURE_DIM = 2304
"""SlowFast R50 (Kinetics): pooled slow (2048) + fast (256) pathway features."""

MUSIC_FEATURE_DIM = 128
"""VGGish (AudioSet): mean of the 0.96 s frame embeddings."""

DATASET_NAMES: tuple[str, ...] = ("emomv-a", "emomv-b", "emomv-c")

PAIRS_CONFIG = "pairs"
SEGMENTS_CONFIG = "segments"

PAIR_SEPARATOR = "_PAIR_"
"""A mismatched pair id is ``<video segment id>_PAIR_<music segment id>`` (release convention)."""


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


def make_pair_id(video_segment_id: str, music_segment_id: str) -> str:
    """Pair id of a video segment with a music segment (the segment id itself when they are equal)."""
    if video_segment_id == music_segment_id:
        return video_segment_id
    return f"{video_segment_id}{PAIR_SEPARATOR}{music_segment_id}"
